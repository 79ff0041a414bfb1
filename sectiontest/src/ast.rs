//! The section language as this crate models it: its own types, independent of the macro's,
//! and a printer that writes a section as `rseq!` input.
//!
//! The printer decides where a literal needs a suffix by following the language's rule for
//! bare literals (they take the type their context expects, `i32` where none does), so a
//! section prints with as few suffixes as the language allows: that rule is exercised too.

use std::fmt::Write;

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
                Pointee::Rec => None,
            },
            Ty::Int(_) => None,
        }
    }

    /// The step of `.add(1)`.
    pub fn elem_size(&self) -> u64 {
        match self {
            Ty::Ptr { pointee, .. } => match &**pointee {
                Pointee::Val(ty) => ty.size(),
                Pointee::Rec => REC_SIZE,
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
    Not(Box<Expr>),
    Neg(Box<Expr>),
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

    /// Whether the language treats it as a literal: `5`, `-5`, `(5)`.
    fn is_literal(&self) -> bool {
        match &self.kind {
            Kind::Lit { .. } => true,
            Kind::Neg(inner) => inner.is_literal(),
            _ => false,
        }
    }

    /// Whether evaluating it reads memory.
    pub fn loads(&self) -> bool {
        match &self.kind {
            Kind::Var(_) | Kind::Lit { .. } => false,
            Kind::Load(_) => true,
            Kind::Offset { ptr, count, .. } => ptr.loads() || count.loads(),
            Kind::Cast(e) | Kind::Not(e) | Kind::Neg(e) => e.loads(),
            Kind::Shift { value, .. } => value.loads(),
            Kind::Bin(_, l, r) => l.loads() || r.loads(),
        }
    }

    pub fn size(&self) -> usize {
        1 + match &self.kind {
            Kind::Var(_) | Kind::Lit { .. } => 0,
            Kind::Offset { ptr, count, .. } => ptr.size() + count.size(),
            Kind::Load(e) | Kind::Cast(e) | Kind::Not(e) | Kind::Neg(e) => e.size(),
            Kind::Shift { value, .. } => value.size(),
            Kind::Bin(_, l, r) => l.size() + r.size(),
        }
    }

    /// The expression as section text, given the type its context expects of a bare
    /// literal (the checker's rule: `None` types it `i32`).
    pub fn print(&self, expected: Option<&Ty>) -> String {
        match &self.kind {
            Kind::Var(name) => name.clone(),
            Kind::Lit { value, suffix } => {
                let int = self.ty.scalar();
                let bare = !suffix && expected == Some(&self.ty);
                let text = if bare {
                    format!("{value}")
                } else {
                    format!("{value}{}", int.name())
                };
                if *value < 0 {
                    format!("({text})")
                } else {
                    text
                }
            }
            Kind::Load(ptr) => format!("(*{})", ptr.print_postfix()),
            Kind::Offset { ptr, count, kind } => {
                let method = match kind {
                    OffsetKind::Add => "add",
                    OffsetKind::Sub => "sub",
                    OffsetKind::ByteAdd => "byte_add",
                };
                let usize_ty = Ty::Int(Int::Usize);
                format!(
                    "{}.{method}({})",
                    ptr.print_postfix(),
                    count.print(Some(&usize_ty))
                )
            }
            Kind::Cast(inner) => format!("({} as {})", inner.print(None), self.ty.text()),
            Kind::Bin(op, l, r) => {
                // The checker's order: a literal left side takes the right side's type;
                // otherwise the left is typed first (with the context's expectation) and
                // the right takes the left's type.
                let (left, right) = if l.is_literal() && !r.is_literal() {
                    (l.print(Some(&r.ty)), r.print(expected))
                } else {
                    (l.print(expected), r.print(Some(&l.ty)))
                };
                format!("({left} {} {right})", op.text())
            }
            Kind::Shift {
                value,
                left,
                amount,
            } => {
                let op = if *left { "<<" } else { ">>" };
                format!("({} {op} {amount})", value.print(expected))
            }
            Kind::Not(inner) => format!("(!{})", inner.print(expected)),
            Kind::Neg(inner) => format!("(-{})", inner.print(expected)),
        }
    }

    /// As a method receiver or deref operand: a name as is, anything else in parentheses.
    fn print_postfix(&self) -> String {
        let text = self.print(None);
        match &self.kind {
            Kind::Var(_) => text,
            _ if text.starts_with('(') && text.ends_with(')') && balanced_outer(&text) => text,
            _ => format!("({text})"),
        }
    }
}

/// Whether the first `(` of `text` closes at its last character.
fn balanced_outer(text: &str) -> bool {
    let mut depth = 0;
    for (i, c) in text.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth -= 1;
                if depth == 0 {
                    return i == text.len() - 1;
                }
            }
            _ => {}
        }
    }
    false
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

