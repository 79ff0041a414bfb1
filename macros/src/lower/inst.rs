//! The instruction set: what lowering produces and every backend consumes. A backend
//! needs nothing else (no type of the checker): virtual registers, operands, memory
//! operands, the instructions, where input registers come from, and the register
//! assignment.

use proc_macro2::TokenStream;

use crate::check::Relation;
use crate::ty::IntTy;

/// A virtual register.
pub type VReg = usize;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Operand {
    Reg(VReg),
    Imm(i64),
    /// `size_of::<T>()` of an opaque pointee, the n-th `const` operand.
    SizeOf(usize),
}

/// `base + index * scale + disp + field`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mem {
    pub base: VReg,
    pub index: Option<(VReg, u8)>,
    pub disp: i64,
    /// A struct field's offset, known only to rustc: the n-th `const` operand.
    pub field: Option<usize>,
}

impl Mem {
    /// `[base]`.
    pub fn at(base: VReg) -> Mem {
        Mem::at_disp(base, 0)
    }

    /// `[base + disp]`.
    pub fn at_disp(base: VReg, disp: i64) -> Mem {
        Mem {
            base,
            index: None,
            disp,
            field: None,
        }
    }
}

/// A `const` operand of the asm: a value only rustc knows.
#[derive(Clone, Debug)]
pub enum Const {
    /// `size_of::<T>()` of an opaque pointee.
    SizeOf(TokenStream),
    /// The offset of field use `n` of the checked section (`offset_of!`).
    FieldOffset(usize),
}

/// A bound on a field offset where the backend folds it into an instruction (an
/// addressing mode's or an `add`'s immediate): the expansion has rustc check it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FieldLimit {
    /// The largest offset the instruction takes.
    pub max: u64,
    /// The offset must be a multiple of this (a scaled displacement); 1 when any will do.
    pub multiple: u64,
}

/// Width and signedness of a memory access or a normalisation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Width {
    pub bytes: u8,
    pub signed: bool,
}

impl Width {
    pub(super) fn of(int: IntTy) -> Width {
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
    /// `dst = *mem`; with `acquire`, no later load or store is performed before it
    /// (`p.load_acquire()`).
    Load {
        dst: VReg,
        mem: Mem,
        width: Width,
        acquire: bool,
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
    /// Copy `len` bytes from `src` to `dst`, `len` known only at run time: 8 bytes at a
    /// time, then 4, 2 and 1 as `len`'s low bits say, through `scratch`. The loop advances
    /// `dst` and `src` and counts `len` down in place, so all three must be registers no
    /// one reads afterwards (lowering copies the values into fresh ones).
    CopyLoop {
        dst: VReg,
        src: VReg,
        len: VReg,
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

/// What an architecture's addressing and immediates allow; lowering stays inside it.
pub trait Target {
    /// Name used in diagnostics.
    fn name(&self) -> &'static str;
    /// Register and pointer width: 64, or 32 on i686 and armv7.
    fn word_bits(&self) -> u8 {
        64
    }
    /// The `asm!` register class of the slots and the `result` operand: `reg`, or a class
    /// without the registers the backend's instructions cannot take (powerpc64's
    /// `reg_nonzero`: r0 as a base or `addi` source reads as 0; s390x's `reg_addr`: `r0`
    /// as a base or index register reads as zero).
    fn register_class(&self) -> &'static str {
        "reg"
    }
    /// The `asm!` register class of the `scratch` operand: the slots', or a class whose
    /// registers have a form the backend needs (i686's `reg_abcd`, for byte stores).
    fn scratch_class(&self) -> &'static str {
        self.register_class()
    }
    /// Registers besides the general ones that every template clobbers (powerpc64's link
    /// register, written to find the descriptor, and the condition and fixed-point
    /// exception registers, which `asm!` there does not assume clobbered).
    fn fixed_clobbers(&self) -> &'static [&'static str] {
        &[]
    }
    /// Whether the template pushes to the stack (i686's `call` that finds the program
    /// counter): the expansion then leaves out `options(nostack)`.
    fn uses_stack(&self) -> bool {
        false
    }
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
    /// Whether a memory operand of this shape can be the source of a load, an acquire
    /// one when `acquire`. An acquire load may take fewer addressing modes than a plain
    /// one (aarch64's `ldar`).
    fn load_mem_fits(&self, mem: &Mem, width: Width, acquire: bool) -> bool {
        let _ = acquire;
        self.mem_fits(mem, width)
    }
    /// The field offsets ([`Mem::field`]) that `mem`, an access of `width` (an ordered
    /// one, a release store or an acquire load, when `ordered`), can carry in its
    /// displacement; `None` when this shape cannot carry one, and lowering computes the
    /// address with a `Lea` instead.
    fn field_fits(&self, mem: &Mem, width: Width, ordered: bool) -> Option<FieldLimit>;
    /// The field offsets a `Lea` of `mem` can add.
    fn lea_field_limit(&self, mem: &Mem) -> FieldLimit;
    /// The register a shift by a register count takes its count in, if the ISA fixes one
    /// (x86's `cl`): the asm then clobbers it, and the section has one register less.
    fn shift_count_register(&self) -> Option<&'static str> {
        None
    }
}

pub struct Lowered {
    pub insts: Vec<Inst>,
    /// Value carried by each exit, in exit order.
    pub exits: Vec<Option<Operand>>,
    pub yielded: Option<Operand>,
    pub sources: Vec<(VReg, Source)>,
    /// The `const` operands, `c0..cN`.
    pub consts: Vec<Const>,
    /// The bounds the backend's instructions put on field offsets, by `const` operand.
    pub field_limits: Vec<(usize, FieldLimit)>,
    /// Registers the asm clobbers besides its operands (x86's `rcx`, for shift counts, and
    /// [`Target::fixed_clobbers`]).
    pub clobbers: Vec<&'static str>,
    pub alloc: Allocation,
    /// What each compare-twice check verifies, by check number, for the failure report.
    pub checks: Vec<String>,
    /// The slots' and `result`'s register class ([`Target::register_class`]).
    pub register_class: &'static str,
    /// The `scratch` operand's register class ([`Target::scratch_class`]).
    pub scratch_class: &'static str,
    /// Whether the template uses the stack ([`Target::uses_stack`]).
    pub uses_stack: bool,
    /// Whether the section leaves through `asm goto` label operands (it returns nothing
    /// computed); otherwise it leaves a status, and its values, in output registers.
    pub goto: bool,
}

/// Where each virtual register lives.
pub struct Allocation {
    pub slot_of: Vec<usize>,
    pub slot_count: usize,
    /// Slots that some instruction writes (so an input there is an `inout`).
    pub written: Vec<bool>,
    /// Where the most slots are held at once.
    pub peak: Peak,
}

/// The instruction where register pressure peaks, and the values it holds there.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Peak {
    pub inst: usize,
    /// Every virtual register holding a slot while `inst` runs (as many as `slot_count`).
    pub live: Vec<VReg>,
}

/// Field offsets of the area, mirrored from the runtime's `abi` (the expansion asserts
/// that both agree).
pub const CPU_ID_START_OFFSET: u32 = 0;
pub const CPU_ID_OFFSET: u32 = 4;
pub const RSEQ_CS_OFFSET: u32 = 8;
pub const MM_CID_OFFSET: u32 = 24;

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
            Inst::CopyLoop { dst, src, len, .. } => vec![*dst, *src, *len],
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
            Inst::CopyBytes { scratch, .. }
            | Inst::CopyLoop { scratch, .. }
            | Inst::VerifyLoad { scratch, .. } => Some(*scratch),
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
