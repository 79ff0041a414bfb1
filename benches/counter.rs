//! The per-CPU counter: `rseq!` (both forms) against a hand-written `asm!` section of the
//! same instructions, and against the atomics it replaces. One thread, then two.
//!
//! `cargo bench --bench counter -- --warm-up-time 1 --measurement-time 3`
//!
//! `hand_asm_area_per_op` is `hand_asm` plus what the macro does around it: fetching the
//! area at every increment. Code layout alone moves the one-thread numbers by up to 1.6x
//! between builds of the same source (loops straddling op-cache lines); to compare the
//! instructions rather than the layout, add `RUSTFLAGS='-C llvm-args=-align-loops=64'`.
//!
//! One-thread benchmarks run `BATCH` increments per iteration, so the reported time per
//! element is the cost of one increment. Times are thread CPU time, not wall time: the
//! project's machines are shared, and lost time slices would otherwise dominate.
//!
//! Targets (issue 3): `rseq!` at most 1.1x the hand-written section, at least 1.7x faster
//! than an uncontended `fetch_add`, 6x faster than a shared atomic at two threads, 2.5x
//! faster than `sched_getcpu()`-indexed padded atomics.

mod common;
use common::{allowed_cpus, pin, thread_cpu_time};

use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Barrier;
use std::time::Duration;

use criterion::measurement::WallTime;
use criterion::{criterion_group, criterion_main, BenchmarkGroup, Criterion, Throughput};
use rseq_dsl::{possible_cpus, rseq};

/// Increments per benchmark iteration.
const BATCH: u64 = 1000;

/// 128 bytes apart, so that two CPUs' slots never share a cache line (or a prefetched pair).
#[repr(C, align(128))]
struct Padded<T>(T);

/// Distance between two per-CPU `u64` slots, in `u64`s.
const STRIDE: usize = 128 / 8;

fn per_cpu_u64() -> Vec<Padded<u64>> {
    (0..possible_cpus()).map(|_| Padded(0)).collect()
}

fn per_cpu_atomics() -> Vec<Padded<AtomicU64>> {
    (0..possible_cpus())
        .map(|_| Padded(AtomicU64::new(0)))
        .collect()
}

/// `let v = *slot; commit *slot = v + 1;`
#[inline(always)]
fn rseq_load_add_store(base: *mut u64) {
    // SAFETY: base + cpu * STRIDE is the slot of a CPU below possible_cpus.
    let out = unsafe {
        rseq!(|cpu| {
            in slot: *mut u64 = base.add(cpu * STRIDE);
            let v: u64 = *slot;
            commit *slot = v + 1;
        })
    };
    if out.is_err() {
        unavailable();
    }
}

/// `commit *slot += 1;`
#[inline(always)]
fn rseq_add_commit(base: *mut u64) {
    // SAFETY: as above.
    let out = unsafe {
        rseq!(|cpu| {
            in slot: *mut u64 = base.add(cpu * STRIDE);
            commit *slot += 1;
        })
    };
    if out.is_err() {
        unavailable();
    }
}

#[cold]
fn unavailable() -> ! {
    panic!(
        "rseq is unavailable here: {:?}",
        rseq_dsl::registration().err()
    )
}

/// The same section written by hand: descriptor store, cpu compare, one `add` to memory;
/// the area pointer comes in hoisted, the slot is computed per increment like `rseq!` does.
#[cfg(target_arch = "x86_64")]
mod hand {
    use rseq_dsl::abi::RseqArea;

    use super::STRIDE;

    /// # Safety
    /// `area` is the calling thread's registered area; `base` has a slot for every CPU.
    #[inline(always)]
    pub unsafe fn add(area: *mut RseqArea, base: *mut u64) {
        loop {
            // SAFETY: the live area; volatile because the kernel writes cpu_id.
            let cpu = unsafe { core::ptr::addr_of!((*area).cpu_id).read_volatile() };
            // SAFETY: a registered area's cpu_id is a CPU below possible_cpus.
            let slot = unsafe { base.add(cpu as usize * STRIDE) };
            let status: u32;
            // SAFETY: a well-formed rseq section: the descriptor is stored first, the cpu
            // is checked, the single add commits last; the abort stub sits outside the
            // section after the x86 signature; no stack use.
            unsafe {
                core::arch::asm!(
                    ".pushsection __rseq_cs, \"aw\"",
                    ".balign 32",
                    "3:",
                    ".long 0, 0",
                    ".quad 4f, (5f - 4f), 6f",
                    ".popsection",
                    ".pushsection __rseq_cs_ptr_array, \"awR\"",
                    ".balign 8",
                    ".quad 3b",
                    ".popsection",
                    "lea {tmp}, [rip + 3b]",
                    "mov qword ptr [{area} + 8], {tmp}",
                    "4:",
                    "cmp dword ptr [{area} + 4], {cpu:e}",
                    "jne 6f",
                    "add qword ptr [{slot}], 1",
                    "5:",
                    "xor {status:e}, {status:e}",
                    "7:",
                    ".pushsection __rseq_failure, \"ax\"",
                    ".byte 0x0f, 0xb9, 0x3d",
                    ".long 0x53053053",
                    "6:",
                    "mov {status:e}, 1",
                    "jmp 7b",
                    ".popsection",
                    area = in(reg) area,
                    cpu = in(reg) cpu,
                    slot = in(reg) slot,
                    tmp = out(reg) _,
                    status = out(reg) status,
                    options(nostack),
                );
            }
            if status == 0 {
                return;
            }
        }
    }

