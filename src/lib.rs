//! # rseq-dsl
//!
//! Linux restartable sequences (rseq) written in Rust syntax: the `rseq!` macro checks a
//! restricted critical section at compile time and compiles it to inline asm with its
//! descriptor, cpu check, abort handler and retry loop. The runtime underneath registers
//! threads lazily (glibc's area when glibc owns one, an own area otherwise).
#![deny(unsafe_op_in_unsafe_fn)]

pub use rseq_dsl_runtime::*;

pub use rseq_dsl_macros::rseq;

// `rseq!` expands to `::rseq_dsl::...` paths; this makes them resolve inside this crate.
extern crate self as rseq_dsl;

mod percpu;
pub use percpu::{
    Node, Path, PerCpu, PerCpuBuffer, PerCpuCounter, PerCpuLock, PerCpuLockGuard, PerCpuStack,
};
