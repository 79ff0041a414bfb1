//! The runner: scenarios, command-line words (`--full`, `--quick`, `--tiny`, `word`,
//! `!word`, `a+b`, `--child=ROLE`), one line per scenario and the totals.

use std::io::Write;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::Instant;

use crate::{control::*, harness::*, matrix::*, modes::*, process::*};
use rseq_dsl::{stats, Owner};

/// What a scenario reports when it passed.
pub(crate) struct Report {
    pub(crate) ops: u64,
    pub(crate) aborts: u64,
    pub(crate) note: String,
}

impl Report {
    pub(crate) fn of(run: &Run) -> Report {
        Report {
            ops: run.ops,
            aborts: run.aborts,
            note: String::new(),
        }
    }
}

pub(crate) type Body = Box<dyn Fn(&Size) -> Result<Report, String>>;

pub(crate) struct Scenario {
    pub(crate) name: String,
    /// Must see aborts (with the `stats` feature).
    pub(crate) forces_aborts: bool,
    /// Needs mm_cid from the kernel (Linux 6.3+).
    pub(crate) needs_mm_cid: bool,
    pub(crate) body: Body,
}

pub(crate) fn scenario(
    name: String,
    mode: Mode,
    body: impl Fn(&Size) -> Result<Report, String> + 'static,
) -> Scenario {
    Scenario {
        name,
        forces_aborts: mode.disturb.forces_aborts(),
        needs_mm_cid: mode.index == Index::MmCid,
        body: Box::new(body),
    }
}

pub(crate) fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let full = args.iter().any(|a| a == "--full")
        || (std::env::var("RSEQ_ACCEPTANCE").as_deref() == Ok("full")
            && !args.iter().any(|a| a == "--quick"));
    let tiny = args.iter().any(|a| a == "--tiny");
    let role = args
        .iter()
        .find_map(|a| a.strip_prefix(CHILD_ARG))
        .map(str::to_owned);
    // Words select scenarios by substring, `!word` leaves them out; flags that cargo or
    // libtest users pass are ignored.
    let (excluded, filters): (Vec<&str>, Vec<&str>) = args
        .iter()
        .filter(|a| !a.starts_with('-'))
        .map(String::as_str)
        .partition(|a| a.starts_with('!'));
    let excluded: Vec<&str> = excluded.iter().map(|a| &a[1..]).collect();
    let nproc = std::thread::available_parallelism().map_or(1, |n| n.get());
    let size = if full {
        Size::full(6 * nproc)
    } else if tiny {
        Size::tiny(6 * nproc)
    } else {
        Size::quick(6 * nproc)
    };
    install_handler();

    match role.as_deref() {
        Some("seccomp") => return seccomp_child(),
        Some("glibc-off") => {
            EXPECT_OWN.store(true, Ordering::Relaxed);
            let owner = rseq_dsl::registration().map(|r| r.owner);
            if owner != Ok(Owner::Own) {
                println!("FAILED: main thread registration is {owner:?}, expected Own");
                return ExitCode::FAILURE;
            }
        }
        Some(other) => {
            println!("unknown child role {other}");
            return ExitCode::FAILURE;
        }
        None => {}
    }

    let mut scenarios = matrix();
    scenarios.extend(process_level());
    let control_name = "control: increment without rseq";
    scenarios.push(Scenario {
        name: control_name.into(),
        forces_aborts: false,
        needs_mm_cid: false,
        body: Box::new(control),
    });
    if role.is_none() {
        scenarios.extend(children());
    }
    // A word joined with `+` (`signal/1+list`) selects the scenarios that contain every part.
    scenarios.retain(|s| {
        (filters.is_empty()
            || filters
                .iter()
                .any(|f| f.split('+').all(|part| s.name.contains(part))))
            && !excluded.iter().any(|x| s.name.contains(x))
    });

    let has_mm_cid = rseq_dsl::mm_cid().is_some();
    println!(
        "rseq acceptance ({} size): {} scenarios, {} workers, stats {}, registration {:?}",
        size.name,
        scenarios.len(),
        size.threads,
        if stats::ENABLED { "on" } else { "off" },
        rseq_dsl::registration().map(|r| r.owner),
    );
    let started = Instant::now();
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    let (mut total_ops, mut total_aborts) = (0u64, 0u64);
    let width = scenarios.iter().map(|s| s.name.len()).max().unwrap_or(0);
    for s in &scenarios {
        if s.needs_mm_cid && !has_mm_cid {
            println!(
                "skip {:width$}  (the kernel does not maintain mm_cid)",
                s.name
            );
            skipped += 1;
            continue;
        }
        let t = Instant::now();
        let result = catch_unwind(AssertUnwindSafe(|| (s.body)(&size)))
            .unwrap_or_else(|panic| {
                let message = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "panicked".into());
                Err(message)
            })
            .and_then(|r| {
                if s.forces_aborts && stats::ENABLED && r.aborts == 0 {
                    Err(format!(
                        "no abort in {} operations: the restart path went untested",
                        r.ops
                    ))
                } else {
                    Ok(r)
                }
            });
        let elapsed = t.elapsed().as_secs_f64();
        match result {
            Ok(r) => {
                passed += 1;
                total_ops += r.ops;
                total_aborts += r.aborts;
                println!(
                    "ok   {:width$}  ops {:>9}  aborts {:>7}  {elapsed:6.2}s  {}",
                    s.name, r.ops, r.aborts, r.note
                );
            }
            Err(e) => {
                failed += 1;
                println!("FAIL {:width$}  {elapsed:6.2}s  {e}", s.name);
            }
        }
        let _ = std::io::stdout().flush();
    }
    println!(
        "{TOTALS}{total_ops} ops, {total_aborts} aborts, {:.1}s",
        started.elapsed().as_secs_f64()
    );
    if skipped > 0 {
        println!("{skipped} skipped");
    }
    println!("{passed} passed, {failed} failed");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
