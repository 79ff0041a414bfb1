// Rule: inputs are read-only; memory is written with `store`/`commit`.
fn main() -> Result<(), rseq_dsl::Unavailable> {
    let mut counters = [0u64; 4];
    let base = counters.as_mut_ptr();
    let out = unsafe {
        rseq_dsl::rseq!(|cpu| {
            in slot: *mut u64 = base.add(cpu);
            in step: u64 = 2;
            step = 3;
            commit *slot += step;
        })
    }?;
    println!("{}", out.is_committed());
    Ok(())
}
