// The README is the crate's front page, so its example runs as a doctest.
#![doc = include_str!("../README.md")]
#![deny(unsafe_op_in_unsafe_fn)]
#![deny(missing_docs, missing_debug_implementations)]

pub use rseq_dsl_runtime::*;

pub use rseq_dsl_macros::rseq;
// What `rseq!` expands to in a build with the test instrumentation's cfgs (chosen by
// `__rseq_select!`, in instrumentation.rs).
#[doc(hidden)]
pub use rseq_dsl_macros::__rseq_instrumented;
// Keeps the arm of `rseq!`'s expansion that this target's backend compiles (or its `none`
// arm): the runtime's `abi` module defines it per target.
#[doc(hidden)]
pub use rseq_dsl_runtime::__rseq_backend;
mod instrumentation;

// `rseq!` expands to `::rseq_dsl::...` paths; this makes them resolve inside this crate.
extern crate self as rseq_dsl;

mod percpu;
pub use percpu::{
    LockError, Node, Path, PerCpu, PerCpuBuffer, PerCpuCounter, PerCpuLock, PerCpuLockGuard,
    PerCpuStack,
};
pub use percpu::{PerCpuArc, PerCpuPool, PerCpuRef, PoolCounter, PoolItem, Zeroable};
pub use percpu::{PerCpuRwLock, PerCpuRwLockReadGuard, PerCpuRwLockWriteGuard};

// Beside the per-CPU types rather than in src/percpu/stack.rs only because that file was
// being hardened concurrently; it reads the node through its public accessor.
impl<T: core::fmt::Debug> core::fmt::Debug for Node<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Node")
            .field("value", self.value())
            .finish_non_exhaustive()
    }
}
