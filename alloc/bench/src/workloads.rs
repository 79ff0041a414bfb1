//! Ports of mimalloc-bench's small workloads, plus a plain small-object churn. Every block
//! comes from the global allocator (`std::alloc::alloc`), so whichever allocator the binary
//! links is the one measured. Each workload runs until `duration` has passed and returns
//! the operations done (one operation: one block allocated and, sooner or later, freed).
//!
//! Shared by the benchmark binary (alloc/bench) and the allocator's test suite
//! (alloc/tests/workloads.rs), which runs them briefly so that they keep building.

use std::alloc::{alloc, dealloc, Layout};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// The workloads, by the names the script and the README use.
///
/// larson and xmalloc-test follow what mimalloc-bench runs (`larson 5 8 1000 5000 100 4141 N`,
/// `xmalloc-test -w N -t 5 -s 64`) in the behaviours that decide an allocator's speed: how
/// often threads are born and die, how many blocks are live, their sizes, the writes to
/// them and which thread frees what. What a Rust port cannot reproduce: blocks are freed
/// with their size (`GlobalAlloc::dealloc` gets the layout), where a C program's `free`
/// makes the allocator find the size from the address, and the allocator is inlined into
/// the program, where a C program calls it in a shared object: `alloc/bench/c/larson.c`
/// is larson on that path (`larson-c` in scripts/alloc-bench.sh).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    /// larson (Larson and Krishnan's server simulation): `threads` lanes, each an array of
    /// 5000 blocks of 8 to 999 bytes (uniform), all first allocated by the calling thread.
    /// A lane's thread replaces random blocks (frees one, allocates one of a new random
    /// size, writes its first two bytes and reads one back) 500,000 times (mimalloc-bench's
    /// 100 rounds of 5000), then starts its successor on the same array and exits. So each
    /// thread's first use of the allocator comes every 500,000 operations per lane, and most
    /// frees are of blocks allocated by a thread that no longer exists.
    Larson,
    /// xmalloc-test (Lever and Boreham): producers allocate 64-byte blocks (`-s 64`), fill
    /// them, and queue them 4096 to a batch (an array of 32 KiB, itself a large allocation);
    /// consumers take batches and free every block: every block is freed by another thread
    /// than its allocator's. At most 100 batches wait in the queue (26 MiB of blocks);
    /// producers then sleep on a condition variable, as consumers do on an empty queue.
    /// `threads` / 2 producers and the rest consumers; one thread alone produces a batch and
    /// then consumes it.
    Xmalloc,
    /// glibc-thread (glibc's bench-malloc-thread): each thread frees and allocates at random
    /// in its own 1024 slots, sizes 4 to 32768 bytes with an inverse-square distribution.
    GlibcThread,
    /// Small-object churn (ours, no original): each thread frees its oldest of 64 blocks
    /// (8 to 256 bytes) and allocates a new one: the single-object paths and little else.
    Churn,
}

impl Workload {
    /// Every workload, in the README's order.
    pub const ALL: [Workload; 4] = [
        Workload::Larson,
        Workload::Xmalloc,
        Workload::GlibcThread,
        Workload::Churn,
    ];

    /// The workload's name on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Workload::Larson => "larson",
            Workload::Xmalloc => "xmalloc-test",
            Workload::GlibcThread => "glibc-thread",
            Workload::Churn => "churn",
        }
    }

    /// The workload called `name`.
    pub fn from_name(name: &str) -> Option<Workload> {
        Workload::ALL.into_iter().find(|w| w.name() == name)
    }

    /// Runs the workload on `threads` threads for `duration`; returns operations done.
    pub fn run(self, threads: usize, duration: Duration) -> u64 {
        let stop = Arc::new(AtomicBool::new(false));
        let timer = {
            let stop = stop.clone();
            std::thread::spawn(move || {
                std::thread::sleep(duration);
                stop.store(true, Ordering::Relaxed);
            })
        };
        let ops = match self {
            Workload::Larson => larson(threads, &stop),
            Workload::Xmalloc => xmalloc(threads, &stop),
            Workload::GlibcThread => per_thread(threads, &stop, glibc_thread),
            Workload::Churn => per_thread(threads, &stop, churn),
        };
        timer.join().unwrap();
        ops
    }
}

/// xorshift64: cheap and good enough to pick sizes and slots.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1)
    }

    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next() % (hi - lo + 1) as u64) as usize
    }
}

/// A block from the global allocator, its first word written (as the C benchmarks do).
struct Block {
    ptr: *mut u8,
    size: usize,
}

// SAFETY: a Block owns its memory; moving it to another thread moves that ownership.
unsafe impl Send for Block {}

