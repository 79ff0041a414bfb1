//! `PerCpuRwLock` under load: more threads than CPUs, a thread that signals every worker
//! continuously (whose handler reads the lock with `try_read`), workers that move between
//! CPUs while they hold read guards, a writer every few dozen microseconds. A writer never
//! sees a reader inside, readers never see a torn write (four words that must stay equal),
//! the value counts every write exactly, and (with `stats` and rseq) aborts > 0. Children
//! re-executed with rseq refused by seccomp run the same load on the fallback path, mixed
//! with threads on sections in one child and alone in another. Fork while a reader (or a
//! writer) holds the lock: what the child sees.
//!
//! `scripts/instrumented.sh cargo test --features stats --test rwlock` adds delay
//! injection (the sections' windows widened) and compare-twice.

// The seccomp children: only where rseq could be on (an rseq backend) is there a need.
#[cfg(all(rseq_dsl_sections, target_pointer_width = "64"))]
#[path = "../runtime/tests/support/seccomp.rs"]
mod seccomp;

#[cfg(target_os = "linux")]
#[path = "../runtime/tests/support/affinity.rs"]
mod affinity;

use std::sync::atomic::{AtomicBool, AtomicI32, AtomicPtr, AtomicU64, Ordering};
use std::sync::{Arc, Barrier};
use std::time::{Duration, Instant};

use rseq_dsl::{possible_cpus, stats, Path, PerCpuRwLock};

/// Four words a writer increments one at a time: a reader that sees them differ saw a
/// write in progress.
type Words = [u64; 4];

/// What the workers, the writer and the signal handler share. Leaked: the handler may
/// still run on a late signal after a run is over.
struct Shared {
    lock: PerCpuRwLock<Words>,
    /// Readers between their lock and their unlock (relaxed: the lock orders it).
    inside: AtomicU64,
    /// A writer found `inside` non-zero.
    overlaps: AtomicU64,
    /// A reader (or handler) found the words unequal, or changing under its guard.
    torn: AtomicU64,
    writes: AtomicU64,
    handler_reads: AtomicU64,
    stop: AtomicBool,
    aborts: AtomicU64,
}

/// The run whose lock the signal handler reads.
static CURRENT: AtomicPtr<Shared> = AtomicPtr::new(std::ptr::null_mut());

fn all_equal(w: &Words) -> bool {
    w.iter().all(|v| *v == w[0])
}

/// The handler: `try_read` (async-signal-safe), check, drop, all without allocating.
#[cfg(target_os = "linux")]
extern "C" fn on_signal(_: libc::c_int) {
    let shared = CURRENT.load(Ordering::Acquire);
    if shared.is_null() {
        return;
    }
    // SAFETY: every Shared published in CURRENT is leaked, so it lives for ever.
    let shared = unsafe { &*shared };
    if let Some(g) = shared.lock.try_read() {
        if !all_equal(&g) {
            shared.torn.fetch_add(1, Ordering::Relaxed);
        }
        shared.handler_reads.fetch_add(1, Ordering::Relaxed);
    }
}

#[cfg(target_os = "linux")]
fn thread_id() -> i32 {
    // SAFETY: gettid has no preconditions.
    unsafe { libc::gettid() }
}
#[cfg(not(target_os = "linux"))]
fn thread_id() -> i32 {
    0
}

/// Signals every running worker (SIGUSR1 through tgkill) as fast as it can until `done`.
#[cfg(target_os = "linux")]
fn signal_workers(tids: &[AtomicI32], done: &AtomicBool) -> u64 {
    // SAFETY: the handler reads a leaked lock with try_read, allocating nothing.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
        action.sa_flags = libc::SA_RESTART;
        libc::sigaction(libc::SIGUSR1, &action, std::ptr::null_mut());
    }
    // SAFETY: getpid has no preconditions.
    let pid = unsafe { libc::getpid() };
    let mut sent = 0;
    while !done.load(Ordering::Acquire) {
        for tid in tids {
            let tid = tid.load(Ordering::Acquire);
            if tid > 0 {
                // SAFETY: SIGUSR1's handler is the one above, process-wide; a stale tid is
                // harmless.
                unsafe { libc::syscall(libc::SYS_tgkill, pid, tid, libc::SIGUSR1) };
                sent += 1;
            }
        }
        std::thread::sleep(Duration::from_micros(20));
    }
    sent
}
#[cfg(not(target_os = "linux"))]
fn signal_workers(_: &[AtomicI32], _: &AtomicBool) -> u64 {
    0
}

