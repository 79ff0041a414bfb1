//! The shared depot behind the per-CPU caches: per size class, a mutex-protected stack of
//! full batches and one partial batch of free objects, and a bump pointer into spans of
//! fresh memory from the OS (`mmap`, `VirtualAlloc`: `os::map`).
//!
//! A batch is an array of object addresses in a node of its own ([`Node`]), not a list
//! linked through the objects: taking or giving one is O(1) under the lock plus a copy of
//! BATCH words that sit together, where a list would be walked object by object, each a
//! likely cache miss (the objects were last written by whichever CPU freed them), with the
//! lock held. Nodes come from regions mapped with each span, enough for every object of the
//! span to sit in the depot at once: a node is always at hand, so giving objects to the
//! depot never fails, and node memory is only touched as batches use it.
//!
//! Nothing here allocates through the global allocator (the locks are `os::RawLock`
//! statics, `pthread_mutex_t` or `SRWLOCK`; spans come from `os::map`), so the allocator can
//! call it from its own paths.
//!
//! Moves between a cache and the depot (a refill, a spill, a trim's) happen whole under the
//! class lock, with the counters that account for them: no object is ever between the two
//! outside a lock, and a reader holding the lock sees every move either done and counted or
//! not begun (`locked`).
//!
//! Fork (Unix; Windows has none): a `pthread_atfork` handler takes the trim lock and every
//! class lock before `fork` and releases them after it, in the parent, and re-initialises
//! them in the child, so the child never inherits a lock held by a thread that does not
//! exist there, nor an object in flight. Between our prepare handler and our parent or
//! child handler the forking thread holds every lock, and other fork handlers run then
//! (prepare handlers registered before ours, parent and child handlers registered before
//! ours): if they allocate, the forking thread uses the depot without locking
//! ([`FORK_OWNER`]), which is safe because every other thread is kept out by the locks it
//! holds (and in the child there is no other thread).

use core::cell::UnsafeCell;
use core::mem::size_of;
use core::ptr;
use core::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use crate::class::{BATCH, CLASSES, CLASS_SIZES};
use crate::os::{self, RawLock};
use crate::pages;

/// Fresh memory is mapped this many bytes at a time per class.
const SPAN: usize = 256 * 1024;

/// One class's free objects and fresh memory, guarded by `lock`.
struct Depot {
    lock: RawLock,
    inner: UnsafeCell<Inner>,
}

/// A batch of free objects: their addresses, and the next node of a stack.
#[repr(C)]
struct Node {
    next: *mut Node,
    objects: [usize; BATCH],
}

/// The start of a mapped region of nodes: the next region not yet used.
#[repr(C)]
struct Region {
    next: *mut Region,
}

/// Nodes start this far into a region (its header, rounded to a cache line).
const REGION_HEADER: usize = 64;

/// Nodes mapped with each span of `class`: one per BATCH of its objects (all of them free
/// in the depot at once: full batches), plus one (the partial batch).
const fn nodes_per_span(class: usize) -> usize {
    (SPAN / CLASS_SIZES[class]).div_ceil(BATCH) + 1
}

/// Bytes of the node region mapped with each span of `class`, whole pages.
const fn region_bytes(class: usize) -> usize {
    (REGION_HEADER + nodes_per_span(class) * size_of::<Node>()).next_multiple_of(4096)
}

struct Inner {
    /// Full batches (BATCH objects each), linked through `next`.
    full: *mut Node,
    full_batches: u64,
    /// One batch being filled by single frees (`objects[..partial_len]`), or null.
    partial: *mut Node,
    partial_len: u64,
    /// Nodes no batch uses, linked through `next`.
    spare: *mut Node,
    /// Never-used nodes: the rest of the current region, then the regions mapped with
    /// spans and not yet reached. Together with `spare` they are at least the nodes that
    /// every object carved so far could need (see `nodes_per_span`), so `node` never runs
    /// out.
    node_next: usize,
    node_end: usize,
    regions: *mut Region,
    /// Fresh memory: the next object and the end of the current span.
    bump: usize,
    bump_end: usize,
    /// Objects ever handed out from spans.
    carved: u64,
}

// SAFETY: `inner` is only touched with `lock` held.
unsafe impl Sync for Depot {}

