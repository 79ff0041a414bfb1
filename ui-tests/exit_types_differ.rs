// Rule: all exits carry a value of one type, or none does.
fn main() -> Result<(), rseq_dsl::Unavailable> {
    let mut counters = [0u64; 4];
    let base = counters.as_mut_ptr();
    let out = unsafe {
        rseq_dsl::rseq!(|cpu| {
            in slot: *mut u64 = base.add(cpu);
            in small: *mut u32 = base as *mut u32;
            let v: u64 = *slot;
            let w: u32 = *small;
            if v == 0 { exit v; }
            if w == 0 { exit w; }
            commit *slot = v + 1;
        })
    }?;
    println!("{}", out.is_committed());
    Ok(())
}
