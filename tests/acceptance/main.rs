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
//! Run: `cargo test --all-features --test acceptance` (quick size, the default), or
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

#[path = "../../runtime/tests/support/seccomp.rs"]
mod seccomp;

#[macro_use]
mod section;

mod buffer;
mod control;
mod harness;
mod increment;
mod list;
mod matrix;
mod membarrier;
mod memory;
mod modes;
mod process;
mod records;
mod runner;
mod spinlock;

fn main() -> std::process::ExitCode {
    runner::main()
}
