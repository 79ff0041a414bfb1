//! The time-slice extension of Linux 7.0: a thread about to run a short critical section
//! under a lock sets `slice_ctrl.request` in its rseq area; if the scheduler wants to
//! preempt it meanwhile, the kernel may let it run a few more microseconds (it clears
//! `request` and sets `granted`), after which the thread gives the CPU back with
//! `rseq_slice_yield()`. A lock holder is then rarely preempted with the lock held, which
//! would stall every waiter for a whole time slice.
//!
//! It needs a kernel built with `CONFIG_RSEQ_SLICE_EXTENSION` (Debian's are not), a V2
//! registration (the area's length at least the kernel's feature size, as glibc 2.41+ and
//! this crate register on 7.x), and the thread's opt-in ([`enable_slice_extension`]). The
//! kernel publishes availability and the opt-in in the area's `flags` (bits 4 and 5).
//! Everywhere else [`SliceRequest`] is a no-op, so code can use it unconditionally.

use core::ptr::{self, NonNull};
use core::sync::atomic::{compiler_fence, AtomicU64, Ordering};

use crate::abi::{RseqArea, FLAGS_OFFSET, SLICE_CTRL_OFFSET};
use crate::{Reason, Unavailable};

/// `RSEQ_CS_FLAG_SLICE_EXT_AVAILABLE` and `_ENABLED` in the area's `flags` (kernel-owned).
const AVAILABLE: u32 = 1 << 4;
const ENABLED: u32 = 1 << 5;

/// `rseq_slice_yield()`: the same number on every architecture (system calls from 424 on
/// are numbered alike everywhere).
#[cfg(target_os = "linux")]
const SYS_RSEQ_SLICE_YIELD: libc::c_long = 471;

/// `PR_RSEQ_SLICE_EXTENSION`, its `_SET` operation and `PR_RSEQ_SLICE_EXT_ENABLE`.
#[cfg(target_os = "linux")]
const PR_RSEQ_SLICE_EXTENSION: libc::c_int = 79;
#[cfg(target_os = "linux")]
const PR_RSEQ_SLICE_EXTENSION_SET: libc::c_ulong = 2;
#[cfg(target_os = "linux")]
const PR_RSEQ_SLICE_EXT_ENABLE: libc::c_ulong = 1;

/// Extensions granted to this process's threads (each then yielded).
static GRANTS: AtomicU64 = AtomicU64::new(0);

/// How many time-slice extensions the kernel granted to this process's requests so far
/// (each followed by `rseq_slice_yield()`); always counted, whatever the features: a grant
/// costs a system call anyway.
///
/// ```
/// let before = rseq_dsl_runtime::slice_grants();
/// drop(rseq_dsl_runtime::SliceRequest::new());
/// assert!(rseq_dsl_runtime::slice_grants() >= before);
/// ```
pub fn slice_grants() -> u64 {
    GRANTS.load(Ordering::Relaxed)
}

/// Where the time-slice extension stands for the calling thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SliceExtension {
    /// The thread has no rseq area, or its kernel offers no extension.
    Unavailable,
    /// The kernel offers it; the thread has not opted in ([`enable_slice_extension`]).
    Available,
    /// Requests on this thread can be granted.
    Enabled,
}

/// The calling thread's area and its `flags`, registering the thread if needed.
fn area_and_flags() -> Option<(NonNull<RseqArea>, u32)> {
    let area = crate::area().ok()?;
    // SAFETY: the thread's live area; `flags` is a u32 field the kernel writes, read with
    // a volatile load.
    let flags = unsafe {
        (area.as_ptr() as *const u8)
            .add(FLAGS_OFFSET)
            .cast::<u32>()
            .read_volatile()
    };
    Some((area, flags))
}

/// Where the time-slice extension stands for the calling thread (registering it first if
/// needed): what the kernel says in the area's `flags`.
///
/// ```
/// use rseq_dsl_runtime::{slice_extension, SliceExtension};
/// match slice_extension() {
///     SliceExtension::Enabled => println!("lock holders get more time"),
///     SliceExtension::Available => println!("offered; enable_slice_extension() opts in"),
///     SliceExtension::Unavailable => println!("no extension here (Debian's kernels lack it)"),
/// }
/// ```
pub fn slice_extension() -> SliceExtension {
    match area_and_flags() {
        Some((_, flags)) if flags & ENABLED != 0 => SliceExtension::Enabled,
        Some((_, flags)) if flags & AVAILABLE != 0 => SliceExtension::Available,
        _ => SliceExtension::Unavailable,
    }
}

/// Opts the calling thread in to the time-slice extension (`prctl(PR_RSEQ_SLICE_EXTENSION,
/// SET, ENABLE)`), registering it first if needed. Idempotent.
///
/// # Errors
/// [`Unavailable`] with the registration's reason, or
/// [`Reason::SliceExtensionUnsupported`] with the `prctl`'s errno (EINVAL: the kernel has
/// no extension or the registration is not V2; ENOTSUPP: turned off on the kernel's
/// command line; ENXIO: no area registered).
///
/// ```
/// use rseq_dsl_runtime::{enable_slice_extension, slice_extension, SliceExtension};
/// match enable_slice_extension() {
///     Ok(()) => assert_eq!(slice_extension(), SliceExtension::Enabled),
///     Err(why) => println!("no time-slice extension: {why}"),
/// }
/// ```
pub fn enable_slice_extension() -> Result<(), Unavailable> {
    let (_, flags) = area_and_flags().ok_or_else(|| match crate::area() {
        Err(error) => error,
        Ok(_) => Unavailable::new(Reason::ThreadExiting),
    })?;
    if flags & ENABLED != 0 {
        return Ok(());
    }
    enable()
}

