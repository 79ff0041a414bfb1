//! Stress tests of every example section of the language: more threads than CPUs, a thread
//! that signals the workers continuously, results checked exactly, and aborts counted so
//! that the restart path is known to have run. A control without rseq must lose updates
//! under the same load, which shows that the checks can see a race.

// Sections under load: a target with an rseq backend (elsewhere the binary is empty).
#![cfg(all(rseq_dsl_sections, target_pointer_width = "64"))]

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};

use common::{delay, stress, Ledger, Load, PerCpu, SyncPtr, STRIDE};
use rseq_dsl::{possible_cpus, rseq, Outcome, Reason};

/// Operations per worker; with 3 workers per CPU this makes about a million per test.
const OPS: u64 = 200_000;

/// The counter workloads: the three counter examples, `no_retry`, and the control.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Counter {
    /// `let v = *slot; commit *slot = v + 1;`
    LoadAddStore,
    /// `commit *slot += 1;`
    AddCommit,
    /// `commit *slot += 1;` indexed by mm_cid.
    MmCid,
    /// `commit *slot += 1;` under `no_retry`, retried by hand.
    NoRetry,
    /// No rseq: load, a 200-iteration delay, store, on the slot of `current_cpu()`.
    Plain,
}

/// Runs `form` under the standard load and returns (expected, counted) totals.
fn run_counter(form: Counter, load: Load) -> Option<(u64, u64, common::Report<()>)> {
    let slots = possible_cpus() + load.threads;
    let mut counters = PerCpu::new(slots);
    let base = counters.base();
    if form == Counter::MmCid {
        let probe = unsafe {
            rseq!(mm_cid, |cid| { in slot: *mut u64 = base.get().add(cid * STRIDE); commit *slot += 0; })
        };
        if let Err(e) = probe {
            assert_eq!(e.reason(), Reason::MmCidUnsupported, "{e}");
            println!("mm_cid counter skipped: {e}");
            return None;
        }
    }
    let report = stress(&format!("{form:?} counter"), load, |w| {
        while w.next() {
            match form {
                Counter::LoadAddStore => {
                    // SAFETY: base + cpu * STRIDE is the slot of a CPU below possible_cpus.
                    let out = unsafe {
                        rseq!(|cpu| {
                            in slot: *mut u64 = base.get().add(cpu * STRIDE);
                            let v: u64 = *slot;
                            commit *slot = v + 1;
                        })
                    };
                    assert!(out.unwrap().is_committed());
                }
                Counter::AddCommit => {
                    // SAFETY: as above.
                    let out = unsafe {
                        rseq!(|cpu| {
                            in slot: *mut u64 = base.get().add(cpu * STRIDE);
                            commit *slot += 1;
                        })
                    };
                    assert!(out.unwrap().is_committed());
                }
                Counter::MmCid => {
                    // SAFETY: mm_cid < min(threads, CPUs) <= slots.
                    let out = unsafe {
                        rseq!(mm_cid, |cid| {
                            in slot: *mut u64 = base.get().add(cid * STRIDE);
                            commit *slot += 1;
                        })
                    };
                    assert!(out.unwrap().is_committed());
                }
                Counter::NoRetry => loop {
                    // SAFETY: as for AddCommit.
                    let out = unsafe {
                        rseq!(no_retry, |cpu| {
                            in slot: *mut u64 = base.get().add(cpu * STRIDE);
                            commit *slot += 1;
                        })
                    };
                    match out.unwrap() {
                        Outcome::Committed { .. } => break,
                        Outcome::Aborted => w.hand_abort(),
                        Outcome::Exited { .. } => unreachable!("the section has no exit"),
                    }
                },
                Counter::Plain => {
                    let cpu = rseq_dsl::current_cpu();
                    // SAFETY: the slot of a CPU below possible_cpus, a live u64 that every
                    // access uses atomically (the updates race, but only logically).
                    let slot = unsafe { AtomicU64::from_ptr(base.get().add(cpu * STRIDE)) };
                    let v = slot.load(Ordering::Relaxed);
                    delay(200);
                    slot.store(v + 1, Ordering::Relaxed);
                }
            }
        }
    });
    let counted: u64 = counters.values().iter().sum();
    Some((report.total_ops(), counted, report))
}

