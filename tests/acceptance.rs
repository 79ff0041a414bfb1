//! Acceptance stress suite: the scenarios of librseq's parameterised test suite, written
//! with `rseq!`, each a loop over its parameters.
//!
//! Data structures: per-CPU increment, per-CPU spinlock guarding a plain counter, per-CPU
//! intrusive list, per-CPU buffer of pointers, per-CPU buffer of 16-byte records, and the
//! membarrier scenario. Modes, for each: index by `cpu_id` and by `mm_cid`; relaxed and
//! release commits where a section stores before its commit; no disturbance, a delay at
//! each injection point in turn, and a yield, a signal or a 1 ms sleep every 1st, 2nd or
//! 4th operation; 6 x nproc worker threads. Process-level cases: the suite again in a child
//! under `GLIBC_TUNABLES=glibc.pthread.rseq=0`, a child where seccomp makes `rseq` fail with
//! ENOSYS, fork in the middle of a run, 10,000 threads created and exiting during a run.
//! A control does the increment without rseq and must lose updates.
//!
//! Run: `cargo test --all-features --test acceptance` (quick size, the default), or
//! `... -- --full` (or `RSEQ_ACCEPTANCE=full`) for librseq-like sizes, or `--tiny` for
//! emulated machines. Other arguments: words that select scenarios by substring of their
//! name, and `!word` to leave scenarios out. Every scenario prints one line
//! with its operations, aborts and time; the last line is `N passed, N failed`.
#![deny(unsafe_op_in_unsafe_fn)]

#[path = "../runtime/tests/support/seccomp.rs"]
mod seccomp;

use std::cell::UnsafeCell;
use std::io::Write;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::process::{Command, ExitCode};
use std::sync::atomic::{
    fence, AtomicBool, AtomicI32, AtomicPtr, AtomicU64, AtomicUsize, Ordering,
};
use std::sync::{Barrier, Mutex};
use std::time::{Duration, Instant};

use rseq_dsl::{inject, rseq, stats, Outcome, Owner, Reason, Unavailable};

// ---------------------------------------------------------------------------------------
// Sizes and modes
// ---------------------------------------------------------------------------------------

/// How hard every scenario pushes.
#[derive(Clone, Copy, Debug)]
struct Size {
    name: &'static str,
    /// Worker threads: 6 x nproc, as librseq.
    threads: usize,
    /// Operations every worker does at least.
    reps: u64,
    /// And for at least this long, so that the workers really overlap.
    min_time: Duration,
    /// In sleep modes, sleeps per worker at most (each is 1 ms).
    max_sleeps: u64,
    /// Loop count at the injection point of a delay mode (librseq: 10,000).
    delay_loops: u32,
    /// A mode meant to force aborts keeps its workers going until this many aborts...
    target_aborts: u64,
    /// ... or until this much time has passed.
    abort_time_limit: Duration,
    /// Active-list swaps the membarrier manager makes at least.
    swaps: u64,
    /// Forks during the fork scenario.
    forks: usize,
    /// Threads created and exiting during the churn scenario.
    churn_threads: usize,
    /// Operations per thread of librseq's 200-thread spinlock and list tests.
    crowd_reps: u64,
}

impl Size {
    fn quick(threads: usize) -> Size {
        Size {
            name: "quick",
            threads,
            reps: 2_000,
            min_time: Duration::from_millis(50),
            max_sleeps: 20,
            delay_loops: 10_000,
            target_aborts: 5,
            abort_time_limit: Duration::from_secs(2),
            swaps: 10,
            forks: 2,
            churn_threads: 10_000,
            crowd_reps: 500,
        }
    }

    /// For emulated machines (qemu-system in CI): every scenario, a fraction of the work.
    fn tiny(threads: usize) -> Size {
        Size {
            name: "tiny",
            threads,
            reps: 200,
            min_time: Duration::from_millis(10),
            max_sleeps: 4,
            delay_loops: 2_000,
            target_aborts: 1,
            abort_time_limit: Duration::from_secs(2),
            swaps: 3,
            forks: 1,
            churn_threads: 1_000,
            crowd_reps: 50,
        }
    }

    fn full(threads: usize) -> Size {
        Size {
            name: "full",
            threads,
            reps: 20_000,
            min_time: Duration::from_secs(1),
            max_sleeps: 200,
            delay_loops: 10_000,
            target_aborts: 50,
            abort_time_limit: Duration::from_secs(10),
            swaps: 200,
            forks: 10,
            churn_threads: 10_000,
            crowd_reps: 5_000,
        }
    }
}

/// Which field of the area indexes the per-CPU data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Index {
    CpuId,
    MmCid,
}

impl Index {
    const ALL: [Index; 2] = [Index::CpuId, Index::MmCid];

    fn name(self) -> &'static str {
        match self {
            Index::CpuId => "cpu_id",
            Index::MmCid => "mm_cid",
        }
    }
}

/// The ordering of a commit that follows speculative stores.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Commit {
    Relaxed,
    Release,
}

impl Commit {
    const ALL: [Commit; 2] = [Commit::Relaxed, Commit::Release];

    fn name(self) -> &'static str {
        match self {
            Commit::Relaxed => "relaxed",
            Commit::Release => "release",
        }
    }
}

/// What happens around each operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Disturb {
    /// Nothing: the workers alone (6 x nproc of them) cause the preemptions.
    Plain,
    /// A delay loop at this injection point (1..=6) of every section.
    Delay(usize),
    /// `sched_yield` every nth operation.
    Yield(u64),
    /// SIGUSR1 (no-op handler) every nth operation, to this thread and to a sibling worker.
    ///
    /// A signal to self is delivered on the return from `tgkill`, outside any section, so
    /// it never restarts one (librseq's `raise()` does the same). The sibling's signal
    /// arrives asynchronously, but a section of four instructions is rarely where it lands:
    /// 0 aborts in 350,000 such signals in a debug build. So signal modes also widen every
    /// section a little (SIGNAL_WIDEN_LOOPS at point 6) for the signals to land in.
    Signal(u64),
    /// A 1 ms sleep every nth operation.
    Sleep(u64),
}

impl Disturb {
    /// Every mode; point 5 (after a speculative store or copy) only where a section has one.
    fn all(has_stores: bool) -> Vec<Disturb> {
        let mut all = vec![Disturb::Plain];
        let points = (1..=inject::POINTS).filter(|&p| has_stores || p != STORE_POINT);
        all.extend(points.map(Disturb::Delay));
        for every in [1, 2, 4] {
            all.extend([
                Disturb::Yield(every),
                Disturb::Signal(every),
                Disturb::Sleep(every),
            ]);
        }
        all
    }

    /// Whether the mode exists to make the kernel restart sections: such a scenario must
    /// see aborts. Not point 1: it lies before the descriptor store, outside the section,
    /// and only fails the index compare when the index changed meanwhile (a migration for
    /// cpu_id; mm_cid often stays the same across migrations): seen at 0 in 2 s.
    fn forces_aborts(self) -> bool {
        matches!(self, Disturb::Delay(2..) | Disturb::Signal(_))
    }

    fn name(self) -> String {
        match self {
            Disturb::Plain => "plain".into(),
            Disturb::Delay(point) => format!("delay@{point}"),
            Disturb::Yield(n) => format!("yield/{n}"),
            Disturb::Signal(n) => format!("signal/{n}"),
            Disturb::Sleep(n) => format!("sleep/{n}"),
        }
    }
}

/// The injection point after each speculative store or copy.
const STORE_POINT: usize = 5;
/// The injection point just before the commit.
const COMMIT_POINT: usize = 6;
/// The widening of every section in signal modes (about 1 ns a loop), at COMMIT_POINT.
const SIGNAL_WIDEN_LOOPS: u32 = 2_000;

/// One point of the matrix.
#[derive(Clone, Copy, Debug)]
struct Mode {
    index: Index,
    commit: Commit,
    disturb: Disturb,
}

