//! The attribute macros of [primus](https://docs.rs/primus). Use them through
//! the `primus` crate: `#[primus::event]`, `#[primus::on(..)]`.
//!
//! Each macro first reads its input into a small model (`model.rs`),
//! recording every misuse in an error context (`ctxt.rs`) with a span on the
//! offending token and a hint on how to fix it, so that all the mistakes of
//! an item are reported together; only a clean model is handed to the
//! generator (`expand.rs`).
//!
//! Generated code reaches the runtime only through its hidden glue module,
//! `<crate>::__private` (serde and inventory included), where `<crate>` is
//! what the user's `Cargo.toml` calls primus (or `primus-client`), or the
//! path given with `#[primus(crate = "...")]` under the macro's attribute
//! (under it: an attribute above the macro's is read by the compiler first,
//! as a macro of its own). See `glue.rs`:
//!
//! ```ignore
//! // Cargo.toml: realtime = { package = "primus", version = "0.1" }
//! #[realtime::event]                      // found as `::realtime`
//! pub enum ClientEvent { Say(String) }
//!
//! #[realtime::on(ClientEvent::Say)]
//! #[primus(crate = "realtime")]           // or given explicitly
//! async fn say(realtime::Payload(text): realtime::Payload<String>) {}
//! ```

#![forbid(unsafe_code)]

mod attr;
mod case;
mod ctxt;
mod event;
mod glue;
mod middleware;
mod on;
mod plugin;
#[cfg(test)]
mod tests;

use on::Side;

use proc_macro::TokenStream;

/// Declares an enum of typed events.
///
/// Derives `Serialize`/`Deserialize` with the Primus wire shape
/// (`{"event":"say","data":…}`, names in `snake_case`), implements
/// `primus::Event`, and registers the enum.
///
/// ```ignore
/// #[primus::event]
/// #[derive(Debug, Clone)]
/// pub enum ClientEvent {
///     Say(String),                       // {"event":"say","data":"hi"}
///     Move(i32, i32),                    // {"event":"move","data":[1,2]}
///     Join { room: String },             // {"event":"join","data":{"room":"a"}}
///     Leave,                             // {"event":"leave"}
///     #[primus(rename = "whisper")]
///     PrivateMessage { to: String, text: String },
///     #[primus(reply = Vec<String>)]     // a request: the handler's return value is the reply
///     ListRooms,
/// }
/// ```
///
/// Variant attributes: `#[primus(rename = "name")]` sets the wire name;
/// `#[primus(reply = Type)]` makes the variant a request and generates a
/// constructor `ClientEvent::list_rooms(..) -> primus::Request<ClientEvent, Vec<String>>`
/// taking the variant's fields in order.
///
/// A struct variant's payload is also available as a generated struct named
/// `<Enum><Variant>` (here `ClientEventJoin { room }`), for handlers.
///
/// Enum attribute, under `#[primus::event]`: `#[primus(crate = "path")]`, the
/// path of primus when the macros cannot find it in `Cargo.toml`.
#[proc_macro_attribute]
pub fn event(args: TokenStream, input: TokenStream) -> TokenStream {
    event::expand(args.into(), input.into()).into()
}

/// Registers an async function as a handler.
///
/// ```ignore
/// #[primus::on("connection")]
/// async fn hello(spark: Spark) { spark.write("welcome").ok(); }
///
/// #[primus::on("disconnection")]
/// async fn bye(spark: Spark) {}
///
/// #[primus::on("data")]                       // raw, untyped messages
/// async fn raw(spark: Spark, message: Message) {}
///
/// #[primus::on(ClientEvent::Say, order = 1)]  // one typed event
/// async fn say(server: Server, Payload(text): Payload<String>) {}
///
/// #[primus::on(ClientEvent::ListRooms)]       // a request: return the reply
/// async fn rooms(State(rooms): State<Rooms>) -> Vec<String> { rooms.list() }
/// ```
///
/// Arguments are extractors (`Spark`, `Server`, `State<T>`, `Message`,
/// `Payload<T>`). Each typed event has exactly one handler; `connection`,
/// `disconnection` and `data` may have many, run in the registry's order
/// (`order`, then module path, then function name). `#[primus(crate = "path")]`
/// under the attribute sets the path of primus.
#[proc_macro_attribute]
pub fn on(args: TokenStream, input: TokenStream) -> TokenStream {
    on::expand(Side::Server, args.into(), input.into()).into()
}

/// Registers an async function as a client-side handler of a typed event;
/// re-exported as `primus_client::on`. The same model and generator as
/// [`macro@on`], for the client: typed events only, no `order` (each event has
/// one client handler), arguments are `Client` and `Payload<T>`.
///
/// ```ignore
/// #[primus_client::on(ServerEvent::Said)]
/// async fn said(client: Client, Payload(said): Payload<ServerEventSaid>) {}
/// ```
#[proc_macro_attribute]
pub fn client_on(args: TokenStream, input: TokenStream) -> TokenStream {
    on::expand(Side::Client, args.into(), input.into()).into()
}

/// Registers a plugin: put it on the `impl primus::Plugin for YourType`
/// block; `YourType` must implement `Default`. Servers built with
/// `handlers_from_registry` add every registered plugin (sorted by name).
///
/// ```ignore
/// #[derive(Default)]
/// struct Audit;
///
/// #[primus::plugin]
/// impl primus::Plugin for Audit {
///     fn name(&self) -> &'static str { "audit" }
///     fn server(&self, setup: &mut primus::PluginSetup<'_>) { /* transforms, handlers */ }
/// }
/// ```
#[proc_macro_attribute]
pub fn plugin(args: TokenStream, input: TokenStream) -> TokenStream {
    plugin::expand(args.into(), input.into()).into()
}

/// Registers an async function as a named middleware layer (see
/// `primus::middleware`). Options: `name = "..."` (default: the
/// function name), `http = bool`, `upgrade = bool` (default both),
/// `order = N`. Servers built with `handlers_from_registry` append every
/// registered middleware after the built-ins, by `order` then name.
///
/// ```ignore
/// #[primus::middleware(name = "rate-limit", upgrade = true, http = false)]
/// async fn rate_limit(request: Request) -> Outcome { Outcome::Continue }
/// ```
#[proc_macro_attribute]
pub fn middleware(args: TokenStream, input: TokenStream) -> TokenStream {
    middleware::expand(args.into(), input.into()).into()
}
