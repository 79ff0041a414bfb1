//! A per-CPU reader-writer lock for read-mostly data: a reader touches only its CPU's
//! count, with one rseq section to lock and one to unlock (no atomic read-modify-write, no
//! fence); a writer pays for both sides, with membarrier's rseq fence.

use core::cell::UnsafeCell;
use core::fmt;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard, PoisonError, TryLockError};
use std::time::Duration;

use super::{fallback_cpu, fences_work, Path, PerCpu};
use crate::rseq;

/// The word's bit while a writer holds (or is acquiring) the lock.
const WRITER: u64 = 1;
/// The word's bit in the mode where fences fail: sections always exit, readers use atomics.
const ATOMIC_ONLY: u64 = 2;
/// The word's bit until the first use decides the mode.
const UNDECIDED: u64 = 4;
/// Every bit the word may hold.
const MASK: u64 = WRITER | ATOMIC_ONLY | UNDECIDED;
// The read-lock section spells MASK as a literal.
const _: () = assert!(MASK == 7);

/// A CPU's reader counts: `lock` and `unlock` are written only by sections on this CPU
/// (plain, single-copy atomic stores, as in `PerCpuCounter`), `atomic` only by atomic
/// read-modify-writes. Two words for the sections rather than one count up and down, so
/// that a lock and the unlock that follows it on the same CPU are independent stores
/// rather than two read-modify-writes of one word, each waiting for the other's store.
#[derive(Default)]
#[repr(C)]
struct Slot {
    lock: AtomicU64,
    unlock: AtomicU64,
    atomic: AtomicU64,
}

/// The writer word, alone in its 128 bytes: every reader loads it, so no other write (an
/// `Arc`'s counts, the mutex) may share its cache lines.
#[repr(C, align(128))]
struct Word(AtomicU64);

