//! The statements that write memory: `store` and `commit` through `*pointer` or to a
//! field, `(*pointer).field`, and `copy`.

use proc_macro2::Span;
use quote::ToTokens;
use syn::{Expr, Ident};

use super::syntax::{ident_of, is_bare_literal, is_field, strip, takes_field_type};
use super::{Checker, Cond, Kind, Op, Relation, TExpr, MAX_COPY_BYTES};
use crate::parse::CopyMax;
use crate::ty::{Pointee, Ty};

impl Checker {
    /// `*place = value` (or `+=`) for `store` and `commit` (`keyword`).
    pub(super) fn memory_write(
        &mut self,
        keyword: &Ident,
        target: &Expr,
        value: &Expr,
        add: bool,
    ) -> Option<(TExpr, TExpr)> {
        if is_field(target) {
            return self.field_write(keyword, target, value, add);
        }
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

    /// `(*p).field = value` (or `+=`) for `store` and `commit`: the field takes the stored
    /// value's type, so that value must have one of its own.
    fn field_write(
        &mut self,
        keyword: &Ident,
        target: &Expr,
        value: &Expr,
        add: bool,
    ) -> Option<(TExpr, TExpr)> {
        let typed = if is_bare_literal(value) || takes_field_type(value) {
            let text = target.to_token_stream().to_string().replace(' ', "");
            self.errors.push_spanned(
                value,
                format!("the type of `{text}` is not known here: the macro cannot see a struct's fields, so a store gives the field the stored value's type, and this value has none of its own; write the literal with its type (`1u16`), or bind the value with `let` and a type first"),
            );
            None
        } else {
            self.expr(value, None)
        };
        let pointee = typed
            .as_ref()
            .map(|typed| Pointee::Value(Box::new(typed.ty.clone())));
        let ptr = match pointee {
            Some(pointee) => self.field_place(target, Some(pointee)),
            // Still check the place, for its own errors; its type cannot be known.
            None => self.place_without_type(target),
        };
        let (ptr, typed) = (ptr?, typed?);
        if let Ty::Ptr { mutable: false, .. } = ptr.ty {
            self.errors.push_spanned(
                target,
                format!(
                    "`{keyword}` cannot write through `{}`, a const pointer: declare the struct's pointer as `*mut`",
                    ptr.ty
                ),
            );
        }
        if add && typed.ty.is_ptr() {
            self.errors.push_spanned(
                target,
                format!(
                    "`+=` needs an integer field, but this one holds `{}`",
                    typed.ty
                ),
            );
            return None;
        }
        Some((ptr, typed))
    }

    /// `copy(dst, src, N)`: two pointers and a literal length, unrolled by the backend; or
    /// `copy(dst, src, n, max N)`: a run-time length up to a literal bound, a loop.
    /// `earlier` are the section's ops so far, where a guard on the length may be.
    pub(super) fn copy(
        &mut self,
        args: &[Expr],
        args_span: Span,
        max: Option<&CopyMax>,
        earlier: &[Op],
    ) -> Option<Op> {
        let [dst, src, len] = args else {
            // `copy(dst, src, n, max)`: the bound without its value parses as a fourth
            // argument, the name `max`.
            if let [_, _, _, last] = args {
                if max.is_none() && ident_of(last).is_some_and(|name| name == "max") {
                    self.errors.push_spanned(
                        last,
                        format!("`max` needs the bound after it, a literal: `copy(dst, src, n, max {MAX_COPY_BYTES})`"),
                    );
                    return None;
                }
            }
            let usage = match max {
                None => format!("`copy` takes three arguments: `copy(destination, source, bytes)`, bytes a literal up to {MAX_COPY_BYTES}"),
                Some(_) => "`copy` with a bound takes three arguments and the bound: `copy(destination, source, bytes, max 256)`".to_string(),
            };
            self.errors.push(args_span, usage);
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
        if let Some(max) = max {
            let (len, max) = self.copy_up_to(len, max)?;
            let (dst, src) = (dst_t?, src_t?);
            let guarded = guarded(earlier, &len, max);
            return (dst.ty.is_ptr() && src.ty.is_ptr()).then_some(Op::CopyUpTo {
                dst,
                src,
                len,
                max,
                guarded,
            });
        }
        let Some(len_value) = int_literal(len) else {
            self.errors.push_spanned(
                len,
                format!("the length of `copy` must be an integer literal, so that the copy is unrolled and the section stays bounded: write the byte count, between 1 and {MAX_COPY_BYTES}, as in `copy(dst, src, 16);`, or give a length known only at run time its largest value, `copy(dst, src, n, max 256);`"),
            );
            return None;
        };
        if len_value == 0 || len_value > u64::from(MAX_COPY_BYTES) {
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
            // At most `MAX_COPY_BYTES`, checked above.
            len: len_value as u32,
        })
    }

    /// The length and the bound of `copy(dst, src, len, max N)`: `len` an unsigned integer
    /// that is not a literal, `N` a literal from 1 to [`MAX_COPY_BYTES`]. Both are checked
    /// (and reported) before either is refused.
    fn copy_up_to(&mut self, len: &Expr, max: &CopyMax) -> Option<(TExpr, u32)> {
        let bound = match int_literal(&max.value) {
            Some(bound) if (1..=u64::from(MAX_COPY_BYTES)).contains(&bound) => Some(bound as u32),
            Some(bound) => {
                self.errors.push_spanned(
                    &max.value,
                    format!("`max {bound}`: the bound of a run-time length is 1 to {MAX_COPY_BYTES} bytes, to keep the section short; copy larger records before the section and publish a pointer"),
                );
                None
            }
            None => {
                self.errors.push_spanned(
                    &max.value,
                    format!("the bound after `max` must be an integer literal, so that the macro knows how long the copy can run: write the most bytes the length may be, between 1 and {MAX_COPY_BYTES}, as in `max 256`"),
                );
                None
            }
        };
        if let Some(literal) = int_literal(len) {
            self.errors.push_spanned(
                len,
                format!("this length is a literal, so the copy needs no bound: write `copy(dst, src, {literal});`, which is unrolled; `max` bounds a length known only at run time"),
            );
            return None;
        }
        let typed = self.expr(len, None)?;
        match &typed.ty {
            Ty::Int(int) if !int.signed => {}
            Ty::Int(_) => {
                self.errors.push_spanned(
                    len,
                    format!("the length of `copy` must be an unsigned integer, but has type `{}`: a negative length means nothing; cast it, `n as usize`, if it cannot be negative", typed.ty),
                );
                return None;
            }
            Ty::Ptr { .. } => {
                self.errors.push_spanned(
                    len,
                    format!("the length of `copy` must be an unsigned integer (a byte count), but has type `{}`", typed.ty),
                );
                return None;
            }
        }
        Some((typed, bound?))
    }
}

/// The value of an integer literal (in parentheses or not) that fits a `u64`.
fn int_literal(expr: &Expr) -> Option<u64> {
    match strip(expr) {
        Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Int(lit),
            ..
        }) => lit.base10_parse::<u64>().ok(),
        _ => None,
    }
}

/// Whether an earlier exit already leaves when `len` is above `max`: an unsigned
/// `if len > M { exit ...; }` with `M <= max` (or `len >= M`, `M <= max + 1`, or the same
/// with the literal on the left), `len` a name. Names are bound once, so the name holds
/// the value the exit tested; anything else is not recognised, and the copy checks itself.
fn guarded(earlier: &[Op], len: &TExpr, max: u32) -> bool {
    let Kind::Var(var) = len.kind else {
        return false;
    };
    let max = i128::from(max);
    earlier.iter().any(|op| {
        let Op::ExitIf {
            cond:
                Cond::Cmp {
                    op,
                    signed: false,
                    lhs,
                    rhs,
                },
            ..
        } = op
        else {
            return false;
        };
        let (op, other) = match (&lhs.kind, &rhs.kind) {
            (Kind::Var(v), _) if *v == var => (*op, &rhs.kind),
            (_, Kind::Var(v)) if *v == var => (op.swapped(), &lhs.kind),
            _ => return false,
        };
        match (op, other) {
            (Relation::Gt, Kind::Lit(bound)) => *bound <= max,
            (Relation::Ge, Kind::Lit(bound)) => *bound <= max + 1,
            _ => false,
        }
    })
}
