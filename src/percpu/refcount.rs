//! A per-CPU reference count (the kernel's `percpu_ref`) as an `Arc`-like pair: the owner
//! [`PerCpuArc`] and its handles [`PerCpuRef`].
//!
//! # How it counts
//!
//! One object holds the value, a mode word, one atomic count and one `u64` count per CPU
//! (each in its own 128-byte slot). Only the sum of the per-CPU counts means anything: a
//! reference taken on CPU 0 may be dropped on CPU 1, leaving 1 there and `u64::MAX` (-1)
//! here, wrapping.
//!
//! - **While the owner lives (per-CPU mode)**, taking a reference ([`PerCpuArc::get`],
//!   [`Clone`], [`PerCpuRef::try_get`]) is one section that loads the mode word with
//!   `load_acquire`, exits if the mode is not per-CPU, and otherwise commits `+1` to the
//!   running CPU's count; dropping one is the same section committing `-1` with
//!   `commit(release)`. No lock, no atomic read-modify-write, no cache line shared with
//!   another CPU.
//! - **Threads without rseq** (see [`Path`](crate::Path)) use the atomic count in both
//!   modes: the atomic and the per-CPU counts are only ever summed, so the total stays
//!   exact whichever path each reference took on either side.
//! - **The atomic count starts at a bias** (the kernel's `PERCPU_COUNT_BIAS`), 2^63, which
//!   stands for the owner. While the per-CPU counts are not folded into it, the atomic
//!   count alone is the bias plus the references taken minus those dropped on the atomic
//!   path, which can come near zero only after 2^63 more drops than takes on that path:
//!   a reference dropped there never sees zero early.
//! - **When the owner lets go** (its drop), it switches to atomic mode: it stores the mode
//!   word (`SeqCst`), calls [`fence_all`](crate::fence_all), sums the per-CPU counts and
//!   adds `sum - bias` to the atomic count in one read-modify-write. What is left is the
//!   number of live handles; if that is zero the owner drops the value, otherwise the
//!   handle whose atomic decrement takes the count from 1 to 0 does. One decrement takes
//!   it to zero, so the value is dropped exactly once. From the switch on, taking and
//!   dropping use the atomic count, and [`PerCpuRef::try_get`] fails.
//!
//! # Why the fold is exact: the fence as the heavy side of an asymmetric barrier
//!
//! A section is the light side: a load of the mode word and a store to its CPU's count,
//! with no barrier between them beyond what the section language gives (`load_acquire` is
//! a plain load on x86_64, `ldar` on aarch64, a load and `fence r, rw` on riscv64; the
//! release commit is a plain store on x86_64, `stlr` on aarch64, `fence rw, w` and the
//! store on riscv64). The owner's switch is the heavy side: `fence_all` is membarrier's
//! `MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ`, which has every CPU that runs a thread of this
//! process execute a full barrier (`smp_mb` in the kernel's IPI handler) and restart the
//! section that thread is in, and returns only once all of them did. Take any section
//! that read per-CPU mode:
//!
//! - if it committed before its CPU took the barrier, its store is ordered before that
//!   barrier, the barrier before `fence_all`'s return, and the return before the owner's
//!   loads of the counts (the syscall is itself a full barrier): the fold sees it;
//! - if it had not committed, the IPI (or an earlier preemption or signal, which also
//!   restarts sections) sends it to its abort handler; it runs again, and its new load of
//!   the mode word comes after the barrier that follows the owner's `SeqCst` store of the
//!   mode, so it reads atomic mode and exits. A thread that was not running during the call
//!   restarts its section when it is next scheduled, after the context switch's barrier.
//!
//! So after `fence_all` returns no section commits to a count again: the counts are
//! frozen, and the fold reads their final values. This is the scheme of the kernel's
//! `percpu_rw_semaphore` and liburcu's membarrier flavour, with membarrier's rseq fence in
//! place of an RCU grace period. The handles' accesses to the value happen before its drop
//! because every decrement is a release (the section's `commit(release)`, or `fetch_sub`
//! with `Release`), the owner's fold reads the counts with acquire loads after the barrier,
//! and the thread that drops the value does so after an `Acquire` fence that follows the
//! decrement that reached zero.
//!
//! Where the fence is refused (kernels before 5.10, a seccomp filter against
//! `membarrier`), per-CPU mode cannot be left safely. A new owner therefore starts in
//! atomic mode when the process's fence does not work (every operation is then one atomic
//! read-modify-write, like `Arc`), and an owner whose switch finds the fence refused on its
//! thread (a filter installed after it was created) leaks the value rather than risk a
//! drop while a section may still count: the value is then never dropped. On targets
//! without an rseq backend every section returns `Err`, so every thread takes the atomic
//! path, and `fence_all` succeeds trivially.
//!
//! Under the test instrumentation's compare-twice mode (`--cfg rseq_dsl_compare_twice`),
//! which re-checks every compared load before the commit and assumes it changes only
//! through sections on its CPU, the mode word is the exception by design: the switch writes
//! it from another CPU and then fences. The sections therefore compare a value computed
//! from it (`mode & 1`), which compare-twice leaves alone; the fence is what makes the
//! change safe.

