//! A per-CPU spinlock protecting one `T` per CPU.

use core::cell::UnsafeCell;
use core::fmt;
use core::ops::{Deref, DerefMut};
use core::sync::atomic::{AtomicU8, AtomicUsize, Ordering};

use super::{fallback_cpu, Path, PerCpu};
use crate::{rseq, FenceError, Outcome};

/// The lock word's value while a thread on the rseq path holds it.
const HELD_BY_SECTION: usize = 1;

/// How the lock words of one [`PerCpuLock`] are acquired, fixed by its first locker.
const MODE_UNSET: u8 = 0;
/// Threads with rseq acquire with a section on the running CPU's word.
const MODE_RSEQ: u8 = 1;
/// The first locker had no rseq: everybody uses compare-and-swap, no fence needed.
const MODE_ATOMIC: u8 = 2;

/// A CPU's slot: the lock word, then the value it protects.
///
/// The word is 0 when free. Who may write it, and why acquiring is exclusive:
///
/// - When it is 0, a section running on this CPU may commit [`HELD_BY_SECTION`] after
///   reading 0; the kernel restarts a section that is preempted, migrated or signalled
///   before its commit, so two sections never both see 0 and commit.
/// - A thread that is not on this CPU (a thread without rseq, or [`PerCpuLock::lock_cpu`])
///   claims the word with a compare-and-swap 0 -> a unique token, then fences this CPU
///   (membarrier's rseq fence). A section that read 0 before the claim either committed
///   before the fence returned (the word then reads 1, not the token, and the claimer
///   backs off without writing) or was restarted and now reads the token and exits. So the
///   claimer owns the lock exactly when the word still holds its token after the fence.
/// - Without the fence (kernels before 5.10), a thread without rseq pins itself to the CPU
///   it runs on and claims that CPU's word with a single compare-and-swap: a section on
///   that CPU cannot run between the instruction's load and store, and one interrupted by
///   the pinned thread restarts.
/// - The holder releases with an atomic store of 0: no one else writes a non-zero word.
///
/// The section's commit is a plain aligned store, single-copy atomic on the hardware like
/// a relaxed atomic store, so atomic accesses of the same word see whole values.
#[repr(C)]
struct Slot<T> {
    word: AtomicUsize,
    value: UnsafeCell<T>,
}

/// A lock per CPU, each protecting its own `T`: [`lock`](PerCpuLock::lock) takes the lock
/// of the CPU the thread runs on with an rseq compare-and-commit section (no atomic
/// instruction), and the guard gives that CPU's `T` until it is dropped, wherever the
/// thread migrates meanwhile.
///
/// Typical uses are per-CPU caches and statistics that need more than one word updated
/// together; [`lock_cpu`](PerCpuLock::lock_cpu) reaches another CPU's value (to flush or
/// read it). Where rseq is unavailable on a thread, it claims the lock word with a
/// compare-and-swap and a fence (see [`Path`]); both kinds of thread may share a lock.
///
/// **Fork:** as with [`std::sync::Mutex`], a CPU's lock that another thread held when the
/// process forked stays held for ever in the child (that thread does not exist there):
/// `try_lock` on that CPU returns `None`, `lock` returns only once the thread runs on
/// another CPU, `lock_cpu` of it spins for ever, and the child never sees the value its
/// holder was updating. Every other CPU's lock works.
///
/// **Signal handlers:** `lock` and `lock_cpu` are not async-signal-safe: a handler that
/// interrupts its own thread while that thread holds the lock of the CPU they both run on
/// would wait for ever (as with any spinlock). `try_lock` never waits and allocates
/// nothing (a section, or a compare-and-swap with a fence or a pin, all system calls that
/// are safe there): it may be used in a handler that drops the guard before returning.
///
/// ```
/// use rseq_dsl::PerCpuLock;
/// use std::sync::Arc;
///
/// // Per-CPU (count, sum) pairs, updated together.
/// let stats = Arc::new(PerCpuLock::new(|_| (0u64, 0u64)));
/// let threads: Vec<_> = (0..4)
///     .map(|_| {
///         let stats = stats.clone();
///         std::thread::spawn(move || {
///             for v in 1..=100 {
///                 let mut s = stats.lock();
///                 s.0 += 1;
///                 s.1 += v;
///             }
///         })
///     })
///     .collect();
/// threads.into_iter().for_each(|t| t.join().unwrap());
/// let stats = Arc::try_unwrap(stats).unwrap().into_vec();
/// assert_eq!(stats.iter().map(|s| s.0).sum::<u64>(), 400);
/// assert_eq!(stats.iter().map(|s| s.1).sum::<u64>(), 4 * 5050);
/// ```
pub struct PerCpuLock<T> {
    slots: PerCpu<Slot<T>>,
    mode: AtomicU8,
}

