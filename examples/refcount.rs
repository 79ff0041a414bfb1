//! Template: a per-CPU reference count (the kernel's `percpu_ref`), written out with
//! `rseq!` and then as the safe `PerCpuArc`/`PerCpuRef`.
//!
//! Run: `cargo run --release --example refcount` (examples count aborts: the runtime's
//! `stats` feature is on for them).
//!
//! The raw version shows the whole protocol: a mode word, one count per CPU, sections that
//! count only while the mode is per-CPU, and the switch: store the mode, `fence_all()` so
//! that no section in flight can commit afterwards, fold the per-CPU sum into one atomic.
//! Copy it for a count the library's type does not fit (a count embedded in your own
//! struct, several counts switched together, an mm_cid index).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use rseq_dsl::{rseq, stats, Outcome, Path, PerCpu, PerCpuArc, PerCpuRef};

const THREADS: usize = 4;
const PER_THREAD: u64 = 2_000_000;

/// The raw count: 0 in `mode` while per-CPU, 1 after the switch.
struct RawCount {
    mode: AtomicU64,
    counts: PerCpu<AtomicU64>,
    atomic: AtomicU64,
}

impl RawCount {
    /// Adds `delta` (1, or u64::MAX for -1) to the running CPU's count while per-CPU;
    /// false once the mode is atomic (nothing written).
    fn section(&self, delta: u64) -> bool {
        let mode = self.mode.as_ptr() as *const u64;
        let counts = &self.counts;
        // SAFETY: the slot is the running CPU's count, written only by this section on that
        // CPU; `mode` is a live u64. The exit compares `mode & 1`, a computed value: the
        // switch changes the mode word from another CPU on purpose (then fences), which the
        // compare-twice test instrumentation would otherwise report.
        let out = unsafe {
            rseq!(|cpu| {
                in mode: *const u64 = mode;
                in slot: *mut u64 = counts.get_raw(cpu) as *mut u64;
                in delta: u64 = delta;
                let m: u64 = mode.load_acquire();
                let dead: u64 = m & 1;
                if dead != 0 { exit; }
                commit(release) *slot += delta;
            })
        };
        match out {
            Ok(Outcome::Committed { .. }) => true,
            Ok(_) => false,
            Err(e) => panic!("the template has no fallback: {e}"),
        }
    }

    fn get(&self) {
        if !self.section(1) {
            self.atomic.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn put(&self) {
        if !self.section(u64::MAX) {
            self.atomic.fetch_sub(1, Ordering::Release);
        }
    }

    /// The switch: afterwards every get and put goes to `atomic`, which holds the total.
    fn switch(&self) -> u64 {
        self.mode.store(1, Ordering::SeqCst);
        rseq_dsl::fence_all().expect("membarrier's rseq fence (Linux 5.10+)");
        let sum = self
            .counts
            .iter()
            .fold(0u64, |s, c| s.wrapping_add(c.load(Ordering::Acquire)));
        self.atomic
            .fetch_add(sum, Ordering::AcqRel)
            .wrapping_add(sum)
    }
}

fn main() {
    println!(
        "per-CPU reference count on {} possible CPUs, {THREADS} threads x {PER_THREAD} get+drop, path {}",
        rseq_dsl::possible_cpus(),
        Path::current()
    );
    if Path::current() == Path::Fallback {
        println!("rseq is unavailable here: only the safe type runs (on its atomic path)");
    }

    // 1. The template: each thread keeps one reference across the switch.
    if Path::current() == Path::Rseq {
        let raw = Arc::new(RawCount {
            mode: AtomicU64::new(0),
            counts: PerCpu::new(|_| AtomicU64::new(0)),
            atomic: AtomicU64::new(0),
        });
        let aborts_before = stats::total_aborts();
        let start = Instant::now();
        let threads: Vec<_> = (0..THREADS)
            .map(|_| {
                let raw = raw.clone();
                std::thread::spawn(move || {
                    raw.get(); // kept
                    for _ in 0..PER_THREAD {
                        raw.get();
                        raw.put();
                    }
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        let elapsed = start.elapsed();
        let total = raw.switch();
        println!(
            "rseq! sections: {:.2} ns per get+drop per thread, after the switch the atomic holds {total} (expected {THREADS}), aborts {}",
            elapsed.as_nanos() as f64 / PER_THREAD as f64,
            aborts(aborts_before)
        );
        assert_eq!(total, THREADS as u64);
    }

    // 2. The safe type, against one shared Arc.
    let owner = PerCpuArc::new(String::from("a configuration"));
    let aborts_before = stats::total_aborts();
    let start = Instant::now();
    let threads: Vec<_> = (0..THREADS)
        .map(|_| {
            let seed = owner.get();
            std::thread::spawn(move || {
                for _ in 0..PER_THREAD {
                    let r = PerCpuRef::clone(&seed);
                    std::hint::black_box(&*r);
                }
                seed
            })
        })
        .collect();
    let seeds: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    let elapsed = start.elapsed();
    println!(
        "PerCpuRef:      {:.2} ns per clone+drop per thread, {} handles alive, aborts {}",
        elapsed.as_nanos() as f64 / PER_THREAD as f64,
        owner.handles(),
        aborts(aborts_before)
    );
    drop(owner); // the switch: try_get fails from now on
    assert!(PerCpuRef::try_get(&seeds[0]).is_none());
    drop(seeds); // the last one drops the String

    let shared = Arc::new(String::from("a configuration"));
    let start = Instant::now();
    let threads: Vec<_> = (0..THREADS)
        .map(|_| {
            let shared = shared.clone();
            std::thread::spawn(move || {
                for _ in 0..PER_THREAD {
                    let r = Arc::clone(&shared);
                    std::hint::black_box(&*r);
                }
            })
        })
        .collect();
    threads.into_iter().for_each(|t| t.join().unwrap());
    println!(
        "Arc:            {:.2} ns per clone+drop per thread (one shared count)",
        start.elapsed().as_nanos() as f64 / PER_THREAD as f64
    );
}

fn aborts(before: u64) -> String {
    if stats::ENABLED {
        (stats::total_aborts() - before).to_string()
    } else {
        "n/a (build with --features stats)".to_string()
    }
}
