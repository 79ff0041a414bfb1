//! Safe per-CPU building blocks on top of `rseq!`: a padded per-CPU array, a counter, a
//! stack, a bounded buffer and a lock.
//!
//! Every block follows one rule where rseq is unavailable on the calling thread (an
//! emulator, a sandbox, a thread that is exiting): it takes a slower path that is still
//! correct, never a wrong result, and [`Path::current`] says which path the calling thread
//! takes. Threads on both paths may use the same object at the same time; each block
//! explains why that mix is sound.
//!
//! In signal handlers: `rseq!` sections, [`PerCpuCounter`]'s `add` and `sum`, reads of a
//! [`PerCpu`] and the runtime's queries are async-signal-safe, first use on a thread
//! included. Whatever allocates or takes the mutex of a fallback path is not: each type's
//! docs say which of its operations are which.

mod buffer;
mod counter;
mod lock;
mod pool;
mod refcount;
mod rwlock;
mod stack;

pub use buffer::PerCpuBuffer;
pub use counter::PerCpuCounter;
pub use lock::{LockError, PerCpuLock, PerCpuLockGuard};
pub use pool::{PerCpuPool, PoolCounter, PoolItem, Zeroable};
pub use refcount::{PerCpuArc, PerCpuRef};
pub use rwlock::{PerCpuRwLock, PerCpuRwLockReadGuard, PerCpuRwLockWriteGuard};
pub use stack::{Node, PerCpuStack};

use core::cell::UnsafeCell;
use core::fmt;

/// Which path the building blocks take on the calling thread.
///
/// ```
/// use rseq_dsl::Path;
/// match Path::current() {
///     Path::Rseq => println!("restartable sequences"),
///     Path::Fallback => println!("atomics or locks: rseq is unavailable here"),
/// }
/// assert_eq!(Path::current() == Path::Rseq, rseq_dsl::is_available());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Path {
    /// Critical sections on the slot of the CPU the thread runs on.
    Rseq,
    /// rseq is unavailable on this thread: atomics or locks, indexed by `sched_getcpu`.
    Fallback,
}

impl Path {
    /// The path the calling thread takes (registering it for rseq on first use).
    ///
    /// ```
    /// let path = rseq_dsl::Path::current();
    /// println!("the building blocks use the {path} path on this thread");
    /// ```
    pub fn current() -> Path {
        if crate::is_available() {
            Path::Rseq
        } else {
            Path::Fallback
        }
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Path::Rseq => "rseq",
            Path::Fallback => "fallback",
        })
    }
}

/// One slot, alone in 128 bytes: two adjacent cache lines, because x86 prefetches lines in
/// pairs, so that writers on different CPUs never share a line.
#[repr(C, align(128))]
struct Slot<T>(UnsafeCell<T>);

/// One 128-byte-aligned slot of `T` per possible CPU, allocated once and never moved.
///
/// Sections take a slot's address with [`get_raw`](PerCpu::get_raw) and write it for the
/// CPU they run on; safe code reads all slots with [`iter`](PerCpu::iter) (for `T: Sync`,
/// typically atomics that sections also write) or owns them through `&mut self`.
///
/// ```
/// use core::sync::atomic::{AtomicU64, Ordering};
/// use rseq_dsl::{rseq, PerCpu};
///
/// let hits: PerCpu<AtomicU64> = PerCpu::new(|_| AtomicU64::new(0));
/// // SAFETY: the slot is the running CPU's; a section's aligned add is a single-copy-atomic
/// // store, so it may coexist with the atomic loads below.
/// let out = unsafe {
///     rseq!(|cpu| { in slot: *mut u64 = hits.get_raw(cpu) as *mut u64; commit *slot += 1; })
/// };
/// if out.is_ok() {
///     assert_eq!(hits.iter().map(|h| h.load(Ordering::Relaxed)).sum::<u64>(), 1);
/// }
/// ```
pub struct PerCpu<T> {
    slots: Box<[Slot<T>]>,
}

