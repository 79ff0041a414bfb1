//! Acceptance stress suite: the scenarios of librseq's parameterised test suite, written
//! with `rseq!`, each a loop over its parameters.
//!
//! Data structures: per-CPU increment, per-CPU spinlock guarding a plain counter, per-CPU
//! intrusive list, per-CPU buffer of pointers, per-CPU buffer of 16-byte records, and the
//! membarrier scenario. Modes, for each: index by `cpu_id` and by `mm_cid`; relaxed and
//! release commits where a section stores before its commit; no disturbance, a delay at
//! each injection point in turn, and a yield, a signal or a 1 ms sleep every 1st, 2nd or
//! 4th operation; 6 x nproc worker threads. Process-level cases: the suite again in a child
//! under `GLIBC_TUNABLES=glibc.pthread.rseq=0`, a child where seccomp makes `rseq` fail with
//! ENOSYS, fork in the middle of a run, 10,000 threads created and exiting during a run.
//! A control does the increment without rseq and must lose updates.
//!
//! Run: `scripts/instrumented.sh cargo test --all-features --test acceptance` (quick size,
//! the default; the scenarios need `--cfg rseq_dsl_delay_injection`), or
//! `... -- --full` (or `RSEQ_ACCEPTANCE=full`) for librseq-like sizes, or `--tiny` for
//! emulated machines. Other arguments: words that select scenarios by substring of their
//! name, and `!word` to leave scenarios out. Every scenario prints one line
//! with its operations, aborts and time; the last line is `N passed, N failed`.
//!
//! Where things are: `runner.rs` (arguments, selection, output), `matrix.rs` (which
//! scenarios exist), `modes.rs` (sizes and modes), `harness.rs` (workers and the side
//! thread), `memory.rs` and `section.rs` (what the scenarios share); one file per data
//! structure (`increment.rs`, `spinlock.rs`, `list.rs`, `buffer.rs`, `records.rs`,
//! `membarrier.rs`), `control.rs`, and `process/` (fork, thread churn, the glibc-off and
//! seccomp children).
#![deny(unsafe_op_in_unsafe_fn)]

// The scenarios force restarts with injected delays: they exist only in a build with
// `--cfg rseq_dsl_delay_injection` (scripts/instrumented.sh, as CI's step 1 runs it), for
// a target with a 64-bit rseq backend (`cfg(rseq_dsl_sections)`, runtime/build.rs).
#[cfg(all(
    rseq_dsl_delay_injection,
    rseq_dsl_sections,
    target_pointer_width = "64"
))]
#[path = "../../runtime/tests/support/seccomp.rs"]
mod seccomp;

#[cfg(all(
    rseq_dsl_delay_injection,
    rseq_dsl_sections,
    target_pointer_width = "64"
))]
#[macro_use]
mod section;

#[cfg(all(
    rseq_dsl_delay_injection,
    rseq_dsl_sections,
    target_pointer_width = "64"
))]
mod buffer;
#[cfg(all(
    rseq_dsl_delay_injection,
    rseq_dsl_sections,
    target_pointer_width = "64"
))]
mod control;
#[cfg(all(
    rseq_dsl_delay_injection,
    rseq_dsl_sections,
    target_pointer_width = "64"
))]
mod harness;
#[cfg(all(
    rseq_dsl_delay_injection,
    rseq_dsl_sections,
    target_pointer_width = "64"
))]
mod increment;
#[cfg(all(
    rseq_dsl_delay_injection,
    rseq_dsl_sections,
    target_pointer_width = "64"
))]
mod list;
#[cfg(all(
    rseq_dsl_delay_injection,
    rseq_dsl_sections,
    target_pointer_width = "64"
))]
mod matrix;
#[cfg(all(
    rseq_dsl_delay_injection,
    rseq_dsl_sections,
    target_pointer_width = "64"
))]
mod membarrier;
#[cfg(all(
    rseq_dsl_delay_injection,
    rseq_dsl_sections,
    target_pointer_width = "64"
))]
mod memory;
#[cfg(all(
    rseq_dsl_delay_injection,
    rseq_dsl_sections,
    target_pointer_width = "64"
))]
mod modes;
#[cfg(all(
    rseq_dsl_delay_injection,
    rseq_dsl_sections,
    target_pointer_width = "64"
))]
mod process;
#[cfg(all(
    rseq_dsl_delay_injection,
    rseq_dsl_sections,
    target_pointer_width = "64"
))]
mod records;
#[cfg(all(
    rseq_dsl_delay_injection,
    rseq_dsl_sections,
    target_pointer_width = "64"
))]
mod runner;
#[cfg(all(
    rseq_dsl_delay_injection,
    rseq_dsl_sections,
    target_pointer_width = "64"
))]
mod spinlock;

#[cfg(all(
    rseq_dsl_delay_injection,
    rseq_dsl_sections,
    target_pointer_width = "64"
))]
fn main() -> std::process::ExitCode {
    runner::main()
}

/// Without delay injection no scenario can run. Under plain `cargo test` (no arguments)
/// that is a skip, said on stderr; asked for scenarios by name or size (the VM scripts
/// do), the binary fails, so that a build that lost the cfg cannot pass for a run.
#[cfg(not(all(
    rseq_dsl_delay_injection,
    rseq_dsl_sections,
    target_pointer_width = "64"
)))]
fn main() -> std::process::ExitCode {
    let asked: Vec<String> = std::env::args().skip(1).collect();
    let why = if cfg!(rseq_dsl_delay_injection) {
        "its sections need a 64-bit rseq backend (runtime/build.rs lists them)"
    } else {
        "built without `--cfg rseq_dsl_delay_injection` (run it under \
         scripts/instrumented.sh, or with that cfg in RUSTFLAGS)"
    };
    if asked.is_empty() {
        eprintln!("acceptance: skipped: {why}");
        std::process::ExitCode::SUCCESS
    } else {
        eprintln!("acceptance: cannot run {asked:?}: {why}");
        std::process::ExitCode::from(2)
    }
}