/// Moves the calling thread to the next of its allowed CPUs (Linux).
#[cfg(target_os = "linux")]
fn migrate(step: usize) {
    let cpus = affinity::allowed_cpus();
    if cpus.len() > 1 {
        affinity::pin_to(&[cpus[step % cpus.len()]]);
    }
}
#[cfg(not(target_os = "linux"))]
fn migrate(_: usize) {}

/// The slow-down of delay injection, where the build has it: widens every section.
fn inject_delays() {
    #[cfg(rseq_dsl_delay_injection)]
    {
        rseq_dsl::inject::set_delay(4, 300);
        rseq_dsl::inject::set_delay(6, 300);
    }
}

/// How each worker reads: on sections (where its thread has rseq) or refused rseq by a
/// seccomp filter (spawned from a thread that installed it).
#[derive(Clone, Copy, PartialEq, Debug)]
enum Mix {
    /// Every worker as the process is.
    Same,
    /// Odd workers refused rseq (needs glibc's registration off: see `fallback_child`).
    OddRefused,
}

/// The result of a run: reads, writes, aborts.
#[derive(Debug)]
struct Run {
    reads: u64,
    writes: u64,
    aborts: u64,
    handler_reads: u64,
    signals: u64,
}

/// The storm: `threads()` readers (migrating while they hold guards), one writer every
/// ~50 µs, a signaller; until 100 aborts after 300 ms, or 4 s (20 s while no counted
/// section has aborted). Panics on any violation.
fn storm(mix: Mix) -> Run {
    inject_delays();
    let n = (3 * possible_cpus()).clamp(4, 48);
    let shared: &'static Shared = Box::leak(Box::new(Shared {
        lock: PerCpuRwLock::new([0; 4]),
        inside: AtomicU64::new(0),
        overlaps: AtomicU64::new(0),
        torn: AtomicU64::new(0),
        writes: AtomicU64::new(0),
        handler_reads: AtomicU64::new(0),
        stop: AtomicBool::new(false),
        aborts: AtomicU64::new(0),
    }));
    CURRENT.store(shared as *const Shared as *mut Shared, Ordering::Release);
    let tids: Arc<Vec<AtomicI32>> = Arc::new((0..n).map(|_| AtomicI32::new(0)).collect());
    let start = Arc::new(Barrier::new(n + 2));
    let reader = move |index: usize, tids: Arc<Vec<AtomicI32>>, start: Arc<Barrier>| {
        let want = if mix == Mix::OddRefused && index % 2 == 1 {
            Path::Fallback
        } else {
            Path::current()
        };
        assert_eq!(Path::current(), want, "worker {index} took the other path");
        tids[index].store(thread_id(), Ordering::Release);
        start.wait();
        let before = stats::thread_aborts();
        let (mut reads, mut published) = (0u64, before);
        while !shared.stop.load(Ordering::Relaxed) || reads < 2_000 {
            let g = shared.lock.read();
            shared.inside.fetch_add(1, Ordering::Relaxed);
            let first = *g;
            if !all_equal(&first) {
                shared.torn.fetch_add(1, Ordering::Relaxed);
            }
            if reads % 512 == 0 {
                // Held across a migration, dropped on another CPU.
                migrate(index + reads as usize / 512);
            }
            for _ in 0..20 {
                core::hint::spin_loop();
            }
            if *std::hint::black_box(&*g) != first {
                shared.torn.fetch_add(1, Ordering::Relaxed);
            }
            shared.inside.fetch_sub(1, Ordering::Relaxed);
            drop(g);
            reads += 1;
            if reads % 256 == 0 {
                let now = stats::thread_aborts();
                shared.aborts.fetch_add(now - published, Ordering::Relaxed);
                published = now;
            }
        }
        tids[index].store(0, Ordering::Release);
        (reads, stats::thread_aborts() - before)
    };
    let mut workers = Vec::new();
    let mut refused = Vec::new();
    for index in 0..n {
        let (tids, start) = (tids.clone(), start.clone());
        if mix == Mix::OddRefused && index % 2 == 1 {
            refused.push((index, tids, start));
        } else {
            workers.push(std::thread::spawn(move || reader(index, tids, start)));
        }
    }
    // The filter is inherited by threads created after it: a spawner installs it.
    let spawner = (!refused.is_empty()).then(|| {
        std::thread::spawn(move || {
            refuse_rseq_on_this_thread();
            refused
                .into_iter()
                .map(|(index, tids, start)| std::thread::spawn(move || reader(index, tids, start)))
                .collect::<Vec<_>>()
        })
    });
    if let Some(s) = spawner {
        workers.extend(s.join().expect("spawner"));
    }
    let writer = {
        let start = start.clone();
        std::thread::spawn(move || {
            start.wait();
            while !shared.stop.load(Ordering::Relaxed) {
                let mut w = shared.lock.write();
                if shared.inside.load(Ordering::Relaxed) != 0 {
                    shared.overlaps.fetch_add(1, Ordering::Relaxed);
                }
                for k in 0..4 {
                    w[k] += 1;
                    std::hint::black_box(&mut *w);
                }
                drop(w);
                shared.writes.fetch_add(1, Ordering::Relaxed);
                std::thread::sleep(Duration::from_micros(50));
            }
        })
    };
    let done = Arc::new(AtomicBool::new(false));
    let signaller = {
        let (tids, done) = (tids.clone(), done.clone());
        std::thread::spawn(move || signal_workers(&tids, &done))
    };
    start.wait();
    let began = Instant::now();
    // Where sections run and are counted, the storm goes on past 4 s until one has
    // aborted (up to 20 s): on a loaded machine the signaller and the readers may get
    // little CPU, and require_aborts then fails only if the restart path truly never ran.
    let wants_an_abort = stats::ENABLED && Path::current() == Path::Rseq;
    loop {
        std::thread::sleep(Duration::from_millis(5));
        let age = began.elapsed();
        let aborts = shared.aborts.load(Ordering::Relaxed);
        if (age > Duration::from_millis(300) && aborts >= 100)
            || (age > Duration::from_secs(4) && (aborts > 0 || !wants_an_abort))
            || age > Duration::from_secs(20)
            || workers.iter().all(|w| w.is_finished())
        {
            break;
        }
    }
    shared.stop.store(true, Ordering::Relaxed);
    let (mut reads, mut aborts) = (0, 0);
    for w in workers {
        let (r, a) = w.join().expect("reader panicked");
        reads += r;
        aborts += a;
    }
    writer.join().expect("writer panicked");
    done.store(true, Ordering::Release);
    let signals = signaller.join().expect("signaller panicked");
    let writes = shared.writes.load(Ordering::Relaxed);
    let run = Run {
        reads,
        writes,
        aborts,
        handler_reads: shared.handler_reads.load(Ordering::Relaxed),
        signals,
    };
    println!("{mix:?}: {run:?}");
    assert_eq!(
        shared.overlaps.load(Ordering::Relaxed),
        0,
        "a writer saw a reader inside"
    );
    assert_eq!(
        shared.torn.load(Ordering::Relaxed),
        0,
        "a reader saw a torn write"
    );
    let last = *shared.lock.read();
    assert_eq!(last, [writes; 4], "lost or extra writes");
    assert!(writes > 0 && reads > 0);
    // Every guard was dropped: a writer gets in at once.
    assert!(
        shared.lock.try_write().is_some(),
        "a read guard was left counted"
    );
    run
}

