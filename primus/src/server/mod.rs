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
//! [middleware] stack, whose built-in layers can be replaced.

pub mod authorization;
mod builder;
mod client_js;
mod cors;
pub mod extract;
pub mod handlers;
mod heartbeat;
pub(crate) mod http;
pub mod middleware;
pub mod plugin;
pub mod typed;

pub use self::authorization::{AuthError, AuthRequest};
pub use self::builder::{
    BuildError, ConnectionOutcome, ServerBuilder, DEFAULT_MAX_LENGTH, DEFAULT_PING_INTERVAL,
    DEFAULT_SEND_QUEUE_CAPACITY,
};
pub use self::cors::Cors;
pub use self::http::{PrimusLayer, PrimusService};

use self::authorization::Authorizer;
use self::builder::IdGenerator;
use self::extract::StateMap;
use self::handlers::Handlers;
use self::plugin::{ActivePlugins, Plugin, PluginError, PluginSet};
use crate::frame::Frame;
use crate::parser::{Parser, ParserError};
use crate::protocol;
use crate::spark::Spark;
use serde::Serialize;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::ops::ControlFlow;
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::net::{TcpListener, ToSocketAddrs};
use tokio::sync::watch;

/// The version of the Primus protocol spoken, published in `/spec`.
pub const PRIMUS_VERSION: &str = "8.0.9";

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
#[derive(Clone)]
pub struct Server {
    shared: Arc<Shared>,
}

pub(crate) struct Config {
    pub(crate) pathname: String,
    pub(crate) ping_interval: Option<Duration>,
    pub(crate) max_length: usize,
    pub(crate) send_queue_capacity: usize,
    pub(crate) cors: Cors,
    pub(crate) trust_proxy: bool,
    pub(crate) websocket: WebSocketSettings,
}

/// Buffer sizes of the WebSocket transport.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WebSocketSettings {
    pub(crate) read_buffer_size: usize,
    /// Bytes of queued frames that trigger a write before the connection
    /// task is idle (it writes whatever is queued once nothing else is ready).
    pub(crate) write_threshold: usize,
}

impl Default for WebSocketSettings {
    fn default() -> WebSocketSettings {
        // tungstenite's defaults (128 KiB read buffer, zero-filled before
        // each read) cost ~136 KiB per idle connection. 4 KiB holds a typical
        // message; larger messages are read in several steps. Outgoing frames
        // are not copied into a write buffer: the connection keeps the frames
        // themselves and writes them with one vectored write per batch, so
        // the write threshold costs no memory of its own (128 KiB, like
        // tungstenite's write buffer, keeps a burst of large frames in few
        // system calls).
        WebSocketSettings {
            read_buffer_size: 4 * 1024,
            write_threshold: 128 * 1024,
        }
    }
}

/// Lifecycle of the server, watched by the heartbeat and the listeners.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Lifecycle {
    Running,
    Destroying,
    Closed,
}

pub(crate) struct Shared {
    pub(crate) config: Config,
    pub(crate) parser: Arc<dyn Parser>,
    pub(crate) handlers: Arc<Handlers>,
    state: RwLock<StateMap>,
    /// Active plugins and all transforms, replaced as a whole on change.
    pub(crate) plugins: ActivePlugins,
    pub(crate) authorizer: Option<Authorizer>,
    pub(crate) middleware: middleware::Stack,
    id_generator: Option<IdGenerator>,
    sparks: RwLock<HashMap<Arc<str>, Spark>>,
    pub(crate) spec: bytes::Bytes,
    pub(crate) server_close: Frame,
    lifecycle: watch::Sender<Lifecycle>,
}

/// Everything a built server is made of (assembled by the builder).
pub(crate) struct Parts {
    pub(crate) config: Config,
    pub(crate) parser: Arc<dyn Parser>,
    pub(crate) handlers: Handlers,
    pub(crate) state: StateMap,
    pub(crate) plugins: PluginSet,
    pub(crate) middleware: middleware::Stack,
    pub(crate) authorizer: Option<Authorizer>,
    pub(crate) id_generator: Option<IdGenerator>,
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
}