impl Block {
    fn new(size: usize) -> Block {
        let layout = Layout::from_size_align(size, 8).unwrap();
        // SAFETY: size > 0.
        let ptr = unsafe { alloc(layout) };
        assert!(!ptr.is_null(), "out of memory");
        // SAFETY: at least 4 bytes, 8-aligned.
        unsafe { (ptr as *mut u32).write(size as u32) };
        Block { ptr, size }
    }
}

impl Drop for Block {
    fn drop(&mut self) {
        // SAFETY: allocated in Block::new with this layout.
        unsafe { dealloc(self.ptr, Layout::from_size_align(self.size, 8).unwrap()) };
    }
}

/// Runs `body(thread index, stop)` on `threads` threads and sums what they return.
fn per_thread(threads: usize, stop: &Arc<AtomicBool>, body: fn(u64, &AtomicBool) -> u64) -> u64 {
    let workers: Vec<_> = (0..threads as u64)
        .map(|t| {
            let stop = stop.clone();
            std::thread::spawn(move || body(t, &stop))
        })
        .collect();
    workers.into_iter().map(|w| w.join().unwrap()).sum()
}

/// larson's parameters as mimalloc-bench passes them: sizes `MIN..MAX` (exclusive, as
/// the original's `min + rand % (max - min)`), blocks per thread, rounds per thread.
const LARSON_MIN: usize = 8;
const LARSON_MAX: usize = 1000;
const LARSON_BLOCKS: usize = 5000;
const LARSON_ROUNDS: u64 = 100;

/// One lane of larson: its blocks, its random state and the operations done so far.
struct Lane {
    blocks: Vec<Block>,
    rng: Rng,
    ops: u64,
}

/// A larson block: written as the original writes each new block (two bytes, one read).
fn larson_block(rng: &mut Rng) -> Block {
    let block = Block::new(LARSON_MIN + rng.next() as usize % (LARSON_MAX - LARSON_MIN));
    // SAFETY: at least 8 bytes; volatile, so that the writes and the read stay.
    unsafe {
        block.ptr.write_volatile(b'a');
        let _ = block.ptr.read_volatile();
        block.ptr.add(1).write_volatile(b'b');
    }
    block
}

/// One thread of a lane: replaces blocks for its rounds (or until `stop`), then starts its
/// successor on the same lane and exits; returns the lane if the run is over, else the
/// successor's handle.
fn larson_generation(mut lane: Lane, stop: Arc<AtomicBool>) -> Generation {
    let mut done = 0;
    while done < LARSON_ROUNDS * LARSON_BLOCKS as u64 {
        let victim = lane.rng.next() as usize % LARSON_BLOCKS;
        lane.blocks[victim] = larson_block(&mut lane.rng);
        done += 1;
        if stop.load(Ordering::Relaxed) {
            break;
        }
    }
    lane.ops += done;
    if stop.load(Ordering::Relaxed) {
        return Generation::Over(lane);
    }
    // The successor starts before this thread exits, as in the original.
    Generation::Next(std::thread::spawn(move || larson_generation(lane, stop)))
}

enum Generation {
    Over(Lane),
    Next(std::thread::JoinHandle<Generation>),
}

fn larson(threads: usize, stop: &Arc<AtomicBool>) -> u64 {
    // Every lane's first blocks come from this thread, as the original's warm-up.
    let lanes: Vec<Lane> = (0..threads as u64)
        .map(|t| {
            let mut rng = Rng::new(t + 1);
            let blocks = (0..LARSON_BLOCKS).map(|_| larson_block(&mut rng)).collect();
            Lane {
                blocks,
                rng,
                ops: 0,
            }
        })
        .collect();
    let firsts: Vec<_> = lanes
        .into_iter()
        .map(|lane| {
            let stop = stop.clone();
            std::thread::spawn(move || larson_generation(lane, stop))
        })
        .collect();
    let mut ops = 0;
    for first in firsts {
        let mut handle = first;
        // Each thread's successor is joined in turn; the last returns the lane.
        let lane = loop {
            match handle.join().unwrap() {
                Generation::Over(lane) => break lane,
                Generation::Next(next) => handle = next,
            }
        };
        ops += lane.ops;
        // The lane's blocks are freed here, outside the count.
    }
    ops
}

/// xmalloc-test's parameters: blocks per batch, block size (`-s 64`), queue limit.
const XMALLOC_PER_BATCH: usize = 4096;
const XMALLOC_SIZE: usize = 64;
const XMALLOC_QUEUE: usize = 100;

/// The producers' and consumers' queue of batches, with the original's two condition
/// variables (not full, not empty).
struct Queue {
    batches: Mutex<Vec<Vec<Block>>>,
    not_full: Condvar,
    not_empty: Condvar,
}

/// How long a sleeper waits before it looks at the stop flag again (the original wakes
/// them with a broadcast at the end; the timer thread here only sets the flag).
const XMALLOC_NAP: Duration = Duration::from_millis(5);

