// Rule: an `in` input's type is the type of its Rust expression.
fn main() -> Result<(), rseq_dsl::Unavailable> {
    let mut counters = [0u64; 4];
    let base = counters.as_mut_ptr();
    let step: u64 = 2;
    let out = unsafe {
        rseq_dsl::rseq!(|cpu| {
            in slot: *mut u64 = base.add(cpu);
            in step: u32 = step;
            commit *slot += 1;
        })
    }?;
    println!("{}", out.is_committed());
    Ok(())
}
