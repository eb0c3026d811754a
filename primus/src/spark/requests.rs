//! Requests a server sends to one client and the replies it waits for:
//! [`Spark::request`](crate::Spark::request). Each spark numbers its own
//! requests from a random start (below 2^31, so JavaScript's MessagePack
//! sends them back as integers): an answer a client queued on an earlier connection cannot
//! match a request of this one. A reply (`{"reply":n,"data":…}` or
//! `{"reply":n,"error":…}`) settles the request with that number once; a
//! reply to a number this spark issued that no longer waits (late) is
//! dropped, as the clients drop theirs.

use super::{Spark, WriteError};
use crate::message::event::{Event, Request};
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
    /// A spark on another node of a cluster could not be asked (that
    /// node's reason).
    #[error("the request failed on another node: {0}")]
    Remote(String),
}

/// The requests of one spark still waiting for their reply.
pub(crate) struct PendingRequests {
    /// Numbers issued are `first + 1 ..= next`.
    first: u64,
    next: AtomicU64,
    pending: Mutex<HashMap<u64, oneshot::Sender<Message>>>,
    /// `pending.len()`, readable without the lock (written under it).
    waiting: AtomicUsize,
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
            waiting: AtomicUsize::new(0),
        }
    }
}

impl PendingRequests {
    /// A new request number and the receiver of its reply.
    pub(crate) fn open(&self) -> (u64, oneshot::Receiver<Message>) {
        let id = self.next.fetch_add(1, Ordering::AcqRel) + 1;
        let (sender, receiver) = oneshot::channel();
        let mut pending = crate::lock::lock(&self.pending);
        pending.insert(id, sender);
        self.waiting.store(pending.len(), Ordering::Release);
        (id, receiver)
    }

    /// Forgets request `id` (answered, timed out or abandoned).
    pub(crate) fn forget(&self, id: u64) {
        let mut pending = crate::lock::lock(&self.pending);
        pending.remove(&id);
        self.waiting.store(pending.len(), Ordering::Release);
    }

    /// True while a request waits for its reply.
    pub(crate) fn any_waiting(&self) -> bool {
        self.waiting.load(Ordering::Acquire) > 0
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
        let waiter = {
            let mut pending = crate::lock::lock(&self.pending);
            let waiter = pending.remove(&id);
            self.waiting.store(pending.len(), Ordering::Release);
            waiter
        };
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
        self.waiting.store(0, Ordering::Release);
    }
}

impl Spark {
    /// Sends a request to the client and waits for its reply, at most
    /// [`DEFAULT_SPARK_REQUEST_TIMEOUT`] (10 s). The request constructors are
    /// generated by `#[primus::event]` for variants with
    /// `#[primus(reply = T)]`; the Rust client answers with a
    /// `#[primus_client::on]` handler that returns a `T`, the browser client
    /// with a handler given to `primus.answer(event, fn)`.
    ///
    /// Fails with [`RequestError::Timeout`], [`RequestError::Rejected`] (the
    /// client answered with an error), or [`RequestError::Closed`] (the
    /// spark closed first). Never sent twice.
    ///
    /// ```no_run
    /// #[primus::event]
    /// enum ToClient {
    ///     #[primus(reply = bool)]
    ///     Confirm(String),
    /// }
    ///
    /// # async fn demo(spark: primus::Spark) -> Result<(), primus::spark::RequestError> {
    /// let agreed: bool = spark.request(ToClient::confirm("delete the room?".into())).await?;
    /// # Ok(()) }
    /// ```
    pub async fn request<E: Event, R: serde::de::DeserializeOwned>(
        &self,
        request: Request<E, R>,
    ) -> Result<R, RequestError> {
        self.request_within(request, DEFAULT_SPARK_REQUEST_TIMEOUT).await
    }

    /// [`request`](Self::request) with its own timeout.
    ///
    /// ```no_run
    /// # #[primus::event] enum ToClient { #[primus(reply = bool)] Confirm(String) }
    /// # async fn demo(spark: primus::Spark) -> Result<(), primus::spark::RequestError> {
    /// let agreed = spark
    ///     .request_within(ToClient::confirm("sure?".into()), std::time::Duration::from_secs(30))
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub async fn request_within<E: Event, R: serde::de::DeserializeOwned>(
        &self,
        request: Request<E, R>,
        timeout: Duration,
    ) -> Result<R, RequestError> {
        let message = self.request_message(request.event(), timeout).await?;
        match crate::message::envelope::decode_reply::<R>(&message)? {
            Ok(value) => Ok(value),
            Err(reason) => Err(RequestError::Rejected(reason)),
        }
    }

    /// Sends `event` (anything that serializes as `{"event":…,"data":…}`)
    /// as a request and returns the reply message, undecoded: what a
    /// cluster node does for a request asked on another node.
    pub(crate) async fn request_message<E: serde::Serialize>(
        &self,
        event: &E,
        timeout: Duration,
    ) -> Result<Message, RequestError> {
        if !self.is_open() {
            return Err(RequestError::Closed);
        }
        let requests = &self.inner.requests;
        let (id, reply) = requests.open();
        // Forgotten however this ends (answered, timed out, dropped).
        let _forget = ForgetRequest { requests, id };
        let on_wire = crate::message::envelope::OutgoingRequest { event, request: id };
        match self.write(&on_wire) {
            Ok(()) => {}
            Err(WriteError::Encode(error)) => return Err(RequestError::Parser(error)),
            Err(_) => return Err(RequestError::Closed),
        }
        match tokio::time::timeout(timeout, reply).await {
            Err(_) => Err(RequestError::Timeout(timeout)),
            Ok(Err(_)) => Err(RequestError::Closed),
            Ok(Ok(message)) => Ok(message),
        }
    }

    /// True once this spark has sent a request: its replies are looked for.
    pub(crate) fn awaits_replies(&self) -> bool {
        self.inner.requests.any_issued()
    }

    /// True while a request of this spark waits for its reply.
    pub(crate) fn has_requests_waiting(&self) -> bool {
        self.inner.requests.any_waiting()
    }

    /// Settles a request of this spark with `message` when it is the reply
    /// to one (dropping it when it came late); false otherwise (the message
    /// is the application's).
    pub(crate) fn take_reply(&self, message: &Message) -> bool {
        match crate::message::envelope::reply_id(message) {
            Some(id) => self.inner.requests.settle(id, message.clone()),
            None => false,
        }
    }

    /// Fails the requests still waiting (the connection is gone).
    pub(crate) fn fail_requests(&self) {
        self.inner.requests.fail_all();
    }
}

/// Forgets a request when its wait ends, however it ends.
struct ForgetRequest<'a> {
    requests: &'a PendingRequests,
    id: u64,
}

impl Drop for ForgetRequest<'_> {
    fn drop(&mut self) {
        self.requests.forget(self.id);
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