// ---------------------------------------------------------------------------------------
// Per-CPU memory
// ---------------------------------------------------------------------------------------

/// u64 words per 128-byte line: the distance between two per-CPU slots.
const STRIDE: usize = 16;

#[repr(C, align(128))]
struct Line([AtomicU64; STRIDE]);

/// One 128-byte line per possible CPU; sections use the first word of each.
struct PerCpu(Vec<Line>);

impl PerCpu {
    fn new() -> PerCpu {
        PerCpu(
            (0..rseq_dsl::possible_cpus())
                .map(|_| Line(std::array::from_fn(|_| AtomicU64::new(0))))
                .collect(),
        )
    }

    /// The first word of slot 0; slot `i` is at `base().add(i * STRIDE)`. Writable through
    /// a shared reference because the words are atomics (interior mutability).
    fn base(&self) -> *mut u64 {
        self.0.as_ptr() as *mut u64
    }

    fn word(&self, slot: usize) -> &AtomicU64 {
        &self.0[slot].0[0]
    }

    fn values(&self) -> Vec<u64> {
        (0..self.0.len())
            .map(|s| self.word(s).load(Ordering::SeqCst))
            .collect()
    }

    fn sum(&self) -> u64 {
        self.values().iter().sum()
    }
}

/// A plain (non-atomic) counter per CPU, for the spinlock to guard.
struct PlainPerCpu(Vec<PlainLine>);

#[repr(C, align(128))]
struct PlainLine(UnsafeCell<u64>);

// SAFETY: every access goes through the per-CPU spinlock of the slot (that is what the
// scenario tests), or happens after all threads were joined.
unsafe impl Sync for PlainPerCpu {}

/// A list node; `next` first, so that a section reads and writes it as `*(node as *mut *mut Node)`.
#[repr(C)]
struct Node {
    next: AtomicPtr<Node>,
    value: u64,
}

/// Nodes (or items) per slot, as librseq.
const ITEMS_PER_SLOT: usize = 100;

fn new_nodes(count: usize) -> Vec<Node> {
    (0..count)
        .map(|i| Node {
            next: AtomicPtr::new(std::ptr::null_mut()),
            value: i as u64 + 1,
        })
        .collect()
}

fn nodes_base(nodes: &[Node]) -> *mut Node {
    nodes.as_ptr() as *mut Node
}

/// Checks that `found` holds every node value 1..=total exactly once.
fn check_each_once(found: impl IntoIterator<Item = u64>, total: usize) -> Result<(), String> {
    let mut seen = vec![false; total + 1];
    let mut count = 0usize;
    for value in found {
        count += 1;
        if value == 0 || value as usize > total {
            return Err(format!("found value {value}, not one of 1..={total}"));
        }
        if std::mem::replace(&mut seen[value as usize], true) {
            return Err(format!("value {value} found twice"));
        }
        if count > total {
            return Err(format!("more than {total} items"));
        }
    }
    if count != total {
        return Err(format!("{count} items found, {total} expected: lost some"));
    }
    Ok(())
}

fn ensure(cond: bool, message: impl FnOnce() -> String) -> Result<(), String> {
    if cond {
        Ok(())
    } else {
        Err(message())
    }
}

// ---------------------------------------------------------------------------------------
// Sections, each dispatched on its mode at run time
// ---------------------------------------------------------------------------------------

/// Runs a section indexed as `$index` says; with `$commit`, the body is written as
/// `{ statements } commit { *place = value; [yielded] }` and committed with that ordering.
macro_rules! section {
    ($index:expr, |$i:ident| $body:tt) => {
        match $index {
            Index::CpuId => rseq!(|$i| $body),
            Index::MmCid => rseq!(mm_cid, |$i| $body),
        }
    };
    ($index:expr, $commit:expr, |$i:ident| { $($pre:tt)* } commit { $($post:tt)* }) => {
        match $commit {
            Commit::Relaxed => section!($index, |$i| { $($pre)* commit(relaxed) $($post)* }),
            Commit::Release => section!($index, |$i| { $($pre)* commit(release) $($post)* }),
        }
    };
}

type Section<T, E = ()> = Result<Outcome<T, E>, Unavailable>;

/// The value of a committed section; anything else is a failure of the scenario.
fn committed<T, E: std::fmt::Debug>(out: Section<T, E>, what: &str) -> T {
    match out {
        Ok(Outcome::Committed { value, .. }) => value,
        Ok(Outcome::Exited { value, .. }) => panic!("{what}: unexpected exit ({value:?})"),
        Ok(Outcome::Aborted) => panic!("{what}: aborted without no_retry"),
        Err(e) => panic!("{what}: {e}"),
    }
}

/// `Some(value)` if committed, `None` if it left through its exit.
fn committed_or_exited<T, E>(out: Section<T, E>, what: &str) -> Option<(usize, T)> {
    match out {
        Ok(Outcome::Committed { index, value }) => Some((index, value)),
        Ok(Outcome::Exited { .. }) => None,
        Ok(Outcome::Aborted) => panic!("{what}: aborted without no_retry"),
        Err(e) => panic!("{what}: {e}"),
    }
}

fn increment_section(index: Index, counters: &PerCpu) -> Section<()> {
    let base = counters.base();
    // SAFETY: the index (cpu number or mm_cid) is below possible_cpus(), the number of
    // slots; the slots live as long as `counters` and are only written by sections.
    unsafe {
        section!(index, |i| {
            in slot: *mut u64 = base.add(i * STRIDE);
            let v: u64 = *slot;
            commit *slot = v + 1;
        })
    }
}

fn lock_section(index: Index, locks: &PerCpu) -> Section<()> {
    let base = locks.base();
    // SAFETY: as in increment_section; a lock word is 0 (free) or 1 (held).
    unsafe {
        section!(index, |i| {
            in lock: *mut u64 = base.add(i * STRIDE);
            let held: u64 = *lock;
            if held != 0 { exit; }
            commit *lock = 1;
        })
    }
}

fn list_pop_section(index: Index, heads: &PerCpu) -> Section<*mut Node> {
    let heads = heads.base() as *mut *mut Node;
    // SAFETY: a head is null or points to a live node of the scenario's node array, whose
    // `next` is null or another such node; only sections on the slot's CPU change them.
    unsafe {
        section!(index, |i| {
            in head: *mut *mut Node = heads.add(i * STRIDE);
            let top: *mut Node = *head;
            if top.is_null() { exit; }
            let next: *mut Node = *(top as *mut *mut Node);
            commit *head = next;
            top
        })
    }
}

fn list_push_section(index: Index, commit: Commit, heads: &PerCpu, node: *mut Node) -> Section<()> {
    let heads = heads.base() as *mut *mut Node;
    // SAFETY: as in list_pop_section; `node` was popped by this thread and belongs to no
    // list, so its `next` is ours to write until the commit publishes it.
    unsafe {
        section!(index, commit, |i| {
            in head: *mut *mut Node = heads.add(i * STRIDE);
            in node: *mut Node = node;
            let top: *mut Node = *head;
            store *(node as *mut *mut Node) = top;
        } commit {
            *head = node;
        })
    }
}

/// Per-CPU arrays of `cap` pointers with a length each.
struct PtrBuffer {
    lens: PerCpu,
    slots: Vec<AtomicPtr<Node>>,
    cap: usize,
}

fn buffer_push_section(
    index: Index,
    commit: Commit,
    buf: &PtrBuffer,
    item: *mut Node,
) -> Section<(), usize> {
    let (lens, items, cap) = (
        buf.lens.base() as *mut usize,
        buf.slots.as_ptr() as *mut *mut Node,
        buf.cap,
    );
    // SAFETY: slot i's array is items[i * cap .. (i + 1) * cap] and its length is <= cap.
    unsafe {
        section!(index, commit, |i| {
            in len_p: *mut usize = lens.add(i * STRIDE);
            in slots: *mut *mut Node = items.add(i * cap);
            in cap: usize = cap;
            in item: *mut Node = item;
            let len: usize = *len_p;
            if len == cap { exit len; }
            store *slots.add(len) = item;
        } commit {
            *len_p = len + 1;
        })
    }
}

