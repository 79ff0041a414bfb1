//! Test instrumentation, chosen per build by cfgs that cargo's feature unification cannot
//! spread: `--cfg rseq_dsl_delay_injection` and `--cfg rseq_dsl_compare_twice`, in
//! `RUSTFLAGS` (scripts/instrumented.sh).
//!
//! A proc-macro cannot read cfgs (it is compiled for the host, separately, and `RUSTFLAGS`
//! does not even reach it under `--target`), so the expansion defers the choice to
//! `rseq_dsl::__rseq_select!`, a `macro_rules!` that rseq-dsl defines once per combination
//! of the two cfgs, each definition under its `#[cfg]`: the cfgs are read where rseq-dsl is
//! compiled, in the same build as the runtime's delay table, so the two always agree.
//!
//! Why not `#[cfg]`s in the expansion itself, evaluated in the crate that calls `rseq!`:
//! that crate has never heard of these cfgs, so rustc's `unexpected_cfgs` lint fires there.
//! An `#[allow(unexpected_cfgs)]` around them silences it, but a crate with
//! `#![forbid(unexpected_cfgs)]` then fails to compile, and one with
//! `#![forbid(warnings)]` gets a future-incompatibility warning (both seen with rustc
//! 1.95). Read in rseq-dsl, the cfgs are declared (its `[lints.rust]` check-cfg) and no
//! user's crate sees them.
//!
//! Cost: the expansion is the finished plain section (every backend, as before) and the
//! section's own tokens; the selector returns the one or hands the other to the hidden
//! `__rseq_instrumented!` with the instrumentation spelled out. A plain build thus compiles
//! one plain section and pays only for carrying its tokens once more; an instrumented
//! build also compiles the instrumented section, and uses it. Emitting every variant's asm
//! instead would multiply the work of every build.

use proc_macro2::{Delimiter, Span, TokenStream, TokenTree};
use quote::quote;

use crate::lower::Instrumentation;

/// Flag words of `__rseq_instrumented!([flags] section)`, as rseq-dsl's selector writes them.
const DELAYS: &str = "delays";
const COMPARE_TWICE: &str = "compare_twice";

/// The expansion of `rseq!`: `plain` (the uninstrumented expansion) and the section, for
/// rseq-dsl's selector to choose from.
pub fn gate(section: &TokenStream, plain: TokenStream) -> TokenStream {
    quote!(::rseq_dsl::__rseq_select!([#section] { #plain }))
}

/// Splits `[flags] section` (what rseq-dsl's selector writes) into the instrumentation and
/// the section.
pub fn split_flags(input: TokenStream) -> syn::Result<(Instrumentation, TokenStream)> {
    let mut tokens = input.into_iter();
    let flags = match tokens.next() {
        Some(TokenTree::Group(group)) if group.delimiter() == Delimiter::Bracket => group,
        other => {
            let span = other.map_or(Span::call_site(), |t| t.span());
            return Err(syn::Error::new(
                span,
                "expected `[flags]`: this macro is rseq!'s, for instrumented builds only",
            ));
        }
    };
    let mut instrumentation = Instrumentation::default();
    for flag in flags.stream() {
        match &flag {
            TokenTree::Ident(word) if word == DELAYS => instrumentation.delays = true,
            TokenTree::Ident(word) if word == COMPARE_TWICE => instrumentation.compare_twice = true,
            _ => {
                return Err(syn::Error::new(
                    flag.span(),
                    format!("unknown instrumentation; expected `{DELAYS}` or `{COMPARE_TWICE}`"),
                ))
            }
        }
    }
    Ok((instrumentation, tokens.collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gate_hands_the_section_and_the_plain_expansion_to_the_selector() {
        let section: TokenStream = "|cpu| { commit *p += 1; }".parse().unwrap();
        let expansion = gate(&section, quote!(plain_expansion)).to_string();
        assert_eq!(
            expansion,
            quote!(::rseq_dsl::__rseq_select!([|cpu| { commit *p += 1; }] { plain_expansion }))
                .to_string()
        );
    }

    #[test]
    fn split_flags_reads_each_combination() {
        let section: TokenStream = "|cpu| { commit *p += 1; }".parse().unwrap();
        let cases = [
            ("[]", false, false),
            ("[delays]", true, false),
            ("[compare_twice]", false, true),
            ("[delays compare_twice]", true, true),
        ];
        for (flags, delays, compare_twice) in cases {
            let args: TokenStream = format!("{flags} {section}").parse().unwrap();
            let (instrumentation, rest) = split_flags(args).unwrap();
            assert_eq!(rest.to_string(), section.to_string());
            assert_eq!(
                instrumentation,
                Instrumentation {
                    delays,
                    compare_twice
                },
                "{flags}"
            );
        }
    }

    #[test]
    fn split_flags_rejects_what_the_selector_never_writes() {
        for bad in ["|cpu| {}", "[delay] |cpu| {}", "(delays) |cpu| {}", ""] {
            let err = split_flags(bad.parse().unwrap()).unwrap_err().to_string();
            assert!(
                err.contains("expected `[flags]`") || err.contains("unknown instrumentation"),
                "{bad}: {err}"
            );
        }
    }
}
