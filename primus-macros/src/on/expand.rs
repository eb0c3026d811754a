//! Code generation for `#[primus::on(..)]` and `#[primus_client::on(..)]`.
//!
//! One generator serves both sides; [`Flavor`] names what differs (the
//! context and extractor trait, the registration, the state check). Every
//! piece of generated code that the compiler may reject carries the span of
//! the user's token it is about, so that the error lands there: extractor
//! checks on the argument types, the return-type check on the return type,
//! the `Send` check on the function name, the variant check on the variant.

use super::model::{Handler, Side, Target};
use proc_macro2::{TokenStream, TokenTree};
use quote::{format_ident, quote, quote_spanned, ToTokens};
use syn::spanned::Spanned;
use syn::{Ident, ReturnType};

/// What differs between server and client handlers, as glue item names.
struct Flavor {
    /// The context arguments are taken from (`HandlerContext<P>`).
    context: Ident,
    /// The extractor trait (`FromHandlerContext<P>`).
    extractor: Ident,
    /// The name prefix of the constant that makes a second handler of one
    /// event in the same module a compile error.
    exclusive: &'static str,
}

impl Flavor {
    fn of(side: Side) -> Flavor {
        let (context, extractor, exclusive) = match side {
            Side::Server => (
                "HandlerContext",
                "FromHandlerContext",
                "ONLY_ONE_HANDLER_PER_EVENT",
            ),
            Side::Client => (
                "ClientContext",
                "FromClientContext",
                "ONLY_ONE_CLIENT_HANDLER_PER_EVENT",
            ),
        };
        Flavor {
            context: format_ident!("{}", context),
            extractor: format_ident!("{}", extractor),
            exclusive,
        }
    }
}

/// The parts that depend on the handler's target.
struct Parts {
    /// The payload type (`__Payload`).
    payload: TokenStream,
    /// The glue function, with its type arguments.
    glue_fn: TokenStream,
    /// The `__PRIMUS_VARIANT_ID` constant of a typed event.
    variant_id: TokenStream,
    /// The constant that allows one handler per event and module.
    exclusive: TokenStream,
    /// What the registration says the handler handles.
    kind: Kind,
}

enum Kind {
    /// `HandlerKind::Connection`, `Disconnection` or `Data`.
    Lifecycle(Ident),
    /// A typed event: expressions of its enum's name, its wire name and
    /// whether it is a request.
    Event {
        type_name: TokenStream,
        name: TokenStream,
        request: TokenStream,
    },
}

pub(crate) fn generate(handler: &Handler) -> TokenStream {
    let glue = &handler.glue;
    let flavor = Flavor::of(handler.side);
    let function = &handler.function;
    let name = &function.sig.ident;
    let name_text = name.to_string();
    // The return type, named in the glue call that checks it against the
    // event's reply type: a mismatch is reported on it.
    let ret = return_type(function);
    let parts = match &handler.target {
        Target::Event {
            enum_path,
            variant,
            span,
        } => typed(handler, &flavor, &ret, enum_path, variant, *span),
        lifecycle => lifecycle_parts(handler, lifecycle, &ret),
    };
    let Parts {
        payload,
        glue_fn,
        variant_id,
        exclusive,
        kind,
    } = parts;

    let (context, extractor) = (&flavor.context, &flavor.extractor);
    let bindings: Vec<_> = (0..handler.arguments.len())
        .map(|i| format_ident!("__primus_arg{}", i))
        .collect();
    let extractions = handler.arguments.iter().zip(&bindings).map(|(ty, binding)| {
        quote_spanned! {ty.span()=>
            let #binding = <#ty as __primus::#extractor<__Payload>>::from_context(&mut __context)?;
        }
    });
    let call = quote_spanned! {name.span()=>
        ::core::result::Result::Ok(#name(#(#bindings),*).await)
    };
    // The closure and the future the glue requires to be `Send`: spanned on
    // the function name, where "future cannot be sent between threads
    // safely" belongs. A closure, so that the erased handler's type is
    // never named: the registration's field type gives it.
    let make = quote_spanned! {name.span()=>
        || #glue_fn(#name_text, |mut __context: __primus::#context<__Payload>| async move {
            #(#extractions)*
            #call
        })
    };
    let check = state_check(handler);
    let import = glue.import();
    let registration = registration(handler, kind, &make);

    quote! {
        #function

        #exclusive

        #[doc(hidden)]
        const _: () = {
            #import

            #variant_id

            type __Payload = #payload;

            #check

            __primus::inventory::submit! {
                #registration
            }
        };
    }
}

