//! Small helpers over syn's expressions, shared by the checker's files.

use syn::{Expr, Ident};

/// The expression inside any parentheses and invisible groups.
pub(super) fn strip(expr: &Expr) -> &Expr {
    match expr {
        Expr::Paren(inner) => strip(&inner.expr),
        Expr::Group(inner) => strip(&inner.expr),
        other => other,
    }
}

/// Whether the expression is an integer literal, possibly negated (`-1`).
pub(super) fn is_literal(expr: &Expr) -> bool {
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

/// Whether the expression is an integer literal without a type suffix (`1`, `-1`): one
/// that takes its type from its context.
pub(super) fn is_bare_literal(expr: &Expr) -> bool {
    match strip(expr) {
        Expr::Lit(syn::ExprLit {
            lit: syn::Lit::Int(int),
            ..
        }) => int.suffix().is_empty(),
        Expr::Unary(syn::ExprUnary {
            op: syn::UnOp::Neg(_),
            expr,
            ..
        }) => is_bare_literal(expr),
        _ => false,
    }
}

/// Whether the expression is a field place, `(*p).a` or `(*p).slots[i]`: like a bare
/// literal, it takes its type from its context.
pub(super) fn is_field(expr: &Expr) -> bool {
    matches!(strip(expr), Expr::Field(_) | Expr::Index(_))
}

/// Whether the expression is a field place or a field's address (`&raw mut (*p).a`):
/// neither has a type of its own in the section, each takes the one its context expects.
pub(super) fn takes_field_type(expr: &Expr) -> bool {
    is_field(expr) || matches!(strip(expr), Expr::RawAddr(_))
}

/// The name, when the expression is a bare name.
pub(super) fn ident_of(expr: &Expr) -> Option<&Ident> {
    match strip(expr) {
        Expr::Path(path) if path.qself.is_none() => path.path.get_ident(),
        _ => None,
    }
}
