//! What a thread's registration is, for diagnostics: the same types on every target (where
//! rseq is unavailable, [`registration`](crate::registration) returns the reason instead).

use crate::abi::{self, RseqArea};

/// Who registered the calling thread's area.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Owner {
    /// glibc (2.35+) registered it at thread start; this crate only reads it.
    Glibc,
    /// This crate registered a thread-local area of its own.
    Own,
}

/// Which of the kernel's two registration modes a thread's area is in (Linux 7.0+ tells
/// them apart by the registered length; earlier kernels have only the first).
///
/// ```
/// use rseq_dsl_runtime::Mode;
/// assert_eq!(Mode::for_len(32), Mode::Legacy);
/// assert_eq!(Mode::for_len(33), Mode::V2);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Registered with the original 32 bytes: the kernel rewrites the ids at every context
    /// switch and signal, and looks at `rseq_cs` on every return to user space.
    Legacy,
    /// Registered with more than 32 bytes (Linux 7.0+): ids are written only when they
    /// change, `rseq_cs` is evaluated only after a preemption or before a signal, and any
    /// user write to a kernel-owned field gets the process killed.
    V2,
}

impl Mode {
    /// The mode a registration of `len` bytes selects.
    pub const fn for_len(len: u32) -> Mode {
        if len > abi::LEGACY_AREA_LEN {
            Mode::V2
        } else {
            Mode::Legacy
        }
    }
}

/// How the calling thread's rseq area is registered, for diagnostics.
///
/// ```
/// match rseq_dsl_runtime::registration() {
///     Ok(r) => println!(
///         "{:?} area, {:?} mode ({} bytes), feature size {}, alignment {}",
///         r.owner, r.mode, r.registered_len, r.feature_size, r.required_alignment
///     ),
///     Err(e) => println!("{e}"),
/// }
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct Registration {
    /// Who registered the area.
    pub owner: Owner,
    /// The kernel mode the registration selected.
    pub mode: Mode,
    /// The length the area was registered with (32, or more in [`Mode::V2`]).
    pub registered_len: u32,
    /// Bytes of the area the kernel fills in (`AT_RSEQ_FEATURE_SIZE`, 20 before Linux 6.3).
    pub feature_size: u32,
    /// The alignment the kernel requires of an area longer than 32 bytes
    /// (`AT_RSEQ_ALIGN`; 32 where the kernel does not publish it).
    pub required_alignment: u32,
    /// glibc's `__rseq_offset` from the thread pointer, when glibc owns the area.
    pub thread_pointer_offset: Option<isize>,
    /// Address of the area.
    pub area: *const RseqArea,
}
