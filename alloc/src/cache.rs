//! The per-CPU caches: one mapped region with a cache per possible CPU, each a bounded
//! array stack of free objects per size class (layout in `class.rs`). Push, pop and their
//! batched forms are `rseq!` sections on the cache of the running CPU, or of the thread's
//! `mm_cid` where the kernel maintains it.
//!
//! A stack is two counters that only grow, `pushes` and `pops`; their difference is the
//! number of objects and the index of the top. A pop commits `pops + 1`, a push stores the
//! object in the free slot (speculatively) and commits `pushes + 1`. The counters double as
//! the statistics: every object that went through a cache is counted exactly once.
//!
//! `trim` takes every cache's objects while other threads keep allocating: it sets each
//! cache's `stopped` word, which every section checks first and exits on, then fences
//! (`membarrier`'s rseq command restarts any section that read `stopped` before the store),
//! after which the caches are the trimmer's alone until it clears `stopped`.

use core::ptr;
use core::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use rseq_dsl::{rseq, Outcome};

use crate::class::{
    header_offset, BATCH, CACHE_STRIDE, CLASSES, CLASS_SIZES, LAST_SMALL_CAPACITY_CLASS,
    MOVE_BATCHES, POPS, PUSHES, SLOT_OFFSET, STOPPED,
};
use crate::{depot, os};

// The batch sections copy BATCH addresses (and one less) with `copy`, whose length is a
// literal: keep the literals below in step with BATCH.
const _: () = assert!(BATCH == 32);

/// How caches are indexed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Index {
    /// By the CPU the thread runs on.
    Cpu,
    /// By the thread's memory-map concurrency id (Linux 6.3+): as many caches in use as
    /// threads running at once, at most the CPU count.
    MmCid,
}

const CPU: usize = 1;
const MM_CID: usize = 2;

/// The region's address with the index mode in its low bits (the region is page
/// aligned), or 0 before the first thread with rseq set it up.
static STATE: AtomicUsize = AtomicUsize::new(0);

/// Number of caches in the region, written before STATE is published.
static CACHES: AtomicUsize = AtomicUsize::new(0);

/// The header a section on an index without a cache reads: `stopped`, so it exits at once.
static NO_CACHE: [AtomicU64; 4] = [const { AtomicU64::new(1) }; 4];

/// Aborted attempts of the sections (each is then retried).
pub(crate) static ABORTS: AtomicU64 = AtomicU64::new(0);

/// Per class, for the accounting: objects moved out of caches by spills and trims (their
/// pops are not allocations), objects moved in by refills (their pushes are not frees),
/// allocations and frees served by the depot (misses and threads without rseq).
///
/// Each is only written with the class's depot lock held, in the same critical section as
/// the move it counts (the section's commit, then the counter): a reader holding the lock
/// (`stats.rs`) finds every move done and counted, or not begun, and so does a forked
/// child (the fork handler holds every lock at the fork).
pub(crate) struct ClassCounters {
    pub(crate) spilled: AtomicU64,
    pub(crate) refilled: AtomicU64,
    pub(crate) depot_allocs: AtomicU64,
    pub(crate) depot_frees: AtomicU64,
}

pub(crate) static COUNTERS: [ClassCounters; CLASSES] = [const {
    ClassCounters {
        spilled: AtomicU64::new(0),
        refilled: AtomicU64::new(0),
        depot_allocs: AtomicU64::new(0),
        depot_frees: AtomicU64::new(0),
    }
}; CLASSES];

/// The set-up caches: region address with the index mode in its low bits, cache count.
/// Two words, so that it travels in registers.
#[derive(Clone, Copy)]
struct Caches {
    state: usize,
    len: usize,
}

impl Caches {
    /// Class `class`'s header in the cache for `index`, or a stand-in whose `stopped` is
    /// set where the region has no cache for it (the section exits, the depot serves).
    #[inline(always)]
    fn header(self, index: usize, class: usize) -> *mut u64 {
        if index < self.len {
            (self.base() + index * CACHE_STRIDE + header_offset(class)) as *mut u64
        } else {
            NO_CACHE.as_ptr() as *mut u64
        }
    }

