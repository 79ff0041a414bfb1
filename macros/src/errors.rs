//! Error collection: every violation is kept, then reported together.

use proc_macro2::Span;
use quote::ToTokens;

#[derive(Default)]
pub struct Errors {
    list: Vec<syn::Error>,
}

impl Errors {
    pub fn push(&mut self, span: Span, message: impl std::fmt::Display) {
        self.list.push(syn::Error::new(span, message));
    }

    pub fn push_spanned(&mut self, tokens: impl ToTokens, message: impl std::fmt::Display) {
        self.list.push(syn::Error::new_spanned(tokens, message));
    }

    /// All errors merged into one, or `Ok` when there were none.
    pub fn finish(self) -> syn::Result<()> {
        let mut list = self.list.into_iter();
        let Some(mut first) = list.next() else {
            return Ok(());
        };
        for error in list {
            first.combine(error);
        }
        Err(first)
    }
}
