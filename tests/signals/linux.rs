//! Sections and counter adds inside signal handlers, including each thread's very first use
//! of rseq: a profiler counting from SIGPROF does exactly that.
//!
//! A storm of SIGUSR2 from another thread, paced so that few are coalesced, hits worker
//! threads whose handlers run a raw `rseq!` section (a separate load and store: a lost
//! update would show) and `PerCpuCounter::add`. No worker touches rseq before its first
//! handler has run, so registration happens inside a handler. After the first handler the
//! workers run the same operations outside handlers too, which the handlers interrupt: that
//! is where the aborts come from. One worker retires itself with `prepare_unload` first, so
//! its handlers take the fallback paths.
//!
//! Checked: exact totals, aborts > 0 (the `stats` feature), every handler's registration
//! on the rseq path with the expected owner, and no allocation inside any handler (this
//! binary interposes `malloc`, `calloc` and `realloc` and counts calls made while a handler
//! runs on the calling thread). Before the runtime's constructor and pthread-key
//! destructor, the own-area run allocated in the handler that registered a thread (Rust's
//! thread-local destructor registration) and the process-wide values were computed there
//! too. Each registration mode runs in a child process of its own: glibc's areas, then
//! `GLIBC_TUNABLES=glibc.pthread.rseq=0` (the runtime's own areas).

use std::cell::Cell;
use std::process::{Command, ExitCode};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use rseq_dsl::{rseq, Owner, Path, PerCpu, PerCpuCounter};

const WORKERS: usize = 4;
/// The worker that calls `prepare_unload` first: its handlers take the fallback paths.
const RETIRED: usize = WORKERS - 1;
/// How long the workers run after each has handled its first signal.
const RUN_FOR: Duration = Duration::from_millis(400);
/// Pacing of the storm: closer signals are mostly coalesced.
const PACE: Duration = Duration::from_micros(20);
/// How much longer than `RUN_FOR` the storm may go on while no section has aborted yet.
const ABORT_WAIT: Duration = Duration::from_secs(20);
const CHILD_ENV: &str = "RSEQ_DSL_SIGNALS_CHILD";

// ---- allocation detector -----------------------------------------------------------------

#[cfg(target_env = "gnu")]
mod alloc_detector {
    use super::*;
    use std::ffi::c_void;

    extern "C" {
        fn __libc_malloc(size: usize) -> *mut c_void;
        fn __libc_calloc(n: usize, size: usize) -> *mut c_void;
        fn __libc_realloc(p: *mut c_void, size: usize) -> *mut c_void;
    }

    fn note() {
        if IN_HANDLER.with(Cell::get) {
            HANDLER_ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
    }

    // These replace glibc's for the whole process, glibc's own internal calls included
    // (glibc supports replacing its allocator); each counts and forwards to glibc's.
    /// # Safety
    /// As `malloc(3)`.
    #[no_mangle]
    pub unsafe extern "C" fn malloc(size: usize) -> *mut c_void {
        note();
        // SAFETY: glibc's allocator, same contract.
        unsafe { __libc_malloc(size) }
    }

    /// # Safety
    /// As `calloc(3)`.
    #[no_mangle]
    pub unsafe extern "C" fn calloc(n: usize, size: usize) -> *mut c_void {
        note();
        // SAFETY: as above.
        unsafe { __libc_calloc(n, size) }
    }

    /// # Safety
    /// As `realloc(3)`.
    #[no_mangle]
    pub unsafe extern "C" fn realloc(p: *mut c_void, size: usize) -> *mut c_void {
        note();
        // SAFETY: as above.
        unsafe { __libc_realloc(p, size) }
    }
}

thread_local! {
    // Const and without destructor: readable from the allocator and from handlers.
    static IN_HANDLER: Cell<bool> = const { Cell::new(false) };
    static HANDLED: Cell<u64> = const { Cell::new(0) };
    static FIRST_USE: Cell<Option<Result<(Owner, Path), ()>>> = const { Cell::new(None) };
}

static HANDLER_ALLOCS: AtomicU64 = AtomicU64::new(0);

// ---- what the handlers and the workers update ----------------------------------------------

/// Set before any signal is sent; read by handlers (a static: handlers take no arguments).
static mut TARGETS: Option<&'static Targets> = None;

struct Targets {
    counter: PerCpuCounter,
    /// Per CPU: word 0 for the raw section, word 1 for its fallback (atomics).
    raw: PerCpu<[AtomicU64; 2]>,
}

/// Operations done, by anybody (handlers included): the totals must equal this.
static DONE: AtomicU64 = AtomicU64::new(0);
static HANDLER_RUNS: AtomicU64 = AtomicU64::new(0);
static FIRST_USE_WRONG: AtomicU64 = AtomicU64::new(0);

fn targets() -> &'static Targets {
    // SAFETY: written once before the first signal and before the workers start.
    unsafe { (*core::ptr::addr_of!(TARGETS)).expect("targets") }
}

