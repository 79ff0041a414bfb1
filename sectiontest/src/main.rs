//! `cargo run -p rseq-sectiontest --release -- [--seed HEX] [--sections N] [--states K]
//! [--storm-sections M] [--storm-states K] [--storm-repeat R] [--target TRIPLE]
//! [--control 1] [--compare OUTPUT]`
//!
//! Generates sections, compiles them with the real `rseq!`, runs each on random memory
//! states and compares with the reference interpreter; then the same for idempotent
//! sections under a signal storm with delay injection. Without `--seed` the seed is
//! fresh (from the clock), and printed first, so that any run can be repeated.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use rseq_sectiontest::harness::{run, Options};

fn main() -> ExitCode {
    let fresh = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64);
    let target_dir = std::env::var("CARGO_TARGET_DIR").map_or_else(
        |_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"),
        PathBuf::from,
    );
    let mut opts = Options {
        seed: rseq_sectiontest::rng::mix(fresh),
        sections: 300,
        states: 20,
        storm_sections: 60,
        storm_states: 10,
        storm_repeat: 3,
        target: None,
        dir: target_dir.join("sectiontest"),
        max_shrink_rounds: 12,
    };
    let mut control = false;
    let mut compare = Vec::new();
    let argv: Vec<String> = std::env::args().skip(1).collect();
    for pair in argv.chunks(2) {
        let Some(value) = pair.get(1) else {
            eprintln!("{} needs a value", pair[0]);
            return ExitCode::from(2);
        };
        let number = || value.parse::<usize>().expect("a number");
        match pair[0].as_str() {
            "--seed" => {
                opts.seed =
                    u64::from_str_radix(value.trim_start_matches("0x"), 16).expect("a hex seed")
            }
            "--sections" => opts.sections = number(),
            "--states" => opts.states = number(),
            "--storm-sections" => opts.storm_sections = number(),
            "--storm-states" => opts.storm_states = number(),
            "--storm-repeat" => opts.storm_repeat = number(),
            "--shrink-rounds" => opts.max_shrink_rounds = number(),
            "--target" => opts.target = Some(value.clone()),
            "--dir" => opts.dir = PathBuf::from(value),
            "--control" => control = value == "1",
            "--compare" => compare.push(PathBuf::from(value)),
            other => {
                eprintln!("unknown option {other}");
                return ExitCode::from(2);
            }
        }
    }
    println!(
        "sectiontest: seed {:#x}, {} sections x {} states, {} storm sections x {} states x {}",
        opts.seed,
        opts.sections,
        opts.states,
        opts.storm_sections,
        opts.storm_states,
        opts.storm_repeat
    );
    let start = Instant::now();
    if !compare.is_empty() {
        let mut failed = false;
        for path in &compare {
            let text = std::fs::read_to_string(path).expect("read the output to compare");
            match rseq_sectiontest::harness::compare_output(&opts, &text) {
                Ok(t) => println!(
                    "sectiontest: seed {:#x}: {}: {} sections, {} runs agree with the interpreter ({} committed, {} exited, {} unavailable); {} aborts from {} signals",
                    opts.seed, path.display(), t.sections, t.runs - t.unavailable, t.committed, t.exited, t.unavailable, t.aborts, t.signals
                ),
                Err(report) => {
                    eprintln!("sectiontest: seed {:#x}: {}: FAILED\n{report}", opts.seed, path.display());
                    failed = true;
                }
            }
        }
        return if failed {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        };
    }
    if control {
        // The control must fail: mismatches are its success.
        rseq_sectiontest::interp::CONTROL.store(true, std::sync::atomic::Ordering::Relaxed);
        opts.max_shrink_rounds = 0;
        return match run(&opts) {
            Err(report) if report.contains("MISMATCH") || report.contains("expected:") => {
                println!("sectiontest control: the wrong interpreter was caught, as it must be");
                ExitCode::SUCCESS
            }
            _ => {
                eprintln!("sectiontest control: a wrong interpreter went unnoticed");
                ExitCode::FAILURE
            }
        };
    }
    match run(&opts) {
        Ok(t) => {
            println!(
                "sectiontest: seed {:#x}: {} sections compiled ({} refused at the register budget), {} runs agree with the interpreter ({} committed, {} exited, {} unavailable), {} reruns; storm: {} aborts from {} signals; {:.1}s",
                opts.seed, t.sections, t.rejected, t.runs - t.unavailable, t.committed, t.exited, t.unavailable, t.reruns, t.aborts, t.signals, start.elapsed().as_secs_f64()
            );
            ExitCode::SUCCESS
        }
        Err(report) => {
            eprintln!("sectiontest: seed {:#x}: FAILED\n{report}", opts.seed);
            ExitCode::FAILURE
        }
    }
}
