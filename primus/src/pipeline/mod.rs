//! The pipeline: the life of one connection, whatever carries it.
//!
//! A transformer owns a socket (or a polling session) and nothing else. It
//! opens a [`Connection`] through the [`Connector`] the server gives it,
//! feeds it incoming frames, writes the frames it hands out, and closes
//! when asked. Everything in between happens here, the same for every
//! transport:
//!
//! * **in**: control messages (`primus::pong::…` marks the spark alive,
//!   `primus::id::` is answered), incoming transforms, typed routing, and
//!   the handlers, run one message at a time per spark, in order, with data
//!   that arrives meanwhile queued (the `handlers` module documents the order);
//! * **out**: the spark's bounded outbound queue, outgoing transforms, and
//!   encoding (once per message unless transforms need the value);
//! * **lifecycle**: the spark is registered with the server's
//!   [`Broadcast`] when the connection opens, removed when it ends, and the
//!   `disconnection` handlers run after the last message was handled.
//!
//! The pipeline never sees a socket, so a polling transport fits the same
//! seam as a WebSocket, and so does the in-memory transformer the tests use
//! ([`crate::transformer::memory`]).

mod active_plugins;
mod connection;
mod connector;
mod dispatch;
pub(crate) mod extract;
pub(crate) mod handlers;
mod inbound_budget;
pub(crate) mod live_connections;
pub(crate) mod plugin;
pub(crate) mod public_error;
mod recovery;
pub(crate) mod typed;

pub(crate) use self::active_plugins::ActivePlugins;
pub use self::connection::{CloseWatch, Connection, Work};
pub use self::connector::{ConnectionRequest, Connector, OpenError};
pub use self::inbound_budget::{BudgetSpent, InboundBudget};
pub use self::recovery::ConnectionRecovery;

use self::handlers::Handlers;
use self::live_connections::LiveConnections;
use self::recovery::Recovery;
use crate::cluster::Broadcast;
use crate::parser::Parser;
use crate::spark::hub::SparkHub;
use crate::spark::{generate_id, Spark, SparkError};
use crate::wire::{protocol, Frame};
use std::sync::Arc;
use std::time::Duration;

/// How long a closing connection may take to write what was queued (and
/// to wait for the client's close) before it is dropped.
pub const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// Makes spark ids (the builder's `id_generator`).
pub(crate) type IdGenerator = Arc<dyn Fn() -> String + Send + Sync>;

/// What every connection of one server shares.
pub(crate) struct Pipeline {
    pub(crate) parser: Arc<dyn Parser>,
    pub(crate) handlers: Arc<Handlers>,
    pub(crate) plugins: Arc<ActivePlugins>,
    pub(crate) broadcast: Arc<dyn Broadcast>,
    pub(crate) id_generator: Option<IdGenerator>,
    /// Largest accepted message, in bytes.
    pub(crate) max_length: usize,
    /// Budget of each spark's outbound queue, in bytes.
    pub(crate) send_queue_bytes: usize,
    /// Invalid messages a spark may send before it is closed (1008).
    pub(crate) max_invalid_frames: u32,
    /// Bytes of partly received messages, across all connections.
    pub(crate) partial_messages_budget: usize,
    /// Messages of one spark handled at once (1: one after another).
    pub(crate) handler_concurrency: usize,
    /// `primus::server::close`, encoded once.
    pub(crate) server_close: Frame,
    /// Connections still running (open or finishing).
    pub(crate) live: Arc<LiveConnections>,
    /// Connection state recovery, when on.
    pub(crate) recovery: Option<Arc<Recovery>>,
}

/// The byte and count limits every connection of one server obeys.
pub(crate) struct PipelineLimits {
    /// Largest accepted message, in bytes.
    pub(crate) max_length: usize,
    /// Budget of each spark's outbound queue, in bytes.
    pub(crate) send_queue_bytes: usize,
    /// Invalid messages a spark may send before it is closed.
    pub(crate) max_invalid_frames: u32,
    /// Bytes of partly received messages, across all connections.
    pub(crate) partial_messages_budget: usize,
    /// Messages of one spark handled at once.
    pub(crate) handler_concurrency: usize,
}

impl Pipeline {
    /// Assembles the pipeline; encodes `primus::server::close` once.
    pub(crate) fn new(
        parser: Arc<dyn Parser>,
        handlers: Handlers,
        plugins: ActivePlugins,
        broadcast: Arc<dyn Broadcast>,
        id_generator: Option<IdGenerator>,
        limits: PipelineLimits,
        recovery: Option<ConnectionRecovery>,
    ) -> Pipeline {
        // A `String` always encodes with the built-in parsers; a custom parser
        // that cannot encode strings cannot speak Primus at all.
        let server_close = parser
            .encode_value(protocol::SERVER_CLOSE)
            .unwrap_or_else(|_| Frame::text(format!("\"{}\"", protocol::SERVER_CLOSE)));
        Pipeline {
            parser,
            handlers: Arc::new(handlers),
            plugins: Arc::new(plugins),
            broadcast,
            id_generator,
            max_length: limits.max_length,
            send_queue_bytes: limits.send_queue_bytes,
            max_invalid_frames: limits.max_invalid_frames,
            partial_messages_budget: limits.partial_messages_budget,
            handler_concurrency: limits.handler_concurrency.max(1),
            server_close,
            live: Arc::default(),
            recovery: recovery.map(Recovery::new),
        }
    }

    /// A fresh spark id.
    pub(crate) fn next_id(&self) -> String {
        match &self.id_generator {
            Some(generate) => generate(),
            None => generate_id(),
        }
    }

    /// True while outgoing transforms are active: values are then encoded
    /// per spark, after its transforms.
    pub(crate) fn encodes_per_spark(&self) -> bool {
        self.plugins.has_outgoing_transforms()
    }

    /// Reports an error of `spark` to the `error` handlers and the log.
    pub(crate) fn report(&self, spark: &Spark, error: &SparkError) {
        self.handlers.error(spark, error);
    }
}

/// The owner of a pipeline (the server): the hub of its sparks.
pub(crate) trait PipelineHost: SparkHub {
    /// The pipeline of this host.
    fn pipeline(&self) -> &Pipeline;

    /// Called once a new spark is registered, before its handlers run, and
    /// when a detached spark is resumed: the host may end it at once (a
    /// server being destroyed does).
    fn opened(&self, spark: &Spark);
}