fn buffer_pop_section(index: Index, buf: &PtrBuffer) -> Section<*mut Node> {
    let (lens, items, cap) = (
        buf.lens.base() as *mut usize,
        buf.slots.as_ptr() as *mut *mut Node,
        buf.cap,
    );
    // SAFETY: as in buffer_push_section.
    unsafe {
        section!(index, |i| {
            in len_p: *mut usize = lens.add(i * STRIDE);
            in slots: *mut *mut Node = items.add(i * cap);
            let len: usize = *len_p;
            if len == 0 { exit; }
            let top: usize = len - 1;
            let item: *mut Node = *slots.add(top);
            commit *len_p = top;
            item
        })
    }
}

/// Per-CPU arrays of `cap` 16-byte records with a length each.
struct RecordBuffer {
    lens: PerCpu,
    words: Vec<AtomicU64>,
    cap: usize,
}

const RECORD: usize = 16;
const MAGIC: u64 = 0x5eed_0f0d_d5c0_de00;

fn record_push_section(
    index: Index,
    commit: Commit,
    buf: &RecordBuffer,
    record: &[u64; 2],
) -> Section<()> {
    let (lens, bytes, cap) = (
        buf.lens.base() as *mut usize,
        buf.words.as_ptr() as *mut u8,
        buf.cap,
    );
    let src = record.as_ptr() as *const u8;
    // SAFETY: slot i's records are bytes[i * cap * 16 ..][.. cap * 16], its length <= cap.
    unsafe {
        section!(index, commit, |i| {
            in len_p: *mut usize = lens.add(i * STRIDE);
            in slots: *mut u8 = bytes.add(i * cap * RECORD);
            in cap: usize = cap;
            in src: *const u8 = src;
            let len: usize = *len_p;
            if len == cap { exit; }
            copy(slots.byte_add(len * 16), src, 16);
        } commit {
            *len_p = len + 1;
        })
    }
}

fn record_pop_section(index: Index, buf: &RecordBuffer, record: &mut [u64; 2]) -> Section<()> {
    let (lens, bytes, cap) = (
        buf.lens.base() as *mut usize,
        buf.words.as_ptr() as *mut u8,
        buf.cap,
    );
    let dst = record.as_mut_ptr() as *mut u8;
    // SAFETY: as in record_push_section; `dst` is this thread's 16-byte record, which a
    // restarted section simply writes again.
    unsafe {
        section!(index, |i| {
            in len_p: *mut usize = lens.add(i * STRIDE);
            in slots: *mut u8 = bytes.add(i * cap * RECORD);
            in dst: *mut u8 = dst;
            let len: usize = *len_p;
            if len == 0 { exit; }
            let top: usize = len - 1;
            copy(dst, slots.byte_add(top * 16), 16);
            commit *len_p = top;
        })
    }
}

/// The membarrier scenario's operation: +1 on this CPU's slot of the active list.
fn membarrier_add_section(index: Index, active: &AtomicPtr<u64>) -> Section<()> {
    let active = active.as_ptr();
    // SAFETY: `active` always points at the base of one of two live per-CPU arrays.
    unsafe {
        section!(index, |i| {
            in active_p: *mut *mut u64 = active;
            in off: usize = i * STRIDE;
            let list: *mut u64 = *active_p;
            let v: u64 = *list.add(off);
            commit *list.add(off) = v + 1;
        })
    }
}

// ---------------------------------------------------------------------------------------
// The worker harness
// ---------------------------------------------------------------------------------------

/// Set in the child that runs with glibc's registration off: every worker checks that the
/// crate registered its own area.
static EXPECT_OWN: AtomicBool = AtomicBool::new(false);

extern "C" fn on_sigusr1(_: libc::c_int) {}

fn install_handler() {
    // SAFETY: sigaction is plain data; all-zero is an empty mask and no flags.
    let mut action: libc::sigaction = unsafe { std::mem::zeroed() };
    action.sa_sigaction = on_sigusr1 as extern "C" fn(libc::c_int) as libc::sighandler_t;
    action.sa_flags = libc::SA_RESTART;
    // SAFETY: a valid action whose handler does nothing (async-signal-safe); SA_RESTART
    // keeps blocking calls (joins, sleeps) of the harness from failing with EINTR.
    let rc = unsafe { libc::sigaction(libc::SIGUSR1, &action, std::ptr::null_mut()) };
    assert_eq!(rc, 0, "sigaction: {}", std::io::Error::last_os_error());
}

fn gettid() -> i32 {
    // SAFETY: gettid has no preconditions.
    unsafe { libc::gettid() }
}

fn tgkill(tid: i32) {
    // SAFETY: `tid` is a live thread of this process (workers stay alive until every
    // worker stopped sending, see run_workers); SIGUSR1 has a no-op handler.
    unsafe { libc::syscall(libc::SYS_tgkill, libc::getpid(), tid, libc::SIGUSR1) };
}

/// A busy wait that the optimizer keeps.
fn spin(iterations: u32) {
    for i in 0..iterations {
        std::hint::black_box(i);
    }
}

/// Shared by the workers and the side thread of one run.
struct Control {
    start: Instant,
    aborts_at_start: u64,
    /// While set, workers keep going past their minimum (a side thread needs them busy).
    hold: AtomicBool,
    /// Set when every worker stopped.
    workers_done: AtomicBool,
    tids: Vec<AtomicI32>,
}

impl Control {
    fn aborts(&self) -> u64 {
        stats::total_aborts() - self.aborts_at_start
    }
}

/// A worker's view: its number, operation count, and the mode's disturbance.
struct Ctx<'a> {
    index: usize,
    ops: u64,
    min_ops: u64,
    need_aborts: bool,
    size: &'a Size,
    disturb: Disturb,
    control: &'a Control,
}

impl Ctx<'_> {
    /// Counts one operation and says whether to do it: `while ctx.next() { ... }`.
    fn next(&mut self) -> bool {
        if self.ops >= self.min_ops && !self.must_go_on() {
            return false;
        }
        self.ops += 1;
        true
    }

    fn must_go_on(&self) -> bool {
        // Looks at the clock and the counters only every 16th operation.
        if !self.ops.is_multiple_of(16) || self.control.hold.load(Ordering::Acquire) {
            return true;
        }
        let age = self.control.start.elapsed();
        age < self.size.min_time
            || (self.need_aborts
                && self.control.aborts() < self.size.target_aborts
                && age < self.size.abort_time_limit)
    }

    /// The mode's disturbance, once per operation, where the scenario puts it (between a
    /// pop and the push that follows, as librseq, or after the operation).
    fn disturb(&self) {
        let due = |every: u64| self.ops.is_multiple_of(every);
        match self.disturb {
            Disturb::Plain | Disturb::Delay(_) => {}
            Disturb::Yield(n) if due(n) => std::thread::yield_now(),
            Disturb::Signal(n) if due(n) => {
                // To self, as librseq's raise(): delivered on return from tgkill, outside
                // any section. And to the next worker, asynchronously: that one can land
                // inside a section and restart it.
                tgkill(gettid());
                let tids = &self.control.tids;
                let sibling = tids[(self.index + 1) % tids.len()].load(Ordering::Acquire);
                if sibling != 0 {
                    tgkill(sibling);
                }
            }
            Disturb::Sleep(n) if due(n) => std::thread::sleep(Duration::from_millis(1)),
            _ => {}
        }
    }
}

/// What a run did.
struct Run {
    ops: u64,
    aborts: u64,
}

/// On drop (also while unwinding): the worker leaves through the barrier, the last one
/// setting `workers_done`, so that no worker exits (and has its tid reused) while a
/// sibling may still signal it.
struct Leave<'a> {
    running: &'a AtomicUsize,
    control: &'a Control,
    barrier: &'a Barrier,
}

