//! Struct fields in sections, under the stress harness: a per-CPU slab shaped like
//! tcmalloc's (a header of `u16` indices, then the slots), pushed and popped by sections
//! that reach the header through nested fields, the slots through an indexed array field,
//! and the `current` index both directly and through `&raw mut`. Once with a `#[repr(C)]`
//! struct and once with the same fields in Rust's own layout (which reorders them, so the
//! offsets rustc hands the sections are not the declaration order) and atomic header
//! fields (a section holds an `AtomicU16` as a `u16`). Every pushed item must come out
//! exactly once (popped, or left in a slab), and the sections must have restarted.

// Sections under load: a target with an rseq backend (elsewhere the binary is empty).
#![cfg(all(rseq_dsl_sections, target_pointer_width = "64"))]

mod common;

use std::mem::offset_of;
use std::sync::atomic::{AtomicU16, Ordering};

use common::{stress, Ledger, Load, SyncPtr};
use rseq_dsl::{possible_cpus, rseq, Outcome};

/// Slots per CPU: small, so that slabs fill and empty often.
const CAP: u16 = 16;

/// tcmalloc's per-CPU slab header: `current` is the next free slot, `begin..end` the
/// slots this CPU owns.
#[repr(C)]
struct Header {
    current: u16,
    end_copy: u16,
    begin: u16,
    end: u16,
}

/// A CPU's slab in C layout: the header, then the slots.
#[repr(C, align(128))]
struct SlabC {
    hdr: Header,
    slots: [u64; CAP as usize],
}

/// The same in Rust's layout; a counter first so that nothing sits at offset 0 by
/// declaration, and rustc places the fields as it likes.
#[repr(align(128))]
struct SlabRust {
    #[allow(dead_code)] // it only moves the other fields
    pushes: u8,
    hdr: HeaderRust,
    slots: [u64; CAP as usize],
}

/// The header in Rust's layout, with atomic fields as a header that other threads read
/// would have.
struct HeaderRust {
    end_copy: AtomicU16,
    current: AtomicU16,
    end: AtomicU16,
    begin: AtomicU16,
}

/// The push and pop sections and the run, for a slab type with the fields above:
/// `$new` makes an empty slab, `$header` reads (begin, current, end, end_copy) at the end.
macro_rules! slab_test {
    ($slab:ident, $new:expr, $header:expr, $name:literal) => {{
        let n = possible_cpus();
        let mut slabs: Vec<$slab> = (0..n).map(|_| $new()).collect();
        let base = SyncPtr(slabs.as_mut_ptr());
        let load = Load {
            max_ops: 16_000_000,
            ..Load::standard(100_000)
        };
        let ledger = Ledger::new(&load);
        let report = stress($name, load, |w| {
            let (mut pushed, mut popped, mut full, mut empty) = (0u64, 0u64, 0u64, 0u64);
            while w.next() {
                // Bursts of pushes, then of pops (offset per worker): slabs fill and drain.
                if (w.ops() / (2 * CAP as u64) + w.index as u64).is_multiple_of(2) {
                    let item = Ledger::id(w.index, pushed);
                    // SAFETY: the slab of a CPU below possible_cpus.
                    let out = unsafe {
                        rseq!(|cpu| {
                            in slab: *mut $slab = base.get().add(cpu);
                            in item: u64 = item;
                            let cur: u16 = (*slab).hdr.current;
                            let end: u16 = (*slab).hdr.end;
                            if cur == end { exit; }
                            store (*slab).slots[cur as usize] = item;
                            commit(release) (*slab).hdr.current = cur + 1;
                        })
                    };
                    match out.unwrap() {
                        Outcome::Committed { .. } => pushed += 1,
                        Outcome::Exited { .. } => full += 1,
                        Outcome::Aborted => unreachable!("the section retries"),
                    }
                } else {
                    // SAFETY: as above.
                    let out = unsafe {
                        rseq!(|cpu| {
                            in slab: *mut $slab = base.get().add(cpu);
                            let current: *mut u16 = &raw mut (*slab).hdr.current;
                            let cur: u16 = *current;
                            let begin: u16 = (*slab).hdr.begin;
                            if cur == begin { exit; }
                            let top: usize = (cur - 1) as usize;
                            let item: u64 = (*slab).slots[top];
                            commit *current = cur - 1;
                            item
                        })
                    };
                    match out.unwrap() {
                        Outcome::Committed { value, .. } => {
                            ledger.see($name, value);
                            popped += 1;
                        }
                        Outcome::Exited { .. } => empty += 1,
                        Outcome::Aborted => unreachable!("the section retries"),
                    }
                }
            }
            (pushed, popped, full, empty)
        });
        let sum = |f: fn(&(u64, u64, u64, u64)) -> u64| report.results.iter().map(f).sum::<u64>();
        println!(
            "{}: {} pushed, {} popped, full {} times, empty {} times, {} aborts",
            $name,
            sum(|r| r.0),
            sum(|r| r.1),
            sum(|r| r.2),
            sum(|r| r.3),
            report.aborts,
        );
        for slab in &slabs {
            let (begin, current, end, end_copy) = $header(slab);
            assert!(current <= CAP, "{}: current {current}", $name);
            assert_eq!((begin, end, end_copy), (0, CAP, CAP));
            for &item in &slab.slots[..current as usize] {
                ledger.see($name, item);
            }
        }
        let pushed: Vec<u64> = report.results.iter().map(|r| r.0).collect();
        ledger.assert_all_seen($name, &pushed);
        report.assert_aborted($name);
        assert!(sum(|r| r.2) > 0 && sum(|r| r.3) > 0, "{}: slabs never filled or emptied", $name);
    }};
}

#[test]
fn slab_repr_c_conserves_items() {
    println!(
        "SlabC: current at {}, end at {}, slots at {}",
        offset_of!(SlabC, hdr.current),
        offset_of!(SlabC, hdr.end),
        offset_of!(SlabC, slots)
    );
    slab_test!(
        SlabC,
        || SlabC {
            hdr: Header {
                current: 0,
                end_copy: CAP,
                begin: 0,
                end: CAP,
            },
            slots: [0; CAP as usize],
        },
        |s: &SlabC| (s.hdr.begin, s.hdr.current, s.hdr.end, s.hdr.end_copy),
        "slab (repr(C))"
    );
}

#[test]
fn slab_rust_layout_conserves_items() {
    println!(
        "SlabRust: current at {}, end at {}, slots at {}",
        offset_of!(SlabRust, hdr.current),
        offset_of!(SlabRust, hdr.end),
        offset_of!(SlabRust, slots)
    );
    let load = |field: &AtomicU16| field.load(Ordering::Relaxed);
    slab_test!(
        SlabRust,
        || SlabRust {
            pushes: 0,
            hdr: HeaderRust {
                end_copy: AtomicU16::new(CAP),
                current: AtomicU16::new(0),
                end: AtomicU16::new(CAP),
                begin: AtomicU16::new(0),
            },
            slots: [0; CAP as usize],
        },
        |s: &SlabRust| {
            let h = &s.hdr;
            (
                load(&h.begin),
                load(&h.current),
                load(&h.end),
                load(&h.end_copy),
            )
        },
        "slab (Rust layout)"
    );
}
