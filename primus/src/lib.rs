//! # primus
//!
//! A real-time server that speaks the [Primus 8](https://github.com/primus/primus)
//! wire protocol, so the real Primus JavaScript client (and any other
//! Primus 8 peer) talks to it unchanged.
//!
//! ## Concepts
//!
//! * A **spark** ([`Spark`]) is one client connection on the server.
//! * A **message** is one value, encoded by the server's **parser**
//!   ([`parser::Json`] by default) into one **frame** ([`Frame`]), carried
//!   by the **transformer** ([`transformer::WebSockets`] by default).
//! * A few strings that start with `primus::` are the **protocol**
//!   ([`protocol`]): heartbeat pings and pongs, the spark-id request and the
//!   "closing on purpose" notice. Everything else is application data.
//! * The **server** ([`Server`]) owns the heartbeat and the HTTP surface
//!   (`/spec`, `426`, CORS, authorization, [`middleware`](mod@middleware)); who is
//!   connected and broadcast go through its [`cluster::Broadcast`].
//!
//! ## Layers
//!
//! The modules are layers; each imports only the layers above it in this
//! list (`ARCHITECTURE.md` at the repository root walks through them, and a
//! test checks the imports):
//!
//! 1. `lock`: the one policy for poisoned locks;
//! 2. `wire`: frames and the `primus::` control messages ([`Frame`], [`protocol`]);
//! 3. [`parser`]: values to frames and back;
//! 4. `message`: [`Message`], typed [`event`](mod@event)s, [`transform`]s, the TypeScript mapping;
//! 5. [`spark`]: the handle to one connection;
//! 6. [`cluster`]: the broadcast seam (sparks, rooms, delivery);
//! 7. [`pipeline`]: the transport-neutral life of a connection (handlers, plugins, transforms, queue);
//! 8. [`middleware`](mod@middleware): the HTTP requests under the pathname, and the layers they run through;
//! 9. [`transformer`]: the transport seam (WebSockets, in-memory);
//! 10. [`registry`]: what the macros registered, and the TypeScript typings made from it;
//! 11. [`server`]: the builder, the HTTP surface, the heartbeat;
//! 12. [`plugins`]: first-party plugins, on top of the server;
//! 13. `fuzzing` (feature `fuzzing`, hidden): the decoders' entry points for
//!     the fuzz targets in `fuzz/`.
//!
//! ## Example
//!
//! Typed events: an enum for what clients send, one handler per event, and
//! a server made of every handler the program registered.
//!
//! ```no_run
//! use primus::{Payload, PublicError, Server};
//!
//! /// What clients send: `{"event":"hello","data":{"name":"ada"},"request":1}`.
//! #[primus::event]
//! pub enum ClientEvent {
//!     #[primus(reply = String)] // a request: the handler's return value is the reply
//!     Hello { name: String },
//! }
//!
//! #[primus::on(ClientEvent::Hello)]
//! async fn hello(
//!     Payload(ClientEventHello { name }): Payload<ClientEventHello>,
//! ) -> Result<String, PublicError> {
//!     if name.is_empty() {
//!         return Err(PublicError::new("say who you are")); // the client reads this text
//!     }
//!     Ok(format!("hello, {name}")) // {"reply":1,"data":"hello, ada"}
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let server = Server::builder().handlers_from_registry().build()?;
//!     server.listen("127.0.0.1:8080").await?;
//!     Ok(())
//! }
//! ```
//!
//! Untyped, a `data` handler gets every message as it came:
//!
//! ```no_run
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let server = primus::Server::builder()
//!         .on_data(|spark, message| async move {
//!             // Echo every JSON value back to its sender.
//!             if let Ok(value) = message.decode::<serde_json::Value>() {
//!                 let _ = spark.write(&value);
//!             }
//!         })
//!         .build()?;
//!     server.listen("127.0.0.1:8080").await?;
//!     Ok(())
//! }
//! ```
//!
//! ## Features
//!
//! * `server` (default): the server, on tokio, axum and tokio-tungstenite.
//!   Without it the crate only has frames, parsers and the protocol, which is
//!   all a crate of shared message types (or the client) needs.
//! * `redis` (off): many nodes over Redis, `cluster::redis`.
//! * `tls` (off): HTTPS and WSS served by the server itself
//!   (`Server::listen_tls`, `server::ServerTls`; rustls with ring).
//! * `fuzzing` (off): exposes the crate-private decoders to the fuzz targets
//!   in `fuzz/`. Not a public API.

#![warn(missing_docs)]
#![forbid(unsafe_code)]

#[cfg(feature = "server")]
mod lock;
mod message;
pub mod parser;
#[cfg(feature = "server")]
pub mod telemetry;
mod wire;

#[cfg(feature = "server")]
pub mod cluster;
#[cfg(feature = "server")]
pub mod middleware;
#[cfg(feature = "server")]
pub mod pipeline;
#[cfg(feature = "server")]
pub mod plugins;
pub mod registry;
#[cfg(feature = "server")]
pub mod server;
#[cfg(feature = "server")]
pub mod spark;
#[cfg(feature = "server")]
pub mod transformer;

#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;

pub use message::{event, transform, Message};
#[cfg(feature = "deflate")]
pub use wire::deflate;
pub use wire::{protocol, Frame, FrameKind};

#[cfg(feature = "server")]
pub use pipeline::extract::{Extension, State};
#[cfg(feature = "server")]
pub use pipeline::plugin::{Plugin, PluginError, PluginSetup};
#[cfg(feature = "server")]
pub use pipeline::public_error::PublicError;
#[cfg(feature = "server")]
pub use registry::typescript;
#[cfg(feature = "server")]
pub use server::{AuthError, BuildError, Cors, Destroy, Server, ServerBuilder};
#[cfg(feature = "server")]
pub use spark::{BoxError, Spark};

/// ts-rs, re-exported so payload types can derive `TS` without another
/// dependency: `#[derive(primus::ts_rs::TS)] #[ts(crate = "primus::ts_rs")]`.
pub use ts_rs;

pub use event::{Event, Payload, Request};

/// Re-exported attribute macros.
pub use primus_macros::{event, middleware, on, plugin};

/// What generated code refers to. Not a public API: it changes without notice.
#[doc(hidden)]
pub mod __private {
    pub use crate::message::event::{variant_id, Event, EventInfo, NoReply, Request, Variant};
    pub use crate::message::positional;
    pub use crate::message::ts_mapping::{
        Collector as TsCollector, EventTypes, Probe as TsProbe, ProbeTyped as TsProbeTyped,
        ProbeUntyped as TsProbeUntyped,
    };
    pub use crate::registry::EventRegistration;
    pub use inventory;
    pub use serde;

    #[cfg(feature = "server")]
    pub use crate::middleware::{HttpRequest, MiddlewareArgument, MiddlewareFnBox, Runs};
    #[cfg(feature = "server")]
    pub use crate::pipeline::extract::{
        FromHandlerContext, HandlerContext, NoPayload, Rejection, StateMapView,
    };
    #[cfg(feature = "server")]
    pub use crate::pipeline::plugin::Plugin;
    #[cfg(feature = "server")]
    pub use crate::pipeline::typed::{
        connection_handler, data_handler, disconnection_handler, event_handler, ErasedHandler, HandlerReturn,
    };
    #[cfg(feature = "server")]
    pub use crate::registry::{HandlerKind, HandlerRegistration, MiddlewareRegistration, PluginRegistration};
}