use core::fmt;
use core::marker::PhantomData;
use core::ops::Deref;
use core::ptr::NonNull;
use core::sync::atomic::{fence, AtomicU64, Ordering};

use super::PerCpu;
use crate::{rseq, Outcome};

/// The mode word while per-CPU sections count.
const MODE_PERCPU: u64 = 0;
/// The mode word after the switch (its low bit is what the sections test).
const MODE_ATOMIC: u64 = 1;
/// The owner's share of the atomic count (the kernel's `PERCPU_COUNT_BIAS`).
const BIAS: u64 = 1 << 63;

/// What the owner and every handle point at.
struct Inner<T> {
    /// [`MODE_PERCPU`] or [`MODE_ATOMIC`].
    mode: AtomicU64,
    /// Bias plus references counted on the atomic path; after the switch, the live handles.
    atomic: AtomicU64,
    /// Per-CPU counts, written only by the sections (on their own CPU), read by the fold.
    counts: PerCpu<AtomicU64>,
    value: T,
}

/// What one section did.
enum Counted {
    /// Committed on the running CPU's count.
    PerCpu,
    /// The mode word was not per-CPU: nothing written.
    Switched,
    /// rseq is unavailable on this thread: nothing written.
    NoRseq,
}

impl<T> Inner<T> {
    /// `+1` on the running CPU's count while in per-CPU mode.
    #[inline(always)]
    fn section_inc(&self) -> Counted {
        let mode = self.mode.as_ptr() as *const u64;
        let counts = &self.counts;
        // SAFETY: `mode` is a live u64 (read-only here); the slot is the running CPU's
        // count (get_raw checks the bound), written only by these sections, on their CPU,
        // and read by the fold with atomic loads, which see the aligned store whole.
        let out = unsafe {
            rseq!(|cpu| {
                in mode: *const u64 = mode;
                in slot: *mut u64 = counts.get_raw(cpu) as *mut u64;
                let m: u64 = mode.load_acquire();
                let dead: u64 = m & 1;
                if dead != 0 { exit; }
                commit *slot += 1;
            })
        };
        match out {
            Ok(Outcome::Committed { .. }) => Counted::PerCpu,
            Ok(_) => Counted::Switched,
            Err(_) => Counted::NoRseq,
        }
    }

    /// `-1` on the running CPU's count, with a release commit, while in per-CPU mode.
    #[inline(always)]
    fn section_dec(&self) -> Counted {
        let mode = self.mode.as_ptr() as *const u64;
        let counts = &self.counts;
        // SAFETY: as in section_inc. After the commit the caller no longer counts, and
        // nothing after the section touches `self`.
        let out = unsafe {
            rseq!(|cpu| {
                in mode: *const u64 = mode;
                in slot: *mut u64 = counts.get_raw(cpu) as *mut u64;
                in minus_one: u64 = u64::MAX;
                let m: u64 = mode.load_acquire();
                let dead: u64 = m & 1;
                if dead != 0 { exit; }
                commit(release) *slot += minus_one;
            })
        };
        match out {
            Ok(Outcome::Committed { .. }) => Counted::PerCpu,
            Ok(_) => Counted::Switched,
            Err(_) => Counted::NoRseq,
        }
    }

