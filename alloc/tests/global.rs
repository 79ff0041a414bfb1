//! RseqAlloc as the global allocator of this binary (behind a counting wrapper): threads
//! that allocate and free each other's blocks, thread churn, a signal storm with trims
//! running, fork, a long run with bounded memory; every block's canary is checked when it
//! is freed, and the statistics must agree with the wrapper's count at every quiet point.
//!
//! Its own main (`harness = false`): the scenarios run one after another in one process, so
//! that a fork happens while the process has exactly the threads the scenario made.
//!
//! On every target: cross-thread frees, thread churn, bounded mapped memory and trim, with
//! exact accounting (without rseq, every allocation takes the depot), and statistics taken
//! while another thread allocates (every snapshot consistent). The signal storm needs Linux
//! (`tgkill`, `/proc`), fork a Unix; where they cannot run they print that they were
//! skipped, and why. The fork scenarios check the accounting inside the children too, and
//! one forks with a fork handler that allocates while the allocator holds its locks.

mod common;

#[cfg(unix)]
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
#[cfg(unix)]
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use rseq_dsl_alloc::RseqAlloc;

fn main() {
    let rseq = rseq_dsl::is_available();
    println!(
        "rseq on the main thread: {rseq}{}, {} possible CPUs",
        if rseq {
            String::new()
        } else {
            format!(" ({})", no_rseq_reason())
        },
        rseq_dsl::possible_cpus()
    );
    // First, while the 1024-byte class has had no frees: a wrapped difference shows.
    stats_while_leaking(rseq);
    threads_free_each_others_blocks(rseq);
    thread_churn();
    #[cfg(target_os = "linux")]
    signal_storm_with_trims(rseq);
    #[cfg(not(target_os = "linux"))]
    skipped(
        "global",
        "signal_storm_with_trims",
        "restarts rseq sections with signals aimed at threads (tgkill, /proc/self/task): Linux only",
    );
    #[cfg(unix)]
    fork_while_busy();
    #[cfg(not(unix))]
    skipped("global", "fork_while_busy", "no fork on this platform");
    #[cfg(all(unix, any(target_os = "linux", target_vendor = "apple")))]
    fork_handler_allocates();
    #[cfg(not(all(unix, any(target_os = "linux", target_vendor = "apple"))))]
    skipped(
        "global",
        "fork_handler_allocates",
        "no fork, or no constructor section to register a fork handler before the allocator's",
    );
    memory_stays_bounded();
    trim_empties_every_cache();
    println!("global: all scenarios passed");
}

fn threads_free_each_others_blocks(rseq: bool) {
    let start = Instant::now();
    let exchange = Exchange::new(4096);
    let ops = run_workers(&exchange, 8, Duration::from_millis(1500), 1);
    exchange.drain();
    let stats = check_accounting("threads");
    report("threads", ops, &stats, start.elapsed());
    if rseq {
        assert!(stats.index.is_some());
        assert!(
            stats.hits() > stats.misses(),
            "the caches served less than the depot"
        );
    } else {
        skipped(
            "global",
            "threads: caches served more than the depot",
            &no_rseq_reason(),
        );
    }
    if !cfg!(target_os = "linux") {
        // No rseq anywhere off Linux: no cache was set up and the depot served everything.
        assert_eq!(stats.index, None, "caches set up without rseq");
        assert_eq!(stats.hits(), 0, "cache hits without rseq");
        assert!(stats.misses() > 0, "the depot served nothing");
    }
}

fn thread_churn() {
    let start = Instant::now();
    let exchange = Exchange::new(2048);
    let mut ops = 0;
    for round in 0..30 {
        // Short-lived threads leave blocks behind for the next round's threads to free.
        ops += run_workers(&exchange, 6, Duration::from_millis(20), round);
    }
    exchange.drain();
    let stats = check_accounting("churn");
    report("churn", ops, &stats, start.elapsed());
}

