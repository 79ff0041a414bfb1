//! The per-CPU reference count and the per-CPU pools against what Rust programs use
//! instead, side by side in one run, and the memory of 100,000 counters.
//!
//! `cargo bench --bench refpool` prints the tables; `-- --write docs/refpool-bench.md`
//! also writes them there.
//!
//! - Reference get+drop: `PerCpuArc::get` and the handle's drop (one section each) against
//!   `Arc::clone` and drop of one shared `Arc`, at 1, 2 and 4 threads.
//! - Counter adds: `PoolCounter::add` against `PerCpuCounter::add` and one shared
//!   `AtomicU64::fetch_add`, at 1, 2 and 4 threads.
//! - Memory: 100,000 counters as `PoolCounter`s, `PerCpu<u64>`s and `PerCpuCounter`s, each
//!   measured in a fresh child process (resident memory from `/proc/self/statm` before and
//!   after), with one add per counter from one CPU and from every CPU.
//!
//! Costs are thread CPU time per operation, summed over the threads and divided by all
//! operations (a shared machine's lost time slices would dominate wall time); each cell is
//! the median of interleaved rounds; threads are pinned to their own CPU while there are
//! enough, then share them.

#[cfg(target_os = "linux")]
mod common;

#[cfg(not(target_os = "linux"))]
fn main() {
    println!("skipped: refpool bench: it pins threads and reads /proc (Linux)");
}

#[cfg(target_os = "linux")]
fn main() {
    linux::main()
}

