//! Stage 1: tokens -> [`Section`], a syntax tree of the section language.
//!
//! The parser is lenient where the checker can say something more useful: a `let` without
//! a type, an `in` after a statement, a Rust statement that the language does not allow,
//! all parse into the tree and are reported (all at once) by `check`.

use proc_macro2::{Span, TokenStream};
use syn::parse::discouraged::Speculative;
use syn::parse::{Parse, ParseStream, Parser};
use syn::spanned::Spanned;
use syn::{braced, parenthesized, Expr, Ident, Token, Type};

/// `rseq!([options,] |index| { body })`.
pub struct Section {
    pub options: Vec<Ident>,
    pub index: Ident,
    /// The whole `{ ... }` body, for errors about the section as a whole.
    pub body_span: Span,
    /// The body's closing brace, for errors about what is missing at its end.
    pub body_end: Span,
    pub stmts: Vec<Stmt>,
}

/// `in name: Type = rust_expression;`
pub struct Input {
    pub in_token: Token![in],
    pub name: Ident,
    pub ty: Type,
    pub expr: Expr,
}

pub enum Stmt {
    Input(Input),
    /// `let name[: Type] = expr;`
    Let {
        let_token: Token![let],
        name: Ident,
        ty: Option<Type>,
        value: Expr,
    },
    /// `store *place = value;`
    Store {
        keyword: Ident,
        target: Expr,
        value: Expr,
    },
    /// `copy(dst, src, len);` or, with a run-time length, `copy(dst, src, n, max 256);`
    Copy {
        keyword: Ident,
        args: Vec<Expr>,
        args_span: Span,
        /// The bound of a run-time length, `max N`, written last.
        max: Option<CopyMax>,
    },
    /// `if cond { exit [value]; }`
    ExitIf {
        if_token: Token![if],
        cond: Expr,
        exit: Exit,
    },
    /// `exit [value];` outside an `if`.
    BareExit(Exit),
    /// `commit[(ordering)] *place = value;` or `commit *place += value;`
    Commit {
        keyword: Ident,
        ordering: Option<Ident>,
        target: Expr,
        value: Expr,
        add: bool,
    },
    /// A final expression without `;`: the yielded value.
    Yield(Expr),
    /// Any other Rust statement: rejected by the checker with a rule-specific message.
    Rust(syn::Stmt),
}

/// `max N` in `copy(dst, src, n, max N)`: the most bytes a run-time length may copy.
pub struct CopyMax {
    pub keyword: Ident,
    pub value: Expr,
}

pub struct Exit {
    pub keyword: Ident,
    pub value: Option<Expr>,
}

pub fn parse_section(tokens: TokenStream) -> syn::Result<Section> {
    Parser::parse2(Section::parse, tokens)
}

impl Parse for Section {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut options = Vec::new();
        while !input.peek(Token![|]) {
            if input.is_empty() {
                return Err(input.error(
                    "expected the section as a closure over its index: `rseq!(|cpu| { ... })`",
                ));
            }
            if input.peek(syn::token::Brace) {
                return Err(input.error(
                    "the section needs an index: write it as a closure, `rseq!(|cpu| { ... })`",
                ));
            }
            let option: Ident = input.parse().map_err(|e| {
                syn::Error::new(
                    e.span(),
                    "expected an option (`mm_cid`, `no_retry`) or the `|index|` closure",
                )
            })?;
            options.push(option);
            if !input.peek(Token![|]) {
                input.parse::<Token![,]>()?;
            }
        }
        input.parse::<Token![|]>()?;
        let index: Ident = input.parse().map_err(|e| {
            syn::Error::new(
                e.span(),
                "the closure takes one name for the index, as in `|cpu|`",
            )
        })?;
        input.parse::<Token![|]>().map_err(|e| {
            syn::Error::new(
                e.span(),
                "the closure takes exactly one name for the index, as in `|cpu|`",
            )
        })?;
        if !input.peek(syn::token::Brace) {
            return Err(input.error("expected the section body in braces: `|cpu| { ... }`"));
        }
        let body;
        let brace = braced!(body in input);
        let mut stmts = Vec::new();
        while !body.is_empty() {
            stmts.push(parse_stmt(&body)?);
        }
        if !input.is_empty() {
            return Err(input.error("unexpected tokens after the section body"));
        }
        Ok(Section {
            options,
            index,
            body_span: brace.span.join(),
            body_end: brace.span.close(),
            stmts,
        })
    }
}

