//! The per-CPU building blocks against what Rust programs use instead, on 1 and 2 threads
//! (and on every allowed CPU where there are more than 2), side by side in one run.
//!
//! `cargo bench --bench percpu -- --warm-up-time 1 --measurement-time 3`
//!
//! - `percpu_counter`: a raw `rseq!` counter section; `PerCpuCounter::add`; one shared
//!   `AtomicU64`; `sched_getcpu()`-indexed padded atomics; a thread-local counter (the
//!   floor, but no one else can read it).
//! - `percpu_stack` (push then pop, one element each): a raw intrusive `rseq!` stack;
//!   `PerCpuStack::push_node`/`pop_node` (recycling the node); `Mutex<Vec<u64>>`;
//!   crossbeam's `SegQueue`; a Treiber stack on crossbeam-epoch.
//!
//! Each thread runs `BATCH` operations per iteration, pinned to its own CPU; the time is
//! the slowest thread's CPU time (the machines are shared, and wall time would count other
//! processes' time slices), so a reported time per element is per operation per thread.
//! CPU time leaves out time a thread sleeps on a contended mutex: the mutex numbers are a
//! lower bound, and the ratios against them conservative.
//! `scripts/plot.py` turns the results into `docs/bench.svg`.

mod common;
use common::{allowed_cpus, pin, thread_cpu_time};

use std::cell::Cell;
use std::hint::black_box;
use std::sync::atomic::{AtomicPtr, AtomicU64, Ordering};
use std::sync::{Barrier, Mutex};
use std::time::Duration;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use crossbeam_epoch::{self as epoch, Atomic, Owned};
use crossbeam_queue::SegQueue;
use rseq_dsl::{possible_cpus, rseq, Node, Outcome, PerCpu, PerCpuCounter, PerCpuStack};

/// Operations per thread per benchmark iteration.
const BATCH: u64 = 1000;

/// Thread counts to measure: 1, 2, and all allowed CPUs where there are more.
fn thread_counts() -> Vec<usize> {
    let cpus = allowed_cpus().len().max(1);
    let mut counts = vec![1, 2];
    if cpus > 2 {
        counts.push(cpus);
    }
    counts
}

/// Runs `BATCH * iters` calls of `op` on each of `threads` threads, each pinned to its own
/// CPU where there are enough; `setup` makes each thread's state first. Returns the
/// slowest thread's CPU time.
fn on_threads<S>(
    threads: usize,
    iters: u64,
    setup: impl Fn() -> S + Sync,
    op: impl Fn(&mut S) + Sync,
) -> Duration {
    let start = Barrier::new(threads);
    let cpus = allowed_cpus();
    std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|i| {
                let (start, setup, op) = (&start, &setup, &op);
                let cpu = (cpus.len() >= threads).then(|| cpus[i]);
                scope.spawn(move || {
                    if let Some(cpu) = cpu {
                        pin(cpu);
                    }
                    // Registers the thread's rseq area before the clock starts.
                    let _ = rseq_dsl::current_cpu();
                    let mut state = setup();
                    start.wait();
                    let t = thread_cpu_time();
                    for _ in 0..iters * BATCH {
                        op(&mut state);
                    }
                    thread_cpu_time() - t
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap())
            .max()
            .unwrap()
    })
}

// ---- Counters ----

/// 128 bytes apart, so that two CPUs' slots never share a cache line pair.
#[repr(C, align(128))]
struct Padded<T>(T);

/// Distance between two per-CPU `u64` slots, in `u64`s.
const STRIDE: usize = 128 / 8;

/// The raw section that `PerCpuCounter::add` wraps.
#[inline(always)]
fn rseq_counter_add(base: *mut u64) {
    // SAFETY: base + cpu * STRIDE is the slot of a CPU below possible_cpus.
    let out = unsafe {
        rseq!(|cpu| {
            in slot: *mut u64 = base.add(cpu * STRIDE);
            commit *slot += 1;
        })
    };
    if out.is_err() {
        panic!("rseq is unavailable here");
    }
}

/// A pointer the benchmark threads share (they write disjoint per-CPU slots through it).
#[derive(Clone, Copy)]
struct Shared(*mut u64);
// SAFETY: only rseq sections write through it, each on its own CPU's slot.
unsafe impl Send for Shared {}
// SAFETY: as for Send.
unsafe impl Sync for Shared {}

