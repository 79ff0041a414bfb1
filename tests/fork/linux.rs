//! The fork contract: what a child forked from a multithreaded parent can rely on.
//!
//! - The forking thread keeps its registration (same owner, same area); sections and
//!   `PerCpuCounter` are exact in the child and in the threads it spawns.
//! - A `PerCpuLock` slot that another parent thread held at the fork stays held in the
//!   child (that thread does not exist there, like a held `Mutex`): the child cannot enter
//!   it, and every other CPU's slot works and holds what it held.
//! - The crate's lazily computed process-wide values never block: a child forked while
//!   other threads were in their first use of the crate completes its own first calls.
//!
//! Its own `main` (no libtest harness) runs the scenarios one after another, because each
//! fork must come at a moment when the process has exactly the threads the scenario made:
//! libtest's test threads would start and exit around it. A child reports only through its
//! exit status and leaves with `_exit`; every wait has a deadline, so a broken contract is
//! a FAIL line, never a hang.

use std::panic::AssertUnwindSafe;
use std::process::{Command, ExitCode};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use rseq_dsl::{rseq, PerCpu, PerCpuCounter, PerCpuLock};

/// How long a child may take before it is killed and the scenario fails.
const CHILD_LIMIT: Duration = Duration::from_secs(20);
/// The environment variable that turns this binary into one round of the first-use race.
const RACE_ENV: &str = "RSEQ_DSL_FORK_RACE";

/// A scenario: a note to print when it passes, or why it failed.
type Scenario = fn() -> Result<String, String>;

pub fn main() -> ExitCode {
    if let Some(round) = std::env::var_os(RACE_ENV) {
        // Nothing of the crate has run in this process yet: that is the point of the round.
        let round = round.to_str().and_then(|r| r.parse().ok()).unwrap_or(0);
        return race_round(round);
    }
    let scenarios: [(&str, Scenario); 3] = [
        (
            "child_keeps_registration_and_counts_exactly",
            child_keeps_registration_and_counts_exactly,
        ),
        (
            "lock_slot_held_at_fork_stays_held_in_child",
            lock_slot_held_at_fork_stays_held_in_child,
        ),
        (
            "child_forked_during_first_use_completes",
            child_forked_during_first_use_completes,
        ),
    ];
    let filter: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let mut failed = 0;
    for (name, scenario) in scenarios {
        if !filter.is_empty() && !filter.iter().any(|f| name.contains(f.as_str())) {
            continue;
        }
        let started = Instant::now();
        let result = std::panic::catch_unwind(scenario)
            .unwrap_or_else(|_| Err("the scenario panicked (message above)".into()));
        let ms = started.elapsed().as_millis();
        match result {
            Ok(note) => println!("test {name} ... ok ({ms} ms) {note}"),
            Err(why) => {
                failed += 1;
                println!("test {name} ... FAILED ({ms} ms): {why}");
            }
        }
    }
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        println!("{failed} fork scenario(s) failed");
        ExitCode::FAILURE
    }
}

// ---------------------------------------------------------------------------------------
// Forking with deadlines.

