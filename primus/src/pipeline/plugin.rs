//! Plugins: reusable bundles of transforms, handlers and state (see
//! [`Plugin`]), and the set of plugins a server has added.

use super::extract::StateMap;
use super::handlers::{ConnectionHandler, DisconnectionHandler};
use crate::message::transform::{self, Flow, Packet, TransformError, Transforms};
use crate::spark::Spark;
use serde_json::Value;
use std::future::Future;
use std::sync::Arc;

/// A plugin: a reusable bundle of transforms, handlers and state.
///
/// A plugin implements [`Plugin`]: a **server part** ([`Plugin::server`],
/// run when the plugin is added, with a [`PluginSetup`] to add transforms,
/// connection handlers and state) and a **browser part**
/// ([`Plugin::browser`], JavaScript appended to the served client library).
/// The Rust client has its own plugin trait, `primus_client::ClientPlugin`.
///
/// Add plugins with [`ServerBuilder::plugin`](crate::ServerBuilder::plugin),
/// at run time with [`Server::plugin`](crate::Server::plugin), or declare
/// them with `#[primus::plugin]` on the `impl Plugin` block (the type must
/// be `Default`) so that `handlers_from_registry` adds them. Names are
/// unique. [`Server::plugout`](crate::Server::plugout) removes a plugin
/// *and what it added* (transforms, handlers), unlike Primus, whose
/// `plugout` leaves them in place.
///
/// Order: plugin transforms and connection handlers run before the
/// application's, in the order the plugins were added; plugin disconnection
/// handlers run after the application's, so application code still sees,
/// say, the rooms a spark was in.
///
/// ```
/// use primus::{Plugin, PluginSetup};
/// use primus::transform::Flow;
///
/// /// Refuses messages larger than 1 KiB once decoded.
/// #[derive(Default)]
/// struct SizeGuard;
///
/// impl Plugin for SizeGuard {
///     fn name(&self) -> &'static str { "size-guard" }
///     fn server(&self, setup: &mut PluginSetup<'_>) {
///         setup.transform_incoming(|_spark, packet| {
///             if packet.data.to_string().len() > 1024 {
///                 return Err(primus::transform::TransformError::new("message too large"));
///             }
///             Ok(Flow::Continue)
///         });
///     }
/// }
/// ```
pub trait Plugin: Send + Sync + 'static {
    /// The unique name (Primus' plugin name).
    fn name(&self) -> &'static str;

    /// The server part: add transforms, handlers and state.
    fn server(&self, setup: &mut PluginSetup<'_>) {
        let _ = setup;
    }

    /// The browser part: JavaScript appended to `<pathname>/primus.js`,
    /// run as `function (Primus) { … }` once the client class is defined.
    fn browser(&self) -> Option<&'static str> {
        None
    }
}

/// What a plugin's server part can add.
pub struct PluginSetup<'a> {
    pub(crate) name: &'static str,
    pub(crate) entry: &'a mut PluginEntry,
    pub(crate) transforms: &'a mut Transforms<Spark>,
    pub(crate) state: &'a mut StateMap,
}

