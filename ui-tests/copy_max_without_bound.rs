// Rule: `max` is followed by its bound, `max N`.
fn main() -> Result<(), rseq_dsl::Unavailable> {
    let mut counters = [0u64; 64];
    let base = counters.as_mut_ptr();
    let out = unsafe {
        rseq_dsl::rseq!(|cpu| {
            in slot: *mut u64 = base.add(cpu);
            in bytes: *mut u8 = base.add(8) as *mut u8;
            in len: usize = 16;
            copy(bytes.byte_add(256), bytes, len, max);
            commit *slot += 1;
        })
    }?;
    println!("{}", out.is_committed());
    Ok(())
}