/// Forks; the child runs `body` under an alarm and `_exit`s with its code (0: passed; a
/// panic, which should not happen, is 99). The parent waits at most `limit`, then kills it.
/// `codes` names the child's failure codes for the message.
fn in_child(
    limit: Duration,
    codes: &[(u8, &str)],
    body: impl FnOnce() -> Result<(), u8>,
) -> Result<(), String> {
    // SAFETY: the child runs only `body`, then _exit; the callers fork at a quiet moment
    // (see wait_until_quiet) so that what `body` uses is not held by a vanished thread.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(format!("fork: {}", std::io::Error::last_os_error()));
    }
    if pid == 0 {
        // SAFETY: alarm only arms a timer; SIGALRM's default action ends the child, a
        // deadline of its own should the parent's waiting fail.
        unsafe { libc::alarm(limit.as_secs() as u32 + 5) };
        let code = match std::panic::catch_unwind(AssertUnwindSafe(body)) {
            Ok(Ok(())) => 0,
            Ok(Err(code)) => i32::from(code),
            Err(_) => 99,
        };
        // SAFETY: _exit leaves without the parent's atexit handlers and stdio flushes,
        // which may need locks another parent thread held at the fork.
        unsafe { libc::_exit(code) };
    }
    let status = wait_with_deadline(pid, limit)?;
    if libc::WIFSIGNALED(status) {
        let sig = libc::WTERMSIG(status);
        let why = if sig == libc::SIGALRM {
            " (its alarm: it hung)"
        } else {
            ""
        };
        return Err(format!("the child died of signal {sig}{why}"));
    }
    match libc::WEXITSTATUS(status) {
        0 => Ok(()),
        code => {
            let why = codes
                .iter()
                .find(|(c, _)| i32::from(*c) == code)
                .map_or("a panic or an unknown code", |(_, why)| why);
            Err(format!("the child exited with {code}: {why}"))
        }
    }
}

/// The child's wait status, or an error once `limit` passed (the child is then killed).
fn wait_with_deadline(pid: libc::pid_t, limit: Duration) -> Result<i32, String> {
    let deadline = Instant::now() + limit;
    loop {
        let mut status = 0;
        // SAFETY: polls our own child; status is a live int.
        let rc = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if rc == pid {
            return Ok(status);
        }
        if rc < 0 {
            return Err(format!("waitpid: {}", std::io::Error::last_os_error()));
        }
        if Instant::now() > deadline {
            // SAFETY: kills and reaps our own child, which SIGKILL ends in bounded time.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
                libc::waitpid(pid, &mut status, 0);
            }
            return Err(format!("the child hung: killed after {limit:?}"));
        }
        thread::sleep(Duration::from_millis(1));
    }
}

/// Waits until `started` threads announced that they run their own code and the process
/// has exactly `1 + started` tasks.
///
/// Why: a child of a multithreaded parent inherits every lock as it was at the fork, and a
/// lock held by a thread that the child does not have stays held for ever. Rust's std takes
/// a process-wide lock of its own (the thread-info registry) whenever a thread starts or
/// exits, with no fork handler, so a child that spawns threads hangs if the fork came while
/// any thread was starting or exiting. POSIX only promises async-signal-safe calls in such
/// a child. A thread that has set its flag is past its start; none exits before the
/// scenario lets it; the task count shows that no earlier thread is still on its way out.
fn wait_until_quiet(started: &AtomicUsize, threads: usize) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let tasks = std::fs::read_dir("/proc/self/task")
            .map_err(|e| format!("/proc/self/task: {e}"))?
            .count();
        if started.load(Ordering::Acquire) == threads && tasks == threads + 1 {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!(
                "no quiet moment to fork: {tasks} tasks, {} of {threads} threads started",
                started.load(Ordering::Acquire)
            ));
        }
        thread::sleep(Duration::from_millis(1));
    }
}

/// The CPUs the calling thread may run on.
fn allowed_cpus() -> Vec<usize> {
    // SAFETY: cpu_set_t is plain data, and sched_getaffinity gets its size.
    unsafe {
        let mut set: libc::cpu_set_t = core::mem::zeroed();
        if libc::sched_getaffinity(0, core::mem::size_of_val(&set), &mut set) != 0 {
            return vec![rseq_dsl::current_cpu()];
        }
        (0..libc::CPU_SETSIZE as usize)
            .filter(|&c| libc::CPU_ISSET(c, &set))
            .collect()
    }
}

/// Pins the calling thread to `cpu`; true once it runs there.
fn pin(cpu: usize) -> bool {
    // SAFETY: as in allowed_cpus; the kernel moves the thread before the call returns.
    unsafe {
        let mut set: libc::cpu_set_t = core::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, core::mem::size_of_val(&set), &set) == 0
            && libc::sched_getcpu() == cpu as i32
    }
}

