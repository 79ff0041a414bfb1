// Rule: a section's values are integers or raw pointers, never structs.
fn main() -> Result<(), rseq_dsl::Unavailable> {
    let mut counters = [0u64; 4];
    let base = counters.as_mut_ptr();
    struct Pair { a: u64, b: u64 }
    let out = unsafe {
        rseq_dsl::rseq!(|cpu| {
            in slot: *mut u64 = base.add(cpu);
            in pair: Pair = Pair { a: 1, b: 2 };
            commit *slot += 1;
        })
    }?;
    println!("{}", out.is_committed());
    Ok(())
}
