//! Template: per-CPU load-linked / store-conditional from one compare-and-commit section.
//!
//! Run: `cargo run --release --example llsc`
//!
//! `load_linked` reads the running CPU's word and remembers the CPU; arbitrary Rust code
//! then computes the new value (as long as it likes: it is not inside a section); and
//! `store_conditional` commits it only if the thread is still on that CPU and the word is
//! unchanged. The word carries a 32-bit version next to a 32-bit value, so a change and
//! change back (ABA) also fails the store: that is LL/SC, not compare-and-swap. The
//! section itself needs no atomic instruction; another CPU's updates never interfere
//! because each CPU has its own word.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use rseq_dsl::{rseq, Outcome, PerCpu};

/// A linked load: which CPU's word, and what it held.
#[derive(Clone, Copy)]
struct Link {
    cpu: usize,
    word: u64,
}

impl Link {
    fn value(self) -> u32 {
        self.word as u32
    }
}

/// Why a store-conditional failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ScFail {
    /// The thread runs on another CPU now.
    Moved,
    /// The word changed since the load-linked.
    Changed,
}

fn load_linked(words: &PerCpu<AtomicU64>) -> Link {
    let cpu = rseq_dsl::current_cpu();
    let word = words
        .get(cpu)
        .expect("cpu < possible_cpus")
        .load(Ordering::Acquire);
    Link { cpu, word }
}

fn store_conditional(words: &PerCpu<AtomicU64>, link: Link, value: u32) -> Result<(), ScFail> {
    let version = (link.word >> 32) + 1;
    let new = (version << 32) | u64::from(value);
    // SAFETY: the slot is the linked CPU's, and the section commits only while the thread
    // runs on that CPU (`cpu == linked_cpu` is checked inside it); only this section writes
    // the words, readers use atomic loads.
    let out = unsafe {
        rseq!(|cpu| {
            in slot: *mut u64 = words.get_raw(cpu) as *mut u64;
            in linked_cpu: usize = link.cpu;
            in expected: u64 = link.word;
            in new: u64 = new;
            if cpu != linked_cpu { exit 1; }
            let cur: u64 = *slot;
            if cur != expected { exit 2; }
            commit(release) *slot = new;
        })
    };
    match out.expect("rseq is available") {
        Outcome::Committed { .. } => Ok(()),
        Outcome::Exited { value: 1, .. } => Err(ScFail::Moved),
        _ => Err(ScFail::Changed),
    }
}

/// Some Collatz-style steps: an update no single atomic instruction does, long enough
/// (about a microsecond) that a thread is now and then preempted between LL and SC.
fn step(mut v: u32) -> u32 {
    for _ in 0..500 {
        v = if v.is_multiple_of(2) {
            v / 2 + 1_000
        } else {
            v.wrapping_mul(3).wrapping_add(1)
        };
        v = std::hint::black_box(v);
    }
    v
}

fn main() {
    if let Err(e) = rseq_dsl::registration() {
        println!("this template needs rseq: {e}");
        return;
    }
    const THREADS: usize = 4;
    const UPDATES: u64 = 50_000;
    let words = Arc::new(PerCpu::new(|_| AtomicU64::new(7)));
    let threads: Vec<_> = (0..THREADS)
        .map(|_| {
            let words = words.clone();
            std::thread::spawn(move || {
                let (mut moved, mut changed) = (0u64, 0u64);
                for _ in 0..UPDATES {
                    loop {
                        let link = load_linked(&words);
                        let next = step(link.value());
                        match store_conditional(&words, link, next) {
                            Ok(()) => break,
                            Err(ScFail::Moved) => moved += 1,
                            Err(ScFail::Changed) => changed += 1,
                        }
                    }
                }
                (moved, changed)
            })
        })
        .collect();
    let (mut moved, mut changed) = (0, 0);
    for t in threads {
        let (m, c) = t.join().unwrap();
        moved += m;
        changed += c;
    }
    // Every successful SC bumped its CPU's version by one: the versions add up exactly.
    let versions: u64 = words.iter().map(|w| w.load(Ordering::Relaxed) >> 32).sum();
    println!(
        "{THREADS} threads x {UPDATES} LL/SC updates: versions sum to {versions} (expected {}), \
         {changed} store-conditionals failed because the word changed, {moved} because the \
         thread moved to another CPU",
        THREADS as u64 * UPDATES
    );
    for (cpu, w) in words.iter().enumerate() {
        let w = w.load(Ordering::Relaxed);
        println!(
            "  cpu {cpu}: version {:>8}, value {:>10}",
            w >> 32,
            w as u32
        );
    }
    assert_eq!(versions, THREADS as u64 * UPDATES);
}
