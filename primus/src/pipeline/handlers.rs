//! The handlers of one server, and the order they run in (documented for
//! users on [`Server`](crate::Server#handler-order)).

use crate::message::envelope::Envelope;
use crate::message::Message;
use crate::spark::BoxError;
use crate::spark::{Spark, SparkError};
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

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
}

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
            }
        }
        self.data(spark, message)
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
        // Rate-limited per spark: a client can cause errors at will, the log
        // must not grow with them. The text is escaped (`?`): it may carry
        // what the client sent, newlines and escape sequences included.
        match spark.count_warning() {
            n if n < WARNINGS_PER_SPARK => {
                tracing::warn!(spark = spark.id(), error = ?error.to_string(), "spark error")
            }
            n if n == WARNINGS_PER_SPARK => tracing::warn!(
                spark = spark.id(),
                error = ?error.to_string(),
                "spark error (further errors of this spark are logged at debug level)"
            ),
            _ => tracing::debug!(spark = spark.id(), error = ?error.to_string(), "spark error"),
        }
        for handler in &self.error {
            handler(spark, error);
        }
    }
}
