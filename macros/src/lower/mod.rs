//! Stage 3: [`Checked`] -> [`Lowered`], a short arch-neutral instruction list over virtual
//! registers, then a register assignment onto `asm!` operands ("slots").
//!
//! Every value lives in a register of the target's word size ([`Target::word_bits`]: 64,
//! or 32 on i686), normalised to its type: zero-extended when unsigned, sign-extended when
//! signed. Narrow arithmetic re-normalises its result, so comparisons and stores never see
//! stale upper bits. `usize`, `isize` and pointers are a word wide; on a 32-bit target a
//! section holding 64-bit integers (`u64`, `i64`) gets no section (see [`wide_value`]).
//!
//! This file lowers the statements and values; the rest, one idea a file: `inst` (the
//! instruction set the backends consume), `addr` (memory operands), `fold` (constants),
//! `alloc` (register assignment), `instrument` (delay injection and compare-twice).

use proc_macro2::Span;

use crate::check::{BinOp, Checked, Cond, IndexMode, Kind, Op, TExpr, VarKind};
use crate::ty::{IntTy, Ty};

mod addr;
mod alloc;
mod budget;
mod fold;
mod inst;
mod instrument;

pub use inst::*;
pub use instrument::*;

use addr::Access;
use alloc::allocate;
use fold::{fold, normalise};

pub fn lower(
    checked: &Checked,
    target: &dyn Target,
    span: Span,
    instrumentation: Instrumentation,
) -> syn::Result<Lowered> {
    if let Some(error) = wide_value(checked, target, span) {
        return Err(error);
    }
    let mut cx = Lowerer {
        checked,
        target,
        insts: Vec::new(),
        vregs: 0,
        sources: Vec::new(),
        var_operands: vec![None; checked.vars.len()],
        consts: Vec::new(),
        field_limits: Vec::new(),
        origins: Vec::new(),
    };
    let area = cx.input(Source::Area);
    let index = cx.input(Source::Index);
    cx.var_operands[0] = Some(Operand::Reg(index));
    cx.insts.push(Inst::StoreDescriptor { area });
    let offset = match checked.mode {
        IndexMode::CpuId => CPU_ID_OFFSET,
        IndexMode::MmCid => MM_CID_OFFSET,
    };
    cx.insts.push(Inst::CheckIndex {
        area,
        index,
        offset,
    });
    cx.mark(Origin::Start);

    let mut exits = Vec::new();
    for (n, op) in checked.ops.iter().enumerate() {
        match op {
            Op::Let { var, value } => {
                let operand = cx.value(value);
                cx.var_operands[*var] = Some(operand);
            }
            Op::Store { ptr, value } => {
                let width = Width::of(cx.int(&value.ty));
                let mem = cx.addr(ptr, width);
                let src = cx.stored(value);
                cx.insts.push(Inst::Store { mem, src, width });
            }
            Op::Copy { dst, src, len } => {
                let dst = cx.reg(dst);
                let src = cx.reg(src);
                let scratch = cx.fresh();
                cx.insts.push(Inst::CopyBytes {
                    dst,
                    src,
                    len: *len,
                    scratch,
                });
            }
            Op::CopyUpTo {
                dst,
                src,
                len,
                max,
                guarded,
            } => {
                let len = cx.reg(len);
                if !guarded {
                    // A length above the bound leaves, without a value, before anything is
                    // copied: the loop never runs past the `max` bytes the caller vouched for.
                    let exit = exits.len();
                    exits.push(None);
                    let rhs = cx.immediate(i128::from(*max), &Ty::Int(IntTy::USIZE));
                    cx.insts.push(Inst::ExitIf {
                        op: CmpOp::Gt,
                        signed: false,
                        lhs: len,
                        rhs,
                        exit,
                    });
                }
                let dst = cx.reg(dst);
                let src = cx.reg(src);
                cx.copy_loop(dst, src, len);
            }
            Op::ExitIf { cond, value } => {
                let value = value.as_ref().map(|v| cx.value(v));
                let exit = exits.len();
                exits.push(value);
                cx.exit_if(cond, exit);
            }
        }
        cx.mark(Origin::Op(n));
    }
    let mut checks = Vec::new();
    if instrumentation.compare_twice {
        checks = cx.compare_twice(area, index, offset);
    }
    let commit = &checked.commit;
    let width = Width::of(cx.int(&commit.value.ty));
    let mem = cx.addr_for(
        &commit.ptr,
        width,
        Access::Commit {
            release: commit.release,
        },
    );
    let src = cx.stored(&commit.value);
    cx.insts.push(Inst::Commit {
        mem,
        src,
        width,
        add: commit.add,
        release: commit.release,
    });
    cx.mark(Origin::Commit);
    let yielded = checked.yielded.map(|var| cx.var(var));

    if instrumentation.delays {
        cx.inject_delays();
    }
    let alloc = allocate(&cx.insts, &exits, yielded, &cx.sources, cx.vregs);
    // A section that returns nothing computed leaves through `asm goto` labels; one that
    // yields a value, or exits with a register's value, returns them in output registers
    // with a status (`asm goto` takes no outputs on stable Rust, and a value returned
    // through memory would make the caller's slow-path calls non-tail calls).
    let goto = yielded.is_none()
        && !exits
            .iter()
            .any(|value| matches!(value, Some(Operand::Reg(_))));
    let has_result = !goto && (yielded.is_some() || exits.iter().any(Option::is_some));
    // A shift by a register count may need the count in a fixed register (x86's `cl`).
    let shifts_by_register = cx.insts.iter().any(|inst| {
        matches!(
            inst,
            Inst::Alu {
                op: AluOp::Shl | AluOp::Shr | AluOp::Sar,
                rhs: Operand::Reg(_),
                ..
            }
        )
    });
    let mut clobbers: Vec<&'static str> = target
        .shift_count_register()
        .filter(|_| shifts_by_register)
        .into_iter()
        .collect();
    if alloc.slot_count + 1 + usize::from(has_result) + clobbers.len() > target.registers() {
        return Err(cx.over_budget(&alloc, has_result, &clobbers, span));
    }
    // Not general registers: outside the budget.
    clobbers.extend_from_slice(target.fixed_clobbers());
    Ok(Lowered {
        insts: cx.insts,
        exits,
        yielded,
        sources: cx.sources,
        consts: cx.consts,
        field_limits: cx.field_limits,
        clobbers,
        alloc,
        checks,
        register_class: target.register_class(),
        scratch_class: target.scratch_class(),
        uses_stack: target.uses_stack(),
        goto,
    })
}