    /// Class `class`'s slots in the cache for `index` (a pointer no section dereferences
    /// where the index has no cache: the `stopped` check exits first).
    #[inline(always)]
    fn slots(self, index: usize, class: usize) -> *mut usize {
        (self.base() + index * CACHE_STRIDE + SLOT_OFFSET[class]) as *mut usize
    }

    #[inline(always)]
    fn base(self) -> usize {
        self.state & !4095
    }

    #[inline(always)]
    fn mode(self) -> usize {
        self.state & 3
    }
}

/// The caches once set up, without setting them up (no call: the fast paths' version).
#[inline(always)]
fn set_up_caches() -> Option<Caches> {
    let state = STATE.load(Ordering::Acquire);
    (state != 0).then(|| Caches {
        state,
        len: CACHES.load(Ordering::Relaxed),
    })
}

#[inline(always)]
fn caches() -> Option<Caches> {
    let state = STATE.load(Ordering::Acquire);
    if state == 0 {
        return set_up();
    }
    Some(Caches {
        state,
        len: CACHES.load(Ordering::Relaxed),
    })
}

/// Maps the region and chooses the index mode, on the first call from a thread with rseq;
/// `None` (nothing set up, the depot serves) on threads without it.
#[cold]
#[inline(never)]
fn set_up() -> Option<Caches> {
    if !rseq_dsl::is_available() {
        return None;
    }
    let len = rseq_dsl::possible_cpus();
    let region = os::map(len * CACHE_STRIDE);
    if region.is_null() {
        return None;
    }
    CACHES.store(len, Ordering::Relaxed);
    let state = region as usize | wanted_mode();
    if let Err(winner) = STATE.compare_exchange(0, state, Ordering::AcqRel, Ordering::Acquire) {
        // Another thread set up first: its region is the one; ours was never used.
        // SAFETY: unmaps exactly the mapping made above, which nobody saw.
        unsafe { os::unmap(region, len * CACHE_STRIDE) };
        let _ = winner;
    }
    caches()
}

/// `mm_cid` where the kernel maintains it, unless `RSEQ_ALLOC_INDEX=cpu` asks for CPU
/// numbers (read with `getenv`, which allocates nothing). Only threads with rseq get here.
fn wanted_mode() -> usize {
    let forced_cpu = os::env_is(c"RSEQ_ALLOC_INDEX", b"cpu");
    if forced_cpu || rseq_dsl::mm_cid().is_none() {
        CPU
    } else {
        MM_CID
    }
}

/// The index mode of the caches, once a thread with rseq set them up.
pub(crate) fn index() -> Option<Index> {
    match STATE.load(Ordering::Acquire) & 3 {
        CPU => Some(Index::Cpu),
        MM_CID => Some(Index::MmCid),
        _ => None,
    }
}

/// One section, indexed by `mm_cid` or by CPU as the caches are, with `no_retry`: aborts
/// come back as `Outcome::Aborted`, so that the caller counts them before retrying.
macro_rules! section {
    ($caches:expr, |$index:ident| $body:tt) => {
        if $caches.mode() == MM_CID {
            rseq!(mm_cid, no_retry, |$index| $body)
        } else {
            rseq!(no_retry, |$index| $body)
        }
    };
}

/// What a section did, for its caller.
enum Step<T> {
    Done(T),
    /// The stack was empty (pop) or full (push).
    Bounded,
    /// The cache is stopped by a trim, or the index has no cache.
    Stopped,
    /// rseq is unavailable on this thread.
    NoRseq,
    /// The fast path's one attempt did not settle it (`once!`): take the slow path, which
    /// counts the abort if the attempt was aborted (the fast path makes no call, and on
    /// aarch64 without LSE an atomic add is one).
    Slow {
        aborted: bool,
    },
}