impl Depot {
    const fn new() -> Self {
        Depot {
            lock: RawLock::new(),
            inner: UnsafeCell::new(Inner {
                full: ptr::null_mut(),
                full_batches: 0,
                partial: ptr::null_mut(),
                partial_len: 0,
                spare: ptr::null_mut(),
                node_next: 0,
                node_end: 0,
                regions: ptr::null_mut(),
                bump: 0,
                bump_end: 0,
                carved: 0,
            }),
        }
    }

    /// Runs `f` with the lock held (or, on the forking thread during a fork, with every
    /// lock held already: see [`FORK_OWNER`]).
    fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        register_fork_handlers();
        let locked = acquire(&self.lock);
        // SAFETY: the lock is held (by us, or by the fork in progress on this thread, which
        // keeps every other thread out), so this is the only reference to `inner`; `f`
        // never reaches the depot of this class again.
        let r = f(unsafe { &mut *self.inner.get() });
        if locked {
            self.lock.unlock();
        }
        r
    }
}

/// The thread between our fork handlers (`before_fork` took every lock, `after_fork_*` has
/// not released them yet), or 0. Only that thread can find its own id here (the store is
/// its own, in program order; other threads may read any value but theirs), so a relaxed
/// load suffices.
static FORK_OWNER: AtomicUsize = AtomicUsize::new(0);

/// Takes `lock`, unless this thread is forking and holds every lock already (a fork
/// handler run inside ours allocates): then false, and the caller must not unlock.
pub(crate) fn acquire(lock: &RawLock) -> bool {
    let owner = FORK_OWNER.load(Ordering::Relaxed);
    if owner != 0 && owner == os::thread_id() {
        return false;
    }
    lock.lock();
    true
}

static DEPOTS: [Depot; CLASSES] = [const { Depot::new() }; CLASSES];

/// Taken by `trim` for its whole run, and by the fork handler, so that no fork happens
/// while a trim has caches stopped.
pub(crate) static TRIM_LOCK: RawLock = RawLock::new();

/// Bytes mapped for spans, all classes.
static SPAN_BYTES: AtomicU64 = AtomicU64::new(0);

impl Inner {
    /// One fresh object, mapping a new span (and its node region) when the current one is
    /// used up; null when the system refuses memory.
    fn carve(&mut self, class: usize) -> *mut usize {
        let size = CLASS_SIZES[class];
        if self.bump + size > self.bump_end {
            let region = os::map(region_bytes(class));
            if region.is_null() {
                return ptr::null_mut();
            }
            let span = os::map(SPAN);
            // Recorded before any of its objects goes out (`RseqAlloc::usable_size`).
            if span.is_null() || !pages::register(span as usize, SPAN, class) {
                // SAFETY: the mappings made above, which nobody saw.
                unsafe {
                    if !span.is_null() {
                        os::unmap(span, SPAN);
                    }
                    os::unmap(region, region_bytes(class));
                }
                return ptr::null_mut();
            }
            let region = region as *mut Region;
            // SAFETY: a fresh mapping of at least a page, ours alone.
            unsafe { region.write(Region { next: self.regions }) };
            self.regions = region;
            SPAN_BYTES.fetch_add((SPAN + region_bytes(class)) as u64, Ordering::Relaxed);
            // The rest of the old span (less than one object) is abandoned.
            self.bump = span as usize;
            self.bump_end = span as usize + SPAN;
        }
        let object = self.bump;
        self.bump += size;
        self.carved += 1;
        object as *mut usize
    }

    /// A node for a batch: a spare one, else a never-used one.
    fn node(&mut self, class: usize) -> *mut Node {
        if !self.spare.is_null() {
            let node = self.spare;
            // SAFETY: a spare node, ours (under the lock).
            self.spare = unsafe { (*node).next };
            return node;
        }
        if self.node_next + size_of::<Node>() > self.node_end {
            let region = self.regions;
            // Every batch in the depot holds objects carved from this class's spans, each
            // of which brought nodes_per_span nodes: with no spare one left, a region is
            // still waiting (see `Inner::node_next`).
            assert!(!region.is_null(), "depot: no node for a batch");
            // SAFETY: a region mapped in `carve`, not used yet.
            self.regions = unsafe { (*region).next };
            self.node_next = region as usize + REGION_HEADER;
            self.node_end = region as usize + region_bytes(class);
        }
        let node = self.node_next as *mut Node;
        self.node_next += size_of::<Node>();
        node
    }

