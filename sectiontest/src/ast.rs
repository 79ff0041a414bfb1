//! The section language as this crate models it: its own types, independent of the macro's
//! ([`crate::print`] writes a section as `rseq!` input).

use crate::fields::Struct;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Int {
    U8,
    U16,
    U32,
    U64,
    Usize,
    I8,
    I16,
    I32,
    I64,
    Isize,
}

pub const INTS: [Int; 10] = [
    Int::U8,
    Int::U16,
    Int::U32,
    Int::U64,
    Int::Usize,
    Int::I8,
    Int::I16,
    Int::I32,
    Int::I64,
    Int::Isize,
];

impl Int {
    pub fn bits(self) -> u32 {
        match self {
            Int::U8 | Int::I8 => 8,
            Int::U16 | Int::I16 => 16,
            Int::U32 | Int::I32 => 32,
            _ => 64,
        }
    }

    pub fn bytes(self) -> u64 {
        u64::from(self.bits() / 8)
    }

    pub fn signed(self) -> bool {
        matches!(self, Int::I8 | Int::I16 | Int::I32 | Int::I64 | Int::Isize)
    }

    pub fn name(self) -> &'static str {
        match self {
            Int::U8 => "u8",
            Int::U16 => "u16",
            Int::U32 => "u32",
            Int::U64 => "u64",
            Int::Usize => "usize",
            Int::I8 => "i8",
            Int::I16 => "i16",
            Int::I32 => "i32",
            Int::I64 => "i64",
            Int::Isize => "isize",
        }
    }

    pub fn min(self) -> i128 {
        if self.signed() {
            -(1i128 << (self.bits() - 1))
        } else {
            0
        }
    }

    pub fn max(self) -> i128 {
        if self.signed() {
            (1i128 << (self.bits() - 1)) - 1
        } else {
            (1i128 << self.bits()) - 1
        }
    }

    /// The mathematical value of a canonical bit pattern (see [`crate::interp`]).
    pub fn value(self, bits: u64) -> i128 {
        let shift = 64 - self.bits();
        if self.signed() {
            i128::from(((bits << shift) as i64) >> shift)
        } else {
            i128::from((bits << shift) >> shift)
        }
    }

    /// The canonical bit pattern of `value` wrapped to this type: its low `bits`, zeroes above.
    pub fn wrap(self, value: i128) -> u64 {
        let bits = value as u64;
        if self.bits() == 64 {
            bits
        } else {
            bits & ((1u64 << self.bits()) - 1)
        }
    }
}

