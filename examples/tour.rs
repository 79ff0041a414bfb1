//! The tour: every per-CPU building block on more threads than CPUs while another thread
//! signals them continuously, checked exactly, then timed against the usual alternative
//! in the same run.
//!
//! Run: `cargo run --release --example tour`. The aborts column counts the restarts the
//! signal storm caused: examples build the runtime with its `stats` feature (a
//! dev-dependency feature of this package, so a user's build of the library stays without
//! it), which costs one thread-local add on each abort and nothing on the commit path.

use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::{Arc, Barrier, Mutex};
use std::time::{Duration, Instant};

use rseq_dsl::PerCpuRwLock;
use rseq_dsl::{stats, Node, Path, PerCpuBuffer, PerCpuCounter, PerCpuLock, PerCpuStack};
use rseq_dsl::{PerCpuArc, PerCpuPool, PerCpuRef};

/// How long each block runs in the signal storm.
const STORM_TIME: Duration = Duration::from_millis(400);
/// Operations per thread in the timed runs.
const TIMED_OPS: u64 = 3_000_000;

#[cfg(target_os = "linux")]
extern "C" fn on_signal(_: libc::c_int) {}

/// The calling thread's id for `tgkill` (Linux); elsewhere a placeholder nothing signals.
#[cfg(target_os = "linux")]
fn thread_id() -> i32 {
    // SAFETY: gettid has no preconditions.
    unsafe { libc::gettid() }
}
#[cfg(not(target_os = "linux"))]
fn thread_id() -> i32 {
    1
}

/// Installs SIGUSR1's handler, which does nothing (Linux: the storm's signal).
#[cfg(target_os = "linux")]
fn install_handler() {
    // SAFETY: installs a handler that does nothing.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
        action.sa_flags = libc::SA_RESTART;
        libc::sigaction(libc::SIGUSR1, &action, std::ptr::null_mut());
    }
}
#[cfg(not(target_os = "linux"))]
fn install_handler() {}

/// Sends SIGUSR1 to every running worker as fast as it can until `done`; returns the
/// signals sent.
#[cfg(target_os = "linux")]
fn signal_workers(tids: &[AtomicI32], done: &AtomicBool) -> u64 {
    let mut sent = 0u64;
    // SAFETY: getpid has no preconditions.
    let pid = unsafe { libc::getpid() };
    while !done.load(Ordering::Acquire) {
        for tid in tids.iter() {
            let tid = tid.load(Ordering::Acquire);
            if tid > 0 {
                // SAFETY: SIGUSR1's handler does nothing; a stale tid is harmless.
                unsafe { libc::syscall(libc::SYS_tgkill, pid, tid, libc::SIGUSR1) };
                sent += 1;
            }
        }
    }
    sent
}

/// No `tgkill` outside Linux: the storm runs without signals there.
#[cfg(not(target_os = "linux"))]
fn signal_workers(_: &[AtomicI32], _: &AtomicBool) -> u64 {
    0
}

/// Set when a storm run's time is up; storm workers poll it.
static STOP: AtomicBool = AtomicBool::new(false);

fn stopped() -> bool {
    STOP.load(Ordering::Relaxed)
}

/// Runs `work(worker)` on `threads` threads. With `signals`, another thread sends SIGUSR1
/// to each worker as fast as it can, and [`STOP`] is set after `STORM_TIME`. Returns the
/// results, the wall time and the signals sent.
fn run<R: Send + 'static>(
    threads: usize,
    signals: bool,
    work: impl Fn(usize) -> R + Send + Sync + 'static,
) -> (Vec<R>, Duration, u64) {
    let work = Arc::new(work);
    let tids: Arc<Vec<AtomicI32>> = Arc::new((0..threads).map(|_| AtomicI32::new(0)).collect());
    let done = Arc::new(AtomicBool::new(false));
    let barrier = Arc::new(Barrier::new(threads + 1));
    let workers: Vec<_> = (0..threads)
        .map(|i| {
            let (work, tids, barrier) = (work.clone(), tids.clone(), barrier.clone());
            std::thread::spawn(move || {
                tids[i].store(thread_id(), Ordering::Release);
                barrier.wait();
                let r = work(i);
                tids[i].store(0, Ordering::Release);
                r
            })
        })
        .collect();
    let signaller = signals.then(|| {
        let (tids, done) = (tids.clone(), done.clone());
        std::thread::spawn(move || signal_workers(&tids, &done))
    });
    // The clock starts before the main thread releases the workers: taken after the
    // barrier, it could start only once a worker had finished (2 CPUs, 2 busy workers).
    let start = Instant::now();
    barrier.wait();
    if signals {
        std::thread::sleep(STORM_TIME);
        STOP.store(true, Ordering::Relaxed);
    }
    let results: Vec<R> = workers.into_iter().map(|w| w.join().unwrap()).collect();
    let elapsed = start.elapsed();
    done.store(true, Ordering::Release);
    let sent = signaller.map_or(0, |s| s.join().unwrap());
    STOP.store(false, Ordering::Relaxed);
    (results, elapsed, sent)
}