fn exact_counter(form: Counter) {
    let mut load = Load::standard(OPS);
    load.counts_by_hand = form == Counter::NoRetry;
    let Some((expected, counted, report)) = run_counter(form, load) else {
        return;
    };
    assert_eq!(counted, expected, "{form:?}: lost or extra increments");
    report.assert_aborted(&format!("{form:?} counter"));
    if form == Counter::NoRetry {
        assert!(report.hand_aborts > 0, "no_retry never returned Aborted");
        if rseq_dsl::stats::ENABLED {
            // Only no_retry sections ran on the workers: every abort is one Aborted.
            assert_eq!(report.aborts, report.hand_aborts);
        }
    }
}

#[test]
fn counter_load_add_store() {
    exact_counter(Counter::LoadAddStore);
}

#[test]
fn counter_add_commit() {
    exact_counter(Counter::AddCommit);
}

#[test]
fn counter_mm_cid() {
    exact_counter(Counter::MmCid);
}

#[test]
fn counter_no_retry() {
    exact_counter(Counter::NoRetry);
}

/// The same counter without rseq must lose updates under the same load; rounds repeat
/// (bounded in time) until one does, and the test fails if none does.
#[test]
fn control_without_rseq_loses_updates() {
    let mut load = Load::standard(50_000);
    load.target_aborts = 0;
    let start = std::time::Instant::now();
    loop {
        let (expected, counted, _) = run_counter(Counter::Plain, load).unwrap();
        assert!(counted <= expected);
        if counted < expected {
            println!(
                "control: {counted} of {expected} increments survived ({} lost)",
                expected - counted
            );
            return;
        }
        assert!(
            start.elapsed() < std::time::Duration::from_secs(20),
            "the control never lost an update: this load cannot reveal a race"
        );
    }
}

/// A per-CPU lock, taken with the lock example and released with a release store, guards
/// a plain counter per CPU whose load and store are far apart.
#[test]
fn lock_guards_plain_counter() {
    let n = possible_cpus();
    let (mut locks, mut counts) = (PerCpu::new(n), PerCpu::new(n));
    let (locks_p, counts_p) = (locks.base(), counts.base());
    let report = stress("lock", Load::standard(OPS / 4), |w| {
        let mut busy = 0u64;
        while w.next() {
            let cpu = loop {
                // SAFETY: the lock word of a CPU below possible_cpus.
                let out = unsafe {
                    rseq!(|cpu| {
                        in lock: *mut usize = locks_p.get().add(cpu * STRIDE) as *mut usize;
                        let held: usize = *lock;
                        if held != 0 { exit; }
                        commit *lock = 1;
                    })
                };
                match out.unwrap() {
                    Outcome::Committed { index, .. } => break index,
                    Outcome::Exited { .. } => {
                        busy += 1;
                        std::thread::yield_now();
                    }
                    Outcome::Aborted => unreachable!("the section retries"),
                }
            };
            // SAFETY: the lock of `cpu` is held: nobody else touches that CPU's count.
            unsafe {
                let count = counts_p.get().add(cpu * STRIDE);
                let v = count.read();
                delay(20);
                count.write(v + 1);
                AtomicUsize::from_ptr(locks_p.get().add(cpu * STRIDE) as *mut usize)
                    .store(0, Ordering::Release);
            }
        }
        busy
    });
    let busy: u64 = report.results.iter().sum();
    println!("lock: found busy {busy} times");
    assert!(locks.values().iter().all(|&l| l == 0), "a lock stayed held");
    assert_eq!(counts.values().iter().sum::<u64>(), report.total_ops());
    report.assert_aborted("lock");
}