/// A reader-writer lock whose readers touch only their CPU's count: lock and unlock are one
/// rseq section each, with no atomic read-modify-write and no fence, so readers on
/// different CPUs share no written cache line. Writers exclude each other with a mutex and
/// readers with membarrier's rseq fence, which makes writes cost microseconds: use it for
/// data that is read millions of times a second and written rarely (a configuration, a
/// routing table).
///
/// The API follows [`std::sync::RwLock`] without poisoning: [`read`](Self::read),
/// [`write`](Self::write), [`try_read`](Self::try_read), [`try_write`](Self::try_write),
/// guards that deref, [`into_inner`](Self::into_inner), [`get_mut`](Self::get_mut).
/// Writers are preferred (the policy and the memory-ordering argument are below). A thread without rseq (see [`Path`]) uses per-CPU atomic counts with
/// `SeqCst`, in the same lock.
///
/// A read guard may be held across migrations and dropped on another CPU or thread.
///
/// **Signal handlers:** [`try_read`](Self::try_read) and dropping its guard are
/// async-signal-safe (a section or atomics; no lock, no allocation). `read` in a handler
/// can deadlock exactly like `std::sync::RwLock::read`: if the handler interrupted a
/// thread that holds a read guard while a writer waits, the handler waits for the writer,
/// which waits for that guard. Writing is not async-signal-safe.
///
/// **Fork:** a read guard held by another thread when the process forked stays counted
/// in the child for ever (its count is memory the child copied): reads keep working
/// there, [`try_write`](Self::try_write) returns `None`, and `write` waits for ever. A
/// write lock held at the fork likewise stays held: readers and writers in the child
/// wait for ever, `try_read` and `try_write` return `None`. As with `std::sync::RwLock`.
///
/// ```
/// use rseq_dsl::PerCpuRwLock;
/// use std::sync::Arc;
///
/// let routes = Arc::new(PerCpuRwLock::new(vec![("10.0.0.0/8", 1u32)]));
/// let readers: Vec<_> = (0..4)
///     .map(|_| {
///         let routes = routes.clone();
///         std::thread::spawn(move || (0..1000).map(|_| routes.read()[0].1 as u64).sum::<u64>())
///     })
///     .collect();
/// routes.write().push(("192.168.0.0/16", 2));
/// for r in readers {
///     assert_eq!(r.join().unwrap(), 1000);
/// }
/// assert_eq!(routes.read().len(), 2);
/// ```
///
/// # The protocol
///
/// State: per CPU, a count of read locks and a count of read unlocks (written only by
/// sections on that CPU) and a count written only by `fetch_add`/`fetch_sub` of threads
/// without rseq; a writer word; a mutex that writers hold while they write; the value.
/// The number of readers inside is the sum over every CPU of `lock - unlock + atomic`
/// (wrapping `u64`s: a CPU's own counts mean nothing alone).
///
/// - **Read lock** (rseq): one section, `let w = word.load_acquire(); if w != 0 { exit; }
///   commit *lock += 1;` on the running CPU's counts.
/// - **Read unlock** (rseq): one section, `commit(release) *unlock += 1;` on whatever CPU
///   the thread runs on then (a read guard may migrate). Two counts rather than one that
///   goes up and down, so that a lock and the unlock after it are not two
///   read-modify-writes of one word, each waiting for the other's store (2.9 instead of
///   4.5 ns per read lock+unlock here).
/// - **Write lock**: take the writers' mutex, store `WRITER` into the word (`SeqCst`), then
///   [`fence_all`](crate::fence_all), then wait until the sum of every count (both words
///   of every CPU) is zero: spin briefly, yield, then sleep with a doubling backoff (up to
///   1 ms), never an unbounded spin. **Write unlock**: clear the word (`Release`), then
///   release the mutex.
/// - **Without rseq** on a thread (see [`Path`]): `atomic.fetch_add(1, SeqCst)` on the
///   slot of `sched_getcpu()`, then `word.load(SeqCst)`; if a writer is there, undo with
///   `fetch_sub` and wait. Unlock: `fetch_sub(1, Release)`. This is Dekker's pattern
///   against the writer's `SeqCst` store and `SeqCst` loads of the counts: at least one of
///   the two sees the other. Threads on both paths share one lock; the writer sums both
///   words, so a guard may even be taken on one path and released on the other.
///
/// # Why a writer never overlaps a reader
///
/// The fence is the heavy side of an asymmetric barrier, as in the kernel's
/// `percpu_rw_semaphore` (whose writer waits for an RCU grace period) and liburcu's
/// membarrier flavour: `MEMBARRIER_CMD_PRIVATE_EXPEDITED_RSEQ` interrupts every CPU that
/// runs a thread of this process, executes a full memory barrier there, and restarts the
/// rseq section that thread had in flight; a thread that is not running gets the same
/// from the scheduler (a context switch is a full barrier, and a preempted section
/// restarts). In each reader thread's program order the fence therefore falls at one
/// point, with a full barrier there, and relative to that point every read-lock section
/// did one of three things:
///
/// 1. **It committed before the point.** The barrier there makes its `+1` visible before
///    `fence_all` returns, so the writer's sum includes it and the writer waits for the
///    matching unlock.
/// 2. **It was in flight at the point.** The kernel restarts it; the new attempt loads the
///    word after the barrier, which is after the writer's store (the writer's `SeqCst`
///    store precedes its system call, which starts with a full barrier): it sees `WRITER`
///    and exits without committing.
/// 3. **It started after the point.** Its load of the word comes after the barrier and
///    sees `WRITER` for the same reason: it exits.
///
/// So after the fence no read lock can commit until the writer clears the word: the lock
/// counts are frozen, the unlock counts only grow, and the atomic counts only go down,
/// except for a fallback reader's transient `+1` that it undoes. The writer's sum, read
/// count by count, is therefore at least the number of guards still held when it reads
/// the last count: a zero sum means that none is held then, nor later. (Counts are `u64`
/// and wrap; the true sum is small and non-negative, so its value modulo 2^64 is zero
/// exactly when the true sum is.)
///
/// **Why the critical section's loads cannot leak above the read lock.** The commit is a
/// plain store, and every one of the three architectures may perform a later load before
/// an earlier store is visible (x86's store buffer included). That is harmless: what
/// bounds the critical section from above is the acquire load of the word, and the
/// commit's visibility is the fence's business (case 1). The acquire load compiles to
/// (see `macros/golden/*/load_acquire.s`): on **x86_64** a plain `mov` (x86-TSO never
/// reorders a load with a later load or store); on **aarch64** `ldar`, which orders every
/// later load and store after it; on **riscv64** the load followed by `fence r,rw`. A
/// critical-section load therefore reads memory no earlier than the check that found no
/// writer. The acquire also pairs with the previous writer's `Release` store that cleared
/// the word: a reader that finds 0 sees everything that writer wrote.
///
/// **Why it cannot leak below the read unlock.** The unlock commits with
/// `commit(release)`: on x86_64 a plain store (stores are release under TSO), on aarch64
/// `stlr`, on riscv64 `fence rw,w` before the store; every load and store of the critical
/// section is performed before the `+1` is visible. The writer reads the counts with
/// `SeqCst` (acquire) loads. An unlock count it reads may have been written by a later
/// unlock on the same CPU rather than this one; each of those is itself a release store
/// whose section read the previous value (sections on one CPU never interleave), so the
/// chain still orders this reader's critical section before the writer's. An unlock before the
/// fence is ordered by the fence's barrier.
///
/// # Policy
///
/// Writers are preferred: once a writer has set the word, new readers wait (they block on
/// the writers' mutex after a short spin), so a stream of readers cannot starve a writer.
/// Writers take turns on the mutex; readers may get in between two of them, but a stream
/// of back-to-back writers can delay readers for as long as it lasts. Consequently a
/// thread that already holds a read guard and calls [`read`](PerCpuRwLock::read) again
/// can deadlock if a writer arrived in between (as with `std::sync::RwLock`).
///
/// # Modes
///
/// The writer's fence is what makes the sections safe, so a lock is fixed at its first use
/// to one of two modes: where [`fence_all`](crate::fence_all) works (probed once per
/// process), threads with rseq use the sections and the others the atomics; where it does
/// not (kernels before 5.10, a sandbox that refuses `membarrier`), every thread uses the
/// atomics and writers skip the fence. Until then the word holds an "undecided" bit, and
/// afterwards an "atomic only" bit in that mode, so that the read-lock section exits (to
/// the slow path) without a separate mode check. On a target without an rseq backend
/// `fence_all` succeeds trivially and sections always fail, so every thread takes the
/// atomics. A writer whose fence the kernel refuses later (a seccomp filter installed on
/// its thread since) cannot exclude the sections: [`write`](PerCpuRwLock::write) panics and
/// [`try_write`](PerCpuRwLock::try_write) returns `None`, both leaving the lock usable.
///
/// # Test instrumentation
///
/// `--cfg rseq_dsl_compare_twice` re-reads every value a section compared right before
/// its commit and aborts the process if it changed, assuming that compared values change
/// only through sections on their own CPU. The writer word is the opposite by design: a
/// remote store that the fence then catches. So the read-lock section compares `w & MASK`
/// (one `and`), a computed value that compare-twice does not re-read; its index check and
/// the delay injection still apply.
pub struct PerCpuRwLock<T> {
    word: Word,
    slots: PerCpu<Slot>,
    writers: Mutex<()>,
    value: UnsafeCell<T>,
}

