//! What the allocator's test binaries share: the allocator behind a counting wrapper (the
//! independent count the statistics are checked against), blocks with canaries, the
//! workloads, a signal storm and the checks.
//!
//! Everything but the signal storm, the thread count, the resident memory and the seccomp
//! filter (Linux only) builds and runs on every target.
#![allow(dead_code)] // each binary uses part of it

use std::alloc::{GlobalAlloc, Layout};
use std::sync::atomic::{AtomicPtr, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rseq_dsl_alloc::{RseqAlloc, Stats, MAX_SMALL};

// Where rseq can be available: Linux on an architecture with an rseq backend.
#[cfg(all(rseq_dsl_sections, target_pointer_width = "64"))]
#[path = "../../../runtime/tests/support/seccomp.rs"]
mod seccomp;

/// The allocator under test, counting what passes through it on its own.
pub struct Counting;

pub static SMALL_ALLOCS: AtomicU64 = AtomicU64::new(0);
pub static SMALL_FREES: AtomicU64 = AtomicU64::new(0);
pub static LARGE_ALLOCS: AtomicU64 = AtomicU64::new(0);
pub static LARGE_FREES: AtomicU64 = AtomicU64::new(0);

#[global_allocator]
pub static ALLOC: Counting = Counting;

fn small(layout: Layout) -> bool {
    layout.size() <= MAX_SMALL && layout.align() <= 16
}

fn count(layout: Layout, small_counter: &AtomicU64, large_counter: &AtomicU64) {
    let counter = if small(layout) {
        small_counter
    } else {
        large_counter
    };
    counter.fetch_add(1, Ordering::Relaxed);
}

// SAFETY: forwards every call to RseqAlloc unchanged.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded contract.
        let p = unsafe { RseqAlloc.alloc(layout) };
        if !p.is_null() {
            count(layout, &SMALL_ALLOCS, &LARGE_ALLOCS);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        count(layout, &SMALL_FREES, &LARGE_FREES);
        // SAFETY: forwarded contract.
        unsafe { RseqAlloc.dealloc(ptr, layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded contract.
        let p = unsafe { RseqAlloc.alloc_zeroed(layout) };
        if !p.is_null() {
            count(layout, &SMALL_ALLOCS, &LARGE_ALLOCS);
        }
        p
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded contract.
        let p = unsafe { RseqAlloc.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            // Count as RseqAlloc does: a free of the old block and an allocation of the new
            // one, except where it kept the block (same class) or resized it in place.
            let new = Layout::from_size_align(new_size, layout.align()).unwrap();
            let same_class = small(layout)
                && small(new)
                && rseq_dsl_alloc::CLASS_SIZES
                    .iter()
                    .position(|&s| s >= layout.size())
                    == rseq_dsl_alloc::CLASS_SIZES
                        .iter()
                        .position(|&s| s >= new_size);
            let by_libc = !small(layout) && !small(new) && layout.align() <= 16;
            if !same_class && !by_libc {
                count(layout, &SMALL_FREES, &LARGE_FREES);
                count(new, &SMALL_ALLOCS, &LARGE_ALLOCS);
            }
        }
        p
    }
}

/// A small, fast random generator (xorshift).
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

/// A block with a canary: word 0 holds its size, alignment and a tag, every later byte a
/// pattern of the tag. Checked in full before it is freed.
pub fn make_block(rng: &mut Rng) -> *mut u8 {
    let r = rng.next();
    let size = match r % 100 {
        0..=59 => 8 + (r >> 8) as usize % 120,
        60..=94 => 8 + (r >> 8) as usize % 1100,
        95..=98 => 1024 + (r >> 8) as usize % 8192,
        _ => 32 + (r >> 8) as usize % 512,
    };
    let align: usize = match (r >> 40) % 16 {
        0 => 64,
        1..=4 => 16,
        _ => 8,
    };
    let tag = (r >> 44) & 0xff_ffff;
    let layout = Layout::from_size_align(size, align).unwrap();
    // SAFETY: a non-zero size.
    let p = unsafe { std::alloc::alloc(layout) };
    assert!(!p.is_null(), "out of memory");
    // SAFETY: p has `size >= 8` bytes, aligned to at least 8.
    unsafe {
        (p as *mut u64).write(size as u64 | (align.trailing_zeros() as u64) << 32 | tag << 40);
        for i in 8..size {
            p.add(i).write((tag as u8).wrapping_add(i as u8));
        }
    }
    p
}

/// Checks a block's canary and frees it; panics on any damage.
pub fn check_and_free(p: *mut u8) {
    // SAFETY: p came from make_block and is owned by the caller.
    unsafe {
        let word = (p as *const u64).read();
        let size = (word & 0xffff_ffff) as usize;
        let align = 1usize << ((word >> 32) & 0xff);
        let tag = word >> 40;
        assert!(
            (8..=16384).contains(&size) && align <= 64,
            "corrupt header {word:#x} at {p:?}"
        );
        for i in 8..size {
            let expected = (tag as u8).wrapping_add(i as u8);
            let got = p.add(i).read();
            assert_eq!(
                got, expected,
                "corrupt byte {i} of a {size}-byte block at {p:?}"
            );
        }
        std::alloc::dealloc(p, Layout::from_size_align(size, align).unwrap());
    }
}

/// Slots shared by all threads: each operation swaps a fresh block into a random slot and
/// frees whatever was there, so blocks are mostly freed by another thread than their
/// allocator (larson's pattern).
pub struct Exchange {
    slots: Vec<AtomicPtr<u8>>,
}

impl Exchange {
    pub fn new(len: usize) -> Arc<Exchange> {
        Arc::new(Exchange {
            slots: (0..len)
                .map(|_| AtomicPtr::new(std::ptr::null_mut()))
                .collect(),
        })
    }

    pub fn op(&self, rng: &mut Rng) {
        let i = rng.next() as usize % self.slots.len();
        let old = self.slots[i].swap(make_block(rng), Ordering::AcqRel);
        if !old.is_null() {
            check_and_free(old);
        }
    }

    /// Frees every block left in the slots.
    pub fn drain(&self) {
        for slot in &self.slots {
            let old = slot.swap(std::ptr::null_mut(), Ordering::AcqRel);
            if !old.is_null() {
                check_and_free(old);
            }
        }
    }
}

/// A thread's own blocks, replaced at random (glibc-thread's pattern: same-thread frees).
pub fn own_blocks(rng: &mut Rng, ops: usize) {
    let mut mine: Vec<*mut u8> = (0..256).map(|_| make_block(rng)).collect();
    for _ in 0..ops {
        let i = rng.next() as usize % mine.len();
        check_and_free(mine[i]);
        mine[i] = make_block(rng);
    }
    mine.into_iter().for_each(check_and_free);
}

/// Runs `threads` workers for `duration`, each alternating exchange and own-block rounds;
/// returns the operations done.
pub fn run_workers(exchange: &Arc<Exchange>, threads: usize, duration: Duration, seed: u64) -> u64 {
    let deadline = Instant::now() + duration;
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let exchange = exchange.clone();
            std::thread::spawn(move || {
                let mut rng = Rng(seed ^ (t as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
                let mut ops = 0;
                while Instant::now() < deadline {
                    for _ in 0..500 {
                        exchange.op(&mut rng);
                    }
                    own_blocks(&mut rng, 200);
                    ops += 700;
                }
                ops
            })
        })
        .collect();
    workers.into_iter().map(|w| w.join().unwrap()).sum()
}

/// Prints that `test` of `binary` did not run, and why (`skipped: NAME: why`, as the root
/// crate's test binaries print it).
pub fn skipped(binary: &str, test: &str, why: &str) {
    println!("skipped: {binary}: {test}: {why}");
}

/// Why rseq is unavailable on this thread (empty if it is available).
pub fn no_rseq_reason() -> String {
    match rseq_dsl::registration() {
        Ok(_) => String::new(),
        Err(e) => e.to_string(),
    }
}

#[cfg(target_os = "linux")]
static SIGNALS: AtomicU64 = AtomicU64::new(0);

#[cfg(target_os = "linux")]
extern "C" fn on_signal(_: libc::c_int) {
    SIGNALS.fetch_add(1, Ordering::Relaxed);
}

/// Signals handled so far by the storm's handler.
#[cfg(target_os = "linux")]
pub fn signals_handled() -> u64 {
    SIGNALS.load(Ordering::Relaxed)
}

/// A thread that sends SIGUSR1 to every thread of the process but itself, one every
/// ~20 µs, until `stop` is set (signals a thread sends itself never land inside a section).
#[cfg(target_os = "linux")]
pub fn signal_storm(stop: Arc<std::sync::atomic::AtomicBool>) -> std::thread::JoinHandle<u64> {
    // SAFETY: installs a handler that only bumps an atomic.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_signal as *const () as usize;
        action.sa_flags = libc::SA_RESTART;
        assert_eq!(
            libc::sigaction(libc::SIGUSR1, &action, std::ptr::null_mut()),
            0
        );
    }
    std::thread::spawn(move || {
        // SAFETY: getpid and gettid have no preconditions.
        let (pid, me) = unsafe { (libc::getpid(), libc::gettid()) };
        let mut sent = 0;
        let mut tids = Vec::new();
        while !stop.load(Ordering::Relaxed) {
            tids.clear();
            if let Ok(dir) = std::fs::read_dir("/proc/self/task") {
                tids.extend(dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<i32>().ok()));
            }
            for _ in 0..50 {
                for &tid in tids.iter().filter(|&&t| t != me && t != pid) {
                    // SAFETY: tgkill with a handled signal; a tid that exited gets ESRCH.
                    unsafe { libc::syscall(libc::SYS_tgkill, pid, tid, libc::SIGUSR1) };
                    sent += 1;
                    // Sleeping rather than spinning: a waking thread preempts a worker, so
                    // the storm keeps its pace however many workers share the CPUs.
                    std::thread::sleep(Duration::from_micros(20));
                }
            }
        }
        sent
    })
}