/// Runs a section (as `section!`) until it is not aborted, counting the aborts. A macro
/// rather than a function taking a closure, so that the section and its caller compile
/// into one function, with the inputs in registers.
macro_rules! retry {
    ($caches:expr, |$index:ident| $body:tt) => {
        loop {
            match section!($caches, |$index| $body) {
                Ok(Outcome::Committed { value, .. }) => break Step::Done(value),
                Ok(Outcome::Exited { value: 0, .. }) => break Step::Bounded,
                Ok(Outcome::Exited { .. }) => break Step::Stopped,
                Ok(Outcome::Aborted) => {
                    ABORTS.fetch_add(1, Ordering::Relaxed);
                }
                Err(_) => break Step::NoRseq,
            }
        }
    };
}

/// One attempt of a section on the fast path: `registered` (a thread's first use goes to
/// the slow path, which registers it) and `no_retry`, so that the expansion makes no call
/// and the function around it saves no registers. Anything but a commit or a bound ends in
/// `Step::Slow`, and the slow path runs the section again with `retry!`.
macro_rules! once {
    ($caches:expr, |$index:ident| $body:tt) => {{
        let outcome = if $caches.mode() == MM_CID {
            rseq!(registered, mm_cid, no_retry, |$index| $body)
        } else {
            rseq!(registered, no_retry, |$index| $body)
        };
        match outcome {
            Ok(Outcome::Committed { value, .. }) => Step::Done(value),
            Ok(Outcome::Exited { value: 0, .. }) => Step::Bounded,
            Ok(Outcome::Aborted) => Step::Slow { aborted: true },
            Ok(Outcome::Exited { .. }) | Err(_) => Step::Slow { aborted: false },
        }
    }};
}

// The sections below share one shape: `hdr` is the class's header (`stopped`, unused,
// `pushes`, `pops`), `slots` its array. `stopped` is loaded with acquire ordering, so that
// every later load comes after it: a section that sees a trim's "not stopped any more"
// also sees the counters the trim left (the trim clears `stopped` after writing them,
// with a `SeqCst` store, which releases them).

/// Pops an object of `class` from the running CPU's cache; `$run` is `retry` or `once`.
macro_rules! pop {
    ($run:ident, $caches:expr, $class:expr) => {{
        let (caches, class): (Caches, usize) = ($caches, $class);
        // SAFETY: `header(i, class)` is the class's header in the cache of the index the
        // section runs for (or the stand-in, on which it exits at once), `slots(i, class)`
        // its slots (layout checked in class.rs); `pushes - pops` is at most the capacity,
        // so the slot read is in the array. Outside trims, only sections on that index
        // write the cache.
        unsafe {
            $run!(caches, |i| {
                in hdr: *mut u64 = caches.header(i, class);
                in slots: *mut usize = caches.slots(i, class);
                let stopped: u64 = hdr.load_acquire();
                if stopped != 0 { exit 1; }
                let pushes: u64 = *hdr.add(2);
                let pops: u64 = *hdr.add(3);
                if pushes == pops { exit 0; }
                let object: usize = *slots.add((pushes - pops - 1) as usize);
                commit *hdr.add(3) = pops + 1;
                object
            })
        }
    }};
}

