//! `#[primus::on(..)]`.

mod expand;
pub(crate) mod model;

use proc_macro2::TokenStream;

pub(crate) fn expand(args: TokenStream, input: TokenStream) -> syn::Result<TokenStream> {
    let model = model::Handler::parse(args, input)?;
    Ok(expand::generate(&model))
}
