//! The half of every backend that does not depend on the instruction set: the walk over
//! the instruction list, the shapes each architecture repeats with its own mnemonics, and
//! the layout of the code after the commit. A backend is an [`Isa`]: a condition-code
//! table, its registers and addressing, and one hook per primitive whose shape is its own
//! (a load, an ALU op, a compare-and-branch, the descriptor store...).
//!
//! What lives here, once:
//!
//! - the index check at the start and the compare-twice re-checks before the commit (one
//!   hook, [`Isa::branch_if_index_moved`], with the branch target picked here);
//! - the compare-twice reload (a load and an `ExitIf`-shaped compare);
//! - the delay loop of instrumented builds;
//! - the split of a literal `copy` into moves, and the bit-by-bit tail of a run-time one;
//! - where branches leave the section (label operands, or stubs) and the stubs, the
//!   signature and the abort handler after the commit, in one of two [`Layout`]s;
//! - the descriptor and the exit-point tables, with 32- or 64-bit pointers.

use super::{
    exit_operand, spin_label, trap_label, trap_operand, Backend, ABORT_LABEL, ABORT_TARGET,
    COPY_TAIL, COPY_TAIL_LABELS, DESCRIPTOR_LABEL, END_LABEL, FIRST_EXIT_LABEL, POST_COMMIT_LABEL,
    START_LABEL, STATUS_ABORTED, STATUS_COMMITTED, STATUS_EXITED, STATUS_FIRST_TRAP,
};
use crate::lower::{AluOp, CmpOp, Inst, Lowered, Mem, Operand, Target, VReg, Width};

/// The template being written, and the section it is written for.
pub struct Printer<'a> {
    pub lowered: &'a Lowered,
    pub lines: Vec<String>,
    /// Whether the section's branches go to the local stubs (see [`Layout`]).
    stubs: bool,
}

impl Printer<'_> {
    /// The `asm!` operand slot of a virtual register.
    pub fn slot(&self, vreg: VReg) -> usize {
        self.lowered.alloc.slot_of[vreg]
    }

    /// The template's name for a virtual register's operand (`{s3}`): one spelling for every
    /// backend.
    pub fn operand(&self, vreg: VReg) -> String {
        format!("{{s{}}}", self.slot(vreg))
    }

    pub fn line(&mut self, text: impl Into<String>) {
        self.lines.push(text.into());
    }

    pub fn label(&mut self, label: u32) {
        self.line(format!("{label}:"));
    }

    /// Where the section's abort branch goes: the `abort` label operand, or the local
    /// abort handler when branches go through stubs.
    pub fn abort_target(&self) -> String {
        if self.stubs {
            format!("{ABORT_LABEL}f")
        } else {
            ABORT_TARGET.to_string()
        }
    }

    pub fn exit_target(&self, exit: usize) -> String {
        if self.stubs {
            format!("{}f", FIRST_EXIT_LABEL + exit as u32)
        } else {
            exit_operand(exit)
        }
    }

    pub fn trap_target(&self, check: usize) -> String {
        if self.stubs {
            format!("{}f", trap_label(check))
        } else {
            trap_operand(check)
        }
    }
}

/// A compare-and-branch condition, its signedness resolved: each backend names them in
/// its [`Isa::condition`] table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cond {
    Eq,
    Ne,
    /// Signed.
    Lt,
    Le,
    Gt,
    Ge,
    /// Unsigned: lower, lower or same, higher, higher or same.
    Lo,
    Ls,
    Hi,
    Hs,
}

impl Cond {
    pub fn of(op: CmpOp, signed: bool) -> Cond {
        match (op, signed) {
            (CmpOp::Eq, _) => Cond::Eq,
            (CmpOp::Ne, _) => Cond::Ne,
            (CmpOp::Lt, true) => Cond::Lt,
            (CmpOp::Lt, false) => Cond::Lo,
            (CmpOp::Le, true) => Cond::Le,
            (CmpOp::Le, false) => Cond::Ls,
            (CmpOp::Gt, true) => Cond::Gt,
            (CmpOp::Gt, false) => Cond::Hi,
            (CmpOp::Ge, true) => Cond::Ge,
            (CmpOp::Ge, false) => Cond::Hs,
        }
    }
}

