// Rule: only `.add`, `.sub`, `.byte_add`, `.load_acquire()` and `.is_null()` may be called.
fn main() -> Result<(), rseq_dsl::Unavailable> {
    let mut counters = [0u64; 4];
    let base = counters.as_mut_ptr();
    let out = unsafe {
        rseq_dsl::rseq!(|cpu| {
            in slot: *mut u64 = base.add(cpu);
            let v: u64 = *slot;
            commit *slot = v.wrapping_add(1);
        })
    }?;
    println!("{}", out.is_committed());
    Ok(())
}
