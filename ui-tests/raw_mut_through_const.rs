// Rule: `&raw mut` needs a `*mut` pointer to the struct.
struct Slab {
    current: u16,
}

fn main() -> Result<(), rseq_dsl::Unavailable> {
    let mut counters = [0u64; 4];
    let base = counters.as_mut_ptr();
    let slabs = [Slab { current: 0 }, Slab { current: 0 }];
    let slabs = slabs.as_ptr();
    let out = unsafe {
        rseq_dsl::rseq!(|cpu| {
            in slot: *mut u64 = base.add(cpu);
            in slab: *const Slab = slabs.add(cpu % 2);
            let current: *mut u16 = &raw mut (*slab).current;
            commit *slot = current as u64;
        })
    }?;
    println!("{}", out.is_committed());
    Ok(())
}