// SAFETY: the lock owns its Ts; sending it sends them.
unsafe impl<T: Send> Send for PerCpuLock<T> {}
// SAFETY: like Mutex<T>: a slot's &mut T goes to one lock holder at a time (see Slot), on
// any thread, so T: Send is needed and enough; no &T is shared between threads.
unsafe impl<T: Send> Sync for PerCpuLock<T> {}

/// Exclusive access to one CPU's value of a [`PerCpuLock`]; unlocks on drop.
///
/// ```
/// let lock = rseq_dsl::PerCpuLock::new(|cpu| cpu);
/// let guard = lock.lock();
/// assert!(guard.cpu() < rseq_dsl::possible_cpus());
/// assert_eq!(*guard, guard.cpu());
/// ```
pub struct PerCpuLockGuard<'a, T> {
    slot: &'a Slot<T>,
    cpu: usize,
}

// SAFETY: the guard is a &mut T plus the duty to store 0 into an atomic: sending it to
// another thread sends the &mut T (T: Send) and the unlock is valid from any thread.
unsafe impl<T: Send> Send for PerCpuLockGuard<'_, T> {}
// SAFETY: &Guard only gives &T.
unsafe impl<T: Sync> Sync for PerCpuLockGuard<'_, T> {}

impl<T> PerCpuLock<T> {
    /// A lock per possible CPU, the value of CPU `i` initialised to `init(i)`.
    ///
    /// ```
    /// let lock = rseq_dsl::PerCpuLock::new(|_| Vec::<u8>::new());
    /// lock.lock().push(1);
    /// ```
    pub fn new(mut init: impl FnMut(usize) -> T) -> Self {
        PerCpuLock {
            slots: PerCpu::new(|cpu| Slot {
                word: AtomicUsize::new(0),
                value: UnsafeCell::new(init(cpu)),
            }),
            mode: AtomicU8::new(MODE_UNSET),
        }
    }

