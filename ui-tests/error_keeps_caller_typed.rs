// Rule: after an error in a section, the code around the call still type-checks: `out` is
// an `Outcome` (no follow-up errors from generated code), and the caller's own mistakes
// are still reported in the same compile.
fn main() -> Result<(), rseq_dsl::Unavailable> {
    let mut counters = [0u64; 4];
    let base = counters.as_mut_ptr();
    let out = unsafe {
        rseq_dsl::rseq!(|cpu| {
            in slot: *mut u64 = base.add(cpu);
            let v: u64 = *slot;
            commit *slot = v + 1.5;
            v
        })
    }?;
    let yielded: Option<u64> = out.committed();
    let wrong: u32 = yielded;
    println!("{wrong}");
    Ok(())
}
