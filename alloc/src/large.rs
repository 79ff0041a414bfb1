//! Requests the caches do not serve (larger than the largest class, or aligned more than
//! 16 bytes) go to the system allocator, `std::alloc::System`, counted.
//!
//! On Unix `System` is the C library's `malloc` family, called as this module called it
//! directly before (`malloc` where `malloc`'s alignment suffices, else `posix_memalign`;
//! `calloc`; `realloc`; `free`); it also knows each target's `malloc` alignment (8 bytes on
//! 32-bit Arm, where a 16-byte-aligned request needs `posix_memalign`). On Windows it is
//! the process heap (`HeapAlloc`, over-allocating for large alignments).

use core::alloc::{GlobalAlloc, Layout};
use core::sync::atomic::{AtomicU64, Ordering};
use std::alloc::System;

/// Allocations, frees and live bytes of the backing allocator.
pub(crate) static ALLOCS: AtomicU64 = AtomicU64::new(0);
pub(crate) static FREES: AtomicU64 = AtomicU64::new(0);
pub(crate) static LIVE_BYTES: AtomicU64 = AtomicU64::new(0);

/// Blocks aligned to at most this many bytes are resized by the system allocator's
/// `realloc` and counted as a resize (neither an allocation nor a free); more aligned ones
/// are moved by `RseqAlloc::realloc`, counted as an allocation and a free. (The largest
/// small-object alignment: where it exceeds `malloc`'s, `System` itself moves the block.)
const RESIZE_ALIGN: usize = crate::class::MAX_SMALL_ALIGN;

fn counted(p: *mut u8, size: usize) -> *mut u8 {
    if !p.is_null() {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        LIVE_BYTES.fetch_add(size as u64, Ordering::Relaxed);
    }
    p
}

/// # Safety
/// `layout.size()` is not zero (`GlobalAlloc::alloc`'s contract).
// Never inlined: the small-object fast path beside it stays a leaf that saves no registers.
#[inline(never)]
pub(crate) unsafe fn alloc(layout: Layout) -> *mut u8 {
    // SAFETY: the caller's contract.
    counted(unsafe { System.alloc(layout) }, layout.size())
}

/// # Safety
/// As for `alloc`.
pub(crate) unsafe fn alloc_zeroed(layout: Layout) -> *mut u8 {
    // SAFETY: the caller's contract.
    counted(unsafe { System.alloc_zeroed(layout) }, layout.size())
}

/// # Safety
/// `p` came from `alloc` or `alloc_zeroed` here with `layout`.
// Never inlined, as `alloc`: its counters' atomic adds are calls on aarch64 without LSE.
#[inline(never)]
pub(crate) unsafe fn free(p: *mut u8, layout: Layout) {
    FREES.fetch_add(1, Ordering::Relaxed);
    LIVE_BYTES.fetch_sub(layout.size() as u64, Ordering::Relaxed);
    // SAFETY: the caller's contract: p came from System with this layout.
    unsafe { System.dealloc(p, layout) };
}

/// Whether `realloc` resizes a block of `layout` with the system allocator's `realloc`.
pub(crate) fn reallocable(layout: Layout) -> bool {
    layout.align() <= RESIZE_ALIGN
}

/// # Safety
/// `p` came from `alloc` here with `layout`, `reallocable(layout)`, and `new_size` is a
/// large size too.
pub(crate) unsafe fn realloc(p: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
    // SAFETY: the caller's contract: p came from System with `layout`, and the new size is
    // a large one (non-zero, valid with this alignment).
    let q = unsafe { System.realloc(p, layout, new_size) };
    if !q.is_null() {
        LIVE_BYTES.fetch_add(new_size as u64, Ordering::Relaxed);
        LIVE_BYTES.fetch_sub(layout.size() as u64, Ordering::Relaxed);
    }
    q
}
