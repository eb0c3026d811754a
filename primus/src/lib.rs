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
//!   by the **transformer** (WebSockets).
//! * A few strings that start with `primus::` are the **protocol**
//!   ([`protocol`]): heartbeat pings and pongs, the spark-id request and the
//!   "closing on purpose" notice. Everything else is application data.
//! * The **server** ([`Server`]) owns the sparks, the heartbeat, the HTTP
//!   surface (`/spec`, `426`, CORS, authorization) and broadcast.
//!
//! ## Example
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

#![warn(missing_docs)]

mod frame;
mod message;
pub mod parser;
pub mod protocol;
pub mod transform;

#[cfg(feature = "server")]
pub mod plugins;
#[cfg(feature = "server")]
pub mod server;
#[cfg(feature = "server")]
pub mod spark;
#[cfg(feature = "server")]
mod transformer;

pub use frame::{Frame, FrameKind};
pub use message::Message;

#[cfg(feature = "server")]
pub use server::plugin::Plugin;
#[cfg(feature = "server")]
pub use server::{AuthError, AuthRequest, BuildError, Cors, Destroy, Server, ServerBuilder};
#[cfg(feature = "server")]
pub use spark::Spark;

/// A boxed error, as returned by fallible handlers.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

pub mod event;
pub mod registry;
pub mod typescript;

/// ts-rs, re-exported so payload types can derive `TS` without another
/// dependency: `#[derive(primus::ts_rs::TS)] #[ts(crate = "primus::ts_rs")]`.
pub use ts_rs;

pub use event::{Event, Payload, Request};
#[cfg(feature = "server")]
pub use server::extract::State;

/// Re-exported attribute macros.
pub use primus_macros::{event, middleware, on, plugin};

/// What generated code refers to. Not a public API: it changes without notice.
#[doc(hidden)]
pub mod __private {
    pub use crate::event::{variant_id, Event, EventInfo, NoReply, Request, Variant};
    pub use crate::registry::EventRegistration;
    pub use crate::typescript::{
        Collector as TsCollector, EventTypes, Probe as TsProbe, ProbeTyped as TsProbeTyped,
        ProbeUntyped as TsProbeUntyped,
    };
    pub use inventory;
    pub use serde;

    #[cfg(feature = "server")]
    pub use crate::registry::{HandlerKind, HandlerRegistration, PluginRegistration};
    #[cfg(feature = "server")]
    pub use crate::server::extract::{
        FromHandlerContext, HandlerContext, NoPayload, Rejection, StateMapView,
    };
    #[cfg(feature = "server")]
    pub use crate::server::middleware::{MiddlewareArgument, MiddlewareFnBox, MiddlewareRegistration, Runs};
    #[cfg(feature = "server")]
    pub use crate::server::typed::{
        connection_handler, data_handler, disconnection_handler, event_handler, ErasedHandler, HandlerReturn,
    };

    /// Checks at compile time that a handler future is `Send`.
    pub fn assert_send<T: Send>(value: T) -> T {
        value
    }
}