/// Pushes `object` of `class` on the running CPU's cache; `$run` is `retry` or `once`.
macro_rules! push {
    ($run:ident, $caches:expr, $class:expr, $object:expr) => {{
        let (caches, class, object): (Caches, usize, usize) = ($caches, $class, $object);
        // $capacity: SMALL_CAPACITY or LARGE_CAPACITY, as a literal.
        macro_rules! push_section {
                    ($capacity:tt) => {
                            // SAFETY: as in pop; the slot written is below the class's capacity,
                            // checked first.
                            unsafe {
                                $run!(caches, |i| {
                                    in hdr: *mut u64 = caches.header(i, class);
                                    in slots: *mut usize = caches.slots(i, class);
                                    in object: usize = object;
                                    let stopped: u64 = hdr.load_acquire();
                                    if stopped != 0 { exit 1; }
                                    let pushes: u64 = *hdr.add(2);
                                    let len: u64 = pushes - *hdr.add(3);
                                    if len >= $capacity { exit 0; }
                                    store *slots.add(len as usize) = object;
                                    commit *hdr.add(2) = pushes + 1;
                                })
                            }
                    };
                }
        if class <= LAST_SMALL_CAPACITY_CLASS {
            push_section!(256)
        } else {
            push_section!(64)
        }
    }};
}

/// Moves the top BATCH objects of `class` from the running CPU's cache into `out`.
fn pop_batch(caches: Caches, class: usize, out: &mut [usize; BATCH]) -> Step<()> {
    let out = out.as_mut_ptr() as *mut u8;
    // SAFETY: as in pop; the copy reads BATCH slots at or above index 0 (len >= BATCH
    // is checked) and writes `out`, BATCH words of ours.
    unsafe {
        retry!(caches, |i| {
            in hdr: *mut u64 = caches.header(i, class);
            in slots: *mut usize = caches.slots(i, class);
            in out: *mut u8 = out;
            let stopped: u64 = hdr.load_acquire();
            if stopped != 0 { exit 1; }
            let pops: u64 = *hdr.add(3);
            let len: u64 = *hdr.add(2) - pops;
            if len < 32 { exit 0; }
            let from: *mut u8 = slots.add((len - 32) as usize) as *mut u8;
            copy(out, from, 256);
            commit *hdr.add(3) = pops + 32;
        })
    }
}

/// Pushes the first BATCH - 1 objects of `objects` on the running CPU's cache.
// On a target without an rseq backend every section expands to the same `Unavailable`
// error, so the two capacities' branches are alike there.
#[allow(clippy::if_same_then_else)]
fn push_batch(caches: Caches, class: usize, objects: &[usize; BATCH]) -> Step<()> {
    let objects = objects.as_ptr() as *mut u8;
    // $room: the class's capacity minus BATCH - 1, as a literal.
    macro_rules! push_batch_section {
        ($room:tt) => {
                // SAFETY: as in push; the copy writes BATCH - 1 slots from `len`, and
                // `len + BATCH - 1 <= capacity` is checked first.
                unsafe {
                    retry!(caches, |i| {
                        in hdr: *mut u64 = caches.header(i, class);
                        in slots: *mut usize = caches.slots(i, class);
                        in objects: *mut u8 = objects;
                        let stopped: u64 = hdr.load_acquire();
                        if stopped != 0 { exit 1; }
                        let pushes: u64 = *hdr.add(2);
                        let len: u64 = pushes - *hdr.add(3);
                        if len > $room { exit 0; }
                        let to: *mut u8 = slots.add(len as usize) as *mut u8;
                        copy(to, objects, 248);
                        commit *hdr.add(2) = pushes + 31;
                    })
                }
        };
    }
    if class <= LAST_SMALL_CAPACITY_CLASS {
        push_batch_section!(225)
    } else {
        push_batch_section!(33)
    }
}

/// Pushes all BATCH objects of `objects` on the running CPU's cache of `class`, one of the
/// classes of SMALL_CAPACITY (the only ones that take more than one batch in a refill).
fn push_full_batch(caches: Caches, class: usize, objects: &[usize; BATCH]) -> Step<()> {
    debug_assert!(class <= LAST_SMALL_CAPACITY_CLASS);
    let objects = objects.as_ptr() as *mut u8;
    // SAFETY: as in push; the copy writes BATCH slots from `len`, and
    // `len + BATCH <= SMALL_CAPACITY` is checked first.
    unsafe {
        retry!(caches, |i| {
            in hdr: *mut u64 = caches.header(i, class);
            in slots: *mut usize = caches.slots(i, class);
            in objects: *mut u8 = objects;
            let stopped: u64 = hdr.load_acquire();
            if stopped != 0 { exit 1; }
            let pushes: u64 = *hdr.add(2);
            let len: u64 = pushes - *hdr.add(3);
            if len > 224 { exit 0; }
            let to: *mut u8 = slots.add(len as usize) as *mut u8;
            copy(to, objects, 256);
            commit *hdr.add(2) = pushes + 32;
        })
    }
}

