//! RseqAlloc without rseq: the binary re-runs itself in two children with glibc's
//! registration off (`GLIBC_TUNABLES=glibc.pthread.rseq=0`) and a seccomp filter that makes
//! `rseq` fail with ENOSYS:
//!
//! - `all`: the filter is installed before `exec`, so no thread of the child ever has rseq
//!   and every allocation goes to the depot;
//! - `mixed`: half the workers are made by a thread that installed the filter (they
//!   inherit it), the others register their own areas: blocks allocated on one path are
//!   freed on the other.
//!
//! Same checks as the global test: canaries, the wrapper's count against the statistics,
//! every carved object accounted for.
//!
//! Where rseq is unavailable to begin with (every target but Linux, a Linux architecture
//! without an rseq backend, qemu-user), `all` runs in this process and `mixed`, which needs
//! threads with rseq, says it was skipped. The children and their seccomp filter are built
//! where rseq can be available: a target with a backend (`cfg(rseq_dsl_sections)`).

mod common;

use std::time::{Duration, Instant};

use common::*;
use rseq_dsl_alloc::RseqAlloc;

const MODE: &str = "RSEQ_ALLOC_FALLBACK_CHILD";

fn main() {
    if std::env::var_os(MODE).is_none() && !rseq_dsl::is_available() {
        // Already without rseq (another OS, an architecture without a backend; qemu-user,
        // which has no seccomp filters and cannot exec the binary again): every thread is
        // on the fallback path as it is, so the first scenario runs here; nothing can be
        // mixed.
        let why = no_rseq_reason();
        println!("fallback: {why}: all threads on the fallback path in this process");
        all_threads_without_rseq();
        skipped(
            "fallback",
            "mixed",
            &format!("needs threads with rseq beside threads without it ({why})"),
        );
        return;
    }
    children::main();
}

fn all_threads_without_rseq() {
    assert!(
        !rseq_dsl::is_available(),
        "the filter should have refused rseq"
    );
    let start = Instant::now();
    let exchange = Exchange::new(2048);
    let ops = run_workers(&exchange, 4, Duration::from_millis(800), 3);
    exchange.drain();
    let stats = check_accounting("all without rseq");
    report("all without rseq", ops, &stats, start.elapsed());
    assert_eq!(
        stats.index, None,
        "no thread had rseq, yet caches were set up"
    );
    assert_eq!(stats.hits(), 0);
    assert!(stats.misses() > 0);
    assert_eq!(RseqAlloc.trim(), Ok(0));
}

/// Where rseq is available: the two children, made with a seccomp filter that refuses it.
#[cfg(all(rseq_dsl_sections, target_pointer_width = "64"))]
mod children {
    use std::os::unix::process::CommandExt;
    use std::process::Command;
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::Arc;
    use std::time::{Duration, Instant};

    use super::common::*;
    use super::{all_threads_without_rseq, MODE};
    use rseq_dsl_alloc::RseqAlloc;

    pub fn main() {
        match std::env::var(MODE).as_deref() {
            Ok("all") => all_threads_without_rseq(),
            Ok("mixed") => both_paths_mixed(),
            _ => {
                run_child("all", true);
                run_child("mixed", false);
                println!("fallback: both children passed");
            }
        }
    }

    fn run_child(mode: &str, deny_before_exec: bool) {
        let mut command = Command::new(std::env::current_exe().unwrap());
        command
            .env(MODE, mode)
            .env("GLIBC_TUNABLES", "glibc.pthread.rseq=0");
        if deny_before_exec {
            // SAFETY: deny_rseq allocates nothing and only makes two prctl calls, which is
            // what may run between fork and exec.
            unsafe {
                command.pre_exec(|| {
                    if deny_rseq() {
                        Ok(())
                    } else {
                        Err(std::io::Error::last_os_error())
                    }
                });
            }
        }
        let out = command.output().expect("run the child");
        print!("{}", String::from_utf8_lossy(&out.stdout));
        eprint!("{}", String::from_utf8_lossy(&out.stderr));
        assert!(
            out.status.success(),
            "the {mode} child failed: {}",
            out.status
        );
    }

    fn both_paths_mixed() {
        let start = Instant::now();
        let exchange = Exchange::new(2048);
        let deadline = Instant::now() + Duration::from_millis(1200);
        let without = Arc::new(AtomicU64::new(0));
        let work = move |t: u64, exchange: Arc<Exchange>| {
            let mut rng = Rng(t * 31 + 5);
            let mut ops = 0u64;
            while Instant::now() < deadline {
                (0..300).for_each(|_| exchange.op(&mut rng));
                own_blocks(&mut rng, 100);
                ops += 400;
            }
            ops
        };
        let mut workers: Vec<_> = (0..3u64)
            .map(|t| {
                let exchange = exchange.clone();
                std::thread::spawn(move || {
                    assert!(rseq_dsl::is_available());
                    work(t, exchange)
                })
            })
            .collect();
        // A thread registers on its first allocation, which std's thread start makes before
        // the thread's closure runs; so the threads without rseq are made by a thread that
        // installed the filter first: threads inherit their creator's filter.
        let spawner = {
            let (exchange, without) = (exchange.clone(), without.clone());
            std::thread::spawn(move || {
                // This thread registered at its start; unregister it first (the filter would
                // refuse the unregistration at its exit, which the runtime cannot survive).
                rseq_dsl::prepare_unload();
                assert!(deny_rseq());
                let threads: Vec<_> = (3..6u64)
                    .map(|t| {
                        let (exchange, without) = (exchange.clone(), without.clone());
                        std::thread::spawn(move || {
                            assert!(!rseq_dsl::is_available(), "the filter did not refuse rseq");
                            without.fetch_add(1, Ordering::Relaxed);
                            work(t, exchange)
                        })
                    })
                    .collect();
                threads.into_iter().map(|t| t.join().unwrap()).sum::<u64>()
            })
        };
        workers.push(spawner);
        let ops: u64 = workers.into_iter().map(|w| w.join().unwrap()).sum();
        exchange.drain();
        let stats = check_accounting("mixed");
        report("mixed", ops, &stats, start.elapsed());
        assert_eq!(without.load(Ordering::Relaxed), 3);
        assert!(stats.index.is_some());
        assert!(stats.hits() > 0, "the rseq threads never hit a cache");
        let depot_served: u64 = stats.misses();
        assert!(
            depot_served > 10_000,
            "the threads without rseq barely allocated: {depot_served}"
        );
        if let Err(e) = RseqAlloc.trim() {
            println!("mixed: trim refused ({e})");
        } else {
            assert_eq!(RseqAlloc.stats().cached_bytes, 0);
        }
        check_accounting("mixed, trimmed");
    }
}

/// Where rseq is available off the Linux architectures the filter is built for (none
/// today): nothing can refuse it.
#[cfg(not(all(rseq_dsl_sections, target_pointer_width = "64")))]
mod children {
    use super::common::skipped;

    pub fn main() {
        let why = "the children refuse rseq with a seccomp filter, built for Linux on x86_64, \
                   aarch64 and riscv64 only";
        skipped("fallback", "all", why);
        skipped("fallback", "mixed", why);
    }
}