// SAFETY: the lock owns its T; sending it sends the T.
unsafe impl<T: Send> Send for PerCpuRwLock<T> {}
// SAFETY: as std's RwLock: readers on several threads share &T (T: Sync), and a writer on
// any thread gets &mut T (T: Send). The protocol (see PerCpuRwLock's docs) keeps them apart.
unsafe impl<T: Send + Sync> Sync for PerCpuRwLock<T> {}

/// Shared access to a [`PerCpuRwLock`]'s value; the read lock is released on drop, from
/// whatever CPU or thread that happens on.
///
/// ```
/// let lock = rseq_dsl::PerCpuRwLock::new(5);
/// let a = lock.read();
/// let b = lock.read();
/// assert_eq!(*a + *b, 10);
/// ```
pub struct PerCpuRwLockReadGuard<'a, T> {
    lock: &'a PerCpuRwLock<T>,
    /// Taken by a section: released by one where the thread still has rseq.
    section: bool,
}

// SAFETY: the guard is a &T plus a release that is valid from any thread and CPU (a
// section on the running CPU, or an atomic subtraction): sending it needs T: Sync only.
unsafe impl<T: Sync> Send for PerCpuRwLockReadGuard<'_, T> {}
// SAFETY: &guard gives &T.
unsafe impl<T: Sync> Sync for PerCpuRwLockReadGuard<'_, T> {}