// The literals above, spelled out.
const _: () = assert!(crate::class::SMALL_CAPACITY == 256 && crate::class::LARGE_CAPACITY == 64);
const _: () = assert!(256 - (BATCH - 1) == 225 && 64 - (BATCH - 1) == 33);
const _: () = assert!(256 - BATCH == 224 && BATCH * 8 == 256);

/// An object of `class`: from the cache, else a refill from the depot; null when the
/// system refuses memory.
///
/// The fast path is one attempt of a `registered` section and makes no call but tail calls,
/// so it saves no registers; everything else (the thread's first use, set-up, aborts,
/// stopped caches, threads without rseq) is [`alloc_slow`]'s.
#[inline(always)]
pub(crate) fn alloc(class: usize) -> *mut u8 {
    let mut aborted = false;
    if let Some(caches) = set_up_caches() {
        match pop!(once, caches, class) {
            Step::Done(object) => return object as *mut u8,
            Step::Bounded => return refill(caches, class),
            Step::Slow { aborted: was } => aborted = was,
            Step::Stopped | Step::NoRseq => {}
        }
    }
    alloc_slow(class, aborted)
}

#[cold]
#[inline(never)]
fn alloc_slow(class: usize, aborted: bool) -> *mut u8 {
    if aborted {
        ABORTS.fetch_add(1, Ordering::Relaxed);
        // The fast path's `registered` section leaves its abort to its caller.
        rseq_dsl::stats::record_abort();
    }
    if let Some(caches) = caches() {
        match pop!(retry, caches, class) {
            Step::Done(object) => return object as *mut u8,
            Step::Bounded => return refill(caches, class),
            Step::Stopped | Step::NoRseq | Step::Slow { .. } => {}
        }
    }
    depot::locked(class, |d| {
        let object = d.take_one();
        if !object.is_null() {
            COUNTERS[class].depot_allocs.fetch_add(1, Ordering::Relaxed);
        }
        object
    })
}

/// The cache was empty: take a batch from the depot, keep one object for the caller and
/// push the rest, all under the class lock (see `ClassCounters`): the batch is never
/// between the depot and the cache where a fork or a statistics reader could find it.
#[cold]
#[inline(never)]
fn refill(caches: Caches, class: usize) -> *mut u8 {
    depot::locked(class, |d| {
        // A full batch is pushed straight from the depot's node (no copy on the way).
        let mut object = ptr::null_mut();
        let direct = d.take_full_with(|batch| {
            let pushed = matches!(push_batch(caches, class, batch), Step::Done(()));
            if pushed {
                object = batch[BATCH - 1] as *mut u8;
            }
            pushed
        });
        if direct != Some(true) {
            return refill_slow(d, caches, class);
        }
        COUNTERS[class].depot_allocs.fetch_add(1, Ordering::Relaxed);
        COUNTERS[class]
            .refilled
            .fetch_add(BATCH as u64 - 1, Ordering::Relaxed);
        // Up to half the capacity (`MOVE_BATCHES`), from full batches only: a cache that
        // empties never makes the depot carve more than one batch of fresh memory.
        for _ in 1..MOVE_BATCHES[class] {
            let pushed = d.take_full_with(|batch| {
                matches!(push_full_batch(caches, class, batch), Step::Done(()))
            });
            if pushed != Some(true) {
                // No full batch left, or the cache filled up or stopped meanwhile.
                break;
            }
            COUNTERS[class]
                .refilled
                .fetch_add(BATCH as u64, Ordering::Relaxed);
        }
        object
    })
}