/// +1 on the running CPU's slot with a raw section; false where rseq is unavailable.
fn raw_add(slots: &PerCpu<AtomicU64>) -> bool {
    // SAFETY: the slot is the running CPU's (get_raw checks the bound); the section's
    // aligned add is a single-copy-atomic store, like the atomic loads of `raw_sum`.
    let out = unsafe {
        rseq!(|cpu| {
            in slot: *mut u64 = slots.get_raw(cpu) as *mut u64;
            commit *slot += 1;
        })
    };
    out.is_ok()
}

fn raw_sum(slots: &PerCpu<AtomicU64>) -> u64 {
    slots.iter().map(|s| s.load(Ordering::Relaxed)).sum()
}

// ---------------------------------------------------------------------------------------
// Scenario 1: registration, raw sections and PerCpuCounter in the child.

const WORKERS: usize = 3;
const CHILD_THREADS: usize = 4;
const CHILD_OPS: u64 = 50_000;

const OTHER_REGISTRATION: u8 = 10;
const NEW_THREAD_NOT_REGISTERED: u8 = 11;
const NEW_THREAD_OTHER_OWNER: u8 = 12;
const SECTION_UNAVAILABLE: u8 = 13;
const RAW_SUM_WRONG: u8 = 14;
const COUNTER_SUM_WRONG: u8 = 15;
const FENCE_CHANGED: u8 = 16;
const COUNTS_CODES: &[(u8, &str)] = &[
    (
        OTHER_REGISTRATION,
        "the forking thread's registration changed in the child",
    ),
    (
        NEW_THREAD_NOT_REGISTERED,
        "a thread of the child could not register",
    ),
    (
        NEW_THREAD_OTHER_OWNER,
        "a thread of the child has another owner than the parent's",
    ),
    (
        SECTION_UNAVAILABLE,
        "a section was unavailable in the child but not in the parent",
    ),
    (
        RAW_SUM_WRONG,
        "the raw sections' sum is not exact in the child",
    ),
    (
        COUNTER_SUM_WRONG,
        "PerCpuCounter's sum is not exact in the child",
    ),
    (
        FENCE_CHANGED,
        "fence_all() answers differently in the child",
    ),
];

