//! The stress harness shared by the root crate's integration tests: more worker threads
//! than CPUs, one extra thread that signals every worker continuously, moves them between
//! CPUs and (with `--cfg rseq_dsl_delay_injection`) widens one numbered point of every
//! section at a time, and a stop rule that keeps the workers going until enough aborts
//! were seen (or a time limit passed).
#![allow(dead_code, unused_imports)] // each test binary uses a different subset

mod disturb;
mod ledger;
mod memory;
mod run;

#[path = "../../runtime/tests/support/affinity.rs"]
mod affinity;
pub use affinity::allowed_cpus;
pub use ledger::Ledger;
pub use memory::{delay, Padded, PerCpu, SyncPtr, STRIDE};
pub use run::{stress, Load, Report, Worker};