impl Drop for Leave<'_> {
    fn drop(&mut self) {
        if self.running.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.control.workers_done.store(true, Ordering::Release);
        }
        self.barrier.wait();
    }
}

/// On drop: the side thread no longer holds the workers (so that its panic ends the run),
/// or the delays go back to 0 (so that a failed scenario leaves none behind).
struct Release<'a>(&'a AtomicBool);

impl Drop for Release<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::Release);
    }
}

struct ClearDelays;

impl Drop for ClearDelays {
    fn drop(&mut self) {
        inject::clear_delays();
    }
}

/// Runs `work` on `size.threads` workers (each loops `while ctx.next() { ... }`) and
/// `side` on one more thread, with the mode's delays set. `side` gets the control: it may
/// keep the workers going with `hold` (initially as `hold` says), and sees `workers_done`.
fn run_workers<S, W, D>(size: &Size, mode: Mode, hold: bool, state: &S, work: W, side: D) -> Run
where
    S: Sync,
    W: Fn(&S, &mut Ctx) + Sync,
    D: FnOnce(&S, &Control) + Send,
{
    let _clear = ClearDelays;
    match mode.disturb {
        Disturb::Delay(point) => inject::set_delay(point, size.delay_loops),
        Disturb::Signal(_) => inject::set_delay(COMMIT_POINT, SIGNAL_WIDEN_LOOPS),
        _ => {}
    }
    let min_ops = match mode.disturb {
        Disturb::Sleep(every) => size.reps.min(size.max_sleeps * every),
        _ => size.reps,
    };
    let control = Control {
        start: Instant::now(),
        aborts_at_start: stats::total_aborts(),
        hold: AtomicBool::new(hold),
        workers_done: AtomicBool::new(false),
        tids: (0..size.threads).map(|_| AtomicI32::new(0)).collect(),
    };
    let running = AtomicUsize::new(size.threads);
    let barrier = Barrier::new(size.threads);
    let ops: u64 = std::thread::scope(|scope| {
        let control = &control;
        let side = scope.spawn(|| {
            let _release = Release(&control.hold);
            side(state, control)
        });
        let workers: Vec<_> = (0..size.threads)
            .map(|index| {
                let (work, running, barrier) = (&work, &running, &barrier);
                scope.spawn(move || {
                    let _leave = Leave {
                        running,
                        control,
                        barrier,
                    };
                    control.tids[index].store(gettid(), Ordering::Release);
                    if EXPECT_OWN.load(Ordering::Relaxed) {
                        let owner = rseq_dsl::registration().map(|r| r.owner);
                        assert_eq!(owner, Ok(Owner::Own), "worker {index}: registration");
                    }
                    let mut ctx = Ctx {
                        index,
                        ops: 0,
                        min_ops,
                        need_aborts: stats::ENABLED && mode.disturb.forces_aborts(),
                        size,
                        disturb: mode.disturb,
                        control,
                    };
                    while ctx.next() {
                        work(state, &mut ctx);
                    }
                    ctx.ops
                })
            })
            .collect();
        let ops = workers
            .into_iter()
            .map(|w| w.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
            .sum();
        // Joined, not left to the scope: the scope returns as soon as the thread's closure
        // has, while the thread itself is still exiting (see wait_until_quiescent).
        side.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
        ops
    });
    Run {
        ops,
        aborts: control.aborts(),
    }
}

fn no_side<S>(_: &S, _: &Control) {}

// ---------------------------------------------------------------------------------------
// Scenarios
// ---------------------------------------------------------------------------------------

/// What a scenario reports when it passed.
struct Report {
    ops: u64,
    aborts: u64,
    note: String,
}

impl Report {
    fn of(run: &Run) -> Report {
        Report {
            ops: run.ops,
            aborts: run.aborts,
            note: String::new(),
        }
    }
}

type Body = Box<dyn Fn(&Size) -> Result<Report, String>>;

struct Scenario {
    name: String,
    /// Must see aborts (with the `stats` feature).
    forces_aborts: bool,
    /// Needs mm_cid from the kernel (Linux 6.3+).
    needs_mm_cid: bool,
    body: Body,
}

fn scenario(
    name: String,
    mode: Mode,
    body: impl Fn(&Size) -> Result<Report, String> + 'static,
) -> Scenario {
    Scenario {
        name,
        forces_aborts: mode.disturb.forces_aborts(),
        needs_mm_cid: mode.index == Index::MmCid,
        body: Box::new(body),
    }
}

fn increment(size: &Size, mode: Mode) -> Result<Report, String> {
    let counters = PerCpu::new();
    let run = run_workers(
        size,
        mode,
        false,
        &counters,
        |c, ctx| {
            committed(increment_section(mode.index, c), "increment");
            ctx.disturb();
        },
        no_side,
    );
    let sum = counters.sum();
    ensure(sum == run.ops, || {
        format!("sum {sum} after {} increments", run.ops)
    })?;
    Ok(Report::of(&run))
}

/// Loops in the critical section of the spinlock, between the load and the store of the
/// plain counter: a broken lock would lose updates.
const CRITICAL_LOOPS: u32 = 100;

fn spinlock(size: &Size, mode: Mode) -> Result<Report, String> {
    let locks = PerCpu::new();
    let counts = PlainPerCpu(
        (0..rseq_dsl::possible_cpus())
            .map(|_| PlainLine(UnsafeCell::new(0)))
            .collect(),
    );
    let state = (locks, counts);
    let run = run_workers(
        size,
        mode,
        false,
        &state,
        |(locks, counts), ctx| {
            let slot = loop {
                match committed_or_exited(lock_section(mode.index, locks), "lock") {
                    Some((slot, ())) => break slot,
                    // Held (its holder is preempted or on another CPU now): let it run.
                    None => std::thread::yield_now(),
                }
            };
            // The lock's commit is a plain store; order the guarded accesses after it.
            fence(Ordering::Acquire);
            let count = counts.0[slot].0.get();
            // SAFETY: this thread holds slot's lock, so nothing else touches the counter.
            unsafe {
                let v = count.read_volatile();
                spin(CRITICAL_LOOPS);
                count.write_volatile(v + 1);
            }
            ctx.disturb();
            locks.word(slot).store(0, Ordering::Release);
        },
        no_side,
    );
    let (locks, counts) = state;
    let sum: u64 = counts.0.into_iter().map(|c| c.0.into_inner()).sum();
    ensure(sum == run.ops, || {
        format!("counters sum to {sum} after {} locked increments", run.ops)
    })?;
    ensure(locks.sum() == 0, || {
        format!("locks still held: {:?}", locks.values())
    })?;
    Ok(Report::of(&run))
}

fn list(size: &Size, mode: Mode) -> Result<Report, String> {
    let slots = rseq_dsl::possible_cpus();
    let total = slots * ITEMS_PER_SLOT;
    let nodes = new_nodes(total);
    let heads = PerCpu::new();
    // ITEMS_PER_SLOT nodes on each slot's list.
    for (i, node) in nodes.iter().enumerate() {
        let head = heads.word(i % slots);
        node.next
            .store(head.load(Ordering::Relaxed) as *mut Node, Ordering::Relaxed);
        head.store(node as *const Node as u64, Ordering::Relaxed);
    }
    let run = run_workers(
        size,
        mode,
        false,
        &heads,
        |heads, ctx| {
            let popped = committed_or_exited(list_pop_section(mode.index, heads), "list pop");
            ctx.disturb();
            if let Some((_, node)) = popped {
                committed(
                    list_push_section(mode.index, mode.commit, heads, node),
                    "list push",
                );
            }
        },
        no_side,
    );
    let mut found = Vec::new();
    for slot in 0..slots {
        let mut node = heads.word(slot).load(Ordering::SeqCst) as *const Node;
        while !node.is_null() && found.len() <= total {
            // SAFETY: every list holds nodes of `nodes`, alive until the end of this fn.
            let n = unsafe { &*node };
            found.push(n.value);
            node = n.next.load(Ordering::SeqCst);
        }
    }
    check_each_once(found, total).map_err(|e| format!("lists: {e}"))?;
    Ok(Report::of(&run))
}

fn buffer(size: &Size, mode: Mode) -> Result<Report, String> {
    let slots = rseq_dsl::possible_cpus();
    let total = slots * ITEMS_PER_SLOT;
    let nodes = new_nodes(total);
    // Any slot can come to hold every item: push never finds a buffer full.
    let buf = PtrBuffer {
        lens: PerCpu::new(),
        slots: (0..slots * total)
            .map(|_| AtomicPtr::new(std::ptr::null_mut()))
            .collect(),
        cap: total,
    };
    let base = nodes_base(&nodes);
    for i in 0..total {
        let slot = i % slots;
        let len = buf.lens.word(slot).fetch_add(1, Ordering::Relaxed) as usize;
        // SAFETY: i < total = nodes.len().
        buf.slots[slot * total + len].store(unsafe { base.add(i) }, Ordering::Relaxed);
    }
    let run = run_workers(
        size,
        mode,
        false,
        &buf,
        |buf, ctx| {
            let popped = committed_or_exited(buffer_pop_section(mode.index, buf), "buffer pop");
            ctx.disturb();
            if let Some((_, item)) = popped {
                committed(
                    buffer_push_section(mode.index, mode.commit, buf, item),
                    "buffer push",
                );
            }
        },
        no_side,
    );
    let mut found = Vec::new();
    for slot in 0..slots {
        let len = buf.lens.word(slot).load(Ordering::SeqCst) as usize;
        ensure(len <= total, || {
            format!("slot {slot}: length {len} > capacity {total}")
        })?;
        for item in &buf.slots[slot * total..][..len] {
            let item = item.load(Ordering::SeqCst);
            let offset = (item as usize).wrapping_sub(base as usize) / std::mem::size_of::<Node>();
            ensure(offset < total, || {
                format!("slot {slot}: {item:?} is not an item")
            })?;
            found.push(nodes[offset].value);
        }
    }
    check_each_once(found, total).map_err(|e| format!("buffers: {e}"))?;
    Ok(Report::of(&run))
}

fn records(size: &Size, mode: Mode) -> Result<Report, String> {
    let slots = rseq_dsl::possible_cpus();
    let total = slots * ITEMS_PER_SLOT;
    let buf = RecordBuffer {
        lens: PerCpu::new(),
        words: (0..slots * total * 2).map(|_| AtomicU64::new(0)).collect(),
        cap: total,
    };
    for i in 0..total {
        let slot = i % slots;
        let len = buf.lens.word(slot).fetch_add(1, Ordering::Relaxed) as usize;
        let value = i as u64 + 1;
        let at = (slot * total + len) * 2;
        buf.words[at].store(value, Ordering::Relaxed);
        buf.words[at + 1].store(value ^ MAGIC, Ordering::Relaxed);
    }
    let run = run_workers(
        size,
        mode,
        false,
        &buf,
        |buf, ctx| {
            let mut record = [0u64; 2];
            let popped = committed_or_exited(
                record_pop_section(mode.index, buf, &mut record),
                "record pop",
            );
            ctx.disturb();
            if popped.is_some() {
                assert_eq!(
                    record[0] ^ MAGIC,
                    record[1],
                    "record copied out torn: {record:x?}"
                );
                committed(
                    record_push_section(mode.index, mode.commit, buf, &record),
                    "record push",
                );
            }
        },
        no_side,
    );
    let mut found = Vec::new();
    for slot in 0..slots {
        let len = buf.lens.word(slot).load(Ordering::SeqCst) as usize;
        ensure(len <= total, || {
            format!("slot {slot}: length {len} > capacity {total}")
        })?;
        for r in 0..len {
            let at = (slot * total + r) * 2;
            let (value, check) = (
                buf.words[at].load(Ordering::SeqCst),
                buf.words[at + 1].load(Ordering::SeqCst),
            );
            ensure(value ^ MAGIC == check, || {
                format!("slot {slot}: record {r} torn: {value:#x} {check:#x}")
            })?;
            found.push(value);
        }
    }
    check_each_once(found, total).map_err(|e| format!("records: {e}"))?;
    Ok(Report::of(&run))
}

/// How the membarrier manager fences after swapping the active list.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FenceKind {
    All,
    EachCpu,
}

