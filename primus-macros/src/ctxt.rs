//! The error context shared by the parsers of every macro.
//!
//! A macro reads its whole input into a model before generating anything.
//! Every mistake it finds on the way is recorded here instead of returned at
//! once, so that the user sees all the mistakes of an item in one build, each
//! on its own token. [`Ctxt::check`] turns them into one [`syn::Error`].

use proc_macro2::Span;
use quote::ToTokens;
use std::fmt::Display;

/// Collects the errors of one macro invocation.
///
/// It must be consumed with [`Ctxt::check`]: dropping it unchecked is a bug
/// in the macro (the errors would be lost) and panics, unless the thread is
/// already panicking.
pub(crate) struct Ctxt {
    /// `None` once checked.
    errors: Option<Vec<syn::Error>>,
}

impl Ctxt {
    pub(crate) fn new() -> Ctxt {
        Ctxt {
            errors: Some(Vec::new()),
        }
    }

    /// Records an error at `span`.
    pub(crate) fn error(&mut self, span: Span, message: impl Display) {
        self.push(syn::Error::new(span, message));
    }

    /// Records an error spanning the tokens of `tokens`.
    pub(crate) fn error_spanned_by(&mut self, tokens: impl ToTokens, message: impl Display) {
        // One non-generic call site: the tokens are converted here.
        self.push(syn::Error::new_spanned(tokens.into_token_stream(), message));
    }

    /// Records an error already built (e.g. by a `syn` parser).
    pub(crate) fn push(&mut self, error: syn::Error) {
        if let Some(errors) = &mut self.errors {
            errors.push(error);
        }
    }

    /// Consumes the context: `Ok` when nothing was recorded, otherwise every
    /// error combined into one, in the order they were found.
    pub(crate) fn check(mut self) -> syn::Result<()> {
        let mut errors = self.errors.take().unwrap_or_default().into_iter();
        match errors.next() {
            None => Ok(()),
            Some(mut first) => {
                for error in errors {
                    first.combine(error);
                }
                Err(first)
            }
        }
    }
}

impl Drop for Ctxt {
    fn drop(&mut self) {
        if self.errors.is_some() && !std::thread::panicking() {
            panic!("primus-macros: an error context was dropped without `check` (a bug in the macro)");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Ctxt;
    use proc_macro2::Span;

    #[test]
    fn check_reports_every_error_in_order() {
        let mut cx = Ctxt::new();
        cx.error(Span::call_site(), "first");
        cx.error(Span::call_site(), "second");
        let error = cx.check().expect_err("two errors were recorded");
        let messages: Vec<String> = error.into_iter().map(|e| e.to_string()).collect();
        assert_eq!(messages, ["first", "second"]);
    }

    #[test]
    fn check_is_ok_without_errors() {
        let cx = Ctxt::new();
        assert!(cx.check().is_ok());
    }
}
