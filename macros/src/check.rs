//! Stage 2: [`Section`] -> [`Checked`]: names resolved, every expression typed, every rule
//! of the language enforced. All violations are collected and reported at once, each on
//! the tokens that break the rule.

use proc_macro2::{Span, TokenStream};
use quote::{quote, ToTokens};
use syn::spanned::Spanned;
use syn::{Expr, Ident};

use crate::errors::Errors;
use crate::parse::{Exit, Input, Section, Stmt};
use crate::ty::{self, elem_size, ElemSize, IntTy, Pointee, Ty, TyError};

/// Longest `copy`, in bytes: it is unrolled, and a section must stay short.
pub const MAX_COPY_BYTES: u32 = 256;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IndexMode {
    CpuId,
    MmCid,
}

pub struct Checked {
    pub mode: IndexMode,
    pub retry: bool,
    pub index: Ident,
    /// Every name of the section; the index is always `vars[0]`.
    pub vars: Vec<Var>,
    pub inputs: Vec<CheckedInput>,
    pub ops: Vec<Op>,
    pub commit: Commit,
    pub yielded: Option<usize>,
    /// Type of the values the exits carry, if any exit carries one.
    pub exit_ty: Option<Ty>,
    pub body_span: Span,
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
    Load(Box<TExpr>),
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

#[derive(Clone, Debug)]
pub enum Cond {
    Cmp {
        op: CmpOp,
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
    Let { var: usize, value: TExpr },
    Store { ptr: TExpr, value: TExpr },
    Copy { dst: TExpr, src: TExpr, len: u32 },
    ExitIf { cond: Cond, value: Option<TExpr> },
}

pub struct Commit {
    pub ptr: TExpr,
    pub value: TExpr,
    pub add: bool,
    pub release: bool,
}

pub fn check(section: Section) -> syn::Result<Checked> {
    let mut cx = Checker {
        errors: Errors::default(),
        vars: vec![Var {
            name: section.index.clone(),
            ty: Ty::Int(IntTy::USIZE),
            kind: VarKind::Index,
        }],
        declared_anywhere: section
            .stmts
            .iter()
            .filter_map(|stmt| match stmt {
                Stmt::Input(input) => Some(input.name.clone()),
                Stmt::Let { name, .. } => Some(name.clone()),
                _ => None,
            })
            .collect(),
        rejected: Vec::new(),
    };
    let (mode, retry) = cx.options(&section.options);

    let mut inputs = Vec::new();
    let mut ops = Vec::new();
    let mut commit: Option<Commit> = None;
    let mut commit_keyword: Option<Ident> = None;
    let mut yielded = None;
    let mut exit_ty: Option<(Ty, Span)> = None;
    let mut exit_without_value: Option<Span> = None;
    let mut seen_statement = false;

    for stmt in section.stmts {
        if commit_keyword.is_some() {
            cx.after_commit(&stmt);
        }
        match stmt {
            Stmt::Input(input) => {
                if seen_statement {
                    cx.errors.push_spanned(
                        input_tokens(&input),
                        format!("`in` inputs come first, before the section's statements: move `in {}` above the first `let`, `store`, `copy`, `if` or `commit`", input.name),
                    );
                }
                match cx.declared_type(&input.ty) {
                    Some(ty) => {
                        if let Some(var) = cx.declare(&input.name, ty, VarKind::Input) {
                            inputs.push(CheckedInput {
                                var,
                                ty: input.ty,
                                expr: input.expr,
                            });
                        }
                    }
                    None => cx.rejected.push(input.name),
                }
            }
            Stmt::Let {
                let_token,
                name,
                ty,
                value,
            } => {
                seen_statement = true;
                let Some(written) = ty else {
                    let typed = cx.expr(&value, None);
                    let hint = typed
                        .as_ref()
                        .map_or("u64".to_string(), |t| t.ty.to_string());
                    cx.errors.push_spanned(
                        quote!(#let_token #name),
                        format!(
                            "`let` in a section needs an explicit type, so that its width is known: write `let {name}: {hint} = ...;`"
                        ),
                    );
                    // Later uses of the name see the type it would have, not a second error.
                    match typed {
                        Some(typed) => {
                            cx.declare(&name, typed.ty, VarKind::Let);
                        }
                        None => cx.rejected.push(name),
                    }
                    continue;
                };
                let Some(ty) = cx.declared_type(&written) else {
                    cx.rejected.push(name);
                    continue;
                };
                let typed = cx.expr(&value, Some(&ty));
                if let Some(typed) = &typed {
                    cx.expect_type(&value, &typed.ty, &ty, "this value");
                }
                if let (Some(var), Some(value)) = (cx.declare(&name, ty, VarKind::Let), typed) {
                    if commit_keyword.is_none() {
                        ops.push(Op::Let { var, value });
                    }
                }
            }
            Stmt::Store {
                keyword,
                target,
                value,
            } => {
                seen_statement = true;
                if let Some((ptr, value)) = cx.memory_write(&keyword, &target, &value, false) {
                    ops.push(Op::Store { ptr, value });
                }
            }
            Stmt::Copy {
                args, args_span, ..
            } => {
                seen_statement = true;
                if let Some(op) = cx.copy(&args, args_span) {
                    ops.push(op);
                }
            }
            Stmt::ExitIf { cond, exit, .. } => {
                seen_statement = true;
                let cond = cx.cond(&cond);
                let value = cx.exit_value(&exit, &mut exit_ty, &mut exit_without_value);
                if let (Some(cond), Some(value)) = (cond, value) {
                    ops.push(Op::ExitIf { cond, value });
                }
            }
            Stmt::BareExit(exit) => {
                seen_statement = true;
                cx.errors.push_spanned(
                    exit_tokens(&exit),
                    "`exit` must be the body of an `if`: a section only leaves early on a condition; write `if condition { exit; }`",
                );
            }
            Stmt::Commit {
                keyword,
                ordering,
                target,
                value,
                add,
            } => {
                seen_statement = true;
                if commit_keyword.is_some() {
                    cx.errors.push(
                        keyword.span(),
                        "a section has exactly one `commit`, its last store: make the earlier writes `store` statements, or keep one `commit`",
                    );
                    continue;
                }
                commit_keyword = Some(keyword.clone());
                let release = match ordering {
                    None => false,
                    Some(o) if o == "release" => true,
                    Some(o) if o == "relaxed" => false,
                    Some(o) => {
                        cx.errors.push(
                            o.span(),
                            format!("unknown commit ordering `{o}`: write `commit(release)` or `commit(relaxed)` (the default)"),
                        );
                        false
                    }
                };
                if let Some((ptr, value)) = cx.memory_write(&keyword, &target, &value, add) {
                    commit = Some(Commit {
                        ptr,
                        value,
                        add,
                        release,
                    });
                }
            }
            Stmt::Yield(expr) => {
                if commit_keyword.is_none() {
                    cx.errors.push_spanned(
                        &expr,
                        "only a name may end the section, after the `commit`: the value it yields",
                    );
                    continue;
                }
                yielded = cx.yielded(&expr);
            }
            Stmt::Rust(stmt) => {
                seen_statement = true;
                cx.reject_rust(&stmt);
            }
        }
    }

    if commit_keyword.is_none() {
        cx.errors.push(
            section.body_end,
            "this section ends without a `commit`: a section makes its work visible with exactly one committing store as its last statement; add one here, such as `commit *pointer = value;`",
        );
    }
    cx.errors.finish()?;
    let commit = commit.expect("commit presence checked above, and errors returned");
    Ok(Checked {
        mode,
        retry,
        index: section.index,
        vars: cx.vars,
        inputs,
        ops,
        commit,
        yielded,
        exit_ty: exit_ty.map(|(ty, _)| ty),
        body_span: section.body_span,
    })
}

struct Checker {
    errors: Errors,
    vars: Vec<Var>,
    /// Every name an `in` or `let` of the section binds, wherever it is.
    declared_anywhere: Vec<Ident>,
    /// Names whose declaration was already reported: their uses stay silent.
    rejected: Vec<Ident>,
}

impl Checker {
    fn options(&mut self, options: &[Ident]) -> (IndexMode, bool) {
        let mut mode = IndexMode::CpuId;
        let mut retry = true;
        let mut seen: Vec<String> = Vec::new();
        for option in options {
            let name = option.to_string();
            if seen.contains(&name) {
                self.errors
                    .push(option.span(), format!("option `{name}` is given twice"));
                continue;
            }
            seen.push(name.clone());
            match name.as_str() {
                "mm_cid" => mode = IndexMode::MmCid,
                "no_retry" => retry = false,
                other => {
                    let hint = ["mm_cid", "no_retry"]
                        .into_iter()
                        .find(|known| edit_distance(known, other) <= 2)
                        .map_or(String::new(), |known| format!("; did you mean `{known}`?"));
                    self.errors.push(
                        option.span(),
                        format!("unknown option `{other}`: the options are `mm_cid` (index by concurrency id) and `no_retry` (return `Outcome::Aborted` instead of retrying){hint}"),
                    );
                }
            }
        }
        (mode, retry)
    }

    fn declared_type(&mut self, written: &syn::Type) -> Option<Ty> {
        match ty::from_syn(written) {
            Ok(ty) => Some(ty),
            Err(TyError::Float) => {
                self.errors.push_spanned(
                    written,
                    "floating-point types are not allowed in a section: it computes with integers and pointers only; use an integer type (u8..u64, i8..i64, usize, isize), or keep the float outside the section",
                );
                None
            }
            Err(TyError::Other) => {
                self.errors.push_spanned(
                    written,
                    format!(
                        "type `{}` cannot be held in a register: a section's values are integers (u8..u64, i8..i64, usize, isize) or raw pointers; to work on a struct, bring in a pointer to it",
                        written.to_token_stream()
                    ),
                );
                None
            }
        }
    }

    fn declare(&mut self, name: &Ident, ty: Ty, kind: VarKind) -> Option<usize> {
        if let Some(previous) = self.vars.iter().find(|v| v.name == *name) {
            let what = match previous.kind {
                VarKind::Index => "the section's index",
                VarKind::Input => "an `in` input",
                VarKind::Let => "a `let`",
            };
            self.errors.push(
                name.span(),
                format!("`{name}` is already declared as {what}: each name in a section is bound once; choose another name"),
            );
            return None;
        }
        self.vars.push(Var {
            name: name.clone(),
            ty,
            kind,
        });
        Some(self.vars.len() - 1)
    }

    fn lookup(&self, name: &Ident) -> Option<usize> {
        self.vars.iter().position(|v| v.name == *name)
    }

    fn expect_type(&mut self, at: &dyn ToTokens, found: &Ty, expected: &Ty, what: &str) {
        if found == expected {
            return;
        }
        let advice = match (found, expected) {
            (Ty::Ptr { .. }, Ty::Int(_)) => format!(
                "a pointer cannot be stored into an integer slot; cast it if that is meant: `... as {expected}`"
            ),
            (Ty::Int(_), Ty::Ptr { .. }) => {
                format!("an integer is not a pointer; cast it if that is meant: `... as {expected}`")
            }
            _ => format!("convert it with `as {expected}`"),
        };
        self.errors.push_spanned(
            at,
            format!("{what} has type `{found}` but `{expected}` is expected: {advice}"),
        );
    }

    /// `*place = value` (or `+=`) for `store` and `commit` (`keyword`).
    fn memory_write(
        &mut self,
        keyword: &Ident,
        target: &Expr,
        value: &Expr,
        add: bool,
    ) -> Option<(TExpr, TExpr)> {
        let Expr::Unary(syn::ExprUnary {
            op: syn::UnOp::Deref(_),
            expr: place,
            ..
        }) = strip(target)
        else {
            let text = target.to_token_stream();
            if let Some(var) = ident_of(target).and_then(|n| self.lookup(n)) {
                let name = &self.vars[var].name;
                let fix = if self.vars[var].ty.is_ptr() {
                    format!("to write where `{name}` points, write `{keyword} *{name} = ...;`")
                } else {
                    format!("bind a new name with `let` instead, or write through a pointer: `{keyword} *pointer = ...;`")
                };
                self.errors.push_spanned(
                    target,
                    format!("`{keyword}` cannot assign to the name `{name}`: names are bound once, and `{keyword}` writes memory through a raw pointer; {fix}"),
                );
            } else {
                self.errors.push_spanned(
                    target,
                    format!("`{keyword}` writes memory through a raw pointer: its left side is `*pointer`, as in `{keyword} *{text} = ...;`"),
                );
            }
            return None;
        };
        let ptr = self.expr(place, None)?;
        let Some(slot) = ptr.ty.loadable_pointee().cloned() else {
            if ptr.ty.is_ptr() {
                self.errors.push_spanned(
                    place,
                    format!("`{keyword}` cannot write through `{}`: only integers and pointers can be stored; cast the pointer to one, e.g. `{keyword} *(p as *mut *mut T) = ...;`", ptr.ty),
                );
            } else {
                let text = place.to_token_stream();
                self.errors.push_spanned(
                    place,
                    format!("`{keyword}` writes through a raw pointer, but `{text}` is a `{}`: bring the address in as a pointer, `in name: *mut T = ...;`, or cast it: `{keyword} *({text} as *mut T) = ...;`", ptr.ty),
                );
            }
            return None;
        };
        if let Ty::Ptr { mutable: false, .. } = ptr.ty {
            self.errors.push_spanned(
                place,
                format!(
                    "`{keyword}` cannot write through `{}`, a const pointer: declare the input as `*mut`",
                    ptr.ty
                ),
            );
        }
        if add && slot.is_ptr() {
            self.errors.push_spanned(
                target,
                format!("`+=` needs an integer slot, but this one holds `{slot}`"),
            );
            return None;
        }
        let typed = self.expr(value, Some(&slot))?;
        self.expect_type(value, &typed.ty, &slot, "the stored value");
        Some((ptr, typed))
    }

    fn copy(&mut self, args: &[Expr], args_span: Span) -> Option<Op> {
        let [dst, src, len] = args else {
            self.errors.push(
                args_span,
                format!("`copy` takes three arguments: `copy(destination, source, bytes)`, bytes a literal up to {MAX_COPY_BYTES}"),
            );
            return None;
        };
        let dst_t = self.expr(dst, None);
        let src_t = self.expr(src, None);
        for (arg, typed, what) in [(dst, &dst_t, "destination"), (src, &src_t, "source")] {
            if let Some(t) = typed {
                if !t.ty.is_ptr() {
                    self.errors.push_spanned(
                        arg,
                        format!(
                            "the {what} of `copy` must be a pointer, but has type `{}`",
                            t.ty
                        ),
                    );
                }
            }
        }
        if let Some(Ty::Ptr { mutable: false, .. }) = dst_t.as_ref().map(|t| &t.ty) {
            self.errors
                .push_spanned(dst, "the destination of `copy` must be a `*mut` pointer");
        }
        let len_value = match strip(len) {
            Expr::Lit(syn::ExprLit {
                lit: syn::Lit::Int(lit),
                ..
            }) => lit.base10_parse::<u32>().ok(),
            _ => None,
        };
        let Some(len_value) = len_value else {
            self.errors.push_spanned(
                len,
                format!("the length of `copy` must be an integer literal, so that the copy is unrolled and the section stays bounded: write the byte count, between 1 and {MAX_COPY_BYTES}, as in `copy(dst, src, 16);`"),
            );
            return None;
        };
        if len_value == 0 || len_value > MAX_COPY_BYTES {
            self.errors.push_spanned(
                len,
                format!("`copy` of {len_value} bytes: a copy moves 1 to {MAX_COPY_BYTES} bytes, to keep the section short; split larger records into several sections, or copy them before the section and publish a pointer"),
            );
            return None;
        }
        let (dst, src) = (dst_t?, src_t?);
        (dst.ty.is_ptr() && src.ty.is_ptr()).then_some(Op::Copy {
            dst,
            src,
            len: len_value,
        })
    }

    fn exit_value(
        &mut self,
        exit: &Exit,
        exit_ty: &mut Option<(Ty, Span)>,
        exit_without_value: &mut Option<Span>,
    ) -> Option<Option<TExpr>> {
        let Some(value) = &exit.value else {
            if let Some((ty, _)) = exit_ty {
                self.errors.push(
                    exit.keyword.span(),
                    format!("this `exit` carries no value, but another one carries a `{ty}`: all exits carry a value of one type, or none does"),
                );
            }
            exit_without_value.get_or_insert(exit.keyword.span());
            return Some(None);
        };
        let expected = exit_ty.as_ref().map(|(ty, _)| ty.clone());
        let typed = self.expr(value, expected.as_ref())?;
        if loads(&typed) {
            // The value is computed before the condition is tested (inside the section, so
            // that it is consistent with what the section saw): a load here would run even
            // when the `if` does not exit, e.g. through a pointer the condition rules out.
            self.errors.push_spanned(
                value,
                "an exit value cannot load from memory: it is computed before the condition is tested, so the load would run even when the section does not exit; load it with a `let` above the `if` if that is safe, and exit with that name",
            );
            return None;
        }
        if exit_without_value.is_some() {
            self.errors.push_spanned(
                value,
                "this `exit` carries a value, but an earlier one does not: all exits carry a value of one type, or none does",
            );
        }
        match exit_ty {
            Some((ty, _)) if *ty != typed.ty => {
                self.errors.push_spanned(
                    value,
                    format!("exits carry values of one type: this one is `{}`, an earlier one `{ty}`; cast with `as {ty}`", typed.ty),
                );
            }
            Some(_) => {}
            None => *exit_ty = Some((typed.ty.clone(), value.span())),
        }
        Some(Some(typed))
    }

    fn yielded(&mut self, expr: &Expr) -> Option<usize> {
        let Some(name) = ident_of(expr) else {
            self.errors.push_spanned(
                expr,
                "a section yields a name, not an expression: bind the value with `let name: Type = ...;` before the commit and end with `name`",
            );
            return None;
        };
        match self.lookup(name) {
            Some(var) => Some(var),
            None if self.rejected.contains(name) => None,
            None => {
                self.errors.push(
                    name.span(),
                    format!("cannot yield `{name}`: no such name in this section; yield a name bound with `in` or `let`"),
                );
                None
            }
        }
    }

    fn after_commit(&mut self, stmt: &Stmt) {
        let what = match stmt {
            Stmt::Yield(_) | Stmt::Commit { .. } => return,
            Stmt::Store { .. } => "`store`",
            Stmt::Copy { .. } => "`copy`",
            Stmt::Let { .. } => "`let`",
            Stmt::ExitIf { .. } => "an `if ... { exit }`",
            Stmt::BareExit(_) => "`exit`",
            Stmt::Input(_) => "an `in` input",
            Stmt::Rust(_) => "a statement",
        };
        self.errors.push_spanned(
            stmt_tokens(stmt),
            format!("{what} after the `commit`: the commit is the section's last statement, and only a yielded name may follow it; move this above the `commit`"),
        );
    }

    fn reject_rust(&mut self, stmt: &syn::Stmt) {
        match stmt {
            syn::Stmt::Expr(expr, _) => {
                if let Expr::Assign(assign) = expr {
                    if let Some(name) = ident_of(&assign.left) {
                        let message = match self.lookup(name).map(|v| self.vars[v].kind) {
                            Some(VarKind::Input) => format!("cannot assign to the input `{name}`: inputs are read-only in a section; bind a new name with `let`"),
                            Some(_) => format!("cannot assign to `{name}`: names are bound once; bind a new name with `let`"),
                            None => format!("cannot assign to `{name}`: a section writes memory only with `store *p = v;` or `commit *p = v;`"),
                        };
                        self.errors.push_spanned(&assign.left, message);
                        return;
                    }
                    self.errors.push_spanned(
                        expr,
                        "a plain assignment is not a section statement: write memory with `store *p = v;` (speculative) or `commit *p = v;` (the final store)",
                    );
                    return;
                }
                if let Some(message) = forbidden(expr) {
                    self.errors.push_spanned(expr, message);
                } else {
                    self.errors.push_spanned(
                        expr,
                        "this statement is not part of the section language: a section holds `in` inputs, `let`, `store`, `copy`, `if ... { exit; }` and one `commit`",
                    );
                }
            }
            syn::Stmt::Macro(mac) => self.errors.push_spanned(
                &mac.mac,
                "macro calls are not allowed in a section, which compiles to a few instructions with no calls: run it before or after the section",
            ),
            syn::Stmt::Item(item) => self.errors.push_spanned(
                item,
                "items (functions, types, uses) cannot be declared inside a section",
            ),
            syn::Stmt::Local(local) => self.errors.push_spanned(
                local,
                "`let` in a section binds exactly one name with a type: `let name: Type = value;`",
            ),
        }
    }

    fn cond(&mut self, cond: &Expr) -> Option<Cond> {
        match strip(cond) {
            Expr::Binary(binary) => {
                let op = match binary.op {
                    syn::BinOp::Eq(_) => CmpOp::Eq,
                    syn::BinOp::Ne(_) => CmpOp::Ne,
                    syn::BinOp::Lt(_) => CmpOp::Lt,
                    syn::BinOp::Le(_) => CmpOp::Le,
                    syn::BinOp::Gt(_) => CmpOp::Gt,
                    syn::BinOp::Ge(_) => CmpOp::Ge,
                    syn::BinOp::And(_) | syn::BinOp::Or(_) => {
                        self.errors.push_spanned(
                            binary.op,
                            "`&&` and `||` are not allowed: write one `if ... { exit; }` per condition",
                        );
                        return None;
                    }
                    _ => {
                        self.errors.push_spanned(
                            cond,
                            "an `if` condition is a comparison (`==`, `!=`, `<`, `<=`, `>`, `>=`) or `p.is_null()`",
                        );
                        return None;
                    }
                };
                let (lhs, rhs) = self.pair(&binary.left, &binary.right)?;
                if lhs.ty != rhs.ty {
                    self.errors.push_spanned(
                        cond,
                        format!("cannot compare `{}` with `{}`: both sides must have the same type; convert one with `as`", lhs.ty, rhs.ty),
                    );
                    return None;
                }
                let signed = lhs.ty.scalar().signed;
                Some(Cond::Cmp {
                    op,
                    signed,
                    lhs,
                    rhs,
                })
            }
            Expr::MethodCall(call) if call.method == "is_null" && call.args.is_empty() => {
                let ptr = self.expr(&call.receiver, None)?;
                if !ptr.ty.is_ptr() {
                    self.errors.push_spanned(
                        &call.receiver,
                        format!("`is_null()` needs a pointer, but this is a `{}`", ptr.ty),
                    );
                    return None;
                }
                Some(Cond::IsNull {
                    ptr,
                    negated: false,
                })
            }
            Expr::Unary(syn::ExprUnary {
                op: syn::UnOp::Not(_),
                expr,
                ..
            }) => match self.cond(expr)? {
                Cond::IsNull { ptr, negated } => Some(Cond::IsNull {
                    ptr,
                    negated: !negated,
                }),
                Cond::Cmp {
                    op,
                    signed,
                    lhs,
                    rhs,
                } => {
                    let op = match op {
                        CmpOp::Eq => CmpOp::Ne,
                        CmpOp::Ne => CmpOp::Eq,
                        CmpOp::Lt => CmpOp::Ge,
                        CmpOp::Le => CmpOp::Gt,
                        CmpOp::Gt => CmpOp::Le,
                        CmpOp::Ge => CmpOp::Lt,
                    };
                    Some(Cond::Cmp {
                        op,
                        signed,
                        lhs,
                        rhs,
                    })
                }
            },
            other => {
                if let Some(message) = forbidden(other) {
                    self.errors.push_spanned(other, message);
                } else {
                    self.errors.push_spanned(
                        other,
                        "an `if` condition is a comparison (`==`, `!=`, `<`, `<=`, `>`, `>=`) or `p.is_null()`",
                    );
                }
                None
            }
        }
    }

    /// Types two operands that must agree, letting a literal take the other side's type.
    fn pair(&mut self, left: &Expr, right: &Expr) -> Option<(TExpr, TExpr)> {
        if is_literal(left) && !is_literal(right) {
            let rhs = self.expr(right, None);
            let lhs = self.expr(left, rhs.as_ref().map(|r| &r.ty));
            Some((lhs?, rhs?))
        } else {
            let lhs = self.expr(left, None);
            let rhs = self.expr(right, lhs.as_ref().map(|l| &l.ty));
            Some((lhs?, rhs?))
        }
    }

    /// Types an expression of the section language; `expected` types bare literals.
    fn expr(&mut self, expr: &Expr, expected: Option<&Ty>) -> Option<TExpr> {
        match expr {
            Expr::Paren(inner) => self.expr(&inner.expr, expected),
            Expr::Group(inner) => self.expr(&inner.expr, expected),
            Expr::Path(path) => {
                let Some(name) = path.path.get_ident().filter(|_| path.qself.is_none()) else {
                    let text = path.to_token_stream().to_string().replace(' ', "");
                    self.errors.push_spanned(
                        expr,
                        format!("`{text}` cannot be used inside a section: bring its value in with an `in` input, e.g. `in value: u64 = {text};`"),
                    );
                    return None;
                };
                match self.lookup(name) {
                    Some(var) => Some(TExpr {
                        kind: Kind::Var(var),
                        ty: self.vars[var].ty.clone(),
                    }),
                    None if self.rejected.contains(name) => None,
                    None if self.declared_anywhere.contains(name) => {
                        self.errors.push(
                            name.span(),
                            format!("`{name}` is used before it is declared: a section runs top to bottom, so move the `in` or `let` that binds `{name}` above this use"),
                        );
                        None
                    }
                    None => {
                        let ty = expected.map_or("<type>".to_string(), |t| t.to_string());
                        self.errors.push(
                            name.span(),
                            format!("`{name}` is not declared in this section: a section sees only its index, `in` inputs and `let`s; bring it in with `in {name}: {ty} = {name};` at the top"),
                        );
                        None
                    }
                }
            }
            Expr::Lit(lit) => self.literal(lit, expected, false),
            Expr::Unary(unary) => match unary.op {
                syn::UnOp::Deref(_) => {
                    let ptr = self.expr(&unary.expr, None)?;
                    match ptr.ty.loadable_pointee().cloned() {
                        Some(ty) => Some(TExpr {
                            kind: Kind::Load(Box::new(ptr)),
                            ty,
                        }),
                        None if ptr.ty.is_ptr() => {
                            self.errors.push_spanned(
                                expr,
                                format!("cannot load through `{}`: only integers and pointers can be loaded; cast the pointer first, e.g. `*(p as *mut *mut T)`", ptr.ty),
                            );
                            None
                        }
                        None => {
                            let text = unary.expr.to_token_stream();
                            self.errors.push_spanned(
                                expr,
                                format!(
                                    "cannot dereference `{text}`, a `{}`: `*` loads through a raw pointer; declare the value with a pointer type (`*mut T`, `*const T`) or cast it: `*({text} as *const T)`",
                                    ptr.ty
                                ),
                            );
                            None
                        }
                    }
                }
                syn::UnOp::Not(_) => {
                    let inner = self.expr(&unary.expr, expected)?;
                    if inner.ty.as_int().is_none() {
                        self.errors.push_spanned(
                            expr,
                            format!("`!` needs an integer, not `{}`", inner.ty),
                        );
                        return None;
                    }
                    Some(TExpr {
                        ty: inner.ty.clone(),
                        kind: Kind::Not(Box::new(inner)),
                    })
                }
                syn::UnOp::Neg(_) => {
                    if let Expr::Lit(lit) = strip(&unary.expr) {
                        return self.literal(lit, expected, true);
                    }
                    let inner = self.expr(&unary.expr, expected)?;
                    match inner.ty.as_int() {
                        Some(int) if int.signed => Some(TExpr {
                            ty: inner.ty.clone(),
                            kind: Kind::Neg(Box::new(inner)),
                        }),
                        _ => {
                            self.errors.push_spanned(
                                expr,
                                format!("unary `-` needs a signed integer, not `{}`", inner.ty),
                            );
                            None
                        }
                    }
                }
                _ => {
                    self.errors
                        .push_spanned(expr, "this operator is not part of the section language");
                    None
                }
            },
            Expr::Cast(cast) => {
                let target = self.declared_type(&cast.ty)?;
                let inner = self.expr(&cast.expr, None)?;
                Some(TExpr {
                    kind: Kind::Cast(Box::new(inner)),
                    ty: target,
                })
            }
            Expr::MethodCall(call) => self.method(call, expr),
            Expr::Binary(binary) => self.binary(binary, expr, expected),
            other => {
                let message = forbidden(other).unwrap_or(
                    "this expression is not part of the section language: use names, integer literals, `*p`, `p.add(n)`, `p.sub(n)`, `p.byte_add(n)`, `as` casts and `+ - * & | ^ << >> !`",
                );
                self.errors.push_spanned(other, message);
                None
            }
        }
    }

    fn literal(
        &mut self,
        lit: &syn::ExprLit,
        expected: Option<&Ty>,
        negated: bool,
    ) -> Option<TExpr> {
        let int = match &lit.lit {
            syn::Lit::Int(int) => int,
            syn::Lit::Float(_) => {
                self.errors.push_spanned(lit, "floating-point values are not allowed in a section: it computes with integers and pointers only; write an integer literal");
                return None;
            }
            _ => {
                self.errors
                    .push_spanned(lit, "only integer literals are allowed in a section");
                return None;
            }
        };
        let magnitude = int
            .base10_parse::<u128>()
            .ok()
            .filter(|m| *m <= u128::from(u64::MAX));
        let Some(magnitude) = magnitude else {
            self.errors.push_spanned(
                lit,
                "this integer literal does not fit in 64 bits, the widest a section computes with (`u64`, `i64`)",
            );
            return None;
        };
        let value = if negated {
            -(magnitude as i128)
        } else {
            magnitude as i128
        };
        let ty = match int.suffix() {
            "" => match expected {
                Some(Ty::Int(int)) => *int,
                Some(ptr @ Ty::Ptr { .. }) => {
                    self.errors.push_spanned(
                        lit,
                        format!("an integer literal is not a `{ptr}`: cast it with `as {ptr}` if that is meant"),
                    );
                    return None;
                }
                None => IntTy::from_name("i32").expect("i32 is an integer type"),
            },
            suffix => match IntTy::from_name(suffix) {
                Some(int) => int,
                None => {
                    self.errors.push_spanned(
                        lit,
                        format!("`{suffix}` is not an integer type of the section language"),
                    );
                    return None;
                }
            },
        };
        if !ty.holds(value) {
            self.errors.push_spanned(
                lit,
                format!("literal `{value}` does not fit in `{}`", ty.name()),
            );
            return None;
        }
        Some(TExpr {
            kind: Kind::Lit(value),
            ty: Ty::Int(ty),
        })
    }

    fn method(&mut self, call: &syn::ExprMethodCall, whole: &Expr) -> Option<TExpr> {
        let method = call.method.to_string();
        let (subtract, bytes) = match method.as_str() {
            "add" => (false, false),
            "sub" => (true, false),
            "byte_add" => (false, true),
            "is_null" => {
                self.errors.push_spanned(
                    whole,
                    "`is_null()` is a condition: use it as `if p.is_null() { exit; }`",
                );
                return None;
            }
            _ => {
                let operator = match method.as_str() {
                    "wrapping_add" => Some("+"),
                    "wrapping_sub" => Some("-"),
                    "wrapping_mul" => Some("*"),
                    _ => None,
                };
                let fix = match operator {
                    Some(op) => format!("arithmetic in a section already wraps, so write `a {op} b`"),
                    None => "compute other values before the section and bring them in with an `in` input".to_string(),
                };
                self.errors.push_spanned(
                    &call.method,
                    format!("method `{method}` cannot be called in a section: only `.add(n)`, `.sub(n)` and `.byte_add(n)` on pointers, and `.is_null()` in conditions; {fix}"),
                );
                return None;
            }
        };
        let ptr = self.expr(&call.receiver, None);
        let [count] = call.args.iter().collect::<Vec<_>>()[..] else {
            self.errors.push_spanned(
                whole,
                format!("`.{method}` takes one argument, a `usize` count"),
            );
            return None;
        };
        let usize_ty = Ty::Int(IntTy::USIZE);
        let count_t = self.expr(count, Some(&usize_ty));
        let (ptr, count_t) = (ptr?, count_t?);
        if !ptr.ty.is_ptr() {
            self.errors.push_spanned(
                &call.receiver,
                format!(
                    "`.{method}` needs a raw pointer, but this is a `{}`",
                    ptr.ty
                ),
            );
            return None;
        }
        self.expect_type(
            count,
            &count_t.ty,
            &usize_ty,
            &format!("the count of `.{method}`"),
        );
        let elem = if bytes {
            ElemSize::Known(1)
        } else {
            elem_size(&ptr.ty)
        };
        Some(TExpr {
            ty: ptr.ty.clone(),
            kind: Kind::Offset {
                ptr: Box::new(ptr),
                count: Box::new(count_t),
                elem,
                subtract,
            },
        })
    }

    fn binary(
        &mut self,
        binary: &syn::ExprBinary,
        whole: &Expr,
        expected: Option<&Ty>,
    ) -> Option<TExpr> {
        let op = match binary.op {
            syn::BinOp::Add(_) => BinOp::Add,
            syn::BinOp::Sub(_) => BinOp::Sub,
            syn::BinOp::Mul(_) => BinOp::Mul,
            syn::BinOp::BitAnd(_) => BinOp::And,
            syn::BinOp::BitOr(_) => BinOp::Or,
            syn::BinOp::BitXor(_) => BinOp::Xor,
            syn::BinOp::Shl(_) => BinOp::Shl,
            syn::BinOp::Shr(_) => BinOp::Shr,
            syn::BinOp::Div(_) | syn::BinOp::Rem(_) => {
                self.errors.push_spanned(
                    binary.op,
                    "division and remainder are not allowed in a section (they can trap); precompute with an `in` input, or use shifts and masks",
                );
                return None;
            }
            syn::BinOp::Eq(_)
            | syn::BinOp::Ne(_)
            | syn::BinOp::Lt(_)
            | syn::BinOp::Le(_)
            | syn::BinOp::Gt(_)
            | syn::BinOp::Ge(_) => {
                self.errors.push_spanned(
                    whole,
                    "comparisons are only allowed as the condition of an `if ... { exit; }`",
                );
                return None;
            }
            syn::BinOp::And(_) | syn::BinOp::Or(_) => {
                self.errors.push_spanned(
                    binary.op,
                    "`&&` and `||` are not allowed: write one `if ... { exit; }` per condition",
                );
                return None;
            }
            _ => {
                self.errors.push_spanned(
                    whole,
                    "compound assignment is not a section expression: write memory with `store` or `commit` (`commit *p += n;` is allowed)",
                );
                return None;
            }
        };
        if matches!(op, BinOp::Shl | BinOp::Shr) {
            let lhs = self.expr(&binary.left, expected)?;
            let Some(int) = lhs.ty.as_int() else {
                self.errors.push_spanned(
                    &binary.left,
                    format!("shifts need an integer, not `{}`", lhs.ty),
                );
                return None;
            };
            let amount = match strip(&binary.right) {
                Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Int(lit),
                    ..
                }) => lit.base10_parse::<u32>().ok(),
                _ => None,
            };
            let Some(amount) = amount.filter(|a| *a < u32::from(int.bits)) else {
                self.errors.push_spanned(
                    &binary.right,
                    format!(
                        "a shift count must be an integer literal below {} (the width of `{}`)",
                        int.bits,
                        int.name()
                    ),
                );
                return None;
            };
            let rhs = TExpr {
                kind: Kind::Lit(i128::from(amount)),
                ty: Ty::Int(int),
            };
            return Some(TExpr {
                ty: lhs.ty.clone(),
                kind: Kind::Binary {
                    op,
                    lhs: Box::new(lhs),
                    rhs: Box::new(rhs),
                },
            });
        }
        let (lhs, rhs) = if is_literal(&binary.left) && !is_literal(&binary.right) {
            let rhs = self.expr(&binary.right, expected);
            let lhs = self.expr(&binary.left, rhs.as_ref().map(|r| &r.ty).or(expected));
            (lhs?, rhs?)
        } else {
            let lhs = self.expr(&binary.left, expected);
            let rhs = self.expr(&binary.right, lhs.as_ref().map(|l| &l.ty).or(expected));
            (lhs?, rhs?)
        };
        if lhs.ty.is_ptr() || rhs.ty.is_ptr() {
            self.errors.push_spanned(
                whole,
                "arithmetic on pointers is written `p.add(n)`, `p.sub(n)` or `p.byte_add(n)`; to compute on an address, cast it: `p as usize`",
            );
            return None;
        }
        if lhs.ty != rhs.ty {
            self.errors.push_spanned(
                whole,
                format!("mismatched widths: `{}` {} `{}`; a section does not widen implicitly, so convert one side with `as`", lhs.ty, binary.op.to_token_stream(), rhs.ty),
            );
            return None;
        }
        Some(TExpr {
            ty: lhs.ty.clone(),
            kind: Kind::Binary {
                op,
                lhs: Box::new(lhs),
                rhs: Box::new(rhs),
            },
        })
    }
}

/// Whether evaluating `expr` reads memory.
fn loads(expr: &TExpr) -> bool {
    match &expr.kind {
        Kind::Var(_) | Kind::Lit(_) => false,
        Kind::Load(_) => true,
        Kind::Offset { ptr, count, .. } => loads(ptr) || loads(count),
        Kind::Cast(inner) | Kind::Not(inner) | Kind::Neg(inner) => loads(inner),
        Kind::Binary { lhs, rhs, .. } => loads(lhs) || loads(rhs),
    }
}

/// The rule-specific message for Rust constructs the language excludes.
fn forbidden(expr: &Expr) -> Option<&'static str> {
    Some(match expr {
        Expr::Loop(_) | Expr::While(_) | Expr::ForLoop(_) => {
            "loops are not allowed in a section: it is straight-line code that the kernel can restart; for a bounded copy use `copy(dst, src, bytes)`"
        }
        Expr::Macro(_) => "macro calls are not allowed in a section, which compiles to a few instructions with no calls: compute the value before the section and bring it in with an `in` input",
        Expr::Call(_) => {
            "function calls are not allowed in a section: call the function before it and bring the result in with an `in` input"
        }
        Expr::Return(_) => "`return` is not allowed in a section: leave early with `if condition { exit; }`",
        Expr::Break(_) | Expr::Continue(_) => {
            "`break` and `continue` are not allowed in a section: leave early with `if condition { exit; }`"
        }
        Expr::Try(_) => "`?` is not allowed in a section: handle errors before it and bring the value in with an `in` input",
        Expr::Await(_) => {
            "`.await` is not allowed in a section, which cannot suspend: await before the section and bring the value in with an `in` input"
        }
        Expr::Closure(_) => {
            "closures are not allowed in a section, which makes no calls: compute the value before the section and bring it in with an `in` input"
        }
        Expr::Unsafe(_) => {
            "`unsafe` blocks are not allowed inside a section, and not needed: the `rseq!` call is already inside `unsafe`; remove the `unsafe { }` and keep the expression"
        }
        Expr::Block(_) => "blocks are not allowed in a section: write its statements directly",
        Expr::If(_) => "an `if` in a section is a statement of the form `if condition { exit; }`",
        Expr::Index(_) => "indexing is not allowed in a section: use `*p.add(i)`",
        Expr::Field(_) => {
            "field access is not allowed in a section: reach a field with `p.byte_add(offset)` and a cast"
        }
        Expr::Reference(_) => "references are not allowed in a section: bring in raw pointers with `in`",
        Expr::Match(_) => "`match` is not allowed in a section: use `if condition { exit; }`",
        Expr::Let(_) => "`let` is a statement in a section: `let name: Type = value;`",
        _ => return None,
    })
}

