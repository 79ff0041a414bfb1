//! Per-CPU pools (librseq's `rseq_mempool`): small per-CPU values packed in strided
//! ranges, and a counter built on them.
//!
//! # Layout
//!
//! A range is one allocation of `cpus * stride` bytes: CPU `k`'s part starts at
//! `base + k * stride`, and item `i` of the range sits at the same offset,
//! `i * size_of::<T>()`, in every CPU's part. So CPU `k`'s copy of an item is
//! `item_base + k * stride`: one multiply-add in a section, no table. A pool grows by whole
//! ranges; items are allocated from a free list (under a mutex: allocating and freeing are
//! rare next to the sections), and a freed item is zeroed on every CPU where it is not
//! zero already.
//!
//! 100,000 `u64` items cost 800,000 bytes per CPU that touches them, where 100,000
//! [`PerCpu<u64>`](crate::PerCpu) cost 128 bytes per CPU each (a padded slot per CPU, so
//! that no two CPUs write one cache line). Items of different CPUs never share a line
//! either, since the stride is a multiple of the page size; items of one CPU do, which is
//! what makes the pool small and is harmless: only that CPU writes them.
//!
//! # Pages that nobody touches
//!
//! On Linux a range is an anonymous private mapping (`mmap`, `MAP_NORESERVE`): its pages
//! read as zero and take no memory until first written, so a CPU that never runs a thread
//! using the pool, or a part of a range beyond the items in use, costs address space
//! only. Elsewhere a range is a zeroed allocation (`alloc_zeroed`, which the system
//! allocators of those targets also serve with lazily zeroed pages for large sizes).

use core::fmt;
use core::marker::PhantomData;
use core::ptr::NonNull;
use core::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use super::Path;
use crate::rseq;

/// Types whose all-zero bytes are a valid value, which a pool hands out zeroed and
/// re-zeroes on free without running a destructor.
///
/// # Safety
///
/// All-zero bytes must be a valid `Self`, and `Self` must not need dropping (it has no
/// `Drop` and owns nothing): pools never drop their items.
///
/// ```
/// // SAFETY: two u32s: all-zero is valid, nothing to drop.
/// #[derive(Debug)]
/// #[repr(C)]
/// struct Pair { hits: u32, misses: u32 }
/// unsafe impl rseq_dsl::Zeroable for Pair {}
/// let pool = rseq_dsl::PerCpuPool::<Pair>::new();
/// let item = pool.alloc();
/// assert_eq!(item.get(0).unwrap().hits, 0);
/// ```
pub unsafe trait Zeroable {}

macro_rules! zeroable {
    ($($t:ty),*) => { $(
        // SAFETY: an integer or an atomic integer: all-zero is 0, and nothing to drop.
        unsafe impl Zeroable for $t {}
    )* };
}
zeroable!(u8, u16, u32, u64, usize, i8, i16, i32, i64, isize);
zeroable!(
    core::sync::atomic::AtomicU8,
    core::sync::atomic::AtomicU16,
    core::sync::atomic::AtomicU32,
    AtomicU64,
    core::sync::atomic::AtomicUsize,
    core::sync::atomic::AtomicI8,
    core::sync::atomic::AtomicI16,
    core::sync::atomic::AtomicI32,
    core::sync::atomic::AtomicI64,
    core::sync::atomic::AtomicIsize
);
// SAFETY: an array of zeroable values is zeroable.
unsafe impl<T: Zeroable, const N: usize> Zeroable for [T; N] {}

/// The default bytes per CPU in a range (librseq's default stride).
const DEFAULT_STRIDE: usize = 64 * 1024;

/// One mapping of `cpus * stride` zeroed bytes.
struct Range {
    base: NonNull<u8>,
    len: usize,
}

