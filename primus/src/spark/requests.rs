//! Requests a server sends to one client and the replies it waits for:
//! [`Spark::request`](crate::Spark::request). Each spark numbers its own
//! requests from 1; a reply (`{"reply":n,"data":…}` or
//! `{"reply":n,"error":…}`) settles the request with that number once.

use crate::message::Message;
use crate::parser::ParserError;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
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
#[derive(Default)]
pub(crate) struct PendingRequests {
    next: AtomicU64,
    /// How many wait: replies are looked for only while some do.
    waiting: AtomicUsize,
    pending: Mutex<HashMap<u64, oneshot::Sender<Message>>>,
}

impl PendingRequests {
    /// A new request number and the receiver of its reply.
    pub(crate) fn open(&self) -> (u64, oneshot::Receiver<Message>) {
        let id = self.next.fetch_add(1, Ordering::Relaxed) + 1;
        let (sender, receiver) = oneshot::channel();
        crate::lock::lock(&self.pending).insert(id, sender);
        self.waiting.fetch_add(1, Ordering::AcqRel);
        (id, receiver)
    }

    /// Forgets request `id` (answered, timed out or abandoned).
    pub(crate) fn forget(&self, id: u64) {
        if crate::lock::lock(&self.pending).remove(&id).is_some() {
            self.waiting.fetch_sub(1, Ordering::AcqRel);
        }
    }

    /// True while a request waits for its reply.
    pub(crate) fn any(&self) -> bool {
        self.waiting.load(Ordering::Acquire) > 0
    }

    /// Hands `reply` to request `id`; false when no such request waits.
    pub(crate) fn settle(&self, id: u64, reply: Message) -> bool {
        let waiter = crate::lock::lock(&self.pending).remove(&id);
        match waiter {
            Some(waiter) => {
                self.waiting.fetch_sub(1, Ordering::AcqRel);
                let _ = waiter.send(reply);
                true
            }
            None => false,
        }
    }

    /// Fails every waiting request (the spark is gone).
    pub(crate) fn fail_all(&self) {
        let dropped = std::mem::take(&mut *crate::lock::lock(&self.pending));
        self.waiting.fetch_sub(dropped.len(), Ordering::AcqRel);
    }
}
