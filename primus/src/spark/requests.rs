//! Requests a server sends to one client and the replies it waits for:
//! [`Spark::request`](crate::Spark::request). Each spark numbers its own
//! requests from a random start (below 2^31, so JavaScript's MessagePack
//! sends them back as integers): an answer a client queued on an earlier connection cannot
//! match a request of this one. A reply (`{"reply":n,"data":…}` or
//! `{"reply":n,"error":…}`) settles the request with that number once; a
//! reply to a number this spark issued that no longer waits (late) is
//! dropped, as the clients drop theirs.

use crate::message::Message;
use crate::parser::ParserError;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;
use tokio::sync::oneshot;

/// The default time [`Spark::request`](crate::Spark::request) waits: 10 s.
pub const DEFAULT_SPARK_REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a request to a client got no answer.
///
/// ```
/// use primus::spark::RequestError;
/// use std::time::Duration;
///
/// let error = RequestError::Timeout(Duration::from_secs(10));
/// assert_eq!(error.to_string(), "the client did not answer within 10s");
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// The spark was closed before the reply came (or was already closed).
    #[error("the spark closed before it answered")]
    Closed,
    /// No reply within the timeout.
    #[error("the client did not answer within {0:?}")]
    Timeout(Duration),
    /// The client answered with an error (its text).
    #[error("the client refused the request: {0}")]
    Rejected(String),
    /// The request could not be encoded, or the reply decoded.
    #[error(transparent)]
    Parser(#[from] ParserError),
}

/// The requests of one spark still waiting for their reply.
pub(crate) struct PendingRequests {
    /// Numbers issued are `first + 1 ..= next`.
    first: u64,
    next: AtomicU64,
    pending: Mutex<HashMap<u64, oneshot::Sender<Message>>>,
}

impl Default for PendingRequests {
    fn default() -> PendingRequests {
        // Below 2^31 (a billion requests of headroom): JavaScript's
        // MessagePack sends numbers beyond the 32-bit range back as floats.
        let first = rand::random::<u64>() % (1 << 30) + (1 << 20);
        PendingRequests {
            first,
            next: AtomicU64::new(first),
            pending: Mutex::default(),
        }
    }
}

impl PendingRequests {
    /// A new request number and the receiver of its reply.
    pub(crate) fn open(&self) -> (u64, oneshot::Receiver<Message>) {
        let id = self.next.fetch_add(1, Ordering::AcqRel) + 1;
        let (sender, receiver) = oneshot::channel();
        crate::lock::lock(&self.pending).insert(id, sender);
        (id, receiver)
    }

    /// Forgets request `id` (answered, timed out or abandoned).
    pub(crate) fn forget(&self, id: u64) {
        crate::lock::lock(&self.pending).remove(&id);
    }

    /// True once this spark has sent a request: replies are looked for
    /// from then on.
    pub(crate) fn any_issued(&self) -> bool {
        self.next.load(Ordering::Acquire) != self.first
    }

    /// True when this spark issued request number `id`.
    fn issued(&self, id: u64) -> bool {
        id > self.first && id <= self.next.load(Ordering::Acquire)
    }

    /// Takes `reply` to request `id`: hands it to the request when it
    /// waits, drops it when it was late. False when this spark never
    /// issued `id` (the message is the application's).
    pub(crate) fn settle(&self, id: u64, reply: Message) -> bool {
        if !self.issued(id) {
            return false;
        }
        let waiter = crate::lock::lock(&self.pending).remove(&id);
        match waiter {
            Some(waiter) => {
                let _ = waiter.send(reply);
            }
            None => tracing::debug!(
                id,
                "late reply to a request that timed out or was abandoned; dropped"
            ),
        }
        true
    }

    /// Fails every waiting request (the spark is gone).
    pub(crate) fn fail_all(&self) {
        crate::lock::lock(&self.pending).clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::parser::Json;
    use crate::wire::Frame;
    use std::sync::Arc;

    fn reply() -> Message {
        Message::new(Frame::text("{}"), Arc::new(Json))
    }

    #[test]
    fn numbers_start_at_random_and_only_issued_ones_are_replies() {
        let a = PendingRequests::default();
        let b = PendingRequests::default();
        assert!(!a.any_issued());
        let (first, mut waiting) = a.open();
        assert!(a.any_issued());
        assert!(first < (1 << 31), "an integer in JavaScript's MessagePack too");
        assert_ne!(first, b.open().0, "another spark's numbers differ");
        assert!(!a.settle(first + 1, reply()), "not issued: the application's");
        assert!(!a.settle(1, reply()), "below the start: the application's");
        assert!(a.settle(first, reply()));
        assert!(waiting.try_recv().is_ok());
        assert!(a.settle(first, reply()), "a second answer is late: dropped");
        assert!(crate::lock::lock(&a.pending).is_empty());
        let (second, _waiting) = a.open();
        a.fail_all();
        assert!(crate::lock::lock(&a.pending).is_empty());
        assert!(a.settle(second, reply()), "after failing: late, dropped");
    }
}
