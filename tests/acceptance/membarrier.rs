//! The membarrier scenario: workers add to the active per-CPU list while a manager swaps
//! lists and fences (`fence_all`, or `fence_cpu` on each CPU); no add may land in the old one.

use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::{harness::*, memory::*, modes::*, runner::*, section::*};

/// The membarrier scenario's operation: +1 on this CPU's slot of the active list.
pub(crate) fn membarrier_add_section(index: Index, active: &AtomicPtr<u64>) -> Section<()> {
    let active = active.as_ptr();
    // SAFETY: `active` always points at the base of one of two live per-CPU arrays.
    unsafe {
        section!(index, |i| {
            in active_p: *mut *mut u64 = active;
            in off: usize = i * STRIDE;
            let list: *mut u64 = *active_p;
            let v: u64 = *list.add(off);
            commit *list.add(off) = v + 1;
        })
    }
}

/// How the membarrier manager fences after swapping the active list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum FenceKind {
    All,
    EachCpu,
}

pub(crate) fn membarrier(size: &Size, mode: Mode, kind: FenceKind) -> Result<Report, String> {
    let lists = [PerCpu::new(), PerCpu::new()];
    let active = AtomicPtr::new(lists[0].base());
    let violations = AtomicU64::new(0);
    let swaps = AtomicU64::new(0);
    let first_violation = Mutex::new(String::new());
    let state = (&lists, &active);
    let run = run_workers(
        size,
        mode,
        true,
        &state,
        |(_, active), ctx| {
            committed(membarrier_add_section(mode.index, active), "membarrier add");
            ctx.disturb();
        },
        |(lists, active), control| {
            let mut current = 0;
            while !control.workers_done.load(Ordering::Acquire) {
                let inactive = current;
                current = 1 - current;
                active.store(lists[current].base(), Ordering::SeqCst);
                let fenced = match kind {
                    FenceKind::All => rseq_dsl::fence_all(),
                    FenceKind::EachCpu => {
                        (0..rseq_dsl::possible_cpus()).try_for_each(rseq_dsl::fence_cpu)
                    }
                };
                fenced.expect("membarrier fence");
                // From here on, no section may still add to the inactive list.
                let before = lists[inactive].values();
                let until = Instant::now() + Duration::from_micros(200);
                while Instant::now() < until {
                    std::thread::yield_now();
                }
                let after = lists[inactive].values();
                if before != after {
                    violations.fetch_add(1, Ordering::Relaxed);
                    let mut first = first_violation.lock().unwrap();
                    if first.is_empty() {
                        *first = format!(
                            "inactive list changed after the fence: {before:?} -> {after:?}"
                        );
                    }
                }
                if swaps.fetch_add(1, Ordering::Relaxed) + 1 >= size.swaps {
                    control.hold.store(false, Ordering::Release);
                }
            }
        },
    );
    let violations = violations.into_inner();
    ensure(violations == 0, || {
        format!(
            "{violations} violations; first: {}",
            first_violation.lock().unwrap()
        )
    })?;
    let sum = lists[0].sum() + lists[1].sum();
    ensure(sum == run.ops, || {
        format!("lists sum to {sum} after {} adds", run.ops)
    })?;
    let swaps = swaps.into_inner();
    ensure(swaps > 0, || "the manager never swapped".into())?;
    Ok(Report {
        note: format!("{swaps} swaps"),
        ..Report::of(&run)
    })
}