fn peek_keyword(input: ParseStream, keyword: &str) -> bool {
    input
        .fork()
        .parse::<Ident>()
        .is_ok_and(|ident| ident == keyword)
}

fn parse_stmt(input: ParseStream) -> syn::Result<Stmt> {
    if input.peek(Token![in]) {
        let in_token = input.parse()?;
        let name = input.parse()?;
        input.parse::<Token![:]>().map_err(|e| {
            syn::Error::new(
                e.span(),
                "an `in` input needs a type: `in name: Type = expression;`",
            )
        })?;
        let ty = input.parse()?;
        input.parse::<Token![=]>()?;
        let expr = input.parse()?;
        input.parse::<Token![;]>()?;
        return Ok(Stmt::Input(Input {
            in_token,
            name,
            ty,
            expr,
        }));
    }
    if input.peek(Token![let]) {
        let let_token = input.parse()?;
        let name = input.parse().map_err(|e| {
            syn::Error::new(
                e.span(),
                "`let` in a section binds exactly one name: `let name: Type = value;`",
            )
        })?;
        let ty = if input.peek(Token![:]) {
            input.parse::<Token![:]>()?;
            Some(input.parse()?)
        } else {
            None
        };
        input.parse::<Token![=]>()?;
        let value = input.parse()?;
        input.parse::<Token![;]>()?;
        return Ok(Stmt::Let {
            let_token,
            name,
            ty,
            value,
        });
    }
    if input.peek(Token![if]) {
        return parse_exit_if(input);
    }
    if peek_keyword(input, "store") && !input.peek2(Token![=]) && !input.peek2(Token![;]) {
        let keyword = input.parse()?;
        let assignment: Expr = input.parse()?;
        input.parse::<Token![;]>()?;
        let Expr::Assign(assign) = assignment else {
            return Err(syn::Error::new_spanned(
                assignment,
                "a speculative store is written `store *pointer = value;`",
            ));
        };
        return Ok(Stmt::Store {
            keyword,
            target: *assign.left,
            value: *assign.right,
        });
    }
    if peek_keyword(input, "commit") && !input.peek2(Token![=]) && !input.peek2(Token![;]) {
        return parse_commit(input);
    }
    if peek_keyword(input, "copy") && input.peek2(syn::token::Paren) {
        let keyword = input.parse()?;
        let content;
        let parens = parenthesized!(content in input);
        let (args, max) = parse_copy_args(&content)?;
        input.parse::<Token![;]>()?;
        return Ok(Stmt::Copy {
            keyword,
            args,
            args_span: parens.span.join(),
            max,
        });
    }
    if peek_keyword(input, "exit") && !input.peek2(Token![=]) {
        return Ok(Stmt::BareExit(parse_exit(input)?));
    }
    // A last expression without `;` is the yielded value (a `Stmt` would demand the `;`).
    let fork = input.fork();
    if let Ok(expr) = fork.parse::<Expr>() {
        if fork.is_empty() {
            input.advance_to(&fork);
            return Ok(Stmt::Yield(expr));
        }
    }
    Ok(Stmt::Rust(input.parse()?))
}

/// The arguments of `copy`, expressions separated by commas, the last of which may be the
/// bound `max N`. `max` is not reserved: an argument that parses as an expression on its
/// own (`max`, `max + 1`) is one, and only `max` followed by more (`max 256`) is the bound.
fn parse_copy_args(content: ParseStream) -> syn::Result<(Vec<Expr>, Option<CopyMax>)> {
    let mut args = Vec::new();
    let mut max: Option<CopyMax> = None;
    while !content.is_empty() {
        if let Some(bound) = &max {
            return Err(syn::Error::new(
                content.span(),
                format!(
                    "the bound `{} ...` is the last argument of `copy`: `copy(dst, src, n, max 256)`",
                    bound.keyword
                ),
            ));
        }
        let fork = content.fork();
        let whole_argument =
            fork.parse::<Expr>().is_ok() && (fork.is_empty() || fork.peek(Token![,]));
        if !whole_argument && peek_keyword(content, "max") {
            let keyword: Ident = content.parse()?;
            let value: Expr = content.parse().map_err(|e| {
                syn::Error::new(
                    e.span(),
                    "`max` takes the largest length the copy may have, a literal: `max 256`",
                )
            })?;
            max = Some(CopyMax { keyword, value });
        } else {
            args.push(content.parse()?);
        }
        if !content.is_empty() {
            content.parse::<Token![,]>()?;
        }
    }
    Ok((args, max))
}