    /// Gives `node` back once its batch is taken.
    fn free_node(&mut self, node: *mut Node) {
        // SAFETY: a node of ours that no batch uses any more.
        unsafe { (*node).next = self.spare };
        self.spare = node;
    }

    /// Takes the top full batch's node, if any.
    fn pop_full(&mut self) -> *mut Node {
        let node = self.full;
        if !node.is_null() {
            // SAFETY: a full batch's node, ours.
            self.full = unsafe { (*node).next };
            self.full_batches -= 1;
        }
        node
    }

    fn push_full(&mut self, node: *mut Node) {
        // SAFETY: a node of ours holding BATCH free objects.
        unsafe { (*node).next = self.full };
        self.full = node;
        self.full_batches += 1;
    }
}

/// The depot of one class, locked: what a refill, a spill or a trim does while it also
/// runs its cache section and counts the move, so that the move is whole at any fork and
/// to any reader holding the lock.
pub(crate) struct Locked<'a> {
    inner: &'a mut Inner,
    class: usize,
}

/// Runs `f` with the depot of `class` locked.
pub(crate) fn locked<R>(class: usize, f: impl FnOnce(&mut Locked<'_>) -> R) -> R {
    DEPOTS[class].with(|inner| f(&mut Locked { inner, class }))
}

impl Locked<'_> {
    /// Fills `out` with BATCH free objects (a full batch if the depot has one, else the
    /// partial batch topped up with fresh objects) and returns how many it got: BATCH
    /// unless the system refused memory.
    pub(crate) fn take_batch(&mut self, out: &mut [usize; BATCH]) -> usize {
        if self.take_full(out) {
            return BATCH;
        }
        let class = self.class;
        let d = &mut *self.inner;
        let mut got = 0;
        if !d.partial.is_null() {
            let node = d.partial;
            got = d.partial_len as usize;
            // SAFETY: the partial batch's node, `got` objects.
            out[..got].copy_from_slice(unsafe { &(&(*node).objects)[..got] });
            d.partial = ptr::null_mut();
            d.partial_len = 0;
            d.free_node(node);
        }
        while got < BATCH {
            let object = d.carve(class);
            if object.is_null() {
                break;
            }
            out[got] = object as usize;
            got += 1;
        }
        got
    }

    /// Fills `out` with a full batch if the depot has one (never with fresh memory).
    pub(crate) fn take_full(&mut self, out: &mut [usize; BATCH]) -> bool {
        self.take_full_with(|batch| {
            *out = *batch;
            true
        })
        .is_some()
    }

    /// Runs `f` on the top full batch's objects where they are, if the depot has a full
    /// batch (`None` otherwise); the batch leaves the depot if `f` returns true (`f` took
    /// the objects), and stays otherwise.
    pub(crate) fn take_full_with(
        &mut self,
        f: impl FnOnce(&[usize; BATCH]) -> bool,
    ) -> Option<bool> {
        let d = &mut *self.inner;
        let node = d.full;
        if node.is_null() {
            return None;
        }
        // SAFETY: a full batch's node: BATCH objects, ours under the lock.
        if !f(unsafe { &(*node).objects }) {
            return Some(false);
        }
        d.pop_full();
        d.free_node(node);
        Some(true)
    }

    /// Lets `f` write BATCH free objects straight into a node of the depot, which takes
    /// them as a full batch if `f` returns true (and nothing otherwise).
    pub(crate) fn put_batch_with(&mut self, f: impl FnOnce(&mut [usize; BATCH]) -> bool) -> bool {
        let node = self.inner.node(self.class);
        // SAFETY: a node of ours that no batch uses, so this is the only reference to it.
        if f(unsafe { &mut (*node).objects }) {
            self.inner.push_full(node);
            true
        } else {
            self.inner.free_node(node);
            false
        }
    }

    /// Gives BATCH free objects to the depot as one full batch.
    pub(crate) fn put_batch(&mut self, objects: &[usize; BATCH]) {
        let node = self.inner.node(self.class);
        // SAFETY: a node of ours, no batch's.
        unsafe { (*node).objects = *objects };
        self.inner.push_full(node);
    }

    /// Gives any number of free objects to the depot.
    pub(crate) fn put_many(&mut self, objects: &[usize]) {
        let mut chunks = objects.chunks_exact(BATCH);
        for chunk in &mut chunks {
            self.put_batch(chunk.try_into().expect("BATCH objects"));
        }
        for &object in chunks.remainder() {
            self.put_one(object as *mut u8);
        }
    }

    /// One free object (null when the system refuses memory).
    pub(crate) fn take_one(&mut self) -> *mut u8 {
        let d = &mut *self.inner;
        if d.partial.is_null() {
            // A full batch becomes the partial one.
            d.partial = d.pop_full();
            if d.partial.is_null() {
                return d.carve(self.class) as *mut u8;
            }
            d.partial_len = BATCH as u64;
        }
        let node = d.partial;
        d.partial_len -= 1;
        // SAFETY: the partial batch's node, with partial_len + 1 objects.
        let object = unsafe { (*node).objects[d.partial_len as usize] };
        if d.partial_len == 0 {
            d.partial = ptr::null_mut();
            d.free_node(node);
        }
        object as *mut u8
    }

    /// Gives one free object to the depot.
    pub(crate) fn put_one(&mut self, object: *mut u8) {
        let d = &mut *self.inner;
        if d.partial.is_null() {
            d.partial = d.node(self.class);
            d.partial_len = 0;
        }
        let node = d.partial;
        // SAFETY: the partial batch's node, with room (a full one is pushed at once).
        unsafe { (*node).objects[d.partial_len as usize] = object as usize };
        d.partial_len += 1;
        if d.partial_len == BATCH as u64 {
            d.push_full(node);
            d.partial = ptr::null_mut();
            d.partial_len = 0;
        }
    }

    /// What the depot holds now.
    pub(crate) fn counts(&self) -> DepotCounts {
        DepotCounts {
            free: self.inner.full_batches * BATCH as u64 + self.inner.partial_len,
            carved: self.inner.carved,
        }
    }
}

