//! CPUs that come and go (issue 22, item 8): the per-CPU building blocks and the allocator's
//! caches while CPUs go offline and come back, with sparse CPU lists, under an affinity of
//! one CPU, and with far more threads than CPUs under `mm_cid` indexing. Exact results in
//! every scenario.
//!
//! Scenarios (one line each, `hotplug: ok <name>: ...` or `hotplug: FAILED <name>: ...`):
//!
//! - `topology`: the runtime's `possible_cpus()` is one past the highest CPU of
//!   `/sys/devices/system/cpu/possible`, and online CPUs are possible ones; with
//!   `--expect-possible-above-online` (the VMs: 3 CPUs, booted with `maxcpus=2`) the kernel
//!   must report more possible than online CPUs.
//! - `affinity_one_cpu`: a child process whose affinity allows one CPU (set before it
//!   exec'd), 64 threads adding to a `PerCpuCounter`: the exact total, all of it on that
//!   CPU's slot, every section indexed by that CPU; with `mm_cid`, exact increments too.
//! - `mm_cid_many_threads`: 64 threads (far more than the CPUs) incrementing a slot per
//!   concurrency id with a plain load and store (two threads sharing an id at once would
//!   lose updates): the exact total, every id below `possible_cpus()` and the thread count.
//!
//! These run wherever rseq works. The rest offline CPUs through sysfs, so they run only as
//! root with a writable `/sys/devices/system/cpu/cpuN/online` *and* `RSEQ_DSL_TEST_HOTPLUG=1`
//! (the VMs of scripts/vm.sh set it; a `cargo test` on a host never offlines its CPUs):
//!
//! - `offline_with_items`: a thread pinned to CPU k pushes onto a `PerCpuStack`, a
//!   `PerCpuBuffer`, adds to a `PerCpuCounter` and fills the allocator's cache of k (the
//!   binary's global allocator, `RseqAlloc`, indexed by CPU); then k goes offline. The pinned
//!   thread is moved off k and its sections commit elsewhere; 8 threads push, pop, count,
//!   allocate and run sections meanwhile: no section commits with index k, k's counter slot
//!   and cache are unchanged, no pop returns one of k's items. With k still offline:
//!   `drain_all` returns exactly k's items and the load's leftovers, the buffer's
//!   `take_all` too, `trim` moves the cached bytes (k's cache included) and leaves every
//!   cache empty. Then k comes back online, and a thread pinned there commits sections
//!   indexed k, pushes and pops on k's stack and buffer, and refills k's cache.
//! - `cpu_comes_online`: a present CPU that has been offline since boot (the VMs boot 2 of
//!   their 3 CPUs, `maxcpus=2`) comes online under objects made before: a thread pinned there
//!   commits sections indexed by it, counts, pushes, fills the buffer and the allocator's
//!   cache for it (which existed, empty, since the caches were mapped); offline again, every
//!   item is reached by `drain_all` and `take_all`.
//! - `sparse_online`: every present CPU online, then one in the middle offline (online
//!   `0,2` of possible `0-2`; without a middle one, one below an online CPU, cpu0 where the
//!   kernel lets it go, else the highest): a thread pinned to each online CPU counts and
//!   runs sections indexed by exactly that CPU, LIFO on its stack; offline and absent CPUs'
//!   slots stay 0; fences on offline CPUs succeed, past the possible ones fail; `mm_cid`
//!   increments stay exact.
//!
//! Every CPU this binary took offline is brought back online, and every one it brought
//! online taken offline again, at the end of each scenario, after a failure too (and
//! scripts/vm/init.c puts every CPU back as it was at boot after each test).

#[cfg(target_os = "linux")]
#[global_allocator]
static ALLOC: rseq_dsl_alloc::RseqAlloc = rseq_dsl_alloc::RseqAlloc::new();

#[cfg(not(target_os = "linux"))]
fn main() {
    println!(
        "skipped: hotplug: CPU hot-plug and affinity are Linux's, and this target is {}-{}",
        std::env::consts::ARCH,
        std::env::consts::OS
    );
}

#[cfg(target_os = "linux")]
fn main() -> std::process::ExitCode {
    linux::main()
}

#[cfg(target_os = "linux")]
mod linux;