impl Range {
    #[cfg(target_os = "linux")]
    fn new(len: usize) -> Range {
        // SAFETY: a fresh anonymous private mapping: no file, no fixed address.
        let p = unsafe {
            libc::mmap(
                core::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_NORESERVE,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            std::alloc::handle_alloc_error(Self::layout(len));
        }
        Range {
            base: NonNull::new(p.cast()).expect("mmap returned a non-null address"),
            len,
        }
    }

    #[cfg(not(target_os = "linux"))]
    fn new(len: usize) -> Range {
        let layout = Self::layout(len);
        // SAFETY: the layout's size is not zero (a stride is at least a page).
        let p = unsafe { std::alloc::alloc_zeroed(layout) };
        let Some(base) = NonNull::new(p) else {
            std::alloc::handle_alloc_error(layout)
        };
        Range { base, len }
    }

    fn layout(len: usize) -> std::alloc::Layout {
        std::alloc::Layout::from_size_align(len, page_size()).expect("a range's layout")
    }
}

impl Drop for Range {
    fn drop(&mut self) {
        #[cfg(target_os = "linux")]
        // SAFETY: the mapping made in Range::new, unmapped once; no item outlives the pool
        // (items hold the pool).
        unsafe {
            libc::munmap(self.base.as_ptr().cast(), self.len);
        }
        #[cfg(not(target_os = "linux"))]
        // SAFETY: allocated in Range::new with this layout, freed once.
        unsafe {
            std::alloc::dealloc(self.base.as_ptr(), Self::layout(self.len));
        }
    }
}

/// The system's page size (4 KiB where it cannot be asked).
fn page_size() -> usize {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: sysconf has no preconditions.
        let n = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
        if n > 0 {
            return n as usize;
        }
    }
    4096
}

/// What the pool's mutex protects.
struct State {
    ranges: Vec<Range>,
    /// Freed item numbers (range * per_range + index), zeroed on every CPU.
    free: Vec<usize>,
    /// Items of the last range never handed out start here.
    next: usize,
    live: usize,
}

struct Shared<T> {
    cpus: usize,
    stride: usize,
    per_range: usize,
    state: Mutex<State>,
    _items: PhantomData<T>,
}

// SAFETY: the ranges are owned memory; items of T move between threads through them.
unsafe impl<T: Send> Send for Shared<T> {}
// SAFETY: the state is under a mutex; the memory is reached through items (see PoolItem).
unsafe impl<T: Send + Sync> Sync for Shared<T> {}

/// A pool of per-CPU values of `T`: each [`PoolItem`] is one `T` per possible CPU, packed
/// with the pool's other items rather than padded (the layout of librseq's `rseq_mempool`),
/// so that 100,000 per-CPU `u64`s cost 800 KB per CPU instead of 12.8 MB. Memory of a CPU
/// that never writes an item stays unpopulated (zero pages until the first write).
///
/// The pool is a handle: clones share it, and every item keeps it alive.
/// [`counter`](PerCpuPool::counter) builds a [`PoolCounter`] on a pool of `AtomicU64`.
///
/// ```
/// use core::sync::atomic::{AtomicU64, Ordering};
/// use rseq_dsl::{rseq, PerCpuPool};
///
/// let pool = PerCpuPool::<AtomicU64>::new();
/// let hits = pool.alloc();
/// let (base, stride) = (hits.base() as *mut u64, hits.stride());
/// // SAFETY: base + cpu * stride is the running CPU's copy of the item; only this section
/// // writes it, and readers use atomic loads.
/// let out = unsafe {
///     rseq!(|cpu| { in slot: *mut u64 = base.byte_add(cpu * stride); commit *slot += 1; })
/// };
/// if out.is_ok() {
///     assert_eq!(hits.iter().map(|h| h.load(Ordering::Relaxed)).sum::<u64>(), 1);
/// }
/// ```
pub struct PerCpuPool<T> {
    shared: Arc<Shared<T>>,
}

impl<T> Clone for PerCpuPool<T> {
    fn clone(&self) -> Self {
        PerCpuPool {
            shared: self.shared.clone(),
        }
    }
}

/// One `T` per possible CPU from a [`PerCpuPool`], all zero at first; CPU `k`'s is at
/// `base() + k * stride()` bytes. Freed (zeroed and returned to the pool) on drop.
///
/// ```
/// let pool = rseq_dsl::PerCpuPool::<u32>::new();
/// let item = pool.alloc();
/// assert_eq!(item.get_raw(1 % item.cpus()) as usize - item.base() as usize,
///            (1 % item.cpus()) * item.stride());
/// ```
pub struct PoolItem<T> {
    pool: Arc<Shared<T>>,
    base: NonNull<T>,
    number: usize,
}

