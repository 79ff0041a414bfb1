//! Test support shared by the runtime's, the root crate's and the allocator's tests
//! (included with `#[path]`): make `rseq` fail with ENOSYS, the way qemu-user, valgrind and
//! some sandboxes answer, in a child process from its start or on the calling thread.

use std::os::unix::process::CommandExt;
use std::process::Command;

use rseq_dsl_runtime::abi::AUDIT_ARCH;

/// Makes the calling thread's `rseq` system call `sys_rseq`, and that of every thread and
/// process it creates afterwards, fail with ENOSYS; every other call is allowed. Allocates
/// nothing and takes no lock, so that it can run between `fork` and `exec` and inside a
/// global allocator's test.
pub fn refuse_rseq_here(sys_rseq: libc::c_long) -> std::io::Result<()> {
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
    // Classic BPF over `seccomp_data`: a foreign architecture's calls pass untouched.
    let mut filter = [
        stmt(load_word, 4), // seccomp_data.arch
        jeq(AUDIT_ARCH, 0, 3),
        stmt(load_word, 0), // seccomp_data.nr
        jeq(sys_rseq as u32, 0, 1),
        stmt(
            libc::BPF_RET | libc::BPF_K,
            libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32,
        ),
        stmt(libc::BPF_RET | libc::BPF_K, libc::SECCOMP_RET_ALLOW),
    ];
    let prog = libc::sock_fprog {
        len: filter.len() as libc::c_ushort,
        filter: filter.as_mut_ptr(),
    };
    // SAFETY: two prctl calls; the kernel copies the program, which outlives the call.
    unsafe {
        // Lets a process without CAP_SYS_ADMIN install a filter.
        if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0 {
            return Err(std::io::Error::last_os_error());
        }
        let mode = libc::SECCOMP_MODE_FILTER as libc::c_ulong;
        if libc::prctl(libc::PR_SET_SECCOMP, mode, &prog as *const libc::sock_fprog) != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Makes `cmd`'s process start with `rseq` refused (ENOSYS) from its first instruction, so
/// that glibc's own registration at startup fails too.
#[allow(dead_code)] // not every test that includes this file starts processes
pub fn refuse_rseq_with_enosys(cmd: &mut Command, sys_rseq: libc::c_long) {
    // SAFETY: the closure runs in the forked child before exec and only installs the
    // filter, which allocates nothing and takes no lock.
    unsafe {
        cmd.pre_exec(move || refuse_rseq_here(sys_rseq));
    }
}