    const _: () = assert!(rseq_dsl::abi::SIGNATURE == 0x5305_3053);
    const _: () = assert!(rseq_dsl::abi::RSEQ_CS_OFFSET == 8);
    const _: () = assert!(rseq_dsl::abi::CPU_ID_OFFSET == 4);
}

/// Benchmarks `BATCH` calls of `op` per iteration, timed in thread CPU time.
fn batch(group: &mut BenchmarkGroup<WallTime>, name: &str, mut op: impl FnMut()) {
    group.bench_function(name, |b| {
        b.iter_custom(|iters| {
            let start = thread_cpu_time();
            for _ in 0..iters {
                for _ in 0..BATCH {
                    op();
                }
            }
            thread_cpu_time() - start
        })
    });
}

fn one_thread(c: &mut Criterion) {
    let mut group = c.benchmark_group("counter_1t");
    group.throughput(Throughput::Elements(BATCH));

    let mut counters = per_cpu_u64();
    let base = counters.as_mut_ptr() as *mut u64;
    batch(&mut group, "rseq_load_add_store", || {
        rseq_load_add_store(black_box(base))
    });
    batch(&mut group, "rseq_add_commit", || {
        rseq_add_commit(black_box(base))
    });
    #[cfg(target_arch = "x86_64")]
    {
        let area = rseq_dsl::area().expect("rseq area").as_ptr();
        // SAFETY: the bench thread's area; a slot per possible CPU.
        batch(&mut group, "hand_asm", || unsafe {
            hand::add(area, black_box(base))
        });
    }

    #[cfg(target_arch = "x86_64")]
    batch(&mut group, "hand_asm_area_per_op", || {
        // What `rseq!` does that `hand_asm` does not: fetch the area (one thread-local load
        // and a registration check) at every increment.
        let area = rseq_dsl::area().unwrap_or_else(|_| unavailable()).as_ptr();
        // SAFETY: as for hand_asm.
        unsafe { hand::add(area, black_box(base)) }
    });

    let single = AtomicU64::new(0);
    batch(&mut group, "atomic_fetch_add", || {
        black_box(&single).fetch_add(1, Ordering::Relaxed);
    });

    let atomics = per_cpu_atomics();
    batch(&mut group, "sched_getcpu_atomic", || {
        // SAFETY: sched_getcpu has no preconditions.
        let cpu = unsafe { libc::sched_getcpu() }.max(0) as usize;
        atomics[cpu].0.fetch_add(1, Ordering::Relaxed);
    });
    group.finish();
    let total: u64 = counters.iter().map(|c| c.0).sum();
    black_box(total);
}

/// Runs `op` `iters` times on each of two threads started together, each pinned to its
/// own CPU where there are two (else the threads would take turns on one CPU and never
/// contend); the time is the larger of the two threads' CPU times.
fn two_threads(iters: u64, op: impl Fn() + Sync) -> Duration {
    let start = Barrier::new(2);
    let cpus = allowed_cpus();
    let times: Vec<Duration> = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..2)
            .map(|i| {
                let (start, op) = (&start, &op);
                let cpu = (cpus.len() >= 2).then(|| cpus[i]);
                scope.spawn(move || {
                    if let Some(cpu) = cpu {
                        pin(cpu);
                    }
                    // Registers the thread's rseq area before the clock starts.
                    let _ = rseq_dsl::current_cpu();
                    start.wait();
                    let t = thread_cpu_time();
                    for _ in 0..iters {
                        op();
                    }
                    thread_cpu_time() - t
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).collect()
    });
    times.into_iter().max().unwrap()
}

fn two_threads_group(c: &mut Criterion) {
    let mut group = c.benchmark_group("counter_2t");
    // Per iteration each thread does one increment: time per element is per increment
    // per thread, as seen by the slower one.
    group.throughput(Throughput::Elements(1));

    let shared = AtomicU64::new(0);
    group.bench_function("shared_atomic_fetch_add", |b| {
        b.iter_custom(|iters| {
            two_threads(iters, || {
                black_box(&shared).fetch_add(1, Ordering::Relaxed);
            })
        })
    });

    let mut counters = per_cpu_u64();
    let base = counters.as_mut_ptr() as usize;
    group.bench_function("rseq_add_commit", |b| {
        b.iter_custom(|iters| two_threads(iters, || rseq_add_commit(black_box(base) as *mut u64)))
    });
    group.bench_function("rseq_load_add_store", |b| {
        b.iter_custom(|iters| {
            two_threads(iters, || rseq_load_add_store(black_box(base) as *mut u64))
        })
    });
    group.finish();
    let total: u64 = counters.iter().map(|c| c.0).sum();
    black_box(total);
}

criterion_group!(benches, one_thread, two_threads_group);
criterion_main!(benches);
