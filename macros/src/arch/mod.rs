//! Backends: one module per architecture, each turning a [`Lowered`] section into `asm!`
//! template lines over named operands. Operand names are shared by all backends:
//! `s0..sN` for register slots, `scratch`, `result` (the address of the expansion's
//! result slot), `c0..cN` for `const` sizes, and the label operands `abort`, `exitK`, `trapK`.

use crate::lower::{Lowered, Target};

pub use emit::{Cond, Isa, Layout, Printer};

pub mod aarch64;
pub mod armv7;
pub mod emit;
pub mod i686;
pub mod powerpc64;
pub mod loongarch64;
pub mod risc;
pub mod riscv64;
pub mod s390x;
pub mod x86_64;

/// Local labels every backend uses. Intel-syntax x86 rejects labels made only of 0s and
/// 1s, so numbering starts at 2 and exit stubs use 20..=99.
pub const DESCRIPTOR_LABEL: u32 = 3;
pub const START_LABEL: u32 = 4;
pub const POST_COMMIT_LABEL: u32 = 5;
/// The abort handler the kernel jumps to (after the signature): it jumps on to the
/// expansion's `abort` label operand.
pub const ABORT_LABEL: u32 = 6;
/// The end of the template, for backends that keep their stubs inline and jump over them.
pub const END_LABEL: u32 = 9;
/// Exit stubs of backends that keep them inline: exit `k` at `FIRST_EXIT_LABEL + k`.
pub const FIRST_EXIT_LABEL: u32 = 20;
pub const MAX_EXITS: usize = 80;

/// Status values a section without `asm goto` ([`Lowered::goto`]) leaves in `scratch`.
pub const STATUS_COMMITTED: usize = 0;
pub const STATUS_EXITED: usize = 1;
pub const STATUS_ABORTED: usize = 2;
/// Compare-twice check `k` failed: status `STATUS_FIRST_TRAP + k`.
pub const STATUS_FIRST_TRAP: usize = 3;

/// The `asm goto` label operands, as the template names them (the expansion declares
/// them): the abort edge, exit `k`, compare-twice check `k`.
pub const ABORT_TARGET: &str = "{abort}";

pub fn exit_operand(exit: usize) -> String {
    format!("{{exit{exit}}}")
}

pub fn trap_operand(check: usize) -> String {
    format!("{{trap{check}}}")
}

/// Label of compare-twice check `k`'s stub, in sections with a status.
pub fn trap_label(check: usize) -> u32 {
    300 + check as u32
}

/// Label of delay point `p`'s loop: `200 + 10 * p` (never only 0s and 1s).
pub fn spin_label(point: u8) -> u32 {
    200 + 10 * u32::from(point)
}

/// Labels inside a run-time `copy`'s loop: its word loop, then the skips past the 4-, 2-
/// and 1-byte tail moves. Every reference is to the nearest one (`401b`, `402f`), so the
/// loops of several copies in one section reuse the numbers.
pub const COPY_WORD_LOOP_LABEL: u32 = 401;
pub const COPY_TAIL_LABELS: [u32; 4] = [402, 403, 404, 405];

/// The tail of a run-time `copy` after its 8-byte loop, fewer than 8 bytes: a move of
/// `bytes` for each bit of the remaining length, 4, then 2, then 1, each skipped to the
/// label after it when its bit is clear.
pub const COPY_TAIL: [(u8, u32); 3] = [
    (4, COPY_TAIL_LABELS[1]),
    (2, COPY_TAIL_LABELS[2]),
    (1, COPY_TAIL_LABELS[3]),
];

/// An architecture backend.
pub trait Backend: Target {
    /// The asm template, one line per element.
    fn emit(&self, lowered: &Lowered) -> Vec<String>;
}

/// Every backend, by the name the runtime's `abi` module gives it (its `backends!` list says
/// which targets each serves). A proc-macro runs on the host and cannot see the target
/// (Cargo sets `CARGO_CFG_TARGET_ARCH` only for build scripts), so the expansion holds one
/// arm per backend and the runtime's `__rseq_backend!` keeps the target's. The first is the
/// reference: targets without a backend check sections as it does.
pub const BACKENDS: [(&str, &dyn Backend); 8] = [
    ("x86_64", &x86_64::X86_64),
    ("aarch64", &aarch64::Aarch64),
    ("riscv64", &riscv64::BACKEND),
    ("i686", &i686::I686),
    ("armv7", &armv7::Armv7),
    ("s390x", &s390x::S390x),
    ("powerpc64", &powerpc64::Powerpc64),
    ("loongarch64", &loongarch64::BACKEND),
];