/// Exclusive access to a [`PerCpuRwLock`]'s value; the write lock is released on drop.
///
/// ```
/// let lock = rseq_dsl::PerCpuRwLock::new(String::from("a"));
/// lock.write().push('b');
/// assert_eq!(*lock.read(), "ab");
/// ```
pub struct PerCpuRwLockWriteGuard<'a, T> {
    lock: &'a PerCpuRwLock<T>,
    /// A time-slice extension requested while the lock is held (Linux 7.0+, where the
    /// thread opted in; a no-op elsewhere), ended after the word is cleared.
    _extension: crate::SliceRequest,
    /// Released after the word is cleared (fields drop after `Drop::drop`). A `MutexGuard`
    /// is not `Send`, and neither is this guard, as with std's.
    _writers: MutexGuard<'a, ()>,
}

// SAFETY: &guard gives &T.
unsafe impl<T: Sync> Sync for PerCpuRwLockWriteGuard<'_, T> {}

impl<T> PerCpuRwLock<T> {
    /// A lock around `value`, with one reader count per possible CPU.
    ///
    /// ```
    /// let lock = rseq_dsl::PerCpuRwLock::new([0u64; 4]);
    /// assert_eq!(lock.read()[3], 0);
    /// ```
    pub fn new(value: T) -> Self {
        PerCpuRwLock {
            word: Word(AtomicU64::new(UNDECIDED)),
            slots: PerCpu::default(),
            writers: Mutex::new(()),
            value: UnsafeCell::new(value),
        }
    }

