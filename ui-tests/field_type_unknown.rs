// Rule: a field takes its type from where it is used; two fields compared have none.
struct Slab {
    current: u16,
    end: u16,
}

fn main() -> Result<(), rseq_dsl::Unavailable> {
    let mut slabs = [Slab { current: 0, end: 8 }, Slab { current: 0, end: 8 }];
    let base = slabs.as_mut_ptr();
    let out = unsafe {
        rseq_dsl::rseq!(|cpu| {
            in slab: *mut Slab = base.add(cpu % 2);
            if (*slab).current == (*slab).end { exit; }
            commit (*slab).end = 0u16;
        })
    }?;
    println!("{}", out.is_committed());
    Ok(())
}