#[repr(C)]
struct Node {
    /// First field: the sections use the node's address as `*mut *mut Node`.
    next: *mut Node,
    id: usize,
    /// Set while a worker holds the node: a second pop of the same node fails the test.
    held: AtomicBool,
}

/// Intrusive per-CPU stacks: workers pop nodes, hold up to three, push them back (often
/// on another CPU). Every node must be popped by one worker at a time and, at the end, be
/// on exactly one stack exactly once.
#[test]
fn stack_conserves_nodes() {
    const HOLD: usize = 3;
    let n = possible_cpus();
    let load = Load::standard(OPS / 2);
    let total = 2 * load.threads;
    let mut heads = PerCpu::new(n);
    let heads_p = heads.base();
    let mut nodes: Vec<Node> = (0..total)
        .map(|id| Node {
            next: std::ptr::null_mut(),
            id,
            held: AtomicBool::new(false),
        })
        .collect();
    let nodes_p = SyncPtr(nodes.as_mut_ptr());
    for id in 0..total {
        // SAFETY: single-threaded set-up; node `id` goes onto stack `id % n`.
        unsafe {
            let head = heads_p.get().add((id % n) * STRIDE) as *mut *mut Node;
            let node = nodes_p.get().add(id);
            (*node).next = *head;
            *head = node;
        }
    }

    let report = stress("stack", load, |w| {
        let mut held: Vec<*mut Node> = Vec::with_capacity(HOLD);
        let (mut pops, mut pushes, mut empty) = (0u64, 0u64, 0u64);
        let push = |node: *mut Node| {
            // SAFETY: the caller holds `node`; it is released before it is published.
            unsafe {
                assert!((*node).held.swap(false, Ordering::AcqRel));
                let out = rseq!(|cpu| {
                    in head: *mut *mut Node = heads_p.get().add(cpu * STRIDE) as *mut *mut Node;
                    in node: *mut Node = node;
                    let top: *mut Node = *head;
                    store *(node as *mut *mut Node) = top;
                    commit *head = node;
                });
                assert!(out.unwrap().is_committed());
            }
        };
        while w.next() {
            let pop = held.is_empty() || (held.len() < HOLD && w.ops() % 3 != 0);
            if pop {
                // SAFETY: the head of a CPU below possible_cpus; nodes on it are live.
                let out = unsafe {
                    rseq!(|cpu| {
                        in head: *mut *mut Node = heads_p.get().add(cpu * STRIDE) as *mut *mut Node;
                        let top: *mut Node = *head;
                        if top.is_null() { exit; }
                        let next: *mut Node = *(top as *mut *mut Node);
                        commit *head = next;
                        top
                    })
                };
                match out.unwrap() {
                    Outcome::Committed { value, .. } => {
                        // SAFETY: a node of `nodes`, now ours.
                        let node = unsafe { &*value };
                        let twice = node.held.swap(true, Ordering::AcqRel);
                        assert!(!twice, "node {} popped while held", node.id);
                        held.push(value);
                        pops += 1;
                    }
                    Outcome::Exited { .. } => empty += 1,
                    Outcome::Aborted => unreachable!("the section retries"),
                }
            } else {
                push(held.pop().unwrap());
                pushes += 1;
            }
        }
        for node in held.drain(..) {
            push(node);
            pushes += 1;
        }
        (pops, pushes, empty)
    });
    let pops: u64 = report.results.iter().map(|r| r.0).sum();
    let pushes: u64 = report.results.iter().map(|r| r.1).sum();
    let empty: u64 = report.results.iter().map(|r| r.2).sum();
    println!("stack: {pops} pops, {pushes} pushes, {empty} pops found the stack empty");
    assert_eq!(pops, pushes);

    let mut seen = vec![0u32; total];
    for cpu in 0..n {
        // SAFETY: quiescent: the workers are gone; every link points into `nodes` or is null.
        let mut node = unsafe { *(heads_p.get().add(cpu * STRIDE) as *mut *mut Node) };
        let mut walked = 0;
        while !node.is_null() {
            walked += 1;
            assert!(walked <= total, "stack of cpu {cpu} has a cycle");
            // SAFETY: as above.
            let (id, next) = unsafe { ((*node).id, (*node).next) };
            seen[id] += 1;
            node = next;
        }
    }
    for (id, count) in seen.iter().enumerate() {
        assert_eq!(*count, 1, "node {id} is on the stacks {count} times");
    }
    assert!(nodes.iter().all(|node| !node.held.load(Ordering::Relaxed)));
    report.assert_aborted("stack");
}

