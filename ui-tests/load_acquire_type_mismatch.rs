// Rule: `p.load_acquire()` has the pointee's type, as `*p` does; a `let` states it.
fn main() -> Result<(), rseq_dsl::Unavailable> {
    let mut counters = [0u64; 4];
    let mut stopped = [0u8; 4];
    let base = counters.as_mut_ptr();
    let flags = stopped.as_ptr();
    let out = unsafe {
        rseq_dsl::rseq!(|cpu| {
            in slot: *mut u64 = base.add(cpu);
            in flag: *const u8 = flags.add(cpu);
            let f: u64 = flag.load_acquire();
            commit *slot = f;
        })
    }?;
    println!("{}", out.is_committed());
    Ok(())
}
