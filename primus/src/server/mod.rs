//! The Primus server: connections, broadcast, heartbeat and HTTP surface.
//!
//! A [`Server`] is built once with [`Server::builder`] and is then a cheap,
//! clonable handle: keep one in your application state to broadcast, look
//! up sparks or shut down. It serves HTTP in two ways:
//!
//! * standalone: [`Server::listen`] (or [`Server::serve`] with your own
//!   listener) runs an HTTP server that only speaks Primus;
//! * mounted: [`Server::layer`] wraps an existing axum [`Router`](axum::Router) (or any
//!   tower service). Requests whose path starts with the pathname are
//!   Primus'; everything else reaches your application.
//!
//! ```no_run
//! use axum::{routing::get, Router};
//! use std::net::SocketAddr;
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let primus = primus::Server::builder().build()?;
//! let app = Router::new()
//!     .route("/", get(|| async { "hello" }))
//!     .layer(primus.layer());
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
//! axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await?;
//! # Ok(()) }
//! ```
//!
//! Under the pathname the server answers like Primus: `GET <pathname>/spec`
//! with the spec JSON, WebSocket upgrades with a connection, any other plain
//! HTTP request with `426 Upgrade Required`; `GET <pathname>/primus.js`
//! serves the browser client (also `primus.mjs`, `primus.client.d.ts`, and
//! the generated event typings at `primus.d.ts`). All of it runs through the
//! [middleware](mod@crate::middleware) stack, whose built-in layers can be replaced.

pub mod authorization;
mod builder;
mod client_js;
mod cors;
mod extract;
mod heartbeat;
mod http;
mod listener;
mod origins;
mod recipients;
mod spec;
#[cfg(feature = "tls")]
mod tls;

pub use self::authorization::AuthError;
pub use self::builder::{
    BuildError, ConnectionOutcome, ServerBuilder, DEFAULT_MAX_INVALID_FRAMES, DEFAULT_MAX_LENGTH,
    DEFAULT_PING_INTERVAL, DEFAULT_SEND_QUEUE_BYTES,
};
pub use self::cors::{Cors, DEFAULT_MAX_AGE};
pub use self::http::{PrimusLayer, PrimusService};
pub use self::listener::{Limits, DEFAULT_HANDSHAKE_TIMEOUT, MAX_HEAD_BYTES};
pub use self::origins::Origins;
pub use self::recipients::{BroadcastReplies, Recipients};
pub use self::spec::PRIMUS_VERSION;
#[cfg(feature = "tls")]
pub use self::tls::{ServerTls, TlsSetupError};
/// The rustls crate the server is built with, for
/// [`ServerTls::from_rustls_config`].
#[cfg(feature = "tls")]
pub use rustls;

use self::authorization::Authorizer;
use crate::cluster::{Broadcast, ClusterAnswer, Target};
use crate::lock;
use crate::middleware::Stack;
use crate::parser::{Parser, ParserError};
use crate::pipeline::extract::StateMap;
use crate::pipeline::plugin::{Plugin, PluginError};
use crate::pipeline::{Connector, InboundBudget, Pipeline, PipelineHost};
use crate::spark::hub::SparkHub;
use crate::spark::{CloseRequest, DisconnectReason, Outbound, Spark, SparkError};
use crate::transformer::Transformer;
use crate::wire::Frame;
use serde::Serialize;
use std::any::Any;
use std::ops::ControlFlow;
use std::sync::{Arc, OnceLock, RwLock, Weak};
use std::time::Duration;
use tokio::net::{TcpListener, ToSocketAddrs};
use tokio::sync::watch;

