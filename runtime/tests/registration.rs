//! Registration on the main thread and on spawned threads, under both owners.

// rseq registration as the kernel sees it: a target with an rseq backend (elsewhere
// the binary is empty).
#![cfg(rseq_dsl_sections)]

mod common;

use std::sync::{Barrier, Mutex, OnceLock};

use common::{check_registration, expected_owner, rerun_self_with, NO_GLIBC_RSEQ};
use rseq_dsl_runtime::{current_cpu, possible_cpus, registration, Owner, Registration};

/// What the main thread saw, recorded before `main` (libtest runs every test on a spawned
/// thread, so this is the only way to run code on the process's main thread).
struct MainThreadReport {
    is_main_thread: bool,
    cpu: usize,
    // The owner and the area's address (Sync, unlike a pointer), or why it failed: an
    // error, or a failed check (a panic must not unwind out of the hook).
    registration: Result<(Owner, usize), String>,
}

static MAIN_THREAD: OnceLock<MainThreadReport> = OnceLock::new();

extern "C" fn record_main_thread() {
    // SAFETY: getpid and gettid have no preconditions.
    let is_main_thread = unsafe { libc::getpid() == libc::gettid() };
    let cpu = current_cpu();
    let registration = std::panic::catch_unwind(|| {
        let r = registration().map_err(|e| e.to_string())?;
        check_registration(&r);
        Ok((r.owner, r.area as usize))
    })
    .unwrap_or_else(|_| Err("check_registration failed on the main thread".to_string()));
    let _ = MAIN_THREAD.set(MainThreadReport {
        is_main_thread,
        cpu,
        registration,
    });
}

// Runs on the main thread after glibc registered it and before libtest's main.
#[used]
#[link_section = ".init_array"]
static RECORD_MAIN_THREAD: extern "C" fn() = record_main_thread;

#[test]
fn main_thread_registers() {
    let report = MAIN_THREAD.get().expect("the .init_array hook did not run");
    assert!(report.is_main_thread);
    assert!(report.cpu < possible_cpus());
    let (owner, area) = report
        .registration
        .clone()
        .expect("main thread registration");
    assert_eq!(owner, expected_owner());
    // The test thread is another thread: another area.
    assert_ne!(registration().unwrap().area as usize, area);
    println!("main thread: owner={owner:?}");
    // What the parent of `both_registration_paths` needs to know which owner to expect.
    let registers = common::glibc_rseq_symbols().is_some_and(|(size, _)| size > 0);
    println!("glibc registers threads: {registers}");
}

#[test]
fn sixty_four_spawned_threads_register() {
    const THREADS: usize = 64;
    // Every thread holds its registration until all have one, so that the areas are live
    // at the same time and must be distinct.
    let barrier = Barrier::new(THREADS);
    let areas = Mutex::new(Vec::new());
    std::thread::scope(|s| {
        for _ in 0..THREADS {
            s.spawn(|| {
                let cpu = current_cpu();
                assert!(cpu < possible_cpus(), "cpu {cpu}");
                let r: Registration = registration().expect("spawned thread registration");
                check_registration(&r);
                areas.lock().unwrap().push(r.area as usize);
                barrier.wait();
                // Still the same area after other threads registered.
                assert_eq!(registration().unwrap().area, r.area);
            });
        }
    });
    let mut areas = areas.into_inner().unwrap();
    assert_eq!(areas.len(), THREADS);
    if let Some(Ok((_, main_area))) = MAIN_THREAD.get().map(|m| &m.registration) {
        areas.push(*main_area);
    }
    let all = areas.len();
    areas.sort_unstable();
    areas.dedup();
    assert_eq!(areas.len(), all, "two live threads share an area");
    println!("spawned threads: owner={:?}", expected_owner());
}

/// Re-runs this file's other tests with glibc's registration on and off, so that a plain
/// `cargo test` proves both owners (and so does a run under the tunable).
#[test]
fn both_registration_paths() {
    let args = ["--nocapture", "--skip", "both_registration_paths"];
    for tunable in [true, false] {
        let out = rerun_self_with("registration-paths", &args, &[], |cmd| {
            if tunable {
                cmd.env("GLIBC_TUNABLES", NO_GLIBC_RSEQ);
            } else {
                cmd.env_remove("GLIBC_TUNABLES");
            }
        });
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "tunable={tunable}: {}", out.status);
        // Without the tunable, glibc owns the areas where it registers threads; it does not
        // where the C library has no rseq support (musl, glibc < 2.35, or a glibc without
        // this architecture's signature: bookworm's 2.36 on riscv64 exports the symbols
        // with `__rseq_size` 0). The child reports which, from the symbols it sees.
        let glibc_registers = stdout.contains("glibc registers threads: true");
        assert!(
            glibc_registers || stdout.contains("glibc registers threads: false"),
            "tunable={tunable}: the child did not report glibc's registration"
        );
        let owner = if glibc_registers {
            Owner::Glibc
        } else {
            Owner::Own
        };
        if tunable {
            assert_eq!(
                owner,
                Owner::Own,
                "glibc registered despite {NO_GLIBC_RSEQ}"
            );
        }
        for line in ["main thread", "spawned threads"] {
            let marker = format!("{line}: owner={owner:?}");
            assert!(stdout.contains(&marker), "tunable={tunable}: no {marker:?}");
        }
    }
}
