//! The benchmark workloads (alloc/bench/src/workloads.rs) run briefly with RseqAlloc as the
//! global allocator: they keep building (the benchmark crate itself is outside the
//! workspace), and they are one more multi-threaded workout for the allocator, whose
//! accounting must come out exact afterwards.

mod common;
// The benchmark binary uses the rest of the module (names, timing, peak RSS).
#[allow(dead_code)]
#[path = "../bench/src/workloads.rs"]
mod workloads;

use std::time::{Duration, Instant};

use workloads::Workload;

fn main() {
    for workload in Workload::ALL {
        for threads in [1, 3] {
            let start = Instant::now();
            let ops = workload.run(threads, Duration::from_millis(150));
            println!(
                "{} x {threads}: {ops} ops in {:.2?}",
                workload.name(),
                start.elapsed()
            );
            assert!(ops > 0, "{} did nothing", workload.name());
        }
    }
    let stats = common::check_accounting("workloads");
    common::report("workloads", 0, &stats, Duration::ZERO);
    println!("workloads: all ran, accounting exact");
}