/// A user type that a section can only point to: 24 bytes, so `.add(n)` moves by
/// `size_of::<Rec>()`, a size the macro does not know and takes from rustc.
pub const REC_SIZE: u64 = 24;
pub const REC_DECL: &str = "#[repr(C, align(8))]\npub struct Rec([u8; 24]);";

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Ty {
    Int(Int),
    Ptr {
        mutable: bool,
        pointee: Box<Pointee>,
    },
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Pointee {
    Val(Ty),
    Rec,
    /// A struct with fields (see [`crate::fields`]): reached through its fields only.
    Struct(Struct),
}

impl Ty {
    pub fn ptr(mutable: bool, pointee: Ty) -> Ty {
        Ty::Ptr {
            mutable,
            pointee: Box::new(Pointee::Val(pointee)),
        }
    }

    pub fn rec(mutable: bool) -> Ty {
        Ty::Ptr {
            mutable,
            pointee: Box::new(Pointee::Rec),
        }
    }

    pub fn strukt(mutable: bool, s: Struct) -> Ty {
        Ty::Ptr {
            mutable,
            pointee: Box::new(Pointee::Struct(s)),
        }
    }

    /// The struct this points to, if it points to one.
    pub fn struct_pointee(&self) -> Option<Struct> {
        match self {
            Ty::Ptr { pointee, .. } => match &**pointee {
                Pointee::Struct(s) => Some(*s),
                _ => None,
            },
            Ty::Int(_) => None,
        }
    }

    pub fn is_mut_ptr(&self) -> bool {
        matches!(self, Ty::Ptr { mutable: true, .. })
    }

    pub fn int(&self) -> Option<Int> {
        match self {
            Ty::Int(int) => Some(*int),
            Ty::Ptr { .. } => None,
        }
    }

    pub fn is_ptr(&self) -> bool {
        matches!(self, Ty::Ptr { .. })
    }

    /// Register image: pointers are 64-bit unsigned addresses.
    pub fn scalar(&self) -> Int {
        self.int().unwrap_or(Int::Usize)
    }

    /// Bytes a load or store of this type moves.
    pub fn size(&self) -> u64 {
        self.scalar().bytes()
    }

    /// What `*p` yields, if it can be loaded (not for `*mut Rec`).
    pub fn pointee(&self) -> Option<&Ty> {
        match self {
            Ty::Ptr { pointee, .. } => match &**pointee {
                Pointee::Val(ty) => Some(ty),
                Pointee::Rec | Pointee::Struct(_) => None,
            },
            Ty::Int(_) => None,
        }
    }

    /// The step of `.add(1)` (never taken on a struct pointer: 0).
    pub fn elem_size(&self) -> u64 {
        match self {
            Ty::Ptr { pointee, .. } => match &**pointee {
                Pointee::Val(ty) => ty.size(),
                Pointee::Rec => REC_SIZE,
                Pointee::Struct(_) => 0,
            },
            Ty::Int(_) => 1,
        }
    }

    pub fn text(&self) -> String {
        match self {
            Ty::Int(int) => int.name().to_string(),
            Ty::Ptr { mutable, pointee } => {
                let qual = if *mutable { "*mut" } else { "*const" };
                match &**pointee {
                    Pointee::Val(ty) => format!("{qual} {}", ty.text()),
                    Pointee::Rec => format!("{qual} Rec"),
                    Pointee::Struct(s) => format!("{qual} {}", s.name()),
                }
            }
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    And,
    Or,
    Xor,
}

impl BinOp {
    pub fn text(self) -> &'static str {
        match self {
            BinOp::Add => "+",
            BinOp::Sub => "-",
            BinOp::Mul => "*",
            BinOp::And => "&",
            BinOp::Or => "|",
            BinOp::Xor => "^",
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OffsetKind {
    Add,
    Sub,
    ByteAdd,
}

#[derive(Clone, Debug)]
pub struct Expr {
    pub kind: Kind,
    pub ty: Ty,
}

#[derive(Clone, Debug)]
pub enum Kind {
    Var(String),
    /// A literal; `suffix` asks for `5u8` even where the context would type a bare `5`.
    Lit {
        value: i128,
        suffix: bool,
    },
    Load(Box<Expr>),
    /// `ptr.load_acquire()`: a load, with an ordering a single thread cannot observe.
    LoadAcquire(Box<Expr>),
    Offset {
        ptr: Box<Expr>,
        count: Box<Expr>,
        kind: OffsetKind,
    },
    Cast(Box<Expr>),
    Bin(BinOp, Box<Expr>, Box<Expr>),
    /// `<<` (`left`) or `>>` by a literal below the width.
    Shift {
        value: Box<Expr>,
        left: bool,
        amount: u32,
    },
    /// `<<` (`left`) or `>>` by a value of any integer type, taken modulo the width (as
    /// Rust's `wrapping_shl` takes it); never a literal, which would be a `Shift`.
    ShiftBy {
        value: Box<Expr>,
        left: bool,
        count: Box<Expr>,
    },
    Not(Box<Expr>),
    Neg(Box<Expr>),
    /// The address of field `FIELDS[field]` of the struct `base` points to (an element of
    /// it with `index`): a pointer, `*mut` only if `base` is. Loaded, it prints as the
    /// place `(*base).path[index]`; as a value, as `&raw mut` or `&raw const` of it.
    Field {
        base: Box<Expr>,
        field: usize,
        index: Option<Box<Expr>>,
    },
}

impl Expr {
    pub fn var(name: &str, ty: Ty) -> Expr {
        Expr {
            kind: Kind::Var(name.to_string()),
            ty,
        }
    }

    pub fn lit(value: i128, int: Int) -> Expr {
        Expr {
            kind: Kind::Lit {
                value,
                suffix: false,
            },
            ty: Ty::Int(int),
        }
    }

    /// Whether evaluating it reads memory.
    pub fn loads(&self) -> bool {
        match &self.kind {
            Kind::Var(_) | Kind::Lit { .. } => false,
            Kind::Load(_) | Kind::LoadAcquire(_) => true,
            Kind::Offset { ptr, count, .. } => ptr.loads() || count.loads(),
            Kind::Cast(e) | Kind::Not(e) | Kind::Neg(e) => e.loads(),
            Kind::Shift { value, .. } => value.loads(),
            Kind::ShiftBy { value, count, .. } => value.loads() || count.loads(),
            Kind::Bin(_, l, r) => l.loads() || r.loads(),
            Kind::Field { base, index, .. } => {
                base.loads() || index.as_ref().is_some_and(|i| i.loads())
            }
        }
    }

    pub fn size(&self) -> usize {
        1 + match &self.kind {
            Kind::Var(_) | Kind::Lit { .. } => 0,
            Kind::Offset { ptr, count, .. } => ptr.size() + count.size(),
            Kind::Load(e) | Kind::LoadAcquire(e) | Kind::Cast(e) | Kind::Not(e) | Kind::Neg(e) => {
                e.size()
            }
            Kind::Shift { value, .. } => value.size(),
            Kind::ShiftBy { value, count, .. } => value.size() + count.size(),
            Kind::Bin(_, l, r) => l.size() + r.size(),
            Kind::Field { base, index, .. } => base.size() + index.as_ref().map_or(0, |i| i.size()),
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

pub const CMP_OPS: [CmpOp; 6] = [
    CmpOp::Eq,
    CmpOp::Ne,
    CmpOp::Lt,
    CmpOp::Le,
    CmpOp::Gt,
    CmpOp::Ge,
];

impl CmpOp {
    pub fn text(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }
}

#[derive(Clone, Debug)]
pub enum Cond {
    Cmp(CmpOp, Expr, Expr),
    IsNull(Expr),
    /// `!(cond)`
    Not(Box<Cond>),
}

/// Where an `in` input comes from, evaluated by the harness in Rust before each attempt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// `ints[i] as T` from the memory state's integers.
    Int(usize),
    /// The arena's base plus `offset` bytes, plus `stride * (index % 4)` when `stride > 0`.
    Arena { offset: u64, stride: u64 },
    /// A null pointer.
    Null,
}

#[derive(Clone, Debug)]
pub struct Input {
    pub name: String,
    pub ty: Ty,
    pub source: Source,
}

#[derive(Clone, Debug)]
pub enum Stmt {
    Let {
        name: String,
        value: Expr,
    },
    Store {
        ptr: Expr,
        value: Expr,
    },
    Copy {
        dst: Expr,
        src: Expr,
        len: u64,
    },
    /// `copy(dst, src, len, max N)`: `len` an unsigned integer known at run time; above
    /// `max` the section exits, without a value, before copying.
    CopyUpTo {
        dst: Expr,
        src: Expr,
        len: Expr,
        max: u64,
    },
    ExitIf {
        cond: Cond,
        value: Option<Expr>,
    },
}

#[derive(Clone, Debug)]
pub struct Commit {
    pub ptr: Expr,
    pub value: Expr,
    pub add: bool,
    pub release: bool,
    /// Written `commit(relaxed)` rather than `commit` (the same ordering).
    pub relaxed_spelled: bool,
}

#[derive(Clone, Debug)]
pub struct Section {
    pub mm_cid: bool,
    pub no_retry: bool,
    pub inputs: Vec<Input>,
    pub stmts: Vec<Stmt>,
    pub commit: Commit,
    pub yielded: Option<String>,
    /// Whether a restart leaves no trace (no statement reads what a store may have
    /// written, and nothing depends on the index): the signal storm runs only these.
    pub idempotent: bool,
}

pub const INDEX: &str = "cpu";

impl Section {
    /// The type of a name of the section.
    pub fn var_ty(&self, name: &str) -> Option<Ty> {
        if name == INDEX {
            return Some(Ty::Int(Int::Usize));
        }
        if let Some(input) = self.inputs.iter().find(|i| i.name == name) {
            return Some(input.ty.clone());
        }
        self.stmts.iter().find_map(|stmt| match stmt {
            Stmt::Let { name: n, value } if n == name => Some(value.ty.clone()),
            _ => None,
        })
    }

    pub fn exit_ty(&self) -> Option<Ty> {
        self.stmts.iter().find_map(|stmt| match stmt {
            Stmt::ExitIf { value: Some(v), .. } => Some(v.ty.clone()),
            _ => None,
        })
    }

    pub fn yield_ty(&self) -> Option<Ty> {
        self.yielded.as_ref().and_then(|name| self.var_ty(name))
    }
}