// SAFETY: an item owns its Ts (one per CPU), like a Box<[T]>.
unsafe impl<T: Send> Send for PoolItem<T> {}
// SAFETY: as PerCpu: through &PoolItem safe code gets &T only (T: Sync); raw pointers let
// unsafe code on any thread write them, which moves values between threads (T: Send).
unsafe impl<T: Send + Sync> Sync for PoolItem<T> {}

impl<T: Zeroable> PerCpuPool<T> {
    /// A pool for every possible CPU ([`possible_cpus`](crate::possible_cpus)), growing in
    /// ranges of 64 KiB per CPU.
    ///
    /// ```
    /// let pool = rseq_dsl::PerCpuPool::<u64>::new();
    /// assert_eq!(pool.stride(), 64 * 1024);
    /// ```
    pub fn new() -> Self {
        Self::with_stride(DEFAULT_STRIDE)
    }

    /// A pool whose ranges hold `stride` bytes per CPU (rounded up to a whole number of
    /// pages, and to at least one `T`). Panics if `T` is zero-sized.
    ///
    /// ```
    /// let pool = rseq_dsl::PerCpuPool::<[u64; 4]>::with_stride(1);
    /// assert!(pool.stride() >= 4096 && pool.stride() % 4096 == 0);
    /// ```
    pub fn with_stride(stride: usize) -> Self {
        let size = core::mem::size_of::<T>();
        assert!(size > 0, "a pool of zero-sized items");
        let page = page_size();
        assert!(
            core::mem::align_of::<T>() <= page,
            "items aligned beyond a page"
        );
        let stride = stride.max(size).div_ceil(page) * page;
        PerCpuPool {
            shared: Arc::new(Shared {
                cpus: crate::possible_cpus(),
                stride,
                per_range: stride / size,
                state: Mutex::new(State {
                    ranges: Vec::new(),
                    free: Vec::new(),
                    next: 0,
                    live: 0,
                }),
                _items: PhantomData,
            }),
        }
    }

    /// A new item, zero on every CPU.
    ///
    /// ```
    /// let pool = rseq_dsl::PerCpuPool::<u64>::new();
    /// let items: Vec<_> = (0..10_000).map(|_| pool.alloc()).collect();
    /// assert_eq!(pool.live(), 10_000);
    /// assert!(items.iter().all(|i| i.iter().all(|v| *v == 0)));
    /// ```
    pub fn alloc(&self) -> PoolItem<T> {
        let shared = &*self.shared;
        let mut state = shared.state.lock().unwrap_or_else(|p| p.into_inner());
        let number = match state.free.pop() {
            Some(n) => n,
            None => {
                if state.ranges.is_empty() || state.next == shared.per_range {
                    let range = Range::new(shared.cpus * shared.stride);
                    state.ranges.push(range);
                    state.next = 0;
                }
                state.next += 1;
                (state.ranges.len() - 1) * shared.per_range + state.next - 1
            }
        };
        state.live += 1;
        let range = &state.ranges[number / shared.per_range];
        let offset = (number % shared.per_range) * core::mem::size_of::<T>();
        // SAFETY: offset + size_of::<T>() <= stride, inside CPU 0's part of the range.
        let base = unsafe { range.base.as_ptr().add(offset) }.cast::<T>();
        PoolItem {
            pool: self.shared.clone(),
            base: NonNull::new(base).expect("inside a mapping"),
            number,
        }
    }
}

impl<T> PerCpuPool<T> {
    /// Bytes between two CPUs' copies of an item.
    ///
    /// ```
    /// assert_eq!(rseq_dsl::PerCpuPool::<u8>::with_stride(8192).stride(), 8192);
    /// ```
    pub fn stride(&self) -> usize {
        self.shared.stride
    }

    /// Items allocated and not yet freed.
    ///
    /// ```
    /// let pool = rseq_dsl::PerCpuPool::<u16>::new();
    /// let a = pool.alloc();
    /// assert_eq!(pool.live(), 1);
    /// drop(a);
    /// assert_eq!(pool.live(), 0);
    /// ```
    pub fn live(&self) -> usize {
        self.shared
            .state
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .live
    }

