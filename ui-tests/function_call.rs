// Rule: no function calls inside a section.
fn main() -> Result<(), rseq_dsl::Unavailable> {
    let mut counters = [0u64; 4];
    let base = counters.as_mut_ptr();
    fn compute(v: u64) -> u64 { v + 1 }
    let out = unsafe {
        rseq_dsl::rseq!(|cpu| {
            in slot: *mut u64 = base.add(cpu);
            let v: u64 = compute(*slot);
            commit *slot = v;
        })
    }?;
    println!("{}", out.is_committed());
    Ok(())
}
