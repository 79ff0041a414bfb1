// Rule: a literal shift count is below the width (a count computed at run time wraps).
fn main() -> Result<(), rseq_dsl::Unavailable> {
    let mut counters = [0u32; 4];
    let base = counters.as_mut_ptr();
    let out = unsafe {
        rseq_dsl::rseq!(|cpu| {
            in slot: *mut u32 = base.add(cpu % 4);
            let v: u32 = *slot;
            commit *slot = v << 32;
        })
    }?;
    println!("{}", out.is_committed());
    Ok(())
}
