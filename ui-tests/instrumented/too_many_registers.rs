// Rule: a section fits in the registers of the architecture. The same section as
// ../too_many_registers.rs with the test instrumentation (what `rseq!` hands a section to
// in a build with both cfgs, delay injection and compare-twice), which needs registers.
fn main() -> Result<(), rseq_dsl::Unavailable> {
    let mut counters = [0u64; 4];
    let base = counters.as_mut_ptr();
    let out = unsafe {
        rseq_dsl::__rseq_instrumented!([delays compare_twice] |cpu| {
            in p0: *mut u64 = base;
            in p1: *mut u64 = base.add(1);
            in p2: *mut u64 = base.add(2);
            in p3: *mut u64 = base.add(3);
            in p4: *mut u64 = base;
            in p5: *mut u64 = base.add(1);
            in p6: *mut u64 = base.add(2);
            in p7: *mut u64 = base.add(3);
            let a0: u64 = *p0;
            let a1: u64 = *p1;
            let a2: u64 = *p2;
            let a3: u64 = *p3;
            let a4: u64 = *p4;
            let a5: u64 = *p5;
            let a6: u64 = *p6;
            let a7: u64 = *p7;
            store *p1 = a0 + a1 + a2 + a3 + a4 + a5 + a6 + a7;
            store *p2 = a0;
            store *p3 = a1;
            store *p4 = a2;
            store *p5 = a3;
            store *p6 = a4;
            store *p7 = a5 + a6 + a7;
            commit *p0 = a7;
        })
    }?;
    println!("{}", out.is_committed());
    Ok(())
}
