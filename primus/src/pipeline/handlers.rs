//! The handlers of one server, and the order they run in (documented for
//! users on [`Server`](crate::Server#handler-order)).

use crate::lock::lock;
use crate::message::envelope::{Envelope, OutgoingReply};
use crate::message::Message;
use crate::spark::BoxError;
use crate::spark::{Spark, SparkError};
use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};

pub(crate) type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send + 'static>>;

pub(crate) type ConnectionHandler = Arc<dyn Fn(Spark) -> BoxFuture<Result<(), BoxError>> + Send + Sync>;
pub(crate) type DisconnectionHandler = Arc<dyn Fn(Spark) -> BoxFuture<()> + Send + Sync>;
pub(crate) type DataHandler = Arc<dyn Fn(Spark, Message) -> BoxFuture<()> + Send + Sync>;
pub(crate) type ErrorHandler = Arc<dyn Fn(&Spark, &SparkError) + Send + Sync>;
/// A typed event's handler, with the glue that decodes its payload (made
/// by the glue in `typed`); the `Option<u64>` is the request number.
pub(crate) type EventCall = Arc<dyn Fn(Spark, Message, Option<u64>) -> BoxFuture<()> + Send + Sync>;

/// All handlers of one server, fixed when it is built.
#[derive(Default, Clone)]
pub(crate) struct Handlers {
    pub(crate) connection: Vec<ConnectionHandler>,
    pub(crate) disconnection: Vec<DisconnectionHandler>,
    pub(crate) data: Vec<DataHandler>,
    pub(crate) error: Vec<ErrorHandler>,
    /// Typed event handlers by wire name (one per event).
    pub(crate) events: HashMap<&'static str, EventCall>,
    /// Listeners of plugins being added.
    pub(crate) plugin_added: Vec<PluginListener>,
    /// Listeners of plugins being removed.
    pub(crate) plugin_removed: Vec<PluginListener>,
    /// Events asked for that have no handler, logged once each.
    unknown_events: Arc<UnknownEvents>,
}

/// The names of requested events that have no handler, each logged once.
/// At most [`UnknownEvents::REMEMBERED`] names are kept (clients choose the
/// names); later new names are logged at debug level.
#[derive(Default)]
struct UnknownEvents(Mutex<HashSet<String>>);

impl UnknownEvents {
    const REMEMBERED: usize = 64;

    /// True the first time `name` is seen (while there is room to remember it).
    fn first_time(&self, name: &str) -> bool {
        let mut names = lock(&self.0);
        if names.len() >= Self::REMEMBERED || names.contains(name) {
            return false;
        }
        names.insert(name.to_owned())
    }
}

/// True when no `tracing` subscriber is installed, for this thread or
/// globally: log lines would go nowhere.
fn no_log_subscriber() -> bool {
    tracing::dispatcher::get_default(|dispatch| dispatch.is::<tracing::subscriber::NoSubscriber>())
}

/// At most this many characters of a client's event name are echoed back.
const ECHOED_NAME_CHARS: usize = 64;

pub(crate) type PluginListener = Arc<dyn Fn(&str) + Send + Sync>;

/// Errors of one spark logged at WARN; later ones are logged at DEBUG.
pub(crate) const WARNINGS_PER_SPARK: u32 = 10;

impl Handlers {
    /// Runs the connection handlers in order; stops at the first error.
    pub(crate) fn connection(self: &Arc<Self>, spark: Spark) -> Option<BoxFuture<Result<(), BoxError>>> {
        if self.connection.is_empty() {
            return None;
        }
        let handlers = self.clone();
        Some(Box::pin(async move {
            for handler in &handlers.connection {
                handler(spark.clone()).await?;
            }
            Ok(())
        }))
    }

