//! x86_64 constants. Every architecture file exports the same four items.

/// Name used in diagnostics.
pub const ARCH_NAME: &str = "x86_64";

/// glibc's `RSEQ_SIG` for x86: the kernel compares it with the 4 bytes before `abort_ip`.
/// Emitted as the immediate of a trapping `ud1`, so that stray execution faults.
pub const SIGNATURE: u32 = 0x5305_3053;

/// `rseq` system call number.
pub const SYS_RSEQ: libc::c_long = 334;

/// The thread pointer: glibc's TCB starts with a pointer to itself at `fs:0`.
#[inline(always)]
pub fn thread_pointer() -> *mut u8 {
    let tp: *mut u8;
    // SAFETY: reads the TCB self-pointer that the C runtime stores at fs:0 for every thread;
    // no memory is written and no stack is used.
    unsafe {
        core::arch::asm!("mov {}, qword ptr fs:[0]", out(reg) tp, options(nostack, readonly, preserves_flags));
    }
    tp
}
