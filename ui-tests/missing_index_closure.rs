// Rule: the section is a closure over its index, `|cpu| { ... }`.
fn main() -> Result<(), rseq_dsl::Unavailable> {
    let mut counters = [0u64; 4];
    let base = counters.as_mut_ptr();
    let out = unsafe {
        rseq_dsl::rseq!({
            in slot: *mut u64 = base;
            commit *slot += 1;
        })
    }?;
    println!("{}", out.is_committed());
    Ok(())
}
