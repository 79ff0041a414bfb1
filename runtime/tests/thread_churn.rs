//! Many short-lived threads: each registers, exits, and (with its own area) unregisters
//! before its thread-local storage goes away. Alone in this binary so that no other test
//! moves the resident-memory measurement.

// rseq registration as the kernel sees it: a target with an rseq backend (elsewhere
// the binary is empty).
#![cfg(rseq_dsl_sections)]

mod common;

use std::cell::Cell;
use std::sync::atomic::{AtomicUsize, Ordering};

use common::{check_registration, expected_owner, raw_rseq_len, registered_len};
use rseq_dsl_runtime::abi::{self, RseqArea};
use rseq_dsl_runtime::{current_cpu, possible_cpus, registration, Owner, Reason};

const THREADS: usize = 10_000;
const BATCH: usize = 8;
/// Resident-memory growth allowed over all the threads. A leak of even one page per thread
/// would be 40 MiB; glibc's cache of thread stacks holds only about one batch here.
const RSS_BOUND: usize = 16 << 20;

/// Threads whose exit-time check passed.
static CHECKED_AT_EXIT: AtomicUsize = AtomicUsize::new(0);
/// Threads whose exit-time check failed (each printed its reason).
static FAILED_AT_EXIT: AtomicUsize = AtomicUsize::new(0);

/// What a thread saw when it registered, checked again when it exits: from a
/// `pthread_key_t` destructor of a key created after the runtime's (in `main`, after the
/// runtime's constructor), because the C runtime calls key destructors in the order the
/// keys were created, and the runtime unregisters its own area from its key's destructor.
/// So the check sees the thread as the runtime leaves it.
struct ExitCheck {
    area: Cell<*const RseqArea>,
    owner: Cell<Option<Owner>>,
}

thread_local! {
    // No Rust destructor: read from the key's destructor, after Rust's own have run.
    static EXIT_CHECK: ExitCheck = const {
        ExitCheck { area: Cell::new(std::ptr::null()), owner: Cell::new(None) }
    };
}

/// The test's key, created once by the first thread that needs it.
fn exit_key() -> libc::pthread_key_t {
    static KEY: std::sync::OnceLock<libc::pthread_key_t> = std::sync::OnceLock::new();
    *KEY.get_or_init(|| {
        let mut key = 0;
        // SAFETY: a key with an extern "C" destructor.
        assert_eq!(
            unsafe { libc::pthread_key_create(&mut key, Some(check_at_exit)) },
            0
        );
        key
    })
}

unsafe extern "C" fn check_at_exit(_: *mut libc::c_void) {
    // A panic here would abort the process: report instead.
    match EXIT_CHECK.with(ExitCheck::check) {
        Ok(()) => CHECKED_AT_EXIT.fetch_add(1, Ordering::Relaxed),
        Err(e) => {
            eprintln!("exit check failed: {e}");
            FAILED_AT_EXIT.fetch_add(1, Ordering::Relaxed)
        }
    };
}

impl ExitCheck {
    fn check(&self) -> Result<(), String> {
        let area = self.area.get();
        match self.owner.get() {
            Some(Owner::Own) => {
                // The runtime's key destructor has run: its area must be gone from the API ...
                match rseq_dsl_runtime::area() {
                    Err(e) if e.reason() == Reason::ThreadExiting => {}
                    other => return Err(format!("area() after the own area's drop: {other:?}")),
                }
                // ... and from the kernel: unregistering an area that is not registered is
                // EINVAL. Ok here would mean the kernel still wrote into this thread-local,
                // whose memory is freed once the thread is gone.
                // SAFETY: unregistering writes nothing; if it succeeds, it is the fix.
                let len = registered_len(Owner::Own);
                let rc = unsafe { raw_rseq_len(area, len, abi::RSEQ_FLAG_UNREGISTER) };
                if rc != Err(libc::EINVAL) {
                    return Err(format!("own area still registered at exit: {rc:?}"));
                }
            }
            Some(Owner::Glibc) => {
                // glibc's area lives in the thread control block until the thread is gone.
                let now = rseq_dsl_runtime::area().map(|a| a.as_ptr() as *const RseqArea);
                if now != Ok(area) {
                    return Err(format!("glibc's area at exit: {now:?}, was {area:?}"));
                }
            }
            None => return Err("thread exited without registering".into()),
        }
        // Reads keep working to the end, through sched_getcpu if need be.
        let cpu = current_cpu();
        if cpu >= possible_cpus() {
            return Err(format!("current_cpu() = {cpu} at exit"));
        }
        Ok(())
    }
}

fn short_lived_thread() {
    EXIT_CHECK.with(|c| {
        assert!(current_cpu() < possible_cpus());
        let r = registration().expect("registration");
        check_registration(&r);
        c.area.set(r.area);
        c.owner.set(Some(r.owner));
    });
    // Arm the exit check (any non-null value): see ExitCheck.
    // SAFETY: a live key; the value is never dereferenced.
    assert_eq!(
        unsafe { libc::pthread_setspecific(exit_key(), std::ptr::dangling::<libc::c_void>()) },
        0
    );
}

/// Resident set size in bytes, from /proc/self/statm.
fn rss_bytes() -> usize {
    let statm = std::fs::read_to_string("/proc/self/statm").expect("statm");
    let pages: usize = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    // SAFETY: sysconf has no preconditions.
    pages * unsafe { libc::sysconf(libc::_SC_PAGESIZE) } as usize
}

fn run_batch() {
    let threads: Vec<_> = (0..BATCH)
        .map(|_| std::thread::spawn(short_lived_thread))
        .collect();
    for t in threads {
        t.join().expect("short-lived thread panicked");
    }
}

/// Under the tunable every thread registers (and must unregister) an area of its own; a
/// missed unregistration shows up in ExitCheck as a successful unregister, and the kernel
/// writing into a reused thread-local would corrupt or crash later threads. The resident
/// bound shows the runtime keeps nothing per exited thread.
#[test]
fn ten_thousand_short_lived_threads_unregister_and_leak_nothing() {
    // Warm up: the allocator, glibc's stack cache and the runtime's lazy statics.
    run_batch();
    let before = rss_bytes();
    for _ in 0..THREADS / BATCH {
        run_batch();
    }
    let grown = rss_bytes().saturating_sub(before);
    assert_eq!(
        FAILED_AT_EXIT.load(Ordering::Relaxed),
        0,
        "see the reasons above"
    );
    assert_eq!(CHECKED_AT_EXIT.load(Ordering::Relaxed), THREADS + BATCH);
    assert!(
        grown < RSS_BOUND,
        "resident memory grew by {grown} bytes over {THREADS} threads"
    );
    println!(
        "{THREADS} threads, owner {:?}: resident memory grew by {} KiB",
        expected_owner(),
        grown >> 10
    );
}
