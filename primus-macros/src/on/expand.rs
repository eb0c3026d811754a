//! Code generation for `#[primus::on(..)]`.

use super::model::{Handler, Target};
use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::spanned::Spanned;

pub(crate) fn generate(handler: &Handler) -> TokenStream {
    let function = &handler.function;
    let name = &function.sig.ident;
    let name_text = name.to_string();
    let order = handler.order;

    let (payload, glue, kind, exists, slot) = match &handler.target {
        Target::Connection => lifecycle("connection_handler", quote!(Connection)),
        Target::Disconnection => lifecycle("disconnection_handler", quote!(Disconnection)),
        Target::Data => lifecycle("data_handler", quote!(Data)),
        Target::Event {
            enum_path,
            variant,
            span,
        } => {
            let variant_text = variant.to_string();
            let id = quote!({ ::primus::__private::variant_id(#variant_text) });
            let variant_trait = quote!(::primus::__private::Variant<#id>);
            let payload = quote!(<#enum_path as #variant_trait>::Payload);
            let glue = quote_spanned!(*span=> ::primus::__private::event_handler::<#enum_path, #id, _, _, _>);
            let kind = quote! {
                ::primus::__private::HandlerKind::Event {
                    type_name: <#enum_path as ::primus::__private::Event>::TYPE_NAME,
                    name: <#enum_path as #variant_trait>::NAME,
                    request: <#enum_path as #variant_trait>::IS_REQUEST,
                }
            };
            // A pattern that names the variant: an unknown variant is reported
            // here, on the path, with the compiler's "did you mean".
            let exists = quote_spanned! {*span=>
                #[allow(unreachable_code, unreachable_patterns, clippy::match_single_binding)]
                fn __primus_variant_exists(event: #enum_path) {
                    match event {
                        #enum_path::#variant { .. } => {}
                        _ => {}
                    }
                }
            };
            // Two handlers for one event in the same module collide here.
            let segments: Vec<String> = enum_path.segments.iter().map(|s| s.ident.to_string()).collect();
            let slot = format_ident!("ONLY_ONE_HANDLER_PER_EVENT__{}__{}", segments.join("__"), variant);
            let exclusive = quote_spanned! {*span=>
                #[doc(hidden)]
                #[allow(non_upper_case_globals, dead_code)]
                const #slot: () = ();
            };
            (payload, glue, kind, exists, exclusive)
        }
    };

    let bindings: Vec<_> = (0..handler.arguments.len())
        .map(|i| format_ident!("__primus_arg{}", i))
        .collect();
    let extractions = handler.arguments.iter().zip(&bindings).map(|(ty, binding)| {
        quote_spanned! {ty.span()=>
            let #binding = <#ty as ::primus::__private::FromHandlerContext<__Payload>>::from_context(&mut __context)?;
        }
    });
    let checks = handler.arguments.iter().map(|ty| {
        quote_spanned! {ty.span()=>
            <#ty as ::primus::__private::FromHandlerContext<__Payload>>::check(__state)?;
        }
    });
    let call = quote_spanned! {function.sig.ident.span()=>
        ::core::result::Result::Ok(#name(#(#bindings),*).await)
    };

    quote! {
        #function

        #slot

        #[doc(hidden)]
        const _: () = {
            type __Payload = #payload;

            #exists

            fn __primus_make() -> ::primus::__private::ErasedHandler {
                #glue(#name_text, |mut __context: ::primus::__private::HandlerContext<__Payload>| async move {
                    #(#extractions)*
                    #call
                })
            }

            fn __primus_check(
                __state: &::primus::__private::StateMapView<'_>,
            ) -> ::core::result::Result<(), ::std::string::String> {
                #(#checks)*
                ::core::result::Result::Ok(())
            }

            ::primus::__private::inventory::submit! {
                ::primus::__private::HandlerRegistration {
                    kind: #kind,
                    module: ::core::module_path!(),
                    function: #name_text,
                    order: #order,
                    make: __primus_make,
                    check: __primus_check,
                }
            }
        };
    }
}

type Parts = (TokenStream, TokenStream, TokenStream, TokenStream, TokenStream);

/// Payload, glue function and kind of a `connection`/`disconnection`/`data`
/// handler (no variant check, no exclusive slot).
fn lifecycle(glue: &str, kind: TokenStream) -> Parts {
    let glue = format_ident!("{}", glue);
    (
        quote!(::primus::__private::NoPayload),
        quote!(::primus::__private::#glue),
        quote!(::primus::__private::HandlerKind::#kind),
        TokenStream::new(),
        TokenStream::new(),
    )
}