/// A running Primus server (a cheap, clonable handle).
///
/// ```no_run
/// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
/// let server = primus::Server::builder()
///     .on_connection(|spark| async move { println!("{} connected", spark.id()) })
///     .build()?;
/// let handle = server.clone();
/// tokio::spawn(async move {
///     // later: tell everyone, then shut down
///     handle.write("going down").ok();
///     handle.destroy(primus::Destroy::default()).await;
/// });
/// server.listen("127.0.0.1:8080").await?;
/// # Ok(()) }
/// ```
///
/// # Handler order
///
/// Handlers are registered on the [`ServerBuilder`] (or with
/// `#[primus::on]`) and run **in registration order**:
///
/// * `connection` handlers run one after another, each awaited before the
///   next. Data that arrives meanwhile is queued and delivered, in order,
///   once the last one returns. If one returns an error the spark gets an
///   `error` and is ended (the client sees `primus::server::close`), and the
///   remaining handlers do not run.
/// * `data` handlers (and typed event handlers) run for each message, one
///   after another. The next message of the same spark is delivered when all
///   handlers have finished with the previous one, so per-spark order is
///   preserved. With [`ServerBuilder::handler_concurrency`] above 1, up to
///   that many messages of one spark are handled at once instead (each
///   message still goes through its handlers in order).
/// * `disconnection` handlers run once the connection is gone, after any
///   message still being handled.
/// * `error` handlers are synchronous and run where the error happens.
///
/// Plugins' connection handlers run before the application's, their
/// disconnection handlers after (see [`Plugin`]).
#[derive(Clone)]
pub struct Server {
    core: Arc<ServerCore>,
}

/// The HTTP-side settings of a server.
pub(crate) struct Config {
    pub(crate) pathname: String,
    pub(crate) ping_interval: Option<Duration>,
    pub(crate) cors: Cors,
    pub(crate) trust_proxy: bool,
    pub(crate) limits: Limits,
    pub(crate) origins: Origins,
}

/// Lifecycle of the server, watched by the heartbeat and the listeners.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lifecycle {
    Running,
    Destroying,
    Closed,
}

/// What a server is made of; [`Server`] is a handle to it.
pub(crate) struct ServerCore {
    pub(crate) config: Config,
    pub(crate) pipeline: Pipeline,
    state: RwLock<StateMap>,
    pub(crate) authorizer: Option<Authorizer>,
    pub(crate) middleware: Stack,
    pub(crate) transformer: Arc<dyn Transformer>,
    /// Opens connections on this server (handed to the transformer).
    pub(crate) connector: Connector,
    /// The `/spec` document, encoded once.
    pub(crate) spec: bytes::Bytes,
    lifecycle: watch::Sender<Lifecycle>,
    /// How `destroy` ends sparks: set once it does, so that a connection
    /// upgraded just before (and registered just after) is ended too.
    closing: OnceLock<CloseRequest>,
}

/// Everything a built server is made of (assembled by the builder).
pub(crate) struct Parts {
    pub(crate) config: Config,
    pub(crate) pipeline: Pipeline,
    pub(crate) state: StateMap,
    pub(crate) middleware: Stack,
    pub(crate) authorizer: Option<Authorizer>,
    pub(crate) transformer: Arc<dyn Transformer>,
}

/// Options of [`Server::destroy`] (Primus' `primus.destroy(options)`).
///
/// ```
/// use primus::Destroy;
/// use std::time::Duration;
///
/// // Ask every client to come back (e.g. during a rolling restart).
/// let restart = Destroy { reconnect: true, timeout: Duration::from_millis(100), ..Destroy::default() };
/// assert!(restart.close);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Destroy {
    /// Stop the listeners started by [`Server::listen`]/[`Server::serve`] (default true).
    pub close: bool,
    /// Let clients reconnect: no `primus::server::close` is sent (default false).
    pub reconnect: bool,
    /// Wait this long before closing the connections (default 0).
    pub timeout: Duration,
    /// Then wait at most this long for every connection to close and its
    /// `disconnection` handlers to finish (default 10 s): when
    /// [`Server::destroy`] returns, they have, unless this ran out (it says
    /// so in the log).
    pub drain: Duration,
}

impl Default for Destroy {
    fn default() -> Destroy {
        Destroy {
            close: true,
            reconnect: false,
            timeout: Duration::ZERO,
            drain: Duration::from_secs(10),
        }
    }
}

impl Server {
    /// Starts configuring a server.
    pub fn builder() -> ServerBuilder {
        ServerBuilder::default()
    }