/// Prints what the workers of a push/pop test did; returns how many items each pushed.
fn summarize(what: &str, results: &[(u64, u64, u64, u64)]) -> Vec<u64> {
    let sum = |f: fn(&(u64, u64, u64, u64)) -> u64| results.iter().map(f).sum::<u64>();
    println!(
        "{what}: {} pushed, {} popped, full {} times, empty {} times",
        sum(|r| r.0),
        sum(|r| r.1),
        sum(|r| r.2),
        sum(|r| r.3)
    );
    results.iter().map(|r| r.0).collect()
}

/// Bounded per-CPU buffers: push with the release-commit example, pop the last item;
/// every pushed item must come out once, popped or left in a buffer.
#[test]
fn buffer_conserves_items() {
    const CAP: usize = 8;
    let n = possible_cpus();
    let mut lens = PerCpu::new(n);
    let mut items = vec![0u64; n * CAP];
    let (lens_p, items_p) = (lens.base(), SyncPtr(items.as_mut_ptr()));
    let load = Load {
        max_ops: 32_000_000,
        ..Load::standard(OPS / 2)
    };
    let ledger = Ledger::new(&load);
    let report = stress("buffer", load, |w| {
        let (mut pushed, mut popped, mut full, mut empty) = (0u64, 0u64, 0u64, 0u64);
        while w.next() {
            // Bursts of pushes, then of pops (offset per worker): buffers fill and drain.
            if (w.ops() / (2 * CAP as u64) + w.index as u64).is_multiple_of(2) {
                let item = Ledger::id(w.index, pushed);
                // SAFETY: the buffer and length of a CPU below possible_cpus.
                let out = unsafe {
                    rseq!(|cpu| {
                        in len_p: *mut usize = lens_p.get().add(cpu * STRIDE) as *mut usize;
                        in slots: *mut u64 = items_p.get().add(cpu * CAP);
                        in cap: usize = CAP;
                        in item: u64 = item;
                        let len: usize = *len_p;
                        if len == cap { exit len; }
                        store *slots.add(len) = item;
                        commit(release) *len_p = len + 1;
                    })
                };
                match out.unwrap() {
                    Outcome::Committed { .. } => pushed += 1,
                    Outcome::Exited { value, .. } => {
                        assert_eq!(value, CAP);
                        full += 1;
                    }
                    Outcome::Aborted => unreachable!("the section retries"),
                }
            } else {
                // SAFETY: as above.
                let out = unsafe {
                    rseq!(|cpu| {
                        in len_p: *mut usize = lens_p.get().add(cpu * STRIDE) as *mut usize;
                        in slots: *mut u64 = items_p.get().add(cpu * CAP);
                        let len: usize = *len_p;
                        if len == 0 { exit; }
                        let item: u64 = *slots.add(len - 1);
                        commit *len_p = len - 1;
                        item
                    })
                };
                match out.unwrap() {
                    Outcome::Committed { value, .. } => {
                        ledger.see("buffer", value);
                        popped += 1;
                    }
                    Outcome::Exited { .. } => empty += 1,
                    Outcome::Aborted => unreachable!("the section retries"),
                }
            }
        }
        (pushed, popped, full, empty)
    });
    let pushed = summarize("buffer", &report.results);
    for (cpu, len) in lens.values().into_iter().enumerate() {
        assert!(len as usize <= CAP);
        for &item in &items[cpu * CAP..cpu * CAP + len as usize] {
            ledger.see("buffer", item);
        }
    }
    ledger.assert_all_seen("buffer", &pushed);
    report.assert_aborted("buffer");
}

