//! What can go wrong on a spark.

use crate::message::transform::TransformError;
use crate::parser::ParserError;

/// A boxed error, as returned by fallible handlers.
///
/// ```
/// let error: primus::BoxError = "the room is full".into();
/// assert_eq!(error.to_string(), "the room is full");
/// ```
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// Why a write did not happen.
///
/// ```
/// let error = primus::spark::WriteError::QueueFull { budget: 1_048_576 };
/// assert_eq!(error.to_string(), "the outbound queue of 1048576 bytes is full; the spark is being closed");
/// ```
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The spark was already ended; nothing is sent (Primus' `write` returns false).
    #[error("the spark is closed")]
    Closed,
    /// The value could not be encoded by the server's parser.
    #[error(transparent)]
    Encode(#[from] ParserError),
    /// The outbound queue was full; the spark is being closed (see the
    /// [slow consumer policy](crate::spark#the-outbound-queue-and-slow-consumers)).
    #[error("the outbound queue of {budget} bytes is full; the spark is being closed")]
    QueueFull {
        /// The queue's budget in bytes.
        budget: usize,
    },
    /// A volatile write was dropped: the spark's outbound queue held more
    /// than half its budget. The spark stays connected.
    #[error("volatile write dropped: the spark's outbound queue is busy")]
    Dropped,
}

/// An error on a spark, reported to the server's `error` handlers and logged.
///
/// ```
/// let error = primus::spark::SparkError::PayloadTooLarge { limit: 1024 };
/// assert_eq!(error.to_string(), "Max payload size exceeded (limit 1024 bytes)");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SparkError {
    /// A frame could not be decoded; it was dropped, the connection stays up.
    #[error(transparent)]
    Decode(#[from] ParserError),
    /// A frame was larger than `max_length`; the connection was closed (1009).
    #[error("Max payload size exceeded (limit {limit} bytes)")]
    PayloadTooLarge {
        /// The configured `max_length`.
        limit: usize,
    },
    /// The client sent `limit` messages that could not be decoded; the
    /// spark was ended (close code 1008).
    #[error("{limit} invalid messages; the connection was closed")]
    TooManyInvalid {
        /// The configured `max_invalid_frames`.
        limit: u32,
    },
    /// The server's budget for partly received messages was spent while
    /// this client sent a large message; the connection was closed (1009).
    #[error("the server's budget for partly received messages ({limit} bytes) is spent")]
    PartialMessagesBudget {
        /// The configured `partial_messages_budget`.
        limit: usize,
    },
    /// A `connection` handler failed; the spark was ended.
    #[error("connection handler failed: {0}")]
    Connection(#[source] BoxError),
    /// The client did not read fast enough: its outbound queue reached its
    /// byte budget; the spark was ended with reconnect.
    #[error("slow consumer: the outbound queue of {budget} bytes is full")]
    SlowConsumer {
        /// The queue's budget in bytes.
        budget: usize,
    },
    /// The client's socket accepted nothing for a whole heartbeat interval
    /// (it stopped reading); the spark was ended with reconnect.
    #[error("stalled: the client has not read for {waited:?}")]
    Stalled {
        /// How long the write had been blocked.
        waited: std::time::Duration,
    },
    /// A handler failed, or could not be called (e.g. a typed payload that
    /// does not match its event).
    #[error("{0}")]
    Handler(#[source] BoxError),
    /// A transform refused a message; it was dropped.
    #[error("transform refused the message: {0}")]
    Transform(#[from] TransformError),
    /// The transport failed (socket error, protocol violation).
    #[error("transport error: {0}")]
    Transport(String),
}

impl SparkError {
    /// A short name of the kind of error, for metrics and logs
    /// (`slow_consumer`, `handler`, …).
    ///
    /// ```
    /// let error = primus::spark::SparkError::SlowConsumer { budget: 1024 };
    /// assert_eq!(error.kind(), "slow_consumer");
    /// ```
    pub fn kind(&self) -> &'static str {
        match self {
            SparkError::Decode(_) => "decode",
            SparkError::PayloadTooLarge { .. } => "payload_too_large",
            SparkError::TooManyInvalid { .. } => "too_many_invalid",
            SparkError::PartialMessagesBudget { .. } => "partial_messages_budget",
            SparkError::Connection(_) => "connection",
            SparkError::SlowConsumer { .. } => "slow_consumer",
            SparkError::Stalled { .. } => "stalled",
            SparkError::Handler(_) => "handler",
            SparkError::Transform(_) => "transform",
            SparkError::Transport(_) => "transport",
        }
    }
}