/// On a 32-bit target, why a section holding 64-bit integers has no section there.
///
/// The decision (issue 25): registers are a word wide, and a 64-bit value would take a
/// pair of them, with carry-propagating arithmetic, and its commit two stores where the
/// commit must be one instruction (no 64-bit store or add to memory exists on i686 or armv7
/// besides the locked or exclusive ones a restartable sequence exists to avoid). So such a
/// section gets no section on a 32-bit target: the expansion's arm for it is the one of a
/// target without a backend, and the section returns `Err(Unavailable)`, which sends its
/// caller down its fallback, slower, never broken. Sections of `usize`/`u32` values run
/// natively; `PerCpuCounter` keeps a 32-bit word per CPU whose carries leave the section
/// (`src/percpu/counter.rs`). The error names the value, for the golden files and tests.
pub fn wide_value(checked: &Checked, target: &dyn Target, span: Span) -> Option<syn::Error> {
    let word = target.word_bits();
    let wide = |int: IntTy| int.bits > word && !int.pointer_sized;
    fn mentions(ty: &Ty, wide: &dyn Fn(IntTy) -> bool) -> bool {
        match ty {
            Ty::Int(int) => wide(*int),
            Ty::Ptr {
                pointee: crate::ty::Pointee::Value(inner),
                ..
            } => mentions(inner, wide),
            Ty::Ptr { .. } => false,
        }
    }
    let culprit = checked.vars.iter().find(|var| mentions(&var.ty, &wide));
    let commit_wide = mentions(&checked.commit.value.ty, &wide);
    if culprit.is_none() && !commit_wide {
        return None;
    }
    let (span, what) = match culprit {
        Some(var) => (var.name.span(), format!("`{}: {}`", var.name, var.ty)),
        None => (span, format!("the commit's `{}`", checked.commit.value.ty)),
    };
    Some(syn::Error::new(
        span,
        format!(
            "rseq!: {what} needs 64-bit registers, and {} has {word}-bit ones: the section \
             has no section there and returns `Err(Unavailable)`; for a native section use \
             `usize` or `u32` values (a 32-bit counter whose carry exits the section, as \
             `PerCpuCounter` does)",
            target.name()
        ),
    ))
}

