//! Delay injection for tests (feature `delay-injection`): sections compiled with the
//! `delay-injection` feature of `rseq-dsl` busy-wait at numbered points, each for the
//! number of iterations set here, to widen the window in which the kernel restarts them.
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
