//! Exactly-once accounting of the items the stress tests push and pop.

use std::sync::atomic::{AtomicU64, Ordering};

use super::Load;

/// Exactly-once accounting of items `(worker, seq)`: a bit per item that each worker may
/// push, set when the item is seen (popped, or found left over at the end).
pub struct Ledger {
    bits: Vec<AtomicU64>,
    per_worker: u64,
}

impl Ledger {
    /// For `load`, whose `max_ops` must be bounded: a bit per operation of each worker.
    pub fn new(load: &Load) -> Ledger {
        assert!(
            load.max_ops <= 1 << 32,
            "bound max_ops to keep the ledger small"
        );
        let per_worker = load.max_ops.div_ceil(64) * 64;
        let words = (load.threads as u64 * per_worker / 64) as usize;
        Ledger {
            bits: (0..words).map(|_| AtomicU64::new(0)).collect(),
            per_worker,
        }
    }

    /// The id of a worker's `seq`-th item: never 0, so that a slot never written shows.
    pub fn id(worker: usize, seq: u64) -> u64 {
        ((worker as u64) << 40) | (seq + 1)
    }

    /// Marks `id` as seen; fails the test if it was seen before or was never an id.
    pub fn see(&self, what: &str, id: u64) {
        let (worker, seq) = (id >> 40, (id & ((1 << 40) - 1)).wrapping_sub(1));
        assert!(seq < self.per_worker, "{what}: {id:#x} is not an item id");
        let bit = worker * self.per_worker + seq;
        let word = self.bits.get((bit / 64) as usize);
        let word = word.unwrap_or_else(|| panic!("{what}: {id:#x} is not an item id"));
        let old = word.fetch_or(1 << (bit % 64), Ordering::Relaxed);
        assert_eq!(
            old & (1 << (bit % 64)),
            0,
            "{what}: item {id:#x} seen twice"
        );
    }

    /// Every item each worker pushed (`pushed[w]` of them) was seen, and nothing else.
    pub fn assert_all_seen(&self, what: &str, pushed: &[u64]) {
        let words = (self.per_worker / 64) as usize;
        for (worker, &count) in pushed.iter().enumerate() {
            for k in 0..words {
                let first = k as u64 * 64;
                let expected = match count.saturating_sub(first) {
                    0 => 0,
                    n if n >= 64 => u64::MAX,
                    n => (1 << n) - 1,
                };
                let actual = self.bits[worker * words + k].load(Ordering::Relaxed);
                let wrong = actual ^ expected;
                if wrong != 0 {
                    let seq = first + u64::from(wrong.trailing_zeros());
                    let state = if seq < count {
                        "lost"
                    } else {
                        "seen but never pushed"
                    };
                    panic!("{what}: item {:#x} {state}", Self::id(worker, seq));
                }
            }
        }
    }
}
