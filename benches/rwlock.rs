//! `PerCpuRwLock`'s read lock+unlock against the read-mostly alternatives, side by side in
//! one run: `std::sync::RwLock`, `parking_lot::RwLock` (one shared word),
//! `crossbeam_utils::sync::ShardedLock` (a lock per shard of threads) and an `arc-swap`
//! load (no lock: an RCU-like pointer). At 1, 2, 4 and 8 reader threads, read-only and
//! with a writer every millisecond, whose latency (from asking for the write lock, or
//! storing the new `Arc`, to holding it) is reported too.
//!
//! `cargo bench --bench rwlock` prints the tables; `-- --write docs/rwlock-bench.md` also
//! writes them there. A read is: lock, read one word of the value, unlock; readers read
//! for 100 ms per round. Costs are thread CPU time per read, summed over the reader threads (a shared machine's lost time
//! slices would dominate wall time), each cell the median of interleaved rounds; readers
//! are pinned round-robin to the allowed CPUs.

#[cfg(target_os = "linux")]
mod common;

#[cfg(not(target_os = "linux"))]
fn main() {
    println!("skipped: rwlock bench: it measures thread CPU time and pins threads (Linux)");
}

#[cfg(target_os = "linux")]
fn main() {
    linux::main()
}

#[cfg(target_os = "linux")]
mod linux {
    use std::hint::black_box;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::{Arc, Barrier};
    use std::time::{Duration, Instant};

    use arc_swap::ArcSwap;
    use crossbeam_utils::sync::ShardedLock;
    use rseq_dsl::{Path, PerCpuRwLock};

    use crate::common::{allowed_cpus, pin, thread_cpu_time};

    /// How long the readers of one round run.
    const ROUND_TIME: Duration = Duration::from_millis(100);
    const ROUNDS: usize = 5;
    const THREADS: [usize; 4] = [1, 2, 4, 8];

    /// The protected value: a small configuration.
    type Value = [u64; 8];

    #[derive(Clone, Copy, PartialEq)]
    enum Subject {
        PerCpu,
        Std,
        ParkingLot,
        Sharded,
        ArcSwap,
    }

    const SUBJECTS: [Subject; 5] = [
        Subject::PerCpu,
        Subject::Std,
        Subject::ParkingLot,
        Subject::Sharded,
        Subject::ArcSwap,
    ];