/// A refill without a full batch in the depot (the partial one topped up with fresh
/// memory), or whose push failed (the cache filled up or stopped meanwhile).
fn refill_slow(d: &mut depot::Locked<'_>, caches: Caches, class: usize) -> *mut u8 {
    let mut batch = [0usize; BATCH];
    let got = d.take_batch(&mut batch);
    if got == 0 {
        return ptr::null_mut();
    }
    COUNTERS[class].depot_allocs.fetch_add(1, Ordering::Relaxed);
    if got == BATCH {
        if let Step::Done(()) = push_batch(caches, class, &batch) {
            COUNTERS[class]
                .refilled
                .fetch_add(BATCH as u64 - 1, Ordering::Relaxed);
            return batch[BATCH - 1] as *mut u8;
        }
    }
    // Out of memory, or the cache filled up or stopped meanwhile: the rest goes back.
    d.put_many(&batch[..got - 1]);
    batch[got - 1] as *mut u8
}

/// Frees `object` of `class`: into the cache, spilling a batch to the depot when full. The
/// fast path as in [`alloc`]; everything else is [`free_slow`]'s.
#[inline(always)]
pub(crate) fn free(class: usize, object: *mut u8) {
    let mut aborted = false;
    if let Some(caches) = set_up_caches() {
        match push!(once, caches, class, object as usize) {
            Step::Done(()) => return,
            Step::Slow { aborted: was } => aborted = was,
            Step::Bounded | Step::Stopped | Step::NoRseq => {}
        }
    }
    free_slow(class, object, aborted)
}

#[cold]
#[inline(never)]
fn free_slow(class: usize, object: *mut u8, aborted: bool) {
    // A free keeps errno (see `os::KeepErrno`); the hit path makes no system call.
    let _errno = os::KeepErrno::new();
    if aborted {
        ABORTS.fetch_add(1, Ordering::Relaxed);
        // The fast path's `registered` section leaves its abort to its caller.
        rseq_dsl::stats::record_abort();
    }
    if let Some(caches) = caches() {
        match push!(retry, caches, class, object as usize) {
            Step::Done(()) => return,
            Step::Bounded => {
                if spill_and_push(caches, class, object as usize) {
                    return;
                }
            }
            Step::Stopped | Step::NoRseq | Step::Slow { .. } => {}
        }
    }
    depot::locked(class, |d| {
        d.put_one(object);
        COUNTERS[class].depot_frees.fetch_add(1, Ordering::Relaxed);
    });
}

/// The cache was full: move its top batches, half its capacity (`MOVE_BATCHES`), to the
/// depot (under the class lock, as a refill), then push again. False if the push still
/// failed (the thread moved to another full or stopped cache).
#[cold]
#[inline(never)]
fn spill_and_push(caches: Caches, class: usize, object: usize) -> bool {
    depot::locked(class, |d| {
        for _ in 0..MOVE_BATCHES[class] {
            // Popped straight into a node of the depot (no copy on the way).
            if !d.put_batch_with(|batch| matches!(pop_batch(caches, class, batch), Step::Done(())))
            {
                break;
            }
            COUNTERS[class]
                .spilled
                .fetch_add(BATCH as u64, Ordering::Relaxed);
        }
    });
    matches!(push!(retry, caches, class, object), Step::Done(()))
}

/// A cache's class counters, read with atomic loads (sections write them with plain
/// aligned stores, which such loads see whole).
fn header_words(caches: Caches, index: usize, class: usize) -> &'static [AtomicU64; 4] {
    // SAFETY: the header is inside the mapped region, which is never unmapped, aligned,
    // and only ever accessed as whole words.
    unsafe { &*(caches.header(index, class) as *const [AtomicU64; 4]) }
}

