//! What a node knows about its link to Redis: counters, the last error,
//! and one log line per change of state.

use crate::lock;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Mutex;

/// A snapshot of a node's link to Redis, from
/// [`RedisBroadcast::health`](super::RedisBroadcast::health).
///
/// Local delivery never depends on it: while Redis is away, sparks of this
/// node keep receiving everything sent on this node, and what this node
/// publishes for the others is dropped and counted in `dropped`.
///
/// ```
/// use primus::cluster::redis::RedisHealth;
///
/// let health = RedisHealth::default();
/// assert!(!health.is_healthy()); // not connected yet
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RedisHealth {
    /// The last publish went through.
    pub publishing: bool,
    /// The subscription is up (messages from other nodes arrive).
    pub subscribed: bool,
    /// Envelopes published (deliveries, ends, questions and answers).
    pub published: u64,
    /// Envelopes this node meant to publish and dropped: Redis was away or
    /// slow and the publish queue's byte budget was full.
    pub dropped: u64,
    /// Envelopes received from other nodes and acted on.
    pub received: u64,
    /// Envelopes received and refused: malformed, or from a node with
    /// another parser.
    pub refused: u64,
    /// Envelopes other nodes published that never arrived here, counted
    /// from the gaps in their sequence numbers.
    pub missed: u64,
    /// The last error talking to Redis, if any.
    pub last_error: Option<String>,
}

impl RedisHealth {
    /// True when both publishing and the subscription are up.
    pub fn is_healthy(&self) -> bool {
        self.publishing && self.subscribed
    }
}

/// The live counters behind [`RedisHealth`].
#[derive(Default)]
pub(crate) struct Health {
    publishing: AtomicBool,
    subscribed: AtomicBool,
    pub(crate) published: AtomicU64,
    pub(crate) dropped: AtomicU64,
    pub(crate) received: AtomicU64,
    pub(crate) refused: AtomicU64,
    pub(crate) missed: AtomicU64,
    last_error: Mutex<Option<String>>,
}

impl Health {
    pub(crate) fn snapshot(&self) -> RedisHealth {
        RedisHealth {
            publishing: self.publishing.load(Ordering::Relaxed),
            subscribed: self.subscribed.load(Ordering::Relaxed),
            published: self.published.load(Ordering::Relaxed),
            dropped: self.dropped.load(Ordering::Relaxed),
            received: self.received.load(Ordering::Relaxed),
            refused: self.refused.load(Ordering::Relaxed),
            missed: self.missed.load(Ordering::Relaxed),
            last_error: lock::lock(&self.last_error).clone(),
        }
    }

    /// Publishing works (again); logs when it did not.
    pub(crate) fn publish_ok(&self) {
        if !self.publishing.swap(true, Ordering::Relaxed) {
            tracing::info!("cluster: publishing to Redis");
        }
    }

    /// Publishing failed; logs when it worked before (once per outage).
    pub(crate) fn publish_failed(&self, error: &redis::RedisError, dropped: u64) {
        self.dropped.fetch_add(dropped, Ordering::Relaxed);
        *lock::lock(&self.last_error) = Some(error.to_string());
        if self.publishing.swap(false, Ordering::Relaxed) {
            tracing::warn!(%error, "cluster: cannot publish to Redis; local delivery goes on, other nodes miss what this node sends until Redis is back");
        }
    }

    pub(crate) fn subscribed(&self, up: bool) {
        if self.subscribed.swap(up, Ordering::Relaxed) != up {
            match up {
                true => tracing::info!("cluster: subscribed to Redis"),
                false => tracing::warn!("cluster: lost the Redis subscription; reconnecting"),
            }
        }
    }

    pub(crate) fn error(&self, error: &redis::RedisError) {
        *lock::lock(&self.last_error) = Some(error.to_string());
    }
}
