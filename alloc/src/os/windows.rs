//! Windows through `windows-sys`: `VirtualAlloc`, an `SRWLOCK`, `GetEnvironmentVariableA`;
//! Windows has no `fork`, so no fork handlers.

use core::cell::UnsafeCell;
use core::ffi::CStr;
use core::ptr;

use windows_sys::Win32::System::Environment::GetEnvironmentVariableA;
use windows_sys::Win32::System::Memory::{
    VirtualAlloc, VirtualFree, MEM_COMMIT, MEM_RELEASE, MEM_RESERVE, PAGE_READWRITE,
};
use windows_sys::Win32::System::Threading::{
    AcquireSRWLockExclusive, GetCurrentThreadId, ReleaseSRWLockExclusive, SRWLOCK, SRWLOCK_INIT,
};

/// `len` bytes of fresh, zeroed memory, reserved and committed at once (aligned to the
/// 64 KiB allocation granularity, so page-aligned), or null when the system refuses.
pub(crate) fn map(len: usize) -> *mut u8 {
    // SAFETY: a new allocation at an address of the system's choosing; no pointer of ours
    // is passed.
    unsafe { VirtualAlloc(ptr::null(), len, MEM_COMMIT | MEM_RESERVE, PAGE_READWRITE) as *mut u8 }
}

/// # Safety
/// `p` and `len` are exactly a mapping `map` returned, and nothing uses it any more.
pub(crate) unsafe fn unmap(p: *mut u8, len: usize) {
    // MEM_RELEASE frees the whole reservation, with a size of 0.
    let _ = len;
    // SAFETY: the caller's contract: `p` is the base of a reservation of ours.
    unsafe { VirtualFree(p.cast(), 0, MEM_RELEASE) };
}

/// An `SRWLOCK` in a static: statically initialised, no allocation, and (as the Unix
/// mutex) released by the thread that took it, in whatever function.
pub(crate) struct RawLock(UnsafeCell<SRWLOCK>);

// SAFETY: an SRW lock is made to be shared between threads.
unsafe impl Sync for RawLock {}

impl RawLock {
    pub(crate) const fn new() -> Self {
        RawLock(UnsafeCell::new(SRWLOCK_INIT))
    }

    pub(crate) fn lock(&self) {
        // SAFETY: an initialised SRW lock in a static, never taken recursively (the lock
        // order, trim then classes, rules that out).
        unsafe { AcquireSRWLockExclusive(self.0.get()) };
    }

    pub(crate) fn unlock(&self) {
        // SAFETY: called only by the thread that locked it, in exclusive mode.
        unsafe { ReleaseSRWLockExclusive(self.0.get()) };
    }

    /// The lock as if never taken (the fork child's handler calls it, which never runs
    /// here: Windows has no `fork`).
    pub(crate) fn reinit(&self) {
        // SAFETY: only called where no thread can hold or wait for the lock.
        unsafe { self.0.get().write(SRWLOCK_INIT) };
    }
}

/// Windows has no `fork`: nothing to install.
pub(crate) fn at_fork(
    _prepare: extern "C" fn(),
    _parent: extern "C" fn(),
    _child: extern "C" fn(),
) {
}

/// Whether the environment variable `name` is set to `value` (not empty): read into a buffer on the
/// stack (one byte more than `value`, so that a longer value does not match), which
/// allocates nothing through the global allocator.
pub(crate) fn env_is(name: &CStr, value: &[u8]) -> bool {
    let mut buf = [0u8; 32];
    if value.is_empty() || value.len() >= buf.len() {
        return false;
    }
    let size = value.len() as u32 + 1;
    // SAFETY: a NUL-terminated name and a buffer of `size` writable bytes.
    let got = unsafe { GetEnvironmentVariableA(name.as_ptr().cast(), buf.as_mut_ptr(), size) };
    // `got` is the value's length when it fit (with its NUL), the size it needs otherwise,
    // 0 when the variable is not set.
    got as usize == value.len() && &buf[..value.len()] == value
}

/// The calling thread's id (never 0 for a live thread). Only the fork handlers' owner check
/// reads it, which finds no owner here: Windows has no `fork`.
pub(crate) fn thread_id() -> usize {
    // SAFETY: no preconditions.
    unsafe { GetCurrentThreadId() as usize }
}
