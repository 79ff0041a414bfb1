//! One allocator benchmark run: `alloc-bench WORKLOAD THREADS SECONDS` prints one JSON line
//! (allocator, workload, threads, ops, seconds, ops/s, peak RSS). The allocator is the one
//! this binary was built with (features `rseq`, `mimalloc`, `jemalloc`; none: glibc's).
//! Driven by scripts/alloc-bench.sh, which builds one binary per allocator.

mod workloads;

use std::time::Duration;

use workloads::{cpu_seconds, max_rss_kib, timed, Workload};

#[cfg(any(
    all(feature = "rseq", feature = "mimalloc"),
    all(feature = "rseq", feature = "jemalloc"),
    all(feature = "mimalloc", feature = "jemalloc")
))]
compile_error!("pick one allocator feature: rseq, mimalloc or jemalloc (none: the system's)");

#[cfg(feature = "rseq")]
#[global_allocator]
static ALLOC: rseq_dsl_alloc::RseqAlloc = rseq_dsl_alloc::RseqAlloc;

#[cfg(feature = "mimalloc")]
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[cfg(feature = "jemalloc")]
#[global_allocator]
static ALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

const ALLOCATOR: &str = if cfg!(feature = "rseq") {
    "rseq-dsl-alloc"
} else if cfg!(feature = "mimalloc") {
    "mimalloc"
} else if cfg!(feature = "jemalloc") {
    "jemalloc"
} else {
    "glibc"
};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = "usage: alloc-bench WORKLOAD THREADS SECONDS (workloads: larson, xmalloc-test, glibc-thread, churn)";
    let [workload, threads, seconds] = args.as_slice() else {
        eprintln!("{usage}");
        std::process::exit(2);
    };
    let (Some(workload), Ok(threads), Ok(seconds)) = (
        Workload::from_name(workload),
        threads.parse::<usize>(),
        seconds.parse::<f64>(),
    ) else {
        eprintln!("{usage}");
        std::process::exit(2);
    };
    let cpu_before = cpu_seconds();
    let (ops, secs) = timed(|| workload.run(threads, Duration::from_secs_f64(seconds)));
    let cpu = cpu_seconds() - cpu_before;
    let extra = allocator_stats();
    println!(
        "{{\"allocator\": \"{ALLOCATOR}\", \"workload\": \"{}\", \"threads\": {threads}, \"ops\": {ops}, \"seconds\": {secs:.4}, \"ops_per_sec\": {:.1}, \"cpu_seconds\": {cpu:.4}, \"max_rss_kib\": {}{extra}}}",
        workload.name(),
        ops as f64 / secs,
        max_rss_kib()
    );
}

/// The rseq allocator's own counters, as extra JSON fields.
fn allocator_stats() -> String {
    #[cfg(feature = "rseq")]
    {
        let s = ALLOC.stats();
        format!(
            ", \"hits\": {}, \"misses\": {}, \"aborts\": {}, \"index\": \"{:?}\"",
            s.hits(),
            s.misses(),
            s.aborts,
            s.index
        )
    }
    #[cfg(not(feature = "rseq"))]
    String::new()
}
