// Rule: a section reaches only the fields its caller could (rustc checks privacy).
mod slab {
    pub struct Slab {
        current: u16,
    }

    impl Slab {
        pub fn new() -> Slab {
            Slab { current: 0 }
        }
    }
}

fn main() -> Result<(), rseq_dsl::Unavailable> {
    let mut slabs = [slab::Slab::new(), slab::Slab::new()];
    let base = slabs.as_mut_ptr();
    let out = unsafe {
        rseq_dsl::rseq!(|cpu| {
            in slab: *mut slab::Slab = base.add(cpu % 2);
            let cur: u16 = (*slab).current;
            commit (*slab).current = cur + 1;
        })
    }?;
    println!("{}", out.is_committed());
    Ok(())
}
