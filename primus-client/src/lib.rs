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
//! [`Event::Error`] without dropping the connection.
//!
//! ```no_run
//! use primus_client::{Client, Event};
//!
//! # async fn demo() -> Result<(), primus_client::ClientError> {
//! let (client, mut events) = Client::builder("http://127.0.0.1:8080").connect()?;
//! client.write("hello")?; // queued until the connection opens
//! while let Some(event) = events.next().await {
//!     match event {
//!         Event::Open => println!("open, my id is {}", client.id().await?),
//!         Event::Data(message) => println!("got {}", message.decode::<serde_json::Value>()?),
//!         Event::End => break,
//!         _ => {}
//!     }
//! }
//! # Ok(()) }
//! ```
//!
//! Not built yet: automatic reconnection (the client ends when the
//! connection is lost), `wss://` (TLS).

#![warn(missing_docs)]

mod connection;
pub mod handlers;
mod url;

use primus::parser::{Json, Parser, ParserError};
use primus::{Event as TypedEvent, Frame, Message, Request};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::HashMap;
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

/// Configures a [`Client`].
///
/// ```no_run
/// use primus_client::Client;
/// use std::time::Duration;
///
/// # fn demo() -> Result<(), primus_client::ClientError> {
/// let (client, events) = Client::builder("http://127.0.0.1:8080/?token=abc")
///     .pathname("/realtime")
///     .connect_timeout(Duration::from_secs(5))
///     .connect()?;
/// # Ok(()) }
/// ```
#[must_use = "a builder does nothing until `connect` is called"]
pub struct ClientBuilder {
    url: String,
    pathname: String,
    parser: Arc<dyn Parser>,
    connect_timeout: Duration,
    request_timeout: Duration,
    from_registry: bool,
}

impl ClientBuilder {
    /// The server's pathname (default `/primus`). The path of the URL given
    /// to [`Client::builder`] is ignored, as in Primus.
    pub fn pathname(mut self, pathname: impl Into<String>) -> ClientBuilder {
        let pathname = pathname.into();
        self.pathname = if pathname.starts_with('/') {
            pathname
        } else {
            format!("/{pathname}")
        };
        self
    }

    /// The parser; it must be the server's (default JSON).
    pub fn parser(mut self, parser: impl Parser) -> ClientBuilder {
        self.parser = Arc::new(parser);
        self
    }

    /// How long opening the connection may take (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> ClientBuilder {
        self.connect_timeout = timeout;
        self
    }

    /// How long [`Client::request`] waits for a reply (default 10 s).
    pub fn request_timeout(mut self, timeout: Duration) -> ClientBuilder {
        self.request_timeout = timeout;
        self
    }

    /// Routes typed events to the handlers registered with
    /// `#[primus_client::on]`; `connect` fails when none is registered or two
    /// handle the same event.
    pub fn handlers_from_registry(mut self) -> ClientBuilder {
        self.from_registry = true;
        self
    }

    /// Starts connecting in the background (on the current Tokio runtime)
    /// and returns the handle and the event stream at once.
    pub fn connect(self) -> Result<(Client, Events), ClientError> {
        let url = url::websocket_url(&self.url, &self.pathname)?;
        if url.scheme() == "wss" {
            return Err(ClientError::InvalidUrl {
                url: self.url,
                reason: "TLS (https/wss) is not supported by primus-client yet".to_owned(),
            });
        }
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| ClientError::NoRuntime)?;
        let handlers = match self.from_registry {
            true => handlers::collect()?,
            false => HashMap::new(),
        };
        let (commands, command_rx) = mpsc::unbounded_channel();
        let (event_tx, event_rx) = mpsc::unbounded_channel();
        let client = Client {
            commands,
            parser: self.parser.clone(),
            next_request: Arc::new(AtomicU64::new(1)),
            request_timeout: self.request_timeout,
        };
        let handler_queue = (!handlers.is_empty()).then(|| {
            let (queue, mut incoming) = mpsc::unbounded_channel::<(handlers::ClientHandler, Message)>();
            let handle = client.clone();
            runtime.spawn(async move {
                while let Some((handler, message)) = incoming.recv().await {
                    handler(handle.clone(), message).await;
                }
            });
            queue
        });
        runtime.spawn(connection::run(connection::Setup {
            url,
            parser: self.parser,
            connect_timeout: self.connect_timeout,
            commands: command_rx,
            events: event_tx,
            handlers,
            handler_queue,
        }));
        Ok((client, Events { receiver: event_rx }))
    }
}

/// A handle to a connection (cheap to clone).
#[derive(Clone)]
pub struct Client {
    commands: mpsc::UnboundedSender<connection::Command>,
    parser: Arc<dyn Parser>,
    next_request: Arc<AtomicU64>,
    request_timeout: Duration,
}

