//! Statistics, computed from the caches' counters and the depot's on demand.

use core::sync::atomic::Ordering;

use crate::cache::{self, Index, COUNTERS};
use crate::class::{CLASSES, CLASS_SIZES};
use crate::{depot, large};

/// One size class.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ClassStats {
    /// Object size in bytes.
    pub size: usize,
    /// Allocations of this class so far.
    pub allocs: u64,
    /// Frees of this class so far.
    pub frees: u64,
    /// Allocations served by a cache section (the rest came from the depot: misses).
    pub alloc_hits: u64,
    /// Frees served by a cache section.
    pub free_hits: u64,
    /// Objects in the per-CPU caches now.
    pub cached: u64,
    /// Free objects in the shared depot now.
    pub in_depot: u64,
    /// Objects ever carved from fresh memory. Once no thread is allocating,
    /// `carved == (allocs - frees) + cached + in_depot`: no object is lost or counted twice.
    pub carved: u64,
}

impl ClassStats {
    /// Objects allocated and not freed.
    ///
    /// ```
    /// let s = rseq_dsl_alloc::ClassStats { allocs: 5, frees: 3, ..Default::default() };
    /// assert_eq!(s.live(), 2);
    /// ```
    pub fn live(&self) -> u64 {
        self.allocs.wrapping_sub(self.frees)
    }
}

/// A snapshot of the allocator's counters ([`RseqAlloc::stats`](crate::RseqAlloc::stats));
/// taking one allocates nothing.
///
/// Counters of different classes and caches are read one after another, so a snapshot
/// taken while other threads allocate is only approximately consistent; once they stop,
/// it is exact.
///
/// ```
/// let stats = rseq_dsl_alloc::RseqAlloc.stats();
/// assert_eq!(stats.classes.len(), rseq_dsl_alloc::CLASS_SIZES.len());
/// assert!(stats.hits() + stats.misses() <= stats.allocs() + stats.frees());
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct Stats {
    /// How the caches are indexed; `None` until a thread with rseq allocated.
    pub index: Option<Index>,
    /// Number of caches (one per possible CPU; 0 until a thread with rseq allocated).
    pub caches: usize,
    /// Bytes in all per-CPU caches ([`RseqAlloc::cached_bytes_per_cache`](crate::RseqAlloc::cached_bytes_per_cache)
    /// has them per cache).
    pub cached_bytes: u64,
    /// Per size class.
    pub classes: [ClassStats; CLASSES],
    /// Section attempts the kernel aborted (each was retried).
    pub aborts: u64,
    /// Allocations and frees passed to the system allocator (larger or more aligned than
    /// the classes), and the bytes they hold now.
    pub large_allocs: u64,
    /// See `large_allocs`.
    pub large_frees: u64,
    /// See `large_allocs`.
    pub large_live_bytes: u64,
    /// Bytes mapped for small objects (never unmapped) and for the caches.
    pub mapped_bytes: u64,
}

impl Stats {
    pub(crate) fn collect() -> Stats {
        let caches = cache::cache_count();
        let mut stats = Stats {
            index: cache::index(),
            caches,
            ..Stats::default()
        };
        let mut pushes = [0u64; CLASSES];
        let mut pops = [0u64; CLASSES];
        cache::for_each_counter(|_, class, pushed, popped| {
            let len = pushed.wrapping_sub(popped);
            stats.cached_bytes += len * CLASS_SIZES[class] as u64;
            stats.classes[class].cached += len;
            pushes[class] += pushed;
            pops[class] += popped;
        });
        for (class, s) in stats.classes.iter_mut().enumerate() {
            let c = &COUNTERS[class];
            let depot_allocs = c.depot_allocs.load(Ordering::Relaxed);
            let depot_frees = c.depot_frees.load(Ordering::Relaxed);
            s.size = CLASS_SIZES[class];
            s.alloc_hits = pops[class].wrapping_sub(c.spilled.load(Ordering::Relaxed));
            s.free_hits = pushes[class].wrapping_sub(c.refilled.load(Ordering::Relaxed));
            s.allocs = s.alloc_hits + depot_allocs;
            s.frees = s.free_hits + depot_frees;
            let d = depot::counts(class);
            s.in_depot = d.free;
            s.carved = d.carved;
        }
        stats.aborts = cache::ABORTS.load(Ordering::Relaxed);
        stats.large_allocs = large::ALLOCS.load(Ordering::Relaxed);
        stats.large_frees = large::FREES.load(Ordering::Relaxed);
        stats.large_live_bytes = large::LIVE_BYTES.load(Ordering::Relaxed);
        stats.mapped_bytes = depot::span_bytes() + (caches * crate::class::CACHE_STRIDE) as u64;
        stats
    }

    /// Allocations of every size.
    pub fn allocs(&self) -> u64 {
        self.classes.iter().map(|c| c.allocs).sum::<u64>() + self.large_allocs
    }

    /// Frees of every size.
    pub fn frees(&self) -> u64 {
        self.classes.iter().map(|c| c.frees).sum::<u64>() + self.large_frees
    }

    /// Small allocations and frees served by a cache section.
    pub fn hits(&self) -> u64 {
        self.classes
            .iter()
            .map(|c| c.alloc_hits + c.free_hits)
            .sum()
    }

    /// Small allocations and frees that went to the depot (empty or full cache, a trim in
    /// progress, or a thread without rseq).
    pub fn misses(&self) -> u64 {
        self.classes
            .iter()
            .map(|c| (c.allocs - c.alloc_hits) + (c.frees - c.free_hits))
            .sum()
    }

    /// Bytes of free small objects in the depot.
    pub fn depot_bytes(&self) -> u64 {
        self.classes
            .iter()
            .map(|c| c.in_depot * c.size as u64)
            .sum()
    }

    /// Bytes allocated and not freed (small objects counted at their class size).
    pub fn live_bytes(&self) -> u64 {
        self.classes
            .iter()
            .map(|c| c.live() * c.size as u64)
            .sum::<u64>()
            + self.large_live_bytes
    }
}

/// Fills `out[i]` with the bytes cache `i` holds, for the first `out.len()` caches, and
/// returns the number of caches.
pub(crate) fn cached_bytes_per_cache(out: &mut [u64]) -> usize {
    out.iter_mut().for_each(|b| *b = 0);
    cache::for_each_counter(|index, class, pushed, popped| {
        if let Some(bytes) = out.get_mut(index) {
            *bytes += pushed.wrapping_sub(popped) * CLASS_SIZES[class] as u64;
        }
    });
    cache::cache_count()
}
