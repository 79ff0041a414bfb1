//! `current_cpu()` against the floor (a volatile load of `cpu_id` from an area pointer held
//! in a register) and the call it replaces, `sched_getcpu()` (glibc 2.35+ reads its own rseq
//! area there when it registered one, and calls the vDSO's getcpu otherwise).
//!
//! Reading the numbers: LLVM unrolls the bare-load loop (no branch, no call in its body),
//! which takes it below one taken branch per iteration; `current_cpu`'s loop keeps its cold
//! registration call and is not unrolled. In a loop of the same shape the two cost the same
//! (the thread-local load of the area pointer is hidden behind the field load), so most of
//! the gap this bench shows between them is loop overhead, not `current_cpu`.
//!
//! Run it under both owners:
//! `cargo bench -p rseq-dsl-runtime --bench current_cpu`, then again with
//! `GLIBC_TUNABLES=glibc.pthread.rseq=0` (the runtime's own area).

use criterion::{criterion_group, criterion_main, Criterion};
use rseq_dsl_runtime::{area, current_cpu, registration};

fn bench(c: &mut Criterion) {
    let owner = registration().map(|r| format!("{:?}", r.owner));
    let owner = owner.unwrap_or_else(|e| format!("unavailable ({e})"));
    let mut group = c.benchmark_group(format!("current_cpu/{owner}"));

    group.bench_function("current_cpu", |b| b.iter(current_cpu));

    let area = area().expect("rseq area").as_ptr();
    group.bench_function("bare_load", |b| {
        b.iter(move || {
            // SAFETY: the bench thread's registered area stays live for the whole run;
            // volatile because the kernel writes cpu_id.
            unsafe { core::ptr::addr_of!((*area).cpu_id).read_volatile() as usize }
        })
    });

    group.bench_function("sched_getcpu", |b| {
        // SAFETY: sched_getcpu has no preconditions.
        b.iter(|| unsafe { libc::sched_getcpu() })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