/// Resident memory of this process, from /proc/self/statm (Linux only: `None` elsewhere).
pub fn rss_bytes() -> Option<u64> {
    if !cfg!(target_os = "linux") {
        return None;
    }
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    Some(pages * 4096)
}

/// A resident size for a report line.
pub fn rss_text(rss: Option<u64>) -> String {
    rss.map_or("unknown".to_string(), |b| format!("{b} B"))
}

/// With no other thread allocating: the allocator's statistics agree with the wrapper's
/// independent count, and every object ever carved is live, cached or in the depot.
pub fn check_accounting(what: &str) -> Stats {
    check_accounting_forked(what, 0)
}

/// `check_accounting` in a child forked while `in_flight` threads of the parent were
/// allocating: each may have left one operation half counted (the allocator counted it,
/// the wrapper not yet, or the reverse), so the wrapper's counts may differ by that many;
/// the allocator's own books must still balance exactly.
pub fn check_accounting_forked(what: &str, in_flight: u64) -> Stats {
    let stats = RseqAlloc.stats();
    let small_allocs: u64 = stats.classes.iter().map(|c| c.allocs).sum();
    let small_frees: u64 = stats.classes.iter().map(|c| c.frees).sum();
    let (wa, wf) = (
        SMALL_ALLOCS.load(Ordering::Relaxed),
        SMALL_FREES.load(Ordering::Relaxed),
    );
    let (la, lf) = (
        LARGE_ALLOCS.load(Ordering::Relaxed),
        LARGE_FREES.load(Ordering::Relaxed),
    );
    let off = |a: u64, b: u64| a.abs_diff(b) > in_flight;
    assert!(
        !off(small_allocs, wa) && !off(small_frees, wf),
        "{what}: small allocs/frees {:?} vs the wrapper's count {:?} (at most {in_flight} apart)",
        (small_allocs, small_frees),
        (wa, wf),
    );
    assert!(
        !off(stats.large_allocs, la) && !off(stats.large_frees, lf),
        "{what}: large allocs/frees {:?} vs the wrapper's count {:?} (at most {in_flight} apart)",
        (stats.large_allocs, stats.large_frees),
        (la, lf),
    );
    for c in &stats.classes {
        assert_eq!(
            c.carved,
            c.live() + c.cached + c.in_depot,
            "{what}: class {} lost or duplicated objects: {c:?}",
            c.size
        );
    }
    let by_class: u64 = stats.classes.iter().map(|c| c.cached * c.size as u64).sum();
    assert_eq!(
        stats.cached_bytes, by_class,
        "{what}: cached bytes vs per-class objects"
    );
    let mut per_cache = [0u64; 64];
    if RseqAlloc.cached_bytes_per_cache(&mut per_cache) <= 64 {
        assert_eq!(
            per_cache.iter().sum::<u64>(),
            stats.cached_bytes,
            "{what}: per-cache bytes"
        );
    }
    stats
}

