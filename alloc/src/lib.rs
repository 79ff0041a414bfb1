//! A global allocator whose small objects come from per-CPU caches, pushed and popped by
//! `rseq!` sections: no lock and no atomic instruction on the fast path, whatever the
//! number of threads.
//!
//! ```
//! #[global_allocator]
//! static ALLOC: rseq_dsl_alloc::RseqAlloc = rseq_dsl_alloc::RseqAlloc;
//!
//! let v: Vec<u64> = (0..1000).collect();
//! assert_eq!(v.iter().sum::<u64>(), 499_500);
//! let stats = ALLOC.stats();
//! println!("{} hits, {} misses, {} bytes cached", stats.hits(), stats.misses(), stats.cached_bytes);
//! ```
//!
//! # How it works
//!
//! - **Size classes** of 16 to 1024 bytes ([`CLASS_SIZES`]) for requests aligned to at
//!   most 16 bytes. Larger or more aligned requests go to the system allocator
//!   (`std::alloc::System`: `malloc`, `posix_memalign`, `realloc`, `free` on Unix, the
//!   process heap on Windows).
//! - **Per-CPU caches**: one per possible CPU, indexed by the thread's `mm_cid` where the
//!   kernel maintains it (Linux 6.3+: as many caches in use as threads running at once) and
//!   by CPU number otherwise (`RSEQ_ALLOC_INDEX=cpu` forces CPU numbers). Each holds a
//!   bounded stack per class (256 objects of up to 256 bytes, 64 of the larger classes: at
//!   most 64 KiB per class). Allocation pops, free pushes: one `rseq!` section each, a few
//!   loads and one store, no atomic instruction. The hit path is one attempt of a
//!   `registered` section in a function that makes no call (so it saves no registers); a
//!   thread's first use, an abort, an empty or full cache take an out-of-line slow path.
//! - **The depot**: per class, a mutex-protected stack of batches of 32 free objects, each
//!   an array of addresses in a node of its own (never a list linked through the objects,
//!   which a refill would walk miss by miss under the lock), and fresh memory mapped
//!   256 KiB at a time. An empty cache takes up to half its capacity (one batched section
//!   pushes 31 objects of the first batch, one more section per further full batch,
//!   straight from the depot's nodes; fresh memory is carved one batch at a time); a full
//!   cache gives half of it back (one batched section per batch copies it into a node).
//!   Small-object memory is never returned to the system.
//! - **Ownership by address**: a table with a byte per page records which pages hold small
//!   objects and of which class, so [`usable_size`](RseqAlloc::usable_size) tells one of
//!   ours (and its size) from any other address with two loads. The drop-in C `malloc`
//!   (`alloc/malloc`) frees by address alone with it.
//! - **Without rseq** (the kernel or a sandbox refuses it, qemu-user, a thread past its
//!   rseq teardown at exit; every thread on a target other than Linux, or on a Linux
//!   architecture without an rseq backend), allocations and frees go straight to the depot,
//!   under its lock. Threads on both paths can free each other's objects. The allocator
//!   builds and works on every target with `std`: Unix through `libc`, Windows through
//!   `windows-sys` (`src/os/`).
//! - **[`trim`](RseqAlloc::trim)** moves every cache's objects to the depot while other
//!   threads keep allocating: it stops each cache (every section checks a word first and
//!   exits on it, to the depot), fences with `membarrier` so that no section still runs on
//!   a cache, empties the caches and restarts them.
//!
//! # Guarantees and rules
//!
//! - **Nothing allocates through itself**: the caches and spans are mapped from the OS
//!   (`mmap`; `VirtualAlloc` on Windows), the locks are statics (`pthread_mutex_t`; an
//!   `SRWLOCK` on Windows), statistics are atomics, and a thread's rseq registration
//!   allocates nothing (glibc's area, or the runtime's own thread-local one).
//! - **Fork** (Unix): `pthread_atfork` handlers (installed by a constructor before `main`)
//!   hold every depot lock and the trim lock across `fork` and re-initialise them in the
//!   child, so a child never inherits a lock held by a thread that does not exist there.
//!   Caches need nothing: a section another thread had in flight either committed before the fork
//!   or left no trace. A batch moving between a cache and the depot (a refill, a spill, a
//!   trim) moves under its class lock, section and counters included, so no object is in
//!   flight at the fork: the child's accounting is exact (an object a vanished thread had
//!   allocated, or was freeing, counts as live there). Fork handlers that run while ours
//!   hold the locks (prepare handlers registered before ours, parent and child handlers
//!   registered before ours) may allocate and free: the forking thread then uses the
//!   depot without locking, every other thread being kept out.
//! - **Statistics** ([`stats`](RseqAlloc::stats)) read each class under its depot lock and
//!   each cache's counters as at one instant: no count wraps or exceeds what it bounds,
//!   however busy the other threads are.
//! - **Signal handlers**: not async-signal-safe, like `malloc`: a cache miss takes a depot
//!   lock that the interrupted thread may hold. Do not allocate or free in a handler.
//! - **Threads that exit** leave nothing behind: caches belong to CPUs, not threads.
//! - **All instances share one state** (the caches and the depot are process-wide): use
//!   one `RseqAlloc` as the global allocator.
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(missing_docs, missing_debug_implementations)]

