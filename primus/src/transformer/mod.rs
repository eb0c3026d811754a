//! Transformers: the transports that carry Primus messages.
//!
//! A [`Transformer`] is everything that depends on how bytes travel: which
//! HTTP requests belong to it, the handshake, the socket (or the polling
//! session), framing and closing. It gets a [`Connector`] from the server,
//! opens one [`Connection`](crate::pipeline::Connection) per client with
//! it, and moves frames between the client and the connection. It never
//! sees handlers, plugins, rooms or the server itself: that is the
//! [pipeline](crate::pipeline)'s side.
//!
//! Built in: [`WebSockets`] (Primus' `websockets`, the default) and
//! [`Memory`] (connections without sockets, for tests). Pick one with
//! [`ServerBuilder::transformer`](crate::ServerBuilder::transformer); its
//! name is published in `/spec`.
//!
//! # Bringing your own
//!
//! A transformer claims requests, accepts them, and drives each connection
//! until it ends. This one carries one message per HTTP `POST`: the body
//! is the message, and the response holds what the handlers wrote back.
//!
//! ```
//! use axum::body::Body;
//! use axum::response::Response;
//! use futures_util::future::BoxFuture;
//! use primus::pipeline::{ConnectionRequest, Connector};
//! use primus::spark::Address;
//! use primus::transformer::Transformer;
//! use primus::Frame;
//! use tower::ServiceExt;
//!
//! struct OnePost;
//!
//! impl Transformer for OnePost {
//!     fn name(&self) -> &'static str {
//!         "one-post"
//!     }
//!
//!     fn claims(&self, request: &http::request::Parts) -> bool {
//!         request.method == http::Method::POST
//!     }
//!
//!     fn accept(&self, request: http::Request<Body>, address: Address, connector: &Connector) -> BoxFuture<'static, Response> {
//!         let connector = connector.clone();
//!         Box::pin(async move {
//!             let (parts, body) = request.into_parts();
//!             let Ok(body) = axum::body::to_bytes(body, connector.max_length()).await else {
//!                 return Response::builder().status(413).body(Body::empty()).unwrap();
//!             };
//!             let Ok(text) = Frame::text_from_bytes(body) else {
//!                 return Response::builder().status(400).body(Body::empty()).unwrap();
//!             };
//!             let Ok(mut connection) = connector.open(ConnectionRequest::from_parts(&parts, address)) else {
//!                 return Response::builder().status(503).body(Body::empty()).unwrap();
//!             };
//!             connection.receive(text);
//!             // Run the handlers, then take what they wrote.
//!             while connection.is_busy() {
//!                 connection.progress().await;
//!             }
//!             let mut reply = Vec::new();
//!             while let Some(item) = connection.try_outbound() {
//!                 if let Some(frame) = connection.prepare(item).await {
//!                     reply.extend_from_slice(frame.as_bytes());
//!                     reply.push(b'\n');
//!                 }
//!             }
//!             connection.finish().await;
//!             Response::new(Body::from(reply))
//!         })
//!     }
//! }
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let server = primus::Server::builder()
//!     .transformer(OnePost)
//!     .on_data(|spark, message| async move {
//!         let value: serde_json::Value = message.decode().unwrap_or_default();
//!         spark.write(&serde_json::json!({ "echo": value })).ok();
//!     })
//!     .build()?;
//! let request = http::Request::post("/primus").body(Body::from(r#""hi""#))?;
//! let response = server.router().oneshot(request).await?;
//! let body = axum::body::to_bytes(response.into_body(), 1024).await?;
//! assert_eq!(body, "{\"echo\":\"hi\"}\n");
//! # Ok(()) }
//! ```

mod body;
pub(crate) mod browserchannel;
pub(crate) mod engine_io;
pub mod memory;
mod packet_maker;
mod reply;
mod session;
mod session_pool;
pub(crate) mod sockjs;
mod websocket;

pub use self::browserchannel::BrowserChannel;
pub use self::engine_io::EngineIo;
pub use self::memory::Memory;
pub use self::sockjs::SockJs;
pub use self::websocket::{WebSockets, DEFAULT_READ_BUFFER_SIZE};

