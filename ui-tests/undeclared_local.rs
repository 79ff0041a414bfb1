// Rule: a Rust local is brought into a section with an `in` input.
fn main() -> Result<(), rseq_dsl::Unavailable> {
    let mut counters = [0u64; 4];
    let base = counters.as_mut_ptr();
    let step: u64 = 2;
    let out = unsafe {
        rseq_dsl::rseq!(|cpu| {
            in slot: *mut u64 = base.add(cpu);
            commit *slot = step;
        })
    }?;
    println!("{}", out.is_committed());
    Ok(())
}
