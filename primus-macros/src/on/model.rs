//! The parsed form of a handler, for both sides.
//!
//! [`Handler::parse`] reads the macro's arguments and the function and
//! records every misuse in the [`Ctxt`]; the model is only handed to the
//! generator when there is none.

use crate::attr::{did_you_mean, skip_to_comma, take_crate_option, ItemKind};
use crate::ctxt::Ctxt;
use crate::glue::{Glue, Runtime};
use proc_macro2::{Span, TokenStream};
use syn::parse::{ParseStream, Parser};
use syn::spanned::Spanned;
use syn::{FnArg, Ident, ItemFn, LitInt, LitStr, Path, Token, Type};

/// Which runtime a handler belongs to.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    /// `#[primus::on(..)]`: connection, disconnection, raw data and typed
    /// events, with an order.
    Server,
    /// `#[primus_client::on(..)]`: typed events only.
    Client,
}

impl Side {
    /// The attribute as users write it, for messages.
    pub(crate) fn attribute(self) -> &'static str {
        match self {
            Side::Server => "#[primus::on(..)]",
            Side::Client => "#[primus_client::on(..)]",
        }
    }

    fn runtime(self) -> Runtime {
        match self {
            Side::Server => Runtime::Primus,
            Side::Client => Runtime::Client,
        }
    }

    /// The options accepted after the event.
    fn options(self) -> &'static [&'static str] {
        match self {
            Side::Server => &["order"],
            Side::Client => &[],
        }
    }
}

pub(crate) struct Handler {
    pub(crate) side: Side,
    /// Where generated code finds the runtime.
    pub(crate) glue: Glue,
    pub(crate) target: Target,
    pub(crate) order: i32,
    /// The function as written, minus `#[primus(..)]`.
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

impl Target {
    /// The name of a string event (`None` for a typed event).
    pub(crate) fn lifecycle_name(&self) -> Option<&'static str> {
        match self {
            Target::Connection => Some("connection"),
            Target::Disconnection => Some("disconnection"),
            Target::Data => Some("data"),
            Target::Event { .. } => None,
        }
    }
}

const LIFECYCLE: [&str; 3] = ["connection", "disconnection", "data"];

impl Handler {
    /// Reads the arguments and the function. `None` when something could not
    /// be read; every problem is recorded in `cx`.
    pub(crate) fn parse(cx: &mut Ctxt, side: Side, args: TokenStream, input: TokenStream) -> Option<Handler> {
        let (target, order) = parse_arguments(cx, side, args);
        let mut function: ItemFn = match syn::parse2(input) {
            Ok(function) => function,
            Err(error) => {
                cx.error(
                    error.span(),
                    format!("`{}` goes on an `async fn`", side.attribute()),
                );
                return None;
            }
        };
        let krate = take_crate_option(cx, &mut function.attrs, ItemKind::Function);
        let arguments = check_signature(cx, &function);
        if let Some(target) = &target {
            check_lifecycle_payload(cx, target, &arguments);
        }
        Some(Handler {
            side,
            glue: Glue::resolve(side.runtime(), krate),
            target: target?,
            order,
            function,
            arguments,
        })
    }
}

/// `("connection" | Enum::Variant) (, key = value)*`.
fn parse_arguments(cx: &mut Ctxt, side: Side, args: TokenStream) -> (Option<Target>, i32) {
    let mut target = None;
    let mut order = 0;
    let parser = |input: ParseStream<'_>| {
        if input.is_empty() {
            // Nothing to point at but the attribute itself.
            let message = match side {
                Side::Server => "`#[primus::on(..)]` needs an event: write `#[primus::on(\"connection\")]` (or \"disconnection\", \"data\"), or a variant path such as `#[primus::on(ClientEvent::Say)]`",
                Side::Client => "`#[primus_client::on(..)]` needs a typed event, e.g. `#[primus_client::on(ServerEvent::Said)]`",
            };
            cx.error(Span::call_site(), message);
            return Ok(());
        }
        target = parse_target(cx, side, input)?;
        while !input.is_empty() {
            input.parse::<Token![,]>()?;
            if input.is_empty() {
                break;
            }
            parse_option(cx, side, input, &mut order)?;
        }
        Ok(())
    };
    if let Err(error) = parser.parse2(args) {
        cx.push(error);
    }
    (target, order)
}