/// Where the code after the commit goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    /// The stubs (with a status) and the abort handler in `__rseq_failure`, out of the hot
    /// path's way; the committed path falls through. Needs branches that reach another
    /// section wherever the linker puts it (x86's `jcc rel32`), or `asm goto`, where
    /// conditional branches go straight to the label operands and only the abort handler,
    /// leaving with an unconditional jump, is out of line.
    OutOfLine,
    /// Stubs and abort handler right after the commit, skipped by a jump on the committed
    /// path: every branch stays short, and the stubs jump on to the label operands.
    Inline,
}

/// Mnemonics, registers, addressing and the primitives of one architecture.
pub trait Isa: Target {
    /// Pointer size in bytes: the descriptor's and tables' fields are 64-bit either way,
    /// a 32-bit pointer filled up with a zero word (little-endian).
    fn pointer_bytes(&self) -> u8 {
        8
    }
    /// Where the stubs and the abort handler go, with or without `asm goto`.
    fn layout(&self, goto: bool) -> Layout;
    /// The directives that put the signature in the 4 bytes before the abort label.
    fn signature(&self) -> Vec<String>;
    /// The name of each condition in conditional branches (`jb`, `b.lo`, `bltu`...).
    fn condition(&self, cond: Cond) -> &'static str;
    /// An unconditional jump to `target`.
    fn jump(&self, target: &str) -> String;
    /// Sets the status in `scratch`.
    fn set_status(&self, p: &mut Printer, status: usize);
    /// Puts a value the section returns into the `result` register.
    fn store_result(&self, p: &mut Printer, value: &Operand);

    /// Stores the descriptor's address into the area's `rseq_cs` (the section starts after).
    fn store_descriptor(&self, p: &mut Printer, area: VReg);
    /// Branches to `target` unless the 32-bit field at `offset` of the area equals `index`.
    fn branch_if_index_moved(
        &self,
        p: &mut Printer,
        area: VReg,
        offset: u32,
        index: VReg,
        target: &str,
    );
    /// Branches to `target` when `lhs cond rhs`.
    fn compare_branch(&self, p: &mut Printer, cond: Cond, lhs: VReg, rhs: &Operand, target: &str);

    fn load(&self, p: &mut Printer, dst: VReg, mem: &Mem, width: Width, acquire: bool);
    fn store(&self, p: &mut Printer, mem: &Mem, src: &Operand, width: Width);
    fn mov(&self, p: &mut Printer, dst: VReg, src: &Operand);
    fn lea(&self, p: &mut Printer, dst: VReg, mem: &Mem);
    fn alu(&self, p: &mut Printer, op: AluOp, dst: VReg, lhs: VReg, rhs: &Operand);
    fn not(&self, p: &mut Printer, dst: VReg, src: VReg);
    fn neg(&self, p: &mut Printer, dst: VReg, src: VReg);
    /// Re-normalises the low `width` bytes of `src` into `dst`.
    fn extend(&self, p: &mut Printer, dst: VReg, src: VReg, width: Width);
    /// The committing store (or add to memory), the section's last instruction; with
    /// `release`, every earlier load and store is ordered before it.
    #[allow(clippy::too_many_arguments)]
    fn commit(
        &self,
        p: &mut Printer,
        mem: &Mem,
        src: &Operand,
        width: Width,
        add: bool,
        release: bool,
    );

    /// The delay loop's entry: `counter += 1`, so that a zero delay runs once.
    fn spin_enter(&self, p: &mut Printer, counter: VReg);
    /// `counter -= 1` and a branch back to `label` while it is not zero.
    fn spin_step(&self, p: &mut Printer, counter: VReg, label: &str);