mod cache;
mod class;
mod depot;
mod large;
mod os;
mod pages;
mod stats;

use core::alloc::{GlobalAlloc, Layout};

pub use cache::Index;
pub use class::{CLASS_SIZES, MAX_SMALL};
pub use rseq_dsl::FenceError;
pub use stats::{ClassStats, Stats};

use class::{class_of, MAX_SMALL_ALIGN};

/// The allocator: per-CPU caches of small objects in front of the system allocator.
///
/// ```
/// use std::alloc::{GlobalAlloc, Layout};
/// let alloc = rseq_dsl_alloc::RseqAlloc;
/// let layout = Layout::from_size_align(24, 8).unwrap();
/// // SAFETY: a non-zero size; the block is freed with the same layout.
/// unsafe {
///     let p = alloc.alloc(layout);
///     assert!(!p.is_null());
///     p.write_bytes(0xAB, 24);
///     alloc.dealloc(p, layout);
/// }
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct RseqAlloc;

impl RseqAlloc {
    /// The allocator (a unit value: the state is process-wide).
    ///
    /// ```
    /// #[global_allocator]
    /// static ALLOC: rseq_dsl_alloc::RseqAlloc = rseq_dsl_alloc::RseqAlloc::new();
    /// ```
    pub const fn new() -> Self {
        RseqAlloc
    }

    /// Moves every object cached by every CPU to the shared depot, where any thread can
    /// reuse it, and returns the bytes moved. Other threads may keep allocating meanwhile.
    ///
    /// Fails with the fence's error (the caches keep their objects) where the kernel
    /// refuses `membarrier`'s rseq fence: before Linux 5.10, or a seccomp filter.
    ///
    /// ```
    /// let alloc = rseq_dsl_alloc::RseqAlloc;
    /// if let Ok(moved) = alloc.trim() {
    ///     println!("{moved} bytes back in the depot");
    ///     assert_eq!(alloc.stats().cached_bytes, 0);
    /// }
    /// ```
    pub fn trim(&self) -> Result<u64, FenceError> {
        cache::trim()
    }

    /// The allocator's counters (allocates nothing).
    ///
    /// ```
    /// let stats = rseq_dsl_alloc::RseqAlloc.stats();
    /// assert!(stats.live_bytes() <= stats.mapped_bytes + stats.large_live_bytes);
    /// ```
    pub fn stats(&self) -> Stats {
        Stats::collect()
    }

    /// Bytes cached per cache: fills `out[i]` for cache `i` (the CPU's, or the concurrency
    /// id's) as far as `out` reaches, and returns the number of caches.
    ///
    /// ```
    /// let alloc = rseq_dsl_alloc::RseqAlloc;
    /// let mut bytes = vec![0; rseq_dsl::possible_cpus()];
    /// let caches = alloc.cached_bytes_per_cache(&mut bytes);
    /// assert!(caches == 0 || caches == bytes.len());
    /// ```
    pub fn cached_bytes_per_cache(&self, out: &mut [u64]) -> usize {
        stats::cached_bytes_per_cache(out)
    }

