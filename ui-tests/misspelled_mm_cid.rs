// Rule: the option is spelled `mm_cid`.
fn main() -> Result<(), rseq_dsl::Unavailable> {
    let mut counters = [0u64; 4];
    let base = counters.as_mut_ptr();
    let out = unsafe {
        rseq_dsl::rseq!(mmcid, |cid| {
            in slot: *mut u64 = base.add(cid);
            commit *slot += 1;
        })
    }?;
    println!("{}", out.is_committed());
    Ok(())
}