    /// Takes a reference for a caller that holds one (or the owner): never fails.
    #[inline]
    fn inc(&self) {
        match self.section_inc() {
            Counted::PerCpu => {}
            // The caller's own reference keeps the count above zero: a plain add.
            Counted::Switched | Counted::NoRseq => {
                self.atomic.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// Takes a reference only in per-CPU mode.
    #[inline]
    fn inc_live(&self) -> bool {
        match self.section_inc() {
            Counted::PerCpu => true,
            Counted::Switched => false,
            Counted::NoRseq => {
                // Linearised at this load: a switch after it is like one after the take.
                // The caller's reference keeps the value alive either way.
                if self.mode.load(Ordering::Acquire) != MODE_PERCPU {
                    return false;
                }
                self.atomic.fetch_add(1, Ordering::Relaxed);
                true
            }
        }
    }
}

/// Drops one reference of the object at `inner`, and the object with its last.
///
/// # Safety
///
/// The caller holds a reference of `inner` and gives it up.
#[inline]
unsafe fn release<T>(inner: NonNull<Inner<T>>) {
    // SAFETY: the caller's reference keeps the object alive until the decrement below.
    let counted = unsafe { inner.as_ref() }.section_dec();
    if let Counted::PerCpu = counted {
        // The count was per-CPU: only the owner's switch can see it reach zero.
        return;
    }
    // SAFETY: as above; only the field is touched, and not after the decrement unless it
    // was the last reference.
    let atomic = unsafe { &(*inner.as_ptr()).atomic };
    if atomic.fetch_sub(1, Ordering::Release) == 1 {
        fence(Ordering::Acquire);
        // SAFETY: the last reference is gone (the bias too: it is subtracted only with the
        // fold), so no handle or owner can reach the object any more.
        unsafe { drop(Box::from_raw(inner.as_ptr())) };
    }
}

/// The owner of a reference-counted value whose references are counted per CPU while it
/// lives: [`get`](PerCpuArc::get) hands out [`PerCpuRef`] handles, and taking or dropping
/// one is a single rseq section on the running CPU's count, with no cache line shared
/// between CPUs (`Arc::clone` is an atomic add on one shared line).
///
/// Dropping the owner switches the count to one atomic (the protocol and its memory
/// ordering are written down in the module docs of `src/percpu/refcount.rs`): the value
/// is then dropped when the last handle goes, exactly once, and [`PerCpuRef::try_get`]
/// fails from then on. The owner derefs to the value.
///
/// **Memory:** one 128-byte slot per possible CPU per object, on top of the value: meant
/// for objects that many threads reference often (a configuration, a connection, a
/// routing table), not for millions of small ones.
///
/// **Signal handlers:** taking and dropping handles are async-signal-safe (sections and
/// atomics), except the drop of the last one, which drops the value and frees memory.
///
/// ```
/// use rseq_dsl::PerCpuArc;
///
/// let config = PerCpuArc::new(String::from("routes v1"));
/// let workers: Vec<_> = (0..4)
///     .map(|_| {
///         let seed = config.get();
///         std::thread::spawn(move || {
///             for _ in 0..1000 {
///                 let r = seed.clone(); // one section on this CPU
///                 assert_eq!(r.as_str(), "routes v1");
///             }
///             seed // still alive after its owner is gone
///         })
///     })
///     .collect();
/// drop(config); // the switch: from now on, one atomic count
/// let seeds: Vec<_> = workers.into_iter().map(|w| w.join().unwrap()).collect();
/// assert!(rseq_dsl::PerCpuRef::try_get(&seeds[0]).is_none());
/// drop(seeds); // the last handle drops the String
/// ```
pub struct PerCpuArc<T> {
    inner: NonNull<Inner<T>>,
    _owns: PhantomData<Inner<T>>,
}

/// A reference to the value of a [`PerCpuArc`]: derefs to it, clones with one section on
/// the running CPU (while the owner lives), and keeps the value alive after the owner is
/// gone.
///
/// ```
/// let owner = rseq_dsl::PerCpuArc::new(vec![1, 2, 3]);
/// let r = owner.get();
/// let r2 = r.clone();
/// drop(owner);
/// assert_eq!(r2.iter().sum::<i32>(), 6);
/// ```
pub struct PerCpuRef<T> {
    inner: NonNull<Inner<T>>,
    _owns: PhantomData<Inner<T>>,
}

// SAFETY: as for Arc<T>: handles on several threads share &T (T: Sync) and the last one,
// on any thread, drops T (T: Send). The counts are atomics or written by sections.
unsafe impl<T: Send + Sync> Send for PerCpuArc<T> {}
// SAFETY: as above.
unsafe impl<T: Send + Sync> Sync for PerCpuArc<T> {}
// SAFETY: as above.
unsafe impl<T: Send + Sync> Send for PerCpuRef<T> {}
// SAFETY: as above.
unsafe impl<T: Send + Sync> Sync for PerCpuRef<T> {}

impl<T> PerCpuArc<T> {
    /// Owns `value`, counting references per CPU (or with one atomic where the process's
    /// membarrier fence does not work).
    ///
    /// ```
    /// let owner = rseq_dsl::PerCpuArc::new(42);
    /// assert_eq!(*owner, 42);
    /// ```
    pub fn new(value: T) -> Self {
        let mode = if super::fences_work().is_ok() {
            MODE_PERCPU
        } else {
            MODE_ATOMIC
        };
        let inner = Box::new(Inner {
            mode: AtomicU64::new(mode),
            atomic: AtomicU64::new(BIAS),
            counts: PerCpu::new(|_| AtomicU64::new(0)),
            value,
        });
        PerCpuArc {
            inner: NonNull::from(Box::leak(inner)),
            _owns: PhantomData,
        }
    }

    #[inline(always)]
    fn inner(&self) -> &Inner<T> {
        // SAFETY: the owner's bias keeps the object alive as long as the owner.
        unsafe { self.inner.as_ref() }
    }

    /// A new reference: one section on the running CPU's count (an atomic add on a thread
    /// without rseq).
    ///
    /// ```
    /// let owner = rseq_dsl::PerCpuArc::new("shared");
    /// let handles: Vec<_> = (0..3).map(|_| owner.get()).collect();
    /// assert!(handles.iter().all(|h| **h == "shared"));
    /// ```
    #[inline]
    pub fn get(&self) -> PerCpuRef<T> {
        self.inner().inc();
        PerCpuRef {
            inner: self.inner,
            _owns: PhantomData,
        }
    }

    /// Whether references are still counted per CPU: true unless the process's fence does
    /// not work (then the count was atomic from the start).
    ///
    /// ```
    /// let owner = rseq_dsl::PerCpuArc::new(());
    /// println!("per-CPU counting: {}", owner.is_per_cpu());
    /// ```
    pub fn is_per_cpu(&self) -> bool {
        self.inner().mode.load(Ordering::Relaxed) == MODE_PERCPU
    }

    /// The number of live handles (the owner not included), exact when no handle is taken
    /// or dropped meanwhile.
    ///
    /// ```
    /// let owner = rseq_dsl::PerCpuArc::new(0u8);
    /// let a = owner.get();
    /// let b = a.clone();
    /// assert_eq!(owner.handles(), 2);
    /// drop((a, b));
    /// assert_eq!(owner.handles(), 0);
    /// ```
    pub fn handles(&self) -> u64 {
        let inner = self.inner();
        let per_cpu = inner
            .counts
            .iter()
            .fold(0u64, |s, c| s.wrapping_add(c.load(Ordering::Acquire)));
        inner
            .atomic
            .load(Ordering::Acquire)
            .wrapping_add(per_cpu)
            .wrapping_sub(BIAS)
    }
}

impl<T> Deref for PerCpuArc<T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        &self.inner().value
    }
}

impl<T> Drop for PerCpuArc<T> {
    /// The switch to atomic mode (the module docs give the argument).
    fn drop(&mut self) {
        let inner = self.inner();
        if inner.mode.load(Ordering::Relaxed) == MODE_PERCPU {
            inner.mode.store(MODE_ATOMIC, Ordering::SeqCst);
            if crate::fence_all().is_err() {
                // A section may still commit to a count: never fold, never drop the value.
                return;
            }
        }
        let per_cpu = inner
            .counts
            .iter()
            .fold(0u64, |s, c| s.wrapping_add(c.load(Ordering::Acquire)));
        let fold = per_cpu.wrapping_sub(BIAS);
        // One read-modify-write folds the per-CPU sum and gives up the bias: what remains
        // is the number of live handles.
        let before = inner.atomic.fetch_add(fold, Ordering::AcqRel);
        if before.wrapping_add(fold) == 0 {
            fence(Ordering::Acquire);
            // SAFETY: no handle is left and the owner is going: nobody reaches the object.
            unsafe { drop(Box::from_raw(self.inner.as_ptr())) };
        }
    }
}

impl<T> PerCpuRef<T> {
    /// A new reference if the owner has not let go yet (the kernel's
    /// `percpu_ref_tryget_live`); `None` once the switch to atomic mode happened (or, where
    /// the count was atomic from the start, once the owner was dropped).
    ///
    /// An associated function, as for `Arc`, so that it does not shadow a method of `T`.
    ///
    /// ```
    /// use rseq_dsl::{PerCpuArc, PerCpuRef};
    /// let owner = PerCpuArc::new(1);
    /// let r = owner.get();
    /// assert!(PerCpuRef::try_get(&r).is_some() || !owner.is_per_cpu());
    /// drop(owner);
    /// assert!(PerCpuRef::try_get(&r).is_none());
    /// ```
    #[inline]
    pub fn try_get(this: &Self) -> Option<PerCpuRef<T>> {
        // SAFETY: `this` holds a reference.
        let inner = unsafe { this.inner.as_ref() };
        inner.inc_live().then(|| PerCpuRef {
            inner: this.inner,
            _owns: PhantomData,
        })
    }

