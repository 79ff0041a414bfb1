//! Fork in the middle of a run: each child keeps working on its copy and must be exact.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::{harness::*, increment::*, memory::*, process::*};
use rseq_dsl::{Outcome, Owner};

/// Exit statuses of a forked child.
pub(crate) const FORK_OK: i32 = 0;
pub(crate) const FORK_UNAVAILABLE: i32 = 3;
pub(crate) const FORK_WRONG_SUM: i32 = 4;
pub(crate) const FORK_SPAWN_FAILED: i32 = 5;
pub(crate) const FORK_PANIC: i32 = 6;
pub(crate) const FORK_OWNER_CHANGED: i32 = 7;
/// Increments each thread of a forked child does.
pub(crate) const FORK_CHILD_OPS: u64 = 20_000;

/// In the forked child: the forking thread keeps its registration, new threads register,
/// and increments stay exact. Never returns; reports through the exit status only (the
/// parent's other threads may have held locks, stdout's among them, at the fork).
pub(crate) fn after_fork(counters: &PerCpu, index: Index, owner: Owner) -> ! {
    let status = catch_unwind(AssertUnwindSafe(|| {
        if rseq_dsl::registration().map(|r| r.owner) != Ok(owner) {
            return FORK_OWNER_CHANGED;
        }
        let before = counters.sum();
        let work = || {
            for _ in 0..FORK_CHILD_OPS {
                if !matches!(
                    increment_section(index, counters),
                    Ok(Outcome::Committed { .. })
                ) {
                    return false;
                }
            }
            true
        };
        if !work() {
            return FORK_UNAVAILABLE;
        }
        let threads = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..2)
                .map(|_| std::thread::Builder::new().spawn_scoped(scope, work))
                .collect();
            handles
                .into_iter()
                .map(|h| h.map(|h| h.join()))
                .collect::<Vec<_>>()
        });
        let mut done = 1;
        for t in threads {
            match t {
                Ok(Ok(true)) => done += 1,
                Ok(Ok(false)) => return FORK_UNAVAILABLE,
                _ => return FORK_SPAWN_FAILED,
            }
        }
        if counters.sum() != before + done * FORK_CHILD_OPS {
            return FORK_WRONG_SUM;
        }
        FORK_OK
    }))
    .unwrap_or(FORK_PANIC);
    // SAFETY: _exit ends the child without running the parent's destructors or atexit
    // handlers a second time.
    unsafe { libc::_exit(status) }
}

/// Waits until no thread of this process is starting or exiting: each worker has
/// published its id (it runs its loop) and the process has `threads` threads, no more.
///
/// Rust's standard library records each thread in a process-wide map (for its stack
/// overflow handler) under a lock it takes at thread start and at thread exit
/// (`std::sys::pal::unix::stack_overflow::thread_info`), with no fork handler. A fork
/// while another thread holds that lock leaves it held for ever in the child, and every
/// thread the child spawns blocks at its start. The previous scenario's side thread,
/// still exiting when this one forks, was the holder in the hangs this gate removes
/// (issue 10).
pub(crate) fn wait_until_quiescent(control: &Control, threads: usize) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let started = control
            .tids
            .iter()
            .all(|tid| tid.load(Ordering::Acquire) != 0);
        let tasks = std::fs::read_dir("/proc/self/task")
            .map_err(|e| format!("/proc/self/task: {e}"))?
            .count();
        if started && tasks == threads {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!(
                "after 30 s, {tasks} threads (expected {threads}), workers all started: {started}"
            ));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Forks in the middle of a run; each child keeps working on its copy and must be exact.
pub(crate) fn fork_mid_run(size: &Size, index: Index) -> Result<Report, String> {
    let counters = PerCpu::new();
    let mode = Mode {
        index,
        commit: Commit::Relaxed,
        disturb: Disturb::Plain,
    };
    let side_ops = AtomicU64::new(0);
    let statuses = Mutex::new(Vec::new());
    let run = run_workers(
        size,
        mode,
        true,
        &counters,
        |c, ctx| {
            committed(increment_section(index, c), "increment");
            ctx.disturb();
        },
        |c, control| {
            // The forking thread works too, so that it is registered when it forks.
            let mut ops = 0;
            for _ in 0..size.forks {
                // Let the workers get going: the fork comes in the middle of their run.
                std::thread::sleep(Duration::from_millis(10));
                for _ in 0..1000 {
                    committed(increment_section(index, c), "forker increment");
                    ops += 1;
                }
                let owner = rseq_dsl::registration().expect("forker registration").owner;
                // The child spawns threads: fork only where no thread holds std's lock.
                if let Err(e) = wait_until_quiescent(control, size.threads + 2) {
                    panic!("no quiet moment to fork in: {e}");
                }
                // SAFETY: the child runs only after_fork, which uses no lock another thread
                // of this process could have held (no printing; the thread spawns are safe
                // after wait_until_quiescent) and leaves with _exit.
                let pid = unsafe { libc::fork() };
                if pid == 0 {
                    after_fork(c, index, owner);
                }
                assert!(pid > 0, "fork: {}", std::io::Error::last_os_error());
                let mut status = 0;
                // SAFETY: waits for the child just forked, with a valid status pointer.
                let rc = unsafe { libc::waitpid(pid, &mut status, 0) };
                assert_eq!(rc, pid, "waitpid: {}", std::io::Error::last_os_error());
                statuses.lock().unwrap().push(status);
            }
            side_ops.store(ops, Ordering::Relaxed);
            control.hold.store(false, Ordering::Release);
        },
    );
    let statuses = statuses.into_inner().unwrap();
    for &status in &statuses {
        let ok = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == FORK_OK;
        ensure(ok, || {
            if libc::WIFEXITED(status) {
                format!(
                    "forked child exited with {} (see FORK_* codes)",
                    libc::WEXITSTATUS(status)
                )
            } else {
                format!("forked child died with signal {}", libc::WTERMSIG(status))
            }
        })?;
    }
    let expected = run.ops + side_ops.into_inner();
    let sum = counters.sum();
    ensure(sum == expected, || {
        format!("parent: sum {sum}, expected {expected}")
    })?;
    Ok(Report {
        ops: expected,
        aborts: run.aborts,
        note: format!("{} children exact", statuses.len()),
    })
}
