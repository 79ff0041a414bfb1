//! i686 (32-bit x86) constants. Every architecture file exports the same items.

/// Name used in diagnostics.
pub const ARCH_NAME: &str = "i686";

/// glibc's `RSEQ_SIG` for x86, 32- and 64-bit alike: the kernel compares it with the 4
/// bytes before `abort_ip`. Emitted as the immediate of a trapping `ud1`.
pub const SIGNATURE: u32 = 0x5305_3053;

/// `rseq` system call number on i386 (`arch/x86/entry/syscalls/syscall_32.tbl`), also
/// what a 32-bit process calls on a 64-bit kernel.
pub const SYS_RSEQ: libc::c_long = 386;

/// `seccomp_data.arch` of this architecture: `EM_386 | __AUDIT_ARCH_LE`.
pub const AUDIT_ARCH: u32 = 0x4000_0003;

/// The thread pointer: glibc's and musl's TCB starts with a pointer to itself at `gs:0`.
#[inline(always)]
pub fn thread_pointer() -> *mut u8 {
    let tp: *mut u8;
    // SAFETY: reads the TCB self-pointer that the C runtime stores at gs:0 for every thread;
    // no memory is written and no stack is used.
    unsafe {
        core::arch::asm!("mov {}, dword ptr gs:[0]", out(reg) tp, options(nostack, readonly, preserves_flags));
    }
    tp
}

/// The addresses of glibc's `__rseq_offset` and `__rseq_size`, or nulls where the C library
/// does not define them (musl, glibc before 2.35).
///
/// Weak references through the GOT, as on x86_64; i386 has no pc-relative loads, so the
/// GOT's address comes from a `call` to the next instruction (the classic i386 PIC
/// sequence), which uses the stack. A weak undefined symbol's GOT entry holds 0.
///
/// ```
/// let (offset, size) = rseq_dsl_runtime::abi::glibc_rseq_symbols();
/// // glibc defines both or neither.
/// assert_eq!(offset.is_null(), size.is_null());
/// ```
#[inline(never)]
pub fn glibc_rseq_symbols() -> (*const isize, *const u32) {
    let (offset, size): (*const isize, *const u32);
    // SAFETY: a call/pop pair (balanced: the stack is as it was) and two loads of GOT
    // entries filled in at link or load time; `.weak` makes a missing definition resolve to
    // 0 instead of failing the link. No other memory is touched.
    unsafe {
        core::arch::asm!(
            ".weak __rseq_offset",
            ".weak __rseq_size",
            "call 2f",
            "2:",
            "popl {got}",
            // The assembler makes this an R_386_GOTPC: the GOT's distance from label 3,
            // plus label 3's from label 2, is the GOT's from the popped address. (AT&T
            // syntax: LLVM's Intel parser takes no symbol plus label difference.)
            "3:",
            "addl $_GLOBAL_OFFSET_TABLE_ + (3b - 2b), {got}",
            "movl __rseq_offset@GOT({got}), {offset}",
            "movl __rseq_size@GOT({got}), {size}",
            got = out(reg) _,
            offset = out(reg) offset,
            size = out(reg) size,
            options(att_syntax, readonly),
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
