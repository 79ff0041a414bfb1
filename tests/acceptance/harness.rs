//! The worker harness: worker threads looping over a scenario's operation, the side thread
//! that signals them and rotates the injected delays, and the stop rule.

use std::sync::atomic::{AtomicBool, AtomicI32, AtomicUsize, Ordering};
use std::sync::Barrier;
use std::time::{Duration, Instant};

use crate::modes::*;
use rseq_dsl::{inject, stats, Owner};

/// Set in the child that runs with glibc's registration off: every worker checks that the
/// crate registered its own area.
pub(crate) static EXPECT_OWN: AtomicBool = AtomicBool::new(false);

extern "C" fn on_sigusr1(_: libc::c_int) {}

pub(crate) fn install_handler() {
    // SAFETY: sigaction is plain data; all-zero is an empty mask and no flags.
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    action.sa_sigaction = on_sigusr1 as extern "C" fn(libc::c_int) as libc::sighandler_t;
    action.sa_flags = libc::SA_RESTART;
    // SAFETY: a valid action whose handler does nothing (async-signal-safe); SA_RESTART
    // keeps blocking calls (joins, sleeps) of the harness from failing with EINTR.
    let rc = unsafe { libc::sigaction(libc::SIGUSR1, &action, std::ptr::null_mut()) };
    assert_eq!(rc, 0, "sigaction: {}", std::io::Error::last_os_error());
}

pub(crate) fn gettid() -> i32 {
    // SAFETY: gettid has no preconditions.
    unsafe { libc::gettid() }
}

pub(crate) fn tgkill(tid: i32) {
    // SAFETY: `tid` is a live thread of this process (workers stay alive until every
    // worker stopped sending, see run_workers); SIGUSR1 has a no-op handler.
    unsafe { libc::syscall(libc::SYS_tgkill, libc::getpid(), tid, libc::SIGUSR1) };
}

/// A busy wait that the optimizer keeps.
pub(crate) fn spin(iterations: u32) {
    for i in 0..iterations {
        std::hint::black_box(i);
    }
}

/// Shared by the workers and the side thread of one run.
pub(crate) struct Control {
    pub(crate) start: Instant,
    pub(crate) aborts_at_start: u64,
    /// While set, workers keep going past their minimum (a side thread needs them busy).
    pub(crate) hold: AtomicBool,
    /// Set when every worker stopped.
    pub(crate) workers_done: AtomicBool,
    pub(crate) tids: Vec<AtomicI32>,
}

impl Control {
    pub(crate) fn aborts(&self) -> u64 {
        stats::total_aborts() - self.aborts_at_start
    }
}

/// A worker's view: its number, operation count, and the mode's disturbance.
pub(crate) struct Ctx<'a> {
    pub(crate) index: usize,
    pub(crate) ops: u64,
    pub(crate) min_ops: u64,
    pub(crate) need_aborts: bool,
    pub(crate) size: &'a Size,
    pub(crate) disturb: Disturb,
    pub(crate) control: &'a Control,
}

impl Ctx<'_> {
    /// Counts one operation and says whether to do it: `while ctx.next() { ... }`.
    pub(crate) fn next(&mut self) -> bool {
        if self.ops >= self.min_ops && !self.must_go_on() {
            return false;
        }
        self.ops += 1;
        true
    }

    pub(crate) fn must_go_on(&self) -> bool {
        // Looks at the clock and the counters only every 16th operation.
        if !self.ops.is_multiple_of(16) || self.control.hold.load(Ordering::Acquire) {
            return true;
        }
        let age = self.control.start.elapsed();
        age < self.size.min_time
            || (self.need_aborts
                && self.control.aborts() < self.size.target_aborts
                && age < self.size.abort_time_limit)
    }

    /// The mode's disturbance, once per operation, where the scenario puts it (between a
    /// pop and the push that follows, as librseq, or after the operation).
    pub(crate) fn disturb(&self) {
        let due = |every: u64| self.ops.is_multiple_of(every);
        match self.disturb {
            Disturb::Plain | Disturb::Delay(_) => {}
            Disturb::Yield(n) if due(n) => std::thread::yield_now(),
            Disturb::Signal(n) if due(n) => {
                // To self, as librseq's raise(): delivered on return from tgkill, outside
                // any section. And to the next worker, asynchronously: that one can land
                // inside a section and restart it.
                tgkill(gettid());
                let tids = &self.control.tids;
                let sibling = tids[(self.index + 1) % tids.len()].load(Ordering::Acquire);
                if sibling != 0 {
                    tgkill(sibling);
                }
            }
            Disturb::Sleep(n) if due(n) => std::thread::sleep(Duration::from_millis(1)),
            _ => {}
        }
    }
}