fn parse_exit(input: ParseStream) -> syn::Result<Exit> {
    let keyword: Ident = input.parse()?;
    let value = if input.peek(Token![;]) {
        None
    } else {
        Some(input.parse()?)
    };
    input.parse::<Token![;]>()?;
    Ok(Exit { keyword, value })
}

fn parse_exit_if(input: ParseStream) -> syn::Result<Stmt> {
    let if_token: Token![if] = input.parse()?;
    let cond = Expr::parse_without_eager_brace(input)?;
    let body;
    let brace = braced!(body in input);
    if !peek_keyword(&body, "exit") {
        return Err(syn::Error::new(
            brace.span.join(),
            "the body of an `if` in a section is exactly `exit;` or `exit value;`",
        ));
    }
    let exit = parse_exit(&body)?;
    if !body.is_empty() {
        return Err(body.error("nothing may follow `exit` inside the `if`"));
    }
    if input.peek(Token![else]) {
        let else_token: Token![else] = input.parse()?;
        return Err(syn::Error::new(
            else_token.span().join(if_token.span).unwrap_or(else_token.span()),
            "an `if` in a section cannot have an `else`: it only exits; put the other branch's statements after it",
        ));
    }
    Ok(Stmt::ExitIf {
        if_token,
        cond,
        exit,
    })
}

/// Whether the parentheses after `commit` open its place, as in `commit (*p).field = v;`,
/// rather than holding its ordering, as in `commit(release) *p = v;`: a place goes on
/// with a field or an index after the parentheses.
fn parenthesized_place(input: ParseStream) -> bool {
    let fork = input.fork();
    // The parenthesized group, one token tree, then what follows it.
    fork.parse::<proc_macro2::TokenTree>().is_ok()
        && (fork.peek(Token![.]) || fork.peek(syn::token::Bracket))
}

