//! The heartbeat: one timer for all sparks, as in Primus.
//!
//! Every `ping_interval` the server visits each spark. A spark that answered
//! the previous ping (a `primus::pong::…` or a WebSocket ping from the client)
//! gets a new `primus::ping::<ms epoch>`; one that did not is closed without
//! `primus::server::close`, so its client reconnects. The ping frame is
//! encoded once per tick and shared by all sparks. A new spark therefore gets
//! its first ping 0 to `ping_interval` after it connects, and a dead client
//! is closed 1 to 2 intervals after its last answer. A spark whose socket
//! has accepted nothing for a whole interval (its client stopped reading)
//! is closed the same way, with a [`SparkError::Stalled`] error.

use super::{Lifecycle, ServerCore};
use crate::spark::{DisconnectReason, SparkError};
use crate::wire::protocol;
use std::sync::Weak;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::watch;
use tokio::time::MissedTickBehavior;

pub(super) async fn run(
    server: Weak<ServerCore>,
    interval: Duration,
    mut lifecycle: watch::Receiver<Lifecycle>,
) {
    let mut ticker = tokio::time::interval_at(tokio::time::Instant::now() + interval, interval);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            changed = lifecycle.wait_for(|state| *state != Lifecycle::Running) => {
                let _ = changed;
                return;
            }
        }
        let Some(server) = server.upgrade() else { return };
        let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
        let ping = match server
            .pipeline
            .parser
            .encode_value(&protocol::ping(now.as_millis() as u64))
        {
            Ok(frame) => frame,
            Err(error) => {
                tracing::error!(%error, "cannot encode the heartbeat ping; heartbeat stopped");
                return;
            }
        };
        for spark in server.pipeline.broadcast.sparks() {
            if spark.is_detached() {
                // Its connection is lost; it waits for its client, bounded
                // by the recovery window.
                continue;
            }
            if let Some(waited) = spark.blocked_for().filter(|waited| *waited >= interval) {
                // Pongs may still arrive (a client that sends and does not
                // read), but nothing reaches it: it cannot be served.
                spark.report(&SparkError::Stalled { waited });
                spark.note_disconnect(DisconnectReason::Stalled);
                spark.end_reconnect();
            } else if spark.take_alive() {
                let _ = spark.write_frame(ping.clone());
            } else {
                tracing::debug!(spark = spark.id(), "no pong since the last ping; closing");
                spark.note_disconnect(DisconnectReason::HeartbeatTimeout);
                spark.end_reconnect();
            }
        }
    }
}