/// Issue 22, item 1: one thread leaks 100,000 `Box<[u8; 1000]>` (refills of the 1024-byte
/// class, one every 31 allocations, and pops in between) while this one takes 10,000
/// snapshots. Each must be consistent: no counter difference may wrap (in a debug build a
/// wrap is an overflow panic inside `stats()` where a sum or product overflows, and a value
/// near 2^64 otherwise), a class never has more cache hits than operations, and the caches
/// never hold more bytes than were mapped.
fn stats_while_leaking(rseq: bool) {
    let start = Instant::now();
    let started = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let leaker = {
        let started = started.clone();
        std::thread::spawn(move || {
            started.store(true, std::sync::atomic::Ordering::Relaxed);
            for i in 0..100_000u32 {
                let b: &'static mut [u8; 1000] = Box::leak(Box::new([0u8; 1000]));
                b[i as usize % 1000] = i as u8;
            }
        })
    };
    while !started.load(std::sync::atomic::Ordering::Relaxed) {
        std::hint::spin_loop();
    }
    let mut during = 0;
    for round in 0..10_000 {
        let running = !leaker.is_finished();
        let stats = RseqAlloc.stats();
        for c in &stats.classes {
            assert!(
                c.free_hits <= c.frees && c.alloc_hits <= c.allocs,
                "stats snapshot {round}: more hits than operations: {c:?}"
            );
            // `frees = free_hits + depot_frees`, so the line above only catches a wrap that
            // overflows the sum; a wrapped difference is within 2^32 of 2^64.
            let counts = [c.allocs, c.frees, c.alloc_hits, c.free_hits, c.cached];
            assert!(
                counts.iter().all(|&n| n < 1 << 48),
                "stats snapshot {round}: a counter difference wrapped: {c:?}"
            );
        }
        assert!(
            stats.cached_bytes <= stats.mapped_bytes,
            "stats snapshot {round}: {} B cached, {} B mapped",
            stats.cached_bytes,
            stats.mapped_bytes
        );
        during += running as u32;
    }
    leaker.join().unwrap();
    let stats = check_accounting("stats");
    report("stats", 100_000, &stats, start.elapsed());
    println!("stats: 10000 snapshots consistent, {during} of them taken while the leaker ran");
    if !rseq {
        skipped(
            "global",
            "stats: snapshots while the caches refill",
            &format!("no caches without rseq ({})", no_rseq_reason()),
        );
    }
}