    /// Locks for reading, waiting while a writer holds or waits for the lock.
    ///
    /// On the rseq path: one section, then the guard. Can deadlock if the thread already
    /// holds a read guard and a writer arrived since (writers are preferred).
    ///
    /// ```
    /// let lock = rseq_dsl::PerCpuRwLock::new(1);
    /// assert_eq!(*lock.read(), 1);
    /// ```
    #[inline]
    pub fn read(&self) -> PerCpuRwLockReadGuard<'_, T> {
        if let Ok(true) = self.read_section() {
            return self.read_guard(true);
        }
        self.read_slow()
    }

    /// Locks for reading if no writer holds or waits for the lock; never waits.
    ///
    /// ```
    /// let lock = rseq_dsl::PerCpuRwLock::new(1);
    /// let w = lock.write();
    /// assert!(lock.try_read().is_none());
    /// drop(w);
    /// assert_eq!(lock.try_read().map(|g| *g), Some(1));
    /// ```
    #[inline]
    pub fn try_read(&self) -> Option<PerCpuRwLockReadGuard<'_, T>> {
        if let Ok(true) = self.read_section() {
            return Some(self.read_guard(true));
        }
        self.try_read_slow()
    }

    /// Locks for writing: waits for the other writers, stops new readers, fences, and waits
    /// until every read guard is dropped.
    ///
    /// Panics where the lock uses sections (fences worked when it was first used) but the
    /// kernel refuses this thread's fence (a seccomp filter installed since), leaving the
    /// lock unlocked. Can deadlock if the thread holds a read guard.
    ///
    /// ```
    /// let lock = rseq_dsl::PerCpuRwLock::new(vec![1]);
    /// lock.write().push(2);
    /// assert_eq!(*lock.read(), [1, 2]);
    /// ```
    pub fn write(&self) -> PerCpuRwLockWriteGuard<'_, T> {
        let writers = self.writers.lock().unwrap_or_else(PoisonError::into_inner);
        let mode = self.resolve();
        self.word.0.store(mode | WRITER, Ordering::SeqCst);
        if mode == 0 {
            if let Err(e) = crate::fence_all() {
                self.word.0.store(mode, Ordering::Release);
                drop(writers);
                fence_refused(e);
            }
        }
        let mut backoff = Backoff::default();
        while self.readers() != 0 {
            backoff.wait();
        }
        PerCpuRwLockWriteGuard {
            lock: self,
            // Once the lock is held (the fence and the waiting make system calls, which
            // would revoke a grant): a writer preempted now would stall every reader.
            _extension: crate::SliceRequest::new(),
            _writers: writers,
        }
    }

    /// Locks for writing if no other writer holds the lock and no read guard exists;
    /// never waits (beyond one fence). May fail spuriously while a thread without rseq is
    /// between its attempt to read and its retreat.
    ///
    /// ```
    /// let lock = rseq_dsl::PerCpuRwLock::new(0);
    /// let r = lock.read();
    /// assert!(lock.try_write().is_none());
    /// drop(r);
    /// if let Some(mut w) = lock.try_write() {
    ///     *w += 1;
    /// };
    /// ```
    pub fn try_write(&self) -> Option<PerCpuRwLockWriteGuard<'_, T>> {
        let writers = match self.writers.try_lock() {
            Ok(held) => held,
            Err(TryLockError::Poisoned(e)) => e.into_inner(),
            Err(TryLockError::WouldBlock) => return None,
        };
        let mode = self.resolve();
        // A reader known to be inside: fail without disturbing the others.
        if self.readers() != 0 {
            return None;
        }
        self.word.0.store(mode | WRITER, Ordering::SeqCst);
        let fenced = mode != 0 || crate::fence_all().is_ok();
        if !fenced || self.readers() != 0 {
            self.word.0.store(mode, Ordering::Release);
            return None;
        }
        Some(PerCpuRwLockWriteGuard {
            lock: self,
            _extension: crate::SliceRequest::new(),
            _writers: writers,
        })
    }

    /// The value, exclusively: no locking needed.
    ///
    /// ```
    /// let mut lock = rseq_dsl::PerCpuRwLock::new(1);
    /// *lock.get_mut() += 1;
    /// assert_eq!(*lock.read(), 2);
    /// ```
    pub fn get_mut(&mut self) -> &mut T {
        self.value.get_mut()
    }

    /// The value, once every guard is gone.
    ///
    /// ```
    /// let lock = rseq_dsl::PerCpuRwLock::new(String::from("x"));
    /// assert_eq!(lock.into_inner(), "x");
    /// ```
    pub fn into_inner(self) -> T {
        self.value.into_inner()
    }

    /// The path [`read`](Self::read) takes on the calling thread (for a lock whose mode
    /// allows sections; see the module docs).
    ///
    /// ```
    /// let lock = rseq_dsl::PerCpuRwLock::new(());
    /// assert_eq!(lock.path(), rseq_dsl::Path::current());
    /// ```
    pub fn path(&self) -> Path {
        Path::current()
    }

    /// The read-lock section: `Ok(true)` committed, `Ok(false)` the word was not 0.
    #[inline(always)]
    fn read_section(&self) -> Result<bool, crate::Unavailable> {
        let word = self.word.0.as_ptr() as *const u64;
        let slots = &self.slots;
        // SAFETY: the counts are the running CPU's (get_raw checks the bound) and their
        // `lock` word is written only by sections on that CPU; the word is read atomically. See
        // PerCpuRwLock's docs for why the commit cannot race a writer.
        let out = unsafe {
            rseq!(|cpu| {
                in word: *const u64 = word;
                in count: *mut u64 = slots.get_raw(cpu) as *mut u64;
                let w: u64 = word.load_acquire();
                // `w & MASK` (7), so that compare-twice does not re-read the word (module
                // docs: a writer changes it remotely, by design).
                let busy: u64 = w & 7;
                if busy != 0 { exit; }
                commit *count += 1;
            })
        }?;
        Ok(out.is_committed())
    }

    /// The read-unlock section, on whatever CPU the thread runs on now.
    #[inline(always)]
    fn unlock_section(&self) -> Result<(), crate::Unavailable> {
        let slots = &self.slots;
        // SAFETY: as in read_section: the running CPU's `unlock` count (Slot's second word),
        // written only by sections there; release orders the critical section before it.
        unsafe {
            rseq!(|cpu| {
                in unlocks: *mut u64 = (slots.get_raw(cpu) as *mut u64).wrapping_add(1);
                commit(release) *unlocks += 1;
            })
        }
        .map(|_| ())
    }

    fn read_guard(&self, section: bool) -> PerCpuRwLockReadGuard<'_, T> {
        PerCpuRwLockReadGuard {
            lock: self,
            section,
        }
    }

    #[cold]
    #[inline(never)]
    fn read_slow(&self) -> PerCpuRwLockReadGuard<'_, T> {
        let mut spins = 0u32;
        loop {
            if let Some(guard) = self.try_read_slow() {
                return guard;
            }
            spins += 1;
            if spins < 64 {
                core::hint::spin_loop();
            } else if self.word.0.load(Ordering::Relaxed) & WRITER != 0 {
                // The writer holds the mutex for as long as it holds the word: sleep in
                // the kernel until it is done, then try again.
                drop(self.writers.lock().unwrap_or_else(PoisonError::into_inner));
            }
        }
    }

    #[cold]
    fn try_read_slow(&self) -> Option<PerCpuRwLockReadGuard<'_, T>> {
        let mode = self.resolve();
        if mode == 0 {
            match self.read_section() {
                Ok(true) => return Some(self.read_guard(true)),
                // The word is WRITER: a writer holds or waits.
                Ok(false) => return None,
                Err(_) => {}
            }
        }
        self.try_read_atomic()
    }

    /// The atomic path: Dekker's pattern against the writer (see PerCpuRwLock's docs).
    fn try_read_atomic(&self) -> Option<PerCpuRwLockReadGuard<'_, T>> {
        if self.word.0.load(Ordering::Relaxed) & WRITER != 0 {
            return None;
        }
        let count = &self.slot(fallback_cpu(self.slots.len())).atomic;
        count.fetch_add(1, Ordering::SeqCst);
        if self.word.0.load(Ordering::SeqCst) & WRITER == 0 {
            return Some(self.read_guard(false));
        }
        count.fetch_sub(1, Ordering::Release);
        None
    }

    fn slot(&self, cpu: usize) -> &Slot {
        self.slots.get(cpu).expect("cpu in range")
    }

    /// The mode's bit (0: sections where rseq works; ATOMIC_ONLY), deciding it on first use.
    fn resolve(&self) -> u64 {
        let word = self.word.0.load(Ordering::Acquire);
        if word & UNDECIDED == 0 {
            return word & ATOMIC_ONLY;
        }
        let mode = if fences_work().is_ok() {
            0
        } else {
            ATOMIC_ONLY
        };
        // Only this transition writes an undecided word: writers resolve first.
        match self
            .word
            .0
            .compare_exchange(UNDECIDED, mode, Ordering::AcqRel, Ordering::Acquire)
        {
            Ok(_) => mode,
            Err(now) => now & ATOMIC_ONLY,
        }
    }

    /// The number of read guards (plus fallback readers trying), summed over both words of
    /// every CPU, wrapping.
    fn readers(&self) -> u64 {
        self.slots.iter().fold(0u64, |sum, s| {
            sum.wrapping_add(s.lock.load(Ordering::SeqCst))
                .wrapping_sub(s.unlock.load(Ordering::SeqCst))
                .wrapping_add(s.atomic.load(Ordering::SeqCst))
        })
    }
}

