//! The rseq ABI, declared once: the per-thread area, the critical-section descriptor,
//! the special `cpu_id` values, auxiliary-vector tags, and per-architecture constants.
//!
//! Offsets are checked at compile time so that generated asm (which addresses fields by
//! number) and these declarations cannot drift apart.

use core::mem::{align_of, offset_of, size_of};

/// The symbol of the `static-tls` block (`fast.rs`), the same in every `abi/<arch>.rs`:
/// hidden (never exported from a shared object) and named after this crate's version, so
/// that two versions in one program keep two blocks.
#[cfg(feature = "static-tls")]
#[allow(unused_macros)] // 64-bit architectures with an initial-exec access use it
macro_rules! static_tls_symbol {
    () => {
        concat!(
            "__rseq_dsl_fast_words_",
            env!("CARGO_PKG_VERSION_MAJOR"),
            "_",
            env!("CARGO_PKG_VERSION_MINOR"),
            "_",
            env!("CARGO_PKG_VERSION_PATCH")
        )
    };
}

/// The `static-tls` block's initial image (`fast::FastWords`: the stand-in area, a null
/// `mm_cid` area, "no area"), in `.tdata`, for `abi/<arch>.rs`; `$align` is `.p2align`'s.
#[cfg(feature = "static-tls")]
#[allow(unused_macros)] // as static_tls_symbol
macro_rules! static_tls_image {
    () => {
        core::arch::global_asm!(
            ".pushsection .tdata, \"awT\", %progbits",
            ".p2align 3",
            concat!(".globl ", static_tls_symbol!()),
            concat!(".hidden ", static_tls_symbol!()),
            concat!(".type ", static_tls_symbol!(), ", %object"),
            concat!(".size ", static_tls_symbol!(), ", 24"),
            concat!(static_tls_symbol!(), ":"),
            ".quad {standin}",
            ".quad 0",
            ".byte 1",
            ".zero 7",
            ".popsection",
            standin = sym crate::registration::UNREGISTERED,
        );
    };
}

