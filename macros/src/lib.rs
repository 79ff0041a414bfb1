//! The `rseq!` compiler of rseq-dsl. Use it through the `rseq-dsl` crate, which documents
//! the section language; this crate only holds the macro.
//!
//! Stages, one module each: [`parse`] (tokens to a section tree), [`check`] (rules and types,
//! every error at once), [`lower`] (an arch-neutral instruction list and register
//! assignment), [`arch`] (one backend per architecture), [`expand`] (the Rust around the asm).

mod arch;
mod check;
mod errors;
mod expand;
mod lower;
mod parse;
mod ty;

#[cfg(test)]
mod fuzz_tests;
#[cfg(test)]
mod golden;

/// Compiles a restricted critical section to an rseq `asm!` block with retry.
/// See the `rseq-dsl` crate for the language.
#[proc_macro]
pub fn rseq(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    expand::rseq(input.into()).into()
}
