//! Client plugins and message transforms.
//!
//! The client runs transforms like the server does (see
//! [`primus::transform`]): incoming ones on every data message before it is
//! routed (replies, handlers, the event stream), outgoing ones on every
//! `write`/`send`/`request` right before it is sent (after a reconnect, for
//! queued writes), never on control messages. Plugin transforms run first,
//! in the order the plugins were added, then the builder's.
//!
//! ```no_run
//! use primus::transform::Flow;
//! use primus_client::{Client, ClientPlugin, ClientPluginSetup};
//!
//! /// Adds a client timestamp to every outgoing object.
//! struct Stamp;
//!
//! impl ClientPlugin for Stamp {
//!     fn name(&self) -> &'static str { "stamp" }
//!     fn client(&self, setup: &mut ClientPluginSetup<'_>) {
//!         setup.transform_outgoing(|packet| {
//!             if let Some(object) = packet.data.as_object_mut() {
//!                 object.insert("sent_at".into(), 1.into());
//!             }
//!             Ok(Flow::Continue)
//!         });
//!     }
//! }
//!
//! # fn demo() -> Result<(), primus_client::ClientError> {
//! let (client, events) = Client::builder("http://127.0.0.1:8080").plugin(Stamp).connect()?;
//! # Ok(()) }
//! ```

use primus::transform::{self, Flow, Packet, TransformError, Transforms};
use std::future::Future;

/// A client plugin: the Rust client part of a plugin.
pub trait ClientPlugin: Send + Sync + 'static {
    /// The unique name.
    fn name(&self) -> &'static str;
    /// Adds transforms.
    fn client(&self, setup: &mut ClientPluginSetup<'_>);
}

/// What a client plugin can add.
pub struct ClientPluginSetup<'a> {
    pub(crate) owner: Option<&'static str>,
    pub(crate) transforms: &'a mut Transforms<()>,
}

impl ClientPluginSetup<'_> {
    /// Adds a synchronous incoming transform.
    pub fn transform_incoming<F>(&mut self, transform: F) -> &mut Self
    where
        F: Fn(&mut Packet) -> Result<Flow, TransformError> + Send + Sync + 'static,
    {
        self.transforms.incoming.push(
            self.owner,
            transform::sync(move |_: &(), packet| transform(packet)),
        );
        self
    }

    /// Adds an asynchronous incoming transform; `Ok(None)` drops the message.
    pub fn transform_incoming_async<F, Fut>(&mut self, transform: F) -> &mut Self
    where
        F: Fn(Packet) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Option<Packet>, TransformError>> + Send + 'static,
    {
        self.transforms.incoming.push(
            self.owner,
            transform::asynchronous(move |(), packet| transform(packet)),
        );
        self
    }

    /// Adds a synchronous outgoing transform.
    pub fn transform_outgoing<F>(&mut self, transform: F) -> &mut Self
    where
        F: Fn(&mut Packet) -> Result<Flow, TransformError> + Send + Sync + 'static,
    {
        self.transforms.outgoing.push(
            self.owner,
            transform::sync(move |_: &(), packet| transform(packet)),
        );
        self
    }

    /// Adds an asynchronous outgoing transform; `Ok(None)` drops the message.
    pub fn transform_outgoing_async<F, Fut>(&mut self, transform: F) -> &mut Self
    where
        F: Fn(Packet) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Option<Packet>, TransformError>> + Send + 'static,
    {
        self.transforms.outgoing.push(
            self.owner,
            transform::asynchronous(move |(), packet| transform(packet)),
        );
        self
    }
}
