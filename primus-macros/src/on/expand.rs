//! Code generation for `#[primus::on(..)]`.
//!
//! Every piece of generated code that the compiler may reject carries the
//! span of the user's token it is about, so that the error lands there:
//! extractor checks on the argument types, the return-type check on the
//! return type, the `Send` check on the function name, the variant check on
//! the variant.

use super::model::{Handler, Target};
use proc_macro2::{TokenStream, TokenTree};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{Ident, ReturnType, Type};

pub(crate) fn generate(handler: &Handler) -> TokenStream {
    let function = &handler.function;
    if let Some(error) = lifecycle_payload(handler) {
        // Keep the function: the error above is then the only one.
        let error = error.into_compile_error();
        return quote! {
            #error
            #[allow(dead_code)]
            #function
        };
    }
    let name = &function.sig.ident;
    let name_text = name.to_string();
    let order = handler.order;
    // The return type, named in the glue call that checks it against the
    // event's reply type: a mismatch is reported on it.
    let ret = return_type(function);

    let (payload, glue, kind, variant_id, slot) = match &handler.target {
        Target::Connection => lifecycle("connection_handler", quote!(Connection), name, &ret),
        Target::Disconnection => lifecycle("disconnection_handler", quote!(Disconnection), name, &ret),
        Target::Data => lifecycle("data_handler", quote!(Data), name, &ret),
        Target::Event {
            enum_path,
            variant,
            span,
        } => {
            let enum_path = &turbofish(enum_path);
            let variant_text = variant.to_string();
            // The variant's id, through a constant that names the variant in
            // a pattern: an unknown variant is reported there, on the path,
            // with the compiler's "did you mean". The constant is then
            // erroneous and every use of `Variant<ID>` below stays silent
            // instead of adding "trait bound not satisfied" errors.
            let variant_id = quote_spanned! {*span=>
                #[allow(clippy::all, clippy::pedantic)]
                const __PRIMUS_VARIANT_ID: u64 = match ::core::option::Option::<#enum_path>::None {
                    ::core::option::Option::Some(#enum_path::#variant { .. }) => {
                        ::primus::__private::variant_id(#variant_text)
                    }
                    _ => ::primus::__private::variant_id(#variant_text),
                };
            };
            let variant_trait = quote!(::primus::__private::Variant<__PRIMUS_VARIANT_ID>);
            let payload = quote!(<#enum_path as #variant_trait>::Payload);
            let glue = quote_spanned! {name.span()=>
                ::primus::__private::event_handler::<#enum_path, __PRIMUS_VARIANT_ID, _, _, #ret>
            };
            let kind = quote! {
                ::primus::__private::HandlerKind::Event {
                    type_name: <#enum_path as ::primus::__private::Event>::TYPE_NAME,
                    name: <#enum_path as #variant_trait>::NAME,
                    request: <#enum_path as #variant_trait>::IS_REQUEST,
                }
            };
            // Two handlers for one event in the same module collide here,
            // on the variant of the second one.
            let segments: Vec<String> = enum_path.segments.iter().map(|s| s.ident.to_string()).collect();
            let slot = format_ident!(
                "ONLY_ONE_HANDLER_PER_EVENT__{}__{}",
                segments.join("__"),
                variant,
                span = variant.span()
            );
            let exclusive = quote_spanned! {variant.span()=>
                #[doc(hidden)]
                #[allow(non_upper_case_globals, dead_code)]
                const #slot: () = ();
            };
            (payload, glue, kind, variant_id, exclusive)
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
    let call = quote_spanned! {name.span()=>
        ::core::result::Result::Ok(#name(#(#bindings),*).await)
    };
    // The closure and the future the glue requires to be `Send`: spanned on
    // the function name, where "future cannot be sent between threads
    // safely" belongs.
    let make = quote_spanned! {name.span()=>
        #glue(#name_text, |mut __context: ::primus::__private::HandlerContext<__Payload>| async move {
            #(#extractions)*
            #call
        })
    };

    quote! {
        #function

        #slot

        #[doc(hidden)]
        const _: () = {
            #variant_id

            type __Payload = #payload;

            fn __primus_make() -> ::primus::__private::ErasedHandler {
                #make
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
/// handler (no variant id, no exclusive slot).
fn lifecycle(glue: &str, kind: TokenStream, name: &Ident, ret: &TokenStream) -> Parts {
    let glue = format_ident!("{}", glue);
    (
        quote!(::primus::__private::NoPayload),
        quote_spanned!(name.span()=> ::primus::__private::#glue::<_, _, #ret>),
        quote!(::primus::__private::HandlerKind::#kind),
        TokenStream::new(),
        TokenStream::new(),
    )
}

/// `Wrapper<u32>` → `Wrapper::<u32>`, valid in types, expressions and
/// patterns alike.
fn turbofish(path: &syn::Path) -> syn::Path {
    let mut path = path.clone();
    for segment in &mut path.segments {
        if let syn::PathArguments::AngleBracketed(arguments) = &mut segment.arguments {
            arguments.colon2_token.get_or_insert_with(Default::default);
        }
    }
    path
}

/// The return type as written (`()` on the function name when there is
/// none), or `_` when it cannot be named in an expression (`impl Trait`).
fn return_type(function: &syn::ItemFn) -> TokenStream {
    match &function.sig.output {
        ReturnType::Default => quote_spanned!(function.sig.ident.span()=> ()),
        ReturnType::Type(_, ty) if mentions_impl(ty.to_token_stream()) => quote!(_),
        ReturnType::Type(_, ty) => ty.to_token_stream(),
    }
}

fn mentions_impl(tokens: TokenStream) -> bool {
    tokens.into_iter().any(|token| match token {
        TokenTree::Ident(ident) => ident == "impl",
        TokenTree::Group(group) => mentions_impl(group.stream()),
        _ => false,
    })
}

/// `connection`, `disconnection` and `data` handlers have no payload: a
/// `Payload<T>` argument there is a mistake worth its own message.
fn lifecycle_payload(handler: &Handler) -> Option<syn::Error> {
    let event = match handler.target {
        Target::Connection => "connection",
        Target::Disconnection => "disconnection",
        Target::Data => "data",
        Target::Event { .. } => return None,
    };
    let ty = handler.arguments.iter().find(|ty| is_payload(ty))?;
    let hint = if event == "data" {
        "take the raw message as `Message` and decode it, e.g. `message.decode::<T>()`, or handle a typed event with `#[primus::on(Enum::Variant)]`"
    } else {
        "remove this argument; typed event handlers, `#[primus::on(Enum::Variant)]`, take their payload as `Payload<T>`"
    };
    Some(syn::Error::new_spanned(
        ty,
        format!("a \"{event}\" handler has no payload, so it cannot take `Payload<..>`: {hint}"),
    ))
}

/// `Payload<..>`, `primus::Payload<..>`, ...
fn is_payload(ty: &Type) -> bool {
    match ty {
        Type::Path(path) => {
            path.qself.is_none() && path.path.segments.last().is_some_and(|s| s.ident == "Payload")
        }
        Type::Paren(inner) => is_payload(&inner.elem),
        Type::Group(inner) => is_payload(&inner.elem),
        _ => false,
    }
}
