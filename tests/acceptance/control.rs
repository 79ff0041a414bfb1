//! The control: the same increment without rseq, which must lose updates under the same
//! load (otherwise the suite proves nothing).

use std::sync::atomic::Ordering;

use crate::{harness::*, memory::*, modes::*, runner::*};

/// Loops between the load and the store of the control (as the reference's control).
pub(crate) const CONTROL_LOOPS: u32 = 200;

pub(crate) fn control(size: &Size) -> Result<Report, String> {
    // At least the quick size's work, whatever the size: with too few operations (the tiny
    // size, or an idle emulated CPU) a race may simply not happen, and the control would
    // say nothing about the checks.
    let quick = Size::quick(size.threads);
    let size = if size.reps < quick.reps { &quick } else { size };
    let mode = Mode {
        index: Index::CpuId,
        commit: Commit::Relaxed,
        disturb: Disturb::Plain,
    };
    // A loss needs a preemption between a load and its store with another worker on that
    // CPU; under emulation (qemu TCG's long time slices) one run sometimes has none (1 to 2
    // in 24 on aarch64 7.3). Up to ATTEMPTS runs, so that only a control that never loses
    // fails; the note says how many it took.
    const ATTEMPTS: usize = 4;
    let mut ops = 0;
    for attempt in 1..=ATTEMPTS {
        let counters = PerCpu::new();
        let run = run_workers(
            size,
            mode,
            false,
            &counters,
            |c, _| {
                let slot = c.word(rseq_dsl::current_cpu());
                let v = slot.load(Ordering::Relaxed);
                spin(CONTROL_LOOPS);
                slot.store(v + 1, Ordering::Relaxed);
            },
            no_side,
        );
        ops += run.ops;
        let lost = run.ops - counters.sum();
        if lost > 0 {
            return Ok(Report {
                note: format!("control: lost {lost} updates (expected), run {attempt}"),
                ..Report::of(&run)
            });
        }
    }
    Err(format!(
        "control lost no updates in {ATTEMPTS} runs, {ops} operations: the checks cannot \
         detect a race"
    ))
}
