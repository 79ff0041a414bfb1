//! The printer: a section as `rseq!` input. It decides where a literal needs a suffix by
//! following the language's rule for bare literals (they take the type their context
//! expects, `i32` where none does), so a section prints with as few suffixes as the
//! language allows: that rule is exercised too. Fields follow the same rule, without the
//! default: a field takes the type its context expects, and [`Expr::typed`] says whether
//! it gets one where it is printed (the generator and the validator keep only sections
//! where every field does).

use std::fmt::Write;

use crate::ast::*;
use crate::fields::FIELDS;

impl Expr {
    /// Whether the language treats it as a literal: `5`, `-5`, `(5)`.
    fn is_literal(&self) -> bool {
        match &self.kind {
            Kind::Lit { .. } => true,
            Kind::Neg(inner) => inner.is_literal(),
            _ => false,
        }
    }

    /// Whether it prints as a field (a read, or its address), which has no type of its
    /// own in the language: it takes the one its context expects.
    fn is_field(&self) -> bool {
        match &self.kind {
            Kind::Field { .. } => true,
            Kind::Load(ptr) => matches!(ptr.kind, Kind::Field { .. }),
            _ => false,
        }
    }

    /// How much a side of a binary operator or comparison needs the other's type, in the
    /// checker's order: 0 types itself, 1 a literal (defaults to `i32`), 2 a field.
    fn needs_context(&self) -> u8 {
        if self.is_field() {
            2
        } else {
            u8::from(self.is_literal())
        }
    }

    /// Whether it prints as a literal without a suffix in this context.
    fn prints_bare(&self, expected: Option<&Ty>) -> bool {
        match &self.kind {
            Kind::Lit { suffix, .. } => !suffix && expected == Some(&self.ty),
            Kind::Neg(inner) => inner.prints_bare(expected),
            _ => false,
        }
    }

    /// The field place `(*base).path[index]` of a `Field` address.
    fn place(&self) -> String {
        let Kind::Field { base, field, index } = &self.kind else {
            return self.print(None);
        };
        let usize_ty = Ty::Int(Int::Usize);
        let index = index
            .as_ref()
            .map_or(String::new(), |i| format!("[{}]", i.print(Some(&usize_ty))));
        format!("(*{}).{}{index}", base.print_postfix(), FIELDS[*field].path)
    }

    /// A store's or commit's left side: `*p`, or a field place.
    pub fn target(&self) -> String {
        match self.kind {
            Kind::Field { .. } => self.place(),
            _ => format!("*{}", self.print_postfix()),
        }
    }

    /// Whether a store's left side gets its types: a field place always has one (the
    /// stored value's), `*p` prints `p` without one.
    fn typed_target(&self) -> bool {
        match self.kind {
            Kind::Field { .. } => self.typed(Some(&self.ty)),
            _ => self.typed(None),
        }
    }

    /// The context a stored value is printed in: the slot's type, except for a field,
    /// whose type the language takes from the value (so the value must type itself).
    pub fn stored_context(&self) -> Option<&Ty> {
        match self.kind {
            Kind::Field { .. } => None,
            _ => self.ty.pointee(),
        }
    }

