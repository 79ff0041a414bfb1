//! The stress run: its load, the workers' view, the report, and the signalling thread.

use std::cell::Cell;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, Ordering};
use std::sync::{Barrier, Mutex, MutexGuard, Once};
use std::time::{Duration, Instant};

use rseq_dsl::stats;

use super::disturb::{Injector, Migrator};

/// How hard a stress run pushes.
#[derive(Clone, Copy, Debug)]
pub struct Load {
    /// Worker threads (the signalling thread comes on top).
    pub threads: usize,
    /// Operations every worker does at least.
    pub min_ops: u64,
    /// Aborts to reach (summed over the workers) before the workers may stop early.
    pub target_aborts: u64,
    /// Once every worker did `min_ops`, the run stops at this age even short of the target.
    pub time_limit: Duration,
    /// No worker does more (bounds the memory of tests that record every item).
    pub max_ops: u64,
    /// Whether the test counts aborts itself ([`Worker::hand_abort`]), so that the target
    /// can be reached without the stats feature.
    pub counts_by_hand: bool,
    /// Whether a thread signals every worker (tgkill, SIGUSR1), a round every 20 µs.
    pub signals: bool,
    /// Whether the workers are moved between CPUs (affinity changes) every millisecond.
    pub migrate: bool,
    /// With `--cfg rseq_dsl_delay_injection`: loop count injected at one numbered point of
    /// every section at a time, the point changing every few milliseconds (0: none).
    pub inject: u32,
}

impl Load {
    /// Three workers per possible CPU (at least 4, at most 48), signals, migrations and
    /// delays on, `min_ops` per worker, until 200 aborts or 4 s.
    pub fn standard(min_ops: u64) -> Load {
        Load {
            threads: (3 * rseq_dsl::possible_cpus()).clamp(4, 48),
            min_ops,
            target_aborts: 200,
            max_ops: u64::MAX,
            counts_by_hand: false,
            time_limit: Duration::from_secs(4),
            signals: true,
            migrate: true,
            inject: 100,
        }
    }
}

/// What one worker sees: its number, its operation count and the stop rule.
pub struct Worker<'a> {
    /// 0-based worker number.
    pub index: usize,
    ops: Cell<u64>,
    hand_aborts: Cell<u64>,
    published: Cell<u64>,
    aborts_at_start: u64,
    shared: &'a Shared,
    load: Load,
}

impl Worker<'_> {
    /// Counts one operation and says whether to do it: `while w.next() { ... }`.
    #[inline]
    pub fn next(&self) -> bool {
        let n = self.ops.get();
        if n >= self.load.max_ops
            || (n.is_multiple_of(256) && n >= self.load.min_ops && self.should_stop())
        {
            return false;
        }
        self.ops.set(n + 1);
        true
    }

    /// Operations started so far (after the loop: operations done).
    pub fn ops(&self) -> u64 {
        self.ops.get()
    }

    /// Records an abort the test saw itself (an `Outcome::Aborted` under `no_retry`).
    pub fn hand_abort(&self) {
        self.hand_aborts.set(self.hand_aborts.get() + 1);
    }

    /// This worker's aborts so far: the stats counter where it exists, else those seen by hand.
    fn aborts(&self) -> u64 {
        if stats::ENABLED {
            stats::thread_aborts() - self.aborts_at_start
        } else {
            self.hand_aborts.get()
        }
    }

    #[cold]
    fn should_stop(&self) -> bool {
        let aborts = self.aborts();
        let new = aborts - self.published.replace(aborts);
        let total = self.shared.aborts.fetch_add(new, Ordering::Relaxed) + new;
        // Without counters there is nothing to wait for: min_ops is the whole run.
        let observable = stats::ENABLED || self.load.counts_by_hand;
        !observable
            || total >= self.load.target_aborts
            || self.shared.start.elapsed() >= self.load.time_limit
    }
}

struct Shared {
    start: Instant,
    aborts: AtomicU64,
}

/// What a run did, with each worker's own result.
pub struct Report<R> {
    pub results: Vec<R>,
    /// Operations per worker.
    pub ops: Vec<u64>,
    /// Aborts counted by the runtime's stats on the workers (0 without the feature).
    pub aborts: u64,
    /// Aborts the workers counted by hand.
    pub hand_aborts: u64,
    /// Signals sent, and handled (a signal sent while one is pending merges with it).
    pub signals: u64,
    pub handled: u64,
    /// Forced migrations (affinity changes) of workers.
    pub migrations: u64,
    pub elapsed: Duration,
}

impl<R> Report<R> {
    pub fn total_ops(&self) -> u64 {
        self.ops.iter().sum()
    }

    /// Requires aborts > 0 where the stats feature counts them; says so where it does not.
    pub fn assert_aborted(&self, name: &str) {
        if stats::ENABLED {
            assert!(
                self.aborts > 0,
                "{name}: no abort in {} operations: the restart path went untested",
                self.total_ops()
            );
        } else {
            println!("{name}: abort count not checked (build with --features stats)");
        }
    }
}

impl<R> std::fmt::Display for Report<R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} workers, {} ops, {} aborts (stats), {} aborts (by hand), {} signals sent, \
             {} handled, {} migrations, {:.2?}",
            self.ops.len(),
            self.total_ops(),
            self.aborts,
            self.hand_aborts,
            self.signals,
            self.handled,
            self.migrations,
            self.elapsed
        )
    }
}

/// Pause of the signalling thread between two rounds of signals.
const SIGNAL_PAUSE: Duration = Duration::from_micros(20);

