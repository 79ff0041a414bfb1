//! Unix (Linux, macOS, the BSDs) through `libc`: `mmap`, a `pthread_mutex_t`,
//! `pthread_atfork`, `getenv`.

use core::cell::UnsafeCell;
use core::ffi::CStr;
use core::ptr;

/// `len` bytes of fresh, zeroed, page-aligned memory (an anonymous private mapping), or
/// null when the system refuses.
pub(crate) fn map(len: usize) -> *mut u8 {
    // SAFETY: an anonymous private mapping; no pointer of ours is passed. `MAP_ANONYMOUS`
    // is libc's name on every Unix (on macOS and the BSDs an alias of `MAP_ANON`).
    let p = unsafe {
        libc::mmap(
            ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    if p == libc::MAP_FAILED {
        ptr::null_mut()
    } else {
        p as *mut u8
    }
}

/// # Safety
/// `p` and `len` are exactly a mapping `map` returned, and nothing uses it any more.
pub(crate) unsafe fn unmap(p: *mut u8, len: usize) {
    // SAFETY: the caller's contract.
    unsafe { libc::munmap(p as *mut libc::c_void, len) };
}

/// Tries of a taken lock before `RawLock::lock` sleeps on it (each a `pause` apart: a
/// few microseconds in all, less than a time slice's fraction that a sleep and wake cost).
const SPINS: usize = 64;

/// A `pthread_mutex_t` in a static: no allocation, lockable and unlockable from different
/// functions (the fork handlers need that).
pub(crate) struct RawLock(UnsafeCell<libc::pthread_mutex_t>);

// SAFETY: a pthread mutex is made to be shared between threads.
unsafe impl Sync for RawLock {}

impl RawLock {
    pub(crate) const fn new() -> Self {
        RawLock(UnsafeCell::new(libc::PTHREAD_MUTEX_INITIALIZER))
    }

    pub(crate) fn lock(&self) {
        // A few tries before sleeping: the depot holds its locks for the copy of a batch
        // (tens of nanoseconds), so a taken lock is mostly free again well before a futex
        // wait and its wake (two system calls and two context switches) would be done. A
        // default mutex sleeps at once, and its unlock then pays the wake.
        for _ in 0..SPINS {
            // SAFETY: as below; trylock fails with EBUSY and changes nothing when taken.
            if unsafe { libc::pthread_mutex_trylock(self.0.get()) } == 0 {
                return;
            }
            core::hint::spin_loop();
        }
        // SAFETY: an initialised mutex in a static; a default mutex cannot fail to lock
        // except on deadlock, which the lock order (trim, then classes) rules out.
        unsafe { libc::pthread_mutex_lock(self.0.get()) };
    }

    pub(crate) fn unlock(&self) {
        // SAFETY: called only by the thread that locked it.
        unsafe { libc::pthread_mutex_unlock(self.0.get()) };
    }

    /// In a forked child only: the mutex as if never locked.
    pub(crate) fn reinit(&self) {
        // SAFETY: the child has one thread, which is running the fork handler, so nobody
        // else can be using the mutex.
        unsafe { self.0.get().write(libc::PTHREAD_MUTEX_INITIALIZER) };
    }
}

/// Installs fork handlers with `pthread_atfork`, which allocates with the C library's
/// `malloc`, never with the Rust global allocator.
pub(crate) fn at_fork(prepare: extern "C" fn(), parent: extern "C" fn(), child: extern "C" fn()) {
    // SAFETY: three `extern "C" fn()` handlers, which the caller keeps safe to run at a
    // fork (they only lock and unlock statics).
    unsafe { libc::pthread_atfork(Some(prepare), Some(parent), Some(child)) };
}

/// Whether the environment variable `name` is set to `value` (read with `getenv`, which
/// allocates nothing).
pub(crate) fn env_is(name: &CStr, value: &[u8]) -> bool {
    // SAFETY: a NUL-terminated name; the result is only read, before any other call.
    unsafe {
        let found = libc::getenv(name.as_ptr());
        !found.is_null() && CStr::from_ptr(found).to_bytes() == value
    }
}

/// The calling thread's `pthread_t` as a number: non-zero, unique among live threads, and
/// the same in a forked child for the thread that forked (allocates nothing).
pub(crate) fn thread_id() -> usize {
    // SAFETY: no preconditions. `pthread_t` is an integer or a pointer, per system.
    unsafe { libc::pthread_self() as usize }
}
