// Rule: no `loop`, `while` or `for` inside a section.
fn main() -> Result<(), rseq_dsl::Unavailable> {
    let mut counters = [0u64; 4];
    let base = counters.as_mut_ptr();
    let out = unsafe {
        rseq_dsl::rseq!(|cpu| {
            in slot: *mut u64 = base.add(cpu);
            loop {}
            while true {}
            for i in 0..4 {}
            commit *slot += 1;
        })
    }?;
    println!("{}", out.is_committed());
    Ok(())
}
