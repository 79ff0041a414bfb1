// Rule: a store to a field takes the value's type, so a bare literal needs a suffix.
struct Slab {
    current: u16,
}

fn main() -> Result<(), rseq_dsl::Unavailable> {
    let mut slabs = [Slab { current: 0 }, Slab { current: 0 }];
    let base = slabs.as_mut_ptr();
    let out = unsafe {
        rseq_dsl::rseq!(|cpu| {
            in slab: *mut Slab = base.add(cpu % 2);
            commit (*slab).current = 0;
        })
    }?;
    println!("{}", out.is_committed());
    Ok(())
}
