//! The per-CPU building blocks under load: more threads than CPUs, a thread that signals
//! every worker continuously, exact results, and (with the `stats` feature) aborts > 0 so
//! that the restart paths are known to have run. A re-executed child where seccomp makes
//! `rseq` fail with ENOSYS runs the same workloads on the fallback paths.

// The seccomp child: only where rseq could be on (an rseq backend) is there a need for it.
#[cfg(rseq_dsl_sections)]
#[path = "../runtime/tests/support/seccomp.rs"]
mod seccomp;

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::Duration;

use rseq_dsl::{possible_cpus, stats, Path, PerCpuBuffer, PerCpuCounter, PerCpuLock, PerCpuStack};

/// Workers: three per possible CPU, at least 4.
fn threads() -> usize {
    (3 * possible_cpus()).clamp(4, 48)
}

#[cfg(target_os = "linux")]
extern "C" fn on_signal(_: libc::c_int) {}

/// Aborts the workers of a run should see before they may stop early.
const TARGET_ABORTS: u64 = 20;
/// A run stops at this age if it has seen at least one abort...
const TIME_LIMIT: Duration = Duration::from_secs(2);
/// ...and at this age in any case.
const HARD_LIMIT: Duration = Duration::from_secs(10);

/// What a worker sees: its number and when to stop.
struct Worker {
    index: usize,
    stop: Arc<AtomicBool>,
    /// Aborts of all workers of the run, published every 256 operations.
    aborts: Arc<AtomicU64>,
    published: std::cell::Cell<u64>,
}

impl Worker {
    /// Whether to do operation `i`: always below `min`, then until the run has seen enough
    /// aborts (only with `stats` and rseq; otherwise exactly `min` operations).
    fn go(&self, i: u64, min: u64) -> bool {
        if i.is_multiple_of(256) {
            let seen = stats::thread_aborts();
            self.aborts
                .fetch_add(seen - self.published.replace(seen), Ordering::Relaxed);
        }
        i < min || !self.stop.load(Ordering::Relaxed)
    }
}

/// The calling thread's id for `tgkill` (Linux); elsewhere a placeholder that nothing
/// signals.
#[cfg(target_os = "linux")]
fn thread_id() -> i32 {
    // SAFETY: gettid has no preconditions.
    unsafe { libc::gettid() }
}
#[cfg(not(target_os = "linux"))]
fn thread_id() -> i32 {
    1
}

/// Signals every running worker (SIGUSR1 through tgkill, whose handler does nothing) as
/// fast as it can until `done`; returns the signals sent.
#[cfg(target_os = "linux")]
fn signal_workers(tids: &[AtomicI32], done: &AtomicBool) -> u64 {
    // SAFETY: a handler that does nothing; SA_RESTART keeps syscalls in the workers going.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
        action.sa_flags = libc::SA_RESTART;
        libc::sigaction(libc::SIGUSR1, &action, std::ptr::null_mut());
    }
    // SAFETY: getpid has no preconditions.
    let pid = unsafe { libc::getpid() };
    let mut sent = 0u64;
    while !done.load(Ordering::Acquire) {
        for tid in tids.iter() {
            let tid = tid.load(Ordering::Acquire);
            if tid > 0 {
                // SAFETY: SIGUSR1's handler does nothing, process-wide: a stale tid
                // (ESRCH) or one reused by another thread of the process is harmless.
                unsafe { libc::syscall(libc::SYS_tgkill, pid, tid, libc::SIGUSR1) };
                sent += 1;
            }
        }
    }
    sent
}

/// No `tgkill` outside Linux: the workers run without the storm there.
#[cfg(not(target_os = "linux"))]
fn signal_workers(_: &[AtomicI32], _: &AtomicBool) -> u64 {
    0
}

