//! The per-CPU increment: one section adds 1 to the running CPU's counter; the sum must be
//! exact.

use crate::{harness::*, memory::*, modes::*, runner::*, section::*};

pub(crate) fn increment_section(index: Index, counters: &PerCpu) -> Section<()> {
    let base = counters.base();
    // SAFETY: the index (cpu number or mm_cid) is below possible_cpus(), the number of
    // slots; the slots live as long as `counters` and are only written by sections.
    unsafe {
        section!(index, |i| {
            in slot: *mut u64 = base.add(i * STRIDE);
            let v: u64 = *slot;
            commit *slot = v + 1;
        })
    }
}

pub(crate) fn increment(size: &Size, mode: Mode) -> Result<Report, String> {
    let counters = PerCpu::new();
    let run = run_workers(
        size,
        mode,
        false,
        &counters,
        |c, ctx| {
            committed(increment_section(mode.index, c), "increment");
            ctx.disturb();
        },
        no_side,
    );
    let sum = counters.sum();
    ensure(sum == run.ops, || {
        format!("sum {sum} after {} increments", run.ops)
    })?;
    Ok(Report::of(&run))
}