    /// Bytes of address space the pool's ranges take (most of which may be untouched).
    ///
    /// ```
    /// let pool = rseq_dsl::PerCpuPool::<u64>::new();
    /// let _item = pool.alloc();
    /// assert_eq!(pool.mapped_bytes(), rseq_dsl::possible_cpus() * pool.stride());
    /// ```
    pub fn mapped_bytes(&self) -> usize {
        let state = self.shared.state.lock().unwrap_or_else(|p| p.into_inner());
        state.ranges.iter().map(|r| r.len).sum()
    }
}

impl<T: Zeroable> Default for PerCpuPool<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T> PoolItem<T> {
    /// CPU 0's copy; CPU `k`'s is `k * stride()` bytes further (`base().byte_add(k *
    /// stride())`, in a section).
    ///
    /// ```
    /// let pool = rseq_dsl::PerCpuPool::<u64>::new();
    /// let item = pool.alloc();
    /// assert_eq!(item.base(), item.get_raw(0));
    /// ```
    #[inline(always)]
    pub fn base(&self) -> *mut T {
        self.base.as_ptr()
    }

    /// Bytes between two CPUs' copies (the pool's stride).
    ///
    /// ```
    /// let pool = rseq_dsl::PerCpuPool::<u64>::new();
    /// assert_eq!(pool.alloc().stride(), pool.stride());
    /// ```
    #[inline(always)]
    pub fn stride(&self) -> usize {
        self.pool.stride
    }

    /// The number of copies (the possible CPUs when the pool was made).
    ///
    /// ```
    /// let pool = rseq_dsl::PerCpuPool::<u64>::new();
    /// assert_eq!(pool.alloc().cpus(), rseq_dsl::possible_cpus());
    /// ```
    #[inline(always)]
    pub fn cpus(&self) -> usize {
        self.pool.cpus
    }

    /// CPU `cpu`'s copy, for a section or other unsafe code to read and write; panics if
    /// `cpu >= cpus()`. The same contract as [`PerCpu::get_raw`](crate::PerCpu::get_raw).
    ///
    /// ```
    /// let pool = rseq_dsl::PerCpuPool::<u64>::new();
    /// let item = pool.alloc();
    /// // SAFETY: no other access to the item meanwhile.
    /// unsafe { *item.get_raw(0) = 5 };
    /// assert_eq!(item.get(0), Some(&5));
    /// ```
    #[inline(always)]
    pub fn get_raw(&self, cpu: usize) -> *mut T {
        assert!(cpu < self.pool.cpus, "cpu {cpu} out of range");
        // SAFETY: cpu < cpus: inside the range, in CPU `cpu`'s part.
        unsafe { self.base.as_ptr().byte_add(cpu * self.pool.stride) }
    }

    /// CPU `cpu`'s copy, if that CPU exists.
    ///
    /// ```
    /// let pool = rseq_dsl::PerCpuPool::<u64>::new();
    /// let item = pool.alloc();
    /// assert_eq!(item.get(0), Some(&0));
    /// assert_eq!(item.get(item.cpus()), None);
    /// ```
    pub fn get(&self, cpu: usize) -> Option<&T>
    where
        T: Sync,
    {
        // SAFETY: as PerCpu::get: shared references only; writers through get_raw mutate
        // only where T allows shared mutation.
        (cpu < self.pool.cpus).then(|| unsafe { &*self.get_raw(cpu) })
    }

    /// Every CPU's copy, in CPU order.
    ///
    /// ```
    /// let pool = rseq_dsl::PerCpuPool::<u64>::new();
    /// assert_eq!(pool.alloc().iter().count(), rseq_dsl::possible_cpus());
    /// ```
    pub fn iter(&self) -> impl ExactSizeIterator<Item = &T> + '_
    where
        T: Sync,
    {
        // SAFETY: as in get.
        (0..self.pool.cpus).map(move |cpu| unsafe { &*self.get_raw(cpu) })
    }
}

impl<T> Drop for PoolItem<T> {
    fn drop(&mut self) {
        let size = core::mem::size_of::<T>();
        for cpu in 0..self.pool.cpus {
            let p = self.get_raw(cpu).cast::<u8>();
            // SAFETY: the item is exclusively ours now (no &T and, by get_raw's contract,
            // no writer outlives the item): its bytes may be read and zeroed. Pages never
            // written read as the shared zero page and are left unwritten.
            unsafe {
                if core::slice::from_raw_parts(p, size).iter().any(|b| *b != 0) {
                    core::ptr::write_bytes(p, 0, size);
                }
            }
        }
        let mut state = self.pool.state.lock().unwrap_or_else(|p| p.into_inner());
        state.free.push(self.number);
        state.live -= 1;
    }
}

