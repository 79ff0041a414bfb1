// Rule: arithmetic operands have one type; widen with `as`.
fn main() -> Result<(), rseq_dsl::Unavailable> {
    let mut counters = [0u64; 4];
    let base = counters.as_mut_ptr();
    let out = unsafe {
        rseq_dsl::rseq!(|cpu| {
            in slot: *mut u64 = base.add(cpu);
            in small: *mut u32 = base as *mut u32;
            let a: u32 = *small;
            let b: u64 = *slot;
            commit *slot = a + b;
        })
    }?;
    println!("{}", out.is_committed());
    Ok(())
}