/// One raw section and one counter add: async-signal-safe on every path.
fn operate(t: &Targets) {
    let raw = &t.raw;
    // SAFETY: word 0 of the running CPU's slot is written only by this section; the load
    // and the store are separate instructions, so only the restart keeps them together.
    let out = unsafe {
        rseq!(|cpu| {
            in slot: *mut u64 = raw.get_raw(cpu) as *mut u64;
            let v: u64 = *slot;
            let w: u64 = v + 1;
            commit *slot = w;
        })
    };
    if out.is_err() {
        raw.current()[1].fetch_add(1, Ordering::Relaxed);
    }
    t.counter.add(1);
    DONE.fetch_add(1, Ordering::Relaxed);
}

extern "C" fn on_signal(_: libc::c_int) {
    // SAFETY: errno is thread-local; saved and restored so the interrupted code keeps it.
    let errno = unsafe { *libc::__errno_location() };
    IN_HANDLER.with(|h| h.set(true));
    if FIRST_USE.with(Cell::get).is_none() {
        // The thread's first use of rseq, inside this handler.
        let seen = rseq_dsl::registration()
            .map(|r| (r.owner, Path::current()))
            .map_err(|_| ());
        FIRST_USE.with(|f| f.set(Some(seen)));
    }
    operate(targets());
    HANDLED.with(|h| h.set(h.get() + 1));
    HANDLER_RUNS.fetch_add(1, Ordering::Relaxed);
    IN_HANDLER.with(|h| h.set(false));
    // SAFETY: as above.
    unsafe { *libc::__errno_location() = errno };
}

fn install_handler() {
    // SAFETY: a plain handler for SIGUSR2, SA_RESTART so the workers' system calls resume.
    unsafe {
        let mut action: libc::sigaction = std::mem::zeroed();
        action.sa_sigaction = on_signal as extern "C" fn(libc::c_int) as usize;
        action.sa_flags = libc::SA_RESTART;
        libc::sigemptyset(&mut action.sa_mask);
        assert_eq!(
            libc::sigaction(libc::SIGUSR2, &action, std::ptr::null_mut()),
            0
        );
    }
}

// ---- the child: one registration mode ------------------------------------------------------

