// Rule: a section computes with integers and pointers only.
fn main() -> Result<(), rseq_dsl::Unavailable> {
    let mut counters = [0u64; 4];
    let base = counters.as_mut_ptr();
    let out = unsafe {
        rseq_dsl::rseq!(|cpu| {
            in slot: *mut u64 = base.add(cpu);
            in scale: f64 = 1.5;
            let x: f32 = 2.0;
            commit *slot += 1;
        })
    }?;
    println!("{}", out.is_committed());
    Ok(())
}