fn membarrier(size: &Size, mode: Mode, kind: FenceKind) -> Result<Report, String> {
    let lists = [PerCpu::new(), PerCpu::new()];
    let active = AtomicPtr::new(lists[0].base());
    let violations = AtomicU64::new(0);
    let swaps = AtomicU64::new(0);
    let first_violation = Mutex::new(String::new());
    let state = (&lists, &active);
    let run = run_workers(
        size,
        mode,
        true,
        &state,
        |(_, active), ctx| {
            committed(membarrier_add_section(mode.index, active), "membarrier add");
            ctx.disturb();
        },
        |(lists, active), control| {
            let mut current = 0;
            while !control.workers_done.load(Ordering::Acquire) {
                let inactive = current;
                current = 1 - current;
                active.store(lists[current].base(), Ordering::SeqCst);
                let fenced = match kind {
                    FenceKind::All => rseq_dsl::fence_all(),
                    FenceKind::EachCpu => {
                        (0..rseq_dsl::possible_cpus()).try_for_each(rseq_dsl::fence_cpu)
                    }
                };
                fenced.expect("membarrier fence");
                // From here on, no section may still add to the inactive list.
                let before = lists[inactive].values();
                let until = Instant::now() + Duration::from_micros(200);
                while Instant::now() < until {
                    std::thread::yield_now();
                }
                let after = lists[inactive].values();
                if before != after {
                    violations.fetch_add(1, Ordering::Relaxed);
                    let mut first = first_violation.lock().unwrap();
                    if first.is_empty() {
                        *first = format!(
                            "inactive list changed after the fence: {before:?} -> {after:?}"
                        );
                    }
                }
                if swaps.fetch_add(1, Ordering::Relaxed) + 1 >= size.swaps {
                    control.hold.store(false, Ordering::Release);
                }
            }
        },
    );
    let violations = violations.into_inner();
    ensure(violations == 0, || {
        format!(
            "{violations} violations; first: {}",
            first_violation.lock().unwrap()
        )
    })?;
    let sum = lists[0].sum() + lists[1].sum();
    ensure(sum == run.ops, || {
        format!("lists sum to {sum} after {} adds", run.ops)
    })?;
    let swaps = swaps.into_inner();
    ensure(swaps > 0, || "the manager never swapped".into())?;
    Ok(Report {
        note: format!("{swaps} swaps"),
        ..Report::of(&run)
    })
}

