//! The rseq ABI, declared once: the per-thread area, the critical-section descriptor,
//! the special `cpu_id` values, auxiliary-vector tags, and per-architecture constants.
//!
//! Offsets are checked at compile time so that generated asm (which addresses fields by
//! number) and these declarations cannot drift apart.

use core::mem::{align_of, offset_of, size_of};

// One file per architecture, each exporting the same items; this list is the only place
// that names the supported architectures (the crate refuses any other target here).
#[cfg(target_arch = "aarch64")]
#[path = "abi/aarch64.rs"]
mod arch;
#[cfg(target_arch = "riscv64")]
#[path = "abi/riscv64.rs"]
mod arch;
#[cfg(target_arch = "x86_64")]
#[path = "abi/x86_64.rs"]
mod arch;

#[cfg(not(any(
    target_arch = "aarch64",
    target_arch = "riscv64",
    target_arch = "x86_64"
)))]
compile_error!("rseq-dsl supports x86_64, aarch64 and riscv64 Linux");

pub use arch::{glibc_rseq_symbols, thread_pointer, ARCH_NAME, AUDIT_ARCH, SIGNATURE, SYS_RSEQ};

/// The per-thread area shared with the kernel (`struct rseq` of the uapi header).
///
/// User code may write only [`rseq_cs`](Self::rseq_cs); every other field belongs to the
/// kernel (a write to one of them kills the process under the kernel's V2 mode).
///
/// ```
/// use rseq_dsl_runtime::abi::RseqArea;
/// assert_eq!(core::mem::size_of::<RseqArea>(), 32);
/// assert_eq!(core::mem::align_of::<RseqArea>(), 32);
/// ```
#[repr(C, align(32))]
#[derive(Debug)]
pub struct RseqArea {
    /// Always a valid CPU number once registered (kernel-owned).
    pub cpu_id_start: u32,
    /// The current CPU, or [`CPU_ID_UNREGISTERED`] / [`CPU_ID_REGISTRATION_FAILED`].
    pub cpu_id: u32,
    /// Address of the active [`RseqCs`] descriptor, or 0 (user-owned).
    pub rseq_cs: u64,
    /// Must stay 0: every flag here is deprecated.
    pub flags: u32,
    /// NUMA node of `cpu_id` (kernel 6.3+).
    pub node_id: u32,
    /// Memory-map concurrency id, compact per process (kernel 6.3+).
    pub mm_cid: u32,
    /// Time-slice extension control word (kernel 7.0+).
    pub slice_ctrl: u32,
}

impl RseqArea {
    /// An area as it must be before registration: `cpu_id` says "not registered".
    pub const fn new() -> Self {
        RseqArea {
            cpu_id_start: 0,
            cpu_id: CPU_ID_UNREGISTERED as u32,
            rseq_cs: 0,
            flags: 0,
            node_id: 0,
            mm_cid: 0,
            slice_ctrl: 0,
        }
    }
}

impl Default for RseqArea {
    fn default() -> Self {
        Self::new()
    }
}

/// A critical-section descriptor (`struct rseq_cs`), as generated code emits it into the
/// `__rseq_cs` section.
///
/// ```
/// use rseq_dsl_runtime::abi::RseqCs;
/// assert_eq!(core::mem::size_of::<RseqCs>(), 32);
/// ```
#[repr(C, align(32))]
#[derive(Debug, Clone, Copy)]
pub struct RseqCs {
    /// Must be 0.
    pub version: u32,
    /// Must be 0.
    pub flags: u32,
    /// First instruction of the section (after the descriptor store).
    pub start_ip: u64,
    /// Length of the section: `post_commit_ip - start_ip`.
    pub post_commit_offset: u64,
    /// Where the kernel moves an interrupted section; the signature sits in the 4 bytes before.
    pub abort_ip: u64,
}

/// `cpu_id` of an area that was never registered.
pub const CPU_ID_UNREGISTERED: i32 = -1;
/// `cpu_id` of glibc's area when its registration failed or was disabled by the tunable.
pub const CPU_ID_REGISTRATION_FAILED: i32 = -2;

/// Byte offset of `cpu_id`, used by generated code for the cpu check.
pub const CPU_ID_OFFSET: usize = 4;
/// Byte offset of `rseq_cs`, the descriptor pointer generated code stores first.
pub const RSEQ_CS_OFFSET: usize = 8;
/// Byte offset of `node_id`.
pub const NODE_ID_OFFSET: usize = 20;
/// Byte offset of `mm_cid`, used by generated code in `mm_cid` mode.
pub const MM_CID_OFFSET: usize = 24;
/// Byte offset of `slice_ctrl`.
pub const SLICE_CTRL_OFFSET: usize = 28;

/// The original registration length, accepted by every kernel with rseq. A longer one
/// (at least the feature size, aligned to `AT_RSEQ_ALIGN`) selects the V2 mode of Linux 7.0+.
pub const LEGACY_AREA_LEN: u32 = 32;

/// Feature size of kernels before 6.3, which do not publish `AT_RSEQ_FEATURE_SIZE`.
pub const ORIGINAL_FEATURE_SIZE: u32 = 20;

/// `getauxval` tag: how many bytes of the area the kernel fills in (6.3+).
pub const AT_RSEQ_FEATURE_SIZE: libc::c_ulong = 27;
/// `getauxval` tag: the alignment the kernel requires for the area (6.3+).
pub const AT_RSEQ_ALIGN: libc::c_ulong = 28;

/// `rseq()` flag that unregisters the area.
pub const RSEQ_FLAG_UNREGISTER: libc::c_int = 1;

const _: () = {
    assert!(size_of::<RseqArea>() == 32);
    assert!(align_of::<RseqArea>() == 32);
    assert!(offset_of!(RseqArea, cpu_id_start) == 0);
    assert!(offset_of!(RseqArea, cpu_id) == CPU_ID_OFFSET);
    assert!(offset_of!(RseqArea, rseq_cs) == RSEQ_CS_OFFSET);
    assert!(offset_of!(RseqArea, flags) == 16);
    assert!(offset_of!(RseqArea, node_id) == NODE_ID_OFFSET);
    assert!(offset_of!(RseqArea, mm_cid) == MM_CID_OFFSET);
    assert!(offset_of!(RseqArea, slice_ctrl) == SLICE_CTRL_OFFSET);
    assert!(size_of::<RseqCs>() == 32);
    assert!(align_of::<RseqCs>() == 32);
    assert!(offset_of!(RseqCs, version) == 0);
    assert!(offset_of!(RseqCs, flags) == 4);
    assert!(offset_of!(RseqCs, start_ip) == 8);
    assert!(offset_of!(RseqCs, post_commit_offset) == 16);
    assert!(offset_of!(RseqCs, abort_ip) == 24);
};