/// With `stats`, where the sections ran, the restart path must have run.
fn require_aborts(run: &Run) {
    if stats::ENABLED && Path::current() == Path::Rseq {
        assert!(
            run.aborts > 0,
            "no abort: the restart path did not run: {run:?}"
        );
    }
}

#[test]
fn writers_exclude_readers_and_reads_are_never_torn_under_a_storm() {
    let run = storm(Mix::Same);
    assert!(run.reads > run.writes && run.writes > 0, "{run:?}");
    require_aborts(&run);
    if cfg!(target_os = "linux") {
        assert!(run.signals > 0);
        // try_read in the handler: it gets in whenever no writer is there.
        assert!(
            run.handler_reads > 0,
            "no read in a signal handler: {run:?}"
        );
    }
}

#[cfg(all(rseq_dsl_sections, target_pointer_width = "64"))]
fn refuse_rseq_on_this_thread() {
    seccomp::refuse_rseq_here(rseq_dsl::abi::SYS_RSEQ).expect("seccomp filter");
}
#[cfg(not(all(rseq_dsl_sections, target_pointer_width = "64")))]
fn refuse_rseq_on_this_thread() {
    // No backend: rseq is off on every thread anyway.
}

/// A guard taken on one CPU and dropped on each of the others in turn: a writer stays out
/// until it is dropped, then gets in.
#[cfg(target_os = "linux")]
#[test]
fn a_read_guard_holds_across_migrations() {
    let lock = Arc::new(PerCpuRwLock::new(1u32));
    let cpus = affinity::allowed_cpus();
    let mut seen = std::collections::HashSet::new();
    let g = lock.read();
    for &cpu in &cpus {
        affinity::pin_to(&[cpu]);
        seen.insert(rseq_dsl::current_cpu());
        let lock = lock.clone();
        assert!(std::thread::spawn(move || lock.try_write().is_none())
            .join()
            .unwrap());
        assert_eq!(*g, 1);
    }
    drop(g);
    affinity::pin_to(&cpus);
    println!("guard held on {} CPUs", seen.len());
    *lock
        .try_write()
        .expect("the guard was released on another CPU") += 1;
    assert_eq!(*lock.read(), 2);
}

