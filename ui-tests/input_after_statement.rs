// Rule: `in` inputs come first.
fn main() -> Result<(), rseq_dsl::Unavailable> {
    let mut counters = [0u64; 4];
    let base = counters.as_mut_ptr();
    let out = unsafe {
        rseq_dsl::rseq!(|cpu| {
            in slot: *mut u64 = base.add(cpu);
            let v: u64 = *slot;
            in step: u64 = 2;
            commit *slot = v + step;
        })
    }?;
    println!("{}", out.is_committed());
    Ok(())
}