/// Runs `work` on `threads` workers while another thread signals each of them (SIGUSR1,
/// tgkill; Linux only, elsewhere the workers run alone) as fast as it can; returns each
/// worker's result and the aborts the workers saw (their `stats::thread_aborts()`, 0
/// without `stats`).
fn storm<R: Send + 'static>(
    threads: usize,
    work: impl Fn(&Worker) -> R + Send + Sync + 'static,
) -> (Vec<R>, u64) {
    let work = Arc::new(work);
    let tids: Arc<Vec<AtomicI32>> = Arc::new((0..threads).map(|_| AtomicI32::new(0)).collect());
    let done = Arc::new(AtomicBool::new(false));
    let stop = Arc::new(AtomicBool::new(
        !stats::ENABLED || Path::current() == Path::Fallback,
    ));
    let start = Arc::new(Barrier::new(threads + 1));
    let run_aborts = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..threads)
        .map(|index| {
            let (work, tids, start) = (work.clone(), tids.clone(), start.clone());
            let run_aborts = run_aborts.clone();
            let stop = stop.clone();
            std::thread::spawn(move || {
                let worker = Worker {
                    index,
                    stop,
                    aborts: run_aborts,
                    published: std::cell::Cell::new(stats::thread_aborts()),
                };
                tids[index].store(thread_id(), Ordering::Release);
                start.wait();
                let before = stats::thread_aborts();
                let r = work(&worker);
                let aborts = stats::thread_aborts() - before;
                tids[index].store(0, Ordering::Release);
                (r, aborts)
            })
        })
        .collect();
    let signaller = {
        let (tids, done) = (tids.clone(), done.clone());
        std::thread::spawn(move || signal_workers(&tids, &done))
    };
    start.wait();
    let began = std::time::Instant::now();
    while !stop.load(Ordering::Relaxed) && !workers.iter().all(|w| w.is_finished()) {
        std::thread::sleep(Duration::from_millis(2));
        let (aborts, age) = (run_aborts.load(Ordering::Relaxed), began.elapsed());
        if aborts >= TARGET_ABORTS || (age > TIME_LIMIT && aborts > 0) || age > HARD_LIMIT {
            stop.store(true, Ordering::Relaxed);
        }
    }
    stop.store(true, Ordering::Relaxed);
    let mut results = Vec::new();
    let mut aborts = 0;
    for w in workers {
        let (r, a) = w.join().expect("worker panicked");
        results.push(r);
        aborts += a;
    }
    done.store(true, Ordering::Release);
    let sent = signaller.join().expect("signaller panicked");
    println!("{threads} workers, {sent} signals, {aborts} aborts");
    (results, aborts)
}

/// With `stats` and rseq, the restart path must have run.
fn require_aborts(what: &str, aborts: u64) {
    if stats::ENABLED && Path::current() == Path::Rseq {
        assert!(
            aborts > 0,
            "{what}: no abort seen, the restart path did not run"
        );
    }
}

/// A unique item number for operation `i` of worker `w`.
fn item(w: &Worker, i: u64) -> u64 {
    ((w.index as u64) << 40) | i
}

fn counter_exact() {
    const MIN: u64 = 200_000;
    let c = Arc::new(PerCpuCounter::new());
    let (ops, aborts) = storm(threads(), {
        let c = c.clone();
        move |w| {
            let mut i = 0;
            while w.go(i, MIN) {
                c.add(1);
                i += 1;
            }
            i
        }
    });
    assert_eq!(c.sum(), ops.iter().sum::<u64>());
    require_aborts("counter", aborts);
}

#[test]
fn counter_is_exact_under_a_signal_storm() {
    counter_exact();
}

/// Every pushed item came out exactly once.
fn assert_conserved(what: &str, pushed: u64, seen: &[u64]) {
    let unique: HashSet<u64> = seen.iter().copied().collect();
    assert_eq!(unique.len(), seen.len(), "{what}: an item came out twice");
    assert_eq!(seen.len() as u64, pushed, "{what}: items were lost");
}

