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
//!   (and survives `fork` in the forking thread).
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
