//! powerpc64 (little-endian, ELFv2) constants. Every architecture file exports the same
//! items. Sources: the kernel's `tools/testing/selftests/rseq/rseq-ppc.h` and
//! `rseq-ppc-thread-pointer.h`, glibc's `sysdeps/unix/sysv/linux/powerpc/bits/rseq.h`
//! (installed as the cross glibc's `bits/rseq.h`), `arch/powerpc/kernel/syscalls/syscall.tbl`.

/// Name used in diagnostics.
pub const ARCH_NAME: &str = "powerpc64";

/// glibc's and the selftests' powerpc `RSEQ_SIG` (`twui r5,11`), the same value on every
/// powerpc: a data word in the process's byte order, which the kernel compares as a u32.
pub const SIGNATURE: u32 = 0x0fe5_000b;

/// `rseq` system call number on powerpc (`arch/powerpc/kernel/syscalls/syscall.tbl`: 387).
pub const SYS_RSEQ: libc::c_long = 387;

/// `seccomp_data.arch` of this architecture: `EM_PPC64 | __AUDIT_ARCH_64BIT | __AUDIT_ARCH_LE`.
pub const AUDIT_ARCH: u32 = 0xc000_0015;

/// The thread pointer, r13, as it is: the selftests' `rseq_thread_pointer` returns r13 and
/// adds glibc's `__rseq_offset` to it (glibc's TLS block sits 0x7000 below r13, so the
/// offset is negative; nothing is subtracted here).
#[inline(always)]
pub fn thread_pointer() -> *mut u8 {
    let tp: *mut u8;
    // SAFETY: copies r13, which the C runtime sets up for every thread and the ABI keeps
    // unchanged; no memory access.
    unsafe {
        core::arch::asm!("mr {}, 13", out(reg) tp, options(nostack, nomem, preserves_flags));
    }
    tp
}

/// The addresses of glibc's `__rseq_offset` and `__rseq_size`, or nulls where the C library
/// does not define them (musl, glibc before 2.35).
///
/// Weak references, resolved by the linker or the dynamic loader before any Rust code runs,
/// as on the other architectures, but not through the TOC: r2 holds this function's TOC
/// only if the compiler knows that it uses one, which an `asm!` does not tell it. The two
/// addresses are data words of their own (relocated like a GOT entry: 0 for a weak
/// undefined symbol), found pc-relative as the sections find their descriptor.
///
/// ```
/// let (offset, size) = rseq_dsl_runtime::abi::glibc_rseq_symbols();
/// // glibc defines both or neither.
/// assert_eq!(offset.is_null(), size.is_null());
/// ```
#[inline(never)]
pub fn glibc_rseq_symbols() -> (*const isize, *const u32) {
    let (offset, size): (*const isize, *const u32);
    // SAFETY: loads two words filled in at link or load time; `.weak` makes a missing
    // definition resolve to 0 instead of failing the link. `bcl 20,31` writes only the
    // link register (declared). No other memory is touched.
    unsafe {
        core::arch::asm!(
            ".weak __rseq_offset",
            ".weak __rseq_size",
            ".pushsection .data.rel.ro, \"aw\"",
            ".balign 8",
            "4:",
            ".quad __rseq_offset, __rseq_size",
            ".popsection",
            "bcl 20, 31, 2f",
            "2:",
            "mflr {size}",
            "addis {size}, {size}, (4b - 2b)@ha",
            "addi {size}, {size}, (4b - 2b)@l",
            "ld {offset}, 0({size})",
            "ld {size}, 8({size})",
            offset = out(reg_nonzero) offset,
            size = out(reg_nonzero) size,
            out("lr") _,
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