// SAFETY: a PerCpu owns its Ts, so sending it sends them: T: Send suffices.
unsafe impl<T: Send> Send for PerCpu<T> {}
// SAFETY: through &PerCpu, safe code only gets &T (needs T: Sync); the slots' addresses from
// get_raw let unsafe code on any thread write and replace Ts, which moves values between
// threads, hence T: Send as well. The unsafe writer upholds the aliasing rules.
unsafe impl<T: Send + Sync> Sync for PerCpu<T> {}

impl<T> PerCpu<T> {
    /// One slot per possible CPU ([`possible_cpus`](crate::possible_cpus)), the slot of CPU
    /// `i` initialised to `init(i)`.
    ///
    /// ```
    /// let ids = rseq_dsl::PerCpu::new(|cpu| cpu);
    /// assert_eq!(ids.len(), rseq_dsl::possible_cpus());
    /// ```
    pub fn new(init: impl FnMut(usize) -> T) -> Self {
        Self::with_len(crate::possible_cpus(), init)
    }

    /// `len` slots (at least one), for arrays indexed by something other than a CPU number.
    ///
    /// ```
    /// let slots = rseq_dsl::PerCpu::with_len(3, |i| i * 10);
    /// assert_eq!(slots.iter().copied().collect::<Vec<_>>(), [0, 10, 20]);
    /// ```
    pub fn with_len(len: usize, mut init: impl FnMut(usize) -> T) -> Self {
        let slots = (0..len.max(1))
            .map(|i| Slot(UnsafeCell::new(init(i))))
            .collect();
        PerCpu { slots }
    }

    /// The number of slots.
    ///
    /// ```
    /// assert!(rseq_dsl::PerCpu::new(|_| 0u8).len() >= 1);
    /// ```
    #[inline(always)]
    pub fn len(&self) -> usize {
        self.slots.len()
    }

    /// Always false: there is at least one slot.
    ///
    /// ```
    /// assert!(!rseq_dsl::PerCpu::with_len(0, |_| ()).is_empty());
    /// ```
    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    /// The address of slot `index`, for a critical section (or other unsafe code) to read
    /// and write. Panics if `index >= len()`.
    ///
    /// The pointer is valid as long as `self`; writing through it while a `&T` from
    /// [`get`](PerCpu::get)/[`iter`](PerCpu::iter) exists is allowed only where `T` permits
    /// shared mutation (atomics), and writes on different threads must not race.
    ///
    /// ```
    /// let slots = rseq_dsl::PerCpu::with_len(2, |_| 0u64);
    /// let p = slots.get_raw(1);
    /// assert_eq!(p as usize % 128, 0);
    /// assert_eq!(slots.get_raw(1) as usize - slots.get_raw(0) as usize, 128);
    /// ```
    #[inline(always)]
    pub fn get_raw(&self, index: usize) -> *mut T {
        self.slots[index].0.get()
    }

    /// Distance in bytes between two consecutive slots (a multiple of 128).
    ///
    /// ```
    /// assert_eq!(rseq_dsl::PerCpu::<u64>::STRIDE, 128);
    /// assert_eq!(rseq_dsl::PerCpu::<[u8; 200]>::STRIDE, 256);
    /// ```
    pub const STRIDE: usize = core::mem::size_of::<Slot<T>>();

    /// Slot `index`, if it exists.
    ///
    /// ```
    /// let slots = rseq_dsl::PerCpu::with_len(2, |i| i);
    /// assert_eq!(slots.get(1), Some(&1));
    /// assert_eq!(slots.get(2), None);
    /// ```
    pub fn get(&self, index: usize) -> Option<&T>
    where
        T: Sync,
    {
        // SAFETY: only shared references come out of &self; writers through get_raw are
        // bound by its contract to mutate only where T allows shared mutation.
        self.slots.get(index).map(|s| unsafe { &*s.0.get() })
    }