    /// Locks the value of the CPU the thread runs on, spinning (then yielding) while
    /// another thread holds it.
    ///
    /// Panics with [`LockError`] where [`checked_lock`](PerCpuLock::checked_lock) returns
    /// it (a thread without rseq that may neither fence nor pin itself), instead of
    /// spinning for ever.
    ///
    /// ```
    /// let lock = rseq_dsl::PerCpuLock::new(|_| 0);
    /// *lock.lock() += 1;
    /// assert_eq!(lock.into_vec().iter().sum::<i32>(), 1);
    /// ```
    #[inline]
    pub fn lock(&self) -> PerCpuLockGuard<'_, T> {
        match self.checked_lock() {
            Ok(guard) => guard,
            Err(e) => lock_failed(e),
        }
    }

    /// Locks the value of the CPU the thread runs on, spinning while another thread holds
    /// it; fails instead of spinning for ever where this thread can never take the lock.
    ///
    /// That happens only on a thread without rseq (see [`Path`]) using a lock that threads
    /// with rseq share, where both safe ways for it to exclude sections on a CPU are
    /// refused: membarrier's rseq fence (kernels before 5.10, a sandbox) and pinning itself
    /// to its CPU with `sched_setaffinity` (a seccomp filter, a cgroup that forbids it).
    ///
    /// ```
    /// let lock = rseq_dsl::PerCpuLock::new(|_| 0u32);
    /// match lock.checked_lock() {
    ///     Ok(mut guard) => *guard += 1,
    ///     Err(e) => eprintln!("{e}"),
    /// };
    /// ```
    pub fn checked_lock(&self) -> Result<PerCpuLockGuard<'_, T>, LockError> {
        let mut spins = 0u32;
        loop {
            let attempt = match self.mode.load(Ordering::Relaxed) {
                MODE_RSEQ => match self.try_lock_section() {
                    Ok(attempt) => attempt,
                    Err(_) => self.try_lock_slow()?,
                },
                _ => self.try_lock_slow()?,
            };
            if let Some(guard) = attempt {
                return Ok(guard);
            }
            backoff(&mut spins);
        }
    }

    /// Locks the running CPU's value if it is free; `None` if another thread holds it (or,
    /// on a thread without rseq, where [`checked_lock`](PerCpuLock::checked_lock) fails).
    ///
    /// ```
    /// let lock = rseq_dsl::PerCpuLock::new(|_| ());
    /// let first = lock.try_lock().unwrap();
    /// // Still on the same CPU (most likely): its lock is taken.
    /// let second = lock.try_lock();
    /// assert!(second.is_none() || second.unwrap().cpu() != first.cpu());
    /// ```
    #[inline]
    pub fn try_lock(&self) -> Option<PerCpuLockGuard<'_, T>> {
        if self.mode.load(Ordering::Relaxed) == MODE_RSEQ {
            if let Ok(out) = self.try_lock_section() {
                return out;
            }
        }
        self.try_lock_slow().ok().flatten()
    }

    #[inline(always)]
    fn try_lock_section(&self) -> Result<Option<PerCpuLockGuard<'_, T>>, crate::Unavailable> {
        let slots = &self.slots;
        // SAFETY: the slot is the running CPU's (get_raw checks the bound); Slot's first
        // field is the word, written by sections only while it is 0 (see Slot).
        let out = unsafe {
            rseq!(|cpu| {
                in word: *mut usize = slots.get_raw(cpu) as *mut usize;
                let held: usize = *word;
                if held != 0 { exit; }
                commit *word = 1;
            })
        }?;
        Ok(match out {
            Outcome::Committed { index: cpu, .. } => {
                core::sync::atomic::fence(Ordering::Acquire);
                Some(self.guard(cpu))
            }
            _ => None,
        })
    }

    #[cold]
    fn try_lock_slow(&self) -> Result<Option<PerCpuLockGuard<'_, T>>, LockError> {
        let rseq = crate::is_available();
        let mode = match self.mode.load(Ordering::Acquire) {
            MODE_UNSET => {
                let want = if rseq { MODE_RSEQ } else { MODE_ATOMIC };
                match self.mode.compare_exchange(
                    MODE_UNSET,
                    want,
                    Ordering::AcqRel,
                    Ordering::Acquire,
                ) {
                    Ok(_) => want,
                    Err(now) => now,
                }
            }
            mode => mode,
        };
        let cpu = crate::current_cpu().min(self.slots.len() - 1);
        Ok(match mode {
            MODE_RSEQ if rseq => self.try_lock_section().ok().flatten(),
            // Every thread uses compare-and-swap: correct from any CPU.
            MODE_ATOMIC => self.claim(cpu).then(|| self.guard(cpu)),
            _ => {
                let cpu = fallback_cpu(self.slots.len());
                match self.claim_and_fence(cpu) {
                    Ok(owned) => owned.then(|| self.guard(cpu)),
                    // Neither way can ever work on this thread: say so rather than spin.
                    Err(fence) => self.claim_pinned().map_err(|affinity_errno| LockError {
                        fence,
                        affinity_errno,
                    })?,
                }
            }
        })
    }

    /// Locks the value of `cpu` from any CPU (to flush or read it), spinning while it is
    /// held. Uses membarrier's rseq fence where sections may take that lock, so it fails
    /// where the kernel lacks the fence; panics if `cpu` is out of range.
    ///
    /// Not for builds with `--cfg rseq_dsl_compare_twice` (a test instrumentation): it
    /// writes a lock word that a section on that CPU may have just compared (then restarts
    /// that section with a fence), which compare-twice reports as corruption.
    ///
    /// ```
    /// let lock = rseq_dsl::PerCpuLock::new(|cpu| cpu * 10);
    /// for cpu in 0..rseq_dsl::possible_cpus() {
    ///     match lock.lock_cpu(cpu) {
    ///         Ok(guard) => assert_eq!(*guard, cpu * 10),
    ///         Err(e) => println!("no fence here: {e}"),
    ///     }
    /// }
    /// ```
    pub fn lock_cpu(&self, cpu: usize) -> Result<PerCpuLockGuard<'_, T>, FenceError> {
        assert!(cpu < self.slots.len(), "cpu {cpu} out of range");
        let mut spins = 0u32;
        loop {
            let owned = match self.mode.load(Ordering::Acquire) {
                MODE_ATOMIC => self.claim(cpu),
                // Unset or rseq: sections may run, now or later, so fence.
                _ => self.claim_and_fence(cpu)?,
            };
            if owned {
                return Ok(self.guard(cpu));
            }
            backoff(&mut spins);
        }
    }

    /// Runs `f` on the running CPU's value under its lock, asking the kernel not to preempt
    /// the thread while it holds the lock (the time-slice extension of Linux 7.0+: see
    /// [`SliceRequest`](crate::SliceRequest); a no-op where unavailable). Panics where
    /// [`lock`](PerCpuLock::lock) does.
    ///
    /// The request belongs to the thread that makes it, so it cannot travel with a guard
    /// (guards are `Send`): this closure form holds the lock and the request on one
    /// thread. The request starts once the lock is held and ends after its release, and a
    /// granted extension is given back (`rseq_slice_yield`) only then, so waiters are not
    /// kept waiting by the yield. `f` should be short and make no system call: one revokes
    /// the extension.
    ///
    /// ```
    /// let lock = rseq_dsl::PerCpuLock::new(|_| (0u64, 0u64));
    /// let _ = rseq_dsl::enable_slice_extension(); // opt in where the kernel offers it
    /// lock.with(|(count, sum)| {
    ///     *count += 1;
    ///     *sum += 42;
    /// });
    /// assert_eq!(lock.into_vec().iter().map(|s| s.1).sum::<u64>(), 42);
    /// ```
    pub fn with<R>(&self, f: impl FnOnce(&mut T) -> R) -> R {
        let guard = self.lock();
        held_with_extension(guard, f)
    }

    /// [`lock_cpu`](PerCpuLock::lock_cpu)'s remote lock with [`with`](PerCpuLock::with)'s
    /// time-slice extension: runs `f` on `cpu`'s value under its lock. The fence that
    /// takes a remote lock is a system call, so the request starts after it.
    ///
    /// ```
    /// let lock = rseq_dsl::PerCpuLock::new(|cpu| cpu as u64);
    /// let mut total = 0;
    /// for cpu in 0..rseq_dsl::possible_cpus() {
    ///     match lock.with_cpu(cpu, |value| std::mem::take(value)) {
    ///         Ok(value) => total += value,
    ///         Err(e) => println!("no fence here: {e}"),
    ///     }
    /// }
    /// # let _ = total;
    /// ```
    pub fn with_cpu<R>(&self, cpu: usize, f: impl FnOnce(&mut T) -> R) -> Result<R, FenceError> {
        let guard = self.lock_cpu(cpu)?;
        Ok(held_with_extension(guard, f))
    }

    fn guard(&self, cpu: usize) -> PerCpuLockGuard<'_, T> {
        // SAFETY: cpu is in range (checked by the caller's get_raw or clamp); only shared
        // access to the atomic word and the UnsafeCell, which the guard then owns.
        let slot = unsafe { &*self.slots.get_raw(cpu) };
        PerCpuLockGuard { slot, cpu }
    }

    fn word(&self, cpu: usize) -> &AtomicUsize {
        // SAFETY: in range (get_raw checks); the word is atomic.
        unsafe { &(*self.slots.get_raw(cpu)).word }
    }

    /// A compare-and-swap 0 -> token on `cpu`'s word.
    fn claim(&self, cpu: usize) -> bool {
        self.word(cpu)
            .compare_exchange(0, token(), Ordering::Acquire, Ordering::Relaxed)
            .is_ok()
    }

    /// Claim, fence `cpu`, and check that the claim survived (see Slot).
    fn claim_and_fence(&self, cpu: usize) -> Result<bool, FenceError> {
        let word = self.word(cpu);
        let token = token();
        if word.load(Ordering::Relaxed) != 0 {
            return Ok(false);
        }
        // Probe the fence before claiming, so that a failure leaves nothing to undo.
        super::fences_work()?;
        if word
            .compare_exchange(0, token, Ordering::AcqRel, Ordering::Relaxed)
            .is_err()
        {
            return Ok(false);
        }
        if let Err(e) = crate::fence_cpu(cpu) {
            // The probe succeeded, but the fence can still be refused (a seccomp filter
            // installed since). Withdraw the claim, so that no word stays held for ever:
            // the value was not touched, and a section that read 0 before the claim and
            // commits later owns the lock as it would have anyway. If such a section
            // committed already, the word is 1, not the token, and stays its.
            let _ = word.compare_exchange(token, 0, Ordering::Release, Ordering::Relaxed);
            return Err(e);
        }
        Ok(word.load(Ordering::Acquire) == token)
    }

    /// Without a fence: pin to the running CPU, claim its word, unpin (see Slot). The
    /// errno where the thread may not pin itself; `Ok(None)` where the word is held or the
    /// thread moved while pinning (try again).
    fn claim_pinned(&self) -> Result<Option<PerCpuLockGuard<'_, T>>, i32> {
        let Some(pin) = Pin::to_current_cpu()? else {
            return Ok(None);
        };
        let cpu = pin.cpu.min(self.slots.len() - 1);
        Ok(self.claim(cpu).then(|| self.guard(cpu)))
    }

    /// The values, once every guard is gone.
    ///
    /// ```
    /// let lock = rseq_dsl::PerCpuLock::new(|_| 1u32);
    /// assert_eq!(lock.into_vec().len(), rseq_dsl::possible_cpus());
    /// ```
    pub fn into_vec(self) -> Vec<T> {
        self.slots
            .into_vec()
            .into_iter()
            .map(|s| s.value.into_inner())
            .collect()
    }

    /// Every CPU's value, exclusively (no locking needed).
    ///
    /// ```
    /// let mut lock = rseq_dsl::PerCpuLock::new(|_| 0);
    /// *lock.lock() += 2;
    /// assert_eq!(lock.iter_mut().map(|v| *v).sum::<i32>(), 2);
    /// ```
    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut T> + '_ {
        self.slots.iter_mut().map(|s| s.value.get_mut())
    }

    /// The path [`lock`](PerCpuLock::lock) takes on the calling thread.
    ///
    /// ```
    /// let lock = rseq_dsl::PerCpuLock::new(|_| ());
    /// assert_eq!(lock.path(), rseq_dsl::Path::current());
    /// ```
    pub fn path(&self) -> Path {
        Path::current()
    }
}