    /// The widest move of a literal `copy`: 16 with a register pair, else the word size.
    fn copy_chunk_max(&self) -> u8 {
        8
    }
    /// Moves `bytes` at `offset` from `src` to `dst` through `scratch` (and, for 16, the
    /// scratch register).
    fn copy_chunk(
        &self,
        p: &mut Printer,
        dst: VReg,
        src: VReg,
        scratch: VReg,
        offset: i64,
        bytes: u8,
    );
    /// The word loop of a run-time `copy`: words while at least a word is left, then on
    /// to the tail label ([`COPY_TAIL_LABELS`]`[0]`), `len`'s low bits being what is left.
    fn copy_word_loop(&self, p: &mut Printer, dst: VReg, src: VReg, len: VReg, scratch: VReg);
    /// Branches to `skip` unless `len & bytes` (`scratch` may hold the test's result).
    fn copy_tail_test(&self, p: &mut Printer, len: VReg, scratch: VReg, bytes: u8, skip: u32);
    /// Moves `bytes` from `[src]` to `[dst]`, advancing both past them when `advance`.
    fn copy_tail_move(
        &self,
        p: &mut Printer,
        dst: VReg,
        src: VReg,
        scratch: VReg,
        bytes: u8,
        advance: bool,
    );
}

impl<T: Isa> Backend for T {
    fn emit(&self, lowered: &Lowered) -> Vec<String> {
        emit(self, lowered)
    }
}

/// The template of `lowered` for `isa`.
pub fn emit(isa: &dyn Isa, lowered: &Lowered) -> Vec<String> {
    let goto = lowered.goto;
    let layout = isa.layout(goto);
    let mut p = Printer {
        lowered,
        lines: Vec::new(),
        stubs: layout == Layout::Inline || !goto,
    };
    p.lines.extend(descriptor_tables(isa.pointer_bytes()));
    for inst in &lowered.insts {
        instruction(isa, &mut p, inst);
    }
    p.label(POST_COMMIT_LABEL);
    match layout {
        Layout::OutOfLine => out_of_line_tail(isa, &mut p),
        Layout::Inline => inline_tail(isa, &mut p),
    }
    let stubs = p.stubs;
    p.lines.extend(exit_point_table(
        isa.pointer_bytes(),
        lowered.exits.len(),
        |exit| stubs.then(|| format!("{}b", FIRST_EXIT_LABEL + exit as u32)),
    ));
    p.lines
}