    /// The slot of the CPU the thread runs on now (it may migrate right after).
    ///
    /// ```
    /// let slots = rseq_dsl::PerCpu::new(|cpu| cpu);
    /// assert!(*slots.current() < slots.len());
    /// ```
    pub fn current(&self) -> &T
    where
        T: Sync,
    {
        let cpu = crate::current_cpu();
        self.get(cpu.min(self.len() - 1))
            .expect("at least one slot")
    }

    /// Every slot, in index order.
    ///
    /// ```
    /// let slots = rseq_dsl::PerCpu::with_len(4, |i| i as u32);
    /// assert_eq!(slots.iter().sum::<u32>(), 6);
    /// ```
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &T> + '_
    where
        T: Sync,
    {
        // SAFETY: as in get.
        self.slots.iter().map(|s| unsafe { &*s.0.get() })
    }

    /// Slot `index`, exclusively.
    ///
    /// ```
    /// let mut slots = rseq_dsl::PerCpu::with_len(2, |_| 0);
    /// *slots.get_mut(0).unwrap() += 5;
    /// assert_eq!(slots.get(0), Some(&5));
    /// ```
    pub fn get_mut(&mut self, index: usize) -> Option<&mut T> {
        self.slots.get_mut(index).map(|s| s.0.get_mut())
    }

    /// Every slot, exclusively, in index order.
    ///
    /// ```
    /// let mut slots = rseq_dsl::PerCpu::with_len(3, |_| 1);
    /// slots.iter_mut().for_each(|v| *v *= 2);
    /// assert_eq!(slots.iter().sum::<i32>(), 6);
    /// ```
    pub fn iter_mut(&mut self) -> impl ExactSizeIterator<Item = &mut T> + '_ {
        self.slots.iter_mut().map(|s| s.0.get_mut())
    }

    /// The values, in index order.
    ///
    /// ```
    /// let slots = rseq_dsl::PerCpu::with_len(2, |i| i.to_string());
    /// assert_eq!(slots.into_vec(), ["0", "1"]);
    /// ```
    pub fn into_vec(self) -> Vec<T> {
        self.slots
            .into_vec()
            .into_iter()
            .map(|s| s.0.into_inner())
            .collect()
    }
}

impl<T: Default> Default for PerCpu<T> {
    /// One `T::default()` per possible CPU.
    fn default() -> Self {
        PerCpu::new(|_| T::default())
    }
}

impl<T: fmt::Debug + Sync> fmt::Debug for PerCpu<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// The calling thread's CPU for a fallback path, from the operating system (`sched_getcpu`
/// on Linux; see [`current_cpu`](crate::current_cpu) for the others), clamped into `len`
/// slots. Any slot is correct on a fallback path, which is atomic.
fn fallback_cpu(len: usize) -> usize {
    rseq_dsl_runtime::__private::os_cpu().min(len - 1)
}

/// Whether membarrier's rseq fence works in this process, asked once.
///
/// A lock-free cell rather than a `OnceLock`, so that a child forked while another thread
/// was probing does not wait for ever; racing first callers each fence once, harmlessly.
fn fences_work() -> Result<(), crate::FenceError> {
    static PROBE: rseq_dsl_runtime::__private::OnceWord<Result<(), crate::FenceError>> =
        rseq_dsl_runtime::__private::OnceWord::new();
    PROBE.get_or_compute(|| crate::fence_cpu(crate::current_cpu()))
}