impl Default for Destroy {
    fn default() -> Destroy {
        Destroy {
            close: true,
            reconnect: false,
            timeout: Duration::ZERO,
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
            parser,
            handlers,
            state,
            plugins,
            middleware,
            authorizer,
            id_generator,
        } = parts;
        let spec = spec_json(&config, parser.name());
        // A `String` always encodes with the built-in parsers; a custom parser
        // that cannot encode strings cannot speak Primus at all.
        let server_close = parser
            .encode_value(protocol::SERVER_CLOSE)
            .unwrap_or_else(|_| Frame::text(format!("\"{}\"", protocol::SERVER_CLOSE)));
        let (lifecycle, _) = watch::channel(Lifecycle::Running);
        let ping_interval = config.ping_interval;
        let server = Server {
            shared: Arc::new(Shared {
                config,
                parser,
                handlers: Arc::new(handlers),
                state: RwLock::new(state),
                plugins: ActivePlugins::new(plugins),
                authorizer,
                middleware,
                id_generator,
                sparks: RwLock::new(HashMap::new()),
                spec,
                server_close,
                lifecycle,
            }),
        };
        if let Some(interval) = ping_interval {
            runtime.spawn(heartbeat::run(
                Arc::downgrade(&server.shared),
                interval,
                server.shared.lifecycle.subscribe(),
            ));
        }
        server
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

    /// A clone of the state of type `T` added with [`ServerBuilder::state`].
    pub fn state<T: Clone + Send + Sync + 'static>(&self) -> Option<T> {
        self.shared.state.read().ok()?.get::<T>()
    }

    /// Adds a plugin to the running server: runs its server part now.
    /// Sparks already connected see its transforms from their next message.
    pub fn plugin(&self, plugin: impl Plugin) -> Result<(), PluginError> {
        let name = plugin.name();
        let Ok(mut state) = self.shared.state.write() else {
            return Ok(());
        };
        match self.shared.plugins.update(|set| set.add(&plugin, &mut state)) {
            Some(outcome) => outcome?,
            None => return Ok(()),
        }
        drop(state);
        tracing::info!(plugin = name, "plugin added");
        self.shared.handlers.plugin_event(name, true);
        Ok(())
    }

    /// Removes a plugin and the transforms and handlers it added (state it
    /// added stays). Returns false when no plugin has that name.
    pub fn plugout(&self, name: &str) -> bool {
        let removed = self
            .shared
            .plugins
            .update(|set| match set.remove(name) {
                true => Ok(()),
                false => Err(()),
            })
            .is_some_and(|outcome| outcome.is_ok());
        if removed {
            tracing::info!(plugin = name, "plugin removed");
            self.shared.handlers.plugin_event(name, false);
        }
        removed
    }

    /// The browser parts of the active plugins, each wrapped as
    /// `(function (Primus) { … })(Primus);`, in the order the plugins were
    /// added: what the served client library appends.
    pub fn plugin_scripts(&self) -> String {
        self.shared.plugin_scripts()
    }

    /// The middleware stack, to change it at run time (see
    /// [middleware]).
    pub fn middleware(&self) -> middleware::Stack {
        self.shared.middleware.clone()
    }

