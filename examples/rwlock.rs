//! Template: a per-CPU reader-writer lock from two sections and a fence, then the safe
//! `PerCpuRwLock`.
//!
//! Run: `cargo run --release --example rwlock`
//!
//! Read lock, on the running CPU's lock count: `let w = word.load_acquire(); if w != 0 {
//! exit; } commit *locks += 1;`. Read unlock, on the unlock count of whatever CPU the thread
//! runs on by then: `commit(release) *unlocks += 1;` (only the sums over every CPU mean
//! anything). Write: store 1 into the word, `fence_all()` (every read-lock section in flight
//! restarts and sees it; those that committed before are visible), wait until the locks
//! and unlocks sum to the same, write, store 0 with release. `PerCpuRwLock`'s module docs give the
//! memory-ordering argument.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rseq_dsl::{rseq, Outcome, PerCpu, PerCpuRwLock};

/// The template's lock: a writer word and lock and unlock counts per CPU, around four
/// words that a writer changes one at a time.
struct Lock {
    word: AtomicU64,
    counts: PerCpu<[AtomicU64; 2]>,
    data: [AtomicU64; 4],
    writers: std::sync::Mutex<()>,
}

fn read_lock(lock: &Lock) {
    let word = lock.word.as_ptr() as *const u64;
    loop {
        // SAFETY: the counts are the running CPU's; only sections on that CPU write them.
        let out = unsafe {
            rseq!(|cpu| {
                in word: *const u64 = word;
                in locks: *mut u64 = lock.counts.get_raw(cpu) as *mut u64;
                let w: u64 = word.load_acquire();
                // `w & 1`, not `w`: `--cfg rseq_dsl_compare_twice` would re-read a compared
                // load before the commit, and the writer changes this word remotely.
                let busy: u64 = w & 1;
                if busy != 0 { exit; }
                commit *locks += 1;
            })
        };
        match out.expect("this template needs rseq") {
            Outcome::Committed { .. } => return,
            // A writer: wait for it (the safe type blocks on the writers' mutex instead).
            _ => std::thread::yield_now(),
        }
    }
}

fn read_unlock(lock: &Lock) {
    // SAFETY: as in read_lock (the second word); release keeps the critical section
    // before the +1.
    let out = unsafe {
        rseq!(|cpu| {
            in unlocks: *mut u64 = (lock.counts.get_raw(cpu) as *mut u64).wrapping_add(1);
            commit(release) *unlocks += 1;
        })
    };
    out.expect("this template needs rseq");
}

fn write(lock: &Lock) {
    let _writers = lock.writers.lock().unwrap();
    lock.word.store(1, Ordering::SeqCst);
    rseq_dsl::fence_all().expect("this template needs membarrier's rseq fence");
    let mut sleep = 1;
    while lock.counts.iter().fold(0u64, |s, [locks, unlocks]| {
        s.wrapping_add(locks.load(Ordering::SeqCst))
            .wrapping_sub(unlocks.load(Ordering::SeqCst))
    }) != 0
    {
        std::thread::sleep(Duration::from_micros(sleep));
        sleep = (sleep * 2).min(1000);
    }
    for w in &lock.data {
        w.fetch_add(1, Ordering::Relaxed);
    }
    lock.word.store(0, Ordering::Release);
}

fn main() {
    if let Err(e) = rseq_dsl::registration() {
        println!("this template needs rseq: {e}");
        return;
    }
    if let Err(e) = rseq_dsl::fence_all() {
        println!("this template needs membarrier's rseq fence: {e}");
        return;
    }
    const READERS: usize = 4;
    const READS: u64 = 300_000;
    const WRITES: u64 = 200;

    let lock = Arc::new(Lock {
        word: AtomicU64::new(0),
        counts: PerCpu::default(),
        data: Default::default(),
        writers: std::sync::Mutex::new(()),
    });
    let readers: Vec<_> = (0..READERS)
        .map(|_| {
            let lock = lock.clone();
            std::thread::spawn(move || {
                let mut torn = 0;
                for _ in 0..READS {
                    read_lock(&lock);
                    let v: [u64; 4] = std::array::from_fn(|i| lock.data[i].load(Ordering::Relaxed));
                    torn += usize::from(v.iter().any(|w| *w != v[0]));
                    read_unlock(&lock);
                }
                torn
            })
        })
        .collect();
    for _ in 0..WRITES {
        write(&lock);
        std::thread::sleep(Duration::from_micros(200));
    }
    let torn: usize = readers.into_iter().map(|r| r.join().unwrap()).sum();
    let data: Vec<u64> = lock
        .data
        .iter()
        .map(|w| w.load(Ordering::Relaxed))
        .collect();
    println!(
        "template rwlock: {} reads, {WRITES} writes, {torn} torn reads, data {data:?}",
        READERS as u64 * READS
    );
    assert_eq!(torn, 0);
    assert_eq!(data, [WRITES; 4]);

    // The safe type: the same sections, guards, writer preference, a fallback for threads
    // without rseq.
    let config = Arc::new(PerCpuRwLock::new(vec![String::from("v1")]));
    let readers: Vec<_> = (0..READERS)
        .map(|_| {
            let config = config.clone();
            std::thread::spawn(move || (0..100_000).map(|_| config.read().len()).sum::<usize>())
        })
        .collect();
    for i in 2..=10 {
        config.write().push(format!("v{i}"));
    }
    let seen: usize = readers.into_iter().map(|r| r.join().unwrap()).sum();
    println!(
        "PerCpuRwLock: {} versions, readers saw {:.2} on average (path {})",
        config.read().len(),
        seen as f64 / (READERS * 100_000) as f64,
        config.path()
    );
}