/// The data structures, each with the modes that apply to it.
fn matrix() -> Vec<Scenario> {
    type Ds = fn(&Size, Mode) -> Result<Report, String>;
    // (name, function, whether its sections store before the commit)
    let structures: [(&str, Ds, bool); 5] = [
        ("increment", increment, false),
        ("spinlock", spinlock, false),
        ("list", list, true),
        ("buffer", buffer, true),
        ("records", records, true),
    ];
    let mut all = Vec::new();
    for (name, run, has_stores) in structures {
        for index in Index::ALL {
            let commits: &[Commit] = if has_stores {
                &Commit::ALL
            } else {
                &[Commit::Relaxed]
            };
            for &commit in commits {
                for disturb in Disturb::all(has_stores) {
                    let mode = Mode {
                        index,
                        commit,
                        disturb,
                    };
                    let label = if has_stores {
                        format!(
                            "{name} {} {} {}",
                            index.name(),
                            commit.name(),
                            disturb.name()
                        )
                    } else {
                        format!("{name} {} {}", index.name(), disturb.name())
                    };
                    all.push(scenario(label, mode, move |size| run(size, mode)));
                }
            }
        }
    }
    for index in Index::ALL {
        for kind in [FenceKind::All, FenceKind::EachCpu] {
            for disturb in Disturb::all(false) {
                let mode = Mode {
                    index,
                    commit: Commit::Relaxed,
                    disturb,
                };
                let fence = match kind {
                    FenceKind::All => "fence_all",
                    FenceKind::EachCpu => "fence_cpu",
                };
                let label = format!("membarrier {} {fence} {}", index.name(), disturb.name());
                all.push(scenario(label, mode, move |size| {
                    membarrier(size, mode, kind)
                }));
            }
        }
    }
    // librseq's "percpu ops" tests: 200 threads on the spinlock, and on the list with a
    // yield between pop and push.
    let crowd = |size: &Size| Size {
        threads: CROWD,
        reps: size.crowd_reps,
        ..*size
    };
    let mode = |disturb| Mode {
        index: Index::CpuId,
        commit: Commit::Relaxed,
        disturb,
    };
    let (lock_mode, list_mode) = (mode(Disturb::Plain), mode(Disturb::Yield(1)));
    all.push(scenario(
        format!("spinlock cpu_id {CROWD} threads"),
        lock_mode,
        move |size| spinlock(&crowd(size), lock_mode),
    ));
    all.push(scenario(
        format!("list cpu_id {CROWD} threads yield/1"),
        list_mode,
        move |size| list(&crowd(size), list_mode),
    ));
    all
}

/// Threads of librseq's percpu-ops tests.
const CROWD: usize = 200;

// ---------------------------------------------------------------------------------------
// Control: the same increment without rseq must lose updates
// ---------------------------------------------------------------------------------------

/// Loops between the load and the store of the control (as the reference's control).
const CONTROL_LOOPS: u32 = 200;

fn control(size: &Size) -> Result<Report, String> {
    // At least the quick size's work, whatever the size: with too few operations (the tiny
    // size, or an idle emulated CPU) a race may simply not happen, and the control would
    // say nothing about the checks.
    let quick = Size::quick(size.threads);
    let size = if size.reps < quick.reps { &quick } else { size };
    let counters = PerCpu::new();
    let mode = Mode {
        index: Index::CpuId,
        commit: Commit::Relaxed,
        disturb: Disturb::Plain,
    };
    let run = run_workers(
        size,
        mode,
        false,
        &counters,
        |c, _| {
            let slot = c.word(rseq_dsl::current_cpu());
            let v = slot.load(Ordering::Relaxed);
            spin(CONTROL_LOOPS);
            slot.store(v + 1, Ordering::Relaxed);
        },
        no_side,
    );
    let lost = run.ops - counters.sum();
    ensure(lost > 0, || {
        format!(
            "control lost no updates in {} operations: the checks cannot detect a race",
            run.ops
        )
    })?;
    Ok(Report {
        note: format!("control: lost {lost} updates (expected)"),
        ..Report::of(&run)
    })
}

// ---------------------------------------------------------------------------------------
// Process-level cases
// ---------------------------------------------------------------------------------------

/// Increments per thread of the churn scenario.
const CHURN_OPS: u64 = 5;
/// Churn threads alive at once.
const CHURN_BATCH: usize = 64;

/// 10,000 threads created and exiting while the workers run increments.
fn thread_churn(size: &Size, index: Index) -> Result<Report, String> {
    // One worker per CPU: with 6 per CPU the spawner gets 1/13 of a CPU and the churn
    // takes 10 s and more.
    let size = &Size {
        threads: (size.threads / 6).max(1),
        ..*size
    };
    let counters = PerCpu::new();
    let mode = Mode {
        index,
        commit: Commit::Relaxed,
        disturb: Disturb::Plain,
    };
    let churned = AtomicU64::new(0);
    let run = run_workers(
        size,
        mode,
        true,
        &counters,
        |c, ctx| {
            committed(increment_section(index, c), "increment");
            ctx.disturb();
        },
        |c, control| {
            let mut left = size.churn_threads;
            while left > 0 {
                let batch = left.min(CHURN_BATCH);
                std::thread::scope(|scope| {
                    for _ in 0..batch {
                        scope.spawn(|| {
                            for _ in 0..CHURN_OPS {
                                committed(increment_section(index, c), "churn increment");
                            }
                        });
                    }
                });
                left -= batch;
                churned.fetch_add(batch as u64, Ordering::Relaxed);
            }
            control.hold.store(false, Ordering::Release);
        },
    );
    let churned = churned.into_inner();
    let expected = run.ops + churned * CHURN_OPS;
    let sum = counters.sum();
    ensure(sum == expected, || {
        format!("sum {sum}, expected {expected}")
    })?;
    Ok(Report {
        ops: expected,
        aborts: run.aborts,
        note: format!("{churned} threads came and went"),
    })
}

/// Exit statuses of a forked child.
const FORK_OK: i32 = 0;
const FORK_UNAVAILABLE: i32 = 3;
const FORK_WRONG_SUM: i32 = 4;
const FORK_SPAWN_FAILED: i32 = 5;
const FORK_PANIC: i32 = 6;
const FORK_OWNER_CHANGED: i32 = 7;
/// Increments each thread of a forked child does.
const FORK_CHILD_OPS: u64 = 20_000;

/// In the forked child: the forking thread keeps its registration, new threads register,
/// and increments stay exact. Never returns; reports through the exit status only (the
/// parent's other threads may have held locks, stdout's among them, at the fork).
fn after_fork(counters: &PerCpu, index: Index, owner: Owner) -> ! {
    let status = catch_unwind(AssertUnwindSafe(|| {
        if rseq_dsl::registration().map(|r| r.owner) != Ok(owner) {
            return FORK_OWNER_CHANGED;
        }
        let before = counters.sum();
        let work = || {
            for _ in 0..FORK_CHILD_OPS {
                if !matches!(
                    increment_section(index, counters),
                    Ok(Outcome::Committed { .. })
                ) {
                    return false;
                }
            }
            true
        };
        if !work() {
            return FORK_UNAVAILABLE;
        }
        let threads = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..2)
                .map(|_| std::thread::Builder::new().spawn_scoped(scope, work))
                .collect();
            handles
                .into_iter()
                .map(|h| h.map(|h| h.join()))
                .collect::<Vec<_>>()
        });
        let mut done = 1;
        for t in threads {
            match t {
                Ok(Ok(true)) => done += 1,
                Ok(Ok(false)) => return FORK_UNAVAILABLE,
                _ => return FORK_SPAWN_FAILED,
            }
        }
        if counters.sum() != before + done * FORK_CHILD_OPS {
            return FORK_WRONG_SUM;
        }
        FORK_OK
    }))
    .unwrap_or(FORK_PANIC);
    // SAFETY: _exit ends the child without running the parent's destructors or atexit
    // handlers a second time.
    unsafe { libc::_exit(status) }
}