/// A cache's `pushes` and `pops` for `class` as they were together at one instant, so
/// that `pushes - pops` is the number of objects it held then (0 to its capacity).
///
/// Both only grow, and `pops <= pushes` at every instant. `pops` is read first: `pushes`,
/// read after it, is at least the `pushes` of that instant, hence at least `pops` (the
/// loads are acquire loads, so they happen in program order; where sections' plain stores
/// may become visible out of order, a weakly ordered CPU, a `pushes` still older than the
/// `pops` is caught by the check and read again). `pops` is then read once more: unchanged,
/// it had that value all along, also at the instant `pushes` was read. Otherwise a pop or a
/// trim intervened and the pair is read again; the three loads take a few nanoseconds on
/// one cache line, so a retry is rare.
fn counter_pair(caches: Caches, index: usize, class: usize) -> (u64, u64) {
    let words = header_words(caches, index, class);
    loop {
        let pops = words[POPS].load(Ordering::Acquire);
        let pushes = words[PUSHES].load(Ordering::Acquire);
        if pushes >= pops && words[POPS].load(Ordering::Acquire) == pops {
            return (pushes, pops);
        }
        core::hint::spin_loop();
    }
}

/// For every cache, `pushes` and `pops` of `class` (each pair as at one instant, see
/// [`counter_pair`]); nothing before set-up.
pub(crate) fn for_each_cache(class: usize, mut f: impl FnMut(usize, u64, u64)) {
    if let Some(caches) = set_up_caches() {
        for index in 0..caches.len {
            let (pushes, pops) = counter_pair(caches, index, class);
            f(index, pushes, pops);
        }
    }
}

/// The number of caches (0 before set-up).
pub(crate) fn cache_count() -> usize {
    if STATE.load(Ordering::Acquire) == 0 {
        0
    } else {
        CACHES.load(Ordering::Relaxed)
    }
}

/// Moves every cached object to the depot; returns the bytes moved. See the module docs
/// for the protocol.
pub(crate) fn trim() -> Result<u64, rseq_dsl::FenceError> {
    depot::register_fork_handlers();
    let locked = depot::acquire(&depot::TRIM_LOCK);
    let result = trim_locked();
    if locked {
        depot::TRIM_LOCK.unlock();
    }
    result
}

fn trim_locked() -> Result<u64, rseq_dsl::FenceError> {
    let state = STATE.load(Ordering::Acquire);
    if state == 0 {
        return Ok(0);
    }
    let caches = Caches {
        state,
        len: CACHES.load(Ordering::Relaxed),
    };
    let stop = |index: usize, value: u64| {
        for class in 0..CLASSES {
            header_words(caches, index, class)[STOPPED].store(value, Ordering::SeqCst);
        }
    };
    (0..caches.len).for_each(|index| stop(index, 1));
    // One fence for all: with mm_cid a cache is not tied to a CPU, so every CPU must be
    // fenced anyway.
    if let Err(e) = rseq_dsl::fence_all() {
        (0..caches.len).for_each(|index| stop(index, 0));
        return Err(e);
    }
    let mut moved = 0;
    for index in 0..caches.len {
        for class in 0..CLASSES {
            let words = header_words(caches, index, class);
            let pushes = words[PUSHES].load(Ordering::Acquire);
            let len = (pushes - words[POPS].load(Ordering::Acquire)) as usize;
            if len == 0 {
                continue;
            }
            // SAFETY: the cache is stopped and fenced: no section uses it until `stop(0)`;
            // slots[..len] hold the cached objects.
            let slots = unsafe { core::slice::from_raw_parts(caches.slots(index, class), len) };
            // The move and its count under the class lock, as a spill's.
            depot::locked(class, |d| {
                d.put_many(slots);
                words[POPS].store(pushes, Ordering::Release);
                COUNTERS[class]
                    .spilled
                    .fetch_add(len as u64, Ordering::Relaxed);
            });
            moved += (len * CLASS_SIZES[class]) as u64;
        }
        stop(index, 0);
    }
    Ok(moved)
}