    /// Whether the owner still lives (references are counted per CPU).
    ///
    /// ```
    /// use rseq_dsl::{PerCpuArc, PerCpuRef};
    /// let owner = PerCpuArc::new(());
    /// let r = owner.get();
    /// assert_eq!(PerCpuRef::is_live(&r), owner.is_per_cpu());
    /// drop(owner);
    /// assert!(!PerCpuRef::is_live(&r));
    /// ```
    pub fn is_live(this: &Self) -> bool {
        // SAFETY: `this` holds a reference.
        unsafe { this.inner.as_ref() }.mode.load(Ordering::Acquire) == MODE_PERCPU
    }

    /// Whether two handles reference the same value.
    ///
    /// ```
    /// use rseq_dsl::{PerCpuArc, PerCpuRef};
    /// let (a, b) = (PerCpuArc::new(1), PerCpuArc::new(1));
    /// assert!(PerCpuRef::ptr_eq(&a.get(), &a.get()));
    /// assert!(!PerCpuRef::ptr_eq(&a.get(), &b.get()));
    /// ```
    pub fn ptr_eq(this: &Self, other: &Self) -> bool {
        this.inner == other.inner
    }
}

impl<T> Clone for PerCpuRef<T> {
    /// One section on the running CPU's count while the owner lives; an atomic add after.
    #[inline]
    fn clone(&self) -> Self {
        // SAFETY: self holds a reference.
        unsafe { self.inner.as_ref() }.inc();
        PerCpuRef {
            inner: self.inner,
            _owns: PhantomData,
        }
    }
}

impl<T> Deref for PerCpuRef<T> {
    type Target = T;

