//! The per-CPU spinlock: a section takes the running CPU's lock, a plain counter it guards
//! must lose no update.

use std::cell::UnsafeCell;
use std::sync::atomic::{fence, Ordering};

use crate::{harness::*, memory::*, modes::*, runner::*, section::*};

/// A plain (non-atomic) counter per CPU, for the spinlock to guard.
pub(crate) struct PlainPerCpu(pub(crate) Vec<PlainLine>);

#[repr(C, align(128))]
pub(crate) struct PlainLine(pub(crate) UnsafeCell<u64>);

// SAFETY: every access goes through the per-CPU spinlock of the slot (that is what the
// scenario tests), or happens after all threads were joined.
unsafe impl Sync for PlainPerCpu {}

pub(crate) fn lock_section(index: Index, locks: &PerCpu) -> Section<()> {
    let base = locks.base();
    // SAFETY: as in increment_section; a lock word is 0 (free) or 1 (held).
    unsafe {
        section!(index, |i| {
            in lock: *mut u64 = base.add(i * STRIDE);
            let held: u64 = *lock;
            if held != 0 { exit; }
            commit *lock = 1;
        })
    }
}

/// Loops in the critical section of the spinlock, between the load and the store of the
/// plain counter: a broken lock would lose updates.
pub(crate) const CRITICAL_LOOPS: u32 = 100;

pub(crate) fn spinlock(size: &Size, mode: Mode) -> Result<Report, String> {
    let locks = PerCpu::new();
    let counts = PlainPerCpu(
        (0..rseq_dsl::possible_cpus())
            .map(|_| PlainLine(UnsafeCell::new(0)))
            .collect(),
    );
    let state = (locks, counts);
    let run = run_workers(
        size,
        mode,
        false,
        &state,
        |(locks, counts), ctx| {
            let slot = loop {
                match committed_or_exited(lock_section(mode.index, locks), "lock") {
                    Some((slot, ())) => break slot,
                    // Held (its holder is preempted or on another CPU now): let it run.
                    None => std::thread::yield_now(),
                }
            };
            // The lock's commit is a plain store; order the guarded accesses after it.
            fence(Ordering::Acquire);
            let count = counts.0[slot].0.get();
            // SAFETY: this thread holds slot's lock, so nothing else touches the counter.
            unsafe {
                let v = count.read_volatile();
                spin(CRITICAL_LOOPS);
                count.write_volatile(v + 1);
            }
            ctx.disturb();
            locks.word(slot).store(0, Ordering::Release);
        },
        no_side,
    );
    let (locks, counts) = state;
    let sum: u64 = counts.0.into_iter().map(|c| c.0.into_inner()).sum();
    ensure(sum == run.ops, || {
        format!("counters sum to {sum} after {} locked increments", run.ops)
    })?;
    ensure(locks.sum() == 0, || {
        format!("locks still held: {:?}", locks.values())
    })?;
    Ok(Report::of(&run))
}
