//! Backends: one module per architecture, each turning a [`Lowered`] section into `asm!`
//! template lines over named operands. Operand names are shared by all backends:
//! `s0..sN` for register slots, `scratch`, `result` (the address of the expansion's
//! result slot), `c0..cN` for `const` sizes, and the label operands `abort`, `exitK`, `trapK`.

use crate::lower::{Lowered, Target};

pub mod aarch64;
pub mod riscv64;
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

/// Where a branch leaves the section: the label operands with `asm goto`, the local stubs
/// that set the status without.
pub fn abort_target(lowered: &Lowered) -> String {
    if lowered.goto {
        ABORT_TARGET.to_string()
    } else {
        format!("{ABORT_LABEL}f")
    }
}

pub fn exit_target(lowered: &Lowered, exit: usize) -> String {
    if lowered.goto {
        exit_operand(exit)
    } else {
        format!("{}f", FIRST_EXIT_LABEL + exit as u32)
    }
}

pub fn trap_target(lowered: &Lowered, check: usize) -> String {
    if lowered.goto {
        trap_operand(check)
    } else {
        format!("{}f", trap_label(check))
    }
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
pub const BACKENDS: [(&str, &dyn Backend); 3] = [
    ("x86_64", &x86_64::X86_64),
    ("aarch64", &aarch64::Aarch64),
    ("riscv64", &riscv64::Riscv64),
];

/// The descriptor (version 0, flags 0, start, length up to post-commit, abort) in
/// `__rseq_cs`, and its entry in `__rseq_cs_ptr_array` for debuggers and the descriptor
/// walk: the same directives on every 64-bit little-endian architecture.
pub fn descriptor_tables() -> Vec<String> {
    vec![
        "  .pushsection __rseq_cs, \"aw\"".to_string(),
        "  .balign 32".to_string(),
        format!("{DESCRIPTOR_LABEL}:"),
        "  .long 0, 0".to_string(),
        format!("  .quad {START_LABEL}f, ({POST_COMMIT_LABEL}f - {START_LABEL}f), {ABORT_LABEL}f"),
        "  .popsection".to_string(),
        // "R" (retain): nothing references the array, and the linker would drop it.
        "  .pushsection __rseq_cs_ptr_array, \"awR\"".to_string(),
        "  .balign 8".to_string(),
        format!("  .quad {DESCRIPTOR_LABEL}b"),
        "  .popsection".to_string(),
    ]
}

/// One `(start, exit)` pair in `__rseq_exit_point_array` per exit, the exit being where
/// the section's branch leaves it: `exit_stub(k)` gives the stub's label reference, or
/// `None` where the branch goes straight to the expansion's label operand.
pub fn exit_point_table(exits: usize, exit_stub: impl Fn(usize) -> Option<String>) -> Vec<String> {
    if exits == 0 {
        return Vec::new();
    }
    let mut lines = vec![
        "  .pushsection __rseq_exit_point_array, \"awR\"".to_string(),
        "  .balign 8".to_string(),
    ];
    for exit in 0..exits {
        let target = exit_stub(exit).unwrap_or_else(|| exit_operand(exit));
        lines.push(format!("  .quad {START_LABEL}b, {target}"));
    }
    lines.push("  .popsection".to_string());
    lines
}