fn child_keeps_registration_and_counts_exactly() -> Result<String, String> {
    let raw = Arc::new(PerCpu::new(|_| AtomicU64::new(0)));
    let counter = Arc::new(PerCpuCounter::new());
    let stop = Arc::new(AtomicBool::new(false));
    let started = Arc::new(AtomicUsize::new(0));
    // Parent threads that keep counting through the fork: their sections in flight at the
    // fork must leave nothing half-done in the child's copy.
    let workers: Vec<_> = (0..WORKERS)
        .map(|_| {
            let (raw, counter, stop, started) =
                (raw.clone(), counter.clone(), stop.clone(), started.clone());
            thread::spawn(move || {
                let owner = rseq_dsl::registration().map(|r| r.owner);
                started.fetch_add(1, Ordering::Release);
                let mut ops = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    raw_add(&raw);
                    counter.add(1);
                    ops += 1;
                }
                (owner, ops)
            })
        })
        .collect();
    let parent = rseq_dsl::registration();
    let parent_fence = rseq_dsl::fence_all();
    let rseq_ok = parent.is_ok();
    // Let the workers count a while, so that the fork lands in the middle of their sections.
    thread::sleep(Duration::from_millis(20));
    let quiet = wait_until_quiet(&started, WORKERS);
    let child = quiet.and_then(|()| {
        in_child(CHILD_LIMIT, COUNTS_CODES, || {
            if rseq_dsl::registration() != parent {
                return Err(OTHER_REGISTRATION);
            }
            // The copies of the parent's counters, frozen at the fork except for our adds.
            let (raw0, counter0) = (raw_sum(&raw), counter.sum());
            let count = || -> Result<(), u8> {
                for _ in 0..CHILD_OPS {
                    if raw_add(&raw) != rseq_ok {
                        return Err(SECTION_UNAVAILABLE);
                    }
                    counter.add(1);
                }
                Ok(())
            };
            let parent_owner = parent.map(|r| r.owner);
            thread::scope(|s| {
                let threads: Vec<_> = (0..CHILD_THREADS)
                    .map(|_| {
                        s.spawn(|| {
                            match (rseq_dsl::registration(), parent_owner) {
                                (Ok(mine), Ok(theirs)) if mine.owner != theirs => {
                                    return Err(NEW_THREAD_OTHER_OWNER);
                                }
                                (Err(_), Ok(_)) => return Err(NEW_THREAD_NOT_REGISTERED),
                                _ => {}
                            }
                            count()
                        })
                    })
                    .collect();
                count()?;
                threads
                    .into_iter()
                    .try_for_each(|t| t.join().unwrap_or(Err(99)))
            })?;
            let added = (CHILD_THREADS as u64 + 1) * CHILD_OPS;
            if rseq_ok && raw_sum(&raw) != raw0 + added {
                return Err(RAW_SUM_WRONG);
            }
            if counter.sum() != counter0 + added {
                return Err(COUNTER_SUM_WRONG);
            }
            if rseq_dsl::fence_all() != parent_fence {
                return Err(FENCE_CHANGED);
            }
            Ok(())
        })
    });
    stop.store(true, Ordering::Relaxed);
    let mut parent_ops = 0;
    for w in workers {
        let (owner, ops) = w.join().map_err(|_| "a parent worker panicked")?;
        if owner != parent.map(|r| r.owner) {
            return Err("parent workers registered differently from the main thread".into());
        }
        parent_ops += ops;
    }
    child?;
    // The parent's own counts stay exact too: nothing of the child leaked into them.
    if counter.sum() != parent_ops || (rseq_ok && raw_sum(&raw) != parent_ops) {
        return Err(format!(
            "parent sums {} / {} after {parent_ops} adds",
            counter.sum(),
            raw_sum(&raw)
        ));
    }
    Ok(format!(
        "{:?}, parent workers added {parent_ops} around the fork",
        parent.map(|r| r.owner)
    ))
}

// ---------------------------------------------------------------------------------------
// Scenario 2: a PerCpuLock slot held by another parent thread at the fork.

const PIN_FAILED: u8 = 20;
const HELD_SLOT_ENTERED: u8 = 21;
const FREE_SLOT_REFUSED: u8 = 22;
const FREE_SLOT_CORRUPTED: u8 = 23;
const FREE_SLOT_LOST_WRITE: u8 = 24;
const REMOTE_LOCK_WRONG: u8 = 25;
const LOCK_CODES: &[(u8, &str)] = &[
    (PIN_FAILED, "the child could not pin itself to a CPU"),
    (
        HELD_SLOT_ENTERED,
        "the child locked the slot another parent thread held at the fork",
    ),
    (
        FREE_SLOT_REFUSED,
        "the child could not lock a free CPU's slot",
    ),
    (
        FREE_SLOT_CORRUPTED,
        "a free CPU's value changed in the child",
    ),
    (
        FREE_SLOT_LOST_WRITE,
        "a free CPU's value lost the child's write",
    ),
    (
        REMOTE_LOCK_WRONG,
        "lock_cpu on a free CPU failed or saw another value",
    ),
];

/// The held slot, from any thread pinned to its CPU: every attempt must fail.
fn held_slot_refused(lock: &PerCpuLock<(u64, u64)>, held: usize) -> Result<(), u8> {
    if !pin(held) {
        return Err(PIN_FAILED);
    }
    for _ in 0..1_000 {
        if let Some(g) = lock.try_lock() {
            // Pinned, so a guard can only be for the held CPU (or the pin did not hold).
            return Err(if g.cpu() == held {
                HELD_SLOT_ENTERED
            } else {
                PIN_FAILED
            });
        }
    }
    Ok(())
}

