// Rule: `rseq!` dereferences raw pointers, so it is used inside `unsafe` (rustc's E0133).
fn main() -> Result<(), rseq_dsl::Unavailable> {
    let mut counters = [0u64; 4];
    let base = counters.as_mut_ptr();
    let out = rseq_dsl::rseq!(|cpu| {
        in slot: *mut u64 = base.add(cpu);
        commit *slot += 1;
    })?;
    println!("{}", out.is_committed());
    Ok(())
}