impl<T> PerCpuLockGuard<'_, T> {
    /// The CPU whose value this guard holds (where the thread ran when it locked).
    ///
    /// ```
    /// let lock = rseq_dsl::PerCpuLock::new(|_| ());
    /// assert!(lock.lock().cpu() < rseq_dsl::possible_cpus());
    /// ```
    pub fn cpu(&self) -> usize {
        self.cpu
    }
}

impl<T> Deref for PerCpuLockGuard<'_, T> {
    type Target = T;
    fn deref(&self) -> &T {
        // SAFETY: the guard holds the slot's lock (see Slot): no other access to the value.
        unsafe { &*self.slot.value.get() }
    }
}

impl<T> DerefMut for PerCpuLockGuard<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        // SAFETY: as in deref, and &mut self makes this reference unique.
        unsafe { &mut *self.slot.value.get() }
    }
}

impl<T> Drop for PerCpuLockGuard<'_, T> {
    fn drop(&mut self) {
        // Only the holder writes a non-zero word (see Slot); release publishes the value.
        self.slot.word.store(0, Ordering::Release);
    }
}

impl<T: fmt::Debug> fmt::Debug for PerCpuLockGuard<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PerCpuLockGuard")
            .field("cpu", &self.cpu)
            .field("value", &**self)
            .finish()
    }
}

