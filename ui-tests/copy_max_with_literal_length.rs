// Rule: a literal length takes no `max`: the copy is unrolled.
fn main() -> Result<(), rseq_dsl::Unavailable> {
    let mut counters = [0u64; 64];
    let base = counters.as_mut_ptr();
    let out = unsafe {
        rseq_dsl::rseq!(|cpu| {
            in slot: *mut u64 = base.add(cpu);
            in bytes: *mut u8 = base.add(8) as *mut u8;
            copy(bytes.byte_add(256), bytes, 16, max 256);
            commit *slot += 1;
        })
    }?;
    println!("{}", out.is_committed());
    Ok(())
}