use crate::pipeline::Connector;
use crate::spark::Address;
use axum::body::Body;
use axum::response::Response;
use futures_util::future::BoxFuture;
use http::request::Parts;
use http::Request;

/// The built-in transformer Primus calls `name`: `websockets` (and `faye`
/// and `uws`, the same wire under their names), `engine.io`, `sockjs` or
/// `browserchannel`,
/// with its defaults; `None` for another name.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let transformer = primus::transformer::by_name("sockjs").ok_or("unknown transformer")?;
/// let server = primus::Server::builder().transformer(transformer).build()?;
/// assert_eq!(server.transformer_name(), "sockjs");
/// assert!(primus::transformer::by_name("carrier-pigeon").is_none());
/// # Ok(()) }
/// ```
pub fn by_name(name: &str) -> Option<Box<dyn Transformer>> {
    match name {
        "websockets" => Some(Box::new(WebSockets::default())),
        "faye" => Some(Box::new(WebSockets::faye())),
        "uws" => Some(Box::new(WebSockets::uws())),
        "engine.io" => Some(Box::new(EngineIo::default())),
        "sockjs" => Some(Box::new(SockJs::default())),
        "browserchannel" => Some(Box::new(BrowserChannel::default())),
        _ => None,
    }
}

/// A boxed transformer is a transformer (for [`by_name`]).
impl<T: Transformer + ?Sized> Transformer for Box<T> {
    fn name(&self) -> &'static str {
        (**self).name()
    }

    fn claims(&self, request: &Parts) -> bool {
        (**self).claims(request)
    }

    fn accept(
        &self,
        request: Request<Body>,
        address: Address,
        connector: &Connector,
    ) -> BoxFuture<'static, Response> {
        (**self).accept(request, address, connector)
    }

    fn start(&self, connector: &Connector) {
        (**self).start(connector)
    }

    fn resumes_sessions(&self) -> bool {
        (**self).resumes_sessions()
    }
}

/// A transport: claims HTTP requests under the pathname, accepts them, and
/// drives the connections it opens. See the [module docs](self) for a
/// complete example.
pub trait Transformer: Send + Sync + 'static {
    /// The name published in `/spec` (`"websockets"`, `"engine.io"`, …),
    /// which clients use to pick their own transport.
    fn name(&self) -> &'static str;

    /// True when this request is one of the transformer's (a WebSocket
    /// upgrade, a polling request). Such requests run the middleware layers
    /// marked for upgrades and then reach [`accept`](Self::accept); other
    /// requests under the pathname get `426 Upgrade Required`.
    fn claims(&self, request: &Parts) -> bool;

    /// Answers a claimed request: opens connections through `connector`
    /// and drives them (usually on a task of their own), and returns the
    /// HTTP response. `address` is the client's, proxy headers resolved.
    fn accept(
        &self,
        request: Request<Body>,
        address: Address,
        connector: &Connector,
    ) -> BoxFuture<'static, Response>;

    /// Called once when the server is built, with the connector of that
    /// server. A transformer that opens connections without an HTTP request
    /// ([`Memory`]) or runs background work keeps it; the default does
    /// nothing.
    fn start(&self, connector: &Connector) {
        let _ = connector;
    }

    /// True when a client may resume a lost session on this transport
    /// (connection state recovery, `ServerBuilder::recovery`): its
    /// connections are not tied to a session of the transport's own that
    /// uses the spark id, and it calls [`Connection::record`](crate::pipeline::Connection::record) for every
    /// frame it writes without [`Connection::prepare`](crate::pipeline::Connection::prepare) and
    /// [`Connection::forgo_recovery`](crate::pipeline::Connection::forgo_recovery) when the client closes on purpose.
    /// The default is false.
    ///
    /// ```
    /// use primus::transformer::{EngineIo, Transformer, WebSockets};
    ///
    /// assert!(WebSockets::default().resumes_sessions());
    /// assert!(!EngineIo::default().resumes_sessions());
    /// ```
    fn resumes_sessions(&self) -> bool {
        false
    }
}
