// Rule: a stored value has the type of the slot it goes into.
fn main() -> Result<(), rseq_dsl::Unavailable> {
    let mut counters = [0u64; 4];
    let base = counters.as_mut_ptr();
    let out = unsafe {
        rseq_dsl::rseq!(|cpu| {
            in slot: *mut u64 = base.add(cpu);
            in node: *mut u64 = base;
            commit *slot = node;
        })
    }?;
    println!("{}", out.is_committed());
    Ok(())
}
