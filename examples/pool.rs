//! Template: per-CPU pools (librseq's `rseq_mempool` layout), a raw section on a pool item
//! and then the safe `PoolCounter`, with the memory of 100,000 counters against
//! `PerCpuCounter`'s padded slots.
//!
//! Run: `cargo run --release --example pool`.
//!
//! Item `i` of CPU `k` lives at `base + k * stride + offset(i)`: a section reaches the
//! running CPU's copy with one multiply-add (`base.byte_add(cpu * stride)`), and 100,000
//! per-CPU `u64`s cost 800 KB per CPU that touches them, not 128 bytes each per CPU.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use rseq_dsl::{rseq, stats, Path, PerCpuCounter, PerCpuPool, PoolItem};

const THREADS: usize = 4;
const PER_THREAD: u64 = 1_000_000;
const COUNTERS: usize = 100_000;

/// The template: `n` added to the running CPU's copy of a pool item.
fn add(item: &PoolItem<AtomicU64>, n: u64) {
    let (base, stride) = (item.base() as *mut u64, item.stride());
    // SAFETY: base + cpu * stride is the running CPU's copy (cpu < possible_cpus, the
    // item's copies); only this section writes it, readers use atomic loads.
    let out = unsafe {
        rseq!(|cpu| {
            in slot: *mut u64 = base.byte_add(cpu * stride);
            in n: u64 = n;
            commit *slot += n;
        })
    };
    if let Err(e) = out {
        panic!("the template has no fallback: {e}");
    }
}

/// Resident memory of this process (Linux), in bytes.
fn rss() -> Option<usize> {
    let statm = std::fs::read_to_string("/proc/self/statm").ok()?;
    let pages: usize = statm.split_whitespace().nth(1)?.parse().ok()?;
    Some(pages * 4096)
}

fn main() {
    println!(
        "per-CPU pools on {} possible CPUs, path {}",
        rseq_dsl::possible_cpus(),
        Path::current()
    );

    // 1. The template: 16 items of one pool, threads adding to all of them.
    if Path::current() == Path::Rseq {
        let pool = PerCpuPool::<AtomicU64>::new();
        let items: Arc<Vec<_>> = Arc::new((0..16).map(|_| pool.alloc()).collect());
        let aborts_before = stats::total_aborts();
        let threads: Vec<_> = (0..THREADS)
            .map(|_| {
                let items = items.clone();
                std::thread::spawn(move || {
                    for i in 0..PER_THREAD {
                        add(&items[i as usize % 16], 1);
                    }
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        let total: u64 = items
            .iter()
            .flat_map(|item| item.iter())
            .map(|v| v.load(Ordering::Relaxed))
            .sum();
        println!(
            "rseq! section on pool items: total {total} (expected {}), aborts {}",
            THREADS as u64 * PER_THREAD,
            if stats::ENABLED {
                (stats::total_aborts() - aborts_before).to_string()
            } else {
                "n/a".into()
            }
        );
        assert_eq!(total, THREADS as u64 * PER_THREAD);
    }

    // 2. The safe counter, 100,000 of them, against 100,000 PerCpuCounters.
    let before = rss();
    let pool = PerCpuPool::new();
    let counters: Vec<_> = (0..COUNTERS).map(|_| pool.counter()).collect();
    counters.iter().for_each(|c| c.add(1));
    let after_pool = rss();
    let padded: Vec<_> = (0..COUNTERS).map(|_| PerCpuCounter::new()).collect();
    padded.iter().for_each(|c| c.add(1));
    let after_padded = rss();
    assert_eq!(
        counters.iter().map(|c| c.sum()).sum::<u64>(),
        COUNTERS as u64
    );
    assert_eq!(padded.iter().map(|c| c.sum()).sum::<u64>(), COUNTERS as u64);
    if let (Some(a), Some(b), Some(c)) = (before, after_pool, after_padded) {
        println!(
            "{COUNTERS} counters, one add each on this thread's CPU: PoolCounter +{} KiB resident \
             ({} KiB mapped), PerCpuCounter +{} KiB resident",
            (b - a) / 1024,
            pool.mapped_bytes() / 1024,
            (c - b) / 1024
        );
    }
    println!("(cargo bench --bench refpool writes the full table: every CPU touched, PerCpu<u64>)");
}
