//! Sparks: the server's side of one client connection.
//!
//! A [`Spark`] is a cheap, clonable handle. It knows who connected (id,
//! request headers, address, query) and lets any task write to the client
//! or end the connection. It does not know its socket: a transformer owns the
//! socket and drains the spark's **outbound queue**.
//!
//! # The outbound queue and slow consumers
//!
//! Every write encodes (once) and puts the frame into the spark's bounded
//! queue (capacity [`ServerBuilder::send_queue_capacity`], default 1024
//! frames). [`Spark::write`] never waits; [`Spark::send`] waits for room.
//! The connection task takes everything queued at once and writes it with
//! one vectored write per batch. When a client reads so slowly that its
//! queue is full, the server does not buffer without bound and does not
//! silently drop that one frame: the spark gets an
//! [`SparkError::SlowConsumer`] error and is ended *with reconnect*
//! (no `primus::server::close`), so a Primus client reconnects and starts
//! fresh. Memory per connection is therefore bounded by the queue capacity
//! times the frame size. A client that stops reading altogether does not
//! hold its connection either: a write it blocks gives way to the close, and
//! the closing writes get 2 seconds. Code that writes many messages in a
//! burst (more than the capacity without yielding) should use
//! `send(..).await`, which waits for the connection to drain instead.
//!
//! [`ServerBuilder::send_queue_capacity`]: crate::ServerBuilder::send_queue_capacity

mod address;
mod id;
mod query;
mod queue;

pub use address::Address;
pub use id::{generate_id, ID_LENGTH};
pub use query::Query;

use crate::frame::Frame;
use crate::parser::{Parser, ParserError};
use crate::transform::Packet;
use futures_util::task::AtomicWaker;
use http::HeaderMap;
use queue::{queue, Full, QueueReceiver, QueueSender};
use serde::Serialize;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU8, Ordering};
use std::sync::Arc;
use std::task::Poll;

const OPEN: u8 = 0;
const CLOSED: u8 = 1;

/// A handle to one connected client.
///
/// ```no_run
/// # async fn demo(spark: primus::Spark) -> Result<(), primus::spark::WriteError> {
/// println!("{} from {:?}, query {:?}", spark.id(), spark.address().ip, spark.query().get("room"));
/// spark.write(&serde_json::json!({ "hello": "world" }))?;
/// spark.end();
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Spark {
    shared: Arc<Shared>,
}

struct Shared {
    id: Arc<str>,
    headers: HeaderMap,
    address: Address,
    query: Query,
    server: Arc<crate::server::Shared>,
    outbound: QueueSender<Outbound>,
    state: AtomicU8,
    alive: AtomicBool,
    /// A pending [`CloseRequest`], packed (see [`CloseRequest::pack`]); 0 when none.
    close: AtomicU32,
    /// The connection task waiting for `close`.
    close_waker: AtomicWaker,
}

/// How the connection task should close the socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct CloseRequest {
    /// Send `primus::server::close` first (the client will not reconnect).
    pub(crate) announce: bool,
    /// The WebSocket close code, `None` for an empty close frame (as Primus).
    pub(crate) code: Option<u16>,
}

impl CloseRequest {
    const PRESENT: u32 = 1 << 31;
    const ANNOUNCE: u32 = 1 << 17;
    const HAS_CODE: u32 = 1 << 16;

    /// Packs the request into one non-zero word.
    fn pack(self) -> u32 {
        let mut word = CloseRequest::PRESENT;
        if self.announce {
            word |= CloseRequest::ANNOUNCE;
        }
        if let Some(code) = self.code {
            word |= CloseRequest::HAS_CODE | u32::from(code);
        }
        word
    }

    /// The request packed by [`pack`](Self::pack), `None` for 0.
    fn unpack(word: u32) -> Option<CloseRequest> {
        (word & CloseRequest::PRESENT != 0).then(|| CloseRequest {
            announce: word & CloseRequest::ANNOUNCE != 0,
            code: (word & CloseRequest::HAS_CODE != 0).then_some(word as u16),
        })
    }
}

/// What the connection task holds: the receiving end of a spark.
pub(crate) struct SparkReceiver {
    pub(crate) outbound: QueueReceiver<Outbound>,
}

/// One item of the outbound queue.
pub(crate) enum Outbound {
    /// Ready to send.
    Frame(Frame),
    /// Goes through the outgoing transforms (in the connection task) first.
    Packet(Packet),
}

/// Everything needed to create a spark (filled by the transformer).
pub(crate) struct SparkInit {
    pub(crate) id: String,
    pub(crate) headers: HeaderMap,
    pub(crate) address: Address,
    pub(crate) query: Query,
    pub(crate) server: Arc<crate::server::Shared>,
}

/// Why a write did not happen.
#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    /// The spark was already ended; nothing is sent (Primus' `write` returns false).
    #[error("the spark is closed")]
    Closed,
    /// The value could not be encoded by the server's parser.
    #[error(transparent)]
    Encode(#[from] ParserError),
    /// The outbound queue was full; the spark is being closed (see the
    /// [module docs](self) on slow consumers).
    #[error("the outbound queue of {capacity} frames is full; the spark is being closed")]
    QueueFull {
        /// The queue's capacity.
        capacity: usize,
    },
}