/// What the depot holds of one class.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct DepotCounts {
    /// Free objects waiting in the depot.
    pub(crate) free: u64,
    /// Objects ever carved from spans.
    pub(crate) carved: u64,
}

/// Bytes mapped for objects and their batches' nodes so far (never unmapped). Every span of a carved
/// object that a reader counted under the class lock is included: the span was added
/// under that lock, before the carve.
pub(crate) fn span_bytes() -> u64 {
    SPAN_BYTES.load(Ordering::Relaxed)
}

static FORK_HANDLERS: AtomicBool = AtomicBool::new(false);

/// Installs the fork handlers once (where there is a `fork`: not on Windows). The
/// constructor calls it before `main`; the depot's first use calls it too, for a C runtime
/// that skipped constructors (or a platform where the crate has none). `pthread_atfork`
/// allocates with the C library's malloc, never with the Rust global allocator.
pub(crate) fn register_fork_handlers() {
    if FORK_HANDLERS.load(Ordering::Acquire) {
        return;
    }
    if FORK_HANDLERS
        .compare_exchange(false, true, Ordering::AcqRel, Ordering::Acquire)
        .is_ok()
    {
        // The handlers only lock and unlock statics.
        os::at_fork(before_fork, after_fork_parent, after_fork_child);
    }
}

/// Lock order everywhere: the trim lock, then classes in index order (a refill, spill or
/// trim holds one class lock at a time). Then this thread owns the depot until our parent or
/// child handler: the handlers that run in between may allocate ([`acquire`]).
extern "C" fn before_fork() {
    TRIM_LOCK.lock();
    for d in &DEPOTS {
        d.lock.lock();
    }
    FORK_OWNER.store(os::thread_id(), Ordering::Relaxed);
}

extern "C" fn after_fork_parent() {
    FORK_OWNER.store(0, Ordering::Relaxed);
    for d in DEPOTS.iter().rev() {
        d.lock.unlock();
    }
    TRIM_LOCK.unlock();
}

extern "C" fn after_fork_child() {
    FORK_OWNER.store(0, Ordering::Relaxed);
    for d in &DEPOTS {
        d.lock.reinit();
    }
    TRIM_LOCK.reinit();
}
