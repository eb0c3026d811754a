//! `#[primus_client::on(..)]`: client-side handlers of typed events.

use crate::on::model::{Handler, Target};
use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

pub(crate) fn expand(args: TokenStream, input: TokenStream) -> syn::Result<TokenStream> {
    let handler = Handler::parse(args.clone(), input)?;
    let Target::Event {
        enum_path,
        variant,
        span,
    } = &handler.target
    else {
        return Err(syn::Error::new(
            args.span(),
            "client handlers take typed events such as `ServerEvent::Said`; read open, close and raw data from the `Events` stream",
        ));
    };
    let function = &handler.function;
    let name = &function.sig.ident;
    let name_text = name.to_string();
    let variant_text = variant.to_string();
    let id = quote!({ ::primus_client::__private::variant_id(#variant_text) });
    let variant_trait = quote!(::primus_client::__private::Variant<#id>);
    let glue = quote_spanned!(*span=> ::primus_client::__private::event_handler::<#enum_path, #id, _, _, _>);
    let bindings: Vec<_> = (0..handler.arguments.len())
        .map(|i| format_ident!("__primus_arg{}", i))
        .collect();
    let extractions = handler.arguments.iter().zip(&bindings).map(|(ty, binding)| {
        quote_spanned! {ty.span()=>
            let #binding = <#ty as ::primus_client::__private::FromClientContext<__Payload>>::from_context(&mut __context)?;
        }
    });
    let call = quote_spanned! {name.span()=> ::core::result::Result::Ok(#name(#(#bindings),*).await) };
    Ok(quote! {
        #function

        #[doc(hidden)]
        const _: () = {
            type __Payload = <#enum_path as #variant_trait>::Payload;

            #[allow(unreachable_patterns, clippy::match_single_binding)]
            fn __primus_variant_exists(event: #enum_path) {
                match event {
                    #enum_path::#variant { .. } => {}
                    _ => {}
                }
            }

            fn __primus_make() -> ::primus_client::handlers::ErasedClientHandler {
                #glue(#name_text, |mut __context: ::primus_client::__private::ClientContext<__Payload>| async move {
                    #(#extractions)*
                    #call
                })
            }

            ::primus_client::__private::inventory::submit! {
                ::primus_client::__private::ClientHandlerRegistration {
                    type_name: <#enum_path as ::primus_client::__private::Event>::TYPE_NAME,
                    name: <#enum_path as #variant_trait>::NAME,
                    module: ::core::module_path!(),
                    function: #name_text,
                    make: __primus_make,
                }
            }
        };
    })
}