fn parse_commit(input: ParseStream) -> syn::Result<Stmt> {
    let keyword: Ident = input.parse()?;
    let ordering = if input.peek(syn::token::Paren) && !parenthesized_place(input) {
        let content;
        parenthesized!(content in input);
        let ordering: Ident = content.parse()?;
        if !content.is_empty() {
            return Err(
                content.error("expected one ordering: `commit(release)` or `commit(relaxed)`")
            );
        }
        Some(ordering)
    } else {
        None
    };
    let assignment: Expr = input.parse()?;
    input.parse::<Token![;]>()?;
    match assignment {
        Expr::Assign(assign) => Ok(Stmt::Commit {
            keyword,
            ordering,
            target: *assign.left,
            value: *assign.right,
            add: false,
        }),
        Expr::Binary(binary) if matches!(binary.op, syn::BinOp::AddAssign(_)) => Ok(Stmt::Commit {
            keyword,
            ordering,
            target: *binary.left,
            value: *binary.right,
            add: true,
        }),
        other => Err(syn::Error::new_spanned(
            other,
            "a commit is written `commit *pointer = value;` or `commit *pointer += value;`",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::quote;

    #[test]
    fn parses_every_statement_kind() {
        let section = parse_section(quote! {
            mm_cid, |cpu| {
                in p: *mut u64 = base.add(cpu);
                let v: u64 = *p;
                if v == 3 { exit v; }
                store *p.add(1) = v;
                copy(p, p.add(2), 16);
                commit(release) *p = v + 1;
                v
            }
        })
        .unwrap();
        assert_eq!(section.options.len(), 1);
        assert_eq!(section.index, "cpu");
        let kinds: Vec<&str> = section
            .stmts
            .iter()
            .map(|s| match s {
                Stmt::Input(_) => "in",
                Stmt::Let { .. } => "let",
                Stmt::ExitIf { .. } => "if",
                Stmt::Store { .. } => "store",
                Stmt::Copy { .. } => "copy",
                Stmt::Commit { .. } => "commit",
                Stmt::Yield(_) => "yield",
                Stmt::BareExit(_) => "exit",
                Stmt::Rust(_) => "rust",
            })
            .collect();
        assert_eq!(
            kinds,
            ["in", "let", "if", "store", "copy", "commit", "yield"]
        );
    }

    #[test]
    fn commit_add_is_recognised() {
        let section = parse_section(quote!(|c| { in p: *mut u64 = q; commit *p += 1; })).unwrap();
        assert!(matches!(section.stmts[1], Stmt::Commit { add: true, .. }));
    }

    /// The arguments and the bound of the section's second statement, a `copy`.
    fn copy_parts(tokens: TokenStream) -> (Vec<String>, Option<String>) {
        let section = parse_section(tokens).unwrap();
        let Stmt::Copy { args, max, .. } = &section.stmts[1] else {
            panic!("not a copy");
        };
        let text = |e: &Expr| quote::ToTokens::to_token_stream(e).to_string();
        (
            args.iter().map(text).collect(),
            max.as_ref()
                .map(|m| format!("{} {}", m.keyword, text(&m.value))),
        )
    }

    #[test]
    fn copy_bound_is_max_then_a_value() {
        let (args, max) = copy_parts(quote!(|c| { in p: *mut u8 = q; copy(p, p, n, max 256); }));
        assert_eq!(args, ["p", "p", "n"]);
        assert_eq!(max.as_deref(), Some("max 256"));
        // A trailing comma, and a bound that is not a literal (the checker refuses it).
        let (_, max) = copy_parts(quote!(|c| { in p: *mut u8 = q; copy(p, p, n, max m,); }));
        assert_eq!(max.as_deref(), Some("max m"));
    }

    #[test]
    fn a_name_max_is_an_argument() {
        let (args, max) = copy_parts(quote!(|c| { in p: *mut u8 = q; copy(p, p, max); }));
        assert_eq!(args, ["p", "p", "max"]);
        assert_eq!(max, None);
        let (args, max) =
            copy_parts(quote!(|c| { in p: *mut u8 = q; copy(p, p, max + 1, max 8); }));
        assert_eq!(args, ["p", "p", "max + 1"]);
        assert_eq!(max.as_deref(), Some("max 8"));
    }

    #[test]
    fn copy_bound_comes_last() {
        let err = parse_section(quote!(|c| { in p: *mut u8 = q; copy(p, p, max 8, n); }))
            .err()
            .unwrap();
        assert!(err.to_string().contains("last argument"), "{err}");
    }

    #[test]
    fn commit_to_a_field_is_not_an_ordering() {
        for tokens in [
            quote!(|c| { in p: *mut S = q; commit (*p).a = 1u8; }),
            quote!(|c| { in p: *mut S = q; commit (*p).a[0] = 1u8; }),
            quote!(|c| { in p: *mut S = q; commit(release) (*p).a = 1u8; }),
        ] {
            let section = parse_section(tokens).unwrap();
            assert!(matches!(section.stmts[1], Stmt::Commit { .. }));
        }
        let section =
            parse_section(quote!(|c| { in p: *mut u8 = q; commit(release) *p = 1; })).unwrap();
        let Stmt::Commit { ordering, .. } = &section.stmts[1] else {
            panic!("not a commit");
        };
        assert_eq!(ordering.as_ref().unwrap(), "release");
    }

    #[test]
    fn missing_closure_is_an_error() {
        let err = parse_section(quote!({
            commit * p = 1;
        }))
        .err()
        .unwrap();
        assert!(err.to_string().contains("closure"), "{err}");
    }

    #[test]
    fn if_with_other_body_is_an_error() {
        let err = parse_section(quote!(|c| {
            if x == 1 {
                commit * p = 1;
            }
        }))
        .err()
        .unwrap();
        assert!(err.to_string().contains("exit"), "{err}");
    }
}
