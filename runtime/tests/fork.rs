//! fork keeps the registration: the child reuses the parent's area without registering again.

// rseq registration as the kernel sees it: a target with an rseq backend (elsewhere
// the binary is empty).
#![cfg(rseq_dsl_sections)]

mod common;

use common::{check_registration, raw_rseq_len, registered_len};
use rseq_dsl_runtime::{current_cpu, possible_cpus, registration};

/// Why the child failed, as its exit status.
const CHILD_OK: i32 = 0;
const BAD_CPU: i32 = 10;
const NOT_REGISTERED: i32 = 11;
const OTHER_OWNER: i32 = 12;
const OTHER_AREA: i32 = 13;
const KERNEL_LOST_AREA: i32 = 14;
const STALE_CPU_ID: i32 = 15;

/// The child's checks. It runs in a copy of a multithreaded process, so it only reads
/// memory and makes system calls: no allocation, no locks, no panics.
fn child_checks(parent: &rseq_dsl_runtime::Registration, len: u32) -> i32 {
    let cpu = current_cpu();
    if cpu >= possible_cpus() {
        return BAD_CPU;
    }
    let Ok(r) = registration() else {
        return NOT_REGISTERED;
    };
    if r.owner != parent.owner {
        return OTHER_OWNER;
    }
    // TLS is copied by fork, and so is the runtime's record of the area: the same address
    // means the child did not register a new one.
    if r.area != parent.area {
        return OTHER_AREA;
    }
    // EBUSY: the kernel kept exactly this area registered for the child (fork copies the
    // registration; a new thread or exec would have none).
    // SAFETY: re-registering the registered area changes nothing.
    if unsafe { raw_rseq_len(r.area, len, 0) } != Err(libc::EBUSY) {
        return KERNEL_LOST_AREA;
    }
    // SAFETY: the area is this thread's registered area.
    let cpu_id = unsafe { std::ptr::addr_of!((*r.area).cpu_id).read_volatile() } as i32;
    if cpu_id < 0 || cpu_id as usize >= possible_cpus() {
        return STALE_CPU_ID;
    }
    CHILD_OK
}

#[test]
fn forked_child_keeps_the_registration() {
    // Register, and initialise every lazy static the child will read, before forking.
    let parent = registration().expect("parent registration");
    check_registration(&parent);
    assert!(current_cpu() < possible_cpus());
    // Looked up before the fork: the child makes no library calls that may take locks.
    let len = registered_len(parent.owner);

    // SAFETY: the child runs only child_checks (reads and system calls) and then _exit.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork: {}", std::io::Error::last_os_error());
    if pid == 0 {
        let code = child_checks(&parent, len);
        // SAFETY: _exit ends the child without running the parent's atexit handlers.
        unsafe { libc::_exit(code) };
    }
    let mut status = 0;
    // SAFETY: waits for the child we just forked; status is a live int.
    let rc = unsafe { libc::waitpid(pid, &mut status, 0) };
    assert_eq!(rc, pid, "waitpid: {}", std::io::Error::last_os_error());
    assert!(libc::WIFEXITED(status), "child died: status {status:#x}");
    let code = libc::WEXITSTATUS(status);
    let why = match code {
        CHILD_OK => "ok",
        BAD_CPU => "current_cpu() out of range",
        NOT_REGISTERED => "registration() failed",
        OTHER_OWNER => "owner changed",
        OTHER_AREA => "the child registered another area",
        KERNEL_LOST_AREA => "the kernel does not have the area registered",
        STALE_CPU_ID => "cpu_id not maintained in the child",
        _ => "unknown",
    };
    assert_eq!(code, CHILD_OK, "child: {why}");
    // The parent's registration is untouched.
    assert_eq!(registration().unwrap(), parent);
}