    pub(crate) fn start(parts: Parts, runtime: tokio::runtime::Handle) -> Server {
        let Parts {
            config,
            pipeline,
            state,
            middleware,
            authorizer,
            transformer,
        } = parts;
        let spec = spec::encode(&config, pipeline.parser.name(), transformer.name());
        let (lifecycle, _) = watch::channel(Lifecycle::Running);
        let ping_interval = config.ping_interval;
        let max_length = pipeline.max_length;
        let inbound = InboundBudget::new(pipeline.partial_messages_budget);
        let pathname = config.pathname.clone();
        let core = Arc::new_cyclic(|weak: &Weak<ServerCore>| {
            let host: Weak<dyn PipelineHost> = weak.clone();
            let transformer_name = transformer.name();
            let resumes_sessions = transformer.resumes_sessions();
            ServerCore {
                config,
                pipeline,
                state: RwLock::new(state),
                authorizer,
                middleware,
                transformer,
                connector: Connector::new(
                    host,
                    max_length,
                    inbound,
                    &pathname,
                    transformer_name,
                    resumes_sessions,
                ),
                spec,
                lifecycle,
                closing: OnceLock::new(),
            }
        });
        core.transformer.start(&core.connector);
        if let Some(interval) = ping_interval {
            runtime.spawn(heartbeat::run(
                Arc::downgrade(&core),
                interval,
                core.lifecycle.subscribe(),
            ));
        }
        Server { core }
    }

    /// Builds a server from every handler registered with `#[primus::on]`,
    /// with default options: `Server::builder().handlers_from_registry().build()`.
    /// Use the builder form to add options or state.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), primus::BuildError> {
    /// let server = primus::Server::from_registry()?;
    /// # Ok(()) }
    /// ```
    pub fn from_registry() -> Result<Server, BuildError> {
        Server::builder().handlers_from_registry().build()
    }