/// Why [`PerCpuLock::checked_lock`] can never lock on the calling thread: it has no rseq,
/// and both ways for such a thread to exclude the sections of other threads are refused.
///
/// ```
/// let lock = rseq_dsl::PerCpuLock::new(|_| ());
/// if let Err(e) = lock.checked_lock() {
///     println!("fence: {}, sched_setaffinity errno {}", e.fence(), e.affinity_errno());
/// };
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockError {
    fence: FenceError,
    affinity_errno: i32,
}

impl LockError {
    /// Why membarrier's rseq fence failed.
    ///
    /// ```
    /// fn explain(e: &rseq_dsl::LockError) -> String {
    ///     e.fence().to_string()
    /// }
    /// ```
    pub fn fence(&self) -> FenceError {
        self.fence
    }

    /// The errno with which pinning the thread to its CPU (`sched_setaffinity`) failed.
    ///
    /// ```
    /// fn refused(e: &rseq_dsl::LockError) -> bool {
    ///     e.affinity_errno() == libc::EPERM
    /// }
    /// ```
    pub fn affinity_errno(&self) -> i32 {
        self.affinity_errno
    }
}

impl fmt::Display for LockError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "PerCpuLock: this thread has no rseq and may neither fence ({}) nor pin itself \
             to its CPU (sched_setaffinity errno {}), so it can never take a lock that \
             threads with rseq share",
            self.fence, self.affinity_errno
        )
    }
}