fn instruction(isa: &dyn Isa, p: &mut Printer, inst: &Inst) {
    match inst {
        Inst::StoreDescriptor { area } => {
            isa.store_descriptor(p, *area);
            p.label(START_LABEL);
        }
        Inst::CheckIndex {
            area,
            index,
            offset,
        } => {
            let target = p.abort_target();
            isa.branch_if_index_moved(p, *area, *offset, *index, &target);
        }
        Inst::Load {
            dst,
            mem,
            width,
            acquire,
        } => isa.load(p, *dst, mem, *width, *acquire),
        Inst::Store { mem, src, width } => isa.store(p, mem, src, *width),
        Inst::Mov { dst, src } => isa.mov(p, *dst, src),
        Inst::Lea { dst, mem } => isa.lea(p, *dst, mem),
        Inst::Alu { op, dst, lhs, rhs } => isa.alu(p, *op, *dst, *lhs, rhs),
        Inst::Not { dst, src } => isa.not(p, *dst, *src),
        Inst::Neg { dst, src } => isa.neg(p, *dst, *src),
        Inst::Extend { dst, src, width } => isa.extend(p, *dst, *src, *width),
        Inst::CopyBytes {
            dst,
            src,
            len,
            scratch,
        } => {
            for (offset, bytes) in copy_plan(*len, isa.copy_chunk_max()) {
                isa.copy_chunk(p, *dst, *src, *scratch, offset, bytes);
            }
        }
        Inst::CopyLoop {
            dst,
            src,
            len,
            scratch,
        } => {
            isa.copy_word_loop(p, *dst, *src, *len, *scratch);
            p.label(COPY_TAIL_LABELS[0]);
            for (bytes, skip) in COPY_TAIL {
                isa.copy_tail_test(p, *len, *scratch, bytes, skip);
                // The last move needs no advance: nothing follows it.
                isa.copy_tail_move(p, *dst, *src, *scratch, bytes, bytes > 1);
                p.label(skip);
            }
        }
        Inst::ExitIf {
            op,
            signed,
            lhs,
            rhs,
            exit,
        } => {
            let target = p.exit_target(*exit);
            isa.compare_branch(p, Cond::of(*op, *signed), *lhs, rhs, &target);
        }
        Inst::Spin { counter, point } => {
            let label = spin_label(*point);
            isa.spin_enter(p, *counter);
            p.label(label);
            isa.spin_step(p, *counter, &format!("{label}b"));
        }
        Inst::VerifyIndex {
            area,
            index,
            offset,
            check,
        } => {
            let target = p.trap_target(*check);
            isa.branch_if_index_moved(p, *area, *offset, *index, &target);
        }
        Inst::VerifyLoad {
            original,
            mem,
            width,
            scratch,
            check,
        } => {
            isa.load(p, *scratch, mem, *width, false);
            let target = p.trap_target(*check);
            isa.compare_branch(p, Cond::Ne, *scratch, &Operand::Reg(*original), &target);
        }
        Inst::Commit {
            mem,
            src,
            width,
            add,
            release,
        } => isa.commit(p, mem, src, *width, *add, *release),
    }
}

/// The moves of a literal `copy` of `len` bytes: `(offset, bytes)`, widest first.
fn copy_plan(len: u32, widest: u8) -> Vec<(i64, u8)> {
    let len = i64::from(len);
    let mut plan = Vec::new();
    let mut offset = 0i64;
    while offset < len {
        let left = len - offset;
        let bytes = [16u8, 8, 4, 2, 1]
            .into_iter()
            .find(|bytes| *bytes <= widest && i64::from(*bytes) <= left)
            .unwrap_or(1);
        plan.push((offset, bytes));
        offset += i64::from(bytes);
    }
    plan
}

/// [`Layout::OutOfLine`]: the committed path falls through the template's end.
fn out_of_line_tail(isa: &dyn Isa, p: &mut Printer) {
    let lowered = p.lowered;
    let goto = lowered.goto;
    if !goto {
        isa.set_status(p, STATUS_COMMITTED);
    }
    if let Some(value) = &lowered.yielded {
        isa.store_result(p, value);
    }
    if !goto {
        p.label(END_LABEL);
    }
    p.line("  .pushsection __rseq_failure, \"ax\"");
    if !goto {
        let back = format!("{END_LABEL}b");
        for (exit, value) in lowered.exits.iter().enumerate() {
            p.label(FIRST_EXIT_LABEL + exit as u32);
            if let Some(value) = value {
                isa.store_result(p, value);
            }
            isa.set_status(p, STATUS_EXITED);
            p.line(isa.jump(&back));
        }
        for check in 0..lowered.checks.len() {
            p.label(trap_label(check));
            isa.set_status(p, STATUS_FIRST_TRAP + check);
            p.line(isa.jump(&back));
        }
    }
    p.lines.extend(isa.signature());
    p.label(ABORT_LABEL);
    if goto {
        p.line(isa.jump(ABORT_TARGET));
    } else {
        isa.set_status(p, STATUS_ABORTED);
        p.line(isa.jump(&format!("{END_LABEL}b")));
    }
    p.line("  .popsection");
}