/// Which part of the section an instruction lowers, for errors about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Origin {
    /// The descriptor store and the index check, with every input live.
    Start,
    /// The statement of `checked.ops[n]`.
    Op(usize),
    /// The commit (and the compare-twice checks before it).
    Commit,
}

struct Lowerer<'a> {
    checked: &'a Checked,
    target: &'a dyn Target,
    insts: Vec<Inst>,
    vregs: usize,
    sources: Vec<(VReg, Source)>,
    var_operands: Vec<Option<Operand>>,
    consts: Vec<Const>,
    field_limits: Vec<(usize, FieldLimit)>,
    /// The origin of each instruction of `insts`.
    origins: Vec<Origin>,
}

impl Lowerer<'_> {
    /// The register representation of `ty` on this target: pointers and `usize`/`isize`
    /// are a word wide.
    fn int(&self, ty: &Ty) -> IntTy {
        let int = ty.scalar();
        if int.pointer_sized {
            IntTy {
                bits: self.target.word_bits(),
                ..int
            }
        } else {
            int
        }
    }

    /// Every instruction emitted since the last mark comes from `origin`.
    fn mark(&mut self, origin: Origin) {
        self.origins.resize(self.insts.len(), origin);
    }

    fn fresh(&mut self) -> VReg {
        self.vregs += 1;
        self.vregs - 1
    }

    fn input(&mut self, source: Source) -> VReg {
        if let Some((vreg, _)) = self.sources.iter().find(|(_, s)| *s == source) {
            return *vreg;
        }
        let vreg = self.fresh();
        self.sources.push((vreg, source));
        vreg
    }

    fn var(&mut self, var: usize) -> Operand {
        if let Some(operand) = self.var_operands[var] {
            return operand;
        }
        debug_assert_eq!(self.checked.vars[var].kind, VarKind::Input);
        let operand = Operand::Reg(self.input(Source::Var(var)));
        self.var_operands[var] = Some(operand);
        operand
    }

    fn operand_reg(&mut self, operand: Operand) -> VReg {
        match operand {
            Operand::Reg(vreg) => vreg,
            other => {
                let dst = self.fresh();
                self.insts.push(Inst::Mov { dst, src: other });
                dst
            }
        }
    }

    fn reg(&mut self, expr: &TExpr) -> VReg {
        let operand = self.value(expr);
        self.operand_reg(operand)
    }

    fn literal(&self, expr: &TExpr) -> Option<i128> {
        match &expr.kind {
            Kind::Lit(value) => Some(*value),
            _ => None,
        }
    }

    fn immediate(&mut self, value: i128, ty: &Ty) -> Operand {
        let image = normalise(value, self.int(ty));
        if self.target.imm_fits(image) {
            Operand::Imm(image)
        } else {
            let dst = self.fresh();
            self.insts.push(Inst::Mov {
                dst,
                src: Operand::Imm(image),
            });
            Operand::Reg(dst)
        }
    }

    /// The value of `expr` as a register or an immediate.
    fn value(&mut self, expr: &TExpr) -> Operand {
        match &expr.kind {
            Kind::Var(var) => self.var(*var),
            Kind::Lit(value) => self.immediate(*value, &expr.ty),
            Kind::Load { ptr, acquire } => {
                let width = Width::of(self.int(&expr.ty));
                let access = if *acquire {
                    Access::Acquire
                } else {
                    Access::Plain
                };
                let mem = self.addr_for(ptr, width, access);
                let dst = self.fresh();
                self.insts.push(Inst::Load {
                    dst,
                    mem,
                    width,
                    acquire: *acquire,
                });
                Operand::Reg(dst)
            }
            Kind::Offset { .. } => {
                let mem = self.addr(
                    expr,
                    Width {
                        bytes: 8,
                        signed: false,
                    },
                );
                if mem.index.is_none() && mem.disp == 0 && mem.field.is_none() {
                    return Operand::Reg(mem.base);
                }
                let dst = self.fresh();
                self.insts.push(Inst::Lea { dst, mem });
                Operand::Reg(dst)
            }
            Kind::Field { .. } => {
                let mem = self.addr_parts(expr);
                Operand::Reg(self.mem_to_reg(mem))
            }
            Kind::Cast(inner) => {
                let from = self.int(&inner.ty);
                let to = self.int(&expr.ty);
                if let Some(value) = self.literal(inner) {
                    let image = normalise(value, from);
                    let converted = if from.signed {
                        i128::from(image)
                    } else {
                        i128::from(image as u64)
                    };
                    return self.immediate(converted, &expr.ty);
                }
                let src = self.reg(inner);
                let already_normal = to.bits >= self.target.word_bits()
                    || (from.bits < to.bits && !from.signed)
                    || (from.bits <= to.bits && from.signed == to.signed);
                if already_normal {
                    return Operand::Reg(src);
                }
                let dst = self.fresh();
                self.insts.push(Inst::Extend {
                    dst,
                    src,
                    width: Width::of(to),
                });
                Operand::Reg(dst)
            }
            Kind::Binary { op, lhs, rhs } => {
                let int = self.int(&expr.ty);
                if let (Some(a), Some(b)) = (self.literal(lhs), self.literal(rhs)) {
                    return self.immediate(fold(*op, a, b, int), &expr.ty);
                }
                let commutative = matches!(
                    op,
                    BinOp::Add | BinOp::Mul | BinOp::And | BinOp::Or | BinOp::Xor
                );
                let (lhs, rhs) = if commutative && self.literal(lhs).is_some() {
                    (rhs, lhs)
                } else {
                    (lhs, rhs)
                };
                let lhs = self.reg(lhs);
                let rhs = self.value(rhs);
                let rhs = match op {
                    BinOp::Shl | BinOp::Shr => self.shift_count(rhs, int),
                    _ => rhs,
                };
                let alu = match op {
                    BinOp::Add => AluOp::Add,
                    BinOp::Sub => AluOp::Sub,
                    BinOp::Mul => AluOp::Mul,
                    BinOp::And => AluOp::And,
                    BinOp::Or => AluOp::Or,
                    BinOp::Xor => AluOp::Xor,
                    BinOp::Shl => AluOp::Shl,
                    BinOp::Shr if int.signed => AluOp::Sar,
                    BinOp::Shr => AluOp::Shr,
                };
                let dst = self.fresh();
                self.insts.push(Inst::Alu {
                    op: alu,
                    dst,
                    lhs,
                    rhs,
                });
                let may_leave_width =
                    matches!(op, BinOp::Add | BinOp::Sub | BinOp::Mul | BinOp::Shl);
                Operand::Reg(self.renormalise(dst, int, may_leave_width))
            }
            Kind::Not(inner) => {
                let int = self.int(&expr.ty);
                let src = self.reg(inner);
                let dst = self.fresh();
                self.insts.push(Inst::Not { dst, src });
                // `!` keeps a sign-extended value sign-extended, but sets the upper bits of
                // a zero-extended one.
                Operand::Reg(self.renormalise(dst, int, !int.signed))
            }
            Kind::Neg(inner) => {
                let int = self.int(&expr.ty);
                let src = self.reg(inner);
                let dst = self.fresh();
                self.insts.push(Inst::Neg { dst, src });
                Operand::Reg(self.renormalise(dst, int, true))
            }
        }
    }

    /// The value a store writes: as [`Self::value`], without the re-normalisation of a
    /// narrow result computed for it, since a store of its width writes only the low
    /// bytes, which the normalisation does not change.
    fn stored(&mut self, expr: &TExpr) -> Operand {
        let before = self.insts.len();
        let operand = self.value(expr);
        let stored = Width::of(self.int(&expr.ty));
        if let (Operand::Reg(value), Some(Inst::Extend { dst, src, width })) =
            (operand, self.insts.last())
        {
            // Only an extension this value made (a name's value may end in one too), and
            // only one that keeps every stored byte: `(x as i8) as isize` stores eight
            // bytes of an extension from one, which must stay.
            if *dst == value && self.insts.len() > before && width.bytes >= stored.bytes {
                let src = *src;
                self.insts.pop();
                return Operand::Reg(src);
            }
        }
        operand
    }

    /// A shift's count taken modulo the width of `int`, as Rust's wrapping shifts take
    /// it. Every backend's word-sized shift takes its count modulo the word itself (x86's `shl`,
    /// aarch64's `lslv`, riscv64's `sll`), so only narrower widths need the mask.
    fn shift_count(&mut self, count: Operand, int: IntTy) -> Operand {
        let mask = i64::from(int.bits) - 1;
        match count {
            Operand::Imm(value) => Operand::Imm(value & mask),
            Operand::Reg(count) if int.bits < self.target.word_bits() => {
                let dst = self.fresh();
                self.insts.push(Inst::Alu {
                    op: AluOp::And,
                    dst,
                    lhs: count,
                    rhs: Operand::Imm(mask),
                });
                Operand::Reg(dst)
            }
            other => other,
        }
    }

    fn renormalise(&mut self, vreg: VReg, int: IntTy, needed: bool) -> VReg {
        if !needed || int.bits >= self.target.word_bits() {
            return vreg;
        }
        let dst = self.fresh();
        self.insts.push(Inst::Extend {
            dst,
            src: vreg,
            width: Width::of(int),
        });
        dst
    }

    /// The loop of a run-time length, on private copies of its three values, which it
    /// advances in place: a value that dies here gives its register to its copy (the `mov`
    /// disappears), and one used later keeps its own.
    fn copy_loop(&mut self, dst: VReg, src: VReg, len: VReg) {
        let [dst, src, len] = [dst, src, len].map(|value| {
            let copy = self.fresh();
            self.insts.push(Inst::Mov {
                dst: copy,
                src: Operand::Reg(value),
            });
            copy
        });
        let scratch = self.fresh();
        self.insts.push(Inst::CopyLoop {
            dst,
            src,
            len,
            scratch,
        });
    }

    fn exit_if(&mut self, cond: &Cond, exit: usize) {
        match cond {
            Cond::IsNull { ptr, negated } => {
                let lhs = self.reg(ptr);
                let op = if *negated { CmpOp::Ne } else { CmpOp::Eq };
                self.insts.push(Inst::ExitIf {
                    op,
                    signed: false,
                    lhs,
                    rhs: Operand::Imm(0),
                    exit,
                });
            }
            Cond::Cmp {
                op,
                signed,
                lhs,
                rhs,
            } => {
                let op = CmpOp::from(*op);
                let (op, lhs, rhs) = if self.literal(lhs).is_some() && self.literal(rhs).is_none() {
                    (op.swapped(), rhs, lhs)
                } else {
                    (op, lhs, rhs)
                };
                let lhs = self.reg(lhs);
                let rhs = self.value(rhs);
                self.insts.push(Inst::ExitIf {
                    op,
                    signed: *signed,
                    lhs,
                    rhs,
                    exit,
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use quote::quote;

    use super::Inst;
    use crate::arch::x86_64::X86_64;
    use crate::expand::compile_section;
    use crate::lower::Instrumentation;

    fn extensions(tokens: proc_macro2::TokenStream) -> usize {
        let (_, lowered) = compile_section(tokens, &X86_64, Instrumentation::default())
            .unwrap_or_else(|e| panic!("{e}"));
        lowered
            .insts
            .iter()
            .filter(|inst| matches!(inst, Inst::Extend { .. }))
            .count()
    }

    #[test]
    fn a_narrow_store_needs_no_normalised_value() {
        // `x + 1` at u16 is re-normalised for later use, but a u16 store writes the low
        // two bytes only: no extension.
        assert_eq!(
            extensions(quote!(|cpu| { in p: *mut u16 = q; in x: u16 = 1; commit *p = x + 1; })),
            0
        );
    }

    #[test]
    fn a_wider_store_keeps_a_narrow_extension() {
        // Found by the differential test (seed 0x5): `(x as i8) as isize` stores eight
        // bytes of a value sign-extended from one; the extension is the value.
        assert_eq!(
            extensions(quote!(|cpu| {
                in p: *mut isize = q;
                in x: i32 = 128;
                commit *p = (x as i8) as isize;
            })),
            1
        );
    }
}
