// Rule: the option is spelled `no_retry`.
fn main() -> Result<(), rseq_dsl::Unavailable> {
    let mut counters = [0u64; 4];
    let base = counters.as_mut_ptr();
    let out = unsafe {
        rseq_dsl::rseq!(no_rety, |cpu| {
            in slot: *mut u64 = base.add(cpu);
            commit *slot += 1;
        })
    }?;
    println!("{}", out.is_committed());
    Ok(())
}