    #[inline]
    fn deref(&self) -> &T {
        // SAFETY: self holds a reference, which keeps the value alive.
        unsafe { &self.inner.as_ref().value }
    }
}

impl<T> Drop for PerCpuRef<T> {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: this handle's reference is given up here, once.
        unsafe { release(self.inner) }
    }
}

impl<T: fmt::Debug> fmt::Debug for PerCpuArc<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PerCpuArc")
            .field("value", &**self)
            .field("per_cpu", &self.is_per_cpu())
            .finish()
    }
}

impl<T: fmt::Debug> fmt::Debug for PerCpuRef<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::sync::Arc;

    /// Counts its drops.
    struct Tracked(Arc<AtomicUsize>);
    impl Drop for Tracked {
        fn drop(&mut self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[test]
    fn the_owner_alone_drops_the_value() {
        let drops = Arc::new(AtomicUsize::new(0));
        let owner = PerCpuArc::new(Tracked(drops.clone()));
        drop(owner.get());
        assert_eq!(drops.load(Ordering::SeqCst), 0);
        drop(owner);
        assert_eq!(drops.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn the_last_handle_drops_the_value() {
        let drops = Arc::new(AtomicUsize::new(0));
        let owner = PerCpuArc::new(Tracked(drops.clone()));
        let a = owner.get();
        let b = a.clone();
        drop(owner);
        assert_eq!(drops.load(Ordering::SeqCst), 0);
        assert!(PerCpuRef::try_get(&a).is_none());
        let c = a.clone(); // atomic mode: still allowed for a holder
        drop(a);
        drop(b);
        assert_eq!(drops.load(Ordering::SeqCst), 0);
        drop(c);
        assert_eq!(drops.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn counts_are_sums_over_cpus() {
        let owner = PerCpuArc::new(());
        let handles: Vec<_> = (0..100).map(|_| owner.get()).collect();
        assert_eq!(owner.handles(), 100);
        // Dropped on other threads (other CPUs, maybe): the sum is still right.
        std::thread::scope(|s| {
            for chunk in handles.chunks(25) {
                let chunk = chunk.to_vec();
                s.spawn(move || drop(chunk));
            }
        });
        drop(handles);
        assert_eq!(owner.handles(), 0);
    }

    #[test]
    fn the_atomic_path_mixes_with_sections() {
        // The fallback path driven directly, alongside sections.
        let drops = Arc::new(AtomicUsize::new(0));
        let owner = PerCpuArc::new(Tracked(drops.clone()));
        let inner = owner.inner();
        let mut handles = Vec::new();
        for i in 0..1000 {
            if i % 2 == 0 {
                handles.push(owner.get());
            } else {
                inner.atomic.fetch_add(1, Ordering::Relaxed);
                handles.push(PerCpuRef {
                    inner: owner.inner,
                    _owns: PhantomData,
                });
            }
        }
        assert_eq!(owner.handles(), 1000);
        for (i, h) in handles.drain(..).enumerate() {
            if i % 3 == 0 {
                // Dropped on the atomic path, whatever path took it.
                inner.atomic.fetch_sub(1, Ordering::Release);
                core::mem::forget(h);
            } else {
                drop(h);
            }
        }
        assert_eq!(owner.handles(), 0);
        drop(owner);
        assert_eq!(drops.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn every_take_and_drop_around_the_switch_counts_once() {
        for _ in 0..50 {
            let drops = Arc::new(AtomicUsize::new(0));
            let owner = PerCpuArc::new(Tracked(drops.clone()));
            let threads: Vec<_> = (0..4)
                .map(|_| {
                    let seed = owner.get();
                    std::thread::spawn(move || {
                        let mut kept = Vec::new();
                        for i in 0..2000 {
                            if let Some(r) = PerCpuRef::try_get(&seed) {
                                kept.push(r);
                            }
                            kept.push(seed.clone());
                            if i % 3 == 0 {
                                kept.clear();
                            }
                        }
                    })
                })
                .collect();
            std::thread::yield_now();
            drop(owner);
            threads.into_iter().for_each(|t| t.join().unwrap());
            assert_eq!(drops.load(Ordering::SeqCst), 1);
        }
    }
}
