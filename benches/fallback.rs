//! What a user gets where rseq is unavailable (another operating system, an architecture
//! without a backend, a sandbox): `PerCpuCounter::add` on its fallback path (atomic adds to
//! the slot of the CPU the operating system names) against one shared `AtomicU64`, and
//! against its own rseq path, side by side in one run. The fallback is forced on this host
//! by a seccomp filter that answers `rseq` with ENOSYS on the measuring threads (and the
//! check that they really took it: `Path::current()`).
//!
//! `cargo bench --bench fallback` prints the table; `-- --write docs/fallback-bench.md`
//! also writes it there. Costs are thread CPU time per add, summed over the threads (a
//! shared machine's lost time slices would dominate wall time); each cell is the median of
//! interleaved rounds. Every round checks the exact sum.

#[cfg(target_os = "linux")]
mod common;
#[cfg(target_os = "linux")]
#[path = "../runtime/tests/support/seccomp.rs"]
mod seccomp;

#[cfg(not(target_os = "linux"))]
fn main() {
    println!("skipped: fallback bench: it forces the fallback with a Linux seccomp filter");
}

#[cfg(target_os = "linux")]
fn main() {
    linux::main()
}

#[cfg(target_os = "linux")]
mod linux {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Arc, Barrier};
    use std::time::Duration;

    use rseq_dsl::{Path, PerCpuCounter};

    use crate::common::{allowed_cpus, pin, thread_cpu_time};
    use crate::seccomp::refuse_rseq_here;

    const ADDS: u64 = 2_000_000;
    const ROUNDS: usize = 7;

    #[derive(Clone, Copy, PartialEq)]
    enum Subject {
        CounterRseq,
        CounterFallback,
        SharedAtomic,
    }

    impl Subject {
        fn name(self) -> &'static str {
            match self {
                Subject::CounterRseq => "PerCpuCounter::add, rseq",
                Subject::CounterFallback => "PerCpuCounter::add, fallback (rseq refused)",
                Subject::SharedAtomic => "one shared AtomicU64::fetch_add",
            }
        }
    }

    /// One round: `threads` threads, each pinned to its own allowed CPU where there are
    /// enough, `ADDS` adds each; nanoseconds of thread CPU time per add.
    fn round(subject: Subject, threads: usize, cpus: &[usize]) -> f64 {
        let counter = Arc::new(PerCpuCounter::new());
        let shared = Arc::new(AtomicU64::new(0));
        let start = Arc::new(Barrier::new(threads));
        // The filter is inherited by threads created after it: a spawner thread installs
        // it, so that glibc's registration of the workers fails too, and the process's
        // other threads are untouched.
        let spawner = {
            let (counter, shared) = (counter.clone(), shared.clone());
            let cpus = cpus.to_vec();
            std::thread::spawn(move || {
                if subject == Subject::CounterFallback {
                    refuse_rseq_here(rseq_dsl::abi::SYS_RSEQ).expect("seccomp filter");
                }
                let workers: Vec<_> = (0..threads)
                    .map(|t| {
                        let (counter, shared, start) =
                            (counter.clone(), shared.clone(), start.clone());
                        let cpu = cpus.get(t % cpus.len().max(1)).copied();
                        std::thread::spawn(move || {
                            if let Some(cpu) = cpu {
                                pin(cpu);
                            }
                            let want = match subject {
                                Subject::CounterFallback => Path::Fallback,
                                _ => Path::Rseq,
                            };
                            if subject != Subject::SharedAtomic {
                                assert!(
                                    Path::current() == want,
                                    "{} took the other path",
                                    subject.name()
                                );
                            }
                            start.wait();
                            let before = thread_cpu_time();
                            for _ in 0..ADDS {
                                match subject {
                                    Subject::SharedAtomic => {
                                        shared.fetch_add(1, Ordering::Relaxed);
                                    }
                                    _ => counter.add(1),
                                }
                            }
                            thread_cpu_time() - before
                        })
                    })
                    .collect();
                workers
                    .into_iter()
                    .map(|w| w.join().expect("worker"))
                    .sum::<Duration>()
            })
        };
        let spent = spawner.join().expect("spawner");
        let total = threads as u64 * ADDS;
        let counted = match subject {
            Subject::SharedAtomic => shared.load(Ordering::Relaxed),
            _ => counter.sum(),
        };
        assert_eq!(counted, total, "{}: lost or extra adds", subject.name());
        spent.as_nanos() as f64 / total as f64
    }

    fn median(mut values: Vec<f64>) -> f64 {
        values.sort_by(f64::total_cmp);
        values[values.len() / 2]
    }

    /// glibc would abort a thread whose start-up registration the filter refuses (it does
    /// so once the main thread registered): the bench runs with glibc's registration off,
    /// re-executing itself, and the rseq path uses the runtime's own areas.
    fn without_glibc_registration() {
        const TUNABLE: &str = "glibc.pthread.rseq=0";
        if std::env::var("GLIBC_TUNABLES").is_ok_and(|t| t.contains(TUNABLE)) {
            return;
        }
        let status = std::process::Command::new(std::env::current_exe().expect("own path"))
            .args(std::env::args_os().skip(1))
            .env("GLIBC_TUNABLES", TUNABLE)
            .status()
            .expect("re-execute the bench");
        std::process::exit(status.code().unwrap_or(1));
    }

    pub fn main() {
        without_glibc_registration();
        let write = std::env::args().skip_while(|a| a != "--write").nth(1);
        if !rseq_dsl::is_available() {
            println!("skipped: fallback bench: rseq is unavailable here, so there is no rseq path to compare");
            return;
        }
        let cpus = allowed_cpus();
        let subjects = [
            Subject::CounterRseq,
            Subject::CounterFallback,
            Subject::SharedAtomic,
        ];
        let thread_counts = [1, cpus.len().max(1), 2 * cpus.len().max(1)];
        let mut rows = Vec::new();
        for &threads in &thread_counts {
            let mut samples = vec![Vec::new(); subjects.len()];
            for _ in 0..ROUNDS {
                // Interleaved, so that a slow phase of the machine hits every subject.
                for (i, &subject) in subjects.iter().enumerate() {
                    samples[i].push(round(subject, threads, &cpus));
                }
            }
            let ns: Vec<f64> = samples.into_iter().map(median).collect();
            rows.push((threads, ns));
        }
        let mut table = String::new();
        table.push_str(&format!(
            "| threads ({} CPUs) | {} | {} | {} | fallback / shared atomic | fallback / rseq |\n",
            cpus.len(),
            subjects[0].name(),
            subjects[1].name(),
            subjects[2].name()
        ));
        table.push_str("|---|---|---|---|---|---|\n");
        for (threads, ns) in &rows {
            table.push_str(&format!(
                "| {threads} | {:.2} ns | {:.2} ns | {:.2} ns | {:.2}x | {:.2}x |\n",
                ns[0],
                ns[1],
                ns[2],
                ns[1] / ns[2],
                ns[1] / ns[0]
            ));
        }
        print!("{table}");
        if let Some(path) = write {
            let doc = format!(
                "# The fallback path, measured\n\n\
                 Written by `cargo bench --bench fallback -- --write {path}` from one run \
                 ({ADDS} adds per thread, the median of {ROUNDS} interleaved rounds, thread \
                 CPU time per add summed over the threads, each thread pinned to its own CPU \
                 while there are enough; every round checked the exact sum). The fallback \
                 is what every target without rseq runs (macOS, Windows, FreeBSD, Linux \
                 architectures without a backend), forced here by a seccomp filter that \
                 refuses `rseq`. Ratios are the result: absolute times move with the shared \
                 machine. The last two columns are time ratios: below 1 the fallback is faster.\n\n{table}"
            );
            std::fs::write(&path, doc).expect("write the table");
            println!("wrote {path}");
        }
    }
}