    /// The usable size of `ptr` if it is a small object of this allocator (the size of its
    /// class, at least the size it was allocated with), `None` for any other address: the
    /// system allocator's large blocks, another allocator's, memory that is no object.
    /// Spans of small objects are never unmapped, so an address that was one of ours stays
    /// so; allocates nothing (two loads from a table of the pages that hold objects).
    ///
    /// ```
    /// use std::alloc::{GlobalAlloc, Layout};
    /// let alloc = rseq_dsl_alloc::RseqAlloc;
    /// let layout = Layout::from_size_align(40, 8).unwrap();
    /// // SAFETY: a non-zero size; the block is freed with the same layout.
    /// unsafe {
    ///     let p = alloc.alloc(layout);
    ///     assert_eq!(alloc.usable_size(p), Some(48));
    ///     alloc.dealloc(p, layout);
    /// }
    /// let on_stack = 0u64;
    /// assert_eq!(alloc.usable_size(&on_stack as *const u64 as *const u8), None);
    /// ```
    #[inline]
    pub fn usable_size(&self, ptr: *const u8) -> Option<usize> {
        pages::class_at(ptr as usize).map(|class| CLASS_SIZES[class])
    }

    /// How the caches are indexed, once a thread with rseq has allocated through them.
    ///
    /// ```
    /// use std::alloc::{GlobalAlloc, Layout};
    /// let alloc = rseq_dsl_alloc::RseqAlloc;
    /// let layout = Layout::new::<u64>();
    /// // SAFETY: a non-zero size, freed with the same layout.
    /// unsafe { alloc.dealloc(alloc.alloc(layout), layout) };
    /// match alloc.index() {
    ///     Some(index) => println!("caches indexed by {index:?}"),
    ///     None => assert!(!rseq_dsl::is_available()),
    /// }
    /// ```
    pub fn index(&self) -> Option<Index> {
        cache::index()
    }
}

#[inline(always)]
fn small(layout: Layout) -> bool {
    layout.size() <= MAX_SMALL && layout.align() <= MAX_SMALL_ALIGN
}

// SAFETY: small blocks are whole objects of a class at least as large as the request and
// 16-byte aligned (class.rs), each handed out once until freed (cache.rs, depot.rs); large
// blocks are the system allocator's. A block is freed to the side it came from, which the
// layout (the same at alloc and dealloc) decides.
unsafe impl GlobalAlloc for RseqAlloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if small(layout) {
            cache::alloc(class_of(layout.size()))
        } else {
            // SAFETY: GlobalAlloc's contract: a non-zero size.
            unsafe { large::alloc(layout) }
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if small(layout) {
            cache::free(class_of(layout.size()), ptr)
        } else {
            // SAFETY: a large block from large::alloc with this layout.
            unsafe { large::free(ptr, layout) }
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if small(layout) {
            let p = cache::alloc(class_of(layout.size()));
            if !p.is_null() {
                // SAFETY: a free object of at least layout.size() bytes.
                unsafe { p.write_bytes(0, layout.size()) };
            }
            p
        } else {
            // SAFETY: GlobalAlloc's contract: a non-zero size.
            unsafe { large::alloc_zeroed(layout) }
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller guarantees a valid layout for new_size with the same align.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        match (small(layout), small(new_layout)) {
            (true, true) if class_of(layout.size()) == class_of(new_size) => ptr,
            (false, false) if large::reallocable(layout) => {
                // SAFETY: a large block from large::alloc, resized to another large size.
                unsafe { large::realloc(ptr, layout, new_size) }
            }
            _ => {
                // SAFETY: the GlobalAlloc contract, as in std's default realloc.
                unsafe {
                    let new = self.alloc(new_layout);
                    if !new.is_null() {
                        core::ptr::copy_nonoverlapping(ptr, new, layout.size().min(new_size));
                        self.dealloc(ptr, layout);
                    }
                    new
                }
            }
        }
    }
}

// Installs the fork handlers before `main` (an `.init_array` entry on ELF systems, as the
// runtime's own constructor; `__mod_init_func` on Apple's), while no other thread can be
// inside the depot. Elsewhere (Windows has no fork) the depot's first use installs them.
#[cfg(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd",
    target_os = "netbsd",
    target_os = "openbsd",
    target_os = "dragonfly",
    target_os = "illumos",
    target_os = "solaris",
    target_vendor = "apple",
))]
mod constructor {
    #[used]
    #[cfg_attr(not(target_vendor = "apple"), link_section = ".init_array")]
    #[cfg_attr(target_vendor = "apple", link_section = "__DATA,__mod_init_func")]
    static INIT: extern "C" fn() = init;

    extern "C" fn init() {
        crate::depot::register_fork_handlers();
    }
}
