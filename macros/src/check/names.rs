//! Names and options: the index, declarations by `in` and `let`, lookups, the written
//! types of names, and the yielded name.

use quote::ToTokens;
use syn::{Expr, Ident};

use super::syntax::ident_of;
use super::{Checker, IndexMode, Kind, Options, TExpr, Var, VarKind};
use crate::ty::{self, Ty, TyError};

impl Checker {
    /// `mm_cid`, `no_retry` and `registered`, each at most once; a misspelling gets a
    /// suggestion.
    pub(super) fn options(&mut self, options: &[Ident]) -> Options {
        const KNOWN: [&str; 3] = ["mm_cid", "no_retry", "registered"];
        let mut chosen = Options {
            mode: IndexMode::CpuId,
            retry: true,
            registered_only: false,
        };
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
                "mm_cid" => chosen.mode = IndexMode::MmCid,
                "no_retry" => chosen.retry = false,
                "registered" => chosen.registered_only = true,
                other => {
                    let hint = KNOWN
                        .into_iter()
                        .find(|known| edit_distance(known, other) <= 2)
                        .map_or(String::new(), |known| format!("; did you mean `{known}`?"));
                    self.errors.push(
                        option.span(),
                        format!("unknown option `{other}`: the options are `mm_cid` (index by concurrency id), `no_retry` (return `Outcome::Aborted` instead of retrying) and `registered` (run only on a thread already registered, never registering it){hint}"),
                    );
                }
            }
        }
        chosen
    }

    /// The section type of a written type: an integer or a raw pointer.
    pub(super) fn declared_type(&mut self, written: &syn::Type) -> Option<Ty> {
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
                        "type `{}` cannot be held in a register: a section's values are integers (u8..u64, i8..i64, usize, isize) or raw pointers; to work on a struct, bring in a pointer to it and reach its fields, `(*p).field`",
                        written.to_token_stream()
                    ),
                );
                None
            }
        }
    }

    /// Binds `name` once; its number in `Checker::vars` is the variable.
    pub(super) fn declare(&mut self, name: &Ident, ty: Ty, kind: VarKind) -> Option<usize> {
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

    /// The variable `name` is bound to, if it is bound above.
    pub(super) fn lookup(&self, name: &Ident) -> Option<usize> {
        self.vars.iter().position(|v| v.name == *name)
    }

    /// A name used in an expression: the index, an `in` input or a `let` above; `expected`
    /// (the type the context wants) only makes the suggested `in` line complete.
    pub(super) fn name(&mut self, path: &syn::ExprPath, expected: Option<&Ty>) -> Option<TExpr> {
        let Some(name) = path.path.get_ident().filter(|_| path.qself.is_none()) else {
            let text = path.to_token_stream().to_string().replace(' ', "");
            self.errors.push_spanned(
                path,
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

    /// The name after the `commit`, whose value `Outcome::Committed` carries.
    pub(super) fn yielded(&mut self, expr: &Expr) -> Option<usize> {
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
}

/// Levenshtein distance, to suggest the option a misspelling meant.
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
