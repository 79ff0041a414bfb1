//! Template: a per-CPU log of fixed-size records, each appended with `copy` in one section.
//!
//! Run: `cargo run --release --example records`
//!
//! Append: `if len == CAP exit; copy(slots + len * 32, record, 32); commit(release) len =
//! len + 1`. The copy is speculative: a restarted section copies again, and the commit of
//! the new length is what publishes the whole record, so a reader never sees half of one.

use std::cell::UnsafeCell;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use rseq_dsl::{rseq, Outcome, PerCpu};

const CAP: usize = 4096;
const RECORD: usize = 32;

/// What a thread logs: 32 bytes, plain data.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[repr(C)]
struct Event {
    thread: u64,
    seq: u64,
    checksum: u64,
    kind: u32,
    _pad: u32,
}

const _: () = assert!(std::mem::size_of::<Event>() == RECORD);

/// A CPU's log: the length, then the records.
#[repr(C)]
struct Log {
    len: AtomicUsize,
    records: UnsafeCell<[Event; CAP]>,
}

// SAFETY: records[len..] are written only by sections on the log's CPU; records[..len]
// are never written again, and are read after an acquire load of len.
unsafe impl Sync for Log {}

fn append(logs: &PerCpu<Log>, event: &Event) -> bool {
    // SAFETY: the log is the running CPU's; `len < CAP` is checked before the copy, which
    // stays inside `records`; `event` is 32 readable bytes.
    let out = unsafe {
        rseq!(|cpu| {
            in len_p: *mut usize = logs.get_raw(cpu) as *mut usize;
            in slots: *mut u8 = (*logs.get_raw(cpu)).records.get() as *mut u8;
            in src: *const u8 = event as *const Event as *const u8;
            let len: usize = *len_p;
            if len == 4096 { exit; }
            copy(slots.byte_add(len * 32), src, 32);
            commit(release) *len_p = len + 1;
        })
    };
    matches!(
        out.expect("this template needs rseq"),
        Outcome::Committed { .. }
    )
}

fn main() {
    if let Err(e) = rseq_dsl::registration() {
        println!("this template needs rseq: {e}");
        return;
    }
    const THREADS: u64 = 4;
    const EVENTS: u64 = 1_500;
    let logs = Arc::new(PerCpu::new(|_| Log {
        len: AtomicUsize::new(0),
        records: UnsafeCell::new([Event::default(); CAP]),
    }));
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let logs = logs.clone();
            std::thread::spawn(move || {
                let mut dropped = 0;
                for seq in 0..EVENTS {
                    let e = Event {
                        thread: t,
                        seq,
                        checksum: t.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ seq,
                        kind: (seq % 7) as u32,
                        _pad: 0,
                    };
                    if !append(&logs, &e) {
                        dropped += 1;
                    }
                }
                dropped
            })
        })
        .collect();
    let dropped: u64 = threads.into_iter().map(|t| t.join().unwrap()).sum();
    let mut total = 0;
    for (cpu, log) in logs.iter().enumerate() {
        let len = log.len.load(Ordering::Acquire);
        // SAFETY: every thread is joined, so no section writes any record any more.
        let all: &[Event; CAP] = unsafe { &*log.records.get() };
        let records = &all[..len];
        let intact = records
            .iter()
            .all(|e| e.checksum == e.thread.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ e.seq);
        println!("  cpu {cpu}: {len} records, all intact: {intact}");
        assert!(intact);
        total += len as u64;
    }
    println!(
        "{THREADS} threads logged {} events: {total} in per-CPU logs, {dropped} dropped (log full)",
        THREADS * EVENTS
    );
    assert_eq!(total + dropped, THREADS * EVENTS);
}
