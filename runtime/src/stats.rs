//! Abort statistics (the `stats` feature). Every generated section counts its aborts here;
//! without the feature the counting compiles to nothing and the counters read 0.
//!
//! ```
//! // Counters only move with the `stats` feature; they always read consistently.
//! let before = rseq_dsl_runtime::stats::total_aborts();
//! assert!(rseq_dsl_runtime::stats::total_aborts() >= before);
//! assert!(rseq_dsl_runtime::stats::thread_aborts() <= rseq_dsl_runtime::stats::total_aborts());
//! ```

#[cfg(feature = "stats")]
mod counters {
    use core::cell::Cell;
    use core::sync::atomic::{AtomicU64, Ordering};

    // A process-wide total, so that aborts of threads that already exited still count.
    static TOTAL: AtomicU64 = AtomicU64::new(0);

    thread_local! {
        static THREAD: Cell<u64> = const { Cell::new(0) };
    }

    #[inline]
    pub fn record() {
        THREAD.with(|c| c.set(c.get() + 1));
        TOTAL.fetch_add(1, Ordering::Relaxed);
    }

    pub fn thread() -> u64 {
        THREAD.try_with(|c| c.get()).unwrap_or(0)
    }

    pub fn total() -> u64 {
        TOTAL.load(Ordering::Relaxed)
    }
}

/// Counts one abort of a critical section on the calling thread: every section's expansion
/// calls it on its abort path, except a `registered` section's, which makes no call on any
/// path. Code around a `registered` section counts the aborts it sees with this, on its
/// slow path, where a call costs nothing (as `rseq-dsl-alloc` does).
///
/// ```
/// rseq_dsl_runtime::stats::record_abort();
/// if rseq_dsl_runtime::stats::ENABLED {
///     assert_eq!(rseq_dsl_runtime::stats::thread_aborts(), 1);
/// }
/// ```
#[inline(always)]
pub fn record_abort() {
    #[cfg(feature = "stats")]
    counters::record();
}

/// Whether the counters are compiled in (the `stats` feature).
pub const ENABLED: bool = cfg!(feature = "stats");

/// Aborts seen by the calling thread (0 without the `stats` feature).
pub fn thread_aborts() -> u64 {
    #[cfg(feature = "stats")]
    return counters::thread();
    #[cfg(not(feature = "stats"))]
    0
}

/// Aborts seen by every thread of the process, exited ones included (0 without `stats`).
pub fn total_aborts() -> u64 {
    #[cfg(feature = "stats")]
    return counters::total();
    #[cfg(not(feature = "stats"))]
    0
}
