// The README is the crate's front page, so its example runs as a doctest.
#![doc = include_str!("../README.md")]
#![deny(unsafe_op_in_unsafe_fn)]

pub use rseq_dsl_runtime::*;

pub use rseq_dsl_macros::rseq;

// `rseq!` expands to `::rseq_dsl::...` paths; this makes them resolve inside this crate.
extern crate self as rseq_dsl;

mod percpu;
pub use percpu::{
    LockError, Node, Path, PerCpu, PerCpuBuffer, PerCpuCounter, PerCpuLock, PerCpuLockGuard,
    PerCpuStack,
};
