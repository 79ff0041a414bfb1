// Rule: `.load_acquire()` loads through a raw pointer.
fn main() -> Result<(), rseq_dsl::Unavailable> {
    let mut counters = [0u64; 4];
    let base = counters.as_mut_ptr();
    let out = unsafe {
        rseq_dsl::rseq!(|cpu| {
            in slot: *mut u64 = base.add(cpu);
            let v: u64 = *slot;
            let w: u64 = v.load_acquire();
            commit *slot = w;
        })
    }?;
    println!("{}", out.is_committed());
    Ok(())
}
