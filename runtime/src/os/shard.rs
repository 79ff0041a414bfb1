//! Systems with no call that says which CPU a thread runs on (macOS among them: Apple
//! offers none): a stable per-thread shard index instead, not a CPU number.
//!
//! Threads take indices round-robin as they first ask, so `n` threads spread over
//! `min(n, possible_cpus())` slots and each keeps its own: per-CPU arrays then behave as
//! per-thread-group arrays, which is what their fallback paths (atomics) need to scale.

use core::cell::Cell;
use core::sync::atomic::{AtomicUsize, Ordering};

/// The calling thread's shard, assigned on its first call.
pub(crate) fn cpu() -> Option<usize> {
    thread_local! {
        static SHARD: Cell<usize> = const { Cell::new(usize::MAX) };
    }
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let shard = SHARD
        .try_with(|shard| {
            if shard.get() == usize::MAX {
                shard.set(NEXT.fetch_add(1, Ordering::Relaxed) % crate::possible_cpus());
            }
            shard.get()
        })
        // A thread-local destructor of the exiting thread: any shard is correct.
        .unwrap_or(0);
    Some(shard)
}

/// The processors the system reports (the number of shards).
pub(crate) fn possible_cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