// The rseq backends: each architecture's name and its ABI file, kept where build.rs (the
// one list of backends and the targets each serves) set `rseq_dsl_backend` to its name.
// Everything that differs between a target with rseq sections and one without (the
// runtime's platform modules, and which arm of a section's expansion is compiled, see
// `__rseq_backend!`) follows from that cfg.
//
// `$d` is a literal `$`, passed in so that the macros defined inside can have metavariables
// of their own.
macro_rules! backends {
    ($d:tt $($name:ident: $file:literal if $target:meta;)*) => {
        $(
            #[cfg($target)]
            #[path = $file]
            mod arch;
        )*

        /// Items for targets with an rseq backend.
        macro_rules! with_backend {
            ($d($d item:item)*) => { $d( #[cfg(any($($target),*))] $d item )* };
        }

        /// Items for every other target: the platform without rseq sections.
        macro_rules! without_backend {
            ($d($d item:item)*) => { $d( #[cfg(not(any($($target),*)))] $d item )* };
        }

        /// `with_backend!` for other crates of the workspace (their tests): items kept only
        /// on targets with a backend. Not an API.
        //
        // The exported forms decide here, in this crate, and expand to the items or to
        // nothing: a `cfg` in their expansion would be evaluated in the calling crate,
        // which may lack this crate's build-script cfgs (`rseq_dsl_backend`).
        #[cfg(any($($target),*))]
        #[doc(hidden)]
        #[macro_export]
        macro_rules! __rseq_with_backend {
            ($d($d item:item)*) => { $d( $d item )* };
        }

        #[cfg(not(any($($target),*)))]
        #[doc(hidden)]
        #[macro_export]
        macro_rules! __rseq_with_backend {
            ($d($d item:item)*) => {};
        }

        /// `without_backend!` for other crates of the workspace. Not an API.
        #[cfg(any($($target),*))]
        #[doc(hidden)]
        #[macro_export]
        macro_rules! __rseq_without_backend {
            ($d($d item:item)*) => {};
        }

        #[cfg(not(any($($target),*)))]
        #[doc(hidden)]
        #[macro_export]
        macro_rules! __rseq_without_backend {
            ($d($d item:item)*) => { $d( $d item )* };
        }

        /// The architectures with an rseq backend (on Linux).
        ///
        /// ```
        /// assert!(rseq_dsl_runtime::abi::BACKENDS.contains(&"x86_64"));
        /// ```
        pub const BACKENDS: &[&str] = &[$(stringify!($name)),*];

        /// The backend this build has, `None` on a target without one (another operating
        /// system, or a Linux architecture without a backend), where every section returns
        /// [`Unavailable`](crate::Unavailable) and the building blocks use their fallbacks.
        ///
        /// ```
        /// let expected = cfg!(all(target_os = "linux", target_arch = "x86_64", target_pointer_width = "64"));
        /// assert_eq!(rseq_dsl_runtime::abi::BACKEND == Some("x86_64"), expected);
        /// ```
        pub const BACKEND: Option<&str> = {
            #[allow(unused_mut, unused_assignments)]
            let mut backend = None;
            $( if cfg!($target) { backend = Some(stringify!($name)); } )*
            backend
        };

        // What `rseq!` expands to is one arm per backend and a `none` arm; this macro,
        // defined here for the target being built, keeps the arm of this build's backend and
        // drops the others unexpanded (their asm would not even parse elsewhere). A
        // proc-macro cannot see the target itself (it runs on the host).
        $(
            #[cfg($target)]
            #[doc(hidden)]
            #[macro_export]
            macro_rules! __rseq_backend {
                ($name => $d body:block $d($d rest:tt)*) => { $d body };
                ($d other:ident => $d body:block $d($d rest:tt)*) => {
                    $d crate::__rseq_backend!($d($d rest)*)
                };
                () => {
                    ::core::compile_error!(::core::concat!(
                        "rseq-dsl-macros emitted no section for the ",
                        ::core::stringify!($name),
                        " backend: use the rseq-dsl-macros version rseq-dsl depends on"
                    ))
                };
            }
        )*
        #[cfg(not(any($($target),*)))]
        #[doc(hidden)]
        #[macro_export]
        macro_rules! __rseq_backend {
            (none => $d body:block $d($d rest:tt)*) => { $d body };
            ($d other:ident => $d body:block $d($d rest:tt)*) => {
                $d crate::__rseq_backend!($d($d rest)*)
            };
            () => {
                ::core::compile_error!(
                    "rseq-dsl-macros emitted no `none` arm: use the rseq-dsl-macros version rseq-dsl depends on"
                )
            };
        }
    };
}

backends! { $
    x86_64: "abi/x86_64.rs" if rseq_dsl_backend = "x86_64";
    aarch64: "abi/aarch64.rs" if rseq_dsl_backend = "aarch64";
    riscv64: "abi/riscv64.rs" if rseq_dsl_backend = "riscv64";
    i686: "abi/i686.rs" if rseq_dsl_backend = "i686";
    armv7: "abi/armv7.rs" if rseq_dsl_backend = "armv7";
    s390x: "abi/s390x.rs" if rseq_dsl_backend = "s390x";
    powerpc64: "abi/powerpc64.rs" if rseq_dsl_backend = "powerpc64";
    loongarch64: "abi/loongarch64.rs" if rseq_dsl_backend = "loongarch64";
}

with_backend! {
    pub use arch::{glibc_rseq_symbols, thread_pointer, ARCH_NAME, AUDIT_ARCH, SIGNATURE, SYS_RSEQ};
    #[cfg(feature = "static-tls")]
    pub(crate) use arch::static_tls_words;
}

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

/// Byte offset of `cpu_id_start`, where a `cpu_id` section reads its index: always a valid
/// CPU number (0 in an area nobody registered), compared with `cpu_id` inside the section.
pub const CPU_ID_START_OFFSET: usize = 0;
/// Byte offset of `cpu_id`, used by generated code for the cpu check.
pub const CPU_ID_OFFSET: usize = 4;
/// Byte offset of `rseq_cs`, the descriptor pointer generated code stores first.
pub const RSEQ_CS_OFFSET: usize = 8;
/// Byte offset of `flags` (kernel-owned status bits since 7.0: the time-slice extension's).
pub const FLAGS_OFFSET: usize = 16;
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
pub const AT_RSEQ_FEATURE_SIZE: core::ffi::c_ulong = 27;
/// `getauxval` tag: the alignment the kernel requires for the area (6.3+).
pub const AT_RSEQ_ALIGN: core::ffi::c_ulong = 28;

/// `rseq()` flag that unregisters the area.
pub const RSEQ_FLAG_UNREGISTER: core::ffi::c_int = 1;

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
