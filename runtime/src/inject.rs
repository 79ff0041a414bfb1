//! Delay injection for tests: in a build with `--cfg rseq_dsl_delay_injection`, every
//! section busy-waits at numbered points, each for the number of iterations set here, to
//! widen the window in which the kernel restarts them.
//!
//! The switch is a cfg, not a cargo feature, so that it stays in the build that asked for
//! it: a feature turned on by any crate of a build graph reaches every crate there (cargo
//! unifies features), and would slow down and change every section of every dependency.
//! Set it for a whole build, with `RUSTFLAGS` (the same value for `RUSTDOCFLAGS` lets the
//! doctests see this module too):
//!
//! ```sh
//! RUSTFLAGS="--cfg rseq_dsl_delay_injection" cargo test
//! ```
//!
//! This module, and the table that sections read, exist only in such a build. rseq-dsl
//! reads the cfg where it is compiled, in the same build, to choose what `rseq!` expands
//! to; the crates that call `rseq!` never see it (no `unexpected_cfgs` warning there). `--cfg rseq_dsl_compare_twice`, the
//! other instrumentation, re-checks the index and every compared load just before the
//! commit and aborts the process with the failed check if one changed.
//!
//! | point | where |
//! |---|---|
//! | 1 | before the descriptor store |
//! | 2 | before the index (cpu) compare |
//! | 3 | after the index compare |
//! | 4 | after the first load |
//! | 5 | after each speculative store or copy |
//! | 6 | before the commit |
//!
//! ```
//! use rseq_dsl_runtime::inject;
//! inject::set_delay(6, 10_000);
//! assert_eq!(inject::delay(6), 10_000);
//! inject::clear_delays();
//! assert_eq!(inject::delay(6), 0);
//! ```

use core::sync::atomic::{AtomicU32, Ordering};

/// Number of injection points.
pub const POINTS: usize = 6;

static DELAYS: [AtomicU32; POINTS] = [const { AtomicU32::new(0) }; POINTS];

/// Sets the loop count at `point` (1-based, see the table); out-of-range points are ignored.
pub fn set_delay(point: usize, loops: u32) {
    if let Some(slot) = point.checked_sub(1).and_then(|i| DELAYS.get(i)) {
        slot.store(loops, Ordering::Relaxed);
    }
}

/// The loop count at `point` (0 when out of range).
pub fn delay(point: usize) -> u32 {
    point
        .checked_sub(1)
        .and_then(|i| DELAYS.get(i))
        .map_or(0, |slot| slot.load(Ordering::Relaxed))
}

/// Sets every point back to 0.
pub fn clear_delays() {
    for slot in &DELAYS {
        slot.store(0, Ordering::Relaxed);
    }
}

pub(crate) fn table() -> *const u32 {
    // AtomicU32 has the same in-memory representation as u32; sections only read it.
    DELAYS.as_ptr().cast()
}

/// A hook that [`prepare_unload`](crate::prepare_unload) calls between its two steps
/// (retiring the thread from this copy of the crate, then clearing `rseq_cs`), for a test
/// that sends the thread a signal exactly there. `None` (the default) for no hook.
///
/// ```
/// extern "C" fn hook() {}
/// rseq_dsl_runtime::inject::set_unload_hook(Some(hook));
/// rseq_dsl_runtime::inject::set_unload_hook(None);
/// ```
pub fn set_unload_hook(hook: Option<extern "C" fn()>) {
    let raw = hook.map_or(0, |f| f as usize);
    UNLOAD_HOOK.store(raw, Ordering::Release);
}

static UNLOAD_HOOK: core::sync::atomic::AtomicUsize = core::sync::atomic::AtomicUsize::new(0);

/// Runs the hook set by [`set_unload_hook`], if any.
pub(crate) fn run_unload_hook() {
    let raw = UNLOAD_HOOK.load(Ordering::Acquire);
    if raw != 0 {
        // SAFETY: only set_unload_hook stores a non-zero value, an `extern "C" fn()`.
        let hook: extern "C" fn() = unsafe { core::mem::transmute::<usize, extern "C" fn()>(raw) };
        hook();
    }
}
