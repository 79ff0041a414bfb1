// Rule: an indexed field is an array inside the struct, not a `Vec` or a slice.
struct Slab {
    current: usize,
    slots: Vec<u64>,
}

fn main() -> Result<(), rseq_dsl::Unavailable> {
    let mut slabs = [Slab { current: 0, slots: vec![0; 8] }];
    let base = slabs.as_mut_ptr();
    let out = unsafe {
        rseq_dsl::rseq!(|cpu| {
            in slab: *mut Slab = base.add(cpu * 0);
            let cur: usize = (*slab).current;
            store (*slab).slots[cur] = 7u64;
            commit (*slab).current = cur + 1;
        })
    }?;
    println!("{}", out.is_committed());
    Ok(())
}