/// [`Layout::Inline`]: the stubs and the abort handler right after the commit.
fn inline_tail(isa: &dyn Isa, p: &mut Printer) {
    let lowered = p.lowered;
    let goto = lowered.goto;
    let end = format!("{END_LABEL}f");
    if !goto {
        isa.set_status(p, STATUS_COMMITTED);
    }
    if let Some(value) = &lowered.yielded {
        isa.store_result(p, value);
    }
    p.line(isa.jump(&end));
    for (exit, value) in lowered.exits.iter().enumerate() {
        p.label(FIRST_EXIT_LABEL + exit as u32);
        if goto {
            p.line(isa.jump(&exit_operand(exit)));
            continue;
        }
        if let Some(value) = value {
            isa.store_result(p, value);
        }
        isa.set_status(p, STATUS_EXITED);
        p.line(isa.jump(&end));
    }
    for check in 0..lowered.checks.len() {
        p.label(trap_label(check));
        if goto {
            p.line(isa.jump(&trap_operand(check)));
        } else {
            isa.set_status(p, STATUS_FIRST_TRAP + check);
            p.line(isa.jump(&end));
        }
    }
    p.lines.extend(isa.signature());
    p.label(ABORT_LABEL);
    if goto {
        p.line(isa.jump(ABORT_TARGET));
    } else {
        isa.set_status(p, STATUS_ABORTED);
    }
    p.label(END_LABEL);
}

/// The directive for `count` 64-bit fields holding pointers of `pointer_bytes`: a 32-bit
/// pointer is followed by a zero word (the fields are little-endian u64s).
fn pointer_fields(pointer_bytes: u8, values: &[String]) -> String {
    if pointer_bytes == 8 {
        format!("  .quad {}", values.join(", "))
    } else {
        let words: Vec<String> = values.iter().map(|v| format!("{v}, 0")).collect();
        format!("  .long {}", words.join(", "))
    }
}

/// The descriptor (version 0, flags 0, start, length up to post-commit, abort) in
/// `__rseq_cs`, and its entry in `__rseq_cs_ptr_array` for debuggers and the descriptor
/// walk.
pub fn descriptor_tables(pointer_bytes: u8) -> Vec<String> {
    let fields = [
        format!("{START_LABEL}f"),
        format!("({POST_COMMIT_LABEL}f - {START_LABEL}f)"),
        format!("{ABORT_LABEL}f"),
    ];
    vec![
        "  .pushsection __rseq_cs, \"aw\"".to_string(),
        "  .balign 32".to_string(),
        format!("{DESCRIPTOR_LABEL}:"),
        "  .long 0, 0".to_string(),
        pointer_fields(pointer_bytes, &fields),
        "  .popsection".to_string(),
        // "R" (retain): nothing references the array, and the linker would drop it.
        "  .pushsection __rseq_cs_ptr_array, \"awR\"".to_string(),
        "  .balign 8".to_string(),
        pointer_fields(pointer_bytes, &[format!("{DESCRIPTOR_LABEL}b")]),
        "  .popsection".to_string(),
    ]
}

/// One `(start, exit)` pair in `__rseq_exit_point_array` per exit, the exit being where
/// the section's branch leaves it: `exit_stub(k)` gives the stub's label reference, or
/// `None` where the branch goes straight to the expansion's label operand.
pub fn exit_point_table(
    pointer_bytes: u8,
    exits: usize,
    exit_stub: impl Fn(usize) -> Option<String>,
) -> Vec<String> {
    if exits == 0 {
        return Vec::new();
    }
    let mut lines = vec![
        "  .pushsection __rseq_exit_point_array, \"awR\"".to_string(),
        "  .balign 8".to_string(),
    ];
    for exit in 0..exits {
        let target = exit_stub(exit).unwrap_or_else(|| exit_operand(exit));
        lines.push(pointer_fields(
            pointer_bytes,
            &[format!("{START_LABEL}b"), target],
        ));
    }
    lines.push("  .popsection".to_string());
    lines
}
