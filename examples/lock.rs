//! Template: a per-CPU spinlock from a compare-and-commit section, then the safe `PerCpuLock`.
//!
//! Run: `cargo run --release --example lock`
//!
//! Acquire: on the running CPU's lock word, `if held != 0 { exit; } commit *lock = 1;`,
//! which needs no atomic instruction because only sections on that CPU take a free lock.
//! Release: an atomic store of 0 with release ordering, from whichever CPU the holder runs
//! on by then (only the holder writes a held lock).

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use rseq_dsl::{rseq, Outcome, PerCpu, PerCpuLock};

/// A lock word and the data it protects, one per CPU. `repr(C)`: the word comes first.
#[repr(C)]
struct Locked {
    word: AtomicUsize,
    data: UnsafeCell<[u64; 4]>,
}

// SAFETY: `data` is only touched by the holder of `word` (see lock/unlock).
unsafe impl Sync for Locked {}

/// Takes the lock of the running CPU; returns that CPU.
fn lock(slots: &PerCpu<Locked>) -> usize {
    loop {
        // SAFETY: the word is the running CPU's; a section commits only while it runs
        // there, and only sections write a free word.
        let out = unsafe {
            rseq!(|cpu| {
                in lock: *mut usize = slots.get_raw(cpu) as *mut usize;
                let held: usize = *lock;
                if held != 0 { exit; }
                commit *lock = 1;
            })
        };
        match out.expect("this template needs rseq") {
            Outcome::Committed { index: cpu, .. } => {
                std::sync::atomic::fence(Ordering::Acquire);
                return cpu;
            }
            // Held (its holder may even be preempted on this CPU): let it run.
            _ => std::thread::yield_now(),
        }
    }
}

fn unlock(slots: &PerCpu<Locked>, cpu: usize) {
    slots.get(cpu).unwrap().word.store(0, Ordering::Release);
}

fn main() {
    if let Err(e) = rseq_dsl::registration() {
        println!("this template needs rseq: {e}");
        return;
    }
    const THREADS: usize = 4;
    const ROUNDS: u64 = 500_000;

    let slots = Arc::new(PerCpu::new(|_| Locked {
        word: AtomicUsize::new(0),
        data: UnsafeCell::new([0; 4]),
    }));
    let threads: Vec<_> = (0..THREADS)
        .map(|_| {
            let slots = slots.clone();
            std::thread::spawn(move || {
                for _ in 0..ROUNDS {
                    let cpu = lock(&slots);
                    // SAFETY: we hold `cpu`'s lock.
                    let data = unsafe { &mut *slots.get(cpu).unwrap().data.get() };
                    // Four words that must stay equal: a race would tear them.
                    for w in data.iter_mut() {
                        *w += 1;
                    }
                    unlock(&slots, cpu);
                }
            })
        })
        .collect();
    threads.into_iter().for_each(|t| t.join().unwrap());
    let mut total = 0;
    for (cpu, s) in slots.iter().enumerate() {
        // SAFETY: every thread is joined: no holder is left.
        let data = unsafe { *s.data.get() };
        assert!(data.iter().all(|w| *w == data[0]), "torn: {data:?}");
        println!("  cpu {cpu}: {data:?}");
        total += data[0];
    }
    println!(
        "template lock: {total} critical sections (expected {}), none torn",
        THREADS as u64 * ROUNDS
    );
    assert_eq!(total, THREADS as u64 * ROUNDS);

    // The safe type: the same section, a guard, a fallback, and lock_cpu for other CPUs.
    let lock = Arc::new(PerCpuLock::new(|_| Vec::<u64>::new()));
    let threads: Vec<_> = (0..THREADS as u64)
        .map(|t| {
            let lock = lock.clone();
            std::thread::spawn(move || {
                for i in 0..1_000 {
                    lock.lock().push(t * 1_000 + i);
                }
            })
        })
        .collect();
    threads.into_iter().for_each(|t| t.join().unwrap());
    let mut flushed = 0;
    for cpu in 0..rseq_dsl::possible_cpus() {
        // Flush each CPU's batch from here, whatever CPU this thread is on.
        match lock.lock_cpu(cpu) {
            Ok(mut batch) => flushed += std::mem::take(&mut *batch).len(),
            Err(e) => println!("no fence, no remote lock: {e}"),
        }
    }
    println!(
        "PerCpuLock: flushed {flushed} items from per-CPU batches (pushed {})",
        THREADS * 1_000
    );
}