    /// A clone of the state of type `T` added with [`ServerBuilder::state`]
    /// (or by a plugin).
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), primus::BuildError> {
    /// let server = primus::Server::builder().state(42_u32).build()?;
    /// assert_eq!(server.state::<u32>(), Some(42));
    /// # Ok(()) }
    /// ```
    pub fn state<T: Clone + Send + Sync + 'static>(&self) -> Option<T> {
        lock::read(&self.core.state).get::<T>()
    }

    /// Adds a plugin to the running server: runs its server part now.
    /// Sparks already connected see its transforms from their next message.
    ///
    /// ```no_run
    /// # async fn demo(server: primus::Server) -> Result<(), primus::PluginError> {
    /// server.plugin(primus::plugins::Rooms)?;
    /// assert_eq!(server.plugins(), ["rooms"]);
    /// # Ok(()) }
    /// ```
    pub fn plugin(&self, plugin: impl Plugin) -> Result<(), PluginError> {
        let name = plugin.name();
        {
            let mut state = lock::write(&self.core.state);
            self.core
                .pipeline
                .plugins
                .update(|set| set.add(&plugin, &mut state))?;
        }
        tracing::info!(plugin = name, "plugin added");
        self.core.pipeline.handlers.plugin_event(name, true);
        Ok(())
    }

    /// Removes a plugin and the transforms and handlers it added (state it
    /// added stays). Returns false when no plugin has that name.
    ///
    /// ```no_run
    /// # fn demo(server: primus::Server) {
    /// if server.plugout("rooms") {
    ///     println!("rooms removed");
    /// }
    /// # }
    /// ```
    pub fn plugout(&self, name: &str) -> bool {
        let removed = self
            .core
            .pipeline
            .plugins
            .update(|set| match set.remove(name) {
                true => Ok(()),
                false => Err(()),
            })
            .is_ok();
        if removed {
            tracing::info!(plugin = name, "plugin removed");
            self.core.pipeline.handlers.plugin_event(name, false);
        }
        removed
    }

    /// The browser parts of the active plugins, each wrapped as
    /// `(function (Primus) { … })(Primus);`, in the order the plugins were
    /// added: what the served client library appends.
    pub fn plugin_scripts(&self) -> String {
        self.core.plugin_scripts()
    }

    /// The middleware stack, to change it at run time (see
    /// [middleware](mod@crate::middleware)).
    pub fn middleware(&self) -> Stack {
        self.core.middleware.clone()
    }

    /// The names of the active plugins, in the order they were added.
    pub fn plugins(&self) -> Vec<&'static str> {
        self.core
            .pipeline
            .plugins
            .current()
            .plugins
            .iter()
            .map(|p| p.name)
            .collect()
    }

    /// The pathname Primus answers under.
    pub fn pathname(&self) -> &str {
        &self.core.config.pathname
    }

    /// The server's parser.
    pub fn parser(&self) -> &Arc<dyn Parser> {
        &self.core.pipeline.parser
    }

    /// The name of the server's transformer, as published in `/spec`.
    pub fn transformer_name(&self) -> &'static str {
        self.core.transformer.name()
    }

    /// Where sparks are known and messages delivered (see [`crate::cluster`]).
    pub fn broadcast(&self) -> &Arc<dyn Broadcast> {
        &self.core.pipeline.broadcast
    }

    /// Number of connected sparks.
    pub fn connected(&self) -> usize {
        self.broadcast().len()
    }

    /// The spark with this id, if it is connected.
    pub fn spark(&self, id: &str) -> Option<Spark> {
        self.broadcast().spark(id)
    }

    /// Broadcasts `value` to every connected spark. The value is encoded
    /// **once** and the same frame is queued for each spark (with outgoing
    /// transforms active, it is transformed and encoded per spark). Returns
    /// how many sparks it was queued for.
    pub fn write<T: Serialize + ?Sized>(&self, value: &T) -> Result<usize, ParserError> {
        self.write_to(value, &Target::all())
    }

    /// Sends `value` to the sparks `target` names (everyone, rooms, one
    /// spark, minus some), encoded once; returns how many sparks of this
    /// process it was queued for.
    ///
    /// ```no_run
    /// # fn demo(server: primus::Server, sender: primus::Spark) -> Result<(), primus::parser::ParserError> {
    /// use primus::cluster::Target;
    /// server.write_to(&"hello lobby", &Target::room("lobby").except(sender.id()))?;
    /// # Ok(()) }
    /// ```
    pub fn write_to<T: Serialize + ?Sized>(&self, value: &T, target: &Target) -> Result<usize, ParserError> {
        let pipeline = &self.core.pipeline;
        let message = match Outbound::encode(value, &*pipeline.parser, pipeline.encodes_per_spark())? {
            // Sent to many: wrapped once by the transports that wrap.
            Outbound::Frame(frame) if target.spark_id().is_none() => Outbound::Frame(frame.shared()),
            message => message,
        };
        let reached = pipeline.broadcast.deliver(&message, target);
        crate::telemetry::fanout(reached);
        Ok(reached)
    }

    /// The sparks in `room`, to add rooms to (a union) and rooms or sparks
    /// to leave out, then [`emit`](Recipients::emit) a typed event or
    /// [`write`](Recipients::write) a value to them, encoded once.
    /// Membership is the broadcast seam's (see the
    /// [`Rooms`](crate::plugins::Rooms) plugin for `join`/`leave`).
    ///
    /// ```no_run
    /// # #[primus::event] enum Chat { Said(String) }
    /// # fn demo(server: primus::Server) -> Result<(), primus::parser::ParserError> {
    /// server.to("rust").to("go").except_room("muted").emit(&Chat::Said("hi".into()))?;
    /// # Ok(()) }
    /// ```
    pub fn to(&self, room: impl Into<String>) -> Recipients {
        Recipients::new(self.clone(), Target::room(room))
    }

    /// Every connected spark, as [`Recipients`] (to leave rooms or sparks
    /// out, or to [`request`](Recipients::request) a reply from each).
    ///
    /// ```no_run
    /// # #[primus::event] #[derive(Clone)] enum Poll { #[primus(reply = bool)] Ready }
    /// # async fn demo(server: primus::Server) {
    /// let replies = server.everyone().except_room("bots").request(Poll::ready(), std::time::Duration::from_secs(5)).await;
    /// # }
    /// ```
    pub fn everyone(&self) -> Recipients {
        Recipients::new(self.clone(), Target::all())
    }

    /// Broadcasts `value` to every connected spark, **volatile**: a spark
    /// whose outbound queue is more than half full misses it instead of
    /// being disconnected, and the broadcast does not slow down the handler
    /// that makes it (see [`Target::volatile`]). Returns how many sparks it
    /// was queued for.
    ///
    /// The two broadcast policies: [`write`](Self::write) is **reliable**
    /// (every open spark gets every message, in order; the sender's handler
    /// is paced while receivers drain, and a receiver whose queue still
    /// fills up is closed with reconnect as a slow consumer);
    /// `write_volatile` is **lossy** (for state that the next message
    /// replaces: positions, presence, tickers; a burst of any size never
    /// disconnects anyone).
    ///
    /// ```no_run
    /// # fn demo(server: primus::Server) -> Result<(), primus::parser::ParserError> {
    /// for tick in 0..10_000 {
    ///     server.write_volatile(&serde_json::json!({ "tick": tick }))?;
    /// }
    /// # Ok(()) }
    /// ```
    pub fn write_volatile<T: Serialize + ?Sized>(&self, value: &T) -> Result<usize, ParserError> {
        self.write_to(value, &Target::all().volatile())
    }

    /// Ends every spark `target` names, on every node of a cluster, for
    /// good (`primus::server::close`, as [`Spark::end`]); returns how many
    /// sparks of this process were ended.
    ///
    /// ```no_run
    /// # fn demo(server: primus::Server) {
    /// use primus::cluster::Target;
    /// server.end_sparks(&Target::spark("a-spark-id")); // wherever it is connected
    /// server.end_sparks(&Target::room("banned"));
    /// # }
    /// ```
    pub fn end_sparks(&self, target: &Target) -> usize {
        self.broadcast().end(
            target,
            CloseRequest {
                announce: true,
                code: None,
            },
        )
    }

    /// How many sparks are connected across the cluster (this process
    /// alone without one), with how many nodes answered in time.
    ///
    /// ```no_run
    /// # async fn demo(server: primus::Server) {
    /// let answer = server.connected_everywhere().await;
    /// if !answer.is_complete() {
    ///     tracing::warn!(missing = answer.nodes_expected - answer.nodes_answered, "partial count");
    /// }
    /// println!("{} connected", answer.value);
    /// # }
    /// ```
    pub async fn connected_everywhere(&self) -> ClusterAnswer<usize> {
        self.broadcast().connected_everywhere().await
    }

    /// The ids of the sparks in `room` across the cluster, sorted, with how
    /// many nodes answered in time.
    ///
    /// ```no_run
    /// # async fn demo(server: primus::Server) {
    /// let lobby = server.room_members_everywhere("lobby").await;
    /// println!("{} in the lobby", lobby.value.len());
    /// # }
    /// ```
    pub async fn room_members_everywhere(&self, room: &str) -> ClusterAnswer<Vec<Arc<str>>> {
        self.broadcast().members_everywhere(room).await
    }

    /// Broadcasts an encoded frame; returns how many sparks it was queued for.
    pub fn write_frame(&self, frame: &Frame) -> usize {
        self.broadcast()
            .deliver(&Outbound::Frame(frame.clone().shared()), &Target::all())
    }

    /// Calls `visit` for every connected spark until it returns
    /// `ControlFlow::Break`. The set is a snapshot: sparks that connect during
    /// the iteration are not visited.
    pub fn for_each(&self, mut visit: impl FnMut(&Spark) -> ControlFlow<()>) {
        for spark in self.sparks() {
            if visit(&spark).is_break() {
                break;
            }
        }
    }

    /// A snapshot of the connected sparks.
    pub fn sparks(&self) -> Vec<Spark> {
        self.broadcast().sparks()
    }

    /// Shuts down: stops the heartbeat, waits `timeout`, ends every spark
    /// (with or without `primus::server::close`), waits until every
    /// connection has closed and its `disconnection` handlers have run (at
    /// most `drain`), leaves the cluster (see [`Broadcast::shutdown`]), then
    /// stops the listeners when `close` is set.
    pub async fn destroy(&self, options: Destroy) {
        self.core.lifecycle.send_replace(Lifecycle::Destroying);
        if !options.timeout.is_zero() {
            tokio::time::sleep(options.timeout).await;
        }
        let request = CloseRequest {
            announce: !options.reconnect,
            code: None,
        };
        // Before the walk: a spark registered after it sees the request
        // (see `PipelineHost::opened`).
        let request = *self.core.closing.get_or_init(|| request);
        for spark in self.sparks() {
            spark.note_disconnect(DisconnectReason::Shutdown);
            spark.close(request);
        }
        let live = &self.core.pipeline.live;
        if !live.drained(options.drain).await {
            tracing::warn!(
                running = live.count(),
                drain = ?options.drain,
                "destroy: connections still running after the drain time"
            );
        }
        // A cluster leaves cleanly (its node and sparks out of the registry).
        self.broadcast().shutdown().await;
        if options.close || options.reconnect {
            self.core.lifecycle.send_replace(Lifecycle::Closed);
        }
    }

    /// True once [`destroy`](Self::destroy) was called.
    pub fn is_destroyed(&self) -> bool {
        *self.core.lifecycle.borrow() != Lifecycle::Running
    }

    /// A tower layer that serves Primus in front of another service (such as
    /// an axum [`Router`](axum::Router)). When you run `axum::serve` yourself, set
    /// `TCP_NODELAY` on accepted sockets as [`Server::serve`] does
    /// (`axum::serve::ListenerExt::tap_io(listener, |tcp| { let _ = tcp.set_nodelay(true); })`),
    /// or small replies wait for Nagle's algorithm; or serve the app with
    /// [`serve_app`](Self::serve_app), which does that and applies the
    /// connection caps and timeouts.
    pub fn layer(&self) -> PrimusLayer {
        PrimusLayer::new(self.clone())
    }

    /// An axum router that only serves Primus (everything else is 404).
    pub fn router(&self) -> axum::Router {
        axum::Router::new()
            .fallback(|| async { ::http::StatusCode::NOT_FOUND })
            .layer(self.layer())
    }

    /// Binds `addr` and serves until [`destroy`](Self::destroy).
    pub async fn listen(&self, addr: impl ToSocketAddrs) -> std::io::Result<()> {
        let listener = TcpListener::bind(addr).await?;
        self.serve(listener).await
    }

    /// Serves on an already bound listener until [`destroy`](Self::destroy),
    /// with the connection cap, the handshake timeout and the head size
    /// limit of the [`listener`](crate::server::Limits) (HTTP/1.1 only).
    pub async fn serve(&self, listener: TcpListener) -> std::io::Result<()> {
        let local = listener.local_addr()?;
        tracing::info!(address = %local, pathname = self.pathname(), "primus listening");
        listener::serve(self, listener, self.router(), self.core.config.limits, None).await
    }

    /// Serves a whole axum app (pages, APIs, and this server's
    /// [`layer`](Self::layer) in it) on an already bound listener with the
    /// same accept loop as [`serve`](Self::serve): the connection caps,
    /// the handshake timeout, the head size limit, `TCP_NODELAY`, and an end
    /// at [`destroy`](Self::destroy). Handlers of the app can take
    /// `ConnectInfo<SocketAddr>`.
    ///
    /// ```no_run
    /// # async fn demo(server: primus::Server) -> std::io::Result<()> {
    /// let app = axum::Router::new()
    ///     .route("/", axum::routing::get(|| async { "hello" }))
    ///     .layer(server.layer());
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
    /// server.serve_app(listener, app).await
    /// # }
    /// ```
    pub async fn serve_app(&self, listener: TcpListener, app: axum::Router) -> std::io::Result<()> {
        let local = listener.local_addr()?;
        tracing::info!(address = %local, pathname = self.pathname(), "primus listening");
        listener::serve(self, listener, app, self.core.config.limits, None).await
    }

    /// Binds `addr` and serves HTTPS and WSS until [`destroy`](Self::destroy)
    /// (feature `tls`).
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
    /// use primus::server::ServerTls;
    ///
    /// let server = primus::Server::builder().build()?;
    /// let tls = ServerTls::from_pem_files("cert.pem", "key.pem")?;
    /// server.listen_tls("0.0.0.0:8443", tls).await?;
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "tls")]
    pub async fn listen_tls(&self, addr: impl ToSocketAddrs, tls: ServerTls) -> std::io::Result<()> {
        let listener = TcpListener::bind(addr).await?;
        self.serve_tls(listener, tls).await
    }

    /// [`serve`](Self::serve) over TLS: every connection's TLS handshake
    /// must finish within the listener's handshake timeout, and the
    /// connection caps count it from its first byte (feature `tls`).
    ///
    /// ```no_run
    /// # async fn demo(server: primus::Server, tls: primus::server::ServerTls) -> std::io::Result<()> {
    /// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    /// server.serve_tls(listener, tls).await
    /// # }
    /// ```
    #[cfg(feature = "tls")]
    pub async fn serve_tls(&self, listener: TcpListener, tls: ServerTls) -> std::io::Result<()> {
        let local = listener.local_addr()?;
        tracing::info!(address = %local, pathname = self.pathname(), tls = true, "primus listening");
        listener::serve(
            self,
            listener,
            self.router(),
            self.core.config.limits,
            Some(tls.acceptor()),
        )
        .await
    }

    /// [`serve_app`](Self::serve_app) over TLS (feature `tls`).
    ///
    /// ```no_run
    /// # async fn demo(server: primus::Server) -> Result<(), Box<dyn std::error::Error>> {
    /// let tls = primus::server::ServerTls::from_pem_files("cert.pem", "key.pem")?;
    /// let app = axum::Router::new().layer(server.layer());
    /// let listener = tokio::net::TcpListener::bind("0.0.0.0:8443").await?;
    /// server.serve_app_tls(listener, app, tls).await?;
    /// # Ok(()) }
    /// ```
    #[cfg(feature = "tls")]
    pub async fn serve_app_tls(
        &self,
        listener: TcpListener,
        app: axum::Router,
        tls: ServerTls,
    ) -> std::io::Result<()> {
        let local = listener.local_addr()?;
        tracing::info!(address = %local, pathname = self.pathname(), tls = true, "primus listening");
        listener::serve(self, listener, app, self.core.config.limits, Some(tls.acceptor())).await
    }

    pub(crate) fn core(&self) -> &Arc<ServerCore> {
        &self.core
    }
}