/// The event: a string (server only) or `Enum::Variant`. `Ok(None)` when a
/// mistake was recorded; `Err` when the tokens cannot be read at all.
fn parse_target(cx: &mut Ctxt, side: Side, input: ParseStream<'_>) -> syn::Result<Option<Target>> {
    if input.peek(LitStr) {
        let name: LitStr = input.parse()?;
        if side == Side::Client {
            cx.error(
                name.span(),
                "client handlers take typed events such as `ServerEvent::Said`; read open, close and raw data from the `Events` stream",
            );
            return Ok(None);
        }
        return Ok(match name.value().as_str() {
            "connection" => Some(Target::Connection),
            "disconnection" => Some(Target::Disconnection),
            "data" => Some(Target::Data),
            other => {
                let hint = LIFECYCLE
                    .iter()
                    .filter(|known| crate::case::distance(other, known) <= 3)
                    .min_by_key(|known| crate::case::distance(other, known))
                    .map(|known| format!("did you mean \"{known}\"? "))
                    .unwrap_or_default();
                cx.error(
                    name.span(),
                    format!(
                        "unknown event \"{other}\"; {hint}string events are \"connection\", \"disconnection\" and \"data\"; typed events are written as a path, e.g. `ClientEvent::Say`"
                    ),
                );
                None
            }
        });
    }
    let path: Path = input.parse()?;
    let span = path.span();
    if path.segments.len() < 2 {
        let message = match side {
            Side::Server => "name the event as `Enum::Variant`, e.g. `ClientEvent::Say`, or use \"connection\", \"disconnection\" or \"data\"",
            Side::Client => "name the event as `Enum::Variant`, e.g. `ServerEvent::Said`",
        };
        cx.error_spanned_by(&path, message);
        return Ok(None);
    }
    let mut segments = path.segments.clone();
    let Some(last) = segments.pop().map(|pair| pair.into_value()) else {
        return Ok(None);
    };
    if !last.arguments.is_empty() {
        cx.error_spanned_by(
            &last.arguments,
            "a variant takes no generic arguments; put them on the enum, e.g. `Wrapper::<u32>::Item`",
        );
        return Ok(None);
    }
    // `pop` leaves a trailing `::`; rebuild without it.
    let enum_path = Path {
        leading_colon: path.leading_colon,
        segments: segments.into_pairs().map(|pair| pair.into_value()).collect(),
    };
    Ok(Some(Target::Event {
        enum_path,
        variant: last.ident,
        span,
    }))
}

/// One `key = value` after the event.
fn parse_option(cx: &mut Ctxt, side: Side, input: ParseStream<'_>, order: &mut i32) -> syn::Result<()> {
    let accepted = match side {
        Side::Server => "accepts `order = <integer>` after the event",
        Side::Client => {
            "takes only the event: a client event has exactly one handler, so there is no `order`"
        }
    };
    let key: Ident = match input.parse() {
        Ok(key) => key,
        Err(error) => {
            cx.error(
                error.span(),
                format!("expected an option; `{}` {accepted}", side.attribute()),
            );
            return skip_to_comma(input);
        }
    };
    if !side.options().iter().any(|known| key == known) {
        let hint = did_you_mean(&key.to_string(), side.options());
        let message = if side == Side::Client && key == "order" {
            format!("`{}` {accepted}", side.attribute())
        } else {
            format!("unknown option `{key}`; {hint}`{}` {accepted}", side.attribute())
        };
        cx.error(key.span(), message);
        if input.peek(Token![=]) {
            input.parse::<Token![=]>()?;
        }
        return skip_to_comma(input);
    }
    if let Err(error) = input.parse::<Token![=]>() {
        cx.error(
            error.span(),
            "write `order = <integer>`, e.g. `order = 10`; lower runs first",
        );
        return skip_to_comma(input);
    }
    match input.parse::<LitInt>() {
        Ok(value) => match value.base10_parse() {
            Ok(value) => *order = value,
            Err(error) => cx.error(value.span(), format!("`order` must fit in an `i32`: {error}")),
        },
        Err(error) => {
            cx.error(
                error.span(),
                "`order` takes an integer, e.g. `order = 10`; lower runs first",
            );
            return skip_to_comma(input);
        }
    }
    Ok(())
}

/// Checks that the function can be a handler and returns its argument types.
fn check_signature(cx: &mut Ctxt, function: &ItemFn) -> Vec<Type> {
    let signature = &function.sig;
    if signature.asyncness.is_none() {
        cx.error(
            signature.fn_token.span,
            "primus handlers must be `async fn`: write `async fn` here",
        );
    }
    if !signature.generics.params.is_empty() {
        cx.error_spanned_by(
            &signature.generics,
            "primus handlers cannot be generic: the registry needs one concrete function; remove the generic parameters and name concrete types",
        );
    }
    if let Some(variadic) = &signature.variadic {
        cx.error(variadic.span(), "primus handlers cannot be variadic");
    }
    let mut arguments = Vec::new();
    for input in &signature.inputs {
        match input {
            FnArg::Receiver(receiver) => cx.error_spanned_by(
                receiver,
                "primus handlers are free functions, they cannot take `self`; move this into a function without `self` and take state with `State<T>`",
            ),
            FnArg::Typed(typed) => {
                if let Type::ImplTrait(_) = *typed.ty {
                    cx.error_spanned_by(
                        &typed.ty,
                        "`impl Trait` cannot be a handler argument; name the extractor type, e.g. `Spark`",
                    );
                }
                arguments.push((*typed.ty).clone());
            }
        }
    }
    arguments
}

/// `connection`, `disconnection` and `data` handlers have no payload: a
/// `Payload<T>` argument there is a mistake worth its own message.
fn check_lifecycle_payload(cx: &mut Ctxt, target: &Target, arguments: &[Type]) {
    let Some(event) = target.lifecycle_name() else {
        return;
    };
    let Some(ty) = arguments.iter().find(|ty| is_payload(ty)) else {
        return;
    };
    let hint = if event == "data" {
        "take the raw message as `Message` and decode it, e.g. `message.decode::<T>()`, or handle a typed event with `#[primus::on(Enum::Variant)]`"
    } else {
        "remove this argument; typed event handlers, `#[primus::on(Enum::Variant)]`, take their payload as `Payload<T>`"
    };
    cx.error_spanned_by(
        ty,
        format!("a \"{event}\" handler has no payload, so it cannot take `Payload<..>`: {hint}"),
    );
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