/// What a run did.
pub(crate) struct Run {
    pub(crate) ops: u64,
    pub(crate) aborts: u64,
}

/// On drop (also while unwinding): the worker leaves through the barrier, the last one
/// setting `workers_done`, so that no worker exits (and has its tid reused) while a
/// sibling may still signal it.
pub(crate) struct Leave<'a> {
    pub(crate) running: &'a AtomicUsize,
    pub(crate) control: &'a Control,
    pub(crate) barrier: &'a Barrier,
}

impl Drop for Leave<'_> {
    fn drop(&mut self) {
        if self.running.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.control.workers_done.store(true, Ordering::Release);
        }
        self.barrier.wait();
    }
}

/// On drop: the side thread no longer holds the workers (so that its panic ends the run),
/// or the delays go back to 0 (so that a failed scenario leaves none behind).
pub(crate) struct Release<'a>(pub(crate) &'a AtomicBool);

impl Drop for Release<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

pub(crate) struct ClearDelays;

impl Drop for ClearDelays {
    fn drop(&mut self) {
        inject::clear_delays();
    }
}

/// Runs `work` on `size.threads` workers (each loops `while ctx.next() { ... }`) and
/// `side` on one more thread, with the mode's delays set. `side` gets the control: it may
/// keep the workers going with `hold` (initially as `hold` says), and sees `workers_done`.
pub(crate) fn run_workers<S, W, D>(
    size: &Size,
    mode: Mode,
    hold: bool,
    state: &S,
    work: W,
    side: D,
) -> Run
where
    S: Sync,
    W: Fn(&S, &mut Ctx) + Sync,
    D: FnOnce(&S, &Control) + Send,
{
    let _clear = ClearDelays;
    match mode.disturb {
        Disturb::Delay(point) => inject::set_delay(point, size.delay_loops),
        Disturb::Signal(_) => inject::set_delay(COMMIT_POINT, SIGNAL_WIDEN_LOOPS),
        _ => {}
    }
    let min_ops = match mode.disturb {
        Disturb::Sleep(every) => size.reps.min(size.max_sleeps * every),
        _ => size.reps,
    };
    let control = Control {
        start: Instant::now(),
        aborts_at_start: stats::total_aborts(),
        hold: AtomicBool::new(hold),
        workers_done: AtomicBool::new(false),
        tids: (0..size.threads).map(|_| AtomicI32::new(0)).collect(),
    };
    let running = AtomicUsize::new(size.threads);
    let barrier = Barrier::new(size.threads);
    let ops: u64 = std::thread::scope(|scope| {
        let control = &control;
        let side = scope.spawn(|| {
            let _release = Release(&control.hold);
            side(state, control)
        });
        let workers: Vec<_> = (0..size.threads)
            .map(|index| {
                let (work, running, barrier) = (&work, &running, &barrier);
                scope.spawn(move || {
                    let _leave = Leave {
                        running,
                        control,
                        barrier,
                    };
                    control.tids[index].store(gettid(), Ordering::Release);
                    if EXPECT_OWN.load(Ordering::Relaxed) {
                        let owner = rseq_dsl::registration().map(|r| r.owner);
                        assert_eq!(owner, Ok(Owner::Own), "worker {index}: registration");
                    }
                    let mut ctx = Ctx {
                        index,
                        ops: 0,
                        min_ops,
                        need_aborts: stats::ENABLED && mode.disturb.forces_aborts(),
                        size,
                        disturb: mode.disturb,
                        control,
                    };
                    while ctx.next() {
                        work(state, &mut ctx);
                    }
                    ctx.ops
                })
            })
            .collect();
        let ops = workers
            .into_iter()
            .map(|w| w.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .sum();
        // Joined, not left to the scope: the scope returns as soon as the thread's closure
        // has, while the thread itself is still exiting (see wait_until_quiescent).
        side.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
        ops
    });
    Run {
        ops,
        aborts: control.aborts(),
    }
}

pub(crate) fn no_side<S>(_: &S, _: &Control) {}