impl Spark {
    /// The server this spark belongs to, e.g. to broadcast from a handler.
    ///
    /// ```no_run
    /// # fn demo(spark: primus::Spark) {
    /// spark.server().write("someone said something").ok();
    /// # }
    /// ```
    pub fn server(&self) -> Server {
        // Sparks are only made by a server's pipeline, with that server as
        // their hub, so the hub is always a `ServerCore`.
        let core = self
            .hub()
            .clone()
            .into_any()
            .downcast::<ServerCore>()
            .unwrap_or_else(|_| unreachable!("a spark's hub is the server that made it"));
        Server { core }
    }

    /// The sparks in `room` except this one (the sender), as Socket.IO's
    /// `socket.to(room)`: see [`Server::to`].
    ///
    /// ```no_run
    /// # #[primus::event] enum Chat { Said(String) }
    /// # fn demo(spark: primus::Spark) -> Result<(), primus::parser::ParserError> {
    /// spark.to("lobby").emit(&Chat::Said("hello, others".into()))?;
    /// # Ok(()) }
    /// ```
    pub fn to(&self, room: impl Into<String>) -> Recipients {
        Recipients::new(self.server(), Target::room(room).except(self.id()))
    }
}

impl SparkHub for ServerCore {
    fn report(&self, spark: &Spark, error: &SparkError) {
        self.pipeline.report(spark, error);
    }

    fn into_any(self: Arc<Self>) -> Arc<dyn Any + Send + Sync> {
        self
    }
}

impl PipelineHost for ServerCore {
    fn pipeline(&self) -> &Pipeline {
        &self.pipeline
    }

    fn opened(&self, spark: &Spark) {
        if let Some(request) = self.closing.get() {
            spark.note_disconnect(DisconnectReason::Shutdown);
            spark.close(*request);
        }
    }
}

impl ServerCore {
    /// The browser parts of the active plugins (see [`Server::plugin_scripts`]).
    pub(crate) fn plugin_scripts(&self) -> String {
        let set = self.pipeline.plugins.current();
        let mut scripts = String::new();
        for plugin in &set.plugins {
            if let Some(source) = plugin.browser {
                scripts.push_str(&format!(
                    "\n// plugin: {}\n(function (Primus) {{\n{}\n}})(Primus);\n",
                    plugin.name, source
                ));
            }
        }
        scripts
    }

    pub(crate) fn is_running(&self) -> bool {
        *self.lifecycle.borrow() == Lifecycle::Running
    }
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("pathname", &self.pathname())
            .field("parser", &self.parser().name())
            .field("transformer", &self.transformer_name())
            .field("connected", &self.connected())
            .finish()
    }
}
