//! The shared depot behind the per-CPU caches: per size class, a mutex-protected stack of
//! full batches and one partial batch of free objects, and a bump pointer into spans of
//! fresh memory from the OS (`mmap`, `VirtualAlloc`: `os::map`).
//!
//! Free objects are linked through their own first two words (every object is at least 16
//! bytes): word 0 links the objects of one batch, word 1 of a batch's first object links the
//! batches of the stack. Taking or giving a full batch is O(1) under the lock; walking or
//! linking its objects happens outside it.
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

struct Inner {
    /// Full batches (BATCH objects each), linked through word 1 of their first object.
    full: *mut usize,
    full_batches: u64,
    /// One batch being filled by single frees, linked through word 0.
    partial: *mut usize,
    partial_len: u64,
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
    /// One fresh object, mapping a new span when the current one is used up; null when
    /// the system refuses memory.
    fn carve(&mut self, class: usize) -> *mut usize {
        let size = CLASS_SIZES[class];
        if self.bump + size > self.bump_end {
            let span = os::map(SPAN);
            if span.is_null() {
                return ptr::null_mut();
            }
            // Recorded before any of its objects goes out (`RseqAlloc::usable_size`).
            if !pages::register(span as usize, SPAN, class) {
                // SAFETY: the mapping made above, which nobody saw.
                unsafe { os::unmap(span, SPAN) };
                return ptr::null_mut();
            }
            SPAN_BYTES.fetch_add(SPAN as u64, Ordering::Relaxed);
            // The rest of the old span (less than one object) is abandoned.
            self.bump = span as usize;
            self.bump_end = span as usize + SPAN;
        }
        let object = self.bump;
        self.bump += size;
        self.carved += 1;
        object as *mut usize
    }

    fn push_full(&mut self, first: *mut usize) {
        // SAFETY: `first` is a free object of at least 16 bytes that the depot now owns.
        unsafe { first.add(1).write(self.full as usize) };
        self.full = first;
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
        let d = &mut *self.inner;
        let (chain, mut got) = if !d.full.is_null() {
            let first = d.full;
            // SAFETY: a full batch's first object holds the next batch in word 1.
            d.full = unsafe { first.add(1).read() } as *mut usize;
            d.full_batches -= 1;
            (first, 0)
        } else {
            let chain = d.partial;
            let linked = d.partial_len as usize;
            d.partial = ptr::null_mut();
            d.partial_len = 0;
            let mut got = 0;
            for slot in out[linked..].iter_mut() {
                let object = d.carve(self.class);
                if object.is_null() {
                    break;
                }
                *slot = object as usize;
                got += 1;
            }
            // The carved objects went to the end of `out`; move them after the chain's.
            out.copy_within(linked..linked + got, 0);
            (chain, got)
        };
        let mut object = chain;
        while !object.is_null() {
            out[got] = object as usize;
            got += 1;
            // SAFETY: a linked free object holds the next one of its batch in word 0.
            object = unsafe { object.read() } as *mut usize;
        }
        got
    }

    /// Gives BATCH free objects to the depot as one full batch.
    pub(crate) fn put_batch(&mut self, objects: &[usize; BATCH]) {
        for pair in objects.windows(2) {
            // SAFETY: every object is free, of at least 16 bytes, and ours.
            unsafe { (pair[0] as *mut usize).write(pair[1]) };
        }
        // SAFETY: as above.
        unsafe { (objects[BATCH - 1] as *mut usize).write(0) };
        self.inner.push_full(objects[0] as *mut usize);
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
        if !d.partial.is_null() {
            let object = d.partial;
            // SAFETY: a linked free object holds the next one in word 0.
            d.partial = unsafe { object.read() } as *mut usize;
            d.partial_len -= 1;
            return object as *mut u8;
        }
        if !d.full.is_null() {
            // Split a full batch: its first object goes out, the rest becomes the partial.
            let first = d.full;
            // SAFETY: word 1 of a full batch's first object links the batches, word 0 its
            // objects.
            unsafe {
                d.full = first.add(1).read() as *mut usize;
                d.partial = first.read() as *mut usize;
            }
            d.full_batches -= 1;
            d.partial_len = BATCH as u64 - 1;
            return first as *mut u8;
        }
        d.carve(self.class) as *mut u8
    }

    /// Gives one free object to the depot.
    pub(crate) fn put_one(&mut self, object: *mut u8) {
        let d = &mut *self.inner;
        let object = object as *mut usize;
        // SAFETY: the object is free, of at least 16 bytes, and ours.
        unsafe { object.write(d.partial as usize) };
        d.partial = object;
        d.partial_len += 1;
        if d.partial_len == BATCH as u64 {
            d.push_full(object);
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

/// Bytes mapped for objects so far (spans are never unmapped). Every span of a carved
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