fn stack_exact() {
    const MIN: u64 = 50_000;
    let s = Arc::new(PerCpuStack::new());
    let (results, aborts) = storm(threads(), {
        let s = s.clone();
        move |w| {
            let (mut popped, mut i) = (Vec::new(), 0);
            while w.go(i, MIN) {
                s.push(item(w, i));
                if i % 2 == 1 {
                    popped.extend(s.pop());
                    popped.extend(s.pop());
                }
                i += 1;
            }
            (popped, i)
        }
    });
    let pushed = results.iter().map(|r| r.1).sum();
    let mut seen: Vec<u64> = results.into_iter().flat_map(|r| r.0).collect();
    let s = Arc::try_unwrap(s).expect("workers are done");
    match s.drain_all() {
        Ok(rest) => seen.extend(rest),
        // No fence here: nothing to compare with exactly; Drop frees the rest.
        Err(e) => return println!("stack: no drain ({e})"),
    }
    assert_conserved("stack", pushed, &seen);
    require_aborts("stack", aborts);
}

#[test]
fn stack_conserves_items_under_a_signal_storm() {
    stack_exact();
}

fn drain_exact() {
    const MIN: u64 = 40_000;
    let s = Arc::new(PerCpuStack::new());
    let workers_done = Arc::new(AtomicU64::new(0));
    let n = threads();
    let drainer = {
        let (s, workers_done) = (s.clone(), workers_done.clone());
        std::thread::spawn(move || {
            let (mut taken, mut drains) = (Vec::new(), 0u64);
            while workers_done.load(Ordering::Acquire) < n as u64 {
                taken.extend(s.drain_all()?);
                drains += 1;
                std::thread::sleep(Duration::from_micros(50));
            }
            Ok::<_, rseq_dsl::FenceError>((taken, drains))
        })
    };
    let (results, aborts) = storm(n, {
        let (s, workers_done) = (s.clone(), workers_done.clone());
        move |w| {
            let (mut popped, mut i) = (Vec::new(), 0);
            while w.go(i, MIN) {
                s.push(item(w, i));
                if i.is_multiple_of(4) {
                    popped.extend(s.pop());
                }
                i += 1;
            }
            workers_done.fetch_add(1, Ordering::Release);
            (popped, i)
        }
    });
    let (taken, drains) = match drainer.join().expect("drainer panicked") {
        Ok(drained) => drained,
        Err(e) => return println!("drain skipped: no membarrier rseq fence ({e})"),
    };
    let pushed = results.iter().map(|r| r.1).sum();
    let mut seen: Vec<u64> = results.into_iter().flat_map(|r| r.0).collect();
    let from_drains = taken.len();
    seen.extend(taken);
    seen.extend(s.drain_all().expect("the fence worked before"));
    println!("{drains} drains took {from_drains} items while the workers pushed");
    assert!(drains > 0);
    assert_conserved("stack with drains", pushed, &seen);
    require_aborts("stack with drains", aborts);
}

#[test]
fn drain_all_loses_and_duplicates_nothing_while_others_push() {
    drain_exact();
}

fn buffer_exact() {
    const MIN: u64 = 50_000;
    let b = Arc::new(PerCpuBuffer::new(32));
    let (results, aborts) = storm(threads(), {
        let b = b.clone();
        move |w| {
            let (mut out, mut refused, mut i) = (Vec::new(), 0u64, 0);
            while w.go(i, MIN) {
                if let Err(v) = b.push(item(w, i)) {
                    out.push(v);
                    refused += 1;
                }
                if i.is_multiple_of(3) {
                    out.extend(b.pop());
                }
                i += 1;
            }
            (out, refused, i)
        }
    });
    let refused: u64 = results.iter().map(|r| r.1).sum();
    let pushed = results.iter().map(|r| r.2).sum();
    let mut seen: Vec<u64> = results.into_iter().flat_map(|r| r.0).collect();
    let mut b = Arc::try_unwrap(b).expect("workers are done");
    seen.extend(b.take_all());
    println!("buffer: {refused} pushes refused (full)");
    assert_conserved("buffer", pushed, &seen);
    // On i686 the buffer's sections need more registers than `asm!` offers there (five):
    // they have no i686 form, and the buffer runs its fallback (`Reason::NoSection`).
    if !cfg!(target_arch = "x86") {
        require_aborts("buffer", aborts);
    }
}

