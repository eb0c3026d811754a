//! `#[primus::event]`.

mod expand;
mod model;

use crate::ctxt::Ctxt;
use proc_macro2::TokenStream;

/// Reads the enum into the model, then generates; on any mistake, reports
/// all of them (and emits nothing else).
pub(crate) fn expand(args: TokenStream, input: TokenStream) -> TokenStream {
    let mut cx = Ctxt::new();
    let model = model::EventEnum::parse(&mut cx, args, input);
    match (cx.check(), model) {
        (Ok(()), Some(model)) => expand::generate(&model),
        (Err(errors), _) => errors.into_compile_error(),
        // `parse` records an error whenever it returns `None`.
        (Ok(()), None) => TokenStream::new(),
    }
}