thread_local! {
    static LOCAL: Cell<u64> = const { Cell::new(0) };
}

fn counters(c: &mut Criterion) {
    let mut group = c.benchmark_group("percpu_counter");
    group.throughput(Throughput::Elements(BATCH));
    for threads in thread_counts() {
        let mut raw: Vec<Padded<u64>> = (0..possible_cpus()).map(|_| Padded(0)).collect();
        let base = Shared(raw.as_mut_ptr() as *mut u64);
        group.bench_function(BenchmarkId::new("rseq_section", threads), |b| {
            b.iter_custom(|iters| {
                on_threads(
                    threads,
                    iters,
                    || (),
                    |_| rseq_counter_add(black_box(base).0),
                )
            })
        });
        black_box(raw.iter().map(|p| p.0).sum::<u64>());

        let counter = PerCpuCounter::new();
        group.bench_function(BenchmarkId::new("PerCpuCounter_add", threads), |b| {
            b.iter_custom(|iters| on_threads(threads, iters, || (), |_| black_box(&counter).add(1)))
        });

        let shared = AtomicU64::new(0);
        group.bench_function(BenchmarkId::new("shared_atomic", threads), |b| {
            b.iter_custom(|iters| {
                on_threads(
                    threads,
                    iters,
                    || (),
                    |_| {
                        black_box(&shared).fetch_add(1, Ordering::Relaxed);
                    },
                )
            })
        });

        let padded = PerCpu::new(|_| AtomicU64::new(0));
        group.bench_function(BenchmarkId::new("sched_getcpu_atomics", threads), |b| {
            b.iter_custom(|iters| {
                on_threads(
                    threads,
                    iters,
                    || (),
                    |_| {
                        // SAFETY: sched_getcpu has no preconditions.
                        let cpu = unsafe { libc::sched_getcpu() }.max(0) as usize;
                        padded.get(cpu).unwrap().fetch_add(1, Ordering::Relaxed);
                    },
                )
            })
        });

        group.bench_function(BenchmarkId::new("thread_local", threads), |b| {
            b.iter_custom(|iters| {
                on_threads(
                    threads,
                    iters,
                    || (),
                    |_| LOCAL.with(|c| c.set(black_box(c.get()) + 1)),
                )
            })
        });
    }
    group.finish();
}

// ---- Stacks ----

/// An intrusive node for the raw rseq stack: `next` first.
#[repr(C)]
struct RawNode {
    next: *mut RawNode,
    value: u64,
}

/// One head per CPU, padded.
struct RawStack {
    heads: PerCpu<AtomicPtr<RawNode>>,
}

impl RawStack {
    #[inline(always)]
    fn push(&self, node: *mut RawNode) {
        let heads = &self.heads;
        // SAFETY: the running CPU's head; the node is ours until the commit.
        let out = unsafe {
            rseq!(|cpu| {
                in head: *mut *mut RawNode = heads.get_raw(cpu) as *mut *mut RawNode;
                in node: *mut RawNode = node;
                let top: *mut RawNode = *head;
                store *(node as *mut *mut RawNode) = top;
                commit *head = node;
            })
        };
        out.expect("rseq");
    }

    #[inline(always)]
    fn pop(&self) -> *mut RawNode {
        let heads = &self.heads;
        // SAFETY: the running CPU's head; top.next is read while top is in this CPU's list.
        let out = unsafe {
            rseq!(|cpu| {
                in head: *mut *mut RawNode = heads.get_raw(cpu) as *mut *mut RawNode;
                let top: *mut RawNode = *head;
                if top.is_null() { exit; }
                let next: *mut RawNode = *(top as *mut *mut RawNode);
                commit *head = next;
                top
            })
        };
        match out.expect("rseq") {
            Outcome::Committed { value, .. } => value,
            _ => std::ptr::null_mut(),
        }
    }
}

impl Drop for RawStack {
    fn drop(&mut self) {
        for head in self.heads.iter_mut() {
            let mut p = *head.get_mut();
            while !p.is_null() {
                // SAFETY: nodes in the lists are leaked Boxes.
                let node = unsafe { Box::from_raw(p) };
                p = node.next;
            }
        }
    }
}

/// A Treiber stack on crossbeam-epoch (crossbeam's own documentation example).
struct Treiber {
    head: Atomic<TreiberNode>,
}

struct TreiberNode {
    value: u64,
    next: Atomic<TreiberNode>,
}

