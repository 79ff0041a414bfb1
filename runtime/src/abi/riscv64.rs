//! riscv64 constants. Every architecture file exports the same items.

/// Name used in diagnostics.
pub const ARCH_NAME: &str = "riscv64";

/// glibc's and the kernel selftests' riscv `RSEQ_SIG` (`csrw mhartid, x0`, illegal in user
/// mode), emitted as a 4-byte-aligned `.word` before the abort label. Little-endian only,
/// as in the kernel's `rseq-riscv.h`.
pub const SIGNATURE: u32 = 0xf140_1073;

/// `rseq` system call number (the generic syscall table).
pub const SYS_RSEQ: libc::c_long = 293;

/// `seccomp_data.arch` of this architecture: `EM_RISCV | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE`.
pub const AUDIT_ARCH: u32 = 0xc000_00f3;

/// The thread pointer, `tp` (x4). glibc's `__rseq_offset` is relative to it (TLS variant I).
#[inline(always)]
pub fn thread_pointer() -> *mut u8 {
    let tp: *mut u8;
    // SAFETY: copies the thread-pointer register, which the C runtime sets up for every
    // thread; no memory access.
    unsafe {
        core::arch::asm!("mv {}, tp", out(reg) tp, options(nostack, nomem, preserves_flags));
    }
    tp
}

/// The addresses of glibc's `__rseq_offset` and `__rseq_size`, or nulls where the C library
/// does not define them (musl, glibc before 2.35).
///
/// Weak references, resolved by the linker or the dynamic loader before any Rust code runs:
/// they work in static binaries, where `dlsym` finds nothing, and reading them is one load
/// from the GOT, safe in a signal handler. A weak undefined symbol's GOT entry holds 0.
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
            "2:",
            "auipc {offset}, %got_pcrel_hi(__rseq_offset)",
            "ld {offset}, %pcrel_lo(2b)({offset})",
            "3:",
            "auipc {size}, %got_pcrel_hi(__rseq_size)",
            "ld {size}, %pcrel_lo(3b)({size})",
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
/// the GOT (initial-exec), plus `tp`. No call, in executables and shared objects alike.
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
                "add {w}, {w}, tp",
                w = out(reg) words,
                options(nostack, readonly, preserves_flags),
            );
        } else {
            core::arch::asm!(
                concat!("la.tls.ie {w}, ", static_tls_symbol!()),
                "add {w}, {w}, tp",
                w = out(reg) words,
                options(nostack, pure, readonly, preserves_flags),
            );
        }
    }
    words
}
