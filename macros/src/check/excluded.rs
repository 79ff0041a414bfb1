//! The Rust a section excludes (loops, calls, macros, `return`, assignments, ...): each
//! construct gets its own message, saying what to write instead.

use syn::Expr;

use super::syntax::ident_of;
use super::{Checker, VarKind};

impl Checker {
    /// A Rust statement outside the language: the error that says what to write instead.
    pub(super) fn reject_rust(&mut self, stmt: &syn::Stmt) {
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
}

/// The rule-specific message for Rust constructs the language excludes.
pub(super) fn forbidden(expr: &Expr) -> Option<&'static str> {
    Some(match expr {
        Expr::Loop(_) | Expr::While(_) | Expr::ForLoop(_) => {
            "loops are not allowed in a section: it stays short, so that the kernel rarely restarts it, and a loop's length is unknown; for a bounded copy use `copy(dst, src, bytes)`, or `copy(dst, src, n, max bytes)` for a length known at run time"
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
        Expr::Field(_) | Expr::Index(_) => {
            "a field is a value, not a statement or a condition: bind it with its type (`let flag: u8 = (*p).flag;`), or compare it (`if (*p).flag != 0 { exit; }`)"
        }
        Expr::Reference(_) => "references are not allowed in a section: take a field's address with `&raw mut (*p).field` (or `&raw const`), or bring in raw pointers with `in`",
        Expr::Match(_) => "`match` is not allowed in a section: use `if condition { exit; }`",
        Expr::Let(_) => "`let` is a statement in a section: `let name: Type = value;`",
        _ => return None,
    })
}
