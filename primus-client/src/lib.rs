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

mod command;
mod connection;
mod context;
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

pub use plugin::{ClientPlugin, ClientPluginSetup};
pub use recovery::{Reconnect, ReconnectState, Strategy};
pub use wire::Transport;

/// The rustls crate this client is built with, for
/// [`ClientTls::from_rustls_config`].
#[cfg(feature = "tls")]
pub use rustls;
#[cfg(feature = "tls")]
pub use tls::ClientTls;

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
    reconnect: Reconnect,
    strategy: Strategy,
    ping_timeout: connection::PingTimeoutSetting,
    queue_size: usize,
    plugins: Vec<Box<dyn ClientPlugin>>,
    transforms: primus::transform::Transforms<()>,
    transport: Transport,
    #[cfg(feature = "tls")]
    tls: Option<ClientTls>,
    headers: Vec<(String, String)>,
    manual: bool,
    resume_sessions: bool,
}

impl ClientBuilder {
    /// The server's transformer (default [`Transport::WebSockets`]), as
    /// Primus' `transformer` option: with `engine.io` or `sockjs` the
    /// client speaks their WebSocket transport.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), primus_client::ClientError> {
    /// use primus_client::{Client, Transport};
    ///
    /// let (client, events) = Client::builder("http://127.0.0.1:8080").transformer(Transport::SockJs).connect()?;
    /// # Ok(()) }
    /// ```
    pub fn transformer(mut self, transport: Transport) -> ClientBuilder {
        self.transport = transport;
        self
    }

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

    /// Reconnection settings (default: Primus' `recovery` defaults, see [`Reconnect`]).
    pub fn reconnect(mut self, reconnect: Reconnect) -> ClientBuilder {
        self.reconnect = reconnect;
        self
    }

    /// When to reconnect (default: after a lost connection and after a
    /// failed first connect, see [`Strategy`]).
    pub fn strategy(mut self, strategy: Strategy) -> ClientBuilder {
        self.strategy = strategy;
        self
    }

    /// Declares the connection lost when no heartbeat ping arrives for this
    /// long. By default it is derived from the server's `/spec`
    /// (1.5 × its ping interval), as in Primus' served client library;
    /// `None` disables the check.
    pub fn ping_timeout(mut self, timeout: Option<Duration>) -> ClientBuilder {
        self.ping_timeout = connection::PingTimeoutSetting::Fixed(timeout);
        self
    }

    /// Bound of the queue of writes made while no connection is open
    /// (default [`DEFAULT_QUEUE_SIZE`]); the oldest is dropped when full.
    pub fn queue_size(mut self, messages: usize) -> ClientBuilder {
        self.queue_size = messages;
        self
    }

    /// Adds a client plugin (see [`ClientPlugin`]); names are unique.
    pub fn plugin(mut self, plugin: impl ClientPlugin) -> ClientBuilder {
        self.plugins.push(Box::new(plugin));
        self
    }

    /// Adds a synchronous incoming transform (see [`ClientPluginSetup`]).
    pub fn transform_incoming<F>(mut self, transform: F) -> ClientBuilder
    where
        F: Fn(
                &mut primus::transform::Packet,
            ) -> Result<primus::transform::Flow, primus::transform::TransformError>
            + Send
            + Sync
            + 'static,
    {
        self.own_setup().transform_incoming(transform);
        self
    }

    /// Adds an asynchronous incoming transform; `Ok(None)` drops the message.
    pub fn transform_incoming_async<F, Fut>(mut self, transform: F) -> ClientBuilder
    where
        F: Fn(primus::transform::Packet) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<
                Output = Result<Option<primus::transform::Packet>, primus::transform::TransformError>,
            > + Send
            + 'static,
    {
        self.own_setup().transform_incoming_async(transform);
        self
    }

    /// Adds a synchronous outgoing transform.
    pub fn transform_outgoing<F>(mut self, transform: F) -> ClientBuilder
    where
        F: Fn(
                &mut primus::transform::Packet,
            ) -> Result<primus::transform::Flow, primus::transform::TransformError>
            + Send
            + Sync
            + 'static,
    {
        self.own_setup().transform_outgoing(transform);
        self
    }

    /// Adds an asynchronous outgoing transform; `Ok(None)` drops the message.
    pub fn transform_outgoing_async<F, Fut>(mut self, transform: F) -> ClientBuilder
    where
        F: Fn(primus::transform::Packet) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<
                Output = Result<Option<primus::transform::Packet>, primus::transform::TransformError>,
            > + Send
            + 'static,
    {
        self.own_setup().transform_outgoing_async(transform);
        self
    }

    fn own_setup(&mut self) -> ClientPluginSetup<'_> {
        ClientPluginSetup {
            owner: None,
            transforms: &mut self.transforms,
        }
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

