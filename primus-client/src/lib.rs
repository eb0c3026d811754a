//! # primus-client
//!
//! A Rust client for Primus 8 servers: primus-rs servers and Node.js
//! `primus@8` servers with the `websockets` transformer alike.
//!
//! [`Client::builder`] starts connecting in the background and returns at
//! once with a [`Client`] handle (to write, ask for the id, end) and an
//! [`Events`] stream (open, data, errors, close, end). Writes made before the
//! connection opens are queued and sent in order once it does, as Primus'
//! client does. The client answers the server's heartbeat pings, honours
//! `primus::server::close`, and reports a message it cannot decode as an
//! [`ConnectionEvent::Error`] without dropping the connection.
//!
//! ```no_run
//! use primus_client::{Client, ConnectionEvent};
//!
//! # async fn demo() -> Result<(), primus_client::ClientError> {
//! let (client, mut events) = Client::builder("http://127.0.0.1:8080").connect()?;
//! client.write("hello")?; // queued until the connection opens
//! while let Some(event) = events.next().await {
//!     match event {
//!         ConnectionEvent::Open => println!("open, my id is {}", client.id().await?),
//!         ConnectionEvent::Data(message) => println!("got {}", message.decode::<serde_json::Value>()?),
//!         ConnectionEvent::End => break,
//!         _ => {}
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! A lost connection is re-established with randomized exponential backoff
//! (see [`Reconnect`] and [`Strategy`]); writes made meanwhile are queued
//! and sent in order once it is back.
//!
//! `https://` and `wss://` servers are reached over TLS (feature `tls`, on
//! by default): see [`ClientTls`] for private certificate authorities and
//! client certificates, [`ClientBuilder::header`] for a bearer token that
//! stays out of the URL, and [`ClientBuilder::manual`] to connect later
//! with [`Client::open`].

#![warn(missing_docs)]
#![forbid(unsafe_code)]

mod builder;
mod command;
mod connection;
mod context;
mod error;
mod events;
pub mod handlers;
mod plugin;
mod recovery;
mod session;
mod spec;
mod stream;
#[cfg(feature = "tls")]
mod tls;
mod url;
mod wire;

pub use builder::ClientBuilder;
pub use error::ClientError;
pub use events::{ConnectionEvent, Events};
pub use plugin::{ClientPlugin, ClientPluginSetup};
pub use recovery::{Reconnect, ReconnectState, Strategy};
pub use wire::Transport;

/// The rustls crate this client is built with, for
/// [`ClientTls::from_rustls_config`].
#[cfg(feature = "tls")]
pub use rustls;
#[cfg(feature = "tls")]
pub use tls::ClientTls;

use primus::parser::{Parser, ParserError};
use primus::{Event as TypedEvent, Frame, Request};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

pub use handlers::ClientRegistryError;
pub use primus;
pub use primus::Payload;
/// Registers an async function as a handler of a typed event from the
/// server (see [`handlers`]).
///
/// ```ignore
/// #[primus_client::on(ServerEvent::Said)]
/// async fn said(Payload(ServerEventSaid { who, text }): Payload<ServerEventSaid>) {
///     println!("{who}: {text}");
/// }
/// ```
pub use primus_macros::client_on as on;

/// The default bound of the queue of writes made while no connection is
/// open. Primus' default is unbounded; a bound keeps memory in check during
/// a long outage (the oldest queued write is dropped first).
pub const DEFAULT_QUEUE_SIZE: usize = 10_000;

/// The default time a [`Client::request`] waits for its reply.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// What generated code refers to. Not a public API.
#[doc(hidden)]
pub mod __private {
    pub use crate::handlers::{event_handler, ClientContext, ClientHandlerRegistration, FromClientContext};
    pub use inventory;
    pub use primus::__private::{variant_id, Event, Variant};
}

/// The default time allowed to open the connection (Primus' `timeout`).
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A handle to a connection (cheap to clone).
#[derive(Clone)]
pub struct Client {
    pub(crate) commands: mpsc::UnboundedSender<command::Command>,
    pub(crate) parser: Arc<dyn Parser>,
    pub(crate) next_request: Arc<AtomicU64>,
    pub(crate) request_timeout: Duration,
    /// Outgoing transforms exist: values travel as JSON values to the task.
    pub(crate) transform_outgoing: bool,
}

impl Client {
    /// Starts configuring a client for the server at `url`
    /// (`http://host:port`, optionally with a query string).
    pub fn builder(url: impl Into<String>) -> ClientBuilder {
        ClientBuilder::new(url.into())
    }

