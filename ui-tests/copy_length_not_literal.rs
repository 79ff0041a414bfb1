// Rule: the length of `copy` is an integer literal, or a run-time length with its bound, `max N`.
fn main() -> Result<(), rseq_dsl::Unavailable> {
    let mut counters = [0u64; 4];
    let base = counters.as_mut_ptr();
    let out = unsafe {
        rseq_dsl::rseq!(|cpu| {
            in slot: *mut u64 = base.add(cpu);
            in len: usize = 16;
            in bytes: *mut u8 = base as *mut u8;
            copy(bytes.byte_add(16), bytes, len);
            commit *slot += 1;
        })
    }?;
    println!("{}", out.is_committed());
    Ok(())
}