    /// The names of the active plugins, in the order they were added.
    pub fn plugins(&self) -> Vec<&'static str> {
        self.shared
            .plugins
            .current()
            .plugins
            .iter()
            .map(|p| p.name)
            .collect()
    }

    /// The pathname Primus answers under.
    pub fn pathname(&self) -> &str {
        &self.shared.config.pathname
    }

    /// The server's parser.
    pub fn parser(&self) -> &Arc<dyn Parser> {
        &self.shared.parser
    }

    /// Number of connected sparks.
    pub fn connected(&self) -> usize {
        self.shared.sparks.read().map_or(0, |s| s.len())
    }

    /// The spark with this id, if it is connected.
    pub fn spark(&self, id: &str) -> Option<Spark> {
        self.shared.sparks.read().ok()?.get(id).cloned()
    }

    /// Broadcasts `value` to every connected spark. The value is encoded
    /// **once** and the same frame is queued for each spark (with outgoing
    /// transforms active, it is transformed and encoded per spark). Returns
    /// how many sparks it was queued for.
    pub fn write<T: Serialize + ?Sized>(&self, value: &T) -> Result<usize, ParserError> {
        if self.shared.outgoing_transforms() {
            let value = serde_json::to_value(value).map_err(ParserError::encode)?;
            let mut reached = 0;
            for spark in self.sparks() {
                if spark
                    .write_packet(crate::transform::Packet { data: value.clone() })
                    .is_ok()
                {
                    reached += 1;
                }
            }
            return Ok(reached);
        }
        let frame = self.shared.parser.encode_value(value)?;
        Ok(self.write_frame(&frame))
    }

    /// Broadcasts an encoded frame; returns how many sparks it was queued for.
    pub fn write_frame(&self, frame: &Frame) -> usize {
        let mut reached = 0;
        self.for_each(|spark| {
            if spark.write_frame(frame.clone()).is_ok() {
                reached += 1;
            }
            ControlFlow::Continue(())
        });
        reached
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
        self.shared.snapshot()
    }

    /// Shuts down: stops the heartbeat, waits `timeout`, ends every spark
    /// (with or without `primus::server::close`), then stops the listeners
    /// when `close` is set.
    pub async fn destroy(&self, options: Destroy) {
        self.shared.lifecycle.send_replace(Lifecycle::Destroying);
        if !options.timeout.is_zero() {
            tokio::time::sleep(options.timeout).await;
        }
        for spark in self.sparks() {
            if options.reconnect {
                spark.end_reconnect();
            } else {
                spark.end();
            }
        }
        if options.close || options.reconnect {
            self.shared.lifecycle.send_replace(Lifecycle::Closed);
        }
    }

    /// True once [`destroy`](Self::destroy) was called.
    pub fn is_destroyed(&self) -> bool {
        *self.shared.lifecycle.borrow() != Lifecycle::Running
    }

    /// A tower layer that serves Primus in front of another service (such as
    /// an axum [`Router`](axum::Router)). When you run `axum::serve` yourself, set
    /// `TCP_NODELAY` on accepted sockets as [`Server::serve`] does
    /// (`axum::serve::ListenerExt::tap_io(listener, |tcp| { let _ = tcp.set_nodelay(true); })`),
    /// or small replies wait for Nagle's algorithm.
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

    /// Serves on an already bound listener until [`destroy`](Self::destroy).
    pub async fn serve(&self, listener: TcpListener) -> std::io::Result<()> {
        let local = listener.local_addr()?;
        tracing::info!(address = %local, pathname = self.pathname(), "primus listening");
        let mut lifecycle = self.shared.lifecycle.subscribe();
        let app = self.router().into_make_service_with_connect_info::<SocketAddr>();
        // Small replies must not wait for Nagle's algorithm.
        let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
            let _ = tcp.set_nodelay(true);
        });
        axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = lifecycle.wait_for(|state| *state == Lifecycle::Closed).await;
            })
            .await
    }

    pub(crate) fn from_shared(shared: Arc<Shared>) -> Server {
        Server { shared }
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }
}

impl Shared {
    pub(crate) fn next_id(&self) -> String {
        match &self.id_generator {
            Some(generate) => generate(),
            None => crate::spark::generate_id(),
        }
    }

    /// Registers a new spark; false when its id is already taken.
    pub(crate) fn register(&self, spark: &Spark) -> bool {
        let Ok(mut sparks) = self.sparks.write() else {
            return false;
        };
        if sparks.contains_key(spark.id()) {
            return false;
        }
        sparks.insert(spark.id_arc(), spark.clone());
        true
    }

    pub(crate) fn unregister(&self, spark: &Spark) {
        if let Ok(mut sparks) = self.sparks.write() {
            if sparks.get(spark.id()).is_some_and(|s| s == spark) {
                sparks.remove(spark.id());
            }
        }
    }

    /// A snapshot of the connected sparks (the lock is not held while the
    /// caller works through them, so handlers may call back into the server).
    pub(crate) fn snapshot(&self) -> Vec<Spark> {
        self.sparks
            .read()
            .map(|s| s.values().cloned().collect())
            .unwrap_or_default()
    }

    /// The browser parts of the active plugins (see [`Server::plugin_scripts`]).
    pub(crate) fn plugin_scripts(&self) -> String {
        let set = self.plugins.current();
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

    /// True while any outgoing transform is active.
    pub(crate) fn outgoing_transforms(&self) -> bool {
        self.plugins.has_outgoing_transforms()
    }

    pub(crate) fn is_running(&self) -> bool {
        *self.lifecycle.borrow() == Lifecycle::Running
    }
}

/// `{"pingInterval":…,"pathname":…,"version":…,"parser":…,"transformer":…}`
/// in Primus' key order.
fn spec_json(config: &Config, parser: &str) -> bytes::Bytes {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Spec<'a> {
        ping_interval: serde_json::Value,
        pathname: &'a str,
        version: &'a str,
        parser: &'a str,
        transformer: &'a str,
    }
    let ping_interval = match config.ping_interval {
        Some(interval) => serde_json::Value::from(interval.as_millis() as u64),
        None => serde_json::Value::Bool(false),
    };
    let spec = Spec {
        ping_interval,
        pathname: &config.pathname,
        version: PRIMUS_VERSION,
        parser,
        transformer: "websockets",
    };
    serde_json::to_vec(&spec)
        .map(bytes::Bytes::from)
        .unwrap_or_default()
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("pathname", &self.pathname())
            .field("parser", &self.shared.parser.name())
            .field("connected", &self.connected())
            .finish()
    }
}
