//! What the checker produces: the section with every name resolved and every expression
//! typed, in the order the lowering consumes it.

use proc_macro2::{Span, TokenStream};
use syn::{Expr, Ident};

use crate::ty::{ElemSize, Ty};

/// Longest `copy`, in bytes, and the largest bound `max N` of a run-time length: a literal
/// copy is unrolled, a run-time one is a loop, and either way a section must stay short
/// (the longer it runs, the likelier a preemption restarts it).
pub const MAX_COPY_BYTES: u32 = 256;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IndexMode {
    CpuId,
    MmCid,
}

/// The section's options, as `Checked` keeps them.
pub struct Options {
    pub mode: IndexMode,
    /// Retry an aborted attempt (without `no_retry`).
    pub retry: bool,
    /// `registered`: run only where the thread is registered already, never registering.
    pub registered_only: bool,
}

pub struct Checked {
    pub mode: IndexMode,
    pub retry: bool,
    pub registered_only: bool,
    pub index: Ident,
    /// Every name of the section; the index is always `vars[0]`.
    pub vars: Vec<Var>,
    pub inputs: Vec<CheckedInput>,
    pub ops: Vec<Op>,
    pub commit: Commit,
    pub yielded: Option<usize>,
    /// Type of the values the exits carry, if any exit carries one.
    pub exit_ty: Option<Ty>,
    /// Every use of a struct field, in order; [`Kind::Field`] refers to them by number.
    pub fields: Vec<Field>,
    /// The statement each of `ops` comes from, for errors found after checking.
    pub op_tokens: Vec<TokenStream>,
    pub body_span: Span,
}

/// One use of a struct field (`(*p).a.b`, `(*p).slots[i]`, `&raw mut (*p).a`). Only rustc
/// knows a field's offset and type: the expansion hands it the offset as a `const` operand
/// of the asm (`offset_of!`), and has it check the type the section gives the field.
pub struct Field {
    /// The struct, as the pointer's type names it.
    pub strukt: syn::Type,
    /// The path to the field inside it, one or more names (`a.b`) or tuple indices.
    pub members: Vec<syn::Member>,
    /// Whether the place is an element of the field (an array), not the field itself.
    pub element: bool,
    /// The type the section gives the field (or its element), as Rust tokens.
    pub ty: TokenStream,
    /// The place as written, for messages: `(*slab).current`.
    pub text: String,
    /// Where rustc's errors about the field point: its last name.
    pub span: Span,
}

pub struct Var {
    pub name: Ident,
    pub ty: Ty,
    pub kind: VarKind,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VarKind {
    Index,
    Input,
    Let,
}

pub struct CheckedInput {
    pub var: usize,
    pub ty: syn::Type,
    pub expr: Expr,
}

#[derive(Clone, Debug)]
pub struct TExpr {
    pub kind: Kind,
    pub ty: Ty,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BinOp {
    Add,
    Sub,
    Mul,
    And,
    Or,
    Xor,
    Shl,
    Shr,
}

#[derive(Clone, Debug)]
pub enum Kind {
    Var(usize),
    Lit(i128),
    /// `*ptr`, or `ptr.load_acquire()` when `acquire`.
    Load {
        ptr: Box<TExpr>,
        acquire: bool,
    },
    Offset {
        ptr: Box<TExpr>,
        count: Box<TExpr>,
        elem: ElemSize,
        subtract: bool,
    },
    Cast(Box<TExpr>),
    Binary {
        op: BinOp,
        lhs: Box<TExpr>,
        rhs: Box<TExpr>,
    },
    Not(Box<TExpr>),
    Neg(Box<TExpr>),
    /// The address of field `field` of the struct `ptr` points to; with `index`, of that
    /// element of the field (an array of `elem`-sized elements).
    Field {
        ptr: Box<TExpr>,
        field: usize,
        index: Option<(Box<TExpr>, ElemSize)>,
    },
}

/// The relation an `if` tests, as written (lowering turns it into a branch).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Relation {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl Relation {
    /// The relation with its operands swapped: `a < b` is `b > a`.
    pub fn swapped(self) -> Relation {
        match self {
            Relation::Lt => Relation::Gt,
            Relation::Le => Relation::Ge,
            Relation::Gt => Relation::Lt,
            Relation::Ge => Relation::Le,
            same => same,
        }
    }

    /// The relation that holds exactly when this one does not: `!(a < b)` is `a >= b`.
    pub fn negated(self) -> Relation {
        match self {
            Relation::Eq => Relation::Ne,
            Relation::Ne => Relation::Eq,
            Relation::Lt => Relation::Ge,
            Relation::Le => Relation::Gt,
            Relation::Gt => Relation::Le,
            Relation::Ge => Relation::Lt,
        }
    }
}

#[derive(Clone, Debug)]
pub enum Cond {
    Cmp {
        op: Relation,
        signed: bool,
        lhs: TExpr,
        rhs: TExpr,
    },
    IsNull {
        ptr: TExpr,
        negated: bool,
    },
}

pub enum Op {
    Let {
        var: usize,
        value: TExpr,
    },
    Store {
        ptr: TExpr,
        value: TExpr,
    },
    Copy {
        dst: TExpr,
        src: TExpr,
        len: u32,
    },
    /// `copy(dst, src, len, max N)`: `len` bytes, an unsigned integer known at run time.
    /// A `len` above `max` leaves through an exit without a value, before anything is
    /// copied, unless `guarded`: an earlier `if len > M { exit ...; }`, `M <= max`, has
    /// ruled it out already.
    CopyUpTo {
        dst: TExpr,
        src: TExpr,
        len: TExpr,
        max: u32,
        guarded: bool,
    },
    ExitIf {
        cond: Cond,
        value: Option<TExpr>,
    },
}

pub struct Commit {
    pub ptr: TExpr,
    pub value: TExpr,
    pub add: bool,
    pub release: bool,
    /// The statement, for errors found after checking.
    pub tokens: TokenStream,
}

impl TExpr {
    /// Whether evaluating this expression reads memory.
    pub fn loads(&self) -> bool {
        match &self.kind {
            Kind::Var(_) | Kind::Lit(_) => false,
            Kind::Load { .. } => true,
            Kind::Offset { ptr, count, .. } => ptr.loads() || count.loads(),
            Kind::Cast(inner) | Kind::Not(inner) | Kind::Neg(inner) => inner.loads(),
            Kind::Binary { lhs, rhs, .. } => lhs.loads() || rhs.loads(),
            Kind::Field { ptr, index, .. } => {
                ptr.loads() || index.as_ref().is_some_and(|(index, _)| index.loads())
            }
        }
    }
}