impl Client {
    /// Starts configuring a client for the server at `url`
    /// (`http://host:port`, optionally with a query string).
    pub fn builder(url: impl Into<String>) -> ClientBuilder {
        ClientBuilder {
            url: url.into(),
            pathname: "/primus".to_owned(),
            parser: Arc::new(Json),
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            request_timeout: DEFAULT_REQUEST_TIMEOUT,
            from_registry: false,
        }
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
    /// server answered with an error) or [`ClientError::Closed`] (the
    /// connection ended before the reply; requests are not resent).
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
            .send(connection::Command::Request { frame, id, reply })
            .map_err(|_| ClientError::Closed)?;
        let message = tokio::time::timeout(timeout, answer)
            .await
            .map_err(|_| ClientError::Timeout(timeout))?
            .map_err(|_| ClientError::Closed)?;
        match primus::event::decode_reply::<R>(&message)? {
            Ok(value) => Ok(value),
            Err(reason) => Err(ClientError::Rejected(reason)),
        }
    }

    /// Encodes `value` and sends it, or queues it until the connection opens.
    pub fn write<T: Serialize + ?Sized>(&self, value: &T) -> Result<(), ClientError> {
        let frame = self.parser.encode_value(value)?;
        self.write_frame(frame)
    }

    /// Sends an encoded frame (or queues it until the connection opens).
    pub fn write_frame(&self, frame: Frame) -> Result<(), ClientError> {
        self.commands
            .send(connection::Command::Write(frame))
            .map_err(|_| ClientError::Closed)
    }

    /// Asks the server for this connection's spark id (`primus::id::`).
    pub async fn id(&self) -> Result<String, ClientError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(connection::Command::Id(reply))
            .map_err(|_| ClientError::Closed)?;
        answer.await.map_err(|_| ClientError::Closed)
    }

    /// Closes the connection (no reconnection follows). Queued writes are
    /// sent first.
    pub fn end(&self) {
        let _ = self.commands.send(connection::Command::End);
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

/// Something that happened on the connection.
#[derive(Debug)]
#[non_exhaustive]
pub enum Event {
    /// The connection is open; queued writes were just sent.
    Open,
    /// A message from the server.
    Data(Message),
    /// The server's heartbeat (`primus::ping::<value>`), already answered.
    Ping(String),
    /// Something went wrong; see the error. A decode error leaves the
    /// connection open.
    Error(ClientError),
    /// The connection closed.
    Close,
    /// The client is done: no more events follow.
    End,
}

/// The stream of [`Event`]s of one client.
pub struct Events {
    receiver: mpsc::UnboundedReceiver<Event>,
}

impl Events {
    /// The next event, or `None` after [`Event::End`].
    pub async fn next(&mut self) -> Option<Event> {
        self.receiver.recv().await
    }

    /// Waits for the next message that decodes as the typed event `E`,
    /// skipping other events and messages; `None` once the client has ended.
    ///
    /// ```ignore
    /// while let Some(event) = events.next_as::<ServerEvent>().await {
    ///     match event { ServerEvent::Said { who, text } => println!("{who}: {text}"), _ => {} }
    /// }
    /// ```
    pub async fn next_as<E: TypedEvent>(&mut self) -> Option<E> {
        while let Some(message) = self.next_message().await {
            if let Ok(event) = message.decode::<E>() {
                return Some(event);
            }
        }
        None
    }

    /// Waits for the next data message, skipping other events; `None` once
    /// the client has ended.
    pub async fn next_message(&mut self) -> Option<Message> {
        while let Some(event) = self.next().await {
            if let Event::Data(message) = event {
                return Some(message);
            }
        }
        None
    }
}

impl futures_util::Stream for Events {
    type Item = Event;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Event>> {
        self.receiver.poll_recv(cx)
    }
}

/// Errors of the client.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The URL cannot be used.
    #[error("invalid URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL given.
        url: String,
        /// Why it cannot be used.
        reason: String,
    },
    /// The connection could not be opened.
    #[error("could not connect: {0}")]
    Connect(String),
    /// The connection did not open, or a reply did not come, in time.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// A message could not be encoded or decoded.
    #[error(transparent)]
    Parser(#[from] ParserError),
    /// The transport failed.
    #[error("transport error: {0}")]
    Transport(String),
    /// The client has ended (or ended before a reply arrived).
    #[error("the client has ended")]
    Closed,
    /// The server answered a request with an error.
    #[error("the server refused the request: {0}")]
    Rejected(String),
    /// The handler registry cannot be used.
    #[error(transparent)]
    Registry(#[from] ClientRegistryError),
    /// `connect` was called outside a Tokio runtime.
    #[error("`ClientBuilder::connect` must be called inside a Tokio runtime")]
    NoRuntime,
}