    /// Whether every field in it gets a type from its context when printed with
    /// `expected` (the checker's rule): a field read or address needs an expected type,
    /// and two sides that both need one cannot give it to each other.
    pub fn typed(&self, expected: Option<&Ty>) -> bool {
        let usize_ty = Ty::Int(Int::Usize);
        match &self.kind {
            Kind::Var(_) | Kind::Lit { .. } => true,
            Kind::Field { base, index, .. } => {
                expected.is_some()
                    && base.typed(None)
                    && index.as_ref().is_none_or(|i| i.typed(Some(&usize_ty)))
            }
            Kind::Load(ptr) => match ptr.kind {
                Kind::Field { .. } => expected.is_some() && ptr.typed(Some(&ptr.ty)),
                _ => ptr.typed(None),
            },
            // A field's address as the receiver takes its pointee type from the context.
            Kind::LoadAcquire(ptr) => match ptr.kind {
                Kind::Field { .. } => expected.is_some() && ptr.typed(Some(&ptr.ty)),
                _ => ptr.typed(None),
            },
            Kind::Offset { ptr, count, .. } => ptr.typed(None) && count.typed(Some(&usize_ty)),
            Kind::Cast(inner) => inner.typed(None),
            Kind::Bin(_, l, r) => pair_typed(l, r, expected),
            Kind::Shift { value, .. } => value.typed(expected),
            Kind::ShiftBy { value, count, .. } => value.typed(expected) && count.typed(None),
            Kind::Not(inner) | Kind::Neg(inner) => inner.typed(expected),
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
            Kind::Load(ptr) => match ptr.kind {
                Kind::Field { .. } => ptr.place(),
                _ => format!("(*{})", ptr.print_postfix()),
            },
            Kind::LoadAcquire(ptr) => format!("{}.load_acquire()", ptr.print_postfix()),
            Kind::Field { .. } => {
                let kind = if self.ty.is_mut_ptr() { "mut" } else { "const" };
                format!("(&raw {kind} {})", self.place())
            }
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
                let (left, right) = print_pair(l, r, expected);
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
            Kind::ShiftBy { value, left, count } => {
                let op = if *left { "<<" } else { ">>" };
                // The count types itself: the checker gives it no expected type.
                format!("({} {op} {})", value.print(expected), count.print(None))
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

/// Two operands that must agree, in the checker's order: the side that types itself goes
/// first (a literal or a field takes the other side's type), the left one on a tie.
fn print_pair(l: &Expr, r: &Expr, expected: Option<&Ty>) -> (String, String) {
    if r.needs_context() < l.needs_context() {
        (l.print(Some(&r.ty)), r.print(expected))
    } else {
        (l.print(expected), r.print(Some(&l.ty)))
    }
}

/// Whether [`print_pair`] gives every field of both sides a type: not when a field faces
/// a bare literal or another field without an expected type (the checker refuses that).
fn pair_typed(l: &Expr, r: &Expr, expected: Option<&Ty>) -> bool {
    let (left_ctx, right_ctx) = if r.needs_context() < l.needs_context() {
        (Some(&r.ty), expected)
    } else {
        (expected, Some(&l.ty))
    };
    let untyped =
        |e: &Expr, ctx: Option<&Ty>| e.is_field() || (e.is_literal() && e.prints_bare(ctx));
    let stuck = expected.is_none()
        && (l.is_field() || r.is_field())
        && untyped(l, left_ctx)
        && untyped(r, right_ctx);
    !stuck && l.typed(left_ctx) && r.typed(right_ctx)
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

impl Cond {
    /// Whether its fields get types (see [`Expr::typed`]).
    pub fn typed(&self) -> bool {
        match self {
            Cond::Cmp(_, l, r) => pair_typed(l, r, None),
            Cond::IsNull(ptr) => ptr.typed(None),
            Cond::Not(inner) => inner.typed(),
        }
    }

    pub fn print(&self) -> String {
        match self {
            Cond::Cmp(op, l, r) => {
                let (left, right) = print_pair(l, r, None);
                format!("{left} {} {right}", op.text())
            }
            Cond::IsNull(ptr) => format!("{}.is_null()", ptr.print_postfix()),
            Cond::Not(inner) => format!("!({})", inner.print()),
        }
    }
}

impl Stmt {
    /// Whether its fields get types where [`Section::print`] prints it; `exit_ty` is the
    /// type of the exit values before it (the first one is printed without one).
    pub fn typed(&self, exit_ty: &mut Option<Ty>) -> bool {
        match self {
            Stmt::Let { value, .. } => value.typed(Some(&value.ty)),
            Stmt::Store { ptr, value } => ptr.typed_target() && value.typed(ptr.stored_context()),
            Stmt::Copy { dst, src, .. } => dst.typed(None) && src.typed(None),
            Stmt::CopyUpTo { dst, src, len, .. } => {
                dst.typed(None) && src.typed(None) && len.typed(None)
            }
            Stmt::ExitIf { cond, value } => {
                let value_ok = value.as_ref().is_none_or(|v| {
                    let ok = v.typed(exit_ty.as_ref());
                    exit_ty.get_or_insert(v.ty.clone());
                    ok
                });
                cond.typed() && value_ok
            }
        }
    }
}

impl Commit {
    /// Whether its fields get types where [`Section::print`] prints it.
    pub fn typed(&self) -> bool {
        self.ptr.typed_target() && self.value.typed(self.ptr.stored_context())
    }
}

impl Section {
    /// Whether every field the section names gets a type from where it is printed (see
    /// [`Expr::typed`]): the contexts of [`Section::print`], statement by statement.
    pub fn fields_typed(&self) -> bool {
        let mut exit_ty: Option<Ty> = None;
        self.stmts.iter().all(|stmt| stmt.typed(&mut exit_ty)) && self.commit.typed()
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
                    "store {} = {};",
                    ptr.target(),
                    value.print(ptr.stored_context())
                ),
                Stmt::Copy { dst, src, len } => {
                    format!("copy({}, {}, {len});", dst.print(None), src.print(None))
                }
                Stmt::CopyUpTo { dst, src, len, max } => format!(
                    "copy({}, {}, {}, max {max});",
                    dst.print(None),
                    src.print(None),
                    len.print(None)
                ),
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
            "    commit{ordering} {} {op} {};",
            c.ptr.target(),
            c.value.print(c.ptr.stored_context())
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