/// One row of the table.
struct Row {
    block: &'static str,
    alternative: &'static str,
    ops: u64,
    aborts: Option<u64>,
    exact: bool,
    ns_block: f64,
    ns_alternative: f64,
}

/// A block's three runs: exactness under the storm, then the block and the alternative
/// timed without signals on `timed_threads` threads.
struct Block<S, T, A> {
    name: &'static str,
    alternative: &'static str,
    /// Storm run: returns the operations done and whether the result was exact.
    storm: S,
    /// Timed run of the block: `TIMED_OPS` operations on one thread.
    timed: T,
    /// Timed run of the alternative.
    alt: A,
}

fn measure<S, T, A>(b: Block<S, T, A>, storm_threads: usize, timed_threads: usize) -> Row
where
    S: FnOnce(usize) -> (u64, bool),
    T: Fn(usize) + Send + Sync + 'static,
    A: Fn(usize) + Send + Sync + 'static,
{
    let before = stats::total_aborts();
    let (ops, exact) = (b.storm)(storm_threads);
    let aborts = stats::ENABLED.then(|| stats::total_aborts() - before);
    let (_, t_block, _) = run(timed_threads, false, b.timed);
    let (_, t_alt, _) = run(timed_threads, false, b.alt);
    let per_op = |t: Duration| t.as_nanos() as f64 / TIMED_OPS as f64;
    Row {
        block: b.name,
        alternative: b.alternative,
        ops,
        aborts,
        exact,
        ns_block: per_op(t_block),
        ns_alternative: per_op(t_alt),
    }
}

fn item(thread: usize, i: u64) -> u64 {
    ((thread as u64) << 40) | i
}