impl PluginSetup<'_> {
    /// Adds a synchronous incoming transform (see [transforms](crate::transform)).
    pub fn transform_incoming<F>(&mut self, transform: F) -> &mut Self
    where
        F: Fn(&Spark, &mut Packet) -> Result<Flow, TransformError> + Send + Sync + 'static,
    {
        self.transforms
            .incoming
            .push(Some(self.name), transform::sync(transform));
        self
    }

    /// Adds an asynchronous incoming transform; `Ok(None)` drops the message.
    pub fn transform_incoming_async<F, Fut>(&mut self, transform: F) -> &mut Self
    where
        F: Fn(Spark, Packet) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Option<Packet>, TransformError>> + Send + 'static,
    {
        self.transforms
            .incoming
            .push(Some(self.name), transform::asynchronous(transform));
        self
    }

    /// Adds a synchronous outgoing transform.
    pub fn transform_outgoing<F>(&mut self, transform: F) -> &mut Self
    where
        F: Fn(&Spark, &mut Packet) -> Result<Flow, TransformError> + Send + Sync + 'static,
    {
        self.transforms
            .outgoing
            .push(Some(self.name), transform::sync(transform));
        self
    }

    /// Adds an asynchronous outgoing transform; `Ok(None)` drops the message.
    pub fn transform_outgoing_async<F, Fut>(&mut self, transform: F) -> &mut Self
    where
        F: Fn(Spark, Packet) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Option<Packet>, TransformError>> + Send + 'static,
    {
        self.transforms
            .outgoing
            .push(Some(self.name), transform::asynchronous(transform));
        self
    }

    /// Runs `handler` for every new spark (before the application's handlers).
    pub fn on_connection<F, Fut>(&mut self, handler: F) -> &mut Self
    where
        F: Fn(Spark) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.entry.connection.push(Arc::new(move |spark| {
            let future = handler(spark);
            Box::pin(async move {
                future.await;
                Ok(())
            })
        }));
        self
    }

    /// Runs `handler` when a spark is gone (after the application's handlers).
    pub fn on_disconnection<F, Fut>(&mut self, handler: F) -> &mut Self
    where
        F: Fn(Spark) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = ()> + Send + 'static,
    {
        self.entry
            .disconnection
            .push(Arc::new(move |spark| Box::pin(handler(spark))));
        self
    }

    /// Recognizes replies to the server's requests
    /// ([`Spark::request`](crate::Spark::request)) that clients send in the
    /// plugin's own wire shape. `reader` gets each incoming message (decoded
    /// as JSON) while the spark has requests out, and returns the reply in
    /// the typed shape, `{"reply":n,"data":…}` or `{"reply":n,"error":"…"}`,
    /// or `None` when the message is not one. A reply to a number the spark
    /// did not issue stays an ordinary message.
    ///
    /// Readers run as each message arrives, before incoming transforms
    /// (transforms run in the spark's handler queue, which a handler waiting
    /// for its reply holds), and only while one of the spark's requests
    /// waits: a reply that comes after its request timed out passes as an
    /// ordinary message. With several plugins, the first reader that
    /// recognizes a message wins.
    ///
    /// ```
    /// use primus::{Plugin, PluginSetup};
    /// use serde_json::{json, Value};
    ///
    /// /// Clients answer requests with `{"answer":n,"value":…}`.
    /// #[derive(Default)]
    /// struct Answers;
    ///
    /// impl Plugin for Answers {
    ///     fn name(&self) -> &'static str { "answers" }
    ///     fn server(&self, setup: &mut PluginSetup<'_>) {
    ///         setup.read_replies(|_spark, message: &Value| {
    ///             let id = message.get("answer")?.as_u64()?;
    ///             Some(json!({"reply": id, "data": message.get("value")?}))
    ///         });
    ///     }
    /// }
    /// ```
    pub fn read_replies<F>(&mut self, reader: F) -> &mut Self
    where
        F: Fn(&Spark, &Value) -> Option<Value> + Send + Sync + 'static,
    {
        self.entry.reply_readers.push(Arc::new(reader));
        self
    }

    /// Adds state that handlers (and the plugin's own helpers) read with
    /// `State<T>` or [`Server::state`](crate::Server::state).
    pub fn state<T: Clone + Send + Sync + 'static>(&mut self, value: T) -> &mut Self {
        self.state.insert(value);
        self
    }
}

/// A plugin's reader of replies in its own wire shape
/// ([`PluginSetup::read_replies`]).
pub(crate) type ReplyReader = Arc<dyn Fn(&Spark, &Value) -> Option<Value> + Send + Sync>;

/// What one active plugin added.
#[derive(Clone, Default)]
pub(crate) struct PluginEntry {
    pub(crate) name: &'static str,
    pub(crate) browser: Option<&'static str>,
    pub(crate) connection: Vec<ConnectionHandler>,
    pub(crate) disconnection: Vec<DisconnectionHandler>,
    pub(crate) reply_readers: Vec<ReplyReader>,
}

/// The active plugins and every transform (plugins' and the builder's).
#[derive(Clone, Default)]
pub(crate) struct PluginSet {
    pub(crate) plugins: Vec<PluginEntry>,
    pub(crate) transforms: Transforms<Spark>,
}

/// Why a plugin could not be added.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PluginError {
    /// A plugin with this name is already active.
    #[error("a plugin named `{0}` is already added; plugin names are unique (`plugout` it first)")]
    Duplicate(&'static str),
    /// The name is empty.
    #[error("a plugin name cannot be empty")]
    EmptyName,
}

impl PluginSet {
    /// Runs the plugin's server part and records what it added.
    pub(crate) fn add(&mut self, plugin: &dyn Plugin, state: &mut StateMap) -> Result<(), PluginError> {
        let name = plugin.name();
        if name.is_empty() {
            return Err(PluginError::EmptyName);
        }
        if self.plugins.iter().any(|p| p.name == name) {
            return Err(PluginError::Duplicate(name));
        }
        let mut entry = PluginEntry {
            name,
            browser: plugin.browser(),
            ..PluginEntry::default()
        };
        let mut added = Transforms::default();
        plugin.server(&mut PluginSetup {
            name,
            entry: &mut entry,
            transforms: &mut added,
            state,
        });
        self.transforms.incoming.insert_plugin_steps(added.incoming);
        self.transforms.outgoing.insert_plugin_steps(added.outgoing);
        self.plugins.push(entry);
        Ok(())
    }

    /// Removes a plugin and everything it added; false if there is none.
    pub(crate) fn remove(&mut self, name: &str) -> bool {
        let before = self.plugins.len();
        self.plugins.retain(|p| p.name != name);
        self.transforms.incoming.remove_owner(name);
        self.transforms.outgoing.remove_owner(name);
        self.plugins.len() != before
    }
}