/// Waits until no thread of this process is starting or exiting: each worker has
/// published its id (it runs its loop) and the process has `threads` threads, no more.
///
/// Rust's standard library records each thread in a process-wide map (for its stack
/// overflow handler) under a lock it takes at thread start and at thread exit
/// (`std::sys::pal::unix::stack_overflow::thread_info`), with no fork handler. A fork
/// while another thread holds that lock leaves it held for ever in the child, and every
/// thread the child spawns blocks at its start. The previous scenario's side thread,
/// still exiting when this one forks, was the holder in the hangs this gate removes
/// (issue 10).
fn wait_until_quiescent(control: &Control, threads: usize) -> Result<(), String> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let started = control
            .tids
            .iter()
            .all(|tid| tid.load(Ordering::Acquire) != 0);
        let tasks = std::fs::read_dir("/proc/self/task")
            .map_err(|e| format!("/proc/self/task: {e}"))?
            .count();
        if started && tasks == threads {
            return Ok(());
        }
        if Instant::now() > deadline {
            return Err(format!(
                "after 30 s, {tasks} threads (expected {threads}), workers all started: {started}"
            ));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

/// Forks in the middle of a run; each child keeps working on its copy and must be exact.
fn fork_mid_run(size: &Size, index: Index) -> Result<Report, String> {
    let counters = PerCpu::new();
    let mode = Mode {
        index,
        commit: Commit::Relaxed,
        disturb: Disturb::Plain,
    };
    let side_ops = AtomicU64::new(0);
    let statuses = Mutex::new(Vec::new());
    let run = run_workers(
        size,
        mode,
        true,
        &counters,
        |c, ctx| {
            committed(increment_section(index, c), "increment");
            ctx.disturb();
        },
        |c, control| {
            // The forking thread works too, so that it is registered when it forks.
            let mut ops = 0;
            for _ in 0..size.forks {
                // Let the workers get going: the fork comes in the middle of their run.
                std::thread::sleep(Duration::from_millis(10));
                for _ in 0..1000 {
                    committed(increment_section(index, c), "forker increment");
                    ops += 1;
                }
                let owner = rseq_dsl::registration().expect("forker registration").owner;
                // The child spawns threads: fork only where no thread holds std's lock.
                if let Err(e) = wait_until_quiescent(control, size.threads + 2) {
                    panic!("no quiet moment to fork in: {e}");
                }
                // SAFETY: the child runs only after_fork, which uses no lock another thread
                // of this process could have held (no printing; the thread spawns are safe
                // after wait_until_quiescent) and leaves with _exit.
                let pid = unsafe { libc::fork() };
                if pid == 0 {
                    after_fork(c, index, owner);
                }
                assert!(pid > 0, "fork: {}", std::io::Error::last_os_error());
                let mut status = 0;
                // SAFETY: waits for the child just forked, with a valid status pointer.
                let rc = unsafe { libc::waitpid(pid, &mut status, 0) };
                assert_eq!(rc, pid, "waitpid: {}", std::io::Error::last_os_error());
                statuses.lock().unwrap().push(status);
            }
            side_ops.store(ops, Ordering::Relaxed);
            control.hold.store(false, Ordering::Release);
        },
    );
    let statuses = statuses.into_inner().unwrap();
    for &status in &statuses {
        let ok = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == FORK_OK;
        ensure(ok, || {
            if libc::WIFEXITED(status) {
                format!(
                    "forked child exited with {} (see FORK_* codes)",
                    libc::WEXITSTATUS(status)
                )
            } else {
                format!("forked child died with signal {}", libc::WTERMSIG(status))
            }
        })?;
    }
    let expected = run.ops + side_ops.into_inner();
    let sum = counters.sum();
    ensure(sum == expected, || {
        format!("parent: sum {sum}, expected {expected}")
    })?;
    Ok(Report {
        ops: expected,
        aborts: run.aborts,
        note: format!("{} children exact", statuses.len()),
    })
}

const CHILD_ARG: &str = "--child=";
const TOTALS: &str = "totals: ";

/// Runs this binary again with `role` and `size`; `prepare` adjusts the command.
fn rerun_self(
    role: &str,
    size: &Size,
    prepare: impl FnOnce(&mut Command),
) -> Result<(String, bool), String> {
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let mut cmd = Command::new(exe);
    cmd.arg(format!("{CHILD_ARG}{role}"))
        .arg(format!("--{}", size.name));
    prepare(&mut cmd);
    let out = cmd
        .output()
        .map_err(|e| format!("spawning the child: {e}"))?;
    let mut text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&out.stderr));
    Ok((text, out.status.success()))
}

fn print_child(text: &str) {
    for line in text.lines() {
        println!("    | {line}");
    }
}

/// The suite again, in a child whose glibc does not register rseq: the crate's own
/// registration serves every thread.
fn glibc_off(size: &Size) -> Result<Report, String> {
    // Always the quick size: the full size in the child would double a long run.
    let quick = Size::quick(size.threads);
    let (text, success) = rerun_self("glibc-off", &quick, |cmd| {
        cmd.env("GLIBC_TUNABLES", "glibc.pthread.rseq=0");
    })?;
    print_child(&text);
    ensure(success, || "the child failed (output above)".into())?;
    let totals = text
        .lines()
        .find_map(|l| l.strip_prefix(TOTALS))
        .ok_or("the child printed no totals")?;
    let mut numbers = totals.split(' ').filter_map(|w| w.parse::<u64>().ok());
    Ok(Report {
        ops: numbers.next().unwrap_or(0),
        aborts: numbers.next().unwrap_or(0),
        note: "own registration".into(),
    })
}

/// A child whose `rseq` system call fails with ENOSYS from exec on (glibc too starts
/// without rseq): every section must return Unavailable and leave memory untouched.
fn seccomp(size: &Size) -> Result<Report, String> {
    let (text, success) = rerun_self("seccomp", size, |cmd| {
        seccomp::refuse_rseq_with_enosys(cmd, rseq_dsl::abi::SYS_RSEQ)
    })?;
    print_child(&text);
    ensure(success, || "the child failed (output above)".into())?;
    let refused = text
        .lines()
        .find_map(|l| l.strip_prefix("refused: "))
        .and_then(|n| n.split(' ').next()?.parse().ok())
        .ok_or("the child did not report its checks")?;
    ensure(rseq_dsl::is_available(), || {
        "the filter leaked into the parent".into()
    })?;
    Ok(Report {
        ops: refused,
        aborts: 0,
        note: "sections refused, state intact".into(),
    })
}

/// In the seccomp child, on one thread: every section is refused, nothing is half-done.
fn refused_everywhere(who: &str) -> Result<u64, String> {
    let not_implemented = |what: &str, e: Option<Unavailable>| -> Result<(), String> {
        match e {
            Some(e) if e.reason() == Reason::NotImplemented => Ok(()),
            Some(e) => Err(format!("{who}: {what}: {e}, expected ENOSYS")),
            None => Err(format!("{who}: {what}: ran, though rseq returns ENOSYS")),
        }
    };
    not_implemented("registration()", rseq_dsl::registration().err())?;
    ensure(!rseq_dsl::is_available(), || {
        format!("{who}: is_available()")
    })?;
    ensure(rseq_dsl::mm_cid().is_none(), || {
        format!("{who}: mm_cid() is Some")
    })?;
    ensure(rseq_dsl::current_cpu() < rseq_dsl::possible_cpus(), || {
        format!("{who}: current_cpu()")
    })?;
    let mut refused = 0;
    for index in Index::ALL {
        for commit in Commit::ALL {
            let counters = PerCpu::new();
            not_implemented("increment", increment_section(index, &counters).err())?;
            not_implemented("lock", lock_section(index, &counters).err())?;
            ensure(counters.sum() == 0, || {
                format!("{who}: {:?} changed", counters.values())
            })?;

            let nodes = new_nodes(2);
            let heads = PerCpu::new();
            let first = nodes_base(&nodes);
            heads.word(0).store(first as u64, Ordering::Relaxed);
            not_implemented("list pop", list_pop_section(index, &heads).err())?;
            // SAFETY: nodes has 2 elements.
            let second = unsafe { first.add(1) };
            not_implemented(
                "list push",
                list_push_section(index, commit, &heads, second).err(),
            )?;
            ensure(
                heads.word(0).load(Ordering::Relaxed) == first as u64,
                || format!("{who}: list head moved"),
            )?;
            ensure(
                nodes
                    .iter()
                    .all(|n| n.next.load(Ordering::Relaxed).is_null()),
                || format!("{who}: a node's next was written"),
            )?;

            let buf = PtrBuffer {
                lens: PerCpu::new(),
                slots: (0..rseq_dsl::possible_cpus() * 2)
                    .map(|_| AtomicPtr::new(std::ptr::null_mut()))
                    .collect(),
                cap: 2,
            };
            not_implemented(
                "buffer push",
                buffer_push_section(index, commit, &buf, first).err(),
            )?;
            not_implemented("buffer pop", buffer_pop_section(index, &buf).err())?;
            ensure(buf.lens.sum() == 0, || {
                format!("{who}: buffer length changed")
            })?;
            ensure(
                buf.slots
                    .iter()
                    .all(|s| s.load(Ordering::Relaxed).is_null()),
                || format!("{who}: a buffer slot was written"),
            )?;

            let recs = RecordBuffer {
                lens: PerCpu::new(),
                words: (0..rseq_dsl::possible_cpus() * 4)
                    .map(|_| AtomicU64::new(7))
                    .collect(),
                cap: 2,
            };
            recs.lens.word(0).store(1, Ordering::Relaxed);
            let mut out = [1u64, 2];
            not_implemented(
                "record push",
                record_push_section(index, commit, &recs, &[5, 6]).err(),
            )?;
            not_implemented(
                "record pop",
                record_pop_section(index, &recs, &mut out).err(),
            )?;
            ensure(out == [1, 2], || {
                format!("{who}: the record copy-out wrote {out:?}")
            })?;
            ensure(
                recs.words.iter().all(|w| w.load(Ordering::Relaxed) == 7),
                || format!("{who}: a record slot was written"),
            )?;
            ensure(recs.lens.values()[0] == 1, || {
                format!("{who}: a record length changed")
            })?;

            let lists = [PerCpu::new(), PerCpu::new()];
            let active = AtomicPtr::new(lists[0].base());
            not_implemented(
                "membarrier add",
                membarrier_add_section(index, &active).err(),
            )?;
            ensure(lists[0].sum() + lists[1].sum() == 0, || {
                format!("{who}: a list changed")
            })?;
            refused += 10;
        }
    }
    // The fence may or may not work without rseq; it must answer without crashing.
    let _ = rseq_dsl::fence_all();
    Ok(refused)
}

