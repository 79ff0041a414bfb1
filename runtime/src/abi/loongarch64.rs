//! loongarch64 (LA64) constants. Every architecture file exports the same items.
//!
//! Sources: glibc's `sysdeps/unix/sysv/linux/loongarch/bits/rseq.h` (the signature; checked
//! in trixie's libc6-dev-loong64-cross 2.41), the kernel selftests' `rseq-loongarch.h` and
//! librseq's `rseq/arch/loongarch.h` (the same word), the uapi `asm-generic/unistd.h` (293)
//! and `linux/audit.h`.

/// Name used in diagnostics.
pub const ARCH_NAME: &str = "loongarch64";

/// glibc's, the kernel selftests' and librseq's LoongArch `RSEQ_SIG`: `break 0x10`,
/// emitted as a `.word` before the abort label.
pub const SIGNATURE: u32 = 0x002a_0010;

/// `rseq` system call number (the generic syscall table).
pub const SYS_RSEQ: libc::c_long = 293;

/// `seccomp_data.arch` of this architecture: `EM_LOONGARCH (258) | __AUDIT_ARCH_64BIT |
/// __AUDIT_ARCH_LE`.
pub const AUDIT_ARCH: u32 = 0xc000_0102;

/// The thread pointer, `$tp` ($r2). glibc's `__rseq_offset` is relative to it (TLS variant I,
/// `tp` at the TCB's end).
#[inline(always)]
pub fn thread_pointer() -> *mut u8 {
    let tp: *mut u8;
    // SAFETY: copies the thread-pointer register, which the C runtime sets up for every
    // thread; no memory access.
    unsafe {
        core::arch::asm!("move {}, $tp", out(reg) tp, options(nostack, nomem, preserves_flags));
    }
    tp
}

/// The addresses of glibc's `__rseq_offset` and `__rseq_size`, or nulls where the C library
/// does not define them (musl, glibc before 2.35).
///
/// Weak references through the GOT (`la.got`: pcalau12i + ld.d), resolved by the linker or
/// the dynamic loader before any Rust code runs. A weak undefined symbol's GOT entry holds 0.
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
            "la.got {offset}, __rseq_offset",
            "la.got {size}, __rseq_size",
            offset = out(reg) offset,
            size = out(reg) size,
            options(nostack, pure, readonly, preserves_flags),
        );
    }
    (offset, size)
}

#[cfg(feature = "static-tls")]
static_tls_image!();

/// This thread's `static-tls` block (`fast.rs`): its offset from the thread pointer, from
/// the GOT (initial-exec: pcalau12i + ld.d), plus `$tp`. No call, in executables and shared
/// objects alike.
#[cfg(feature = "static-tls")]
#[inline(always)]
pub(crate) fn static_tls_words<const FRESH: bool>() -> *mut u8 {
    let words: *mut u8;
    // SAFETY: reads a GOT entry the loader filled with the block's offset, and the thread
    // pointer register; no memory is written, no stack used.
    unsafe {
        // FRESH: not `pure`, so the compiler computes it again rather than keep an
        // earlier result live (see fast::no_area).
        if FRESH {
            core::arch::asm!(
                concat!("la.tls.ie {w}, ", static_tls_symbol!()),
                "add.d {w}, {w}, $tp",
                w = out(reg) words,
                options(nostack, readonly, preserves_flags),
            );
        } else {
            core::arch::asm!(
                concat!("la.tls.ie {w}, ", static_tls_symbol!()),
                "add.d {w}, {w}, $tp",
                w = out(reg) words,
                options(nostack, pure, readonly, preserves_flags),
            );
        }
    }
    words
}
