//! Backends: one module per architecture, each turning a [`Lowered`] section into `asm!`
//! template lines over named operands. Operand names are shared by all backends:
//! `s0..sN` for register slots, `status`, `result`, and `c0..cN` for `const` sizes.

use crate::lower::{Lowered, Target};

pub mod aarch64;
pub mod x86_64;

/// Labels every backend uses. Intel-syntax x86 rejects labels made only of 0s and 1s, so
/// numbering starts at 2 and exits use 20..=99.
pub const DESCRIPTOR_LABEL: u32 = 3;
pub const START_LABEL: u32 = 4;
pub const POST_COMMIT_LABEL: u32 = 5;
pub const ABORT_LABEL: u32 = 6;
pub const END_LABEL: u32 = 9;
pub const FIRST_EXIT_LABEL: u32 = 20;
pub const MAX_EXITS: usize = 80;

/// Status values the section leaves in the `status` operand.
pub const STATUS_COMMITTED: usize = 0;
pub const STATUS_EXITED: usize = 1;
pub const STATUS_ABORTED: usize = 2;
/// Compare-twice check `k` failed: status `STATUS_FIRST_TRAP + k`.
pub const STATUS_FIRST_TRAP: usize = 3;

/// Label of delay point `p`'s loop: `200 + 10 * p` (never only 0s and 1s).
pub fn spin_label(point: u8) -> u32 {
    200 + 10 * u32::from(point)
}

/// Label of compare-twice check `k`'s trap stub.
pub fn trap_label(check: usize) -> u32 {
    300 + check as u32
}

/// An architecture backend.
pub trait Backend: Target {
    /// The asm template, one line per element.
    fn emit(&self, lowered: &Lowered) -> Vec<String>;
}

/// Every backend, by the `target_arch` it serves. A proc-macro runs on the host and cannot
/// see the target (Cargo sets `CARGO_CFG_TARGET_ARCH` only for build scripts), so the
/// expansion holds one `#[cfg(target_arch = ...)]` variant per backend.
pub const BACKENDS: [(&str, &dyn Backend); 2] =
    [("x86_64", &x86_64::X86_64), ("aarch64", &aarch64::Aarch64)];

/// The error of a target without a backend.
pub const UNSUPPORTED_TARGET: &str =
    "rseq! has no backend for this target architecture: supported are x86_64 and aarch64";
