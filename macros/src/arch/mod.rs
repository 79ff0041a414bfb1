//! Backends: one module per architecture, each turning a [`Lowered`] section into `asm!`
//! template lines over named operands. Operand names are shared by all backends:
//! `s0..sN` for register slots, `status`, `result`, and `c0..cN` for `const` sizes.

use crate::lower::{Lowered, Target};

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

/// The backend of the architecture the macro expands for.
///
/// A proc-macro runs on the host, so the target architecture is read from Cargo's
/// `CARGO_CFG_TARGET_ARCH` when building a crate, falling back to the host's.
pub fn for_target() -> Result<&'static dyn Backend, String> {
    let arch = std::env::var("CARGO_CFG_TARGET_ARCH")
        .unwrap_or_else(|_| std::env::consts::ARCH.to_string());
    match arch.as_str() {
        "x86_64" => Ok(&x86_64::X86_64),
        other => Err(format!(
            "rseq! has no backend for `{other}` yet: supported is x86_64"
        )),
    }
}
