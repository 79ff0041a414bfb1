//! How hard a scenario pushes (`Size`: quick, full, tiny) and the matrix of modes: index
//! (`cpu_id`, `mm_cid`), commit ordering, and the disturbance around each operation.

use std::time::Duration;

use rseq_dsl::inject;

/// How hard every scenario pushes.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Size {
    pub(crate) name: &'static str,
    /// Worker threads: 6 x nproc, as librseq.
    pub(crate) threads: usize,
    /// Operations every worker does at least.
    pub(crate) reps: u64,
    /// And for at least this long, so that the workers really overlap.
    pub(crate) min_time: Duration,
    /// In sleep modes, sleeps per worker at most (each is 1 ms).
    pub(crate) max_sleeps: u64,
    /// Loop count at the injection point of a delay mode (librseq: 10,000).
    pub(crate) delay_loops: u32,
    /// A mode meant to force aborts keeps its workers going until this many aborts...
    pub(crate) target_aborts: u64,
    /// ... or until this much time has passed.
    pub(crate) abort_time_limit: Duration,
    /// Active-list swaps the membarrier manager makes at least.
    pub(crate) swaps: u64,
    /// Forks during the fork scenario.
    pub(crate) forks: usize,
    /// Threads created and exiting during the churn scenario.
    pub(crate) churn_threads: usize,
    /// Operations per thread of librseq's 200-thread spinlock and list tests.
    pub(crate) crowd_reps: u64,
}

impl Size {
    pub(crate) fn quick(threads: usize) -> Size {
        Size {
            name: "quick",
            threads,
            reps: 2_000,
            min_time: Duration::from_millis(50),
            max_sleeps: 20,
            delay_loops: 10_000,
            target_aborts: 5,
            abort_time_limit: Duration::from_secs(2),
            swaps: 10,
            forks: 2,
            churn_threads: 10_000,
            crowd_reps: 500,
        }
    }

    /// For emulated machines (qemu-system in CI): every scenario, a fraction of the work.
    pub(crate) fn tiny(threads: usize) -> Size {
        Size {
            name: "tiny",
            threads,
            reps: 200,
            min_time: Duration::from_millis(10),
            max_sleeps: 4,
            delay_loops: 2_000,
            target_aborts: 1,
            // Emulated CPUs under load deliver few signals inside a section: a signal
            // scenario on arm64 6.1 under TCG once saw no abort in 2.7 s. The run stops
            // at the first abort, so the limit costs time only where aborts are rare.
            abort_time_limit: Duration::from_secs(20),
            swaps: 3,
            forks: 1,
            churn_threads: 1_000,
            crowd_reps: 50,
        }
    }

    pub(crate) fn full(threads: usize) -> Size {
        Size {
            name: "full",
            threads,
            reps: 20_000,
            min_time: Duration::from_secs(1),
            max_sleeps: 200,
            delay_loops: 10_000,
            target_aborts: 50,
            abort_time_limit: Duration::from_secs(10),
            swaps: 200,
            forks: 10,
            churn_threads: 10_000,
            crowd_reps: 5_000,
        }
    }
}

/// Which field of the area indexes the per-CPU data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Index {
    CpuId,
    MmCid,
}

impl Index {
    pub(crate) const ALL: [Index; 2] = [Index::CpuId, Index::MmCid];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Index::CpuId => "cpu_id",
            Index::MmCid => "mm_cid",
        }
    }
}

/// The ordering of a commit that follows speculative stores.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Commit {
    Relaxed,
    Release,
}

impl Commit {
    pub(crate) const ALL: [Commit; 2] = [Commit::Relaxed, Commit::Release];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Commit::Relaxed => "relaxed",
            Commit::Release => "release",
        }
    }
}

/// What happens around each operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Disturb {
    /// Nothing: the workers alone (6 x nproc of them) cause the preemptions.
    Plain,
    /// A delay loop at this injection point (1..=6) of every section.
    Delay(usize),
    /// `sched_yield` every nth operation.
    Yield(u64),
    /// SIGUSR1 (no-op handler) every nth operation, to this thread and to a sibling worker.
    ///
    /// A signal to self is delivered on the return from `tgkill`, outside any section, so
    /// it never restarts one (librseq's `raise()` does the same). The sibling's signal
    /// arrives asynchronously, but a section of four instructions is rarely where it lands:
    /// 0 aborts in 350,000 such signals in a debug build. So signal modes also widen every
    /// section a little (SIGNAL_WIDEN_LOOPS at point 6) for the signals to land in.
    Signal(u64),
    /// A 1 ms sleep every nth operation.
    Sleep(u64),
}

impl Disturb {
    /// Every mode; point 5 (after a speculative store or copy) only where a section has one.
    pub(crate) fn all(has_stores: bool) -> Vec<Disturb> {
        let mut all = vec![Disturb::Plain];
        let points = (1..=inject::POINTS).filter(|&p| has_stores || p != STORE_POINT);
        all.extend(points.map(Disturb::Delay));
        for every in [1, 2, 4] {
            all.extend([
                Disturb::Yield(every),
                Disturb::Signal(every),
                Disturb::Sleep(every),
            ]);
        }
        all
    }

    /// Whether the mode exists to make the kernel restart sections: such a scenario must
    /// see aborts. Not point 1: it lies before the descriptor store, outside the section,
    /// and only fails the index compare when the index changed meanwhile (a migration for
    /// cpu_id; mm_cid often stays the same across migrations): seen at 0 in 2 s.
    pub(crate) fn forces_aborts(self) -> bool {
        matches!(self, Disturb::Delay(2..) | Disturb::Signal(_))
    }

    pub(crate) fn name(self) -> String {
        match self {
            Disturb::Plain => "plain".into(),
            Disturb::Delay(point) => format!("delay@{point}"),
            Disturb::Yield(n) => format!("yield/{n}"),
            Disturb::Signal(n) => format!("signal/{n}"),
            Disturb::Sleep(n) => format!("sleep/{n}"),
        }
    }
}

/// The injection point after each speculative store or copy.
pub(crate) const STORE_POINT: usize = 5;
/// The injection point just before the commit.
pub(crate) const COMMIT_POINT: usize = 6;
/// The widening of every section in signal modes (about 1 ns a loop), at COMMIT_POINT.
pub(crate) const SIGNAL_WIDEN_LOOPS: u32 = 2_000;

/// One point of the matrix.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Mode {
    pub(crate) index: Index,
    pub(crate) commit: Commit,
    pub(crate) disturb: Disturb,
}