/// Prints a line per scenario: what the allocator did.
pub fn report(what: &str, ops: u64, stats: &Stats, elapsed: Duration) {
    let mut per_cache = vec![0u64; stats.caches];
    RseqAlloc.cached_bytes_per_cache(&mut per_cache);
    println!(
        "{what}: {ops} ops in {:.2?}, index {:?}, hits {}, misses {}, aborts {}, cached {} B {:?}, depot {} B, live {} B, mapped {} B, rss {}",
        elapsed,
        stats.index,
        stats.hits(),
        stats.misses(),
        stats.aborts,
        stats.cached_bytes,
        per_cache,
        stats.depot_bytes(),
        stats.live_bytes(),
        stats.mapped_bytes,
        rss_text(rss_bytes())
    );
}

/// Counts the threads of this process (for forking only while none starts or exits).
#[cfg(target_os = "linux")]
pub fn thread_count() -> usize {
    std::fs::read_dir("/proc/self/task")
        .map(|d| d.count())
        .unwrap_or(0)
}

/// Waits until the process has exactly `n` threads.
#[cfg(target_os = "linux")]
pub fn wait_for_threads(n: usize) {
    while thread_count() != n {
        std::thread::sleep(Duration::from_millis(1));
    }
}

pub static STARTED: AtomicUsize = AtomicUsize::new(0);

/// Makes `rseq` fail with ENOSYS on the calling thread and on threads it creates later, as
/// a sandbox or an emulator without rseq would. Allocates nothing (it also runs between
/// `fork` and `exec`). Linux on an architecture with an rseq backend only.
#[cfg(all(rseq_dsl_sections, target_pointer_width = "64"))]
pub fn deny_rseq() -> bool {
    seccomp::refuse_rseq_here(rseq_dsl::abi::SYS_RSEQ).is_ok()
}