impl Cond {
    pub fn print(&self) -> String {
        match self {
            Cond::Cmp(op, l, r) => {
                let (left, right) = if l.is_literal() && !r.is_literal() {
                    (l.print(Some(&r.ty)), r.print(None))
                } else {
                    (l.print(None), r.print(Some(&l.ty)))
                };
                format!("{left} {} {right}", op.text())
            }
            Cond::IsNull(ptr) => format!("{}.is_null()", ptr.print_postfix()),
            Cond::Not(inner) => format!("!({})", inner.print()),
        }
    }
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
    Let { name: String, value: Expr },
    Store { ptr: Expr, value: Expr },
    Copy { dst: Expr, src: Expr, len: u64 },
    ExitIf { cond: Cond, value: Option<Expr> },
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

    /// The `rseq!(...)` argument: options, closure and body.
    pub fn print(&self) -> String {
        let mut text = String::new();
        if self.mm_cid {
            text += "mm_cid, ";
        }
        if self.no_retry {
            text += "no_retry, ";
        }
        let _ = writeln!(text, "|{INDEX}| {{");
        for input in &self.inputs {
            let _ = writeln!(
                text,
                "    in {}: {} = {};",
                input.name,
                input.ty.text(),
                input_expr(input)
            );
        }
        let mut exit_ty: Option<Ty> = None;
        for stmt in &self.stmts {
            let line = match stmt {
                Stmt::Let { name, value } => format!(
                    "let {name}: {} = {};",
                    value.ty.text(),
                    value.print(Some(&value.ty))
                ),
                Stmt::Store { ptr, value } => format!(
                    "store *{} = {};",
                    ptr.print_postfix(),
                    value.print(ptr.ty.pointee())
                ),
                Stmt::Copy { dst, src, len } => {
                    format!("copy({}, {}, {len});", dst.print(None), src.print(None))
                }
                Stmt::ExitIf { cond, value } => {
                    let value = match value {
                        Some(v) => {
                            let printed = format!(" {}", v.print(exit_ty.as_ref()));
                            exit_ty.get_or_insert(v.ty.clone());
                            printed
                        }
                        None => String::new(),
                    };
                    format!("if {} {{ exit{value}; }}", cond.print())
                }
            };
            let _ = writeln!(text, "    {line}");
        }
        let c = &self.commit;
        let ordering = if c.release {
            "(release)"
        } else if c.relaxed_spelled {
            "(relaxed)"
        } else {
            ""
        };
        let op = if c.add { "+=" } else { "=" };
        let _ = writeln!(
            text,
            "    commit{ordering} *{} {op} {};",
            c.ptr.print_postfix(),
            c.value.print(c.ptr.ty.pointee())
        );
        if let Some(name) = &self.yielded {
            let _ = writeln!(text, "    {name}");
        }
        text += "}";
        text
    }
}

/// The Rust expression of an input, over the harness's `base: *mut u8` and `ints: &[u64; 8]`.
pub fn input_expr(input: &Input) -> String {
    let ty = input.ty.text();
    match &input.source {
        Source::Int(i) => format!("ints[{i}] as {ty}"),
        Source::Arena { offset, stride: 0 } => format!("base.add({offset}) as {ty}"),
        Source::Arena { offset, stride } => {
            format!("base.add({offset} + {stride} * ({INDEX} % 4)) as {ty}")
        }
        Source::Null => format!("::core::ptr::null_mut::<u8>() as {ty}"),
    }
}