/// An error on a spark, reported to the server's `error` handlers and logged.
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
    /// A `connection` handler failed; the spark was ended.
    #[error("connection handler failed: {0}")]
    Connection(#[source] crate::BoxError),
    /// The client did not read fast enough; the spark was ended with reconnect.
    #[error("slow consumer: the outbound queue of {capacity} frames is full")]
    SlowConsumer {
        /// The queue's capacity.
        capacity: usize,
    },
    /// A handler failed, or could not be called (e.g. a typed payload that
    /// does not match its event).
    #[error("{0}")]
    Handler(#[source] crate::BoxError),
    /// A transform refused a message; it was dropped.
    #[error("transform refused the message: {0}")]
    Transform(#[from] crate::transform::TransformError),
    /// The transport failed (socket error, protocol violation).
    #[error("transport error: {0}")]
    Transport(String),
}

impl Spark {
    pub(crate) fn new(init: SparkInit) -> (Spark, SparkReceiver) {
        let (tx, rx) = queue(init.server.config.send_queue_capacity);
        let spark = Spark {
            shared: Arc::new(Shared {
                id: init.id.into(),
                headers: init.headers,
                address: init.address,
                query: init.query,
                server: init.server,
                outbound: tx,
                state: AtomicU8::new(OPEN),
                alive: AtomicBool::new(true),
                close: AtomicU32::new(0),
                close_waker: AtomicWaker::new(),
            }),
        };
        (spark, SparkReceiver { outbound: rx })
    }

    /// The spark id (21 random URL-safe characters unless the server has an
    /// id generator). Clients learn it with `primus.id()`.
    pub fn id(&self) -> &str {
        &self.shared.id
    }

    pub(crate) fn id_arc(&self) -> Arc<str> {
        self.shared.id.clone()
    }

    /// The headers of the HTTP request that opened the connection.
    pub fn headers(&self) -> &HeaderMap {
        &self.shared.headers
    }

    /// Where the client connects from (see [`Address`]).
    pub fn address(&self) -> &Address {
        &self.shared.address
    }

    /// The parsed query string of the connection request, including Primus'
    /// `_primuscb` cache buster.
    pub fn query(&self) -> &Query {
        &self.shared.query
    }

    /// The parser used for this spark's messages.
    pub fn parser(&self) -> &Arc<dyn Parser> {
        &self.shared.server.parser
    }

    /// The server this spark belongs to, e.g. to broadcast from a handler.
    ///
    /// ```no_run
    /// # fn demo(spark: primus::Spark) {
    /// spark.server().write("someone said something").ok();
    /// # }
    /// ```
    pub fn server(&self) -> crate::Server {
        crate::Server::from_shared(self.shared.server.clone())
    }

    /// True until the spark is ended (by either side).
    pub fn is_open(&self) -> bool {
        self.shared.state.load(Ordering::Acquire) == OPEN
    }

    /// Encodes `value` with the server's parser and queues it for the client.
    ///
    /// Never waits. Messages from one spark handle arrive in the order they
    /// were written.
    pub fn write<T: Serialize + ?Sized>(&self, value: &T) -> Result<(), WriteError> {
        if !self.is_open() {
            return Err(WriteError::Closed);
        }
        if self.shared.server.outgoing_transforms() {
            let data = serde_json::to_value(value).map_err(ParserError::encode)?;
            return self.write_packet(Packet { data });
        }
        let frame = self.shared.server.parser.encode_value(value)?;
        self.write_frame(frame)
    }

    /// Queues a value for the outgoing transforms.
    pub(crate) fn write_packet(&self, packet: Packet) -> Result<(), WriteError> {
        self.enqueue(Outbound::Packet(packet))
    }

    /// Encodes `value` and waits until the outbound queue has room for it.
    ///
    /// Use this instead of [`write`](Self::write) in loops that produce many
    /// messages: it applies back-pressure instead of tripping the
    /// [slow consumer policy](self#the-outbound-queue-and-slow-consumers).
    ///
    /// ```no_run
    /// # async fn demo(spark: primus::Spark) -> Result<(), primus::spark::WriteError> {
    /// for n in 0..100_000 {
    ///     spark.send(&n).await?;
    /// }
    /// # Ok(()) }
    /// ```
    pub async fn send<T: Serialize + ?Sized>(&self, value: &T) -> Result<(), WriteError> {
        if !self.is_open() {
            return Err(WriteError::Closed);
        }
        let item = match self.shared.server.outgoing_transforms() {
            true => Outbound::Packet(Packet {
                data: serde_json::to_value(value).map_err(ParserError::encode)?,
            }),
            false => Outbound::Frame(self.shared.server.parser.encode_value(value)?),
        };
        self.shared
            .outbound
            .send(item)
            .await
            .map_err(|_| WriteError::Closed)
    }

    /// Waits until the outbound queue has room, then queues `frame`.
    pub async fn send_frame(&self, frame: Frame) -> Result<(), WriteError> {
        if !self.is_open() {
            return Err(WriteError::Closed);
        }
        self.shared
            .outbound
            .send(Outbound::Frame(frame))
            .await
            .map_err(|_| WriteError::Closed)
    }

    /// Queues an already encoded frame (a broadcast encodes once and calls
    /// this for every spark). Frames you encode yourself skip the outgoing
    /// transforms.
    pub fn write_frame(&self, frame: Frame) -> Result<(), WriteError> {
        self.enqueue(Outbound::Frame(frame))
    }

    fn enqueue(&self, item: Outbound) -> Result<(), WriteError> {
        if !self.is_open() {
            return Err(WriteError::Closed);
        }
        match self.shared.outbound.try_send(item) {
            Ok(()) => Ok(()),
            Err(Full::Closed(_)) => Err(WriteError::Closed),
            Err(Full::Full(_)) => {
                let capacity = self.shared.outbound.capacity();
                self.report(&SparkError::SlowConsumer { capacity });
                self.end_reconnect();
                Err(WriteError::QueueFull { capacity })
            }
        }
    }

    /// Ends the connection for good: the client receives
    /// `primus::server::close` and does not reconnect. Returns false when the
    /// spark was already ended.
    pub fn end(&self) -> bool {
        self.close(CloseRequest {
            announce: true,
            code: None,
        })
    }

    /// Writes `data`, then ends the connection like [`end`](Self::end).
    pub fn end_with<T: Serialize + ?Sized>(&self, data: &T) -> Result<(), WriteError> {
        self.write(data)?;
        self.end();
        Ok(())
    }

    /// Closes the connection *without* `primus::server::close`, so a Primus
    /// client reconnects (Primus' `spark.end(undefined, { reconnect: true })`).
    pub fn end_reconnect(&self) -> bool {
        self.close(CloseRequest {
            announce: false,
            code: None,
        })
    }

    pub(crate) fn close(&self, request: CloseRequest) -> bool {
        if self
            .shared
            .state
            .compare_exchange(OPEN, CLOSED, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return false;
        }
        self.shared.close.store(request.pack(), Ordering::Release);
        self.shared.close_waker.wake();
        true
    }

    /// Marks the spark closed because the transport went away.
    pub(crate) fn mark_closed(&self) {
        self.shared.state.store(CLOSED, Ordering::Release);
    }

    /// Waits until someone asks to close, then returns how. One waiter at a
    /// time (the connection task); polling it costs an atomic load.
    pub(crate) fn close_requested(&self) -> impl std::future::Future<Output = CloseRequest> + '_ {
        // Only a close request wakes `close_waker` (and so takes the waker),
        // and it ends the wait: once registered, the waker stays there.
        let mut registered: Option<std::task::Waker> = None;
        std::future::poll_fn(move |cx| {
            if let Some(request) = self.take_close_request() {
                return Poll::Ready(request);
            }
            if !registered.as_ref().is_some_and(|w| w.will_wake(cx.waker())) {
                self.shared.close_waker.register(cx.waker());
                registered = Some(cx.waker().clone());
            }
            // A request stored between the check and the registration.
            match self.take_close_request() {
                Some(request) => Poll::Ready(request),
                None => Poll::Pending,
            }
        })
    }

    fn take_close_request(&self) -> Option<CloseRequest> {
        let close = &self.shared.close;
        match close.load(Ordering::Acquire) {
            0 => None,
            _ => CloseRequest::unpack(close.swap(0, Ordering::AcqRel)),
        }
    }

    /// Heartbeat bookkeeping: returns whether the spark answered since the
    /// last ping, and clears the flag for the next round.
    pub(crate) fn take_alive(&self) -> bool {
        self.shared.alive.swap(false, Ordering::AcqRel)
    }

    /// Called on a pong (or a WebSocket ping from the client).
    pub(crate) fn mark_alive(&self) {
        self.shared.alive.store(true, Ordering::Release);
    }

    /// Reports an error to the server's `error` handlers.
    pub(crate) fn report(&self, error: &SparkError) {
        self.shared.server.handlers.error(self, error);
    }
}

impl std::fmt::Debug for Spark {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spark")
            .field("id", &self.id())
            .field("address", self.address())
            .field("open", &self.is_open())
            .finish()
    }
}

impl PartialEq for Spark {
    fn eq(&self, other: &Spark) -> bool {
        Arc::ptr_eq(&self.shared, &other.shared)
    }
}

impl Eq for Spark {}

#[cfg(test)]
mod tests {
    use super::CloseRequest;

    #[test]
    fn close_requests_survive_packing() {
        for announce in [false, true] {
            for code in [None, Some(0), Some(1000), Some(1009), Some(4999), Some(u16::MAX)] {
                let request = CloseRequest { announce, code };
                assert_ne!(request.pack(), 0);
                assert_eq!(CloseRequest::unpack(request.pack()), Some(request));
            }
        }
        assert_eq!(CloseRequest::unpack(0), None);
    }
}
