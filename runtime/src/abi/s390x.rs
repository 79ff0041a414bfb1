//! s390x constants. Every architecture file exports the same items.

/// Name used in diagnostics.
pub const ARCH_NAME: &str = "s390x";

/// glibc's (`sysdeps/unix/sysv/linux/s390/bits/rseq.h`) and the kernel selftests'
/// (`rseq-s390.h`) `RSEQ_SIG`, `trap4 4095(%r0)`. Emitted with `.long` before the abort
/// label: big-endian, the bytes b2 ff 0f ff, which the kernel reads back as this u32.
pub const SIGNATURE: u32 = 0xb2ff_0fff;

/// `rseq` system call number (`arch/s390/kernel/syscalls/syscall.tbl`; `__NR_rseq` in the
/// s390x `asm/unistd_64.h`).
pub const SYS_RSEQ: libc::c_long = 383;

/// `seccomp_data.arch` of this architecture: `EM_S390 | __AUDIT_ARCH_64BIT` (big-endian,
/// so no `__AUDIT_ARCH_LE`).
pub const AUDIT_ARCH: u32 = 0x8000_0016;

/// The thread pointer: access registers a0 (its high 32 bits) and a1 (its low ones), as
/// GCC's `__builtin_thread_pointer` reads them. glibc's `__rseq_offset` is relative to it.
#[inline(always)]
pub fn thread_pointer() -> *mut u8 {
    let tp: *mut u8;
    // SAFETY: copies the two access registers that the C runtime sets up for every thread;
    // no memory access.
    unsafe {
        core::arch::asm!(
            "ear {tp}, %a0",
            "sllg {tp}, {tp}, 32",
            "ear {tp}, %a1",
            tp = out(reg) tp,
            options(nostack, nomem, preserves_flags),
        );
    }
    tp
}

/// The addresses of glibc's `__rseq_offset` and `__rseq_size`, or nulls where the C library
/// does not define them (musl, glibc before 2.35).
///
/// Weak references, each one `lgrl` of its GOT entry (pc-relative, `@GOTENT`), filled in by
/// the linker or the dynamic loader before any Rust code runs. A weak undefined symbol's
/// GOT entry holds 0.
///
/// ```
/// let (offset, size) = rseq_dsl_runtime::abi::glibc_rseq_symbols();
/// // glibc defines both or neither.
/// assert_eq!(offset.is_null(), size.is_null());
/// ```
#[inline(never)]
pub fn glibc_rseq_symbols() -> (*const isize, *const u32) {
    let (offset, size): (*const isize, *const u32);
    // SAFETY: loads two GOT entries filled in at link or load time; `.weak` makes a missing
    // definition resolve to 0 instead of failing the link. No other memory is touched.
    unsafe {
        core::arch::asm!(
            ".weak __rseq_offset",
            ".weak __rseq_size",
            "lgrl {offset}, __rseq_offset@GOTENT",
            "lgrl {size}, __rseq_size@GOTENT",
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
