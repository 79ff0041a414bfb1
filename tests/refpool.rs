//! The per-CPU reference count and the per-CPU pools under the stress load (more workers
//! than CPUs, a signal storm, migrations and, with `--cfg rseq_dsl_delay_injection`,
//! widened sections): every value dropped exactly once, never while a handle to it
//! exists, with thousands of takes and drops around each switch; exact per-item sums in
//! the pools while items are allocated and freed; aborts > 0 where sections ran. Children
//! re-run both with odd workers refused rseq by seccomp (the fallback beside sections) and
//! with the whole process refused.
//!
//! `scripts/instrumented.sh cargo test --all-features --test refpool -- --nocapture`

// Sections under load: a target with an rseq backend (elsewhere the binary is empty).
#![cfg(all(rseq_dsl_sections, target_pointer_width = "64"))]

mod common;
#[path = "../runtime/tests/support/seccomp.rs"]
mod seccomp;

use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use common::{stress, Load, Report, Worker};
use rseq_dsl::{stats, Path, PerCpuArc, PerCpuPool, PerCpuRef};

/// Which workers may use rseq.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Mix {
    /// Every worker takes the path the process gives it.
    Same,
    /// Odd workers are refused rseq by seccomp (needs glibc's registration off, see
    /// `child`); even ones use sections.
    OddRefused,
}

/// Puts a worker on its path; returns whether it is on the fallback path by design.
fn enter(w: &Worker, mix: Mix) -> bool {
    if mix == Mix::OddRefused && w.index % 2 == 1 {
        seccomp::refuse_rseq_here(rseq_dsl::abi::SYS_RSEQ).expect("seccomp filter");
        assert_eq!(
            Path::current(),
            Path::Fallback,
            "the filter is not in force"
        );
        return true;
    }
    if mix == Mix::OddRefused {
        assert_eq!(Path::current(), Path::Rseq, "an even worker lost rseq");
    }
    false
}

/// Requires aborts where sections ran (with the stats feature).
fn require_aborts<R>(report: &Report<R>, what: &str) {
    if Path::current() == Path::Rseq {
        report.assert_aborted(what);
    }
}

// ---- The reference count ----

/// Switches at most this many times in a run.
const ROUNDS: usize = 4096;
/// Worker 0 switches every this many of its operations...
const SWITCH_EVERY: u64 = 1000;
/// ...and moves everybody to the next round this many operations later, so that the
/// others keep taking and dropping references of the switched value meanwhile.
const ADVANCE_AFTER: u64 = 300;
const CANARY: u64 = 0x5eed_cafe_f00d_d00d;

/// Per-round bookkeeping, shared by the values and the workers.
struct Book {
    /// Handles the workers hold, per round (incremented after a take, decremented before
    /// a drop): a value dropped while its round's count is not zero was dropped early.
    live: Vec<AtomicI64>,
    drops: Vec<AtomicUsize>,
    early: AtomicU64,
}

struct Value {
    round: usize,
    canary: u64,
    book: Arc<Book>,
}

