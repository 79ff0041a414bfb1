//! A lazily computed process-wide value that no reader ever waits for.
//!
//! `std::sync::OnceLock` makes later callers wait while one thread runs the initialiser.
//! That wait is a lock: in a child forked while another parent thread was initialising,
//! the initialiser never finishes (the thread running it does not exist there) and the
//! child's first use blocks for ever; a signal handler that interrupts its own thread's
//! initialiser deadlocks the same way. [`OnceWord`] never waits instead: a reader that
//! finds it empty computes the value itself, and the first to finish publishes it with a
//! single compare-exchange of one 64-bit word, so there is no half-published state that a
//! fork or a signal could freeze. The price is that initialisers must be idempotent: the
//! same value from any thread, and side effects that may happen more than once.

use core::marker::PhantomData;
use core::sync::atomic::{AtomicU64, Ordering};

use crate::FenceError;

/// Set in the word once a value is published; a value is packed into the other 63 bits.
const SET: u64 = 1 << 63;

/// A `Copy` value that fits in 63 bits, so that [`OnceWord`] can publish it atomically.
///
/// `unpack(pack(v)) == v` must hold for the values that get published; the cell checks it
/// and keeps any value that does not round-trip unpublished (computed on every use: slower,
/// never wrong).
#[doc(hidden)]
pub trait Packed: Copy + PartialEq {
    /// The value as bits (only the low 63 are kept).
    fn pack(self) -> u64;
    /// The value back from [`pack`](Packed::pack)'s bits.
    fn unpack(bits: u64) -> Self;
}

/// A process-wide value computed on first use, without a lock: see the module's docs.
///
/// ```
/// use rseq_dsl_runtime::__private::OnceWord;
/// static ANSWER: OnceWord<u32> = OnceWord::new();
/// assert_eq!(ANSWER.get_or_compute(|| 42), 42);
/// // Published: later computations are not run.
/// assert_eq!(ANSWER.get_or_compute(|| unreachable!()), 42);
/// ```
#[doc(hidden)]
pub struct OnceWord<T> {
    bits: AtomicU64,
    _value: PhantomData<T>,
}

impl<T: Packed> OnceWord<T> {
    /// An empty cell.
    pub const fn new() -> Self {
        OnceWord {
            bits: AtomicU64::new(0),
            _value: PhantomData,
        }
    }

    /// The published value, if any.
    #[inline]
    pub fn get(&self) -> Option<T> {
        // Acquire pairs with the publishing compare-exchange: a value may stand for a side
        // effect of its computation (membarrier's registration) that the reader relies on.
        let bits = self.bits.load(Ordering::Acquire);
        (bits & SET != 0).then(|| T::unpack(bits & !SET))
    }

    /// The published value, or `compute()`'s, published if no other thread was first.
    ///
    /// Never waits: while the cell is empty, every caller runs `compute` itself, so it must
    /// give the same value on every thread and tolerate running more than once. Once a
    /// value is published every caller gets that one, including a caller whose own
    /// computation lost the race.
    #[inline]
    pub fn get_or_compute(&self, compute: impl FnOnce() -> T) -> T {
        match self.get() {
            Some(value) => value,
            None => self.publish(compute()),
        }
    }

    #[cold]
    fn publish(&self, value: T) -> T {
        let bits = value.pack() & !SET;
        if T::unpack(bits) != value {
            // Not representable in the word: stay empty rather than publish a wrong value.
            return value;
        }
        match self
            .bits
            .compare_exchange(0, bits | SET, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => value,
            // Another thread published first: its value is the one everybody sees.
            Err(published) => T::unpack(published & !SET),
        }
    }
}

impl<T: Packed> Default for OnceWord<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl Packed for u32 {
    fn pack(self) -> u64 {
        self.into()
    }
    fn unpack(bits: u64) -> Self {
        bits as u32
    }
}

impl Packed for usize {
    fn pack(self) -> u64 {
        self as u64
    }
    fn unpack(bits: u64) -> Self {
        bits as usize
    }
}

/// Bit 0 tells `Some` from `None`; the offset, sign-extended from the other 62 bits (a
/// thread-pointer offset is far smaller than 2^61 on every supported architecture).
impl Packed for Option<isize> {
    fn pack(self) -> u64 {
        match self {
            None => 0,
            Some(offset) => ((offset as i64 as u64) << 1) | 1,
        }
    }
    fn unpack(bits: u64) -> Self {
        // Bit 62 is the payload's sign: move it to bit 63, then shift back arithmetically.
        (bits & 1 != 0).then_some((((bits << 1) as i64) >> 2) as isize)
    }
}

