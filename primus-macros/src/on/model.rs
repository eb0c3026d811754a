//! The parsed form of a handler, validated.

use crate::case::distance;
use proc_macro2::{Span, TokenStream};
use syn::parse::{Parse, ParseStream};
use syn::spanned::Spanned;
use syn::{FnArg, Ident, ItemFn, LitInt, LitStr, Path, Token, Type};

pub(crate) struct Handler {
    pub(crate) target: Target,
    pub(crate) order: i32,
    pub(crate) function: ItemFn,
    /// The argument types, in order.
    pub(crate) arguments: Vec<Type>,
}

pub(crate) enum Target {
    Connection,
    Disconnection,
    Data,
    Event {
        /// `ClientEvent` in `ClientEvent::Say`.
        enum_path: Path,
        /// `Say`.
        variant: Ident,
        /// The path as written, for error spans.
        span: Span,
    },
}

const LIFECYCLE: [&str; 3] = ["connection", "disconnection", "data"];

struct Arguments {
    target: Target,
    order: i32,
}

impl Parse for Arguments {
    fn parse(input: ParseStream<'_>) -> syn::Result<Arguments> {
        if input.is_empty() {
            // Nothing to point at but the attribute itself.
            return Err(syn::Error::new(
                Span::call_site(),
                "`#[primus::on(..)]` needs an event: write `#[primus::on(\"connection\")]` (or \"disconnection\", \"data\"), or a variant path such as `#[primus::on(ClientEvent::Say)]`",
            ));
        }
        let target = if input.peek(LitStr) {
            let name: LitStr = input.parse()?;
            match name.value().as_str() {
                "connection" => Target::Connection,
                "disconnection" => Target::Disconnection,
                "data" => Target::Data,
                other => {
                    let hint = LIFECYCLE
                        .iter()
                        .filter(|known| distance(other, known) <= 3)
                        .min_by_key(|known| distance(other, known))
                        .map(|known| format!("did you mean \"{known}\"? "))
                        .unwrap_or_default();
                    return Err(syn::Error::new(
                        name.span(),
                        format!(
                            "unknown event \"{other}\"; {hint}string events are \"connection\", \"disconnection\" and \"data\"; typed events are written as a path, e.g. `ClientEvent::Say`"
                        ),
                    ));
                }
            }
        } else {
            let path: Path = input.parse()?;
            let span = path.span();
            if path.segments.len() < 2 {
                return Err(syn::Error::new_spanned(
                    &path,
                    "name the event as `Enum::Variant`, e.g. `ClientEvent::Say`, or use \"connection\", \"disconnection\" or \"data\"",
                ));
            }
            let mut enum_path = path.clone();
            let last = enum_path.segments.pop().map(|pair| pair.into_value());
            let variant = match last {
                Some(segment) if segment.arguments.is_empty() => segment.ident,
                Some(segment) => {
                    return Err(syn::Error::new_spanned(
                        &segment.arguments,
                        "a variant takes no generic arguments",
                    ))
                }
                None => return Err(syn::Error::new(span, "expected `Enum::Variant`")),
            };
            // `pop` leaves a trailing `::`; rebuild without it.
            let enum_path = Path {
                leading_colon: enum_path.leading_colon,
                segments: enum_path.segments.into_iter().collect(),
            };
            Target::Event {
                enum_path,
                variant,
                span,
            }
        };
        let mut order = 0;
        while !input.is_empty() {
            input.parse::<Token![,]>()?;
            if input.is_empty() {
                break;
            }
            let key: Ident = input.parse().map_err(|e| {
                syn::Error::new(
                    e.span(),
                    "expected an option; `#[primus::on(..)]` accepts `order = <integer>` after the event",
                )
            })?;
            if key != "order" {
                let hint = if distance(&key.to_string(), "order") <= 2 {
                    "did you mean `order`? "
                } else {
                    ""
                };
                return Err(syn::Error::new(
                    key.span(),
                    format!("unknown option `{key}`; {hint}`#[primus::on(..)]` accepts `order = <integer>` after the event"),
                ));
            }
            input.parse::<Token![=]>().map_err(|e| {
                syn::Error::new(
                    e.span(),
                    "write `order = <integer>`, e.g. `order = 10`; lower runs first",
                )
            })?;
            let value: LitInt = input.parse().map_err(|e| {
                syn::Error::new(
                    e.span(),
                    "`order` takes an integer, e.g. `order = 10`; lower runs first",
                )
            })?;
            order = value
                .base10_parse()
                .map_err(|e| syn::Error::new(value.span(), format!("`order` must fit in an `i32`: {e}")))?;
        }
        Ok(Arguments { target, order })
    }
}

impl Handler {
    pub(crate) fn parse(args: TokenStream, input: TokenStream) -> syn::Result<Handler> {
        let Arguments { target, order } = syn::parse2(args)?;
        let function: ItemFn = syn::parse2(input)
            .map_err(|e| syn::Error::new(e.span(), "`#[primus::on(..)]` goes on an `async fn`"))?;
        let signature = &function.sig;
        if signature.asyncness.is_none() {
            return Err(syn::Error::new(
                signature.fn_token.span,
                "primus handlers must be `async fn`: write `async fn` here",
            ));
        }
        if !signature.generics.params.is_empty() {
            return Err(syn::Error::new_spanned(
                &signature.generics,
                "primus handlers cannot be generic: the registry needs one concrete function; remove the generic parameters and name concrete types",
            ));
        }
        if let Some(variadic) = &signature.variadic {
            return Err(syn::Error::new(
                variadic.span(),
                "primus handlers cannot be variadic",
            ));
        }
        let mut arguments = Vec::new();
        for input in &signature.inputs {
            match input {
                FnArg::Receiver(receiver) => {
                    return Err(syn::Error::new_spanned(
                        receiver,
                        "primus handlers are free functions, they cannot take `self`; move this into a function without `self` and take state with `State<T>`",
                    ))
                }
                FnArg::Typed(typed) => {
                    if let Type::ImplTrait(_) = *typed.ty {
                        return Err(syn::Error::new_spanned(
                            &typed.ty,
                            "`impl Trait` cannot be a handler argument; name the extractor type, e.g. `Spark`",
                        ));
                    }
                    arguments.push((*typed.ty).clone());
                }
            }
        }
        Ok(Handler {
            target,
            order,
            function,
            arguments,
        })
    }
}
