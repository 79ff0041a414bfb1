//! A per-CPU counter: lock-free and atomic-free adds, a sum over every CPU.

use core::fmt;
#[cfg(target_pointer_width = "32")]
use core::sync::atomic::AtomicU32;
use core::sync::atomic::{AtomicU64, Ordering};

use super::{fallback_cpu, Path, PerCpu};
use crate::rseq;

/// The two words of a CPU's slot.
///
/// Why threads on the rseq path and threads on the fallback path may add to the same
/// counter at the same time: they never write the same word.
///
/// - `rseq` is written only by the section `commit *slot += n`, which runs on the CPU
///   whose slot it is and commits only there: the kernel restarts it if it is preempted,
///   migrated or signalled before the commit. Two writers of one `rseq` word therefore
///   never overlap, even though the add is not a locked instruction.
/// - `atomic` is written only by `fetch_add` (a locked read-modify-write), from threads
///   without rseq that index by `sched_getcpu()` and may be on any CPU by then: atomics
///   make that harmless.
///
/// Readers (`sum`) use atomic loads on both. The section's add is an aligned 8-byte store
/// (x86_64 `add [m], r`; aarch64 `ldr; add; str`), which the hardware performs as one
/// single-copy-atomic write, the same instruction a relaxed `AtomicU64::store` emits, so a
/// reader sees the old or the new value, never a torn one.
///
/// On 32-bit targets the section's word is a `u32` (registers are 32 bits there, and a
/// section holds no 64-bit value): an add that would carry out of it leaves the section and
/// goes to `atomic` instead, so the sum stays exact, and a CPU whose word is nearly full
/// takes the atomic path from then on.
#[derive(Default)]
#[repr(C)]
struct Slot {
    rseq: RseqWord,
    atomic: AtomicU64,
}

#[cfg(target_pointer_width = "64")]
type RseqWord = AtomicU64;
#[cfg(target_pointer_width = "32")]
type RseqWord = AtomicU32;

impl Slot {
    fn load(&self) -> u64 {
        #[allow(clippy::useless_conversion)] // u64 from u64 on 64-bit targets
        let rseq = u64::from(self.rseq.load(Ordering::Relaxed));
        rseq.wrapping_add(self.atomic.load(Ordering::Relaxed))
    }
}

/// A counter with one slot per CPU: [`add`](PerCpuCounter::add) is an rseq section on the
/// running CPU's slot (no lock, no atomic instruction); [`sum`](PerCpuCounter::sum) adds
/// every slot.
///
/// Where rseq is unavailable on a thread, `add` does an atomic `fetch_add` on a second word
/// of the slot of `sched_getcpu()`: still lock-free and exact, just slower.
/// [`path`](PerCpuCounter::path) says which one the calling thread takes.
///
/// **Signal handlers:** `add` and `sum` are async-signal-safe on both paths, including a
/// thread's first use inside a handler (registration then happens in the handler, which
/// the runtime makes safe): profilers may count from SIGPROF. Creating a counter
/// allocates, so do it before the handler is installed.
///
/// ```
/// use rseq_dsl::PerCpuCounter;
/// use std::sync::Arc;
///
/// let hits = Arc::new(PerCpuCounter::new());
/// let threads: Vec<_> = (0..4)
///     .map(|_| {
///         let hits = hits.clone();
///         std::thread::spawn(move || (0..1000).for_each(|_| hits.add(1)))
///     })
///     .collect();
/// threads.into_iter().for_each(|t| t.join().unwrap());
/// assert_eq!(hits.sum(), 4000);
/// println!("counted on the {} path", hits.path());
/// ```
pub struct PerCpuCounter {
    slots: PerCpu<Slot>,
}

// Send and Sync are automatic: PerCpu<Slot> is Send + Sync because Slot holds only atomics.

impl PerCpuCounter {
    /// A counter at zero, one slot per possible CPU.
    ///
    /// ```
    /// assert_eq!(rseq_dsl::PerCpuCounter::new().sum(), 0);
    /// ```
    pub fn new() -> Self {
        PerCpuCounter {
            slots: PerCpu::default(),
        }
    }