/// A counter on a [`PerCpuPool`]: [`add`](PoolCounter::add) is one section on the running
/// CPU's copy (`base + cpu * stride`), as [`PerCpuCounter::add`](crate::PerCpuCounter::add)
/// is, but the counter costs 8 bytes per CPU instead of a 128-byte slot: for thousands of
/// statistics (per connection, per route, per key).
///
/// Threads without rseq add to one atomic word of the counter itself (the copies are
/// written only by sections on their CPU); [`sum`](PoolCounter::sum) adds it to the
/// copies. `add` and `sum` are async-signal-safe; making and dropping a counter take the
/// pool's mutex.
///
/// ```
/// use std::sync::Arc;
/// let pool = rseq_dsl::PerCpuPool::new();
/// let counters: Arc<Vec<_>> = Arc::new((0..1000).map(|_| pool.counter()).collect());
/// let threads: Vec<_> = (0..4)
///     .map(|_| {
///         let counters = counters.clone();
///         std::thread::spawn(move || counters.iter().for_each(|c| c.add(2)))
///     })
///     .collect();
/// threads.into_iter().for_each(|t| t.join().unwrap());
/// assert!(counters.iter().all(|c| c.sum() == 8));
/// ```
pub struct PoolCounter {
    item: PoolItem<AtomicU64>,
    fallback: AtomicU64,
}

impl PerCpuPool<AtomicU64> {
    /// A counter at zero on this pool.
    ///
    /// ```
    /// let pool = rseq_dsl::PerCpuPool::new();
    /// assert_eq!(pool.counter().sum(), 0);
    /// ```
    pub fn counter(&self) -> PoolCounter {
        PoolCounter {
            item: self.alloc(),
            fallback: AtomicU64::new(0),
        }
    }
}

impl PoolCounter {
    /// Adds `n` (wrapping) on the running CPU's copy: one section, no atomic instruction.
    ///
    /// ```
    /// let c = rseq_dsl::PerCpuPool::new().counter();
    /// c.add(2);
    /// c.add(3);
    /// assert_eq!(c.sum(), 5);
    /// ```
    #[inline]
    pub fn add(&self, n: u64) {
        let item = &self.item;
        // SAFETY: get_raw(cpu) is the running CPU's copy (bound checked), written only by
        // this section on that CPU; readers use atomic loads, which see the store whole.
        let out = unsafe {
            rseq!(|cpu| {
                in slot: *mut u64 = item.get_raw(cpu) as *mut u64;
                in n: u64 = n;
                commit *slot += n;
            })
        };
        if out.is_err() {
            self.fallback.fetch_add(n, Ordering::Relaxed);
        }
    }

    /// The sum over every CPU (wrapping): exact once the adds it should see returned.
    ///
    /// ```
    /// let c = rseq_dsl::PerCpuPool::new().counter();
    /// (1..=10).for_each(|i| c.add(i));
    /// assert_eq!(c.sum(), 55);
    /// ```
    pub fn sum(&self) -> u64 {
        self.item
            .iter()
            .fold(self.fallback.load(Ordering::Relaxed), |s, v| {
                s.wrapping_add(v.load(Ordering::Relaxed))
            })
    }

    /// The path `add` takes on the calling thread.
    ///
    /// ```
    /// let c = rseq_dsl::PerCpuPool::new().counter();
    /// assert_eq!(c.path(), rseq_dsl::Path::current());
    /// ```
    pub fn path(&self) -> Path {
        Path::current()
    }

    /// The counter's per-CPU copies, for a section of your own (an add of several
    /// counters at once, say).
    ///
    /// ```
    /// let c = rseq_dsl::PerCpuPool::new().counter();
    /// assert_eq!(c.item().cpus(), rseq_dsl::possible_cpus());
    /// ```
    pub fn item(&self) -> &PoolItem<AtomicU64> {
        &self.item
    }
}

impl<T> fmt::Debug for PerCpuPool<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PerCpuPool")
            .field("cpus", &self.shared.cpus)
            .field("stride", &self.shared.stride)
            .field("live", &self.live())
            .finish()
    }
}

