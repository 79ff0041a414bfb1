//! Ports of mimalloc-bench's small workloads, plus a plain small-object churn. Every block
//! comes from the global allocator (`std::alloc::alloc`), so whichever allocator the binary
//! links is the one measured. Each workload runs until `duration` has passed and returns
//! the operations done (one operation: one block allocated and, sooner or later, freed).
//!
//! Shared by the benchmark binary (alloc/bench) and the allocator's test suite
//! (alloc/tests/workloads.rs), which runs them briefly so that they keep building.

use std::alloc::{alloc, dealloc, Layout};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The workloads, by the names the script and the README use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Workload {
    /// larson: each thread replaces random blocks (8 to 1000 bytes) of its array of 1000,
    /// then hands the array to a new thread and exits: blocks are freed by another thread
    /// than the one that allocated them, and threads come and go (a server's pattern).
    Larson,
    /// xmalloc-test: producer threads allocate batches of blocks (8 to 64 bytes) that
    /// consumer threads free.
    Xmalloc,
    /// glibc-thread (glibc's bench-malloc-thread): each thread frees and allocates at random
    /// in its own 1024 slots, sizes 4 to 32768 bytes with an inverse-square distribution.
    GlibcThread,
    /// Small-object churn: each thread frees its oldest of 64 blocks (8 to 256 bytes) and
    /// allocates a new one.
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

fn larson(threads: usize, stop: &Arc<AtomicBool>) -> u64 {
    const BLOCKS: usize = 1000;
    const PER_GENERATION: u64 = 10_000;
    // Each lane's coordinator spawns one thread per generation, which replaces blocks and
    // then exits, handing the array back for the next generation's thread: blocks are
    // freed by another thread than the one that allocated them.
    let lanes: Vec<_> = (0..threads as u64)
        .map(|t| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut rng = Rng::new(t + 1);
                let mut blocks: Vec<Block> = (0..BLOCKS)
                    .map(|_| Block::new(rng.range(8, 1000)))
                    .collect();
                let mut ops = 0;
                while !stop.load(Ordering::Relaxed) {
                    let stop = stop.clone();
                    let generation = std::thread::spawn(move || {
                        let mut done = 0;
                        while done < PER_GENERATION && !stop.load(Ordering::Relaxed) {
                            for _ in 0..64 {
                                let victim = rng.next() as usize % blocks.len();
                                blocks[victim] = Block::new(rng.range(8, 1000));
                            }
                            done += 64;
                        }
                        (blocks, rng, done)
                    });
                    let done;
                    (blocks, rng, done) = generation.join().unwrap();
                    ops += done;
                }
                ops
            })
        })
        .collect();
    lanes.into_iter().map(|l| l.join().unwrap()).sum()
}

fn xmalloc(threads: usize, stop: &Arc<AtomicBool>) -> u64 {
    const BATCH: usize = 64;
    let queue: Arc<Mutex<Vec<Vec<Block>>>> = Arc::new(Mutex::new(Vec::new()));
    let limit = 16 * threads.max(2);
    let produce = move |rng: &mut Rng, queue: &Mutex<Vec<Vec<Block>>>| -> bool {
        if queue.lock().unwrap().len() >= limit {
            return false;
        }
        let batch: Vec<Block> = (0..BATCH).map(|_| Block::new(rng.range(8, 64))).collect();
        queue.lock().unwrap().push(batch);
        true
    };
    let consume = |queue: &Mutex<Vec<Vec<Block>>>| -> u64 {
        let batch = queue.lock().unwrap().pop();
        batch.map_or(0, |b| b.len() as u64)
    };
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            let (stop, queue) = (stop.clone(), queue.clone());
            std::thread::spawn(move || {
                let mut rng = Rng::new(t as u64 + 7);
                let mut freed = 0;
                // One thread alone does both; otherwise even threads produce, odd consume.
                let (producer, consumer) = (threads == 1 || t % 2 == 0, threads == 1 || t % 2 == 1);
                while !stop.load(Ordering::Relaxed) {
                    let mut progress = producer && produce(&mut rng, &queue);
                    if consumer {
                        let n = consume(&queue);
                        freed += n;
                        progress |= n > 0;
                    }
                    if !progress {
                        std::thread::yield_now();
                    }
                }
                freed
            })
        })
        .collect();
    let freed: u64 = workers.into_iter().map(|w| w.join().unwrap()).sum();
    // Blocks still queued are freed here, outside the count.
    queue.lock().unwrap().clear();
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