fn lock_slot_held_at_fork_stays_held_in_child() -> Result<String, String> {
    let cpus = allowed_cpus();
    let held = cpus[0];
    let lock = Arc::new(PerCpuLock::new(|cpu| (cpu as u64, cpu as u64)));
    let started = Arc::new(AtomicUsize::new(0));
    let holding = Arc::new(AtomicBool::new(false));
    let release = Arc::new(AtomicBool::new(false));
    let holder = {
        let (lock, started, holding, release) = (
            lock.clone(),
            started.clone(),
            holding.clone(),
            release.clone(),
        );
        thread::spawn(move || {
            if !pin(held) {
                // Stays until released all the same: no thread exits around a fork.
                started.fetch_add(1, Ordering::Release);
                while !release.load(Ordering::Acquire) {
                    thread::sleep(Duration::from_millis(1));
                }
                return Err(format!("the holder could not pin itself to cpu {held}"));
            }
            let mut g = lock.lock();
            let cpu = g.cpu();
            // Half of an update that keeps the pair equal: the child must never see it.
            g.0 += 100;
            holding.store(true, Ordering::Release);
            started.fetch_add(1, Ordering::Release);
            while !release.load(Ordering::Acquire) {
                thread::sleep(Duration::from_millis(1));
            }
            g.1 += 100;
            drop(g);
            (cpu == held)
                .then_some(())
                .ok_or(format!("the holder pinned to {held} locked cpu {cpu}"))
        })
    };
    let child = wait_until_quiet(&started, 1).and_then(|()| {
        if !holding.load(Ordering::Acquire) {
            return Err("the holder does not hold the lock: no fork".into());
        }
        in_child(CHILD_LIMIT, LOCK_CODES, || {
            held_slot_refused(&lock, held)?;
            // So do the threads the child spawns.
            thread::scope(|s| s.spawn(|| held_slot_refused(&lock, held)).join())
                .unwrap_or(Err(99))?;
            for &cpu in &cpus[1..] {
                if !pin(cpu) {
                    return Err(PIN_FAILED);
                }
                let Some(mut g) = lock.try_lock() else {
                    return Err(FREE_SLOT_REFUSED);
                };
                if g.cpu() != cpu {
                    return Err(PIN_FAILED);
                }
                if *g != (cpu as u64, cpu as u64) {
                    return Err(FREE_SLOT_CORRUPTED);
                }
                *g = (cpu as u64 + 1, cpu as u64 + 1);
                drop(g);
                match lock.try_lock() {
                    Some(g) if *g == (cpu as u64 + 1, cpu as u64 + 1) => {}
                    Some(_) => return Err(FREE_SLOT_LOST_WRITE),
                    None => return Err(FREE_SLOT_REFUSED),
                }
                // From the held CPU, a remote lock of this free one (where fences work).
                if !pin(held) {
                    return Err(PIN_FAILED);
                }
                match lock.lock_cpu(cpu) {
                    Ok(g) if *g == (cpu as u64 + 1, cpu as u64 + 1) => {}
                    Ok(_) => return Err(REMOTE_LOCK_WRONG),
                    Err(rseq_dsl::FenceError::Unsupported) => {}
                    Err(_) => return Err(REMOTE_LOCK_WRONG),
                }
            }
            // Still held after everything else the child did.
            held_slot_refused(&lock, held)
        })
    });
    release.store(true, Ordering::Release);
    let holder = holder.join().map_err(|_| "the holder panicked")?;
    child?;
    holder?;
    // In the parent the holder finished its update and unlocked: the slot is whole.
    match lock.lock_cpu(held) {
        Ok(g) if *g == (held as u64 + 100, held as u64 + 100) => {}
        Ok(g) => return Err(format!("the parent's held slot reads {:?}", *g)),
        Err(rseq_dsl::FenceError::Unsupported) => {}
        Err(e) => return Err(format!("lock_cpu({held}) in the parent: {e}")),
    }
    Ok(format!(
        "cpu {held} held, {} other cpu(s) used in the child{}",
        cpus.len() - 1,
        if cpus.len() == 1 {
            " (one CPU allowed: free slots not checked)"
        } else {
            ""
        }
    ))
}

