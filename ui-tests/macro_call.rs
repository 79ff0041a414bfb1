// Rule: no macro calls inside a section.
fn main() -> Result<(), rseq_dsl::Unavailable> {
    let mut counters = [0u64; 4];
    let base = counters.as_mut_ptr();
    let out = unsafe {
        rseq_dsl::rseq!(|cpu| {
            in slot: *mut u64 = base.add(cpu);
            println!("inside");
            commit *slot = max!(1, 2);
        })
    }?;
    println!("{}", out.is_committed());
    Ok(())
}
