//! x86_64 constants. Every architecture file exports the same items.

/// Name used in diagnostics.
pub const ARCH_NAME: &str = "x86_64";

/// glibc's `RSEQ_SIG` for x86: the kernel compares it with the 4 bytes before `abort_ip`.
/// Emitted as the immediate of a trapping `ud1`, so that stray execution faults.
pub const SIGNATURE: u32 = 0x5305_3053;

/// `rseq` system call number.
pub const SYS_RSEQ: libc::c_long = 334;

/// `seccomp_data.arch` of this architecture: `EM_X86_64 | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE`.
pub const AUDIT_ARCH: u32 = 0xc000_003e;

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
            "mov {offset}, qword ptr [rip + __rseq_offset@GOTPCREL]",
            "mov {size}, qword ptr [rip + __rseq_size@GOTPCREL]",
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
/// the GOT (initial-exec; in an executable the linker turns the load into a constant),
/// plus the thread pointer. No call, in executables and shared objects alike.
#[cfg(feature = "static-tls")]
#[inline(always)]
pub(crate) fn static_tls_words<const FRESH: bool>() -> *mut u8 {
    let words: *mut u8;
    // SAFETY: reads a GOT entry the loader filled with the block's offset, and the TCB
    // self-pointer at fs:0; no memory is written, no stack used.
    unsafe {
        // FRESH: not `pure`, so the compiler computes it again rather than keep an
        // earlier result live (see fast::no_area).
        if FRESH {
            core::arch::asm!(
                concat!("mov {w}, qword ptr [rip + ", static_tls_symbol!(), "@GOTTPOFF]"),
                "add {w}, qword ptr fs:[0]",
                w = out(reg) words,
                options(nostack, readonly),
            );
        } else {
            core::arch::asm!(
                concat!("mov {w}, qword ptr [rip + ", static_tls_symbol!(), "@GOTTPOFF]"),
                "add {w}, qword ptr fs:[0]",
                w = out(reg) words,
                options(nostack, pure, readonly),
            );
        }
    }
    words
}