    impl Subject {
        fn name(self) -> &'static str {
            match self {
                Subject::PerCpu => "PerCpuRwLock",
                Subject::Std => "std RwLock",
                Subject::ParkingLot => "parking_lot RwLock",
                Subject::Sharded => "crossbeam ShardedLock",
                Subject::ArcSwap => "arc-swap load",
            }
        }
    }

    /// One of each, around the same value.
    struct Locks {
        per_cpu: PerCpuRwLock<Value>,
        std: std::sync::RwLock<Value>,
        parking_lot: parking_lot::RwLock<Value>,
        sharded: ShardedLock<Value>,
        arc_swap: ArcSwap<Value>,
    }

    impl Locks {
        fn new() -> Self {
            Locks {
                per_cpu: PerCpuRwLock::new([1; 8]),
                std: std::sync::RwLock::new([1; 8]),
                parking_lot: parking_lot::RwLock::new([1; 8]),
                sharded: ShardedLock::new([1; 8]),
                arc_swap: ArcSwap::from_pointee([1; 8]),
            }
        }

        #[inline]
        fn read(&self, s: Subject) -> u64 {
            match s {
                Subject::PerCpu => self.per_cpu.read()[3],
                Subject::Std => self.std.read().unwrap()[3],
                Subject::ParkingLot => self.parking_lot.read()[3],
                Subject::Sharded => self.sharded.read().unwrap()[3],
                Subject::ArcSwap => self.arc_swap.load()[3],
            }
        }

        /// One write (all words + 1); the time until the lock was held (or stored).
        fn write(&self, s: Subject) -> Duration {
            let began = Instant::now();
            let bump = |v: &mut Value| v.iter_mut().for_each(|w| *w += 1);
            match s {
                Subject::PerCpu => {
                    let mut g = self.per_cpu.write();
                    let t = began.elapsed();
                    bump(&mut g);
                    t
                }
                Subject::Std => {
                    let mut g = self.std.write().unwrap();
                    let t = began.elapsed();
                    bump(&mut g);
                    t
                }
                Subject::ParkingLot => {
                    let mut g = self.parking_lot.write();
                    let t = began.elapsed();
                    bump(&mut g);
                    t
                }
                Subject::Sharded => {
                    let mut g = self.sharded.write().unwrap();
                    let t = began.elapsed();
                    bump(&mut g);
                    t
                }
                Subject::ArcSwap => {
                    let mut v = **self.arc_swap.load();
                    bump(&mut v);
                    let began = Instant::now();
                    self.arc_swap.store(Arc::new(v));
                    began.elapsed()
                }
            }
        }
    }

    /// One round: ns of reader CPU time per read, and the writer's latencies.
    fn round(s: Subject, threads: usize, writer: bool, cpus: &[usize]) -> (f64, Vec<Duration>) {
        let locks = Arc::new(Locks::new());
        let start = Arc::new(Barrier::new(threads + 1));
        let done = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let readers: Vec<_> = (0..threads)
            .map(|t| {
                let (locks, start, stop) = (locks.clone(), start.clone(), stop.clone());
                let cpu = cpus[t % cpus.len()];
                std::thread::spawn(move || {
                    pin(cpu);
                    if s == Subject::PerCpu {
                        assert_eq!(Path::current(), Path::Rseq, "PerCpuRwLock without rseq");
                    }
                    start.wait();
                    let before = thread_cpu_time();
                    let (mut sum, mut reads) = (0u64, 0u64);
                    while !stop.load(Ordering::Relaxed) {
                        for _ in 0..256 {
                            sum = sum.wrapping_add(locks.read(s));
                        }
                        reads += 256;
                    }
                    black_box(sum);
                    (thread_cpu_time() - before, reads)
                })
            })
            .collect();
        let writer = writer.then(|| {
            let (locks, done) = (locks.clone(), done.clone());
            std::thread::spawn(move || {
                let mut latencies = Vec::new();
                while !done.load(Ordering::Relaxed) {
                    std::thread::sleep(Duration::from_millis(1));
                    latencies.push(locks.write(s));
                }
                latencies
            })
        });
        start.wait();
        std::thread::sleep(ROUND_TIME);
        stop.store(true, Ordering::Relaxed);
        let (mut spent, mut reads) = (Duration::ZERO, 0u64);
        for r in readers {
            let (t, n) = r.join().expect("reader");
            spent += t;
            reads += n;
        }
        done.store(true, Ordering::Relaxed);
        let latencies = writer.map_or(Vec::new(), |w| w.join().expect("writer"));
        (spent.as_nanos() as f64 / reads as f64, latencies)
    }

    fn median(mut v: Vec<f64>) -> f64 {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    }

    fn percentile(v: &mut [Duration], p: f64) -> Duration {
        if v.is_empty() {
            return Duration::ZERO;
        }
        v.sort();
        v[((v.len() - 1) as f64 * p).round() as usize]
    }

    fn us(d: Duration) -> String {
        format!("{:.1}", d.as_secs_f64() * 1e6)
    }

    /// The table of one scenario: ns per read per subject, ratios, and (with a writer) its
    /// latencies.
    fn scenario(writer: bool, cpus: &[usize]) -> String {
        let mut out = String::new();
        out.push_str("| reader threads |");
        for s in SUBJECTS {
            out.push_str(&format!(" {} |", s.name()));
        }
        out.push_str(" parking_lot / PerCpuRwLock | ShardedLock / PerCpuRwLock | std / PerCpuRwLock | arc-swap / PerCpuRwLock |\n");
        out.push_str(&format!(
            "|---|{}---|---|---|---|\n",
            "---|".repeat(SUBJECTS.len())
        ));
        let mut latency_rows = String::new();
        for threads in THREADS {
            let mut samples = vec![Vec::new(); SUBJECTS.len()];
            let mut latencies = vec![Vec::new(); SUBJECTS.len()];
            for _ in 0..ROUNDS {
                for (i, &s) in SUBJECTS.iter().enumerate() {
                    let (ns, lat) = round(s, threads, writer, cpus);
                    samples[i].push(ns);
                    latencies[i].extend(lat);
                }
            }
            let ns: Vec<f64> = samples.into_iter().map(median).collect();
            out.push_str(&format!("| {threads} |"));
            for v in &ns {
                out.push_str(&format!(" {v:.2} ns |"));
            }
            for i in [2, 3, 1, 4] {
                out.push_str(&format!(" {:.1}x |", ns[i] / ns[0]));
            }
            out.push('\n');
            if writer {
                latency_rows.push_str(&format!("| {threads} |"));
                for l in &mut latencies {
                    let n = l.len();
                    latency_rows.push_str(&format!(
                        " {} / {} / {} ({n}) |",
                        us(percentile(l, 0.5)),
                        us(percentile(l, 0.99)),
                        us(percentile(l, 1.0))
                    ));
                }
                latency_rows.push('\n');
            }
            eprintln!(
                "  {} threads{} done",
                threads,
                if writer { " + writer" } else { "" }
            );
        }
        if writer {
            out.push_str("\nThe writer's latency, µs from asking to holding (arc-swap: the store), median / p99 / max (writes):\n\n| reader threads |");
            for s in SUBJECTS {
                out.push_str(&format!(" {} |", s.name()));
            }
            out.push_str(&format!("\n|---|{}\n", "---|".repeat(SUBJECTS.len())));
            out.push_str(&latency_rows);
        }
        out
    }

    pub fn main() {
        let write = std::env::args().skip_while(|a| a != "--write").nth(1);
        if !rseq_dsl::is_available() || rseq_dsl::fence_all().is_err() {
            println!("skipped: rwlock bench: rseq or its fence is unavailable here, so PerCpuRwLock takes its fallback");
            return;
        }
        let mut cpus = allowed_cpus();
        if cpus.is_empty() {
            cpus.push(0);
        }
        eprintln!("read-only:");
        let read_only = scenario(false, &cpus);
        print!("read-only, ns of CPU time per read:\n{read_only}\n");
        eprintln!("with a writer:");
        let with_writer = scenario(true, &cpus);
        print!("with a writer every millisecond, ns of CPU time per read:\n{with_writer}\n");
        if let Some(path) = write {
            let doc = format!(
                "# PerCpuRwLock, measured\n\n\
                 Written by `cargo bench --bench rwlock -- --write {path}` from one run on {} \
                 allowed CPUs: reader threads reading for {ROUND_TIME:?} per round (a read: \
                 lock, read one word of a 64-byte value, unlock), pinned round-robin to the \
                 CPUs; each cell the median of {ROUNDS} interleaved rounds. Costs are reader thread CPU time per \
                 read summed over the readers (a shared machine's lost time slices would \
                 dominate wall time; a reader asleep while a writer holds the lock is not \
                 charged for the sleep). The ratio columns are the alternative's time over \
                 PerCpuRwLock's: above 1, PerCpuRwLock is faster. Absolute times move with \
                 the shared machine; the ratios are the result.\n\n\
                 ## Read-only\n\n{read_only}\n\
                 ## With a writer every millisecond\n\n\
                 A writer thread sleeps 1 ms, then writes (every word + 1), for as long as the \
                 readers run.\n\n{with_writer}",
                cpus.len()
            );
            std::fs::write(&path, doc).expect("write the table");
            println!("wrote {path}");
        }
    }
}