// Only where sections exist: the filter names this architecture's seccomp ABI.
rseq_dsl_runtime::__rseq_with_backend! {
/// A seccomp filter on the calling thread only, for tests of what happens when the kernel
/// refuses a system call (a sandbox): other threads, and threads this one creates later
/// (which inherit it), see the filter; the rest of the test binary does not.
#[cfg(test)]
pub(crate) mod refuse {
    use rseq_dsl_runtime::abi::AUDIT_ARCH;

    /// Makes every call in `syscalls` fail with EPERM on the calling thread, for good.
    pub(crate) fn on_this_thread(syscalls: &[libc::c_long]) {
        let stmt = |code: u32, k: u32| libc::sock_filter {
            code: code as u16,
            jt: 0,
            jf: 0,
            k,
        };
        let jeq = |k: u32, jt: u8| libc::sock_filter {
            code: (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16,
            jt,
            jf: 0,
            k,
        };
        let load_word = libc::BPF_LD | libc::BPF_W | libc::BPF_ABS;
        let allow = stmt(libc::BPF_RET | libc::BPF_K, libc::SECCOMP_RET_ALLOW);
        let deny = stmt(
            libc::BPF_RET | libc::BPF_K,
            libc::SECCOMP_RET_ERRNO | libc::EPERM as u32,
        );
        // arch check, then one compare per call jumping to `deny` at the end.
        let n = syscalls.len() as u8;
        let mut filter = vec![stmt(load_word, 4), jeq(AUDIT_ARCH, 1), allow];
        filter.push(stmt(load_word, 0));
        for (i, &nr) in syscalls.iter().enumerate() {
            filter.push(jeq(nr as u32, n - i as u8));
        }
        filter.push(allow);
        filter.push(deny);
        let prog = libc::sock_fprog {
            len: filter.len() as libc::c_ushort,
            filter: filter.as_mut_ptr(),
        };
        // SAFETY: two prctl calls with a valid program; the kernel copies the filter.
        unsafe {
            assert_eq!(libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), 0);
            let mode = libc::SECCOMP_MODE_FILTER as libc::c_ulong;
            let rc = libc::prctl(libc::PR_SET_SECCOMP, mode, &prog as *const libc::sock_fprog);
            assert_eq!(rc, 0, "seccomp: {}", std::io::Error::last_os_error());
        }
    }
}
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_padded_and_aligned() {
        let slots = PerCpu::with_len(3, |i| i as u8);
        for i in 0..3 {
            assert_eq!(slots.get_raw(i) as usize % 128, 0);
        }
        assert_eq!(PerCpu::<u8>::STRIDE, 128);
        assert_eq!(slots.get_raw(2) as usize - slots.get_raw(0) as usize, 256);
    }

    #[test]
    #[should_panic]
    fn get_raw_checks_the_index() {
        PerCpu::with_len(2, |_| 0u64).get_raw(2);
    }

    #[test]
    fn drops_every_value_once() {
        use std::rc::Rc;
        let marker = Rc::new(());
        let slots = PerCpu::with_len(5, |_| marker.clone());
        assert_eq!(Rc::strong_count(&marker), 6);
        drop(slots);
        assert_eq!(Rc::strong_count(&marker), 1);
    }

    rseq_dsl_runtime::__rseq_with_backend! {
        #[test]
        fn the_refusing_filter_refuses_only_its_calls_on_its_thread() {
            std::thread::spawn(|| {
                refuse::on_this_thread(&[libc::SYS_membarrier, libc::SYS_sched_setaffinity]);
                // SAFETY: plain integer arguments; query (0) and a nonsense command.
                assert_eq!(unsafe { libc::syscall(libc::SYS_membarrier, 0, 0, 0) }, -1);
                assert!(crate::fence_all().is_err());
                assert!(crate::current_cpu() < crate::possible_cpus());
            })
            .join()
            .unwrap();
            // Other threads are not filtered (membarrier's query answers a bit mask).
            // SAFETY: MEMBARRIER_CMD_QUERY takes no pointer.
            assert!(unsafe { libc::syscall(libc::SYS_membarrier, 0, 0, 0) } >= 0);
        }
    }

    #[test]
    fn fallback_cpu_is_in_range() {
        assert!(fallback_cpu(1) == 0);
        assert!(fallback_cpu(crate::possible_cpus()) < crate::possible_cpus());
    }
}
