use std::collections::HashSet;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::process::{Command, ExitCode};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::Mutex;
use std::time::Instant;

use rseq_dsl::{rseq, FenceError, Outcome, PerCpu, PerCpuBuffer, PerCpuCounter, PerCpuStack};
use rseq_dsl_alloc::Index;

use super::ALLOC;

const SYS_CPU: &str = "/sys/devices/system/cpu";
const CHILD_ARG: &str = "--hotplug-child=";
/// Threads of the load, of the affinity child and of the mm_cid scenarios.
const LOAD_THREADS: usize = 8;
const MANY_THREADS: usize = 64;

macro_rules! ensure {
    ($cond:expr, $($msg:tt)+) => {
        if !$cond {
            panic!($($msg)+);
        }
    };
}

mod cpus;
mod scenarios;
use cpus::*;
use scenarios::*;

fn run(name: &str, failed: &mut usize, scenario: impl FnOnce() -> Result<String, String>) {
    let started = Instant::now();
    let out = catch_unwind(AssertUnwindSafe(scenario));
    let restored = restore();
    let secs = started.elapsed().as_secs_f64();
    match (out, restored) {
        (Ok(Ok(text)), Ok(())) => println!("hotplug: ok {name} ({secs:.1} s): {text}"),
        (Ok(Err(why)), Ok(())) => println!("hotplug: skip {name}: {why}"),
        (Ok(_), Err(e)) => {
            println!("hotplug: FAILED {name}: {e}");
            *failed += 1;
        }
        (Err(panic), restored) => {
            let text = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            println!("hotplug: FAILED {name} ({secs:.1} s): {text}");
            if let Err(e) = restored {
                println!("hotplug: FAILED {name}: {e}");
            }
            *failed += 1;
        }
    }
}

pub(crate) fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let Some(role) = args.iter().find_map(|a| a.strip_prefix(CHILD_ARG)) {
        let cpu = role
            .strip_prefix("affinity:")
            .expect("a child role")
            .parse()
            .unwrap();
        println!("{}", affinity_child(cpu));
        return ExitCode::SUCCESS;
    }
    if !rseq_dsl::is_available() {
        println!(
            "skipped: hotplug: rseq is unavailable here ({:?})",
            rseq_dsl::registration().err()
        );
        return ExitCode::SUCCESS;
    }
    let hotplug = std::env::var_os("RSEQ_DSL_TEST_HOTPLUG").is_some_and(|v| v == "1");
    // The allocator's caches by CPU number (its mode is chosen at its first use, from
    // the environment): re-run with RSEQ_ALLOC_INDEX=cpu.
    if hotplug && std::env::var_os("RSEQ_ALLOC_INDEX").is_none_or(|v| v != "cpu") {
        let status = Command::new(std::env::current_exe().unwrap())
            .args(&args)
            .env("RSEQ_ALLOC_INDEX", "cpu")
            .status()
            .expect("re-run with RSEQ_ALLOC_INDEX=cpu");
        return if status.success() {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        };
    }
    let expect_above = args.iter().any(|a| a == "--expect-possible-above-online");
    let mut failed = 0;
    let started = Instant::now();
    run("topology", &mut failed, || Ok(topology(expect_above)));
    run("affinity_one_cpu", &mut failed, || Ok(affinity_one_cpu()));
    run("mm_cid_many_threads", &mut failed, mm_cid_many_threads);
    let why_not = if !hotplug {
        Some(
            "offlines CPUs only with RSEQ_DSL_TEST_HOTPLUG=1 (the VMs of scripts/vm.sh)"
                .to_string(),
        )
    } else if online().len() < 2 {
        Some(format!("one online CPU ({})", show_list(&online())))
    } else if !online().iter().any(|&c| hotpluggable(c)) {
        Some(
            "no writable /sys/devices/system/cpu/cpuN/online (not root, or a read-only /sys)"
                .into(),
        )
    } else {
        None
    };
    match why_not {
        Some(why) => {
            println!("skipped: hotplug: offline_with_items, cpu_comes_online, sparse_online: {why}")
        }
        None => {
            run("offline_with_items", &mut failed, || {
                Ok(offline_with_items())
            });
            run("cpu_comes_online", &mut failed, cpu_comes_online);
            run("sparse_online", &mut failed, || Ok(sparse_online()));
        }
    }
    println!(
        "hotplug: {} ({:.1} s)",
        if failed == 0 {
            "all scenarios passed".to_string()
        } else {
            format!("{failed} FAILED")
        },
        started.elapsed().as_secs_f64()
    );
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