impl Treiber {
    fn push(&self, value: u64) {
        let mut node = Owned::new(TreiberNode {
            value,
            next: Atomic::null(),
        });
        let guard = epoch::pin();
        loop {
            let head = self.head.load(Ordering::Relaxed, &guard);
            node.next.store(head, Ordering::Relaxed);
            match self.head.compare_exchange(
                head,
                node,
                Ordering::Release,
                Ordering::Relaxed,
                &guard,
            ) {
                Ok(_) => return,
                Err(e) => node = e.new,
            }
        }
    }

    fn pop(&self) -> Option<u64> {
        let guard = epoch::pin();
        loop {
            let head = self.head.load(Ordering::Acquire, &guard);
            // SAFETY: the guard keeps a loaded node alive until it is dropped.
            let node = unsafe { head.as_ref() }?;
            let next = node.next.load(Ordering::Relaxed, &guard);
            if self
                .head
                .compare_exchange(head, next, Ordering::Relaxed, Ordering::Relaxed, &guard)
                .is_ok()
            {
                // SAFETY: unlinked by us; freed once every pinned thread has moved on.
                unsafe { guard.defer_destroy(head) };
                return Some(node.value);
            }
        }
    }
}

impl Drop for Treiber {
    fn drop(&mut self) {
        while self.pop().is_some() {}
    }
}

fn stacks(c: &mut Criterion) {
    let mut group = c.benchmark_group("percpu_stack");
    group.throughput(Throughput::Elements(BATCH));
    for threads in thread_counts() {
        let raw = RawStack {
            heads: PerCpu::new(|_| AtomicPtr::new(std::ptr::null_mut())),
        };
        group.bench_function(BenchmarkId::new("rseq_section", threads), |b| {
            b.iter_custom(|iters| {
                on_threads(
                    threads,
                    iters,
                    || {
                        Box::into_raw(Box::new(RawNode {
                            next: std::ptr::null_mut(),
                            value: 0,
                        }))
                    },
                    |node| {
                        raw.push(*node);
                        let popped = raw.pop();
                        // A migration between push and pop may find the other CPU empty.
                        if !popped.is_null() {
                            *node = popped;
                        } else {
                            *node = Box::into_raw(Box::new(RawNode {
                                next: std::ptr::null_mut(),
                                value: 0,
                            }));
                        }
                        // SAFETY: ours until pushed.
                        unsafe { (**node).value = black_box((**node).value + 1) };
                    },
                )
            })
        });
        drop(raw);

        let stack = PerCpuStack::new();
        group.bench_function(BenchmarkId::new("PerCpuStack", threads), |b| {
            b.iter_custom(|iters| {
                on_threads(
                    threads,
                    iters,
                    || Some(Node::new(0u64)),
                    |node| {
                        let mut n = node.take().unwrap();
                        *n.value_mut() += 1;
                        stack.push_node(n);
                        *node = Some(stack.pop_node().unwrap_or_else(|| Node::new(0)));
                    },
                )
            })
        });

        let mutex = Mutex::new(Vec::<u64>::new());
        group.bench_function(BenchmarkId::new("Mutex_Vec", threads), |b| {
            b.iter_custom(|iters| {
                on_threads(
                    threads,
                    iters,
                    || 0u64,
                    |i| {
                        *i += 1;
                        mutex.lock().unwrap().push(*i);
                        black_box(mutex.lock().unwrap().pop());
                    },
                )
            })
        });

        let queue = SegQueue::new();
        group.bench_function(BenchmarkId::new("crossbeam_SegQueue", threads), |b| {
            b.iter_custom(|iters| {
                on_threads(
                    threads,
                    iters,
                    || 0u64,
                    |i| {
                        *i += 1;
                        queue.push(*i);
                        black_box(queue.pop());
                    },
                )
            })
        });

        let treiber = Treiber {
            head: Atomic::null(),
        };
        group.bench_function(BenchmarkId::new("crossbeam_epoch_Treiber", threads), |b| {
            b.iter_custom(|iters| {
                on_threads(
                    threads,
                    iters,
                    || 0u64,
                    |i| {
                        *i += 1;
                        treiber.push(*i);
                        black_box(treiber.pop());
                    },
                )
            })
        });
    }
    group.finish();
}

criterion_group!(benches, counters, stacks);
criterion_main!(benches);
