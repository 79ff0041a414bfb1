//! Test support shared by the runtime's and the root crate's tests (included with
//! `#[path]`): make a child process's `rseq` system call fail with ENOSYS, the way
//! qemu-user, valgrind and some sandboxes answer.

use std::os::unix::process::CommandExt;
use std::process::Command;

use rseq_dsl_runtime::abi::AUDIT_ARCH;

/// Classic BPF: the `rseq` system call `sys_rseq` of this architecture fails with ENOSYS,
/// every other call is allowed.
fn enosys_for_rseq(sys_rseq: libc::c_long) -> Vec<libc::sock_filter> {
    let stmt = |code: u32, k: u32| libc::sock_filter {
        code: code as u16,
        jt: 0,
        jf: 0,
        k,
    };
    let jeq = |k: u32, jt: u8, jf: u8| libc::sock_filter {
        code: (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16,
        jt,
        jf,
        k,
    };
    let load_word = libc::BPF_LD | libc::BPF_W | libc::BPF_ABS;
    vec![
        stmt(load_word, 4), // seccomp_data.arch
        jeq(AUDIT_ARCH, 0, 3),
        stmt(load_word, 0), // seccomp_data.nr
        jeq(sys_rseq as u32, 0, 1),
        stmt(
            libc::BPF_RET | libc::BPF_K,
            libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32,
        ),
        stmt(libc::BPF_RET | libc::BPF_K, libc::SECCOMP_RET_ALLOW),
    ]
}

/// Makes `cmd`'s process start with `rseq` refused (ENOSYS) from its first instruction, so
/// that glibc's own registration at startup fails too.
pub fn refuse_rseq_with_enosys(cmd: &mut Command, sys_rseq: libc::c_long) {
    let filter = enosys_for_rseq(sys_rseq);
    // SAFETY: the closure runs in the forked child before exec and makes only two prctl
    // calls on a program built before the fork: no allocation, no lock.
    unsafe {
        cmd.pre_exec(move || {
            let prog = libc::sock_fprog {
                len: filter.len() as libc::c_ushort,
                filter: filter.as_ptr() as *mut libc::sock_filter,
            };
            // Lets a process without CAP_SYS_ADMIN install a filter.
            if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            let mode = libc::SECCOMP_MODE_FILTER as libc::c_ulong;
            if libc::prctl(libc::PR_SET_SECCOMP, mode, &prog as *const libc::sock_fprog) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}