/// Stress runs take the whole machine: one at a time, so that each one's load is the one
/// it asks for, whatever the test harness runs in parallel.
fn exclusive() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// SIGUSR1 signals handled, process-wide (a relaxed atomic add is async-signal-safe).
static HANDLED: AtomicU64 = AtomicU64::new(0);

extern "C" fn on_sigusr1(_: libc::c_int) {
    HANDLED.fetch_add(1, Ordering::Relaxed);
}

fn install_handler() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: sigaction is plain data; all-zero is an empty mask and no flags.
        let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
        action.sa_sigaction = on_sigusr1 as extern "C" fn(libc::c_int) as libc::sighandler_t;
        action.sa_flags = libc::SA_RESTART;
        // SAFETY: a valid action whose handler does nothing (async-signal-safe); SA_RESTART
        // keeps the harness's own blocking calls (futex waits, joins) from failing with EINTR.
        let rc = unsafe { libc::sigaction(libc::SIGUSR1, &action, std::ptr::null_mut()) };
        assert_eq!(rc, 0, "sigaction: {}", std::io::Error::last_os_error());
    });
}

/// Runs `body` on `load.threads` workers while another thread signals them, and returns
/// what each returned. `body` loops on [`Worker::next`]; whatever it still holds after the
/// loop it must put back before returning, so that the caller checks a quiescent state.
pub fn stress<R, F>(name: &str, load: Load, body: F) -> Report<R>
where
    R: Send,
    F: Fn(&Worker) -> R + Sync,
{
    let _exclusive = exclusive();
    install_handler();
    let shared = Shared {
        start: Instant::now(),
        aborts: AtomicU64::new(0),
    };
    let tids: Vec<AtomicI32> = (0..load.threads).map(|_| AtomicI32::new(0)).collect();
    let finished = AtomicBool::new(false);
    let running = AtomicU64::new(load.threads as u64);
    // Workers stay alive until the signaller stopped, so that no tid it signals is reused.
    let barrier = Barrier::new(load.threads + 1);
    let (signals, migrations) = (AtomicU64::new(0), AtomicU64::new(0));
    let handled_before = HANDLED.load(Ordering::Relaxed);

    let outcomes: Vec<(R, u64, u64, u64)> = std::thread::scope(|scope| {
        scope.spawn(|| {
            // SAFETY: getpid has no preconditions.
            let pid = unsafe { libc::getpid() };
            let mut sent = 0u64;
            let mut injector = Injector::new(load.inject);
            let mut migrator = Migrator::new(load.migrate);
            while !finished.load(Ordering::Acquire) {
                injector.rotate();
                migrator.rotate(&tids);
                if load.signals {
                    for tid in &tids {
                        let tid = tid.load(Ordering::Acquire);
                        if tid != 0 {
                            // SAFETY: tid is a live thread of this process (it waits on the
                            // barrier before exiting); SIGUSR1 has a no-op handler.
                            unsafe { libc::syscall(libc::SYS_tgkill, pid, tid, libc::SIGUSR1) };
                            sent += 1;
                        }
                    }
                }
                // Paced: signalling in a tight loop gets FEWER signals handled (measured
                // here, one worker in a widened section: 377,000 tgkill calls a second, 73
                // handled; with 20 µs pauses, 8,700 handled and 95% of them restarted the
                // section). A sleep instead of the spin waits for a CPU for milliseconds.
                let round = Instant::now();
                while round.elapsed() < SIGNAL_PAUSE {
                    std::hint::spin_loop();
                }
            }
            injector.stop();
            signals.store(sent, Ordering::Relaxed);
            migrations.store(migrator.moves, Ordering::Relaxed);
            barrier.wait();
        });
        let workers: Vec<_> = (0..load.threads)
            .map(|index| {
                let (body, shared, tids, barrier) = (&body, &shared, &tids, &barrier);
                let (running, finished) = (&running, &finished);
                scope.spawn(move || {
                    // SAFETY: gettid has no preconditions.
                    tids[index].store(unsafe { libc::gettid() }, Ordering::Release);
                    let worker = Worker {
                        index,
                        ops: Cell::new(0),
                        hand_aborts: Cell::new(0),
                        published: Cell::new(0),
                        aborts_at_start: stats::thread_aborts(),
                        shared,
                        load,
                    };
                    // Leaves through the barrier even if `body` panics, so that the run
                    // ends and the panic reaches the test through join.
                    let _leave = Leave {
                        running,
                        finished,
                        barrier,
                    };
                    let result = body(&worker);
                    let aborts = stats::thread_aborts() - worker.aborts_at_start;
                    (result, worker.ops(), aborts, worker.hand_aborts.get())
                })
            })
            .collect();
        workers
            .into_iter()
            .map(|w| w.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .collect()
    });

    let mut report = Report {
        results: Vec::new(),
        ops: Vec::new(),
        aborts: 0,
        hand_aborts: 0,
        signals: signals.load(Ordering::Relaxed),
        handled: HANDLED.load(Ordering::Relaxed) - handled_before,
        migrations: migrations.load(Ordering::Relaxed),
        elapsed: shared.start.elapsed(),
    };
    for (result, ops, aborts, hand) in outcomes {
        report.results.push(result);
        report.ops.push(ops);
        report.aborts += aborts;
        report.hand_aborts += hand;
    }
    println!("{name}: {report}");
    report
}

struct Leave<'a> {
    running: &'a AtomicU64,
    finished: &'a AtomicBool,
    barrier: &'a Barrier,
}

impl Drop for Leave<'_> {
    fn drop(&mut self) {
        if self.running.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.finished.store(true, Ordering::Release);
        }
        self.barrier.wait();
    }
}