#[cfg(target_os = "linux")]
mod linux {
    use std::hint::black_box;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Arc, Barrier};
    use std::time::Duration;

    use rseq_dsl::{Path, PerCpu, PerCpuArc, PerCpuCounter, PerCpuPool};

    use crate::common::{allowed_cpus, pin, thread_cpu_time};

    const OPS: u64 = 2_000_000;
    const ROUNDS: usize = 7;
    const THREADS: [usize; 3] = [1, 2, 4];
    const COUNTERS: usize = 100_000;

    #[derive(Clone, Copy, PartialEq, Debug)]
    enum Subject {
        PerCpuRef,
        SharedArc,
        PoolCounter,
        PerCpuCounter,
        SharedAtomic,
    }

    impl Subject {
        fn name(self) -> &'static str {
            match self {
                Subject::PerCpuRef => "PerCpuArc::get + drop",
                Subject::SharedArc => "Arc::clone + drop (one shared Arc)",
                Subject::PoolCounter => "PoolCounter::add",
                Subject::PerCpuCounter => "PerCpuCounter::add",
                Subject::SharedAtomic => "one shared AtomicU64::fetch_add",
            }
        }
    }

    /// One round of `subject` on `threads` threads; nanoseconds of thread CPU time per
    /// operation.
    fn round(subject: Subject, threads: usize, cpus: &[usize]) -> f64 {
        let owner = PerCpuArc::new(7u64);
        let shared = Arc::new(7u64);
        let pool = PerCpuPool::new();
        let pool_counter = pool.counter();
        let counter = PerCpuCounter::new();
        let atomic = AtomicU64::new(0);
        let start = Barrier::new(threads);
        let spent: Duration = std::thread::scope(|s| {
            let workers: Vec<_> = (0..threads)
                .map(|t| {
                    let cpu = cpus.get(t % cpus.len().max(1)).copied();
                    let (owner, shared, start) = (&owner, &shared, &start);
                    let (pool_counter, counter, atomic) = (&pool_counter, &counter, &atomic);
                    s.spawn(move || {
                        if let Some(cpu) = cpu {
                            pin(cpu);
                        }
                        let _ = rseq_dsl::current_cpu(); // registers before the clock
                        start.wait();
                        let before = thread_cpu_time();
                        match subject {
                            Subject::PerCpuRef => {
                                for _ in 0..OPS {
                                    black_box(owner.get());
                                }
                            }
                            Subject::SharedArc => {
                                for _ in 0..OPS {
                                    black_box(Arc::clone(shared));
                                }
                            }
                            Subject::PoolCounter => (0..OPS).for_each(|_| pool_counter.add(1)),
                            Subject::PerCpuCounter => (0..OPS).for_each(|_| counter.add(1)),
                            Subject::SharedAtomic => (0..OPS).for_each(|_| {
                                atomic.fetch_add(1, Ordering::Relaxed);
                            }),
                        }
                        thread_cpu_time() - before
                    })
                })
                .collect();
            workers.into_iter().map(|w| w.join().expect("worker")).sum()
        });
        let total = threads as u64 * OPS;
        match subject {
            Subject::PerCpuRef => assert_eq!(owner.handles(), 0),
            Subject::SharedArc => assert_eq!(Arc::strong_count(&shared), 1),
            Subject::PoolCounter => assert_eq!(pool_counter.sum(), total),
            Subject::PerCpuCounter => assert_eq!(counter.sum(), total),
            Subject::SharedAtomic => assert_eq!(atomic.load(Ordering::Relaxed), total),
        }
        spent.as_nanos() as f64 / total as f64
    }

    fn median(mut values: Vec<f64>) -> f64 {
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    }

    /// Median ns per operation of each subject at each thread count, interleaved.
    fn measure(subjects: &[Subject], cpus: &[usize]) -> Vec<(usize, Vec<f64>)> {
        THREADS
            .iter()
            .map(|&threads| {
                let mut samples = vec![Vec::new(); subjects.len()];
                for _ in 0..ROUNDS {
                    for (i, &subject) in subjects.iter().enumerate() {
                        samples[i].push(round(subject, threads, cpus));
                    }
                }
                (threads, samples.into_iter().map(median).collect())
            })
            .collect()
    }

    fn speed_table(
        title: &str,
        subjects: &[Subject],
        rows: &[(usize, Vec<f64>)],
        cpus: usize,
    ) -> String {
        let mut t = format!("{title}\n\n| threads ({cpus} CPUs) |");
        for s in subjects {
            t += &format!(" {} |", s.name());
        }
        for s in &subjects[1..] {
            t += &format!(" {} / {} |", s.name(), subjects[0].name());
        }
        t += "\n|---|";
        t += &"---|".repeat(2 * subjects.len() - 1);
        t += "\n";
        for (threads, ns) in rows {
            t += &format!("| {threads} |");
            for v in ns {
                t += &format!(" {v:.2} ns |");
            }
            for v in &ns[1..] {
                t += &format!(" {:.1}x |", v / ns[0]);
            }
            t += "\n";
        }
        t
    }

    /// Resident bytes of this process.
    fn rss() -> usize {
        let statm = std::fs::read_to_string("/proc/self/statm").expect("/proc/self/statm");
        let pages: usize = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
        // SAFETY: sysconf has no preconditions.
        pages * unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize
    }

    /// One memory measurement, in this (fresh) process: prints `bytes mapped`.
    fn memory_child(kind: &str, every_cpu: bool) {
        let cpus = allowed_cpus();
        let touchers: Vec<usize> = if every_cpu {
            cpus.clone()
        } else {
            cpus[..1].to_vec()
        };
        let before = rss();
        let mapped = match kind {
            "pool" => {
                let pool = PerCpuPool::new();
                let counters: Vec<_> = (0..COUNTERS).map(|_| pool.counter()).collect();
                std::thread::scope(|s| {
                    for &cpu in &touchers {
                        let counters = &counters;
                        s.spawn(move || {
                            pin(cpu);
                            counters.iter().for_each(|c| c.add(1));
                        });
                    }
                });
                let sum: u64 = counters.iter().map(|c| c.sum()).sum();
                assert_eq!(sum, (COUNTERS * touchers.len()) as u64);
                std::mem::forget(counters);
                pool.mapped_bytes()
            }
            "percpu_u64" => {
                let slots: Vec<PerCpu<AtomicU64>> = (0..COUNTERS)
                    .map(|_| PerCpu::new(|_| AtomicU64::new(0)))
                    .collect();
                std::thread::scope(|s| {
                    for &cpu in &touchers {
                        let slots = &slots;
                        s.spawn(move || {
                            pin(cpu);
                            slots.iter().for_each(|p| {
                                p.current().fetch_add(1, Ordering::Relaxed);
                            });
                        });
                    }
                });
                std::mem::forget(slots);
                COUNTERS * PerCpu::<u64>::STRIDE * rseq_dsl::possible_cpus()
            }
            "percpu_counter" => {
                let counters: Vec<_> = (0..COUNTERS).map(|_| PerCpuCounter::new()).collect();
                std::thread::scope(|s| {
                    for &cpu in &touchers {
                        let counters = &counters;
                        s.spawn(move || {
                            pin(cpu);
                            counters.iter().for_each(|c| c.add(1));
                        });
                    }
                });
                std::mem::forget(counters);
                COUNTERS * 128 * rseq_dsl::possible_cpus()
            }
            other => panic!("unknown memory kind {other}"),
        };
        println!("{} {mapped}", rss() - before);
    }

    fn memory_table() -> String {
        let cpus = allowed_cpus().len();
        let possible = rseq_dsl::possible_cpus();
        let mut t = format!(
            "Memory of {COUNTERS} counters ({possible} possible CPUs, {cpus} allowed): resident memory \
             the process gained (`/proc/self/statm`, each cell a fresh process) after making them \
             and adding 1 to each from the CPUs named; \"allocated\" is the address space the \
             counters take (the pool's mappings; the padded slots' heap).\n\n\
             | counters | added from | resident | per counter | allocated |\n|---|---|---|---|---|\n"
        );
        for (kind, name) in [
            ("pool", "PoolCounter (PerCpuPool)"),
            ("percpu_u64", "PerCpu<AtomicU64>"),
            ("percpu_counter", "PerCpuCounter"),
        ] {
            for every in [false, true] {
                let out = std::process::Command::new(std::env::current_exe().unwrap())
                    .args(["--memory-child", kind, if every { "all" } else { "one" }])
                    .output()
                    .expect("run the memory child");
                let stdout = String::from_utf8_lossy(&out.stdout);
                assert!(
                    out.status.success(),
                    "memory child {kind}: {stdout}{}",
                    String::from_utf8_lossy(&out.stderr)
                );
                let mut words = stdout.split_whitespace();
                let resident: usize = words.next().unwrap().parse().unwrap();
                let mapped: usize = words.next().unwrap().parse().unwrap();
                t += &format!(
                    "| {name} | {} | {:.1} MiB | {} bytes | {:.1} MiB |\n",
                    if every {
                        format!("every CPU ({cpus})")
                    } else {
                        "one CPU".into()
                    },
                    resident as f64 / (1 << 20) as f64,
                    resident / COUNTERS,
                    mapped as f64 / (1 << 20) as f64,
                );
            }
        }
        t
    }

    pub fn main() {
        let args: Vec<String> = std::env::args().collect();
        if let Some(i) = args.iter().position(|a| a == "--memory-child") {
            memory_child(&args[i + 1], args[i + 2] == "all");
            return;
        }
        let write = args.iter().skip_while(|a| *a != "--write").nth(1).cloned();
        if Path::current() != Path::Rseq {
            println!(
                "skipped: refpool bench: rseq is unavailable here, nothing per CPU to compare"
            );
            return;
        }
        let cpus = allowed_cpus();
        let refs = [Subject::PerCpuRef, Subject::SharedArc];
        let adds = [
            Subject::PoolCounter,
            Subject::PerCpuCounter,
            Subject::SharedAtomic,
        ];
        let ref_rows = measure(&refs, &cpus);
        let ref_table = speed_table(
            "Reference get+drop (ns per get+drop, thread CPU time; the ratio: how many times \
             longer the alternative takes)",
            &refs,
            &ref_rows,
            cpus.len(),
        );
        println!("{ref_table}");
        let add_rows = measure(&adds, &cpus);
        let add_table = speed_table(
            "Counter adds (ns per add, thread CPU time)",
            &adds,
            &add_rows,
            cpus.len(),
        );
        println!("{add_table}");
        let mem = memory_table();
        print!("{mem}");
        if let Some(path) = write {
            let doc = format!(
                "# The per-CPU reference count and pools, measured\n\n\
                 Written by `cargo bench --bench refpool -- --write {path}` from one run \
                 ({OPS} operations per thread per round, the median of {ROUNDS} interleaved \
                 rounds, thread CPU time per operation summed over the threads, each thread \
                 pinned to its own CPU while there are enough; every round checked its count). \
                 Ratios are the result: absolute times move with the shared machine.\n\n\
                 {ref_table}\n{add_table}\n{mem}"
            );
            std::fs::write(&path, doc).expect("write the tables");
            println!("wrote {path}");
        }
    }
}
