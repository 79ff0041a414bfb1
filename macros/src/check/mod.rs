//! Stage 2: [`Section`] -> [`Checked`]: names resolved, every expression typed, every rule
//! of the language enforced. All violations are collected and reported at once, each on
//! the tokens that break the rule.
//!
//! This file walks the statements in order and enforces the section's shape (inputs first,
//! exactly one `commit`, last, then at most a yielded name). The rest, one idea a file:
//!
//! - [`model`]: what the checker produces, the typed section the lowering consumes;
//! - `names`: options, declarations, name lookup and the written types of names;
//! - `expr`: typing of expressions (literals, operators, casts, pointer offsets);
//! - `writes`: `store`, `commit` and `copy`, the statements that write memory;
//! - `fields`: struct fields, `(*p).a.b`, `(*p).slots[i]`, `&raw mut (*p).a`;
//! - `exits`: `if` conditions and the values exits carry;
//! - `excluded`: the Rust a section excludes, each construct with its own message;
//! - `syntax`: small helpers over syn's expressions.

use proc_macro2::{Span, TokenStream};
use quote::{quote, ToTokens};
use syn::Ident;

use crate::errors::Errors;
use crate::parse::{Exit, Input, Section, Stmt};
use crate::ty::{IntTy, Ty};

mod excluded;
mod exits;
mod expr;
mod fields;
mod model;
mod names;
mod syntax;
#[cfg(test)]
mod tests;
mod writes;

pub use model::*;

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
        fields: Vec::new(),
    };
    let Options {
        mode,
        retry,
        registered_only,
    } = cx.options(&section.options);

    let mut inputs = Vec::new();
    let mut ops = Vec::new();
    let mut commit: Option<Commit> = None;
    let mut commit_keyword: Option<Ident> = None;
    let mut yielded = None;
    let mut exit_ty: Option<(Ty, Span)> = None;
    let mut exit_without_value: Option<Span> = None;
    let mut seen_statement = false;
    // Every `copy(.., max N)` that exits, without a value, on a length above its bound.
    let mut copy_exits: Vec<(TokenStream, String)> = Vec::new();

    let mut op_tokens = Vec::new();
    for stmt in section.stmts {
        if commit_keyword.is_some() {
            cx.after_commit(&stmt);
        }
        // Every op keeps its statement's tokens, for errors found after checking.
        let tokens = stmt_tokens(&stmt);
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
                args,
                args_span,
                max,
                ..
            } => {
                seen_statement = true;
                if let Some(op) = cx.copy(&args, args_span, max.as_ref(), &ops) {
                    if let Op::CopyUpTo {
                        guarded: false,
                        max,
                        ..
                    } = op
                    {
                        // The guard that would replace the copy's exit, for the error.
                        let len = args[2].to_token_stream().to_string();
                        copy_exits.push((tokens.clone(), format!("if {len} > {max}")));
                    }
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
                        tokens: tokens.clone(),
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
        op_tokens.resize(ops.len(), tokens);
    }

    if let Some((ty, _)) = &exit_ty {
        for (copy, guard) in copy_exits {
            cx.errors.push_spanned(
                copy,
                format!("this `copy` exits without a value when its length is above its `max`, but the section's exits carry a `{ty}`: rule that out first with an exit of your own, `{guard} {{ exit value; }}` before the copy (the length a name), and the copy then needs no exit"),
            );
        }
    }
    if commit_keyword.is_none() {
        cx.errors.push(
            section.body_end,
            "this section ends without a `commit`: a section makes its work visible with exactly one committing store as its last statement; add one here, such as `commit *pointer = value;`",
        );
    }
    cx.errors.finish()?;
    // Every path that leaves `commit` empty after a `commit` statement reported an error
    // (its own, or the rejected declaration of a name it uses); this is a fallback only.
    let Some(commit) = commit else {
        return Err(syn::Error::new(
            commit_keyword.map_or(section.body_end, |keyword| keyword.span()),
            "this `commit` could not be checked",
        ));
    };
    Ok(Checked {
        mode,
        retry,
        registered_only,
        index: section.index,
        vars: cx.vars,
        inputs,
        ops,
        commit,
        yielded,
        exit_ty: exit_ty.map(|(ty, _)| ty),
        fields: cx.fields,
        op_tokens,
        body_span: section.body_span,
    })
}

/// The checker's state while it walks a section.
struct Checker {
    errors: Errors,
    vars: Vec<Var>,
    /// Every name an `in` or `let` of the section binds, wherever it is.
    declared_anywhere: Vec<Ident>,
    /// Names whose declaration was already reported: their uses stay silent.
    rejected: Vec<Ident>,
    /// Every struct field the section uses, in order (see [`Field`]).
    fields: Vec<Field>,
}

impl Checker {
    /// Reports a statement after the `commit` (only a yielded name may follow it).
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
            // The span of the parentheses covers the arguments and the bound.
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