impl Queue {
    /// A batch of fresh blocks, each filled (the original's memset of up to 128 bytes).
    fn produce(&self, stop: &AtomicBool) {
        // The batch's array: 32 KiB, a large allocation, as the original's batch struct.
        let mut batch = Vec::with_capacity(XMALLOC_PER_BATCH);
        for i in 0..XMALLOC_PER_BATCH {
            let block = Block::new(XMALLOC_SIZE);
            // SAFETY: the block has XMALLOC_SIZE bytes.
            unsafe { block.ptr.write_bytes(i as u8, XMALLOC_SIZE.min(128)) };
            batch.push(block);
        }
        let mut batches = self.batches.lock().unwrap();
        while batches.len() >= XMALLOC_QUEUE && !stop.load(Ordering::Relaxed) {
            batches = self.not_full.wait_timeout(batches, XMALLOC_NAP).unwrap().0;
        }
        batches.push(batch);
        self.not_empty.notify_one();
    }

    /// Frees every block of one batch; returns how many (0 if none came before `stop`).
    fn consume(&self, stop: &AtomicBool) -> u64 {
        let mut batches = self.batches.lock().unwrap();
        while batches.is_empty() && !stop.load(Ordering::Relaxed) {
            batches = self.not_empty.wait_timeout(batches, XMALLOC_NAP).unwrap().0;
        }
        let batch = batches.pop();
        self.not_full.notify_one();
        drop(batches);
        // The blocks and the batch's array are freed here, outside the lock.
        batch.map_or(0, |b| b.len() as u64)
    }
}

fn xmalloc(threads: usize, stop: &Arc<AtomicBool>) -> u64 {
    let queue = Arc::new(Queue {
        batches: Mutex::new(Vec::new()),
        not_full: Condvar::new(),
        not_empty: Condvar::new(),
    });
    let producers = threads / 2;
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let (stop, queue) = (stop.clone(), queue.clone());
            std::thread::spawn(move || {
                let mut freed = 0;
                while !stop.load(Ordering::Relaxed) {
                    if threads == 1 {
                        queue.produce(&stop);
                        freed += queue.consume(&stop);
                    } else if t < producers {
                        queue.produce(&stop);
                    } else {
                        freed += queue.consume(&stop);
                    }
                }
                freed
            })
        })
        .collect();
    let freed: u64 = workers.into_iter().map(|w| w.join().unwrap()).sum();
    // Blocks still queued are freed here, outside the count.
    queue.batches.lock().unwrap().clear();
    freed
}

/// glibc's benchtests/bench-malloc-thread.c: sizes 4 to 32768, inverse square.
fn glibc_thread(t: u64, stop: &AtomicBool) -> u64 {
    const SLOTS: usize = 1024;
    let (min_pow, max_pow) = (1.0 / 4.0f64, 1.0 / 32768.0f64);
    let mut rng = Rng::new(t + 1000);
    let mut slots: Vec<Option<Block>> = (0..SLOTS).map(|_| None).collect();
    let mut ops = 0;
    while !stop.load(Ordering::Relaxed) {
        for _ in 0..64 {
            let r = rng.next();
            let unit = (r >> 11) as f64 / (1u64 << 53) as f64;
            let size = (1.0 / ((max_pow - min_pow) * unit + min_pow)) as usize;
            let slot = (r as usize) % SLOTS;
            slots[slot] = None;
            slots[slot] = Some(Block::new(size.clamp(4, 32768)));
        }
        ops += 64;
    }
    ops
}

fn churn(t: u64, stop: &AtomicBool) -> u64 {
    const WINDOW: usize = 64;
    let mut rng = Rng::new(t + 2000);
    let mut window: Vec<Block> = (0..WINDOW).map(|_| Block::new(rng.range(8, 256))).collect();
    let mut ops = 0;
    let mut oldest = 0;
    while !stop.load(Ordering::Relaxed) {
        for _ in 0..64 {
            window[oldest] = Block::new(rng.range(8, 256));
            oldest = (oldest + 1) % WINDOW;
        }
        ops += 64;
    }
    ops
}

// The two `getrusage` readings are the benchmark binary's, which runs on Unix; the test
// suite that includes this file (alloc/tests/workloads.rs) builds everywhere.

/// Peak resident memory of this process so far, in KiB (`getrusage`'s `ru_maxrss`).
#[cfg(unix)]
pub fn max_rss_kib() -> u64 {
    // SAFETY: getrusage fills the struct we pass.
    unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage.ru_maxrss as u64
    }
}

/// CPU time (user + system) this process has used so far, in seconds.
#[cfg(unix)]
pub fn cpu_seconds() -> f64 {
    // SAFETY: getrusage fills the struct we pass.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    secs(usage.ru_utime) + secs(usage.ru_stime)
}

/// Wall-clock helper: runs `f` and returns its value and the seconds it took.
pub fn timed<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let start = Instant::now();
    let value = f();
    (value, start.elapsed().as_secs_f64())
}