    /// Adds `n` (wrapping at 2^64) on the running CPU's slot.
    ///
    /// ```
    /// let c = rseq_dsl::PerCpuCounter::new();
    /// c.add(2);
    /// c.add(3);
    /// assert_eq!(c.sum(), 5);
    /// ```
    #[inline]
    pub fn add(&self, n: u64) {
        let slots = &self.slots;
        // SAFETY: the slot belongs to the CPU the section runs on (get_raw checks the
        // bound); the `rseq` word is only ever written by this section (see Slot).
        #[cfg(target_pointer_width = "64")]
        let out = unsafe {
            rseq!(|cpu| {
                in slot: *mut u64 = slots.get_raw(cpu) as *mut u64;
                in n: u64 = n;
                commit *slot += n;
            })
        };
        // A 32-bit word (see Slot): `!v` is the room left in it, and an add that does not
        // fit leaves through the exit, to the atomic word.
        #[cfg(target_pointer_width = "32")]
        let out = match u32::try_from(n) {
            // SAFETY: as above.
            Ok(n) => unsafe {
                rseq!(|cpu| {
                    in slot: *mut u32 = slots.get_raw(cpu) as *mut u32;
                    in n: u32 = n;
                    let v: u32 = *slot;
                    let room: u32 = !v;
                    if n > room { exit; }
                    commit *slot = v + n;
                })
            },
            Err(_) => return self.add_fallback(n),
        };
        if !matches!(out, Ok(crate::Outcome::Committed { .. })) {
            self.add_fallback(n);
        }
    }

    #[cold]
    #[inline(never)]
    fn add_fallback(&self, n: u64) {
        let slot = self.slots.get(fallback_cpu(self.slots.len()));
        slot.expect("in range")
            .atomic
            .fetch_add(n, Ordering::Relaxed);
    }

    /// The sum of every slot (wrapping at 2^64).
    ///
    /// Exact once the adds it should see have returned; while adds run concurrently it
    /// sees each of them or not, slot by slot.
    ///
    /// ```
    /// let c = rseq_dsl::PerCpuCounter::new();
    /// (0..10).for_each(|i| c.add(i));
    /// assert_eq!(c.sum(), 45);
    /// ```
    pub fn sum(&self) -> u64 {
        self.slots
            .iter()
            .fold(0u64, |sum, s| sum.wrapping_add(s.load()))
    }

    /// The path `add` takes on the calling thread.
    ///
    /// ```
    /// let c = rseq_dsl::PerCpuCounter::new();
    /// assert_eq!(c.path(), rseq_dsl::Path::current());
    /// ```
    pub fn path(&self) -> Path {
        Path::current()
    }

    /// Per-slot sums, for a look at how adds spread over CPUs.
    ///
    /// ```
    /// let c = rseq_dsl::PerCpuCounter::new();
    /// c.add(7);
    /// assert_eq!(c.per_cpu().iter().sum::<u64>(), 7);
    /// ```
    pub fn per_cpu(&self) -> Vec<u64> {
        self.slots.iter().map(Slot::load).collect()
    }
}

impl Default for PerCpuCounter {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Debug for PerCpuCounter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PerCpuCounter")
            .field("sum", &self.sum())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn counts_exactly_across_threads() {
        let c = Arc::new(PerCpuCounter::new());
        let threads: Vec<_> = (0..2 * crate::possible_cpus() + 2)
            .map(|_| {
                let c = c.clone();
                std::thread::spawn(move || (0..20_000).for_each(|_| c.add(3)))
            })
            .collect();
        let n = threads.len() as u64;
        threads.into_iter().for_each(|t| t.join().unwrap());
        assert_eq!(c.sum(), n * 60_000);
    }

    #[test]
    fn both_paths_mix_exactly() {
        // The fallback path, driven directly, alongside the rseq path on other threads.
        let c = Arc::new(PerCpuCounter::new());
        let threads: Vec<_> = (0..4u32)
            .map(|i| {
                let c = c.clone();
                std::thread::spawn(move || {
                    for _ in 0..20_000 {
                        if i.is_multiple_of(2) {
                            c.add(1)
                        } else {
                            c.add_fallback(1)
                        }
                    }
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        assert_eq!(c.sum(), 80_000);
    }

    #[test]
    fn wraps() {
        let c = PerCpuCounter::new();
        c.add(u64::MAX);
        c.add(2);
        assert_eq!(c.sum(), 1);
    }
}
