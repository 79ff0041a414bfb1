//! Statistics, computed from the caches' counters and the depot's on demand.

use core::sync::atomic::Ordering;

use crate::cache::{self, Index, COUNTERS};

/// Passes over a class's caches before its cached count is taken as its bound (see
/// `Stats::collect`).
const RETRIES: usize = 8;
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
/// Classes are read one after another, each consistent in itself while other threads
/// allocate: no count wraps or exceeds what it bounds (hits <= operations, each cache's
/// objects <= its capacity, `cached_bytes <= mapped_bytes`); a cache hit that happens while
/// the snapshot is taken may or may not be in it. Once the other threads stop, it is exact.
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
    /// Bytes mapped for small objects and the depot's batch arrays (never unmapped) and for
    /// the caches.
    pub mapped_bytes: u64,
}

impl Stats {
    /// Each class is read with its depot lock held, which every move between a cache and
    /// the depot (refill, spill, trim) and every depot allocation or free holds for the
    /// move and its counter (`cache::ClassCounters`). So, for a class:
    ///
    /// - `spilled`, `refilled`, `depot_allocs`, `depot_frees`, `in_depot` and `carved` are
    ///   fixed while it is read;
    /// - every spilled object's pop was committed before its count, in a critical section
    ///   that happened before ours: the sum of the caches' `pops`, which only grow, is at
    ///   least `spilled`, and `alloc_hits = pops - spilled` cannot wrap; likewise
    ///   `free_hits = pushes - refilled`. The rest of each sum are the cache hits, which
    ///   take no lock: a hit after its cache was read is simply not in the snapshot;
    /// - each cache's `pushes - pops` is its length at one instant (`cache::counter_pair`),
    ///   from 0 to its capacity. Caches are read one after another, so an object that a
    ///   thread allocates from a cache read earlier and frees to one read later shows in
    ///   both; but every cached object is a carved object outside the depot, so a sum over
    ///   `carved - in_depot` is such a double count, and the caches are read again (a few
    ///   times at most: after that the sum is taken as `carved - in_depot`, its bound). A
    ///   pass that counted a free before its allocation (`frees > allocs`) is read again
    ///   too.
    ///
    /// `mapped_bytes` is read last: every span of a counted carved object was added before
    /// the carve, under the lock, so `cached_bytes <= mapped_bytes` in every snapshot.
    pub(crate) fn collect() -> Stats {
        let caches = cache::cache_count();
        let mut stats = Stats {
            index: cache::index(),
            caches,
            ..Stats::default()
        };
        for (class, s) in stats.classes.iter_mut().enumerate() {
            let c = &COUNTERS[class];
            depot::locked(class, |d| {
                let depot = d.counts();
                let outside_depot = depot.carved - depot.free;
                let (spilled, refilled) = (
                    c.spilled.load(Ordering::Relaxed),
                    c.refilled.load(Ordering::Relaxed),
                );
                let (depot_allocs, depot_frees) = (
                    c.depot_allocs.load(Ordering::Relaxed),
                    c.depot_frees.load(Ordering::Relaxed),
                );
                for _ in 0..RETRIES {
                    let (mut pushes, mut pops, mut cached) = (0, 0, 0);
                    cache::for_each_cache(class, |_, pushed, popped| {
                        pushes += pushed;
                        pops += popped;
                        cached += pushed - popped;
                    });
                    s.cached = cached.min(outside_depot);
                    s.alloc_hits = pops - spilled;
                    s.free_hits = pushes - refilled;
                    s.allocs = s.alloc_hits + depot_allocs;
                    s.frees = s.free_hits + depot_frees;
                    // Both hold at every instant; a pass that saw an object in two caches
                    // (or its free and not its allocation) is read again.
                    if cached <= outside_depot && s.frees <= s.allocs {
                        break;
                    }
                }
                s.size = CLASS_SIZES[class];
                s.in_depot = depot.free;
                s.carved = depot.carved;
            });
            stats.cached_bytes += s.cached * CLASS_SIZES[class] as u64;
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
/// returns the number of caches (each class of each cache as at one instant).
pub(crate) fn cached_bytes_per_cache(out: &mut [u64]) -> usize {
    out.iter_mut().for_each(|b| *b = 0);
    for (class, &size) in CLASS_SIZES.iter().enumerate() {
        cache::for_each_cache(class, |index, pushed, popped| {
            if let Some(bytes) = out.get_mut(index) {
                *bytes += (pushed - popped) * size as u64;
            }
        });
    }
    cache::cache_count()
}
