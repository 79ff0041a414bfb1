// Rule: only one yielded name may follow the `commit`.
fn main() -> Result<(), rseq_dsl::Unavailable> {
    let mut counters = [0u64; 4];
    let base = counters.as_mut_ptr();
    let out = unsafe {
        rseq_dsl::rseq!(|cpu| {
            in slot: *mut u64 = base.add(cpu);
            let v: u64 = *slot;
            commit *slot = v + 1;
            let w: u64 = v + 2;
            w
        })
    }?;
    println!("{}", out.is_committed());
    Ok(())
}
