// Rule: `.load_acquire()` takes no arguments.
fn main() -> Result<(), rseq_dsl::Unavailable> {
    let mut counters = [0u64; 4];
    let base = counters.as_mut_ptr();
    let out = unsafe {
        rseq_dsl::rseq!(|cpu| {
            in slot: *mut u64 = base.add(cpu);
            let v: u64 = slot.load_acquire(1);
            commit *slot = v + 1;
        })
    }?;
    println!("{}", out.is_committed());
    Ok(())
}
