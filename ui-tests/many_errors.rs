// Rule: every broken rule of a section is reported in one compile.
fn main() -> Result<(), rseq_dsl::Unavailable> {
    let mut counters = [0u64; 4];
    let base = counters.as_mut_ptr();
    fn compute(v: u64) -> u64 { v }
    let out = unsafe {
        rseq_dsl::rseq!(|cpu| {
            let v = *slot;
            in slot: *mut u64 = base.add(cpu);
            let w: u64 = compute(v);
            exit;
            store *slot = 1.5;
        })
    }?;
    println!("{}", out.is_committed());
    Ok(())
}
