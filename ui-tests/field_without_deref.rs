// Rule: fields are reached through a raw pointer, `(*p).field`.
struct Slab {
    current: u16,
}

fn main() -> Result<(), rseq_dsl::Unavailable> {
    let mut slabs = [Slab { current: 0 }, Slab { current: 0 }];
    let base = slabs.as_mut_ptr();
    let out = unsafe {
        rseq_dsl::rseq!(|cpu| {
            in slab: *mut Slab = base.add(cpu % 2);
            let cur: u16 = slab.current;
            commit (*slab).current = cur + 1;
        })
    }?;
    println!("{}", out.is_committed());
    Ok(())
}