impl Drop for Value {
    fn drop(&mut self) {
        assert_eq!(self.canary, CANARY, "a value dropped twice or corrupted");
        self.canary = 0;
        self.book.drops[self.round].fetch_add(1, Ordering::SeqCst);
        if self.book.live[self.round].load(Ordering::SeqCst) != 0 {
            self.book.early.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// What the workers saw.
#[derive(Default)]
struct Seen {
    takes: u64,
    refused: u64,
    clones: u64,
    drops: u64,
}

fn refcount_run(mix: Mix) {
    let book = Arc::new(Book {
        live: (0..ROUNDS).map(|_| AtomicI64::new(0)).collect(),
        drops: (0..ROUNDS).map(|_| AtomicUsize::new(0)).collect(),
        early: AtomicU64::new(0),
    });
    let owners: Vec<Mutex<Option<PerCpuArc<Value>>>> = (0..ROUNDS)
        .map(|round| {
            Mutex::new(Some(PerCpuArc::new(Value {
                round,
                canary: CANARY,
                book: book.clone(),
            })))
        })
        .collect();
    let seeds: Vec<Mutex<Option<PerCpuRef<Value>>>> = owners
        .iter()
        .map(|o| Mutex::new(o.lock().unwrap().as_ref().map(|o| o.get())))
        .collect();
    let round_now = AtomicUsize::new(0);
    let report = stress(
        &format!("refcount ({mix:?})"),
        Load::standard(60_000),
        |w| {
            enter(w, mix);
            let mut seen = Seen::default();
            let mut held: Vec<PerCpuRef<Value>> = Vec::new();
            let mut round = usize::MAX;
            let mut refused_in_round = false;
            let give_back = |held: &mut Vec<PerCpuRef<Value>>, round: usize, seen: &mut Seen| {
                for h in held.drain(..) {
                    book.live[round].fetch_sub(1, Ordering::SeqCst);
                    drop(h);
                    seen.drops += 1;
                }
            };
            while w.next() {
                let i = w.ops();
                if w.index == 0 && i % SWITCH_EVERY == 0 {
                    let r = round_now.load(Ordering::Acquire);
                    if r + 1 < ROUNDS {
                        // The switch, while the others take and drop.
                        drop(owners[r].lock().unwrap().take());
                        drop(seeds[r].lock().unwrap().take());
                    }
                }
                if w.index == 0 && i % SWITCH_EVERY == ADVANCE_AFTER {
                    let r = round_now.load(Ordering::Acquire);
                    if r + 1 < ROUNDS {
                        round_now.store(r + 1, Ordering::Release);
                    }
                }
                let r = round_now.load(Ordering::Acquire);
                if r != round {
                    if round != usize::MAX {
                        give_back(&mut held, round, &mut seen);
                    }
                    round = r;
                    refused_in_round = false;
                    if let Some(seed) = seeds[r].lock().unwrap().as_ref() {
                        held.push(seed.clone());
                        book.live[r].fetch_add(1, Ordering::SeqCst);
                    }
                }
                let Some(base) = held.first() else { continue };
                assert_eq!(base.canary, CANARY, "a value used after its drop");
                match i % 4 {
                    0 | 1 => match PerCpuRef::try_get(base) {
                        Some(h) => {
                            assert!(!refused_in_round, "try_get succeeded after it failed");
                            book.live[r].fetch_add(1, Ordering::SeqCst);
                            held.push(h);
                            seen.takes += 1;
                        }
                        None => {
                            refused_in_round = true;
                            seen.refused += 1;
                        }
                    },
                    2 => {
                        let h = base.clone();
                        book.live[r].fetch_add(1, Ordering::SeqCst);
                        held.push(h);
                        seen.clones += 1;
                    }
                    _ => {
                        while held.len() > 1 + (i as usize / 4) % 6 {
                            book.live[r].fetch_sub(1, Ordering::SeqCst);
                            drop(held.pop());
                            seen.drops += 1;
                        }
                    }
                }
            }
            if round != usize::MAX {
                give_back(&mut held, round, &mut seen);
            }
            seen
        },
    );
    let switched = round_now.load(Ordering::Relaxed);
    drop(seeds);
    drop(owners);
    let sum = |f: fn(&Seen) -> u64| report.results.iter().map(f).sum::<u64>();
    println!(
        "refcount ({mix:?}): {switched} switches, {} takes, {} refused after a switch, {} clones, {} drops",
        sum(|s| s.takes),
        sum(|s| s.refused),
        sum(|s| s.clones),
        sum(|s| s.drops)
    );
    for (round, drops) in book.drops.iter().enumerate() {
        assert_eq!(
            drops.load(Ordering::SeqCst),
            1,
            "round {round}: dropped {drops:?} times"
        );
    }
    assert_eq!(
        book.early.load(Ordering::SeqCst),
        0,
        "a value dropped while a handle lived"
    );
    assert!(switched >= 20, "only {switched} switches");
    assert!(sum(|s| s.refused) > 0, "no try_get ever saw a switch");
    require_aborts(&report, "refcount");
}

#[test]
fn refcount_drops_once_with_takes_and_drops_around_every_switch() {
    refcount_run(Mix::Same);
}

// ---- The pools ----

/// Counters of the run.
const COUNTERS: usize = 512;

fn pool_run(mix: Mix) {
    let pool = PerCpuPool::new();
    let counters: Vec<_> = (0..COUNTERS).map(|_| pool.counter()).collect();
    let report = stress(&format!("pool ({mix:?})"), Load::standard(150_000), |w| {
        enter(w, mix);
        let mut added = vec![0u64; COUNTERS];
        let mut fresh = 0u64;
        while w.next() {
            let i = w.ops();
            let k = (i as usize * 7 + w.index * 13) % COUNTERS;
            counters[k].add(k as u64 + 1);
            added[k] += k as u64 + 1;
            if i % 64 == 0 {
                // Allocation and free beside the adds: a reused item starts at zero.
                let tmp = pool.counter();
                assert_eq!(tmp.sum(), 0, "a recycled item was not zeroed");
                tmp.add(3);
                tmp.add(4);
                assert_eq!(tmp.sum(), 7);
                fresh += 1;
            }
        }
        (added, fresh)
    });
    for (k, c) in counters.iter().enumerate() {
        let expected: u64 = report.results.iter().map(|r| r.0[k]).sum();
        assert_eq!(c.sum(), expected, "counter {k}: lost or extra adds");
    }
    let fresh: u64 = report.results.iter().map(|r| r.1).sum();
    assert_eq!(pool.live(), COUNTERS);
    println!(
        "pool ({mix:?}): {COUNTERS} counters exact, {fresh} counters made and freed meanwhile, {} bytes mapped",
        pool.mapped_bytes()
    );
    require_aborts(&report, "pool");
}

#[test]
fn pool_counters_are_exact_per_item_while_items_come_and_go() {
    pool_run(Mix::Same);
}

// ---- The fallback beside sections, and alone ----

const ROLE_VAR: &str = "RSEQ_DSL_REFPOOL_CHILD";
const CHILD_TEST: &str = "fallback_threads_mix_with_sections";
const MARKER: &str = "refpool child: exact";

/// Two children: one where odd workers are refused rseq (glibc's registration off, so
/// that the runtime registers each thread itself and a refused one is no error for glibc),
/// one where the whole process is.
#[test]
fn fallback_threads_mix_with_sections() {
    match std::env::var(ROLE_VAR).as_deref() {
        Ok("mixed") => {
            assert_eq!(Path::current(), Path::Rseq, "no own registration here");
            refcount_run(Mix::OddRefused);
            pool_run(Mix::OddRefused);
            println!("{MARKER}");
        }
        Ok(_) => {
            assert_eq!(
                Path::current(),
                Path::Fallback,
                "the filter is not in force"
            );
            refcount_run(Mix::Same);
            pool_run(Mix::Same);
            println!("{MARKER}");
        }
        Err(_) => {
            child("mixed");
            child("refused");
        }
    }
}

fn child(role: &str) {
    let mut cmd = std::process::Command::new(std::env::current_exe().unwrap());
    cmd.args(["--exact", CHILD_TEST, "--nocapture", "--test-threads=1"])
        .env(ROLE_VAR, role);
    if role == "mixed" {
        cmd.env("GLIBC_TUNABLES", "glibc.pthread.rseq=0");
    } else {
        seccomp::refuse_rseq_with_enosys(&mut cmd, rseq_dsl::abi::SYS_RSEQ);
    }
    let out = cmd.output().expect("re-run the test binary");
    let stdout = String::from_utf8_lossy(&out.stdout);
    println!("{role} child:\n{stdout}");
    assert!(
        out.status.success(),
        "{role} child failed: {}\n{stdout}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(MARKER),
        "the {role} child did not run: {stdout}"
    );
}

/// Aborts are counted only with the stats feature: say so, so that a plain run is not
/// mistaken for one that checked them.
#[test]
fn stats_are_counted() {
    if !stats::ENABLED {
        println!("abort counts not checked: build with --features stats");
    }
}