    /// Routes one message: to the typed handlers of its event when it is a
    /// typed event with handlers, otherwise to the `data` handlers.
    /// `envelope` is the message's envelope when the caller already decoded
    /// it (see [`Handlers::wants_envelope`]).
    pub(crate) fn message(
        self: &Arc<Self>,
        spark: &Spark,
        message: Message,
        envelope: Option<Envelope>,
    ) -> Option<BoxFuture<()>> {
        if !self.events.is_empty() {
            let envelope = match envelope {
                Some(envelope) => Ok(envelope),
                None => message.decode::<Envelope>(),
            };
            if let Ok(Envelope {
                event: Some(name),
                request,
                ..
            }) = envelope
            {
                if let Some(call) = self.events.get(name.as_str()) {
                    return Some(call(spark.clone(), message, request));
                }
                if let Some(id) = request {
                    self.no_handler(spark, &name, id);
                }
            }
        }
        self.data(spark, message)
    }

    /// Answers a request for an event that has no handler at once (rather
    /// than leaving the client to its timeout), and logs the name once. The
    /// message still goes to the `data` handlers.
    fn no_handler(&self, spark: &Spark, name: &str, request: u64) {
        let shown: String = name.chars().take(ECHOED_NAME_CHARS).collect();
        let text = format!("no handler for event \"{shown}\"");
        let _ = spark.write(&OutgoingReply::failure(request, &text));
        if self.unknown_events.first_time(name) {
            tracing::warn!(spark = spark.id(), event = ?shown, "a request for an event without a handler (logged once per event)");
        } else {
            tracing::debug!(spark = spark.id(), event = ?shown, "a request for an event without a handler");
        }
    }

    /// True when messages are routed by their envelope (there are typed
    /// handlers), so decoding it early saves work.
    pub(crate) fn wants_envelope(&self) -> bool {
        !self.events.is_empty()
    }

    /// Runs the data handlers for one message, in order.
    fn data(self: &Arc<Self>, spark: &Spark, message: Message) -> Option<BoxFuture<()>> {
        match self.data.as_slice() {
            [] => None,
            [only] => Some(only(spark.clone(), message)),
            _ => {
                let handlers = self.clone();
                let spark = spark.clone();
                Some(Box::pin(async move {
                    for handler in &handlers.data {
                        handler(spark.clone(), message.clone()).await;
                    }
                }))
            }
        }
    }

    /// Runs the disconnection handlers in order.
    pub(crate) async fn disconnection(&self, spark: &Spark) {
        for handler in &self.disconnection {
            handler(spark.clone()).await;
        }
    }

    /// Tells the `plugin`/`plugout` listeners.
    pub(crate) fn plugin_event(&self, name: &str, added: bool) {
        let listeners = if added {
            &self.plugin_added
        } else {
            &self.plugin_removed
        };
        for listener in listeners {
            listener(name);
        }
    }

    /// Reports an error: to every error handler, and to the log.
    pub(crate) fn error(&self, spark: &Spark, error: &SparkError) {
        crate::telemetry::spark_error(error.kind());
        // Rate-limited per spark: a client can cause errors at will, the log
        // must not grow with them. The text is escaped (`?`): it may carry
        // what the client sent, newlines and escape sequences included.
        match spark.count_warning() {
            n if n <= WARNINGS_PER_SPARK => {
                if n < WARNINGS_PER_SPARK {
                    tracing::warn!(spark = spark.id(), error = ?error.to_string(), "spark error")
                } else {
                    tracing::warn!(
                        spark = spark.id(),
                        error = ?error.to_string(),
                        "spark error (further errors of this spark are logged at debug level)"
                    )
                }
                if no_log_subscriber() {
                    // Nobody would see the warning: an app that has not set
                    // up logging still learns that a handler failed.
                    eprintln!("primus: spark {} error: {:?}", spark.id(), error.to_string());
                }
            }
            _ => tracing::debug!(spark = spark.id(), error = ?error.to_string(), "spark error"),
        }
        for handler in &self.error {
            handler(spark, error);
        }
    }
}
