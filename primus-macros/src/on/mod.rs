//! `#[primus::on(..)]` and `#[primus_client::on(..)]`: one model and one
//! generator, parameterised by [`Side`].

mod expand;
mod model;

pub(crate) use model::Side;

use crate::ctxt::Ctxt;
use proc_macro2::TokenStream;
use quote::quote;
use syn::{FnArg, ItemFn};

/// Reads the handler into the model, then generates. On any mistake,
/// reports all of them and keeps the function (so that the only errors are
/// the macro's), unless the function cannot compile on its own.
pub(crate) fn expand(side: Side, args: TokenStream, input: TokenStream) -> TokenStream {
    let mut cx = Ctxt::new();
    let handler = model::Handler::parse(&mut cx, side, args, input.clone());
    match (cx.check(), handler) {
        (Ok(()), Some(handler)) => expand::generate(&handler),
        (Err(errors), _) => {
            let errors = errors.into_compile_error();
            let function = function_alone(input);
            quote!(#errors #function)
        }
        // `parse` records an error whenever it returns `None`.
        (Ok(()), None) => TokenStream::new(),
    }
}

/// The function without the macro's attributes, when it compiles on its own
/// (a free function: no `self`, not variadic).
fn function_alone(input: TokenStream) -> TokenStream {
    let Ok(mut function) = syn::parse2::<ItemFn>(input) else {
        return TokenStream::new();
    };
    let standalone = function.sig.variadic.is_none()
        && !function
            .sig
            .inputs
            .iter()
            .any(|input| matches!(input, FnArg::Receiver(_)));
    if !standalone {
        return TokenStream::new();
    }
    // `#[primus(..)]` is the macro's; its mistakes are already reported.
    function.attrs.retain(|attr| !attr.path().is_ident("primus"));
    quote! {
        #[allow(dead_code)]
        #function
    }
}