fn strip(expr: &Expr) -> &Expr {
    match expr {
        Expr::Paren(inner) => strip(&inner.expr),
        Expr::Group(inner) => strip(&inner.expr),
        other => other,
    }
}

fn is_literal(expr: &Expr) -> bool {
    match strip(expr) {
        Expr::Lit(_) => true,
        Expr::Unary(syn::ExprUnary {
            op: syn::UnOp::Neg(_),
            expr,
            ..
        }) => is_literal(expr),
        _ => false,
    }
}

fn ident_of(expr: &Expr) -> Option<&Ident> {
    match strip(expr) {
        Expr::Path(path) if path.qself.is_none() => path.path.get_ident(),
        _ => None,
    }
}

/// A statement's tokens (without its `;`), for errors that cover the whole statement.
fn stmt_tokens(stmt: &Stmt) -> TokenStream {
    match stmt {
        Stmt::Input(input) => input_tokens(input),
        Stmt::Let {
            let_token,
            name,
            ty,
            value,
        } => {
            let ty = ty.as_ref().map(|ty| quote!(: #ty));
            quote!(#let_token #name #ty = #value)
        }
        Stmt::Store {
            keyword,
            target,
            value,
        } => quote!(#keyword #target = #value),
        Stmt::Copy {
            keyword, args_span, ..
        } => {
            let args = Ident::new("args", *args_span);
            quote!(#keyword #args)
        }
        Stmt::ExitIf {
            if_token,
            cond,
            exit,
        } => {
            let exit = exit_tokens(exit);
            quote!(#if_token #cond #exit)
        }
        Stmt::BareExit(exit) => exit_tokens(exit),
        Stmt::Commit {
            keyword,
            target,
            value,
            ..
        } => quote!(#keyword #target = #value),
        Stmt::Yield(expr) => expr.to_token_stream(),
        Stmt::Rust(stmt) => stmt.to_token_stream(),
    }
}

fn input_tokens(input: &Input) -> TokenStream {
    let Input {
        in_token,
        name,
        ty,
        expr,
    } = input;
    quote!(#in_token #name: #ty = #expr)
}

fn exit_tokens(exit: &Exit) -> TokenStream {
    let keyword = &exit.keyword;
    let value = &exit.value;
    quote!(#keyword #value)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut previous = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitution = previous + usize::from(ca != *cb);
            previous = row[j + 1];
            row[j + 1] = substitution.min(row[j] + 1).min(row[j + 1] + 1);
        }
    }
    row[b.len()]
}

impl Ty {
    /// The type as Rust tokens, for casts in the expansion.
    pub fn to_rust(&self) -> TokenStream {
        match self {
            Ty::Int(int) => {
                let name = Ident::new(int.name(), Span::call_site());
                quote!(#name)
            }
            Ty::Ptr { mutable, pointee } => {
                let inner = match pointee {
                    Pointee::Value(inner) => inner.to_rust(),
                    Pointee::Opaque(ty) => ty.to_token_stream(),
                };
                if *mutable {
                    quote!(*mut #inner)
                } else {
                    quote!(*const #inner)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parse::parse_section;
    use proc_macro2::TokenStream;
    use quote::quote;

    /// Every message the checker reports for `tokens`, in order; none for a valid section.
    fn errors(tokens: TokenStream) -> Vec<String> {
        let section = parse_section(tokens).expect("the test sections parse");
        match check(section) {
            Ok(_) => Vec::new(),
            Err(error) => error.into_iter().map(|e| e.to_string()).collect(),
        }
    }

    /// Asserts exactly one error, containing every one of `needles`.
    fn one_error(tokens: TokenStream, needles: &[&str]) {
        let errors = errors(tokens);
        assert_eq!(errors.len(), 1, "expected one error, got {errors:#?}");
        for needle in needles {
            assert!(
                errors[0].contains(needle),
                "{needle:?} not in {:?}",
                errors[0]
            );
        }
    }

    #[test]
    fn the_examples_check() {
        for (name, tokens) in crate::golden::examples() {
            assert_eq!(errors(tokens), Vec::<String>::new(), "{name}");
        }
    }

    #[test]
    fn exit_value_cannot_load() {
        one_error(
            quote!(|cpu| {
                in top: *mut *mut u64 = q;
                let p: *mut u64 = *top;
                if p.is_null() { exit *p; }
                commit *top = p;
            }),
            &["cannot load from memory", "before the condition is tested"],
        );
        // A name loaded above the `if` is the explicit form, and is accepted.
        assert!(errors(quote!(|cpu| {
            in top: *mut u64 = q;
            let v: u64 = *top;
            if v > 9 { exit v; }
            commit *top = v + 1;
        }))
        .is_empty());
    }

    #[test]
    fn missing_commit() {
        one_error(
            quote!(|cpu| { in p: *mut u64 = q; let v: u64 = *p; }),
            &["without a `commit`", "commit *pointer = value;"],
        );
    }

    #[test]
    fn two_commits() {
        one_error(
            quote!(|cpu| { in p: *mut u64 = q; commit *p = 1; commit *p = 2; }),
            &["exactly one `commit`", "`store`"],
        );
    }

    #[test]
    fn undeclared_local_suggests_the_in_line() {
        one_error(
            quote!(|cpu| { in p: *mut u64 = q; commit *p = step; }),
            &["`step` is not declared", "in step: u64 = step;"],
        );
    }

    #[test]
    fn let_without_type_names_the_type_and_does_not_cascade() {
        one_error(
            quote!(|cpu| { in p: *mut u32 = q; let v = *p; commit *p = v + 1; }),
            &["explicit type", "let v: u32 = ...;"],
        );
    }

    #[test]
    fn a_rejected_type_does_not_cascade() {
        one_error(
            quote!(|cpu| { in p: *mut u64 = q; in f: f64 = 1.5; commit *p = f; }),
            &["floating-point", "integer type"],
        );
    }

    #[test]
    fn mixed_widths() {
        one_error(
            quote!(|cpu| { in p: *mut u64 = q; in a: u32 = 1; commit *p = a + 1u64; }),
            &["mismatched widths", "`u32` + `u64`", "`as`"],
        );
    }

    #[test]
    fn use_before_declaration() {
        let errors = errors(quote!(|cpu| {
            in p: *mut u64 = q;
            let a: u64 = b;
            let b: u64 = 1;
            commit *p = a;
        }));
        assert_eq!(errors.len(), 1, "{errors:#?}");
        assert!(
            errors[0].contains("`b` is used before it is declared"),
            "{errors:#?}"
        );
    }

    #[test]
    fn write_after_commit_and_through_a_non_pointer() {
        let errors = errors(quote!(|cpu| {
            in p: *mut u64 = q;
            in n: u64 = 1;
            commit *p = 1;
            store *n = 2;
        }));
        assert_eq!(errors.len(), 2, "{errors:#?}");
        assert!(
            errors[0].contains("`store` after the `commit`"),
            "{errors:#?}"
        );
        assert!(errors[1].contains("`n` is a `u64`"), "{errors:#?}");
    }

    #[test]
    fn every_broken_rule_is_reported_at_once() {
        let errors = errors(quote!(mmcid, |cpu| {
            let v = 1u64;
            in p: *mut u64 = q;
            loop {}
            exit;
            store *p = compute(v);
        }));
        let expected = [
            "unknown option `mmcid`",
            "explicit type",
            "`in` inputs come first",
            "loops are not allowed",
            "`exit` must be the body of an `if`",
            "function calls are not allowed",
            "without a `commit`",
        ];
        assert_eq!(errors.len(), expected.len(), "{errors:#?}");
        for (error, needle) in errors.iter().zip(expected) {
            assert!(error.contains(needle), "{needle:?} not in {error:?}");
        }
    }

    #[test]
    fn literals_wider_than_64_bits() {
        one_error(
            quote!(|cpu| { in p: *mut i64 = q; commit *p = 340282366920938463463374607431768211455; }),
            &["does not fit in 64 bits"],
        );
    }

    #[test]
    fn wrapping_methods_point_to_the_operator() {
        one_error(
            quote!(|cpu| { in p: *mut u64 = q; let v: u64 = *p; commit *p = v.wrapping_add(1); }),
            &[
                "`wrapping_add` cannot be called",
                "already wraps",
                "`a + b`",
            ],
        );
    }

    #[test]
    fn copy_length_rules() {
        one_error(
            quote!(|cpu| { in p: *mut u8 = q; in n: usize = 4; copy(p, p, n); commit *p = 1; }),
            &["integer literal", "copy(dst, src, 16);"],
        );
        one_error(
            quote!(|cpu| { in p: *mut u8 = q; copy(p, p, 257); commit *p = 1; }),
            &["257 bytes", "1 to 256"],
        );
    }
}
