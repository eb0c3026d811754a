//! Metrics, through the [`metrics`] facade: no exporter is forced on an app.
//! Install any recorder (the chat example serves Prometheus text at
//! `/metrics` with `metrics-exporter-prometheus`); without one every call
//! here does nothing.
//!
//! | metric | kind | labels | what |
//! |---|---|---|---|
//! | `primus_connections_open` | gauge | | connections running now (open, or running their last handlers) |
//! | `primus_connects_total` | counter | `transformer` | connections opened |
//! | `primus_disconnects_total` | counter | `reason` | connections finished, by `DisconnectReason` name: `client`, `ended`, `heartbeat_timeout`, `stalled`, `slow_consumer`, `too_many_invalid`, `too_large`, `shutdown` |
//! | `primus_messages_in_total`, `primus_bytes_in_total` | counter | | messages received from clients, and their bytes |
//! | `primus_messages_out_total`, `primus_bytes_out_total` | counter | | messages handed to the transports for clients, and the bytes of those already encoded |
//! | `primus_spark_errors_total` | counter | `kind` | errors reported on sparks: `handler` (handler errors), `slow_consumer` (queue-full disconnects), `stalled`, `too_many_invalid`, `decode`, … |
//! | `primus_volatile_dropped_total` | counter | | volatile writes dropped because the spark's queue was past half its budget |
//! | `primus_auth_refusals_total` | counter | | requests refused by the authorization hook |
//! | `primus_handler_seconds` | histogram | `event` | time in each typed event's handler |
//! | `primus_broadcast_fanout` | histogram | | sparks of this process a `write`/`write_to` reached |
//! | `primus_sparks_detached` | gauge | | sparks whose connection is lost, kept for their client (connection state recovery) |
//! | `primus_sessions_resumed_total` | counter | | lost sparks taken back by their client |
//! | `primus_sessions_missed_total` | counter | | clients that asked to resume a session that was gone (a new spark each) |
//!
//! Per-connection counters are registered once when the connection opens,
//! and a handler's histogram when its event is first handled, so counting a
//! message is an atomic add, not a lookup. Install the recorder before the
//! first client connects.
//!
//! This module is a ground layer: it imports nothing of the crate.

use metrics::{counter, gauge, histogram, Counter, Gauge, Histogram};
use std::sync::OnceLock;

/// The counters one connection updates for every message.
#[derive(Debug)]
pub(crate) struct ConnectionMeters {
    messages_in: Counter,
    bytes_in: Counter,
    messages_out: Counter,
    bytes_out: Counter,
}

impl ConnectionMeters {
    /// Registers the counters of a connection opened by `transformer`.
    pub(crate) fn opened(transformer: &'static str) -> ConnectionMeters {
        counter!("primus_connects_total", "transformer" => transformer).increment(1);
        ConnectionMeters {
            messages_in: counter!("primus_messages_in_total"),
            bytes_in: counter!("primus_bytes_in_total"),
            messages_out: counter!("primus_messages_out_total"),
            bytes_out: counter!("primus_bytes_out_total"),
        }
    }

    /// A message of `bytes` came from the client.
    pub(crate) fn received(&self, bytes: usize) {
        self.messages_in.increment(1);
        self.bytes_in.increment(bytes as u64);
    }

    /// A message went to the transport; `bytes` when it is already encoded.
    pub(crate) fn sent(&self, bytes: Option<usize>) {
        self.messages_out.increment(1);
        if let Some(bytes) = bytes {
            self.bytes_out.increment(bytes as u64);
        }
    }
}

/// The gauge of running connections.
pub(crate) fn connections_open() -> Gauge {
    gauge!("primus_connections_open")
}

/// A connection finished, for `reason` (a `DisconnectReason` name).
pub(crate) fn disconnected(reason: &'static str) {
    counter!("primus_disconnects_total", "reason" => reason).increment(1);
}

/// A volatile write was dropped for a busy spark.
pub(crate) fn volatile_dropped() {
    counter!("primus_volatile_dropped_total").increment(1);
}

/// An error was reported on a spark.
pub(crate) fn spark_error(kind: &'static str) {
    counter!("primus_spark_errors_total", "kind" => kind).increment(1);
}

/// The authorization hook refused a request.
pub(crate) fn auth_refused() {
    counter!("primus_auth_refusals_total").increment(1);
}

/// The time of one typed event's handlers, registered on first use (so a
/// recorder installed after the server was built is still the one used).
#[derive(Debug)]
pub(crate) struct HandlerTimer {
    event: &'static str,
    histogram: OnceLock<Histogram>,
}

impl HandlerTimer {
    /// The timer of `event`'s handler.
    pub(crate) fn new(event: &'static str) -> HandlerTimer {
        HandlerTimer {
            event,
            histogram: OnceLock::new(),
        }
    }

    /// The handler ran for `seconds`.
    pub(crate) fn record(&self, seconds: f64) {
        self.histogram
            .get_or_init(|| histogram!("primus_handler_seconds", "event" => self.event))
            .record(seconds);
    }
}

/// A broadcast reached `sparks` sparks of this process.
pub(crate) fn fanout(sparks: usize) {
    histogram!("primus_broadcast_fanout").record(sparks as f64);
}

/// Sparks kept for their client under connection state recovery.
pub(crate) fn sparks_detached() -> Gauge {
    gauge!("primus_sparks_detached")
}

/// A lost spark was taken back by its client.
pub(crate) fn session_resumed() {
    counter!("primus_sessions_resumed_total").increment(1);
}

/// A client asked to resume a session that was gone.
pub(crate) fn session_missed() {
    counter!("primus_sessions_missed_total").increment(1);
}
