//! Building a server: options, handlers, and the checks made on `build`.

use super::authorization::{authorizer, AuthError, Authorizer};
use super::cors::Cors;
use super::listener::Limits;
use super::origins::Origins;
use super::{Config, Parts, Server};
use crate::cluster::{Attached, Broadcast, LocalBroadcast};
use crate::message::transform::{self, Flow, Packet, TransformError, Transforms};
use crate::message::Message;
use crate::middleware::{builtins, HttpRequest, IntoOutcome, Layer, MiddlewareError, Runs, Stack};
use crate::parser::{Json, Parser};
use crate::pipeline::extract::{StateMap, StateMapView};
use crate::pipeline::handlers::Handlers;
use crate::pipeline::plugin::{Plugin, PluginError, PluginSet};
use crate::pipeline::typed::ErasedHandler;
use crate::pipeline::{ActivePlugins, ConnectionRecovery, IdGenerator, Pipeline, PipelineLimits};
use crate::registry::RegistryError;
use crate::spark::BoxError;
use crate::spark::{Spark, SparkError};
use crate::transformer::{Transformer, WebSockets};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

/// The default heartbeat interval (Primus' `pingInterval`): 30 seconds.
pub const DEFAULT_PING_INTERVAL: Duration = Duration::from_secs(30);
/// The default largest accepted message (Primus' `maxLength`): 10 MiB.
pub const DEFAULT_MAX_LENGTH: usize = 10 * 1024 * 1024;
/// The default number of invalid messages a spark may send before it is
/// closed: 100.
pub const DEFAULT_MAX_INVALID_FRAMES: u32 = 100;
/// The default budget for partly received messages, across all
/// connections: 128 MiB.
pub const DEFAULT_PARTIAL_MESSAGES_BUDGET: usize = 128 * 1024 * 1024;
/// The default budget of each spark's outbound queue: 1 MiB.
pub const DEFAULT_SEND_QUEUE_BYTES: usize = 1024 * 1024;

/// Configures and builds a [`Server`].
///
/// ```no_run
/// use primus::{AuthError, Server};
/// use std::time::Duration;
///
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let server = Server::builder()
///     .pathname("/primus")
///     .ping_interval(Duration::from_secs(30))
///     .authorize(|request| async move {
///         match request.query.get("token") {
///             Some("secret") => Ok(()),
///             _ => Err(AuthError::new("Authentication required")),
///         }
///     })
///     .on_connection(|spark| async move { spark.write("welcome") })
///     .on_data(|spark, message| async move {
///         if let Ok(value) = message.decode::<serde_json::Value>() {
///             let _ = spark.write(&value); // echo
///         }
///     })
///     .build()?;
/// server.listen("127.0.0.1:8080").await?;
/// # Ok(()) }
/// ```
#[must_use = "a builder does nothing until `build` is called"]
pub struct ServerBuilder {
    pathname: String,
    ping_interval: Option<Duration>,
    max_length: usize,
    send_queue_bytes: usize,
    max_invalid_frames: u32,
    handler_concurrency: usize,
    recovery: Option<ConnectionRecovery>,
    partial_messages_budget: usize,
    parser: Arc<dyn Parser>,
    cors: Cors,
    trust_proxy: bool,
    limits: Limits,
    origins: Origins,
    id_generator: Option<IdGenerator>,
    authorizer: Option<Authorizer>,
    handlers: Handlers,
    transformer: Option<Arc<dyn Transformer>>,
    read_buffer_size: Option<usize>,
    compression: bool,
    broadcast: Option<Arc<dyn Broadcast>>,
    state: StateMap,
    plugins: Vec<Box<dyn Plugin>>,
    transforms: Transforms<Spark>,
    middleware: Vec<Layer>,
    from_registry: bool,
}

impl Default for ServerBuilder {
    fn default() -> ServerBuilder {
        ServerBuilder {
            pathname: "/primus".to_owned(),
            ping_interval: Some(DEFAULT_PING_INTERVAL),
            max_length: DEFAULT_MAX_LENGTH,
            send_queue_bytes: DEFAULT_SEND_QUEUE_BYTES,
            max_invalid_frames: DEFAULT_MAX_INVALID_FRAMES,
            handler_concurrency: 1,
            recovery: None,
            partial_messages_budget: DEFAULT_PARTIAL_MESSAGES_BUDGET,
            parser: Arc::new(Json),
            cors: Cors::default(),
            trust_proxy: true,
            limits: Limits::default(),
            origins: Origins::default(),
            id_generator: None,
            authorizer: None,
            handlers: Handlers::default(),
            transformer: None,
            read_buffer_size: None,
            compression: false,
            broadcast: None,
            state: StateMap::default(),
            plugins: Vec::new(),
            transforms: Transforms::default(),
            middleware: Vec::new(),
            from_registry: false,
        }
    }
}