#[test]
fn buffer_conserves_items_under_a_signal_storm() {
    buffer_exact();
}

/// `lock_cpu` claims another CPU's lock word with a compare-and-swap and a fence: a remote
/// write that the compare-twice instrumentation (`--cfg rseq_dsl_compare_twice`, which
/// assumes compared per-CPU values change only through sections on their CPU) reports as a
/// corrupted section and aborts on. Under that mode the lock is tested with local sections
/// only.
const REMOTE_LOCKING: bool = !cfg!(rseq_dsl_compare_twice);

fn lock_exact() {
    const MIN: u64 = 30_000;
    // Two words updated under the lock, with work in between: a race shows as a mismatch.
    let lock = Arc::new(PerCpuLock::new(|_| (0u64, 0u64)));
    let (ops, aborts) = storm(threads(), {
        let lock = lock.clone();
        move |w| {
            let mut i = 0;
            while w.go(i, MIN) {
                let mut g = if REMOTE_LOCKING && w.index == 0 && i.is_multiple_of(16) {
                    // One worker also locks other CPUs' values, from wherever it runs.
                    match lock.lock_cpu(i as usize / 16 % possible_cpus()) {
                        Ok(g) => g,
                        Err(_) => lock.lock(),
                    }
                } else {
                    lock.lock()
                };
                let a = g.0;
                std::hint::black_box(&mut *g);
                g.0 = a + 1;
                g.1 += 1;
                drop(g);
                i += 1;
            }
            i
        }
    });
    let values = Arc::try_unwrap(lock).expect("workers are done").into_vec();
    assert!(values.iter().all(|v| v.0 == v.1), "torn update: {values:?}");
    assert_eq!(
        values.iter().map(|v| v.0).sum::<u64>(),
        ops.iter().sum::<u64>()
    );
    require_aborts("lock", aborts);
}

#[test]
fn lock_is_exclusive_under_a_signal_storm() {
    lock_exact();
}

// ---- The same workloads where rseq is refused: the fallback paths. ----

const ROLE_VAR: &str = "RSEQ_DSL_PERCPU_CHILD";
#[cfg(rseq_dsl_sections)]
const CHILD_TEST: &str = "fallback_paths_are_exact_without_rseq";
const MARKER: &str = "fallback child: all workloads exact";

/// In a child where seccomp refuses rseq or, where rseq is off anyway (no rseq backend for
/// the target, an emulator, a sandbox), right here.
#[test]
fn fallback_paths_are_exact_without_rseq() {
    if std::env::var_os(ROLE_VAR).is_some() || Path::current() == Path::Fallback {
        assert_eq!(
            Path::current(),
            Path::Fallback,
            "the filter is not in force"
        );
        std::thread::spawn(|| assert_eq!(Path::current(), Path::Fallback))
            .join()
            .unwrap();
        counter_exact();
        stack_exact();
        drain_exact();
        buffer_exact();
        lock_exact();
        println!("{MARKER}");
        return;
    }
    fallback_in_a_child();
}

#[cfg(not(rseq_dsl_sections))]
fn fallback_in_a_child() {
    unreachable!("rseq sections ran on a target without an rseq backend");
}

#[cfg(rseq_dsl_sections)]
fn fallback_in_a_child() {
    let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", CHILD_TEST, "--nocapture", "--test-threads=1"])
        .env(ROLE_VAR, "1");
    seccomp::refuse_rseq_with_enosys(&mut cmd, rseq_dsl::abi::SYS_RSEQ);
    let out = cmd.output().expect("re-run the test binary");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "child failed: {}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains(MARKER), "the child did not run: {stdout}");
}