#[cfg(target_os = "linux")]
fn enable() -> Result<(), Unavailable> {
    // SAFETY: prctl with integer arguments only.
    let rc = unsafe {
        libc::prctl(
            PR_RSEQ_SLICE_EXTENSION,
            PR_RSEQ_SLICE_EXTENSION_SET,
            PR_RSEQ_SLICE_EXT_ENABLE,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
        )
    };
    if rc == 0 {
        Ok(())
    } else {
        let errno = crate::error::last_errno();
        Err(Unavailable::new(Reason::SliceExtensionUnsupported {
            errno,
        }))
    }
}

#[cfg(not(target_os = "linux"))]
fn enable() -> Result<(), Unavailable> {
    // No area exists without Linux, so `area_and_flags` failed first; the same error.
    crate::area().map(|_| ())
}

/// A time-slice extension requested for a short critical section, until the guard drops.
///
/// Creating one sets the area's `slice_ctrl.request` (one byte store, no system call)
/// where the thread has opted in; dropping it clears the request and, if the kernel
/// granted an extension meanwhile, yields the CPU with `rseq_slice_yield()` as the
/// extension's contract requires. Anywhere else both are no-ops. The window between is for
/// a few microseconds of work under a lock: a system call inside it revokes the grant,
/// and a grant not followed by the yield within its time gets the thread preempted anyway.
///
/// ```
/// let data = std::sync::Mutex::new(0u64);
/// let mut guard = data.lock().unwrap();
/// {
///     // The lock is held: ask not to be preempted before it is released.
///     let _extension = rseq_dsl_runtime::SliceRequest::new();
///     *guard += 1;
///     drop(guard);
/// } // the request ends here (and the CPU is given back if the kernel extended the slice)
/// assert_eq!(*data.lock().unwrap(), 1);
/// ```
#[derive(Debug)]
#[must_use = "the request ends when the guard drops"]
pub struct SliceRequest {
    /// The `slice_ctrl` word of the thread's area, or null where no request was made.
    ctrl: *mut u8,
}

impl SliceRequest {
    /// Requests an extension if the thread has opted in (see [`enable_slice_extension`]);
    /// never registers the thread, never makes a system call.
    #[inline]
    pub fn new() -> SliceRequest {
        let ctrl = match crate::registration::registered_area() {
            Some(area) => {
                // SAFETY: the thread's live area; `flags` and `slice_ctrl` are fields
                // inside it (checked offsets in abi.rs).
                let base = area.as_ptr() as *mut u8;
                let flags = unsafe { base.add(FLAGS_OFFSET).cast::<u32>().read_volatile() };
                if flags & ENABLED != 0 {
                    // SAFETY: as above; `request` is the first byte of `slice_ctrl`,
                    // written by this thread only (the kernel clears it when it grants).
                    unsafe {
                        let ctrl = base.add(SLICE_CTRL_OFFSET);
                        ctrl.write_volatile(1);
                        ctrl
                    }
                } else {
                    ptr::null_mut()
                }
            }
            None => ptr::null_mut(),
        };
        // The request is set before the critical section's first access.
        compiler_fence(Ordering::SeqCst);
        SliceRequest { ctrl }
    }

    /// Whether this guard made a request (the thread opted in and its kernel offers the
    /// extension).
    pub fn is_active(&self) -> bool {
        !self.ctrl.is_null()
    }
}

impl Default for SliceRequest {
    fn default() -> Self {
        SliceRequest::new()
    }
}

impl Drop for SliceRequest {
    #[inline]
    fn drop(&mut self) {
        if self.ctrl.is_null() {
            return;
        }
        // The critical section's accesses come before the request ends.
        compiler_fence(Ordering::SeqCst);
        // SAFETY: `ctrl` is the `slice_ctrl` of this thread's area (set in `new` on this
        // thread: the guard is neither Send nor Sync); `granted` is its second byte,
        // written by the kernel.
        let granted = unsafe {
            self.ctrl.write_volatile(0);
            self.ctrl.add(1).read_volatile()
        };
        if granted != 0 {
            slice_yield();
        }
    }
}

/// Gives the CPU back after a granted extension (`rseq_slice_yield()`).
#[cold]
#[inline(never)]
fn slice_yield() {
    GRANTS.fetch_add(1, Ordering::Relaxed);
    #[cfg(target_os = "linux")]
    // SAFETY: a system call without arguments.
    unsafe {
        libc::syscall(SYS_RSEQ_SLICE_YIELD);
    }
}

/// Runs `f` with a time-slice extension requested ([`SliceRequest`]) around it.
///
/// ```
/// let lock = std::sync::Mutex::new(Vec::new());
/// rseq_dsl_runtime::with_slice_extension(|| lock.lock().unwrap().push(1));
/// assert_eq!(lock.lock().unwrap().len(), 1);
/// ```
#[inline]
pub fn with_slice_extension<R>(f: impl FnOnce() -> R) -> R {
    let _request = SliceRequest::new();
    f()
}
