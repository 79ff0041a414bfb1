//! What the operating system says about CPUs, without rseq: the calling thread's CPU (the
//! fallback of [`current_cpu`](crate::current_cpu)) and the bound for per-CPU arrays. One
//! file per operating system, each with the same two functions:
//!
//! - `cpu() -> Option<usize>`: the calling thread's CPU, or a stable stand-in where the
//!   system has no such call; `None` where the system refuses to say.
//! - `possible_cpus() -> usize`: at least 1, above every number `cpu()` returns.

#[cfg(any(target_os = "linux", target_os = "android"))]
#[path = "linux.rs"]
mod imp;

#[cfg(any(target_os = "freebsd", target_os = "dragonfly"))]
#[path = "freebsd.rs"]
mod imp;

#[cfg(windows)]
#[path = "windows.rs"]
mod imp;

#[cfg(not(any(
    target_os = "linux",
    target_os = "android",
    target_os = "freebsd",
    target_os = "dragonfly",
    windows
)))]
#[path = "shard.rs"]
mod imp;

pub(crate) use imp::{cpu, possible_cpus};