/// A read guard sent to another thread and dropped there.
#[test]
fn a_read_guard_may_be_dropped_on_another_thread() {
    let lock = PerCpuRwLock::new(7u8);
    std::thread::scope(|s| {
        let g = lock.read();
        s.spawn(move || assert_eq!(*g, 7)).join().unwrap();
    });
    assert!(lock.try_write().is_some());
}

/// A blocked writer waits for a reader, and a reader arriving meanwhile waits for it.
#[test]
fn writers_are_preferred() {
    let lock = Arc::new(PerCpuRwLock::new(0u32));
    let g = lock.read();
    let writer = {
        let lock = lock.clone();
        std::thread::spawn(move || *lock.write() += 1)
    };
    // Wait until the writer has set its word: a new reader is refused from then on.
    let began = Instant::now();
    while lock.try_read().is_some() {
        assert!(
            began.elapsed() < Duration::from_secs(10),
            "the writer never came"
        );
        std::thread::yield_now();
    }
    let reader = {
        let lock = lock.clone();
        std::thread::spawn(move || *lock.read())
    };
    std::thread::sleep(Duration::from_millis(20));
    assert!(!writer.is_finished() && !reader.is_finished());
    drop(g);
    writer.join().unwrap();
    assert_eq!(
        reader.join().unwrap(),
        1,
        "the reader got in before the waiting writer"
    );
}

// ---- Fork while a reader or a writer holds the lock ----

/// What the child sees, as exit-status bits (nothing that allocates or locks in the child).
#[cfg(target_os = "linux")]
fn in_child(lock: &PerCpuRwLock<u64>, expect_read: bool) -> ! {
    let mut status = 0;
    match lock.try_read() {
        Some(g) if expect_read && *g == 5 => {}
        None if !expect_read => {}
        _ => status |= 1,
    }
    // The count of the parent's reader (or the writer word) stays: no writer gets in.
    if lock.try_write().is_some() {
        status |= 2;
    }
    if lock.try_write().is_some() {
        status |= 4;
    }
    // SAFETY: _exit ends the child without running the parent's atexit handlers.
    unsafe { libc::_exit(status) }
}