impl<T> Deref for PerCpuRwLockReadGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: a read guard is counted, so no writer holds the lock (see PerCpuRwLock's docs).
        unsafe { &*self.lock.value.get() }
    }
}

impl<T> Drop for PerCpuRwLockReadGuard<'_, T> {
    #[inline]
    fn drop(&mut self) {
        if self.section && self.lock.unlock_section().is_ok() {
            return;
        }
        let cpu = fallback_cpu(self.lock.slots.len());
        self.lock.slot(cpu).atomic.fetch_sub(1, Ordering::Release);
    }
}

impl<T> Deref for PerCpuRwLockWriteGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the writer holds the lock: no reader counted, no other writer.
        unsafe { &*self.lock.value.get() }
    }
}

impl<T> DerefMut for PerCpuRwLockWriteGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in deref, and &mut self makes the reference unique.
        unsafe { &mut *self.lock.value.get() }
    }
}

impl<T> Drop for PerCpuRwLockWriteGuard<'_, T> {
    fn drop(&mut self) {
        // Only the writer holding the mutex writes the word; release publishes the value
        // to readers' acquire loads. The mutex is released after this (a field).
        let mode = self.lock.word.0.load(Ordering::Relaxed) & ATOMIC_ONLY;
        self.lock.word.0.store(mode, Ordering::Release);
    }
}