    /// Starts connecting a client built in [`manual`](ClientBuilder::manual)
    /// mode; does nothing otherwise, once started, or after
    /// [`end`](Self::end) (an ended client does not open again: build a
    /// new one).
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), primus_client::ClientError> {
    /// let (client, events) = primus_client::Client::builder("http://127.0.0.1:8080").manual().connect()?;
    /// client.open();
    /// # Ok(()) }
    /// ```
    pub fn open(&self) {
        let _ = self.commands.send(command::Command::Open);
    }

    /// Sends a typed event (`{"event":…,"data":…}`), or queues it until the
    /// connection opens.
    ///
    /// ```ignore
    /// client.send(&ClientEvent::Say("hello".into()))?;
    /// ```
    pub fn send<E: TypedEvent>(&self, event: &E) -> Result<(), ClientError> {
        self.write(event)
    }

    /// Sends a request and waits for its reply, at most the request timeout
    /// (default 10 s). The request constructors are generated by
    /// `#[primus::event]` for variants with `#[primus(reply = T)]`.
    ///
    /// Fails with [`ClientError::Timeout`], [`ClientError::Rejected`] (the
    /// server answered with an error), [`ClientError::ConnectionLost`] (the
    /// connection dropped after the request was sent: it may or may not have
    /// been handled, so it is not resent) or [`ClientError::Closed`] (the
    /// client ended). A request made while reconnecting waits in the queue
    /// and is sent once the connection is back.
    ///
    /// ```ignore
    /// let rooms: Vec<String> = client.request(ClientEvent::list_rooms()).await?;
    /// ```
    pub async fn request<E: TypedEvent, R: DeserializeOwned>(
        &self,
        request: Request<E, R>,
    ) -> Result<R, ClientError> {
        self.request_within(request, self.request_timeout).await
    }

    /// [`request`](Self::request) with its own timeout.
    pub async fn request_within<E: TypedEvent, R: DeserializeOwned>(
        &self,
        request: Request<E, R>,
        timeout: Duration,
    ) -> Result<R, ClientError> {
        let id = self.next_request.fetch_add(1, Ordering::Relaxed);
        let frame = primus::event::encode_request(self.parser.as_ref(), request.event(), id)?;
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(command::Command::Request { frame, id, reply })
            .map_err(|_| ClientError::Closed)?;
        let message = tokio::time::timeout(timeout, answer)
            .await
            .map_err(|_| ClientError::Timeout(timeout))?
            .map_err(|_| ClientError::Closed)??;
        match primus::event::decode_reply::<R>(&message)? {
            Ok(value) => Ok(value),
            Err(reason) => Err(ClientError::Rejected(reason)),
        }
    }

    /// Encodes `value` and sends it, or queues it until the connection opens.
    pub fn write<T: Serialize + ?Sized>(&self, value: &T) -> Result<(), ClientError> {
        // Transforms work on JSON values: a bincode value is sent as it is.
        if self.transform_outgoing && self.parser.self_describing() {
            let data = serde_json::to_value(value).map_err(ParserError::encode)?;
            return self
                .commands
                .send(command::Command::Packet(primus::transform::Packet { data }))
                .map_err(|_| ClientError::Closed);
        }
        let frame = self.parser.encode_value(value)?;
        self.write_frame(frame)
    }

    /// Sends an encoded frame (or queues it until the connection opens).
    pub fn write_frame(&self, frame: Frame) -> Result<(), ClientError> {
        self.commands
            .send(command::Command::Write(frame))
            .map_err(|_| ClientError::Closed)
    }

    /// Asks the server for this connection's spark id (`primus::id::`).
    pub async fn id(&self) -> Result<String, ClientError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(command::Command::Id(reply))
            .map_err(|_| ClientError::Closed)?;
        answer.await.map_err(|_| ClientError::Closed)
    }

    /// Closes the connection; no reconnection follows.
    ///
    /// While connected, what was written before `end` is sent first, then
    /// the socket is closed. While not connected (connecting or waiting to
    /// reconnect), the client ends at once, as Primus' `end()` does: the
    /// writes queued meanwhile are dropped (a warning says how many), and
    /// requests still waiting fail with [`ClientError::Closed`].
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), primus_client::ClientError> {
    /// let (client, _events) = primus_client::Client::builder("http://127.0.0.1:8080").connect()?;
    /// client.write(&"bye")?;
    /// client.end();
    /// # Ok(()) }
    /// ```
    pub fn end(&self) {
        let _ = self.commands.send(command::Command::End);
    }

    /// The parser in use.
    pub fn parser(&self) -> &Arc<dyn Parser> {
        &self.parser
    }

    /// True until the connection task has stopped.
    pub fn is_running(&self) -> bool {
        !self.commands.is_closed()
    }
}
