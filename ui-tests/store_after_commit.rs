// Rule: `store` and `copy` come before the `commit`, which is the last write.
fn main() -> Result<(), rseq_dsl::Unavailable> {
    let mut counters = [0u64; 4];
    let base = counters.as_mut_ptr();
    let out = unsafe {
        rseq_dsl::rseq!(|cpu| {
            in slot: *mut u64 = base.add(cpu);
            in bytes: *mut u8 = base as *mut u8;
            commit *slot += 1;
            store *slot.add(1) = 0;
            copy(bytes.byte_add(16), bytes, 8);
        })
    }?;
    println!("{}", out.is_committed());
    Ok(())
}