fn child(expected: Owner) -> ExitCode {
    // Before anything here uses rseq: the runtime's constructor computed the process-wide
    // values, so no handler below computes one.
    let before_main = rseq_dsl::__private::initialized_before_main();
    let t: &'static Targets = Box::leak(Box::new(Targets {
        counter: PerCpuCounter::new(),
        raw: PerCpu::new(|_| [AtomicU64::new(0), AtomicU64::new(0)]),
    }));
    // SAFETY: no signal is sent and no worker runs yet.
    unsafe { TARGETS = Some(t) };
    install_handler();

    let tids: Vec<AtomicI32> = (0..WORKERS).map(|_| AtomicI32::new(0)).collect();
    let first_handled = AtomicUsize::new(0);
    let stop = AtomicBool::new(false);
    let started = Instant::now();
    let (first_use, aborts_before) = (AtomicU64::new(0), rseq_dsl::stats::total_aborts());
    std::thread::scope(|s| {
        let workers: Vec<_> = (0..WORKERS)
            .map(|w| {
                let (tids, first_handled, stop, first_use) =
                    (&tids, &first_handled, &stop, &first_use);
                s.spawn(move || {
                    if w == RETIRED {
                        rseq_dsl::prepare_unload();
                    }
                    // SAFETY: gettid has no preconditions.
                    tids[w].store(unsafe { libc::gettid() }, Ordering::Release);
                    // No rseq here until a handler has used it on this thread.
                    let mut spin = 0u64;
                    while HANDLED.with(Cell::get) == 0 {
                        spin = std::hint::black_box(spin.wrapping_add(1));
                    }
                    first_handled.fetch_add(1, Ordering::AcqRel);
                    match FIRST_USE.with(Cell::get) {
                        Some(Ok((owner, path)))
                            if w != RETIRED && owner == expected && path == Path::Rseq => {}
                        Some(Err(())) if w == RETIRED => {}
                        other => {
                            eprintln!("worker {w}: first use in the handler saw {other:?}");
                            FIRST_USE_WRONG.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    first_use.fetch_add(1, Ordering::Relaxed);
                    // Now the same work outside handlers, with allocations the handlers
                    // interrupt (a handler that allocated could deadlock on them).
                    let mut scratch = Vec::new();
                    while !stop.load(Ordering::Acquire) {
                        operate(t);
                        scratch.push(spin);
                        if scratch.len() > 64 {
                            scratch = Vec::new();
                        }
                    }
                })
            })
            .collect();
        // The storm, round robin over the workers.
        let mut next = 0;
        let mut deadline = None;
        while !workers.iter().all(|w| w.is_finished()) {
            let tid = tids[next % WORKERS].load(Ordering::Acquire);
            next += 1;
            if tid != 0 {
                // SAFETY: tgkill to a live thread of this process (the workers outlive
                // the storm: they stop only when told, below).
                unsafe { libc::syscall(libc::SYS_tgkill, libc::getpid(), tid, libc::SIGUSR2) };
            }
            std::thread::sleep(PACE);
            if deadline.is_none() && first_handled.load(Ordering::Acquire) == WORKERS {
                deadline = Some(Instant::now() + RUN_FOR);
            }
            // Past the planned run, go on until the first abort (a slow emulated machine
            // may need longer to interrupt a section), up to ABORT_WAIT more.
            if deadline.is_some_and(|d| {
                let now = Instant::now();
                now >= d
                    && (rseq_dsl::stats::total_aborts() > aborts_before || now >= d + ABORT_WAIT)
            }) {
                stop.store(true, Ordering::Release);
            }
            if deadline.is_none() && started.elapsed() > Duration::from_secs(60) {
                eprintln!("FAIL: a worker never handled a signal");
                std::process::exit(1);
            }
        }
    });

    let done = DONE.load(Ordering::Relaxed);
    let counter = t.counter.sum();
    let raw: u64 = t
        .raw
        .iter()
        .map(|w| w[0].load(Ordering::Relaxed) + w[1].load(Ordering::Relaxed))
        .sum();
    let aborts = rseq_dsl::stats::total_aborts() - aborts_before;
    let allocs = HANDLER_ALLOCS.load(Ordering::Relaxed);
    let handled = HANDLER_RUNS.load(Ordering::Relaxed);
    println!(
        "{expected:?} areas: {handled} handlers, {done} operations, counter {counter}, raw \
         {raw}, aborts {aborts}, allocations in handlers {allocs}, values before main \
         {before_main}"
    );
    let mut failed = Vec::new();
    if counter != done || raw != done {
        failed.push("totals differ from the operations done");
    }
    if aborts == 0 {
        failed.push("no section aborted: the restart path was not exercised");
    }
    if allocs != 0 && cfg!(target_env = "gnu") {
        failed.push("a handler allocated");
    }
    if !before_main {
        failed.push("the process-wide values were not computed before main");
    }
    if FIRST_USE_WRONG.load(Ordering::Relaxed) != 0 || first_use.load(Ordering::Relaxed) == 0 {
        failed.push("a first use inside a handler went wrong (see above)");
    }
    if failed.is_empty() {
        println!("PASS");
        ExitCode::SUCCESS
    } else {
        println!("FAIL: {}", failed.join("; "));
        ExitCode::FAILURE
    }
}

// ---- the parent: one child per registration mode ------------------------------------------

fn glibc_registers() -> bool {
    let (offset, size) = rseq_dsl::abi::glibc_rseq_symbols();
    // SAFETY: glibc defines __rseq_size as a u32 data object.
    !offset.is_null() && unsafe { size.read() } > 0
}

pub fn main() -> ExitCode {
    if let Ok(mode) = std::env::var(CHILD_ENV) {
        return child(if mode == "own" {
            Owner::Own
        } else {
            Owner::Glibc
        });
    }
    if !rseq_dsl::is_available() {
        println!("skipped: rseq is unavailable here");
        return ExitCode::SUCCESS;
    }
    let mut modes = vec![("own", Some("glibc.pthread.rseq=0"))];
    if glibc_registers() && std::env::var_os("GLIBC_TUNABLES").is_none() {
        modes.insert(0, ("glibc", None));
    }
    let exe = std::env::current_exe().expect("current_exe");
    let mut ok = true;
    for (mode, tunables) in modes {
        let mut cmd = Command::new(&exe);
        cmd.env(CHILD_ENV, mode);
        if let Some(t) = tunables {
            cmd.env("GLIBC_TUNABLES", t);
        }
        let mut child = cmd.spawn().expect("spawn the child");
        let deadline = Instant::now() + Duration::from_secs(120);
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait") {
                break Some(status);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                break None;
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        match status {
            Some(s) if s.success() => println!("signals ({mode} areas): ok"),
            other => {
                println!("signals ({mode} areas): FAILED ({other:?}, a hang if None)");
                ok = false;
            }
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
