//! Per-CPU memory the scenarios share (one 128-byte line per possible CPU), list nodes,
//! and the checks of what a scenario ends with.

use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering};

/// u64 words per 128-byte line: the distance between two per-CPU slots.
pub(crate) const STRIDE: usize = 16;

#[repr(C, align(128))]
pub(crate) struct Line(pub(crate) [AtomicU64; STRIDE]);

/// One 128-byte line per possible CPU; sections use the first word of each.
pub(crate) struct PerCpu(pub(crate) Vec<Line>);

impl PerCpu {
    pub(crate) fn new() -> PerCpu {
        PerCpu(
            (0..rseq_dsl::possible_cpus())
                .map(|_| Line(std::array::from_fn(|_| AtomicU64::new(0))))
                .collect(),
        )
    }

    /// The first word of slot 0; slot `i` is at `base().add(i * STRIDE)`. Writable through
    /// a shared reference because the words are atomics (interior mutability).
    pub(crate) fn base(&self) -> *mut u64 {
        self.0.as_ptr() as *mut u64
    }

    pub(crate) fn word(&self, slot: usize) -> &AtomicU64 {
        &self.0[slot].0[0]
    }

    pub(crate) fn values(&self) -> Vec<u64> {
        (0..self.0.len())
            .map(|s| self.word(s).load(Ordering::SeqCst))
            .collect()
    }

    pub(crate) fn sum(&self) -> u64 {
        self.values().iter().sum()
    }
}

/// A list node; `next` first, so that a section reads and writes it as `*(node as *mut *mut Node)`.
#[repr(C)]
pub(crate) struct Node {
    pub(crate) next: AtomicPtr<Node>,
    pub(crate) value: u64,
}

/// Nodes (or items) per slot, as librseq.
pub(crate) const ITEMS_PER_SLOT: usize = 100;

pub(crate) fn new_nodes(count: usize) -> Vec<Node> {
    (0..count)
        .map(|i| Node {
            next: AtomicPtr::new(std::ptr::null_mut()),
            value: i as u64 + 1,
        })
        .collect()
}

pub(crate) fn nodes_base(nodes: &[Node]) -> *mut Node {
    nodes.as_ptr() as *mut Node
}

/// Checks that `found` holds every node value 1..=total exactly once.
pub(crate) fn check_each_once(
    found: impl IntoIterator<Item = u64>,
    total: usize,
) -> Result<(), String> {
    let mut seen = vec![false; total + 1];
    let mut count = 0usize;
    for value in found {
        count += 1;
        if value == 0 || value as usize > total {
            return Err(format!("found value {value}, not one of 1..={total}"));
        }
        if std::mem::replace(&mut seen[value as usize], true) {
            return Err(format!("value {value} found twice"));
        }
        if count > total {
            return Err(format!("more than {total} items"));
        }
    }
    if count != total {
        return Err(format!("{count} items found, {total} expected: lost some"));
    }
    Ok(())
}

pub(crate) fn ensure(cond: bool, message: impl FnOnce() -> String) -> Result<(), String> {
    if cond {
        Ok(())
    } else {
        Err(message())
    }
}
