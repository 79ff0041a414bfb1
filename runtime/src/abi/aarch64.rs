//! aarch64 constants. Every architecture file exports the same items.

/// Name used in diagnostics.
pub const ARCH_NAME: &str = "aarch64";

/// glibc's `RSEQ_SIG` for aarch64 (`brk #0x45e0`), emitted with `.inst` before the abort label.
pub const SIGNATURE: u32 = 0xd428_bc00;

/// `rseq` system call number (the generic syscall table).
pub const SYS_RSEQ: libc::c_long = 293;

/// `seccomp_data.arch` of this architecture: `EM_AARCH64 | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE`.
pub const AUDIT_ARCH: u32 = 0xc000_00b7;

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
            "adrp {offset}, :got:__rseq_offset",
            "ldr {offset}, [{offset}, :got_lo12:__rseq_offset]",
            "adrp {size}, :got:__rseq_size",
            "ldr {size}, [{size}, :got_lo12:__rseq_size]",
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
/// the GOT (initial-exec; the linker turns it into a constant in an executable), plus
/// `tpidr_el0`. No call, in executables and shared objects alike.
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
                concat!("adrp {w}, :gottprel:", static_tls_symbol!()),
                concat!("ldr {w}, [{w}, #:gottprel_lo12:", static_tls_symbol!(), "]"),
                "mrs {tp}, tpidr_el0",
                "add {w}, {w}, {tp}",
                w = out(reg) words,
                tp = out(reg) _,
                options(nostack, readonly, preserves_flags),
            );
        } else {
            core::arch::asm!(
                concat!("adrp {w}, :gottprel:", static_tls_symbol!()),
                concat!("ldr {w}, [{w}, #:gottprel_lo12:", static_tls_symbol!(), "]"),
                "mrs {tp}, tpidr_el0",
                "add {w}, {w}, {tp}",
                w = out(reg) words,
                tp = out(reg) _,
                options(nostack, pure, readonly, preserves_flags),
            );
        }
    }
    words
}
