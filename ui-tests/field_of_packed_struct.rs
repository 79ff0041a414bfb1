// Rule: no fields of packed structs, which may be unaligned (rustc refuses the reference).
#[repr(C, packed)]
struct Slab {
    flag: u8,
    current: u32,
}

fn main() -> Result<(), rseq_dsl::Unavailable> {
    let mut slabs = [Slab { flag: 0, current: 0 }, Slab { flag: 0, current: 0 }];
    let base = slabs.as_mut_ptr();
    let out = unsafe {
        rseq_dsl::rseq!(|cpu| {
            in slab: *mut Slab = base.add(cpu % 2);
            let cur: u32 = (*slab).current;
            commit (*slab).current = cur + 1;
        })
    }?;
    println!("{}", out.is_committed());
    Ok(())
}