impl<T: Default> Default for PerCpuRwLock<T> {
    /// A lock around `T::default()`.
    fn default() -> Self {
        PerCpuRwLock::new(T::default())
    }
}

impl<T> From<T> for PerCpuRwLock<T> {
    /// A lock around `value`.
    fn from(value: T) -> Self {
        PerCpuRwLock::new(value)
    }
}

impl<T: fmt::Debug> fmt::Debug for PerCpuRwLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("PerCpuRwLock");
        match self.try_read() {
            Some(guard) => d.field("data", &&*guard),
            None => d.field("data", &format_args!("<locked>")),
        };
        d.finish_non_exhaustive()
    }
}

impl<T: fmt::Debug> fmt::Debug for PerCpuRwLockReadGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

impl<T: fmt::Debug> fmt::Debug for PerCpuRwLockWriteGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&**self, f)
    }
}

#[cold]
#[inline(never)]
fn fence_refused(e: crate::FenceError) -> ! {
    panic!(
        "PerCpuRwLock::write: readers use rseq sections, but the kernel refused this \
         thread's membarrier fence ({e}), without which a writer cannot exclude them"
    )
}

/// A writer's wait for the readers: a short spin, a few yields, then sleeps doubling from
/// 1 µs up to 1 ms. Never an unbounded spin.
#[derive(Default)]
struct Backoff {
    rounds: u32,
}

