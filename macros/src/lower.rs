//! Stage 3: [`Checked`] -> [`Lowered`], a short arch-neutral instruction list over virtual
//! registers, then a register assignment onto `asm!` operands ("slots").
//!
//! Every value lives in a 64-bit register, normalised to its type: zero-extended when
//! unsigned, sign-extended when signed. Narrow arithmetic re-normalises its result, so
//! comparisons and stores never see stale upper bits.

use proc_macro2::{Span, TokenStream};

use crate::check::{BinOp, Checked, Cond, IndexMode, Kind, Op, Relation, TExpr, VarKind};
use crate::ty::{ElemSize, IntTy, Ty};

/// A virtual register.
pub type VReg = usize;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operand {
    Reg(VReg),
    Imm(i64),
    /// `size_of::<T>()` of an opaque pointee, the n-th `const` operand.
    SizeOf(usize),
}

/// `base + index * scale + disp`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mem {
    pub base: VReg,
    pub index: Option<(VReg, u8)>,
    pub disp: i64,
}

/// Width and signedness of a memory access or a normalisation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Width {
    pub bytes: u8,
    pub signed: bool,
}

impl Width {
    fn of(int: IntTy) -> Width {
        Width {
            bytes: int.bits / 8,
            signed: int.signed,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AluOp {
    Add,
    Sub,
    Mul,
    And,
    Or,
    Xor,
    Shl,
    /// Logical shift right (unsigned).
    Shr,
    /// Arithmetic shift right (signed).
    Sar,
}

/// The comparison of an exit's branch; `signed` beside it picks the flavour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    /// The comparison with its operands swapped: `a < b` is `b > a`.
    pub fn swapped(self) -> CmpOp {
        match self {
            CmpOp::Lt => CmpOp::Gt,
            CmpOp::Le => CmpOp::Ge,
            CmpOp::Gt => CmpOp::Lt,
            CmpOp::Ge => CmpOp::Le,
            same => same,
        }
    }
}

impl From<Relation> for CmpOp {
    fn from(relation: Relation) -> CmpOp {
        match relation {
            Relation::Eq => CmpOp::Eq,
            Relation::Ne => CmpOp::Ne,
            Relation::Lt => CmpOp::Lt,
            Relation::Le => CmpOp::Le,
            Relation::Gt => CmpOp::Gt,
            Relation::Ge => CmpOp::Ge,
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Inst {
    /// Store the descriptor's address into the area's `rseq_cs`; the section starts after it.
    StoreDescriptor {
        area: VReg,
    },
    /// Compare the area's index field with the index the inputs were computed for.
    CheckIndex {
        area: VReg,
        index: VReg,
        offset: u32,
    },
    Load {
        dst: VReg,
        mem: Mem,
        width: Width,
    },
    Store {
        mem: Mem,
        src: Operand,
        width: Width,
    },
    Mov {
        dst: VReg,
        src: Operand,
    },
    Lea {
        dst: VReg,
        mem: Mem,
    },
    Alu {
        op: AluOp,
        dst: VReg,
        lhs: VReg,
        rhs: Operand,
    },
    Not {
        dst: VReg,
        src: VReg,
    },
    Neg {
        dst: VReg,
        src: VReg,
    },
    /// Re-normalise the low `width` bytes of `src` to 64 bits.
    Extend {
        dst: VReg,
        src: VReg,
        width: Width,
    },
    CopyBytes {
        dst: VReg,
        src: VReg,
        len: u32,
        scratch: VReg,
    },
    /// Leave through exit `exit` when `lhs op rhs`.
    ExitIf {
        op: CmpOp,
        signed: bool,
        lhs: VReg,
        rhs: Operand,
        exit: usize,
    },
    Commit {
        mem: Mem,
        src: Operand,
        width: Width,
        add: bool,
        release: bool,
    },
    /// Test instrumentation: busy-wait `counter` iterations (delay injection).
    Spin {
        counter: VReg,
        point: u8,
    },
    /// Compare-twice: trap with `check` unless the index field still equals `index`.
    VerifyIndex {
        area: VReg,
        index: VReg,
        offset: u32,
        check: usize,
    },
    /// Compare-twice: reload `mem` into `scratch` and trap with `check` unless it still
    /// equals `original`.
    VerifyLoad {
        original: VReg,
        mem: Mem,
        width: Width,
        scratch: VReg,
        check: usize,
    },
}

/// Where the initial value of an input register comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    Area,
    Index,
    /// The section variable with this number (an `in` input).
    Var(usize),
    /// The delay-injection table (instrumented builds only).
    Delays,
}

/// Test-only instrumentation compiled into sections.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Instrumentation {
    /// Busy-wait loops at the numbered [`DelayPoint`]s, lengths read from a global table.
    pub delays: bool,
    /// Re-check the index and every compared load just before the commit; trap on change.
    pub compare_twice: bool,
}

impl Instrumentation {
    /// What the macro crate's cargo features ask for.
    pub fn from_features() -> Self {
        Instrumentation {
            delays: cfg!(feature = "delay-injection"),
            compare_twice: cfg!(feature = "compare-twice"),
        }
    }
}

/// Delay-injection points, numbered as the runtime's `inject` module documents them.
pub const DELAY_BEFORE_DESCRIPTOR: u8 = 1;
pub const DELAY_BEFORE_INDEX_CHECK: u8 = 2;
pub const DELAY_AFTER_INDEX_CHECK: u8 = 3;
pub const DELAY_AFTER_FIRST_LOAD: u8 = 4;
pub const DELAY_AFTER_STORE: u8 = 5;
pub const DELAY_BEFORE_COMMIT: u8 = 6;

/// What an architecture's addressing and immediates allow; lowering stays inside it.
pub trait Target {
    /// Name used in diagnostics.
    fn name(&self) -> &'static str;
    /// General registers `asm!` can hand out.
    fn registers(&self) -> usize;
    /// Whether `value` can be an immediate operand of an ALU op, compare or store of `width`.
    fn imm_fits(&self, value: i64) -> bool;
    /// Whether a memory operand of this shape can be used directly.
    fn mem_fits(&self, mem: &Mem, width: Width) -> bool;
    /// Whether a memory operand of this shape can be a commit's destination. A release
    /// store may take fewer addressing modes than a plain one (aarch64's `stlr`).
    fn commit_mem_fits(&self, mem: &Mem, width: Width, release: bool) -> bool {
        let _ = release;
        self.mem_fits(mem, width)
    }
}

pub struct Lowered {
    pub insts: Vec<Inst>,
    /// Value carried by each exit, in exit order.
    pub exits: Vec<Option<Operand>>,
    pub yielded: Option<Operand>,
    pub sources: Vec<(VReg, Source)>,
    /// `size_of::<T>()` expressions, one `const` operand each.
    pub consts: Vec<TokenStream>,
    pub alloc: Allocation,
    /// What each compare-twice check verifies, by check number, for the failure report.
    pub checks: Vec<String>,
}

/// Where each virtual register lives.
pub struct Allocation {
    pub slot_of: Vec<usize>,
    pub slot_count: usize,
    /// Slots that some instruction writes (so an input there is an `inout`).
    pub written: Vec<bool>,
}

pub fn lower(
    checked: &Checked,
    target: &dyn Target,
    span: Span,
    instrumentation: Instrumentation,
) -> syn::Result<Lowered> {
    let mut cx = Lowerer {
        checked,
        target,
        insts: Vec::new(),
        vregs: 0,
        sources: Vec::new(),
        var_operands: vec![None; checked.vars.len()],
        consts: Vec::new(),
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

    let mut exits = Vec::new();
    for op in &checked.ops {
        match op {
            Op::Let { var, value } => {
                let operand = cx.value(value);
                cx.var_operands[*var] = Some(operand);
            }
            Op::Store { ptr, value } => {
                let width = Width::of(value.ty.scalar());
                let mem = cx.addr(ptr, width);
                let src = cx.value(value);
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
            Op::ExitIf { cond, value } => {
                let value = value.as_ref().map(|v| cx.value(v));
                let exit = exits.len();
                exits.push(value);
                cx.exit_if(cond, exit);
            }
        }
    }
    let mut checks = Vec::new();
    if instrumentation.compare_twice {
        checks = cx.compare_twice(area, index, offset);
    }
    let commit = &checked.commit;
    let width = Width::of(commit.value.ty.scalar());
    let mem = cx.addr_for(&commit.ptr, width, Some(commit.release));
    let src = cx.value(&commit.value);
    cx.insts.push(Inst::Commit {
        mem,
        src,
        width,
        add: commit.add,
        release: commit.release,
    });
    let yielded = checked.yielded.map(|var| cx.var(var));

    if instrumentation.delays {
        cx.inject_delays();
    }
    let alloc = allocate(&cx.insts, &exits, yielded, &cx.sources, cx.vregs);
    let needed =
        alloc.slot_count + 1 + usize::from(yielded.is_some() || exits.iter().any(Option::is_some));
    if needed > target.registers() {
        return Err(syn::Error::new(
            span,
            format!(
                "this section needs {needed} registers at once, but `asm!` on {} offers {}: use fewer live values (fewer inputs, or fold computations into the `in` expressions)",
                target.name(),
                target.registers()
            ),
        ));
    }
    Ok(Lowered {
        insts: cx.insts,
        exits,
        yielded,
        sources: cx.sources,
        consts: cx.consts,
        alloc,
        checks,
    })
}

/// Field offsets of the area, mirrored from the runtime's `abi` (the expansion asserts
/// that both agree).
pub const CPU_ID_OFFSET: u32 = 4;
pub const RSEQ_CS_OFFSET: u32 = 8;
pub const MM_CID_OFFSET: u32 = 24;

struct Lowerer<'a> {
    checked: &'a Checked,
    target: &'a dyn Target,
    insts: Vec<Inst>,
    vregs: usize,
    sources: Vec<(VReg, Source)>,
    var_operands: Vec<Option<Operand>>,
    consts: Vec<TokenStream>,
}

/// The 64-bit register image of `value` of type `int`.
fn normalise(value: i128, int: IntTy) -> i64 {
    let bits = u32::from(int.bits);
    let mask: u128 = if bits == 64 {
        u64::MAX as u128
    } else {
        (1u128 << bits) - 1
    };
    let low = (value as u128) & mask;
    if int.signed && bits < 64 && low >> (bits - 1) & 1 == 1 {
        (low | !mask) as u64 as i64
    } else {
        low as u64 as i64
    }
}

fn fold(op: BinOp, a: i128, b: i128, int: IntTy) -> i128 {
    let (a, b) = (normalise(a, int), normalise(b, int));
    let raw = match op {
        BinOp::Add => a.wrapping_add(b),
        BinOp::Sub => a.wrapping_sub(b),
        BinOp::Mul => a.wrapping_mul(b),
        BinOp::And => a & b,
        BinOp::Or => a | b,
        BinOp::Xor => a ^ b,
        BinOp::Shl => a.wrapping_shl(b as u32),
        BinOp::Shr if int.signed => a >> b,
        BinOp::Shr => ((a as u64) >> b) as i64,
    };
    i128::from(normalise(i128::from(raw), int))
}

impl Lowerer<'_> {
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
        let image = normalise(value, ty.scalar());
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
            Kind::Load(ptr) => {
                let width = Width::of(expr.ty.scalar());
                let mem = self.addr(ptr, width);
                let dst = self.fresh();
                self.insts.push(Inst::Load { dst, mem, width });
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
                if mem.index.is_none() && mem.disp == 0 {
                    return Operand::Reg(mem.base);
                }
                let dst = self.fresh();
                self.insts.push(Inst::Lea { dst, mem });
                Operand::Reg(dst)
            }
            Kind::Cast(inner) => {
                let from = inner.ty.scalar();
                let to = expr.ty.scalar();
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
                let already_normal = to.bits == 64
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
                let int = expr.ty.scalar();
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
                let int = expr.ty.scalar();
                let src = self.reg(inner);
                let dst = self.fresh();
                self.insts.push(Inst::Not { dst, src });
                // `!` keeps a sign-extended value sign-extended, but sets the upper bits of
                // a zero-extended one.
                Operand::Reg(self.renormalise(dst, int, !int.signed))
            }
            Kind::Neg(inner) => {
                let int = expr.ty.scalar();
                let src = self.reg(inner);
                let dst = self.fresh();
                self.insts.push(Inst::Neg { dst, src });
                Operand::Reg(self.renormalise(dst, int, true))
            }
        }
    }

    fn renormalise(&mut self, vreg: VReg, int: IntTy, needed: bool) -> VReg {
        if !needed || int.bits == 64 {
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

    /// The address `ptr` evaluates to, folded into a memory operand where the target allows.
    fn addr(&mut self, ptr: &TExpr, width: Width) -> Mem {
        self.addr_for(ptr, width, None)
    }

    /// As [`Self::addr`], for a commit's destination when `commit` says whether it releases.
    fn addr_for(&mut self, ptr: &TExpr, width: Width, commit: Option<bool>) -> Mem {
        let mem = self.addr_parts(ptr);
        let fits = match commit {
            Some(release) => self.target.commit_mem_fits(&mem, width, release),
            None => self.target.mem_fits(&mem, width),
        };
        if fits {
            return mem;
        }
        let dst = self.fresh();
        let simple = Mem {
            base: mem.base,
            index: mem.index,
            disp: mem.disp,
        };
        self.insts.push(Inst::Lea { dst, mem: simple });
        Mem {
            base: dst,
            index: None,
            disp: 0,
        }
    }

    fn addr_parts(&mut self, ptr: &TExpr) -> Mem {
        match &ptr.kind {
            Kind::Cast(inner) if inner.ty.is_ptr() => self.addr_parts(inner),
            Kind::Offset {
                ptr: base,
                count,
                elem,
                subtract,
            } => {
                let mut mem = self.addr_parts(base);
                let sign: i128 = if *subtract { -1 } else { 1 };
                match (elem, self.literal(count)) {
                    (ElemSize::Known(size), Some(n)) => {
                        let disp = i128::from(mem.disp) + sign * n * i128::from(*size);
                        if let Ok(disp) = i64::try_from(disp) {
                            if disp.unsigned_abs() < (1 << 31) {
                                mem.disp = disp;
                                return mem;
                            }
                        }
                    }
                    (ElemSize::Known(size @ (1 | 2 | 4 | 8)), None)
                        if !subtract && mem.index.is_none() =>
                    {
                        let index = self.reg(count);
                        mem.index = Some((index, *size as u8));
                        return mem;
                    }
                    _ => {}
                }
                let count = self.reg(count);
                let scaled = match elem {
                    ElemSize::Known(1) => count,
                    ElemSize::Known(size) => {
                        let dst = self.fresh();
                        let imm = self.immediate(i128::from(*size), &Ty::Int(IntTy::USIZE));
                        self.insts.push(Inst::Alu {
                            op: AluOp::Mul,
                            dst,
                            lhs: count,
                            rhs: imm,
                        });
                        dst
                    }
                    ElemSize::SizeOf(ty) => {
                        let index = self.consts.len();
                        self.consts.push(ty.clone());
                        let dst = self.fresh();
                        self.insts.push(Inst::Alu {
                            op: AluOp::Mul,
                            dst,
                            lhs: count,
                            rhs: Operand::SizeOf(index),
                        });
                        dst
                    }
                };
                let base = self.mem_to_reg(mem);
                if *subtract {
                    let dst = self.fresh();
                    self.insts.push(Inst::Alu {
                        op: AluOp::Sub,
                        dst,
                        lhs: base,
                        rhs: Operand::Reg(scaled),
                    });
                    Mem {
                        base: dst,
                        index: None,
                        disp: 0,
                    }
                } else {
                    Mem {
                        base,
                        index: Some((scaled, 1)),
                        disp: 0,
                    }
                }
            }
            _ => Mem {
                base: self.reg(ptr),
                index: None,
                disp: 0,
            },
        }
    }

    fn mem_to_reg(&mut self, mem: Mem) -> VReg {
        if mem.index.is_none() && mem.disp == 0 {
            return mem.base;
        }
        let dst = self.fresh();
        self.insts.push(Inst::Lea { dst, mem });
        dst
    }

    /// Re-reads the index field and every load an exit compared, right before the commit.
    fn compare_twice(&mut self, area: VReg, index: VReg, offset: u32) -> Vec<String> {
        let mut checks = vec![format!(
            "the index field (offset {offset}) changed inside the section"
        )];
        self.insts.push(Inst::VerifyIndex {
            area,
            index,
            offset,
            check: 0,
        });
        let mut compared: Vec<VReg> = Vec::new();
        for inst in &self.insts {
            if let Inst::ExitIf { lhs, rhs, .. } = inst {
                compared.push(*lhs);
                if let Operand::Reg(r) = rhs {
                    compared.push(*r);
                }
            }
        }
        compared.dedup();
        let loads: Vec<(VReg, Mem, Width)> = compared
            .iter()
            .filter_map(|v| {
                self.insts.iter().find_map(|inst| match inst {
                    Inst::Load { dst, mem, width } if dst == v => Some((*dst, *mem, *width)),
                    _ => None,
                })
            })
            .collect();
        for (original, mem, width) in loads {
            let name = self
                .var_operands
                .iter()
                .position(|op| *op == Some(Operand::Reg(original)))
                .map_or("a compared value".to_string(), |var| {
                    format!("`{}`", self.checked.vars[var].name)
                });
            checks.push(format!(
                "{name} changed in memory between its load and the commit"
            ));
            let scratch = self.fresh();
            let check = checks.len() - 1;
            self.insts.push(Inst::VerifyLoad {
                original,
                mem,
                width,
                scratch,
                check,
            });
        }
        checks
    }

    /// Inserts a delay loop at every numbered point, its length read from the table.
    fn inject_delays(&mut self) {
        let table = self.input(Source::Delays);
        let old = std::mem::take(&mut self.insts);
        let mut seen_load = false;
        for inst in old {
            let before = match &inst {
                Inst::StoreDescriptor { .. } => Some(DELAY_BEFORE_DESCRIPTOR),
                Inst::CheckIndex { .. } => Some(DELAY_BEFORE_INDEX_CHECK),
                Inst::Commit { .. } => Some(DELAY_BEFORE_COMMIT),
                _ => None,
            };
            let after = match &inst {
                Inst::CheckIndex { .. } => Some(DELAY_AFTER_INDEX_CHECK),
                Inst::Load { .. } if !seen_load => Some(DELAY_AFTER_FIRST_LOAD),
                Inst::Store { .. } | Inst::CopyBytes { .. } => Some(DELAY_AFTER_STORE),
                _ => None,
            };
            seen_load |= matches!(inst, Inst::Load { .. });
            if let Some(point) = before {
                self.spin(table, point);
            }
            self.insts.push(inst);
            if let Some(point) = after {
                self.spin(table, point);
            }
        }
    }

    fn spin(&mut self, table: VReg, point: u8) {
        let counter = self.fresh();
        let mem = Mem {
            base: table,
            index: None,
            disp: 4 * i64::from(point - 1),
        };
        self.insts.push(Inst::Load {
            dst: counter,
            mem,
            width: Width {
                bytes: 4,
                signed: false,
            },
        });
        self.insts.push(Inst::Spin { counter, point });
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

impl Inst {
    /// Registers this instruction reads.
    pub fn uses(&self) -> Vec<VReg> {
        let mem_regs = |mem: &Mem| {
            let mut regs = vec![mem.base];
            regs.extend(mem.index.map(|(index, _)| index));
            regs
        };
        let operand = |op: &Operand| match op {
            Operand::Reg(r) => vec![*r],
            _ => vec![],
        };
        match self {
            Inst::StoreDescriptor { area } => vec![*area],
            Inst::CheckIndex { area, index, .. } => vec![*area, *index],
            Inst::Load { mem, .. } | Inst::Lea { mem, .. } => mem_regs(mem),
            Inst::Store { mem, src, .. } | Inst::Commit { mem, src, .. } => {
                let mut regs = mem_regs(mem);
                regs.extend(operand(src));
                regs
            }
            Inst::Mov { src, .. } => operand(src),
            Inst::Alu { lhs, rhs, .. } => {
                let mut regs = vec![*lhs];
                regs.extend(operand(rhs));
                regs
            }
            Inst::Not { src, .. } | Inst::Neg { src, .. } | Inst::Extend { src, .. } => vec![*src],
            Inst::CopyBytes { dst, src, .. } => vec![*dst, *src],
            Inst::ExitIf { lhs, rhs, .. } => {
                let mut regs = vec![*lhs];
                regs.extend(operand(rhs));
                regs
            }
            Inst::Spin { counter, .. } => vec![*counter],
            Inst::VerifyIndex { area, index, .. } => vec![*area, *index],
            Inst::VerifyLoad { original, mem, .. } => {
                let mut regs = mem_regs(mem);
                regs.push(*original);
                regs
            }
        }
    }

    /// A scratch register the instruction needs only while it runs.
    pub fn scratch(&self) -> Option<VReg> {
        match self {
            Inst::CopyBytes { scratch, .. } | Inst::VerifyLoad { scratch, .. } => Some(*scratch),
            _ => None,
        }
    }

    /// The register this instruction defines, if any.
    pub fn def(&self) -> Option<VReg> {
        match self {
            Inst::Load { dst, .. }
            | Inst::Mov { dst, .. }
            | Inst::Lea { dst, .. }
            | Inst::Alu { dst, .. }
            | Inst::Not { dst, .. }
            | Inst::Neg { dst, .. }
            | Inst::Extend { dst, .. } => Some(*dst),
            _ => None,
        }
    }
}

/// Linear-scan assignment of virtual registers to slots. The code is straight-line (exits
/// only leave), so a value lives from its definition to its last use.
fn allocate(
    insts: &[Inst],
    exits: &[Option<Operand>],
    yielded: Option<Operand>,
    sources: &[(VReg, Source)],
    vregs: usize,
) -> Allocation {
    let end = insts.len();
    let mut last_use = vec![None::<usize>; vregs];
    for (i, inst) in insts.iter().enumerate() {
        let mut uses = inst.uses();
        if let Inst::ExitIf { exit, .. } = inst {
            if let Some(Operand::Reg(value)) = exits[*exit] {
                uses.push(value);
            }
        }
        for vreg in uses {
            last_use[vreg] = Some(i);
        }
    }
    if let Some(Operand::Reg(value)) = yielded {
        last_use[value] = Some(end);
    }

    let mut slot_of = vec![usize::MAX; vregs];
    let mut written: Vec<bool> = Vec::new();
    let mut free: Vec<usize> = Vec::new();
    let new_slot = |free: &mut Vec<usize>, written: &mut Vec<bool>| match free.pop() {
        Some(slot) => slot,
        None => {
            written.push(false);
            written.len() - 1
        }
    };
    for (vreg, _) in sources {
        if last_use[*vreg].is_some() {
            slot_of[*vreg] = new_slot(&mut free, &mut written);
        }
    }
    for (i, inst) in insts.iter().enumerate() {
        let mut uses = inst.uses();
        if let Inst::ExitIf { exit, .. } = inst {
            if let Some(Operand::Reg(value)) = exits[*exit] {
                uses.push(value);
            }
        }
        uses.sort_unstable();
        uses.dedup();
        let mut dying: Vec<VReg> = uses
            .iter()
            .copied()
            .filter(|v| last_use[*v] == Some(i))
            .collect();
        if let Some(dst) = inst.def() {
            // The destination may take over the slot of an operand read for the last time
            // here, where the backend can emit that in place (never the right operand of a
            // two-address ALU op, which the backend reads after writing the destination).
            let reusable: Vec<VReg> = match inst {
                Inst::Alu { lhs, .. } => vec![*lhs],
                _ => inst.uses(),
            };
            let reuse = dying.iter().position(|v| reusable.contains(v));
            let slot = match reuse {
                Some(at) => slot_of[dying.swap_remove(at)],
                None => new_slot(&mut free, &mut written),
            };
            slot_of[dst] = slot;
            written[slot] = true;
            if last_use[dst].is_none() {
                free.push(slot);
            }
        }
        if let Some(scratch) = inst.scratch() {
            let slot = new_slot(&mut free, &mut written);
            slot_of[scratch] = slot;
            written[slot] = true;
            free.push(slot);
        }
        for vreg in dying {
            free.push(slot_of[vreg]);
        }
    }
    Allocation {
        slot_count: written.len(),
        slot_of,
        written,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalise_sign_and_zero_extends() {
        let u8_ty = IntTy::from_name("u8").unwrap();
        let i8_ty = IntTy::from_name("i8").unwrap();
        assert_eq!(normalise(255, u8_ty), 255);
        assert_eq!(normalise(-1, i8_ty), -1);
        assert_eq!(normalise(256, u8_ty), 0);
        assert_eq!(normalise(u64::MAX as i128, IntTy::USIZE), -1);
        assert_eq!(fold(BinOp::Add, 200, 100, u8_ty), 44);
        assert_eq!(fold(BinOp::Shr, -8, 1, i8_ty), -4);
    }
}