/// The low two bits are the variant, the payload sits above them.
impl Packed for Result<(), FenceError> {
    fn pack(self) -> u64 {
        match self {
            Ok(()) => 0,
            Err(FenceError::Unsupported) => 1,
            Err(FenceError::Errno(errno)) => 2 | (u64::from(errno as u32) << 2),
            Err(FenceError::InvalidCpu(cpu)) => 3 | ((cpu as u64) << 2),
        }
    }
    fn unpack(bits: u64) -> Self {
        match bits & 3 {
            0 => Ok(()),
            1 => Err(FenceError::Unsupported),
            2 => Err(FenceError::Errno((bits >> 2) as u32 as i32)),
            _ => Err(FenceError::InvalidCpu((bits >> 2) as usize)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::sync::Barrier;

    fn round_trips<T: Packed + core::fmt::Debug>(values: &[T]) {
        for &v in values {
            let cell = OnceWord::new();
            assert_eq!(cell.get(), None);
            assert_eq!(cell.get_or_compute(|| v), v);
            assert_eq!(cell.get(), Some(v), "{v:?} was not published");
        }
    }

    #[test]
    fn every_value_of_the_runtime_round_trips() {
        round_trips(&[0u32, 1, 20, u32::MAX]);
        round_trips(&[0usize, 1, 4096, usize::MAX >> 1]);
        round_trips(&[
            None,
            Some(0isize),
            Some(-1),
            Some(0x7f0),
            Some(isize::MIN / 2048),
        ]);
        round_trips(&[Some(isize::MAX >> 2), Some(isize::MIN >> 2)]);
        round_trips(&[
            Ok(()),
            Err(FenceError::Unsupported),
            Err(FenceError::Errno(1)), // EPERM
            Err(FenceError::Errno(-1)),
            Err(FenceError::Errno(i32::MAX)),
            Err(FenceError::InvalidCpu(4095)),
        ]);
    }

    /// Only 64-bit words can hold values that do not fit: a 32-bit `usize` or `isize` always
    /// fits the 63-bit payload.
    #[test]
    #[cfg(target_pointer_width = "64")]
    fn values_that_do_not_fit_are_computed_each_time_never_truncated() {
        let cell = OnceWord::new();
        assert_eq!(cell.get_or_compute(|| usize::MAX), usize::MAX);
        assert_eq!(cell.get(), None);
        let cell = OnceWord::new();
        assert_eq!(cell.get_or_compute(|| Some(isize::MIN)), Some(isize::MIN));
        assert_eq!(cell.get(), None);
        // The cell stays usable: a representable value is published after all.
        assert_eq!(cell.get_or_compute(|| Some(8)), Some(8));
        assert_eq!(cell.get(), Some(Some(8)));
    }

    /// Many threads hit an empty cell at once, each offering a different value: nobody
    /// waits, exactly one value is published, and every caller, loser or late, returns it.
    #[test]
    fn concurrent_first_use_publishes_one_value() {
        const THREADS: usize = 16;
        for round in 0..200u32 {
            let cell = OnceWord::<u32>::new();
            let computed = AtomicUsize::new(0);
            let start = Barrier::new(THREADS);
            let seen: Vec<u32> = std::thread::scope(|s| {
                let workers: Vec<_> = (0..THREADS as u32)
                    .map(|t| {
                        let (cell, computed, start) = (&cell, &computed, &start);
                        s.spawn(move || {
                            start.wait();
                            cell.get_or_compute(|| {
                                computed.fetch_add(1, Ordering::Relaxed);
                                round * 100 + t
                            })
                        })
                    })
                    .collect();
                workers.into_iter().map(|w| w.join().unwrap()).collect()
            });
            let published = cell.get().expect("published");
            assert!(seen.iter().all(|&v| v == published), "{seen:?}");
            assert!((round * 100..round * 100 + THREADS as u32).contains(&published));
            assert!(computed.load(Ordering::Relaxed) >= 1);
            assert_eq!(cell.get_or_compute(|| unreachable!()), published);
        }
    }

    /// A computation that never returns (the thread running it is stopped, as one left
    /// behind by fork is) does not hold up anybody else.
    #[test]
    fn a_stuck_computation_blocks_no_one() {
        static CELL: OnceWord<u32> = OnceWord::new();
        let (entered_tx, entered_rx) = std::sync::mpsc::channel();
        let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
        let stuck = std::thread::spawn(move || {
            CELL.get_or_compute(|| {
                entered_tx.send(()).unwrap();
                release_rx.recv().unwrap();
                7
            })
        });
        entered_rx.recv().unwrap();
        // The first computation is still running: a second caller computes and publishes.
        assert_eq!(CELL.get_or_compute(|| 7), 7);
        assert_eq!(CELL.get(), Some(7));
        release_tx.send(()).unwrap();
        assert_eq!(stuck.join().unwrap(), 7);
    }
}