/// Why [`ServerBuilder::build`] refused the configuration.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The pathname is not usable.
    #[error("invalid pathname {pathname:?}: {reason}")]
    InvalidPathname {
        /// The pathname given.
        pathname: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A size option was zero.
    #[error("`{option}` must be greater than zero")]
    Zero {
        /// The option's name.
        option: &'static str,
    },
    /// The handlers registered with `#[primus::on]` cannot make a server.
    #[error(transparent)]
    Registry(#[from] RegistryError),
    /// A middleware could not be added.
    #[error(transparent)]
    Middleware(#[from] MiddlewareError),
    /// A plugin could not be added.
    #[error(transparent)]
    Plugin(#[from] PluginError),
    /// `build` was called outside a Tokio runtime, which the heartbeat needs.
    #[error("`Server::build` must be called inside a Tokio runtime (the heartbeat task is spawned there); call it from async code, e.g. under `#[tokio::main]`")]
    NoRuntime,
    /// `compression(true)` with a transformer chosen by `transformer(..)`:
    /// the option configures the default `websockets` transformer only.
    #[error("`compression(true)` applies to the default `websockets` transformer; with a chosen transformer use `WebSockets::default().compression(true)` (or `WebSockets::faye()`/`uws()` likewise); engine.io and SockJS do not compress")]
    CompressionWithTransformer,
}

/// What a `connection` handler may return: nothing, or a `Result` whose
/// error ends the spark.
pub trait ConnectionOutcome {
    /// Converts into the handler's result.
    fn into_outcome(self) -> Result<(), BoxError>;
}

impl ConnectionOutcome for () {
    fn into_outcome(self) -> Result<(), BoxError> {
        Ok(())
    }
}

impl<E: Into<BoxError>> ConnectionOutcome for Result<(), E> {
    fn into_outcome(self) -> Result<(), BoxError> {
        self.map_err(Into::into)
    }
}

impl ServerBuilder {
    /// Where Primus lives (default `/primus`). A leading `/` is added if
    /// missing; every request whose path *starts with* it is Primus'.
    pub fn pathname(mut self, pathname: impl Into<String>) -> ServerBuilder {
        let pathname = pathname.into();
        self.pathname = if pathname.starts_with('/') {
            pathname
        } else {
            format!("/{pathname}")
        };
        self
    }

    /// Heartbeat interval (default 30 s). `None` disables heartbeats; the
    /// spec then says `"pingInterval": false`.
    pub fn ping_interval(mut self, interval: impl Into<Option<Duration>>) -> ServerBuilder {
        self.ping_interval = interval.into().filter(|d| !d.is_zero());
        self
    }

    /// Largest accepted message in bytes (default 10 MiB). A bigger one
    /// closes the connection with code 1009 before anything is decoded.
    pub fn max_length(mut self, bytes: usize) -> ServerBuilder {
        self.max_length = bytes;
        self
    }

    /// Budget of each spark's outbound queue in bytes (default 1 MiB): a
    /// write to a client whose queued messages have reached it drops the
    /// client as a slow consumer (so any one message fits, whatever its
    /// size, and a queue holds at most the budget plus one message); see [the slow consumer
    /// policy](crate::spark#the-outbound-queue-and-slow-consumers).
    ///
    /// ```
    /// # async fn demo() -> Result<(), primus::BuildError> {
    /// let server = primus::Server::builder().send_queue_bytes(256 * 1024).build()?;
    /// # Ok(()) }
    /// ```
    pub fn send_queue_bytes(mut self, bytes: usize) -> ServerBuilder {
        self.send_queue_bytes = bytes;
        self
    }

    /// Time a client has to send a complete request head, after
    /// connecting or after its previous response (default 10 s); slower
    /// clients are disconnected. Applies to [`Server::serve`] and
    /// [`Server::listen`].
    ///
    /// ```
    /// # async fn demo() -> Result<(), primus::BuildError> {
    /// let server = primus::Server::builder()
    ///     .handshake_timeout(std::time::Duration::from_secs(5))
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    pub fn handshake_timeout(mut self, timeout: std::time::Duration) -> ServerBuilder {
        self.limits.handshake_timeout = timeout;
        self
    }

    /// Most open connections (HTTP and WebSocket); more are answered `503
    /// Too many connections`. Default: 90% of the file descriptor limit,
    /// which the server raises to its hard limit when it starts listening.
    /// Applies to [`Server::serve`] and [`Server::listen`].
    ///
    /// ```
    /// # async fn demo() -> Result<(), primus::BuildError> {
    /// let server = primus::Server::builder().max_connections(50_000).build()?;
    /// # Ok(()) }
    /// ```
    pub fn max_connections(mut self, connections: usize) -> ServerBuilder {
        self.limits.max_connections = Some(connections);
        self
    }

    /// Most open connections from one IP address (default: no limit, since
    /// clients behind one proxy or NAT share an address); more are
    /// answered `503 Too many connections`. The address is the TCP peer's,
    /// never a forwarded one. Applies to [`Server::serve`] and
    /// [`Server::listen`].
    ///
    /// ```
    /// # async fn demo() -> Result<(), primus::BuildError> {
    /// let server = primus::Server::builder().max_connections_per_ip(100).build()?;
    /// # Ok(()) }
    /// ```
    pub fn max_connections_per_ip(mut self, connections: usize) -> ServerBuilder {
        self.limits.max_connections_per_ip = Some(connections);
        self
    }

    /// Invalid messages (frames the parser cannot decode) a spark may send
    /// before it is closed with 1008 and `primus::server::close` (default
    /// 100). Each one is dropped with an `error` event as before; this
    /// bounds what a broken or hostile client costs.
    ///
    /// ```
    /// # async fn demo() -> Result<(), primus::BuildError> {
    /// let server = primus::Server::builder().max_invalid_frames(10).build()?;
    /// # Ok(()) }
    /// ```
    pub fn max_invalid_frames(mut self, frames: u32) -> ServerBuilder {
        self.max_invalid_frames = frames;
        self
    }

    /// Turns on connection state recovery (off by default): a client that
    /// loses its connection and comes back within the window gets the
    /// same spark back (id, rooms, extensions) and the messages it missed,
    /// in order, each once. See [`ConnectionRecovery`] for how it works and
    /// what it costs; the Rust client and the served browser client ask
    /// for it by themselves, Primus' own clients never do.
    ///
    /// On the WebSocket transformers (`websockets`, `faye`, `uws`); the
    /// polling transformers start a new spark as before.
    ///
    /// ```
    /// # async fn demo() -> Result<(), primus::BuildError> {
    /// use primus::pipeline::ConnectionRecovery;
    /// use std::time::Duration;
    ///
    /// let server = primus::Server::builder()
    ///     .recovery(ConnectionRecovery::within(Duration::from_secs(120)))
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    pub fn recovery(mut self, recovery: ConnectionRecovery) -> ServerBuilder {
        self.recovery = Some(recovery);
        self
    }

    /// How many messages of one spark are handled at once (default 1).
    ///
    /// With 1, a spark's messages are handled strictly one after another,
    /// in the order they arrived (the [handler order](crate::Server#handler-order)
    /// contract). With `n > 1`, up to `n` of them run at the same time, so
    /// one slow request handler does not hold up that client's other
    /// messages; they may then finish, and reply, in any order (replies
    /// carry their request's number, so clients match them). `connection`
    /// handlers still finish before any message is handled, and
    /// `disconnection` handlers run after every message is done. 0 counts
    /// as 1.
    ///
    /// ```
    /// # async fn demo() -> Result<(), primus::BuildError> {
    /// let server = primus::Server::builder().handler_concurrency(8).build()?;
    /// # Ok(()) }
    /// ```
    pub fn handler_concurrency(mut self, messages: usize) -> ServerBuilder {
        self.handler_concurrency = messages;
        self
    }

    /// Bytes of messages still being received, across all connections
    /// (default 128 MiB). Once spent, a connection whose partial message is
    /// over 64 KiB is closed with 1009; smaller messages always pass. See
    /// [`InboundBudget`](crate::pipeline::InboundBudget).
    ///
    /// ```
    /// # async fn demo() -> Result<(), primus::BuildError> {
    /// let server = primus::Server::builder()
    ///     .partial_messages_budget(512 * 1024 * 1024)
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    pub fn partial_messages_budget(mut self, bytes: usize) -> ServerBuilder {
        self.partial_messages_budget = bytes;
        self
    }

    /// The parser (default [`Json`]); clients must use the same one.
    pub fn parser(mut self, parser: impl Parser) -> ServerBuilder {
        self.parser = Arc::new(parser);
        self
    }

    /// The web origins accepted for WebSocket upgrades and CORS (default:
    /// the server's own origin, and requests without an `Origin` header);
    /// see [`Origins`].
    ///
    /// ```
    /// use primus::server::Origins;
    ///
    /// # async fn demo() -> Result<(), primus::BuildError> {
    /// let server = primus::Server::builder()
    ///     .origins(Origins::allow(["https://app.example"]))
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    pub fn origins(mut self, origins: Origins) -> ServerBuilder {
        self.origins = origins;
        self
    }

    /// CORS settings for the accepted [`origins`](Self::origins) (default:
    /// Primus' methods, credentials, a 10-minute preflight cache; see [`Cors`]).
    pub fn cors(mut self, cors: Cors) -> ServerBuilder {
        self.cors = cors;
        self
    }

    /// Whether `X-Forwarded-For` and friends are believed (default true, as
    /// Primus). Turn off when the server is reachable without a proxy.
    pub fn trust_proxy(mut self, trust: bool) -> ServerBuilder {
        self.trust_proxy = trust;
        self
    }

    /// Generates spark ids instead of the default 21-character random ids.
    /// Ids must be unique among connected sparks; a connection whose id is
    /// already taken is refused.
    pub fn id_generator(mut self, generate: impl Fn() -> String + Send + Sync + 'static) -> ServerBuilder {
        self.id_generator = Some(Arc::new(generate));
        self
    }

    /// The read buffer size in bytes of the default `websockets`
    /// transformer (default 4 KiB; see [`WebSockets::read_buffer_size`]).
    /// Larger buffers cost memory on every idle connection. Ignored when
    /// another transformer is chosen.
    pub fn read_buffer_size(mut self, bytes: usize) -> ServerBuilder {
        self.read_buffer_size = Some(bytes);
        self
    }

    /// permessage-deflate for the default `websockets` transformer, as
    /// Primus' `compression: true` (default off); see
    /// [`WebSockets::compression`]. With a transformer chosen by
    /// [`transformer`](Self::transformer), set it there instead (`build`
    /// refuses the combination).
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), primus::BuildError> {
    /// let server = primus::Server::builder().compression(true).build()?;
    /// # Ok(()) }
    /// ```
    pub fn compression(mut self, enabled: bool) -> ServerBuilder {
        self.compression = enabled;
        self
    }

    /// The transformer (default [`WebSockets`]); its name is published in
    /// `/spec` and clients must use the same one. See
    /// [transformers](crate::transformer).
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), primus::BuildError> {
    /// use primus::transformer::Memory;
    ///
    /// let memory = Memory::new();
    /// let server = primus::Server::builder().transformer(memory.clone()).build()?;
    /// assert_eq!(server.transformer_name(), "memory");
    /// # Ok(()) }
    /// ```
    pub fn transformer(mut self, transformer: impl Transformer) -> ServerBuilder {
        self.transformer = Some(Arc::new(transformer));
        self
    }

    /// Where sparks are known and messages are delivered (default
    /// [`LocalBroadcast`], this process only); see [the broadcast
    /// seam](crate::cluster).
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), primus::BuildError> {
    /// let server = primus::Server::builder()
    ///     .broadcast(primus::cluster::LocalBroadcast::default())
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    pub fn broadcast(mut self, broadcast: impl Broadcast) -> ServerBuilder {
        self.broadcast = Some(Arc::new(broadcast));
        self
    }

    /// Authorizes every upgrade and HTTP request under the pathname (see
    /// [the authorization module](crate::server::authorization) for the
    /// responses sent on rejection). The hook sees the request as an
    /// [`HttpRequest`], like middleware layers.
    pub fn authorize<F, Fut>(mut self, hook: F) -> ServerBuilder
    where
        F: Fn(HttpRequest) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), AuthError>> + Send + 'static,
    {
        self.authorizer = Some(authorizer(hook));
        self
    }

    /// Adds a `connection` handler. Handlers run in registration order, each
    /// awaited; data arriving meanwhile is queued. Returning an error ends
    /// the spark (see [handler order](crate::Server#handler-order)).
    pub fn on_connection<F, Fut>(mut self, handler: F) -> ServerBuilder
    where
        F: Fn(Spark) -> Fut + Send + Sync + 'static,
        Fut: Future + Send + 'static,
        Fut::Output: ConnectionOutcome,
    {
        self.handlers.connection.push(Arc::new(move |spark| {
            let future = handler(spark);
            Box::pin(async move { future.await.into_outcome() })
        }));
        self
    }

    /// Adds a `disconnection` handler, run when a spark is gone.
    pub fn on_disconnection<F, Fut>(mut self, handler: F) -> ServerBuilder
    where
        F: Fn(Spark) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.handlers
            .disconnection
            .push(Arc::new(move |spark| Box::pin(handler(spark))));
        self
    }

    /// Adds a `data` handler, run for every incoming message that is not a
    /// control message, in order per spark.
    pub fn on_data<F, Fut>(mut self, handler: F) -> ServerBuilder
    where
        F: Fn(Spark, Message) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.handlers
            .data
            .push(Arc::new(move |spark, message| Box::pin(handler(spark, message))));
        self
    }

    /// Adds an `error` handler: decode failures, oversize frames, failing
    /// connection handlers, slow consumers. Errors are also logged.
    pub fn on_error(
        mut self,
        handler: impl Fn(&Spark, &SparkError) + Send + Sync + 'static,
    ) -> ServerBuilder {
        self.handlers.error.push(Arc::new(handler));
        self
    }

    /// Adds application state: handlers take a clone with `State<T>`. One
    /// value per type; adding a second value of a type replaces the first.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), primus::BuildError> {
    /// #[derive(Clone)]
    /// struct Config { motd: String }
    /// let server = primus::Server::builder()
    ///     .state(Config { motd: "hello".into() })
    ///     .build()?;
    /// assert_eq!(server.state::<Config>().unwrap().motd, "hello");
    /// # Ok(()) }
    /// ```
    pub fn state<T: Clone + Send + Sync + 'static>(mut self, value: T) -> ServerBuilder {
        self.state.insert(value);
        self
    }

    /// Appends a middleware layer after the built-ins (see
    /// [middleware](mod@crate::middleware)); names are unique.
    pub fn middleware<F, Fut, O>(mut self, name: &str, runs: Runs, function: F) -> ServerBuilder
    where
        F: Fn(HttpRequest) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = O> + Send + 'static,
        O: IntoOutcome,
    {
        self.middleware.push(Layer::user(name, runs, function));
        self
    }

    /// Adds a plugin; its server part runs when the server is built (see
    /// [`Plugin`]).
    pub fn plugin(mut self, plugin: impl Plugin) -> ServerBuilder {
        self.plugins.push(Box::new(plugin));
        self
    }

    /// Adds a synchronous incoming transform (see [transforms](crate::transform)).
    pub fn transform_incoming<F>(mut self, transform: F) -> ServerBuilder
    where
        F: Fn(&Spark, &mut Packet) -> Result<Flow, TransformError> + Send + Sync + 'static,
    {
        self.transforms.incoming.push(None, transform::sync(transform));
        self
    }

    /// Adds an asynchronous incoming transform; `Ok(None)` drops the message.
    pub fn transform_incoming_async<F, Fut>(mut self, transform: F) -> ServerBuilder
    where
        F: Fn(Spark, Packet) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Option<Packet>, TransformError>> + Send + 'static,
    {
        self.transforms
            .incoming
            .push(None, transform::asynchronous(transform));
        self
    }

    /// Adds a synchronous outgoing transform.
    pub fn transform_outgoing<F>(mut self, transform: F) -> ServerBuilder
    where
        F: Fn(&Spark, &mut Packet) -> Result<Flow, TransformError> + Send + Sync + 'static,
    {
        self.transforms.outgoing.push(None, transform::sync(transform));
        self
    }

    /// Adds an asynchronous outgoing transform; `Ok(None)` drops the message.
    pub fn transform_outgoing_async<F, Fut>(mut self, transform: F) -> ServerBuilder
    where
        F: Fn(Spark, Packet) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Option<Packet>, TransformError>> + Send + 'static,
    {
        self.transforms
            .outgoing
            .push(None, transform::asynchronous(transform));
        self
    }

    /// Calls `listener` with the name of every plugin added (Primus' `plugin` event).
    pub fn on_plugin(mut self, listener: impl Fn(&str) + Send + Sync + 'static) -> ServerBuilder {
        self.handlers.plugin_added.push(Arc::new(listener));
        self
    }

    /// Calls `listener` with the name of every plugin removed (Primus' `plugout` event).
    pub fn on_plugout(mut self, listener: impl Fn(&str) + Send + Sync + 'static) -> ServerBuilder {
        self.handlers.plugin_removed.push(Arc::new(listener));
        self
    }

    /// Adds every handler registered with `#[primus::on]`, after the ones
    /// added with `on_*` methods, in [the registry's order](crate::registry).
    /// `build` then fails when the registry is empty or has conflicts.
    pub fn handlers_from_registry(mut self) -> ServerBuilder {
        self.from_registry = true;
        self
    }

    fn add_registered_handlers(&mut self) -> Result<(), RegistryError> {
        for registration in crate::registry::checked(&StateMapView(&self.state))? {
            match (registration.make)() {
                ErasedHandler::Connection(handler) => self.handlers.connection.push(handler),
                ErasedHandler::Disconnection(handler) => self.handlers.disconnection.push(handler),
                ErasedHandler::Data(handler) => self.handlers.data.push(handler),
                ErasedHandler::Event { name, call } => {
                    self.handlers.events.insert(name, call);
                }
            }
        }
        Ok(())
    }

    /// Checks the configuration and builds the server, starting its
    /// heartbeat. Must run inside a Tokio runtime.
    pub fn build(mut self) -> Result<Server, BuildError> {
        // Plugins first: registry handlers may take state that plugins add.
        if self.from_registry {
            self.plugins.extend(crate::registry::plugins());
        }
        let mut plugins = PluginSet {
            transforms: std::mem::take(&mut self.transforms),
            ..PluginSet::default()
        };
        for plugin in &self.plugins {
            plugins.add(plugin.as_ref(), &mut self.state)?;
        }
        if self.from_registry {
            self.add_registered_handlers()?;
        }
        for plugin in &plugins.plugins {
            self.handlers.plugin_event(plugin.name, true);
        }
        let stack = Stack::new(builtins());
        let mut layers = std::mem::take(&mut self.middleware);
        if self.from_registry {
            layers.extend(
                crate::registry::middleware()
                    .into_iter()
                    .map(|r| Layer::boxed(r.name, r.runs, (r.make)())),
            );
        }
        for layer in layers {
            stack.insert_layer(usize::MAX, layer)?;
        }
        if self.pathname.len() < 2 || self.pathname.contains(['?', '#']) {
            return Err(BuildError::InvalidPathname {
                pathname: self.pathname,
                reason: "it must be a path such as `/primus`, without query or fragment",
            });
        }
        for (option, value) in [
            ("max_length", Some(self.max_length)),
            ("send_queue_bytes", Some(self.send_queue_bytes)),
            ("read_buffer_size", self.read_buffer_size),
            ("max_connections", self.limits.max_connections),
            ("max_connections_per_ip", self.limits.max_connections_per_ip),
        ] {
            if value == Some(0) {
                return Err(BuildError::Zero { option });
            }
        }
        let runtime = tokio::runtime::Handle::try_current().map_err(|_| BuildError::NoRuntime)?;
        if self.compression && self.transformer.is_some() {
            return Err(BuildError::CompressionWithTransformer);
        }
        let transformer = self.transformer.unwrap_or_else(|| {
            let websockets = WebSockets::default().compression(self.compression);
            Arc::new(match self.read_buffer_size {
                Some(bytes) => websockets.read_buffer_size(bytes),
                None => websockets,
            })
        });
        let broadcast = self
            .broadcast
            .unwrap_or_else(|| Arc::new(LocalBroadcast::default()));
        broadcast.attach(&Attached::new(self.pathname.clone(), self.parser.name()));
        let pipeline = Pipeline::new(
            self.parser,
            self.handlers,
            ActivePlugins::new(plugins),
            broadcast,
            self.id_generator,
            PipelineLimits {
                max_length: self.max_length,
                send_queue_bytes: self.send_queue_bytes,
                max_invalid_frames: self.max_invalid_frames,
                partial_messages_budget: self.partial_messages_budget,
                handler_concurrency: self.handler_concurrency,
            },
            self.recovery,
        );
        Ok(Server::start(
            Parts {
                config: Config {
                    pathname: self.pathname,
                    ping_interval: self.ping_interval,
                    cors: self.cors,
                    trust_proxy: self.trust_proxy,
                    limits: self.limits,
                    origins: self.origins,
                },
                pipeline,
                state: self.state,
                middleware: stack,
                authorizer: self.authorizer,
                transformer,
            },
            runtime,
        ))
    }
}
