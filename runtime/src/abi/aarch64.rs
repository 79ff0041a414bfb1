//! aarch64 constants. Every architecture file exports the same four items.

/// Name used in diagnostics.
pub const ARCH_NAME: &str = "aarch64";

/// glibc's `RSEQ_SIG` for aarch64 (`brk #0x45e0`), emitted with `.inst` before the abort label.
pub const SIGNATURE: u32 = 0xd428_bc00;

/// `rseq` system call number (the generic syscall table).
pub const SYS_RSEQ: libc::c_long = 293;

/// The thread pointer, `tpidr_el0`. glibc's `__rseq_offset` is negative relative to it here.
#[inline(always)]
pub fn thread_pointer() -> *mut u8 {
    let tp: *mut u8;
    // SAFETY: reads a user-readable system register; no memory access.
    unsafe {
        core::arch::asm!("mrs {}, tpidr_el0", out(reg) tp, options(nostack, nomem, preserves_flags));
    }
    tp
}
