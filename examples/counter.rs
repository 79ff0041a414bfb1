//! Template: a per-CPU counter, written out with `rseq!` and then as the safe `PerCpuCounter`.
//!
//! Run: `cargo run --release --example counter` (add `--features stats` to count aborts).
//!
//! Copy the section when you need a counter shape the library lacks (several fields per
//! CPU, a saturating add, an mm_cid index); use `PerCpuCounter` otherwise.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use rseq_dsl::{rseq, stats, Path, PerCpu, PerCpuCounter};

const THREADS: usize = 4;
const PER_THREAD: u64 = 2_000_000;

/// The whole template: one padded `AtomicU64` per CPU, and a section that adds to the slot
/// of the CPU it runs on. `commit *slot += n` is the section's single committing store.
fn add(slots: &PerCpu<AtomicU64>, n: u64) {
    // SAFETY: `get_raw(cpu)` is the running CPU's slot (the section commits only while it
    // runs there), and only this section writes the slots; readers use atomic loads, which
    // see the section's aligned store whole.
    let out = unsafe {
        rseq!(|cpu| {
            in slot: *mut u64 = slots.get_raw(cpu) as *mut u64;
            in n: u64 = n;
            commit *slot += n;
        })
    };
    if let Err(e) = out {
        // rseq unavailable on this thread: a real program needs a fallback (PerCpuCounter
        // has one); the template just says why.
        panic!("{e}");
    }
}

fn main() {
    println!(
        "per-CPU counter on {} possible CPUs, {THREADS} threads x {PER_THREAD} adds",
        rseq_dsl::possible_cpus()
    );

    // 1. The template.
    let slots = Arc::new(PerCpu::new(|_| AtomicU64::new(0)));
    let aborts_before = stats::total_aborts();
    let start = Instant::now();
    let threads: Vec<_> = (0..THREADS)
        .map(|_| {
            let slots = slots.clone();
            std::thread::spawn(move || {
                if Path::current() == Path::Rseq {
                    (0..PER_THREAD).for_each(|_| add(&slots, 1))
                }
            })
        })
        .collect();
    threads.into_iter().for_each(|t| t.join().unwrap());
    let elapsed = start.elapsed();
    let per_cpu: Vec<u64> = slots.iter().map(|s| s.load(Ordering::Relaxed)).collect();
    println!(
        "rseq! section:  sum {} (expected {}), per CPU {per_cpu:?}, {:.2} ns/op per thread, aborts {}",
        per_cpu.iter().sum::<u64>(),
        THREADS as u64 * PER_THREAD,
        elapsed.as_nanos() as f64 / PER_THREAD as f64,
        aborts(aborts_before)
    );

    // 2. The safe type: the same section inside, plus a fallback where rseq is unavailable.
    let counter = Arc::new(PerCpuCounter::new());
    let aborts_before = stats::total_aborts();
    let start = Instant::now();
    let threads: Vec<_> = (0..THREADS)
        .map(|_| {
            let counter = counter.clone();
            std::thread::spawn(move || (0..PER_THREAD).for_each(|_| counter.add(1)))
        })
        .collect();
    threads.into_iter().for_each(|t| t.join().unwrap());
    let elapsed = start.elapsed();
    println!(
        "PerCpuCounter:  sum {} (expected {}), path {}, per CPU {:?}, {:.2} ns/op per thread, aborts {}",
        counter.sum(),
        THREADS as u64 * PER_THREAD,
        counter.path(),
        counter.per_cpu(),
        elapsed.as_nanos() as f64 / PER_THREAD as f64,
        aborts(aborts_before)
    );
    assert_eq!(counter.sum(), THREADS as u64 * PER_THREAD);
}

fn aborts(before: u64) -> String {
    if stats::ENABLED {
        (stats::total_aborts() - before).to_string()
    } else {
        "n/a (build with --features stats)".to_string()
    }
}
