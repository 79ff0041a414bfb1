//! The per-CPU buffer of 16-byte records: push and pop with `copy`, each record checked.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::{harness::*, memory::*, modes::*, runner::*, section::*};

/// Per-CPU arrays of `cap` 16-byte records with a length each.
pub(crate) struct RecordBuffer {
    pub(crate) lens: PerCpu,
    pub(crate) words: Vec<AtomicU64>,
    pub(crate) cap: usize,
}

pub(crate) const RECORD: usize = 16;
pub(crate) const MAGIC: u64 = 0x5eed_0f0d_d5c0_de00;

pub(crate) fn record_push_section(
    index: Index,
    commit: Commit,
    buf: &RecordBuffer,
    record: &[u64; 2],
) -> Section<()> {
    let (lens, bytes, cap) = (
        buf.lens.base() as *mut usize,
        buf.words.as_ptr() as *mut u8,
        buf.cap,
    );
    let src = record.as_ptr() as *const u8;
    // SAFETY: slot i's records are bytes[i * cap * 16 ..][.. cap * 16], its length <= cap.
    unsafe {
        section!(index, commit, |i| {
            in len_p: *mut usize = lens.add(i * STRIDE);
            in slots: *mut u8 = bytes.add(i * cap * RECORD);
            in cap: usize = cap;
            in src: *const u8 = src;
            let len: usize = *len_p;
            if len == cap { exit; }
            copy(slots.byte_add(len * 16), src, 16);
        } commit {
            *len_p = len + 1;
        })
    }
}

pub(crate) fn record_pop_section(
    index: Index,
    buf: &RecordBuffer,
    record: &mut [u64; 2],
) -> Section<()> {
    let (lens, bytes, cap) = (
        buf.lens.base() as *mut usize,
        buf.words.as_ptr() as *mut u8,
        buf.cap,
    );
    let dst = record.as_mut_ptr() as *mut u8;
    // SAFETY: as in record_push_section; `dst` is this thread's 16-byte record, which a
    // restarted section simply writes again.
    unsafe {
        section!(index, |i| {
            in len_p: *mut usize = lens.add(i * STRIDE);
            in slots: *mut u8 = bytes.add(i * cap * RECORD);
            in dst: *mut u8 = dst;
            let len: usize = *len_p;
            if len == 0 { exit; }
            let top: usize = len - 1;
            copy(dst, slots.byte_add(top * 16), 16);
            commit *len_p = top;
        })
    }
}

pub(crate) fn records(size: &Size, mode: Mode) -> Result<Report, String> {
    let slots = rseq_dsl::possible_cpus();
    let total = slots * ITEMS_PER_SLOT;
    let buf = RecordBuffer {
        lens: PerCpu::new(),
        words: (0..slots * total * 2).map(|_| AtomicU64::new(0)).collect(),
        cap: total,
    };
    for i in 0..total {
        let slot = i % slots;
        let len = buf.lens.word(slot).fetch_add(1, Ordering::Relaxed) as usize;
        let value = i as u64 + 1;
        let at = (slot * total + len) * 2;
        buf.words[at].store(value, Ordering::Relaxed);
        buf.words[at + 1].store(value ^ MAGIC, Ordering::Relaxed);
    }
    let run = run_workers(
        size,
        mode,
        false,
        &buf,
        |buf, ctx| {
            let mut record = [0u64; 2];
            let popped = committed_or_exited(
                record_pop_section(mode.index, buf, &mut record),
                "record pop",
            );
            ctx.disturb();
            if popped.is_some() {
                assert_eq!(
                    record[0] ^ MAGIC,
                    record[1],
                    "record copied out torn: {record:x?}"
                );
                committed(
                    record_push_section(mode.index, mode.commit, buf, &record),
                    "record push",
                );
            }
        },
        no_side,
    );
    let mut found = Vec::new();
    for slot in 0..slots {
        let len = buf.lens.word(slot).load(Ordering::SeqCst) as usize;
        ensure(len <= total, || {
            format!("slot {slot}: length {len} > capacity {total}")
        })?;
        for r in 0..len {
            let at = (slot * total + r) * 2;
            let (value, check) = (
                buf.words[at].load(Ordering::SeqCst),
                buf.words[at + 1].load(Ordering::SeqCst),
            );
            ensure(value ^ MAGIC == check, || {
                format!("slot {slot}: record {r} torn: {value:#x} {check:#x}")
            })?;
            found.push(value);
        }
    }
    check_each_once(found, total).map_err(|e| format!("records: {e}"))?;
    Ok(Report::of(&run))
}