fn seccomp_child() -> ExitCode {
    let main = refused_everywhere("main thread");
    let spawned = std::thread::spawn(|| refused_everywhere("spawned thread"))
        .join()
        .unwrap_or_else(|_| Err("spawned thread panicked".into()));
    match (main, spawned) {
        (Ok(a), Ok(b)) => {
            println!("refused: {} sections on 2 threads, all returned Unavailable(ENOSYS), memory untouched", a + b);
            ExitCode::SUCCESS
        }
        (Err(e), _) | (_, Err(e)) => {
            println!("FAILED: {e}");
            ExitCode::FAILURE
        }
    }
}

// ---------------------------------------------------------------------------------------
// The runner
// ---------------------------------------------------------------------------------------

fn process_level() -> Vec<Scenario> {
    let plain = |index| Mode {
        index,
        commit: Commit::Relaxed,
        disturb: Disturb::Plain,
    };
    let mut all = Vec::new();
    for index in Index::ALL {
        all.push(scenario(
            format!("fork {}", index.name()),
            plain(index),
            move |size| fork_mid_run(size, index),
        ));
        all.push(scenario(
            format!("thread churn {}", index.name()),
            plain(index),
            move |size| thread_churn(size, index),
        ));
    }
    all
}

fn children() -> Vec<Scenario> {
    let plain = Mode {
        index: Index::CpuId,
        commit: Commit::Relaxed,
        disturb: Disturb::Plain,
    };
    vec![
        scenario("seccomp: rseq fails with ENOSYS".into(), plain, seccomp),
        scenario(
            "glibc.pthread.rseq=0: the suite in a child".into(),
            plain,
            glibc_off,
        ),
    ]
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let full = args.iter().any(|a| a == "--full")
        || (std::env::var("RSEQ_ACCEPTANCE").as_deref() == Ok("full")
            && !args.iter().any(|a| a == "--quick"));
    let tiny = args.iter().any(|a| a == "--tiny");
    let role = args
        .iter()
        .find_map(|a| a.strip_prefix(CHILD_ARG))
        .map(str::to_owned);
    // Words select scenarios by substring, `!word` leaves them out; flags that cargo or
    // libtest users pass are ignored.
    let (excluded, filters): (Vec<&str>, Vec<&str>) = args
        .iter()
        .filter(|a| !a.starts_with('-'))
        .map(String::as_str)
        .partition(|a| a.starts_with('!'));
    let excluded: Vec<&str> = excluded.iter().map(|a| &a[1..]).collect();
    let nproc = std::thread::available_parallelism().map_or(1, |n| n.get());
    let size = if full {
        Size::full(6 * nproc)
    } else if tiny {
        Size::tiny(6 * nproc)
    } else {
        Size::quick(6 * nproc)
    };
    install_handler();

    match role.as_deref() {
        Some("seccomp") => return seccomp_child(),
        Some("glibc-off") => {
            EXPECT_OWN.store(true, Ordering::Relaxed);
            let owner = rseq_dsl::registration().map(|r| r.owner);
            if owner != Ok(Owner::Own) {
                println!("FAILED: main thread registration is {owner:?}, expected Own");
                return ExitCode::FAILURE;
            }
        }
        Some(other) => {
            println!("unknown child role {other}");
            return ExitCode::FAILURE;
        }
        None => {}
    }

    let mut scenarios = matrix();
    scenarios.extend(process_level());
    let control_name = "control: increment without rseq";
    scenarios.push(Scenario {
        name: control_name.into(),
        forces_aborts: false,
        needs_mm_cid: false,
        body: Box::new(control),
    });
    if role.is_none() {
        scenarios.extend(children());
    }
    // A word joined with `+` (`signal/1+list`) selects the scenarios that contain every part.
    scenarios.retain(|s| {
        (filters.is_empty()
            || filters
                .iter()
                .any(|f| f.split('+').all(|part| s.name.contains(part))))
            && !excluded.iter().any(|x| s.name.contains(x))
    });

    let has_mm_cid = rseq_dsl::mm_cid().is_some();
    println!(
        "rseq acceptance ({} size): {} scenarios, {} workers, stats {}, registration {:?}",
        size.name,
        scenarios.len(),
        size.threads,
        if stats::ENABLED { "on" } else { "off" },
        rseq_dsl::registration().map(|r| r.owner),
    );
    let started = Instant::now();
    let (mut passed, mut failed, mut skipped) = (0, 0, 0);
    let (mut total_ops, mut total_aborts) = (0u64, 0u64);
    let width = scenarios.iter().map(|s| s.name.len()).max().unwrap_or(0);
    for s in &scenarios {
        if s.needs_mm_cid && !has_mm_cid {
            println!(
                "skip {:width$}  (the kernel does not maintain mm_cid)",
                s.name
            );
            skipped += 1;
            continue;
        }
        let t = Instant::now();
        let result = catch_unwind(AssertUnwindSafe(|| (s.body)(&size)))
            .unwrap_or_else(|panic| {
                let message = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "panicked".into());
                Err(message)
            })
            .and_then(|r| {
                if s.forces_aborts && stats::ENABLED && r.aborts == 0 {
                    Err(format!(
                        "no abort in {} operations: the restart path went untested",
                        r.ops
                    ))
                } else {
                    Ok(r)
                }
            });
        let elapsed = t.elapsed().as_secs_f64();
        match result {
            Ok(r) => {
                passed += 1;
                total_ops += r.ops;
                total_aborts += r.aborts;
                println!(
                    "ok   {:width$}  ops {:>9}  aborts {:>7}  {elapsed:6.2}s  {}",
                    s.name, r.ops, r.aborts, r.note
                );
            }
            Err(e) => {
                failed += 1;
                println!("FAIL {:width$}  {elapsed:6.2}s  {e}", s.name);
            }
        }
        let _ = std::io::stdout().flush();
    }
    println!(
        "{TOTALS}{total_ops} ops, {total_aborts} aborts, {:.1}s",
        started.elapsed().as_secs_f64()
    );
    if skipped > 0 {
        println!("{skipped} skipped");
    }
    println!("{passed} passed, {failed} failed");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