/// 16-byte records copied in with the record example and out with a copy-out section;
/// each record is `[id, !id]`, so a torn record shows.
#[test]
fn records_conserved_untorn() {
    const CAP: usize = 64;
    let n = possible_cpus();
    let mut lens = PerCpu::new(n);
    let mut records = vec![0u8; n * CAP * 16];
    let (lens_p, records_p) = (lens.base(), SyncPtr(records.as_mut_ptr()));
    let decode = |bytes: [u8; 16]| {
        let id = u64::from_ne_bytes(bytes[..8].try_into().unwrap());
        let check = u64::from_ne_bytes(bytes[8..].try_into().unwrap());
        assert_eq!(check, !id, "torn record {bytes:02x?}");
        id
    };
    let load = Load {
        max_ops: 32_000_000,
        ..Load::standard(OPS / 2)
    };
    let ledger = Ledger::new(&load);
    let report = stress("record", load, |w| {
        let (mut pushed, mut popped, mut full, mut empty) = (0u64, 0u64, 0u64, 0u64);
        while w.next() {
            // Bursts of pushes, then of pops (offset per worker): buffers fill and drain.
            if (w.ops() / (2 * CAP as u64) + w.index as u64).is_multiple_of(2) {
                let id = Ledger::id(w.index, pushed);
                let mut record = [0u8; 16];
                record[..8].copy_from_slice(&id.to_ne_bytes());
                record[8..].copy_from_slice(&(!id).to_ne_bytes());
                // SAFETY: the records and length of a CPU below possible_cpus.
                let out = unsafe {
                    rseq!(|cpu| {
                        in len_p: *mut usize = lens_p.get().add(cpu * STRIDE) as *mut usize;
                        in slots: *mut u8 = records_p.get().add(cpu * CAP * 16);
                        in src: *const u8 = record.as_ptr();
                        let len: usize = *len_p;
                        if len == 64 { exit; }
                        copy(slots.byte_add(len * 16), src, 16);
                        commit(release) *len_p = len + 1;
                    })
                };
                match out.unwrap() {
                    Outcome::Committed { .. } => pushed += 1,
                    Outcome::Exited { .. } => full += 1,
                    Outcome::Aborted => unreachable!("the section retries"),
                }
            } else {
                let mut record = [0u8; 16];
                let dst = record.as_mut_ptr();
                // SAFETY: as above; `dst` is a local 16-byte buffer.
                let out = unsafe {
                    rseq!(|cpu| {
                        in len_p: *mut usize = lens_p.get().add(cpu * STRIDE) as *mut usize;
                        in slots: *mut u8 = records_p.get().add(cpu * CAP * 16);
                        in dst: *mut u8 = dst;
                        let len: usize = *len_p;
                        if len == 0 { exit; }
                        copy(dst, slots.byte_add((len - 1) * 16), 16);
                        commit *len_p = len - 1;
                    })
                };
                match out.unwrap() {
                    Outcome::Committed { .. } => {
                        ledger.see("record", decode(record));
                        popped += 1;
                    }
                    Outcome::Exited { .. } => empty += 1,
                    Outcome::Aborted => unreachable!("the section retries"),
                }
            }
        }
        (pushed, popped, full, empty)
    });
    let pushed = summarize("record", &report.results);
    for (cpu, len) in lens.values().into_iter().enumerate() {
        assert!(len as usize <= CAP);
        for i in 0..len as usize {
            let at = (cpu * CAP + i) * 16;
            ledger.see("record", decode(records[at..at + 16].try_into().unwrap()));
        }
    }
    ledger.assert_all_seen("record", &pushed);
    report.assert_aborted("record");
}