impl std::error::Error for LockError {}

#[cold]
#[inline(never)]
fn lock_failed(e: LockError) -> ! {
    panic!("{e}")
}

impl<T> fmt::Debug for PerCpuLock<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PerCpuLock")
            .field("cpus", &self.slots.len())
            .finish_non_exhaustive()
    }
}

/// Elsewhere there is no affinity call to pin with; nor is one needed: only Linux has
/// sections, so no thread there needs the pinned path (fences always succeed).
#[cfg(not(target_os = "linux"))]
struct Pin {
    cpu: usize,
}

#[cfg(not(target_os = "linux"))]
impl Pin {
    /// No affinity call: reported as errno 0.
    fn to_current_cpu() -> Result<Option<Pin>, i32> {
        Err(0)
    }
}

/// A token no other claim uses, never 0 (free) or 1 (held by a section).
fn token() -> usize {
    static NEXT: AtomicUsize = AtomicUsize::new(HELD_BY_SECTION + 1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Runs `f` on the guarded value with a time-slice extension requested while the lock is
/// held: the request after the lock is taken, the release before the request ends (its
/// yield, if granted, is a system call that waiters need not wait for).
fn held_with_extension<T, R>(mut guard: PerCpuLockGuard<'_, T>, f: impl FnOnce(&mut T) -> R) -> R {
    let extension = crate::SliceRequest::new();
    let result = f(&mut guard);
    drop(guard);
    drop(extension);
    result
}

fn backoff(spins: &mut u32) {
    *spins += 1;
    if *spins < 64 {
        core::hint::spin_loop();
    } else {
        // The holder may be preempted on this very CPU: let it run.
        std::thread::yield_now();
    }
}

/// The thread pinned to one CPU until dropped, which restores the old affinity.
#[cfg(target_os = "linux")]
struct Pin {
    old: libc::cpu_set_t,
    cpu: usize,
}

#[cfg(target_os = "linux")]
impl Pin {
    /// The errno where the thread may not read or set its affinity (or learn its CPU);
    /// `Ok(None)` where it moved meanwhile.
    fn to_current_cpu() -> Result<Option<Pin>, i32> {
        let last = || {
            std::io::Error::last_os_error()
                .raw_os_error()
                .unwrap_or(libc::EPERM)
        };
        // SAFETY: cpu_set_t is plain data; the calls get valid pointers and sizes.
        unsafe {
            let mut old: libc::cpu_set_t = core::mem::zeroed();
            let size = core::mem::size_of::<libc::cpu_set_t>();
            if libc::sched_getaffinity(0, size, &mut old) != 0 {
                return Err(last());
            }
            let cpu = usize::try_from(libc::sched_getcpu()).map_err(|_| last())?;
            let mut one: libc::cpu_set_t = core::mem::zeroed();
            libc::CPU_SET(cpu, &mut one);
            if libc::sched_setaffinity(0, size, &one) != 0 {
                return Err(last());
            }
            let pin = Pin { old, cpu };
            // The kernel moves the thread before sched_setaffinity returns.
            Ok((usize::try_from(libc::sched_getcpu()).ok() == Some(cpu)).then_some(pin))
        }
    }
}

#[cfg(target_os = "linux")]
impl Drop for Pin {
    fn drop(&mut self) {
        let size = core::mem::size_of::<libc::cpu_set_t>();
        // SAFETY: restores the set read in to_current_cpu.
        unsafe { libc::sched_setaffinity(0, size, &self.old) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn hammer(lock: &Arc<PerCpuLock<(u64, u64)>>, threads: usize, per: u64, remote: bool) {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let lock = lock.clone();
                std::thread::spawn(move || {
                    for i in 0..per {
                        let mut g = if remote && t == 0 {
                            let cpu = i as usize % crate::possible_cpus();
                            match lock.lock_cpu(cpu) {
                                Ok(g) => g,
                                Err(_) => lock.lock(),
                            }
                        } else {
                            lock.lock()
                        };
                        // Two fields that must stay equal: a torn update shows.
                        let v = g.0;
                        core::hint::black_box(&mut *g);
                        g.0 = v + 1;
                        g.1 += 1;
                    }
                })
            })
            .collect();
        workers.into_iter().for_each(|w| w.join().unwrap());
    }

    #[test]
    fn exclusive_under_contention() {
        let lock = Arc::new(PerCpuLock::new(|_| (0u64, 0u64)));
        hammer(&lock, 2 * crate::possible_cpus() + 2, 5_000, false);
        let n = (2 * crate::possible_cpus() + 2) as u64;
        let v = Arc::try_unwrap(lock).unwrap().into_vec();
        assert_eq!(v.iter().map(|p| p.0).sum::<u64>(), n * 5_000);
        assert!(v.iter().all(|p| p.0 == p.1));
    }

    #[test]
    fn remote_locking_mixes_with_sections() {
        // Remote claims change a lock word under a section on purpose (then fence it), which
        // the compare-twice debug mode reports as corruption; see `PerCpuLock::lock_cpu`.
        if cfg!(rseq_dsl_compare_twice) {
            eprintln!("skipped: remote claims and compare-twice exclude each other");
            return;
        }
        let lock = Arc::new(PerCpuLock::new(|_| (0u64, 0u64)));
        hammer(&lock, 4, 3_000, true);
        let v = Arc::try_unwrap(lock).unwrap().into_vec();
        assert_eq!(v.iter().map(|p| p.0).sum::<u64>(), 12_000);
    }

    /// Runs `f` on a thread; `None` if it has not returned after 10 s (it is left
    /// spinning: the test fails either way).
    #[allow(dead_code)] // only the tests that need sections use it
    fn within_deadline<R: Send + 'static>(f: impl FnOnce() -> R + Send + 'static) -> Option<R> {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(f());
        });
        rx.recv_timeout(std::time::Duration::from_secs(10)).ok()
    }

    rseq_dsl_runtime::__rseq_with_backend! {
        /// A remote claim whose fence is refused after the probe (a seccomp filter installed
        /// since) must not keep the word: another thread locks that CPU afterwards. Before the
        /// fix the claimer panicked with the word still claimed and the second lock_cpu spun
        /// for ever.
        #[test]
        fn a_refused_fence_leaves_no_claim() {
            if super::super::fences_work().is_err() {
                eprintln!("skipped: no membarrier fence here");
                return;
            }
            let lock = Arc::new(PerCpuLock::new(|_| 0u32));
            let refused = {
                let lock = lock.clone();
                std::thread::spawn(move || {
                    crate::percpu::refuse::on_this_thread(&[libc::SYS_membarrier]);
                    lock.lock_cpu(0).map(|_| ())
                })
                .join()
                .expect("lock_cpu panicked when its fence was refused")
            };
            assert!(
                matches!(refused, Err(FenceError::Errno(libc::EPERM))),
                "{refused:?}"
            );
            let again = within_deadline(move || lock.lock_cpu(0).map(|g| *g));
            assert_eq!(again, Some(Ok(0)), "the refused claim was left held");
        }
    }

    rseq_dsl_runtime::__rseq_with_backend! {
        /// A thread without rseq, on a lock that sections use, where the fence and pinning are
        /// both refused: `checked_lock` says why and `lock` panics with it. Before the fix
        /// `lock` spun for ever.
        #[test]
        fn lock_without_fence_or_affinity_is_an_error() {
            let lock = Arc::new(PerCpuLock::new(|_| 0u32));
            lock.mode.store(MODE_RSEQ, Ordering::Relaxed);
            let outcome = within_deadline({
                let lock = lock.clone();
                move || {
                    // No rseq on this thread from here on, as in a library about to unload.
                    crate::prepare_unload();
                    assert_eq!(crate::Path::current(), Path::Fallback);
                    crate::percpu::refuse::on_this_thread(&[
                        libc::SYS_membarrier,
                        libc::SYS_sched_setaffinity,
                    ]);
                    let checked = lock.checked_lock().map(|_| ());
                    let panicked = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        drop(lock.lock());
                    }));
                    let message = panicked
                        .expect_err("lock() returned")
                        .downcast::<String>()
                        .map(|m| *m)
                        .unwrap_or_default();
                    (checked, message)
                }
            });
            let (checked, message) = outcome.expect("lock() spun instead of failing");
            let e = checked.expect_err("checked_lock");
            assert_eq!(e.affinity_errno(), libc::EPERM);
            assert!(message.contains("neither fence"), "{message}");
            // Nothing was left claimed: a thread with rseq locks every CPU.
            let lock = Arc::try_unwrap(lock).ok().unwrap();
            assert_eq!(lock.into_vec().iter().sum::<u32>(), 0);
        }
    }

    #[test]
    fn atomic_mode_and_pinned_claims_are_exclusive() {
        let lock = PerCpuLock::new(|_| 0u32);
        lock.mode.store(MODE_ATOMIC, Ordering::Relaxed);
        let g = lock.lock();
        assert!(!lock.claim(g.cpu()));
        drop(g);
        if let Ok(Some(g)) = lock.claim_pinned() {
            assert!(!lock.claim(g.cpu()));
        };
    }
}