fn main() {
    install_handler();
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    let storm_threads = (3 * cpus).clamp(4, 64);
    let timed_threads = cpus;
    println!(
        "rseq-dsl tour: path {}, {} possible CPUs; storm: {storm_threads} threads for {STORM_TIME:?} \
         per block with a thread signalling them; timing: {timed_threads} threads x {TIMED_OPS} ops, no signals",
        Path::current(),
        rseq_dsl::possible_cpus(),
    );
    let mut rows = Vec::new();

    // Counter: PerCpuCounter::add vs one shared AtomicU64.
    rows.push(measure(
        Block {
            name: "PerCpuCounter::add",
            alternative: "AtomicU64::fetch_add",
            storm: |threads| {
                let c = Arc::new(PerCpuCounter::new());
                let c2 = c.clone();
                let (ops, _, _) = run(threads, true, move |_| {
                    let mut n = 0u64;
                    while !stopped() {
                        c2.add(1);
                        n += 1;
                    }
                    n
                });
                let ops = ops.iter().sum();
                (ops, c.sum() == ops)
            },
            timed: {
                let c = Arc::new(PerCpuCounter::new());
                move |_| (0..TIMED_OPS).for_each(|_| c.add(1))
            },
            alt: {
                let c = Arc::new(AtomicU64::new(0));
                move |_| {
                    (0..TIMED_OPS).for_each(|_| {
                        c.fetch_add(1, Ordering::Relaxed);
                    })
                }
            },
        },
        storm_threads,
        timed_threads,
    ));

    // Stack: push + pop of a recycled node vs Mutex<Vec>.
    rows.push(measure(
        Block {
            name: "PerCpuStack push+pop",
            alternative: "Mutex<Vec> push+pop",
            storm: |threads| {
                let s = Arc::new(PerCpuStack::new());
                let s2 = s.clone();
                let (sums, _, _) = run(threads, true, move |t| {
                    let (mut pushed, mut popped, mut n, mut i) = (0u64, 0u64, 0u64, 0u64);
                    while !stopped() {
                        i += 1;
                        let v = item(t, i);
                        s2.push(v);
                        pushed = pushed.wrapping_add(v);
                        if let Some(v) = s2.pop() {
                            popped = popped.wrapping_add(v);
                            n += 1;
                        }
                    }
                    (pushed, popped, n, i)
                });
                let ops: u64 = sums.iter().map(|s| s.3).sum();
                let Ok(rest) = s.drain_all() else {
                    return (ops, false);
                };
                let pushed = sums.iter().fold(0u64, |a, s| a.wrapping_add(s.0));
                let popped = sums.iter().fold(0u64, |a, s| a.wrapping_add(s.1));
                let count: u64 = sums.iter().map(|s| s.2).sum::<u64>() + rest.len() as u64;
                let rest_sum = rest.iter().fold(0u64, |a, v| a.wrapping_add(*v));
                (ops, popped.wrapping_add(rest_sum) == pushed && count == ops)
            },
            timed: {
                let s = Arc::new(PerCpuStack::new());
                move |_| {
                    let mut node = Node::new(0u64);
                    for i in 0..TIMED_OPS {
                        *node.value_mut() = i;
                        s.push_node(node);
                        node = s.pop_node().unwrap_or_else(|| Node::new(0));
                    }
                }
            },
            alt: {
                let s = Arc::new(Mutex::new(Vec::<u64>::new()));
                move |_| {
                    for i in 0..TIMED_OPS {
                        s.lock().unwrap().push(i);
                        std::hint::black_box(s.lock().unwrap().pop());
                    }
                }
            },
        },
        storm_threads,
        timed_threads,
    ));

    // Buffer: bounded push + pop vs Mutex<Vec> with a bound.
    rows.push(measure(
        Block {
            name: "PerCpuBuffer push+pop",
            alternative: "Mutex<Vec> bounded",
            storm: |threads| {
                let b = Arc::new(PerCpuBuffer::new(64));
                let b2 = b.clone();
                let (sums, _, _) = run(threads, true, move |t| {
                    let (mut pushed, mut kept, mut n, mut i) = (0u64, 0u64, 0u64, 0u64);
                    while !stopped() {
                        i += 1;
                        pushed = pushed.wrapping_add(item(t, i));
                        if let Err(v) = b2.push(item(t, i)) {
                            kept = kept.wrapping_add(v);
                            n += 1;
                        }
                        if let Some(v) = b2.pop() {
                            kept = kept.wrapping_add(v);
                            n += 1;
                        }
                    }
                    (kept, n, i, pushed)
                });
                let ops: u64 = sums.iter().map(|s| s.2).sum();
                let mut b = Arc::into_inner(b).expect("workers are done");
                let rest = b.take_all();
                let expected = sums.iter().fold(0u64, |a, s| a.wrapping_add(s.3));
                let got = sums
                    .iter()
                    .map(|s| s.0)
                    .chain(rest.iter().copied())
                    .fold(0u64, |a, v| a.wrapping_add(v));
                let count = sums.iter().map(|s| s.1).sum::<u64>() + rest.len() as u64;
                (ops, got == expected && count == ops)
            },
            timed: {
                let b = Arc::new(PerCpuBuffer::new(64));
                move |_| {
                    let mut boxed = Box::new(0u64);
                    for i in 0..TIMED_OPS {
                        *boxed = i;
                        if let Err(back) = b.push_box(boxed) {
                            boxed = back;
                            continue;
                        }
                        boxed = b.pop_box().unwrap_or_else(|| Box::new(0));
                    }
                }
            },
            alt: {
                let b = Arc::new(Mutex::new(Vec::<u64>::with_capacity(64)));
                move |_| {
                    for i in 0..TIMED_OPS {
                        {
                            let mut v = b.lock().unwrap();
                            if v.len() < 64 {
                                v.push(i);
                            }
                        }
                        std::hint::black_box(b.lock().unwrap().pop());
                    }
                }
            },
        },
        storm_threads,
        timed_threads,
    ));

    // Lock: a per-CPU lock around two words vs one Mutex around two words.
    rows.push(measure(
        Block {
            name: "PerCpuLock lock+update",
            alternative: "Mutex lock+update",
            storm: |threads| {
                let l = Arc::new(PerCpuLock::new(|_| (0u64, 0u64)));
                let l2 = l.clone();
                let (ops, _, _) = run(threads, true, move |_| {
                    let mut n = 0u64;
                    while !stopped() {
                        let mut g = l2.lock();
                        let a = g.0;
                        std::hint::black_box(&mut *g);
                        g.0 = a + 1;
                        g.1 += 1;
                        n += 1;
                    }
                    n
                });
                let ops = ops.iter().sum();
                let v = Arc::into_inner(l).expect("workers are done").into_vec();
                let exact =
                    v.iter().all(|p| p.0 == p.1) && v.iter().map(|p| p.0).sum::<u64>() == ops;
                (ops, exact)
            },
            timed: {
                let l = Arc::new(PerCpuLock::new(|_| (0u64, 0u64)));
                move |_| {
                    for _ in 0..TIMED_OPS {
                        let mut g = l.lock();
                        g.0 += 1;
                        g.1 += 1;
                    }
                }
            },
            alt: {
                let l = Arc::new(Mutex::new((0u64, 0u64)));
                move |_| {
                    for _ in 0..TIMED_OPS {
                        let mut g = l.lock().unwrap();
                        g.0 += 1;
                        g.1 += 1;
                    }
                }
            },
        },
        storm_threads,
        timed_threads,
    ));

    // Reference count: PerCpuArc get + drop vs Arc clone + drop of one shared Arc. The storm
    // switches the count mid-run (worker 0 drops the owner) while the others take and drop.
    rows.push(measure(
        Block {
            name: "PerCpuArc get+drop",
            alternative: "Arc clone+drop",
            storm: |threads| {
                struct Tracked(Arc<AtomicU64>);
                impl Drop for Tracked {
                    fn drop(&mut self) {
                        self.0.fetch_add(1, Ordering::SeqCst);
                    }
                }
                let drops = Arc::new(AtomicU64::new(0));
                let owner = PerCpuArc::new(Tracked(drops.clone()));
                let seeds: Vec<_> = (0..threads)
                    .map(|_| Mutex::new(Some(owner.get())))
                    .collect();
                let owner = Arc::new(Mutex::new(Some(owner)));
                let seeds = Arc::new(seeds);
                let (owner2, seeds2) = (owner.clone(), seeds.clone());
                let (ops, _, _) = run(threads, true, move |t| {
                    let seed = seeds2[t].lock().unwrap().take().expect("a seed per worker");
                    let mut n = 0u64;
                    while !stopped() {
                        if t == 0 && n == 200_000 {
                            drop(owner2.lock().unwrap().take()); // the switch
                        }
                        if let Some(r) = PerCpuRef::try_get(&seed) {
                            drop(r);
                        }
                        drop(seed.clone());
                        n += 1;
                    }
                    n
                });
                // The workers dropped their seeds; the owner goes last if worker 0 did not
                // get to the switch: the value is dropped exactly once either way.
                drop(owner.lock().unwrap().take());
                drop(seeds);
                let ops = ops.iter().sum();
                (ops, drops.load(Ordering::SeqCst) == 1)
            },
            timed: {
                let owner = Arc::new(PerCpuArc::new(0u64));
                move |_| {
                    for _ in 0..TIMED_OPS {
                        std::hint::black_box(owner.get());
                    }
                }
            },
            alt: {
                let shared = Arc::new(0u64);
                move |_| {
                    for _ in 0..TIMED_OPS {
                        std::hint::black_box(Arc::clone(&shared));
                    }
                }
            },
        },
        storm_threads,
        timed_threads,
    ));

    // Pool: PoolCounter::add (8 bytes per CPU per counter) vs one shared AtomicU64 per
    // statistic; the storm adds to 64 counters of one pool, exactly per counter.
    rows.push(measure(
        Block {
            name: "PoolCounter::add",
            alternative: "AtomicU64::fetch_add",
            storm: |threads| {
                let pool = PerCpuPool::new();
                let counters: Arc<Vec<_>> = Arc::new((0..64).map(|_| pool.counter()).collect());
                let c2 = counters.clone();
                let (added, _, _) = run(threads, true, move |t| {
                    let mut added = vec![0u64; 64];
                    let mut i = t;
                    while !stopped() {
                        c2[i % 64].add(1);
                        added[i % 64] += 1;
                        i += 1;
                    }
                    added
                });
                let ops = added.iter().flatten().sum();
                let exact = (0..64).all(|k| counters[k].sum() == added.iter().map(|a| a[k]).sum());
                (ops, exact)
            },
            timed: {
                let c = Arc::new(PerCpuPool::new().counter());
                move |_| (0..TIMED_OPS).for_each(|_| c.add(1))
            },
            alt: {
                let c = Arc::new(AtomicU64::new(0));
                move |_| {
                    (0..TIMED_OPS).for_each(|_| {
                        c.fetch_add(1, Ordering::Relaxed);
                    })
                }
            },
        },
        storm_threads,
        timed_threads,
    ));

    // Reader-writer lock: read lock+unlock of a read-mostly value vs std's RwLock. In the
    // storm, worker 0 writes every 64th operation (four words, which readers check equal).
    rows.push(measure(
        Block {
            name: "PerCpuRwLock read",
            alternative: "std RwLock read",
            storm: |threads| {
                let l = Arc::new(PerCpuRwLock::new([0u64; 4]));
                let l2 = l.clone();
                let (results, _, _) = run(threads, true, move |t| {
                    let (mut n, mut writes, mut torn) = (0u64, 0u64, 0u64);
                    while !stopped() {
                        if t == 0 && n.is_multiple_of(64) {
                            l2.write().iter_mut().for_each(|v| *v += 1);
                            writes += 1;
                        } else {
                            let g = l2.read();
                            torn += u64::from(g.iter().any(|v| *v != g[0]));
                        }
                        n += 1;
                    }
                    (n, writes, torn)
                });
                let ops = results.iter().map(|r| r.0).sum();
                let writes = results.iter().map(|r| r.1).sum::<u64>();
                let torn = results.iter().map(|r| r.2).sum::<u64>();
                let exact = torn == 0 && *l.read() == [writes; 4];
                (ops, exact)
            },
            timed: {
                let l = Arc::new(PerCpuRwLock::new([1u64; 4]));
                move |_| {
                    let mut sum = 0u64;
                    for _ in 0..TIMED_OPS {
                        sum = sum.wrapping_add(l.read()[1]);
                    }
                    std::hint::black_box(sum);
                }
            },
            alt: {
                let l = Arc::new(std::sync::RwLock::new([1u64; 4]));
                move |_| {
                    let mut sum = 0u64;
                    for _ in 0..TIMED_OPS {
                        sum = sum.wrapping_add(l.read().unwrap()[1]);
                    }
                    std::hint::black_box(sum);
                }
            },
        },
        storm_threads,
        timed_threads,
    ));

    println!();
    println!(
        "| {:<22} | {:>10} | {:>7} | {:>5} | {:>8} | {:<22} | {:>8} | {:>7} |",
        "block", "operations", "aborts", "exact", "ns/op", "alternative", "ns/op", "speedup"
    );
    println!(
        "|{:-<24}|{:->12}|{:->9}|{:->7}|{:->10}|{:-<24}|{:->10}|{:->9}|",
        "", "", "", "", "", "", "", ""
    );
    for r in &rows {
        let aborts = r.aborts.map_or("n/a".to_string(), |a| a.to_string());
        println!(
            "| {:<22} | {:>10} | {:>7} | {:>5} | {:>8.2} | {:<22} | {:>8.2} | {:>6.1}x |",
            r.block,
            r.ops,
            aborts,
            if r.exact { "yes" } else { "NO" },
            r.ns_block,
            r.alternative,
            r.ns_alternative,
            r.ns_alternative / r.ns_block
        );
    }
    println!();
    println!(
        "operations/aborts/exact: the signal storm run; ns/op: wall time per operation per \
         thread, {timed_threads} threads, same run"
    );
    if !stats::ENABLED {
        println!("aborts: run with `--features stats` to count them");
    }
    if rows.iter().any(|r| !r.exact) {
        eprintln!("a result was not exact");
        std::process::exit(1);
    }
}
