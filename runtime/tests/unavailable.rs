//! Where the kernel answers ENOSYS (qemu-user, valgrind, sandboxes), every API reports
//! `NotImplemented` and `current_cpu()` still answers. A seccomp filter in a re-executed
//! child makes `rseq` return ENOSYS from the first instruction of the process on, so that
//! glibc's own registration at startup fails too (`__rseq_size == 0`) and the runtime's
//! registration is the one refused.

// rseq registration as the kernel sees it: a target with an rseq backend (elsewhere
// the binary is empty).
#![cfg(rseq_dsl_sections)]

mod common;
#[path = "support/seccomp.rs"]
mod seccomp;

use common::{allowed_cpus, glibc_rseq_symbols, is_child, pin_to, raw_rseq, rerun_self_with};
use rseq_dsl_runtime::abi::{self, RseqArea};
use rseq_dsl_runtime::{
    area, current_cpu, is_available, mm_cid, node_id, possible_cpus, registration, Reason,
};

const ROLE: &str = "seccomp-enosys";
const TEST_NAME: &str = "rseq_refused_with_enosys";
const MARKER: &str = "ENOSYS child: all checks passed";

/// What every API must say on a thread of the child.
fn check_unavailable(thread: &str) {
    for attempt in 0..2 {
        // Twice: the failure is cached, and must stay the same.
        let what = format!("{thread}, attempt {attempt}");
        assert_eq!(
            area().map_err(|e| e.reason()),
            Err(Reason::NotImplemented),
            "{what}"
        );
        let e = registration().expect_err("registration() under ENOSYS");
        assert_eq!(e.reason(), Reason::NotImplemented, "{what}");
        assert!(e.to_string().contains("ENOSYS"), "{what}: {e}");
        assert!(!is_available(), "{what}");
        assert_eq!(mm_cid(), None, "{what}");
        assert_eq!(node_id(), None, "{what}");
        assert!(current_cpu() < possible_cpus(), "{what}");
    }
    // current_cpu() falls back to sched_getcpu: exact when pinned.
    for &cpu in &allowed_cpus() {
        pin_to(&[cpu]);
        assert_eq!(current_cpu(), cpu, "{thread}: pinned to {cpu}");
        assert_eq!(current_cpu(), common::sched_getcpu(), "{thread}");
    }
}

fn child() {
    // The filter really is in force, and glibc saw it at startup.
    let probe: &'static RseqArea = Box::leak(Box::new(RseqArea::new()));
    // SAFETY: `probe` is leaked, so it outlives any registration this might make.
    assert_eq!(unsafe { raw_rseq(probe, 0) }, Err(libc::ENOSYS));
    if let Some((size, _)) = glibc_rseq_symbols() {
        assert_eq!(size, 0, "glibc registered despite ENOSYS");
    }
    // Both the test thread and a thread spawned from it, which each own a separate
    // thread-local failure record.
    check_unavailable("test thread");
    std::thread::spawn(|| check_unavailable("spawned thread"))
        .join()
        .expect("spawned thread");
    println!("{MARKER}");
}

#[test]
fn rseq_refused_with_enosys() {
    if is_child(ROLE) {
        child();
        return;
    }
    let args = ["--exact", TEST_NAME, "--nocapture"];
    let out = rerun_self_with(ROLE, &args, &[], |cmd| {
        seccomp::refuse_rseq_with_enosys(cmd, abi::SYS_RSEQ)
    });
    assert!(out.status.success(), "child: {}", out.status);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains(MARKER), "the child did not run its checks");
    // The filter stayed in the child: this process still has rseq.
    assert!(is_available());
}
