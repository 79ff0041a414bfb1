//! Requests the caches do not serve (larger than the largest class, or aligned more than
//! 16 bytes) go to the system allocator (glibc's `malloc` family), counted.

use core::alloc::Layout;
use core::sync::atomic::{AtomicU64, Ordering};

/// Allocations, frees and live bytes of the backing allocator.
pub(crate) static ALLOCS: AtomicU64 = AtomicU64::new(0);
pub(crate) static FREES: AtomicU64 = AtomicU64::new(0);
pub(crate) static LIVE_BYTES: AtomicU64 = AtomicU64::new(0);

/// `malloc` returns memory aligned for any fundamental type: 16 bytes on the 64-bit targets.
const MALLOC_ALIGN: usize = 16;

fn counted(p: *mut u8, size: usize) -> *mut u8 {
    if !p.is_null() {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        LIVE_BYTES.fetch_add(size as u64, Ordering::Relaxed);
    }
    p
}

// Never inlined: the small-object fast path beside it stays a leaf that saves no registers.
#[inline(never)]
pub(crate) fn alloc(layout: Layout) -> *mut u8 {
    let p = if layout.align() <= MALLOC_ALIGN {
        // SAFETY: malloc has no preconditions.
        unsafe { libc::malloc(layout.size()) as *mut u8 }
    } else {
        let mut p = core::ptr::null_mut();
        // SAFETY: the alignment is a power of two (Layout guarantees it) and at least the
        // pointer size, as posix_memalign requires.
        let rc = unsafe { libc::posix_memalign(&mut p, layout.align(), layout.size()) };
        if rc == 0 {
            p as *mut u8
        } else {
            core::ptr::null_mut()
        }
    };
    counted(p, layout.size())
}

pub(crate) fn alloc_zeroed(layout: Layout) -> *mut u8 {
    if layout.align() <= MALLOC_ALIGN {
        // SAFETY: calloc has no preconditions.
        return counted(
            unsafe { libc::calloc(1, layout.size()) as *mut u8 },
            layout.size(),
        );
    }
    let p = alloc(layout);
    if !p.is_null() {
        // SAFETY: p is a fresh block of layout.size() bytes.
        unsafe { p.write_bytes(0, layout.size()) };
    }
    p
}

/// # Safety
/// `p` came from `alloc` or `alloc_zeroed` here with `layout`.
// Never inlined, as `alloc`: its counters' atomic adds are calls on aarch64 without LSE.
#[inline(never)]
pub(crate) unsafe fn free(p: *mut u8, layout: Layout) {
    FREES.fetch_add(1, Ordering::Relaxed);
    LIVE_BYTES.fetch_sub(layout.size() as u64, Ordering::Relaxed);
    // SAFETY: the caller's contract: p came from malloc, calloc or posix_memalign.
    unsafe { libc::free(p as *mut libc::c_void) };
}

/// Whether `realloc` can hand a block of `layout` to `libc::realloc`.
pub(crate) fn reallocable(layout: Layout) -> bool {
    layout.align() <= MALLOC_ALIGN
}

/// # Safety
/// `p` came from `alloc` here with `layout`, `reallocable(layout)`, and `new_size` is a
/// large size too.
pub(crate) unsafe fn realloc(p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
    // SAFETY: the caller's contract.
    let q = unsafe { libc::realloc(p as *mut libc::c_void, new_size) as *mut u8 };
    if !q.is_null() {
        LIVE_BYTES.fetch_add(new_size as u64, Ordering::Relaxed);
        LIVE_BYTES.fetch_sub(layout.size() as u64, Ordering::Relaxed);
    }
    q
}
