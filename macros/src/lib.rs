//! The `rseq!` compiler of rseq-dsl. Use it through the `rseq-dsl` crate, which documents
//! the section language; this crate only holds the macro.
//!
//! Stages, one private module each: `parse` (tokens to a section tree), `check` (rules and
//! types, every error at once), `lower` (an arch-neutral instruction list and register
//! assignment), `arch` (one backend per architecture), `expand` (the Rust around the asm).

#![deny(missing_docs)]

mod arch;
mod check;
mod errors;
mod expand;
mod gate;
mod lower;
mod parse;
mod ty;

#[cfg(test)]
mod fuzz_tests;
#[cfg(test)]
mod golden;

/// Compiles a restricted critical section to an rseq `asm!` block with retry.
///
/// The expansion refers to `::rseq_dsl`, so call it through the `rseq-dsl` crate
/// (`rseq_dsl::rseq!`), whose documentation describes the section language:
///
/// ```ignore
/// let out = unsafe {
///     rseq_dsl::rseq!(|cpu| {
///         in slot: *mut u64 = base.add(cpu * STRIDE);
///         commit *slot += 1;
///     })
/// }; // Result<Outcome<(), ()>, Unavailable>
/// ```
#[proc_macro]
pub fn rseq(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    expand::rseq(input.into()).into()
}

/// `rseq!` with test instrumentation: what `rseq!` becomes in a build with `--cfg
/// rseq_dsl_delay_injection` or `--cfg rseq_dsl_compare_twice` (rseq-dsl's
/// `__rseq_select!` calls it with the flags). Not an API.
#[doc(hidden)]
#[proc_macro]
pub fn __rseq_instrumented(input: proc_macro::TokenStream) -> proc_macro::TokenStream {
    expand::rseq_instrumented(input.into()).into()
}