/// A typed event handler: the variant id, the one-handler constant, and the
/// registration of its side.
fn typed(
    handler: &Handler,
    flavor: &Flavor,
    ret: &TokenStream,
    enum_path: &syn::Path,
    variant: &Ident,
    span: proc_macro2::Span,
) -> Parts {
    let name = &handler.function.sig.ident;
    let enum_path = &turbofish(enum_path);
    let variant_text = variant.to_string();
    // The variant's id, through a constant that names the variant in a
    // pattern: an unknown variant is reported there, on the path, with the
    // compiler's "did you mean". The constant is then erroneous and every use
    // of `Variant<ID>` below stays silent instead of adding "trait bound not
    // satisfied" errors.
    let variant_id = quote_spanned! {span=>
        #[allow(clippy::all, clippy::pedantic)]
        const __PRIMUS_VARIANT_ID: u64 = match ::core::option::Option::<#enum_path>::None {
            ::core::option::Option::Some(#enum_path::#variant { .. }) => {
                __primus::variant_id(#variant_text)
            }
            _ => __primus::variant_id(#variant_text),
        };
    };
    let variant_trait = quote!(__primus::Variant<__PRIMUS_VARIANT_ID>);
    let payload = quote!(<#enum_path as #variant_trait>::Payload);
    let glue_fn = quote_spanned! {name.span()=>
        __primus::event_handler::<#enum_path, __PRIMUS_VARIANT_ID, _, _, #ret>
    };
    // Two handlers for one event in the same module collide here, on the
    // variant of the second one.
    let segments: Vec<String> = enum_path.segments.iter().map(|s| s.ident.to_string()).collect();
    let slot = format_ident!(
        "{}__{}__{}",
        flavor.exclusive,
        segments.join("__"),
        variant,
        span = variant.span()
    );
    let exclusive = quote_spanned! {variant.span()=>
        #[doc(hidden)]
        #[allow(non_upper_case_globals, dead_code)]
        const #slot: () = ();
    };
    let kind = Kind::Event {
        type_name: quote!(<#enum_path as __primus::Event>::TYPE_NAME),
        name: quote!(<#enum_path as #variant_trait>::NAME),
        request: quote!(<#enum_path as #variant_trait>::IS_REQUEST),
    };
    Parts {
        payload,
        glue_fn,
        variant_id,
        exclusive,
        kind,
    }
}

/// A `connection`/`disconnection`/`data` handler (server only): no variant
/// id, no one-handler constant.
fn lifecycle_parts(handler: &Handler, target: &Target, ret: &TokenStream) -> Parts {
    let name = &handler.function.sig.ident;
    let (glue_fn, kind) = match target {
        Target::Connection => ("connection_handler", "Connection"),
        Target::Disconnection => ("disconnection_handler", "Disconnection"),
        _ => ("data_handler", "Data"),
    };
    let glue_fn = format_ident!("{}", glue_fn);
    Parts {
        payload: quote!(__primus::NoPayload),
        glue_fn: quote_spanned!(name.span()=> __primus::#glue_fn::<_, _, #ret>),
        variant_id: TokenStream::new(),
        exclusive: TokenStream::new(),
        kind: Kind::Lifecycle(format_ident!("{}", kind)),
    }
}

/// The registration value of the handler's side.
fn registration(handler: &Handler, kind: Kind, make: &TokenStream) -> TokenStream {
    let function = handler.function.sig.ident.to_string();
    match (handler.side, kind) {
        (Side::Server, kind) => {
            let kind = match kind {
                Kind::Lifecycle(kind) => quote!(__primus::HandlerKind::#kind),
                Kind::Event {
                    type_name,
                    name,
                    request,
                } => quote! {
                    __primus::HandlerKind::Event { type_name: #type_name, name: #name, request: #request }
                },
            };
            let order = handler.order;
            quote! {
                __primus::HandlerRegistration {
                    kind: #kind,
                    module: ::core::module_path!(),
                    function: #function,
                    order: #order,
                    make: #make,
                    check: __primus_check,
                }
            }
        }
        (Side::Client, Kind::Event { type_name, name, .. }) => quote! {
            __primus::ClientHandlerRegistration {
                type_name: #type_name,
                name: #name,
                module: ::core::module_path!(),
                function: #function,
                make: #make,
            }
        },
        // The model accepts only typed events on the client.
        (Side::Client, Kind::Lifecycle(_)) => {
            quote!(::core::compile_error!(
                "primus-macros: a client handler of a string event (a bug in the macro)"
            ))
        }
    }
}

/// The server's check of `State<T>` arguments against the builder's state,
/// run by `build`; the client has none.
fn state_check(handler: &Handler) -> TokenStream {
    if handler.side == Side::Client {
        return TokenStream::new();
    }
    let checks = handler.arguments.iter().map(|ty| {
        quote_spanned! {ty.span()=>
            <#ty as __primus::FromHandlerContext<__Payload>>::check(__state)?;
        }
    });
    quote! {
        fn __primus_check(
            __state: &__primus::StateMapView<'_>,
        ) -> ::core::result::Result<(), ::std::string::String> {
            #(#checks)*
            ::core::result::Result::Ok(())
        }
    }
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
