//! Thread churn: 10,000 threads created and exiting while the workers run increments.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::{harness::*, increment::*, memory::*, process::*};

/// Increments per thread of the churn scenario.
pub(crate) const CHURN_OPS: u64 = 5;
/// Churn threads alive at once.
pub(crate) const CHURN_BATCH: usize = 64;

/// 10,000 threads created and exiting while the workers run increments.
pub(crate) fn thread_churn(size: &Size, index: Index) -> Result<Report, String> {
    // One worker per CPU: with 6 per CPU the spawner gets 1/13 of a CPU and the churn
    // takes 10 s and more.
    let size = &Size {
        threads: (size.threads / 6).max(1),
        ..*size
    };
    let counters = PerCpu::new();
    let mode = Mode {
        index,
        commit: Commit::Relaxed,
        disturb: Disturb::Plain,
    };
    let churned = AtomicU64::new(0);
    let run = run_workers(
        size,
        mode,
        true,
        &counters,
        |c, ctx| {
            committed(increment_section(index, c), "increment");
            ctx.disturb();
        },
        |c, control| {
            let mut left = size.churn_threads;
            while left > 0 {
                let batch = left.min(CHURN_BATCH);
                std::thread::scope(|scope| {
                    for _ in 0..batch {
                        scope.spawn(|| {
                            for _ in 0..CHURN_OPS {
                                committed(increment_section(index, c), "churn increment");
                            }
                        });
                    }
                });
                left -= batch;
                churned.fetch_add(batch as u64, Ordering::Relaxed);
            }
            control.hold.store(false, Ordering::Release);
        },
    );
    let churned = churned.into_inner();
    let expected = run.ops + churned * CHURN_OPS;
    let sum = counters.sum();
    ensure(sum == expected, || {
        format!("sum {sum}, expected {expected}")
    })?;
    Ok(Report {
        ops: expected,
        aborts: run.aborts,
        note: format!("{churned} threads came and went"),
    })
}
