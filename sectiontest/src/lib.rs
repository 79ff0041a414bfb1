//! The differential test of `rseq!` (issue 13): random valid sections ([`gen`]), a
//! reference interpreter ([`interp`]) written apart from the macro's lowering and
//! backends, a shrinker ([`shrink`]), and the harness ([`harness`]) that compiles
//! generated sections with the real macro, runs them on random memory states ([`state`])
//! through [`support`], and compares.
#![deny(unsafe_op_in_unsafe_fn)]

pub mod absint;
pub mod ast;
pub mod fields;
pub mod gen;
pub mod harness;
pub mod interp;
pub mod print;
pub mod rng;
pub mod shrink;
pub mod state;
pub mod support;
pub mod validate;

#[cfg(test)]
mod tests;