// ---------------------------------------------------------------------------------------
// Scenario 3: fork while other threads make their first calls into the crate.

const RACE_ROUNDS: u32 = 60;
const RACE_THREADS: usize = 4;

/// Every call that computes a process-wide value on first use, from an offset so that
/// racing threads are in different ones at once.
fn first_use(start: usize) {
    let calls: [&dyn Fn(); 6] = [
        &|| assert!(rseq_dsl::possible_cpus() >= 1),
        &|| {
            let _ = rseq_dsl::registration();
        },
        &|| {
            let _ = (rseq_dsl::mm_cid(), rseq_dsl::node_id());
        },
        &|| {
            let _ = rseq_dsl::fence_all();
        },
        &|| {
            // PerCpuLock's fence probe.
            let lock = PerCpuLock::new(|_| 0u8);
            let _ = lock.lock_cpu(rseq_dsl::current_cpu().min(rseq_dsl::possible_cpus() - 1));
        },
        &|| PerCpuCounter::new().add(1),
    ];
    for i in 0..calls.len() {
        calls[(start + i) % calls.len()]();
    }
}

/// Runs rounds in fresh processes (this binary again): in a process that already used the
/// crate every value is computed, and there would be nothing left to race.
fn child_forked_during_first_use_completes() -> Result<String, String> {
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    for round in 0..RACE_ROUNDS {
        let mut child = Command::new(&exe)
            .env(RACE_ENV, round.to_string())
            .spawn()
            .map_err(|e| format!("spawning round {round}: {e}"))?;
        let deadline = Instant::now() + CHILD_LIMIT + Duration::from_secs(10);
        let status = loop {
            match child.try_wait() {
                Ok(Some(status)) => break status,
                Ok(None) if Instant::now() < deadline => thread::sleep(Duration::from_millis(2)),
                Ok(None) => {
                    let _ = child.kill();
                    let _ = child.wait();
                    return Err(format!("round {round} hung: killed"));
                }
                Err(e) => return Err(format!("round {round}: {e}")),
            }
        };
        if !status.success() {
            return Err(format!(
                "round {round} failed: {status} (its message above)"
            ));
        }
    }
    Ok(format!("{RACE_ROUNDS} rounds"))
}

/// One round, in a process where nothing of the crate ran yet: threads start their first
/// calls together, and the main thread forks a round-dependent moment later.
fn race_round(round: u32) -> ExitCode {
    let go = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicBool::new(false));
    let started = Arc::new(AtomicUsize::new(0));
    let threads: Vec<_> = (0..RACE_THREADS)
        .map(|t| {
            let (go, done, started) = (go.clone(), done.clone(), started.clone());
            thread::spawn(move || {
                started.fetch_add(1, Ordering::Release);
                while !go.load(Ordering::Acquire) {
                    core::hint::spin_loop();
                }
                first_use(t + round as usize);
                // Stay alive until after the fork: an exiting thread takes std's lock.
                while !done.load(Ordering::Acquire) {
                    thread::sleep(Duration::from_millis(1));
                }
            })
        })
        .collect();
    let result = wait_until_quiet(&started, RACE_THREADS).and_then(|()| {
        go.store(true, Ordering::Release);
        // From right away to well after the first calls began, over the rounds.
        for _ in 0..(round % 20) * 500 {
            core::hint::spin_loop();
        }
        in_child(CHILD_LIMIT, &[], || {
            first_use(0);
            thread::scope(|s| s.spawn(|| first_use(3)).join()).map_err(|_| 99)
        })
    });
    done.store(true, Ordering::Release);
    threads.into_iter().for_each(|t| t.join().unwrap());
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(why) => {
            eprintln!("fork race round {round}: {why}");
            ExitCode::FAILURE
        }
    }
}
