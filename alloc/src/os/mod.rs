//! The few services of the operating system the allocator needs, none of which allocates
//! through the global allocator (the allocator calls them from its own paths):
//!
//! - [`map`] and [`unmap`]: zeroed, page-aligned, readable and writable memory straight
//!   from the kernel (the caches' region and the depot's spans);
//! - [`RawLock`]: a lock that lives in a `static`, needs no initialisation call and can be
//!   locked and unlocked in different functions (the fork handlers do);
//! - [`at_fork`]: handlers run around `fork`, where there is one;
//! - [`env_is`]: whether an environment variable has a given value;
//! - [`thread_id`]: a non-zero number that identifies the calling thread among those alive
//!   (and survives `fork` in the forking thread);
//! - [`KeepErrno`]: the thread's `errno` as it was, once the guard drops (Linux; a no-op
//!   elsewhere).
//!
//! One file per platform family, each with this interface: `unix.rs` (Linux, macOS, the
//! BSDs: `mmap`, a `pthread_mutex_t`, `pthread_atfork`, `getenv`, through `libc`) and
//! `windows.rs` (`VirtualAlloc`, an `SRWLOCK`, no fork, `GetEnvironmentVariableA`, through
//! `windows-sys`).

#[cfg(unix)]
#[path = "unix.rs"]
mod imp;

#[cfg(windows)]
#[path = "windows.rs"]
mod imp;

pub(crate) use imp::{at_fork, env_is, map, thread_id, unmap, RawLock};

/// Restores the calling thread's `errno` when dropped: a free's slow path makes system
/// calls (a thread's first registration, a fresh mapping) that may set it, and C's `free`
/// must not change it (POSIX 2024; glibc's does not). Only the slow path pays for it, so
/// the C `malloc` (`alloc/malloc`, Linux only) needs no save and restore around every free.
pub(crate) struct KeepErrno {
    #[cfg(target_os = "linux")]
    saved: core::ffi::c_int,
}

impl KeepErrno {
    #[inline]
    pub(crate) fn new() -> Self {
        KeepErrno {
            // SAFETY: the C library's thread-local errno, valid for the thread's life.
            #[cfg(target_os = "linux")]
            saved: unsafe { *libc::__errno_location() },
        }
    }
}

impl Drop for KeepErrno {
    #[inline]
    fn drop(&mut self) {
        // SAFETY: as in `new`.
        #[cfg(target_os = "linux")]
        unsafe {
            *libc::__errno_location() = self.saved
        };
    }
}
