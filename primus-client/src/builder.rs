//! [`ClientBuilder`]: how a [`Client`] connects, and `connect`.

#[cfg(feature = "tls")]
use crate::ClientTls;
use crate::{
    connection, handlers, url, Client, ClientError, ClientPlugin, ClientPluginSetup, Events, Reconnect,
    Strategy, Transport, DEFAULT_CONNECT_TIMEOUT, DEFAULT_QUEUE_SIZE, DEFAULT_REQUEST_TIMEOUT,
};
use primus::parser::{Json, Parser};
use primus::Message;
use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

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
    compression: bool,
}

impl ClientBuilder {
    /// A builder with the defaults, for the server at `url`.
    pub(crate) fn new(url: String) -> ClientBuilder {
        ClientBuilder {
            url,
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
            compression: false,
        }
    }

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
    /// ([`ConnectionEvent::SessionResumed`](crate::ConnectionEvent::SessionResumed)); other servers ignore the ask.
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

    /// Offers permessage-deflate (RFC 7692) when connecting, as Primus'
    /// `compression: true` (default off). When the server accepts, the
    /// messages it sends compressed are inflated (up to 64 MiB each, the
    /// largest message this client reads at all); this client sends its own
    /// messages uncompressed (RFC 7692 lets each message choose). Only the
    /// `websockets` transformer (and `faye`, `uws`) compress; the offer asks
    /// the server to compress every message on its own
    /// (`server_no_context_takeover`), which primus-rs and Node's `ws` do.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), primus_client::ClientError> {
    /// let (client, events) = primus_client::Client::builder("http://127.0.0.1:8080")
    ///     .compression(true)
    ///     .connect()?;
    /// # Ok(()) }
    /// ```
    pub fn compression(mut self, enabled: bool) -> ClientBuilder {
        self.compression = enabled;
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
            compression: self.compression,
        }));
        Ok((client, Events { receiver: event_rx }))
    }
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