#[cfg(target_os = "linux")]
fn signal_storm_with_trims(rseq: bool) {
    let start = Instant::now();
    let aborts_before = RseqAlloc.stats().aborts;
    let stop = Arc::new(AtomicBool::new(false));
    let storm = signal_storm(stop.clone());
    let trims = Arc::new(AtomicU64::new(0));
    let trimmer = {
        let (stop, trims) = (stop.clone(), trims.clone());
        std::thread::spawn(move || {
            // compare-twice (a debug mode of the section compiler) reports a trim's stores
            // to a cache that a section has in flight as corruption, before the fence
            // restarts that section: it excludes concurrent trims.
            let concurrent_trims = !cfg!(rseq_dsl_compare_twice);
            while concurrent_trims && !stop.load(Ordering::Relaxed) {
                if RseqAlloc.trim().is_ok() {
                    trims.fetch_add(1, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    // Two threads that do little but allocate and free: most of their time is spent inside
    // sections, where the storm's signals restart them.
    let tight: Vec<_> = (0..2)
        .map(|_| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let mut boxes = Vec::with_capacity(100);
                let mut ops = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    boxes.extend((0..100u64).map(Box::new));
                    assert!(boxes.iter().enumerate().all(|(i, b)| **b == i as u64));
                    boxes.clear();
                    ops += 200;
                }
                ops
            })
        })
        .collect();
    let exchange = Exchange::new(4096);
    let mut ops = run_workers(&exchange, 4, Duration::from_millis(2500), 2);
    // A slow machine (an emulated one) may not have seen the first restart yet: keep the
    // storm on, in short rounds, until it has (up to 20 s more).
    let extra = Instant::now();
    let restarted = || !rseq || RseqAlloc.stats().aborts > aborts_before;
    while (!restarted() || signals_handled() <= 1000) && extra.elapsed() < Duration::from_secs(20) {
        ops += run_workers(&exchange, 4, Duration::from_millis(250), 3);
    }
    stop.store(true, Ordering::Relaxed);
    ops += tight.into_iter().map(|t| t.join().unwrap()).sum::<u64>();
    let sent = storm.join().unwrap();
    trimmer.join().unwrap();
    exchange.drain();
    let stats = check_accounting("storm");
    report("storm", ops, &stats, start.elapsed());
    let aborts = stats.aborts - aborts_before;
    println!(
        "storm: {sent} signals sent, {} handled, {} trims, {aborts} aborted sections",
        signals_handled(),
        trims.load(Ordering::Relaxed)
    );
    assert!(signals_handled() > 1000, "the storm did not land");
    if rseq {
        assert!(
            aborts > 0,
            "no section was restarted: the restart path went untested"
        );
        if rseq_dsl::fence_all().is_ok() && !cfg!(rseq_dsl_compare_twice) {
            assert!(trims.load(Ordering::Relaxed) > 10, "trims did not run");
        }
    } else {
        skipped(
            "global",
            "storm: sections restarted, trims ran",
            &no_rseq_reason(),
        );
    }
}

/// Forks while four workers allocate and free (and hit the depot's locks; two of them in
/// bursts that refill and spill a cache every few dozen operations); each child checks
/// the accounting it inherited (issue 22, item 7: an object in flight between the depot and
/// a cache at the fork would belong to nothing there), frees the parent's blocks, runs
/// threads of its own, trims, checks again and exits.
#[cfg(unix)]
fn fork_while_busy() {
    // Enough forks that some land while a worker refills or spills a cache.
    const FORKS: u64 = 40;
    let start = Instant::now();
    let exchange = Exchange::new(1024);
    let stop = Arc::new(AtomicBool::new(false));
    let running = Arc::new(AtomicU64::new(0));
    #[cfg(target_os = "linux")]
    let base = thread_count();
    let workers: Vec<_> = (0..4u64)
        .map(|t| {
            let (exchange, stop, running) = (exchange.clone(), stop.clone(), running.clone());
            std::thread::spawn(move || {
                let mut rng = Rng(t + 77);
                let mut ops = 0u64;
                running.fetch_add(1, Ordering::Relaxed);
                while !stop.load(Ordering::Relaxed) {
                    if t < 2 {
                        exchange.op(&mut rng);
                        ops += 1;
                    } else {
                        // Bursts past a cache's 64 blocks of the class: a refill or a
                        // spill every 31 or 32 operations, so that forks land in them.
                        let burst: Vec<Box<[u8; 1000]>> =
                            (0..200).map(|i| Box::new([i as u8; 1000])).collect();
                        assert!(burst.iter().enumerate().all(|(i, b)| b[500] == i as u8));
                        drop(burst);
                        ops += 400;
                    }
                }
                ops
            })
        })
        .collect();
    // Fork only once every worker runs its loop: Rust's std holds a lock while a thread
    // starts or exits, which a child would inherit held (see the README's "Fork"). On Linux,
    // also once the process has exactly those threads (none of an earlier scenario exiting).
    while running.load(Ordering::Relaxed) < 4 {
        std::thread::sleep(Duration::from_millis(1));
    }
    #[cfg(target_os = "linux")]
    wait_for_threads(base + 4);
    let mut children = 0;
    for round in 0..FORKS {
        std::thread::sleep(Duration::from_millis(10));
        // SAFETY: the child only uses the allocator, threads and the exchange, then _exits.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0, "fork failed");
        if pid == 0 {
            let ok = std::panic::catch_unwind(|| {
                // The parent's four workers vanished here with at most one operation each
                // in flight: the wrapper may have counted it and the allocator not yet (or
                // the reverse), nothing more. The allocator's own books balance exactly:
                // no object was in flight outside a lock at the fork.
                check_accounting_forked(&format!("fork child {round}, at the fork"), 4);
                exchange.drain();
                let own = Exchange::new(512);
                run_workers(&own, 3, Duration::from_millis(100), round);
                own.drain();
                let _ = RseqAlloc.trim();
                check_accounting_forked(&format!("fork child {round}, at its end"), 4);
            })
            .is_ok();
            // SAFETY: ends the child without running the parent's exit handlers.
            unsafe { libc::_exit(if ok { 0 } else { 1 }) };
        }
        children += 1;
        wait_child(pid, Duration::from_secs(20));
    }
    stop.store(true, Ordering::Relaxed);
    let ops: u64 = workers.into_iter().map(|w| w.join().unwrap()).sum();
    exchange.drain();
    let stats = check_accounting("fork");
    report("fork", ops, &stats, start.elapsed());
    println!("fork: {children} children exited cleanly");
}

/// Waits for a child; fails if it crashed, failed or hung.
#[cfg(unix)]
fn wait_child(pid: libc::pid_t, limit: Duration) {
    let deadline = Instant::now() + limit;
    loop {
        let mut status = 0;
        // SAFETY: waits for our own child.
        let rc = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
        if rc == pid {
            assert!(
                libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
                "child {pid} failed: status {status:#x}"
            );
            return;
        }
        if Instant::now() > deadline {
            // SAFETY: our own child.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            panic!("child {pid} hung (a deadlock: a lock inherited held, or taken twice?)");
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// A fork handler registered before the allocator's (issue 22, item 7): `pthread_atfork` runs
/// prepare handlers in the reverse order of registration, parent and child handlers in that
/// order, so all three of this one run while the allocator's handlers hold every depot lock.
/// Each allocates and frees enough 1000-byte blocks (300, against a cache of 64) to reach
/// the depot. The handlers are registered by a constructor of this binary with an ELF
/// priority (`.init_array.00101`, run before the allocator's plain `.init_array` entry; on
/// Apple's linkers this object comes first), and do nothing until armed.
#[cfg(all(unix, any(target_os = "linux", target_vendor = "apple")))]
mod early_fork_handler {
    use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

    pub static ARMED: AtomicBool = AtomicBool::new(false);
    /// Bits: 1 prepare, 2 parent, 4 child ran (armed) and allocated.
    pub static RAN: AtomicU32 = AtomicU32::new(0);
    pub static REGISTERED: AtomicBool = AtomicBool::new(false);

    #[used]
    #[cfg_attr(not(target_vendor = "apple"), link_section = ".init_array.00101")]
    #[cfg_attr(target_vendor = "apple", link_section = "__DATA,__mod_init_func")]
    static INIT: extern "C" fn() = init;

    extern "C" fn init() {
        // SAFETY: three handlers that only allocate and free, once armed.
        let rc = unsafe { libc::pthread_atfork(Some(prepare), Some(parent), Some(child)) };
        REGISTERED.store(rc == 0, Ordering::Relaxed);
    }

    fn allocate(bit: u32) {
        if !ARMED.load(Ordering::Relaxed) {
            return;
        }
        let blocks: Vec<Box<[u8; 1000]>> = (0..300).map(|i| Box::new([i as u8; 1000])).collect();
        assert!(blocks.iter().enumerate().all(|(i, b)| b[999] == i as u8));
        drop(blocks);
        RAN.fetch_or(bit, Ordering::Relaxed);
    }

    extern "C" fn prepare() {
        allocate(1);
    }
    extern "C" fn parent() {
        allocate(2);
    }
    extern "C" fn child() {
        allocate(4);
    }
}

/// Runs in a child of its own, under a deadline (a deadlock is a failure, not a hang): the
/// child arms the early handler and forks a grandchild; the prepare and parent handlers
/// allocate in the child, the child handler in the grandchild, and both then check the
/// accounting exactly (each has one thread).
#[cfg(all(unix, any(target_os = "linux", target_vendor = "apple")))]
fn fork_handler_allocates() {
    use early_fork_handler::{ARMED, RAN, REGISTERED};
    let start = Instant::now();
    assert!(
        REGISTERED.load(Ordering::Relaxed),
        "the early fork handler was not registered"
    );
    // Fork only once the threads of earlier scenarios are gone (see fork_while_busy).
    #[cfg(target_os = "linux")]
    {
        let settle = Instant::now();
        while thread_count() > 1 && settle.elapsed() < Duration::from_secs(5) {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    // SAFETY: the child only allocates, forks and waits, then _exits.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        let code = std::panic::catch_unwind(|| {
            // Some blocks in the caches and the depot first, so that every path is warm.
            drop((0..500).map(|_| Box::new([1u8; 1000])).collect::<Vec<_>>());
            ARMED.store(true, Ordering::Relaxed);
            // SAFETY: one thread; the grandchild only allocates, checks and _exits.
            let grandchild = unsafe { libc::fork() };
            assert!(grandchild >= 0, "fork failed");
            if grandchild == 0 {
                let ok = std::panic::catch_unwind(|| {
                    assert_eq!(RAN.load(Ordering::Relaxed), 1 | 4, "handlers in the child");
                    drop((0..300).map(|_| Box::new([2u8; 1000])).collect::<Vec<_>>());
                    check_accounting("fork handler: grandchild");
                })
                .is_ok();
                // SAFETY: ends the grandchild without the exit handlers.
                unsafe { libc::_exit(if ok { 0 } else { 1 }) };
            }
            ARMED.store(false, Ordering::Relaxed);
            assert_eq!(RAN.load(Ordering::Relaxed), 1 | 2, "handlers in the parent");
            wait_child(grandchild, Duration::from_secs(5));
            check_accounting("fork handler: child");
        })
        .is_ok();
        // SAFETY: ends the child without the exit handlers.
        unsafe { libc::_exit(if code { 0 } else { 1 }) };
    }
    wait_child(pid, Duration::from_secs(10));
    println!(
        "fork handler: an earlier-registered prepare, parent and child handler allocated \
         through the depot around a fork, no deadlock, accounting exact ({:.2?})",
        start.elapsed()
    );
}

/// The same work over and over: once warm, neither the resident memory nor the memory the
/// allocator maps may keep growing.
fn memory_stays_bounded() {
    let start = Instant::now();
    let exchange = Exchange::new(4096);
    let mut warm = None;
    let mut ops = 0;
    for round in 0..12 {
        ops += run_workers(&exchange, 4, Duration::from_millis(150), 100 + round);
        if round == 2 {
            warm = Some((rss_bytes(), RseqAlloc.stats().mapped_bytes));
        }
    }
    let (rss, mapped) = (rss_bytes(), RseqAlloc.stats().mapped_bytes);
    let (warm_rss, warm_mapped) = warm.unwrap();
    exchange.drain();
    let stats = check_accounting("rss");
    report("rss", ops, &stats, start.elapsed());
    println!(
        "rss: after 3 rounds {} resident, {warm_mapped} B mapped; after 12 {}, {mapped} B",
        rss_text(warm_rss),
        rss_text(rss)
    );
    let slack = 8 << 20;
    match (warm_rss, rss) {
        (Some(warm_rss), Some(rss)) => assert!(
            rss <= warm_rss + slack,
            "resident memory grew from {warm_rss} to {rss}"
        ),
        _ => skipped(
            "global",
            "rss: resident memory stays bounded",
            "no /proc/self/statm here (mapped memory checked)",
        ),
    }
    assert!(
        mapped <= warm_mapped + slack,
        "mapped memory grew from {warm_mapped} to {mapped}"
    );
}

fn trim_empties_every_cache() {
    // Fill the caches a little, from several threads.
    let exchange = Exchange::new(512);
    run_workers(&exchange, 4, Duration::from_millis(50), 9);
    exchange.drain();
    let before = check_accounting("before trim");
    match RseqAlloc.trim() {
        Ok(moved) => {
            // `before` was computed with its own vector live; trimming frees nothing.
            let after = check_accounting("after trim");
            println!(
                "trim: moved {moved} B; cached before {} B, after {} B",
                before.cached_bytes, after.cached_bytes
            );
            assert_eq!(after.cached_bytes, 0);
            assert_eq!(
                moved, before.cached_bytes,
                "trim moved other bytes than were cached"
            );
            assert_eq!(after.depot_bytes(), before.depot_bytes() + moved);
        }
        Err(e) => println!("trim: no fence here ({e}); skipped"),
    }
}
