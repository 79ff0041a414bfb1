// Rule: `copy` moves at most 256 bytes.
fn main() -> Result<(), rseq_dsl::Unavailable> {
    let mut counters = [0u64; 4];
    let base = counters.as_mut_ptr();
    let out = unsafe {
        rseq_dsl::rseq!(|cpu| {
            in slot: *mut u64 = base.add(cpu);
            in bytes: *mut u8 = base as *mut u8;
            copy(bytes.byte_add(1024), bytes, 1024);
            commit *slot += 1;
        })
    }?;
    println!("{}", out.is_committed());
    Ok(())
}