    /// The TLS settings for `https://` and `wss://` URLs (default:
    /// [`ClientTls::webpki_roots`]).
    ///
    /// ```no_run
    /// use primus_client::{Client, ClientTls};
    ///
    /// # fn demo() -> Result<(), primus_client::ClientError> {
    /// let ca = std::fs::read("ca.pem").expect("the private CA");
    /// let (client, events) = Client::builder("https://10.0.0.7:8443")
    ///     .tls(ClientTls::no_roots().add_root_pem(&ca)?)
    ///     .connect()?;
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "tls")]
    pub fn tls(mut self, tls: ClientTls) -> ClientBuilder {
        self.tls = Some(tls);
        self
    }

    /// Adds a header to the connection's HTTP requests (the WebSocket
    /// upgrade and the `/spec` request), e.g. a bearer token that should
    /// not appear in the URL (where proxies log it). A name or value that
    /// HTTP does not allow makes [`connect`](Self::connect) fail.
    ///
    /// ```no_run
    /// # fn demo() -> Result<(), primus_client::ClientError> {
    /// let (client, events) = primus_client::Client::builder("https://chat.example:443")
    ///     .header("authorization", "Bearer eyJhbGciOi…")
    ///     .connect()?;
    /// # Ok(()) }
    /// ```
    pub fn header(mut self, name: impl Into<String>, value: impl Into<String>) -> ClientBuilder {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// Manual mode, as Primus' `manual: true`: [`connect`](Self::connect)
    /// returns the handle without connecting; [`Client::open`] starts.
    /// Writes made before that are queued.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), primus_client::ClientError> {
    /// let (client, events) = primus_client::Client::builder("http://127.0.0.1:8080").manual().connect()?;
    /// client.write(&"queued until open")?;
    /// client.open();
    /// # Ok(()) }
    /// ```
    pub fn manual(mut self) -> ClientBuilder {
        self.manual = true;
        self
    }

    /// Whether to ask the server for connection state recovery (default
    /// true). With a primus-rs server that has it on
    /// (`ServerBuilder::recovery`), a reconnect within its window gets the
    /// same spark back and the messages sent meanwhile, in order, each once
    /// ([`ConnectionEvent::SessionResumed`]); other servers ignore the ask.
    /// A request in flight when the connection broke completes once the
    /// session is resumed (its answer is among the messages replayed, or
    /// comes later; else it times out); it fails with
    /// [`ClientError::ConnectionLost`] when the session is not resumed.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), primus_client::ClientError> {
    /// let (client, events) = primus_client::Client::builder("http://127.0.0.1:8080")
    ///     .resume_sessions(false)
    ///     .connect()?;
    /// # Ok(()) }
    /// ```
    pub fn resume_sessions(mut self, resume: bool) -> ClientBuilder {
        self.resume_sessions = resume;
        self
    }

    /// Starts connecting in the background (on the current Tokio runtime;
    /// in [`manual`](Self::manual) mode, once [`Client::open`] is called)
    /// and returns the handle and the event stream at once.
    pub fn connect(mut self) -> Result<(Client, Events), ClientError> {
        let url = url::websocket_url(&self.url, &self.pathname)?;
        let headers = self
            .headers
            .iter()
            .map(|(name, value)| header(name, value))
            .collect::<Result<Vec<_>, _>>()?;
        #[cfg(feature = "tls")]
        let tls = match url.scheme() {
            "wss" => Some(self.tls.take().unwrap_or_default().config()?),
            _ => None,
        };
        #[cfg(not(feature = "tls"))]
        let tls = match url.scheme() {
            "wss" => {
                return Err(ClientError::InvalidUrl {
                    url: self.url,
                    reason: "https/wss need the `tls` feature of primus-client".to_owned(),
                })
            }
            _ => None,
        };
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| ClientError::NoRuntime)?;
        // Plugin transforms first, in the order added, then the builder's.
        let mut transforms = primus::transform::Transforms::default();
        let mut names = Vec::new();
        for plugin in &self.plugins {
            if names.contains(&plugin.name()) {
                return Err(ClientError::DuplicatePlugin(plugin.name()));
            }
            names.push(plugin.name());
            plugin.client(&mut ClientPluginSetup {
                owner: Some(plugin.name()),
                transforms: &mut transforms,
            });
        }
        transforms
            .incoming
            .insert_plugin_steps(std::mem::take(&mut self.transforms.incoming));
        transforms
            .outgoing
            .insert_plugin_steps(std::mem::take(&mut self.transforms.outgoing));
        let transforms = Arc::new(transforms);
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
            transform_outgoing: !transforms.outgoing.is_empty(),
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
            reconnect: self.reconnect,
            strategy: self.strategy,
            ping_timeout: self.ping_timeout,
            queue_size: self.queue_size,
            commands: command_rx,
            events: event_tx,
            handlers,
            handler_queue,
            transforms,
            transport: self.transport,
            tls,
            headers,
            manual: self.manual,
            resume_sessions: self.resume_sessions,
        }));
        Ok((client, Events { receiver: event_rx }))
    }
}