impl<T: fmt::Debug + Sync> fmt::Debug for PoolItem<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl fmt::Debug for PoolCounter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoolCounter")
            .field("sum", &self.sum())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_are_strided_and_packed() {
        let pool = PerCpuPool::<u64>::with_stride(4096);
        let a = pool.alloc();
        let b = pool.alloc();
        assert_eq!(b.base() as usize - a.base() as usize, 8);
        for cpu in 0..a.cpus() {
            assert_eq!(a.get_raw(cpu) as usize - a.base() as usize, cpu * 4096);
        }
    }

    #[test]
    fn grows_by_ranges_and_reuses_freed_items_zeroed() {
        let pool = PerCpuPool::<u64>::with_stride(4096);
        let items: Vec<_> = (0..1000).map(|_| pool.alloc()).collect();
        assert_eq!(pool.mapped_bytes(), 2 * pool.shared.cpus * 4096);
        for (i, item) in items.iter().enumerate() {
            for cpu in 0..item.cpus() {
                // SAFETY: no other access to the item meanwhile.
                unsafe { *item.get_raw(cpu) = i as u64 + 1 };
            }
        }
        let distinct: std::collections::HashSet<usize> =
            items.iter().map(|i| i.base() as usize).collect();
        assert_eq!(distinct.len(), 1000);
        drop(items);
        assert_eq!(pool.live(), 0);
        let again: Vec<_> = (0..1000).map(|_| pool.alloc()).collect();
        assert!(again.iter().all(|i| i.iter().all(|v| *v == 0)));
        assert_eq!(pool.mapped_bytes(), 2 * pool.shared.cpus * 4096);
    }

    #[test]
    fn the_pool_lives_as_long_as_its_items() {
        let item = PerCpuPool::<u32>::new().alloc();
        // SAFETY: no other access.
        unsafe { *item.get_raw(0) = 7 };
        assert_eq!(item.get(0), Some(&7));
    }

    #[test]
    fn counters_count_exactly_across_threads() {
        let pool = PerCpuPool::new();
        let counters: Vec<_> = (0..64).map(|_| pool.counter()).collect();
        std::thread::scope(|s| {
            for t in 0..4u64 {
                let counters = &counters;
                s.spawn(move || {
                    for round in 0..500u64 {
                        for (i, c) in counters.iter().enumerate() {
                            c.add(i as u64 + t + round % 2);
                        }
                    }
                });
            }
        });
        for (i, c) in counters.iter().enumerate() {
            assert_eq!(c.sum(), 4 * 500 * i as u64 + 500 * 6 + 250 * 4);
        }
    }

    #[test]
    fn the_fallback_word_mixes_with_sections() {
        let c = PerCpuPool::new().counter();
        std::thread::scope(|s| {
            s.spawn(|| (0..10_000).for_each(|_| c.add(1)));
            s.spawn(|| {
                (0..10_000).for_each(|_| {
                    c.fallback.fetch_add(1, Ordering::Relaxed);
                })
            });
        });
        assert_eq!(c.sum(), 20_000);
    }

    /// The point of the layout: a CPU that never writes an item never gets its pages.
    #[cfg(target_os = "linux")]
    #[test]
    fn untouched_cpus_pages_are_not_resident() {
        let pool = PerCpuPool::<u64>::new();
        let item = pool.alloc();
        let page = page_size();
        let resident = |cpu: usize| {
            let p = item.get_raw(cpu) as usize & !(page - 1);
            let mut vec = 0u8;
            // SAFETY: one page of our mapping, page-aligned; one result byte.
            let rc = unsafe { libc::mincore(p as *mut libc::c_void, page, &mut vec) };
            assert_eq!(rc, 0, "mincore: {}", std::io::Error::last_os_error());
            vec & 1 == 1
        };
        assert!((0..item.cpus()).all(|cpu| !resident(cpu)));
        // SAFETY: no other access; CPU 0's copy only.
        unsafe { *item.get_raw(0) = 1 };
        assert!(resident(0));
        assert!((1..item.cpus()).all(|cpu| !resident(cpu)));
        // Reading is not writing: the zero page is not resident memory of ours.
        assert!(item.iter().skip(1).all(|v| *v == 0));
        drop(item);
        let again = pool.alloc();
        assert!(again.iter().all(|v| *v == 0));
    }
}
