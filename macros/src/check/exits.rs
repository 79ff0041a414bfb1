//! Leaving early: the condition of an `if ... { exit; }` and the value an exit carries.

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::Expr;

use super::excluded::forbidden;
use super::syntax::strip;
use super::{Checker, Cond, Relation, TExpr};
use crate::parse::Exit;
use crate::ty::Ty;

impl Checker {
    /// The condition of an `if ... { exit; }`: one comparison, or `p.is_null()`, maybe negated.
    pub(super) fn cond(&mut self, cond: &Expr) -> Option<Cond> {
        match strip(cond) {
            Expr::Binary(binary) => {
                let op = match binary.op {
                    syn::BinOp::Eq(_) => Relation::Eq,
                    syn::BinOp::Ne(_) => Relation::Ne,
                    syn::BinOp::Lt(_) => Relation::Lt,
                    syn::BinOp::Le(_) => Relation::Le,
                    syn::BinOp::Gt(_) => Relation::Gt,
                    syn::BinOp::Ge(_) => Relation::Ge,
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
                } => Some(Cond::Cmp {
                    op: op.negated(),
                    signed,
                    lhs,
                    rhs,
                }),
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

    /// The value an exit carries (`Some(None)` for a bare `exit;`); all exits agree on its type.
    pub(super) fn exit_value(
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
        if typed.loads() {
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
}
