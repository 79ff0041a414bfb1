//! armv7 (32-bit Arm, A32) constants. Every architecture file exports the same items.

/// Name used in diagnostics.
pub const ARCH_NAME: &str = "armv7";

/// glibc's Arm `RSEQ_SIG` (little-endian, A32: `udf #24035`): the kernel compares it with
/// the 4 bytes before `abort_ip`.
pub const SIGNATURE: u32 = 0xe7f5_def3;

/// `rseq` system call number on Arm EABI (`arch/arm/tools/syscall.tbl`).
pub const SYS_RSEQ: libc::c_long = 398;

/// `seccomp_data.arch` of this architecture: `EM_ARM | __AUDIT_ARCH_LE`.
pub const AUDIT_ARCH: u32 = 0x4000_0028;

/// The thread pointer: the user read-only thread ID register (TPIDRURO), which glibc and
/// musl point at the TCB.
#[inline(always)]
pub fn thread_pointer() -> *mut u8 {
    let tp: *mut u8;
    // SAFETY: reads a CP15 register that the kernel sets for every thread; no memory is
    // touched and no stack is used.
    unsafe {
        core::arch::asm!("mrc p15, 0, {}, c13, c0, 3", out(reg) tp, options(nostack, nomem, preserves_flags));
    }
    tp
}

/// The addresses of glibc's `__rseq_offset` and `__rseq_size`, or nulls where the C library
/// does not define them (musl, glibc before 2.35).
///
/// Weak references through the GOT, as on the other architectures: each GOT entry's
/// distance from a pc-relative load is a literal (`R_ARM_GOT_PREL`, as LLVM emits for
/// PIC code). A weak undefined symbol's GOT entry holds 0.
///
/// ```
/// let (offset, size) = rseq_dsl_runtime::abi::glibc_rseq_symbols();
/// // glibc defines both or neither.
/// assert_eq!(offset.is_null(), size.is_null());
/// ```
#[inline(never)]
pub fn glibc_rseq_symbols() -> (*const isize, *const u32) {
    let (offset, size): (*const isize, *const u32);
    // SAFETY: two literal loads and two loads of GOT entries filled in at link or load
    // time; `.weak` makes a missing definition resolve to 0 instead of failing the link.
    // The literals are jumped over. No other memory is touched.
    unsafe {
        core::arch::asm!(
            ".weak __rseq_offset",
            ".weak __rseq_size",
            "ldr {offset}, 4f",
            // In A32 state `pc` reads as the instruction's address plus 8.
            "2:",
            "ldr {offset}, [pc, {offset}]",
            "ldr {size}, 5f",
            "3:",
            "ldr {size}, [pc, {size}]",
            "b 6f",
            "  .p2align 2",
            "4:",
            "  .long __rseq_offset(GOT_PREL) + (4b - (2b + 8))",
            "5:",
            "  .long __rseq_size(GOT_PREL) + (5b - (3b + 8))",
            "6:",
            offset = out(reg) offset,
            size = out(reg) size,
            options(nostack, pure, readonly, preserves_flags),
        );
    }
    (offset, size)
}

/// The `static-tls` words: no initial-exec access is written for this architecture yet, so
/// they stay in a Rust thread-local (general-dynamic TLS in a shared object), as without
/// the feature.
#[cfg(feature = "static-tls")]
#[inline(always)]
pub(crate) fn static_tls_words<const FRESH: bool>() -> *mut u8 {
    std::thread_local! {
        static WORDS: crate::fast::Words = const { crate::fast::Words::initial() };
    }
    WORDS.with(|words| words as *const crate::fast::Words as *mut u8)
}