/// A handle to a connection (cheap to clone).
#[derive(Clone)]
pub struct Client {
    commands: mpsc::UnboundedSender<command::Command>,
    parser: Arc<dyn Parser>,
    next_request: Arc<AtomicU64>,
    request_timeout: Duration,
    /// Outgoing transforms exist: values travel as JSON values to the task.
    transform_outgoing: bool,
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
            reconnect: Reconnect::default(),
            strategy: Strategy::default(),
            ping_timeout: connection::PingTimeoutSetting::FromServer,
            queue_size: DEFAULT_QUEUE_SIZE,
            plugins: Vec::new(),
            transforms: primus::transform::Transforms::default(),
            transport: Transport::default(),
            #[cfg(feature = "tls")]
            tls: None,
            headers: Vec::new(),
            manual: false,
            resume_sessions: true,
        }
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

/// Something that happened on the connection, with Primus' event names.
///
/// A lost connection gives `Close`, then (with the default strategy)
/// `ReconnectScheduled`, `Reconnect`, and on success `Reconnected` and
/// `Open`, or after the last attempt `ReconnectFailed` and `End`. Unlike
/// Primus (which emits `end` before `reconnect failed`), `End` is always the
/// last event.
#[derive(Debug)]
#[non_exhaustive]
pub enum ConnectionEvent {
    /// The connection is open; queued writes were just sent.
    Open,
    /// A reconnection attempt is scheduled after `state.scheduled`.
    ReconnectScheduled(ReconnectState),
    /// A reconnection attempt starts now.
    Reconnect(ReconnectState),
    /// A reconnection attempt succeeded (`Open` follows).
    Reconnected(ReconnectState),
    /// A reconnection attempt did not open within its timeout.
    ReconnectTimeout(ReconnectState),
    /// Every attempt failed; `End` follows.
    ReconnectFailed(ReconnectState),
    /// No heartbeat within the ping timeout: the connection is considered
    /// lost (`Close` follows).
    Offline,
    /// Back online after `Offline` (follows `Reconnected`).
    Online,
    /// The first connection did not open within the connect timeout.
    Timeout,
    /// A message from the server.
    Data(Message),
    /// The server's heartbeat (`primus::ping::<value>`), already answered.
    Ping(String),
    /// After a reconnect, the server resumed this client's session
    /// (connection state recovery): the same spark id and rooms; the
    /// messages sent while the connection was lost follow, in order.
    SessionResumed,
    /// After a reconnect, the server could not resume this client's session
    /// (past its recovery window or replay bound): this is a new spark, and
    /// what was sent while the connection was lost is gone.
    SessionNotResumed,
    /// Something went wrong; see the error. A decode error leaves the
    /// connection open.
    Error(ClientError),
    /// The connection closed.
    Close,
    /// The client is done: no more events follow.
    End,
}

/// The stream of [`ConnectionEvent`]s of one client.
pub struct Events {
    receiver: mpsc::UnboundedReceiver<ConnectionEvent>,
}

impl Events {
    /// The next event, or `None` after [`ConnectionEvent::End`].
    pub async fn next(&mut self) -> Option<ConnectionEvent> {
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
            if let ConnectionEvent::Data(message) = event {
                return Some(message);
            }
        }
        None
    }
}

impl futures_util::Stream for Events {
    type Item = ConnectionEvent;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<ConnectionEvent>> {
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
    /// The connection was lost after the request was sent; it may or may
    /// not have been handled.
    #[error("the connection was lost before the reply arrived")]
    ConnectionLost,
    /// The server refused the connection (e.g. authorization failed).
    #[error("the server refused the connection with status {status}: {body}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The response body (Primus sends `{"error": message}`).
        body: String,
    },
    /// Two client plugins have the same name.
    #[error("a client plugin named `{0}` was added twice; plugin names are unique")]
    DuplicatePlugin(&'static str),
    /// A transform refused a message; it was dropped.
    #[error("transform refused the message: {0}")]
    Transform(#[from] primus::transform::TransformError),
    /// The server answered a request with an error.
    #[error("the server refused the request: {0}")]
    Rejected(String),
    /// The handler registry cannot be used.
    #[error(transparent)]
    Registry(#[from] ClientRegistryError),
    /// TLS could not be set up, or the handshake failed (the server's
    /// certificate is not trusted, or it refused this client's).
    #[error("TLS: {0}")]
    Tls(String),
    /// A header given to [`ClientBuilder::header`] is not valid HTTP.
    #[error("invalid header {name:?}: {reason}")]
    InvalidHeader {
        /// The header's name as given.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// `connect` was called outside a Tokio runtime.
    #[error("`ClientBuilder::connect` must be called inside a Tokio runtime")]
    NoRuntime,
}

/// A header for the connection's requests, checked.
fn header(
    name: &str,
    value: &str,
) -> Result<
    (
        tokio_tungstenite::tungstenite::http::HeaderName,
        tokio_tungstenite::tungstenite::http::HeaderValue,
    ),
    ClientError,
> {
    use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};
    let invalid = |reason: &str| ClientError::InvalidHeader {
        name: name.to_owned(),
        reason: reason.to_owned(),
    };
    let parsed_name =
        HeaderName::from_bytes(name.as_bytes()).map_err(|_| invalid("not a valid header name"))?;
    let parsed_value =
        HeaderValue::from_str(value).map_err(|_| invalid("the value has characters HTTP does not allow"))?;
    Ok((parsed_name, parsed_value))
}