impl Backoff {
    fn wait(&mut self) {
        self.rounds += 1;
        match self.rounds {
            0..=63 => core::hint::spin_loop(),
            64..=71 => std::thread::yield_now(),
            n => std::thread::sleep(Duration::from_micros(1 << (n - 72).min(10))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn guards_count_and_uncount() {
        let lock = PerCpuRwLock::new(3);
        let a = lock.read();
        let b = lock.try_read().unwrap();
        assert_eq!(lock.readers(), 2);
        assert!(lock.try_write().is_none());
        drop((a, b));
        assert_eq!(lock.readers(), 0);
        *lock.try_write().unwrap() += 1;
        assert_eq!(*lock.read(), 4);
        assert_eq!(lock.word.0.load(Ordering::Relaxed) & WRITER, 0);
    }

    #[test]
    fn debug_shows_the_value_or_locked() {
        let lock = PerCpuRwLock::new(7);
        assert!(format!("{lock:?}").contains('7'));
        let w = lock.write();
        assert!(format!("{lock:?}").contains("<locked>"));
        assert_eq!(format!("{w:?}"), "7");
    }

    /// Threads on the atomic path and threads on sections, one lock: torn pairs show.
    fn mixed(lock: &Arc<PerCpuRwLock<(u64, u64)>>, atomic_readers: bool) -> u64 {
        let threads: Vec<_> = (0..4u64)
            .map(|t| {
                let lock = lock.clone();
                std::thread::spawn(move || {
                    let mut reads = 0;
                    for i in 0..5_000u64 {
                        if t == 0 && i % 16 == 0 {
                            let mut w = lock.write();
                            w.0 += 1;
                            core::hint::black_box(&mut *w);
                            w.1 += 1;
                            continue;
                        }
                        let g = if atomic_readers && t % 2 == 1 {
                            loop {
                                if let Some(g) = lock.try_read_atomic() {
                                    break g;
                                }
                                std::thread::yield_now();
                            }
                        } else {
                            lock.read()
                        };
                        assert_eq!(g.0, g.1, "torn read");
                        reads += 1;
                    }
                    reads
                })
            })
            .collect();
        threads.into_iter().map(|t| t.join().unwrap()).sum()
    }

    #[test]
    fn both_paths_share_one_lock() {
        let lock = Arc::new(PerCpuRwLock::new((0u64, 0u64)));
        let reads = mixed(&lock, true);
        assert!(reads > 0);
        assert_eq!(lock.read().0, 5_000_u64.div_ceil(16));
        assert_eq!(lock.readers(), 0);
    }

    #[test]
    fn atomic_only_mode_is_exclusive() {
        let lock = Arc::new(PerCpuRwLock::new((0u64, 0u64)));
        lock.word.0.store(ATOMIC_ONLY, Ordering::Relaxed);
        mixed(&lock, false);
        assert_eq!(lock.read().0, 5_000_u64.div_ceil(16));
        // Sections never counted anyone in this mode.
        assert!(lock
            .slots
            .iter()
            .all(|s| s.lock.load(Ordering::Relaxed) == 0));
    }

    #[test]
    fn backoff_sleeps_are_bounded() {
        let mut b = Backoff { rounds: 1_000 };
        let t = std::time::Instant::now();
        b.wait();
        assert!(t.elapsed() < Duration::from_millis(500));
    }

    rseq_dsl_runtime::__rseq_with_backend! {
        /// A writer whose fence is refused after the mode was decided: `try_write` says `None`,
        /// `write` panics, and the lock stays usable for everyone.
        #[test]
        fn a_refused_fence_leaves_the_lock_usable() {
            let lock = Arc::new(PerCpuRwLock::new(0u32));
            if lock.resolve() != 0 || crate::fence_all().is_err() {
                eprintln!("skipped: no membarrier fence here");
                return;
            }
            let refused = {
                let lock = lock.clone();
                std::thread::spawn(move || {
                    crate::percpu::refuse::on_this_thread(&[libc::SYS_membarrier]);
                    let tried = lock.try_write().is_none();
                    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        drop(lock.write());
                    }));
                    (tried, panicked.is_err())
                })
                .join()
                .unwrap()
            };
            assert_eq!(refused, (true, true));
            assert_eq!(lock.word.0.load(Ordering::Relaxed), 0);
            *lock.write() += 1;
            assert_eq!(*lock.read(), 1);
        }
    }
}