#[cfg(target_os = "linux")]
#[test]
fn fork_while_a_reader_or_a_writer_holds_it() {
    for writer_holds in [false, true] {
        let lock = Arc::new(PerCpuRwLock::new(5u64));
        let (held_tx, held_rx) = std::sync::mpsc::channel();
        let (go_tx, go_rx) = std::sync::mpsc::channel::<()>();
        let holder = {
            let lock = lock.clone();
            std::thread::spawn(move || {
                if writer_holds {
                    let _g = lock.write();
                    held_tx.send(()).unwrap();
                    go_rx.recv().unwrap();
                } else {
                    let _g = lock.read();
                    held_tx.send(()).unwrap();
                    go_rx.recv().unwrap();
                }
            })
        };
        held_rx.recv().unwrap();
        // SAFETY: the child calls only try_read, try_write (no allocation; a try_lock)
        // and _exit.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork: {}", std::io::Error::last_os_error());
        if pid == 0 {
            in_child(&lock, !writer_holds);
        }
        let mut status = 0;
        // SAFETY: waits for our own child.
        assert_eq!(unsafe { libc::waitpid(pid, &mut status, 0) }, pid);
        assert!(libc::WIFEXITED(status), "child died: {status:#x}");
        assert_eq!(
            libc::WEXITSTATUS(status),
            0,
            "writer holds: {writer_holds}; bits: 1 read, 2/4 a write got in"
        );
        go_tx.send(()).unwrap();
        holder.join().unwrap();
        *lock.write() += 1;
        assert_eq!(*lock.read(), 6);
    }
}

// ---- The fallback path: children where seccomp refuses rseq ----

const ROLE_VAR: &str = "RSEQ_DSL_RWLOCK_CHILD";
const CHILD_TEST: &str = "fallback_threads_share_the_lock_with_sections";
const MARKER: &str = "rwlock child: exact";

/// Two children: one where odd workers are refused rseq (the others use sections; glibc's
/// registration off so that a refused thread start is no error for glibc), one where the
/// whole process is. Where rseq is off anyway (no backend), right here.
#[test]
fn fallback_threads_share_the_lock_with_sections() {
    match std::env::var(ROLE_VAR).as_deref() {
        Ok("mixed") => {
            // Only half the threads run sections here; the storm runs until one of them
            // aborts (see storm) before the test says the restart path never ran.
            let run = storm(Mix::OddRefused);
            require_aborts(&run);
            println!("{MARKER}");
        }
        Ok(_) => {
            assert_eq!(
                Path::current(),
                Path::Fallback,
                "the filter is not in force"
            );
            storm(Mix::Same);
            println!("{MARKER}");
        }
        Err(_) if Path::current() == Path::Fallback => {
            storm(Mix::Same);
        }
        Err(_) => {
            fallback_child("mixed");
            fallback_child("refused");
        }
    }
}

#[cfg(all(rseq_dsl_sections, target_pointer_width = "64"))]
fn fallback_child(role: &str) {
    let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", CHILD_TEST, "--nocapture", "--test-threads=1"])
        .env(ROLE_VAR, role);
    if role == "mixed" {
        cmd.env("GLIBC_TUNABLES", "glibc.pthread.rseq=0");
    } else {
        seccomp::refuse_rseq_with_enosys(&mut cmd, rseq_dsl::abi::SYS_RSEQ);
    }
    let out = cmd.output().expect("re-run the test binary");
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{role} child: {stdout}");
    assert!(
        out.status.success(),
        "{role} child failed: {}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(MARKER),
        "the {role} child did not run: {stdout}"
    );
}

#[cfg(not(all(rseq_dsl_sections, target_pointer_width = "64")))]
fn fallback_child(_: &str) {
    unreachable!("{CHILD_TEST}: rseq sections ran on a target without an rseq backend");
}
