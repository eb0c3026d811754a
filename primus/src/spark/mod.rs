//! Sparks: the server's side of one client connection.
//!
//! A [`Spark`] is a cheap, clonable handle. It knows who connected (id,
//! request headers, address, query) and lets any task write to the client
//! or end the connection. It does not know its socket: a transformer owns the
//! socket and drains the spark's **outbound queue**.
//!
//! # The outbound queue and slow consumers
//!
//! Every write encodes (once) and puts the frame into the spark's outbound
//! queue, which is bounded in **bytes** ([`ServerBuilder::send_queue_bytes`],
//! default 1 MiB: a write is refused once that much is queued, so any one
//! message fits, whatever its size).
//! [`Spark::write`] never waits; [`Spark::send`] waits while the queue is
//! more than half full (the other half stays free for writes that do not
//! wait, the heartbeat's pings among them). The
//! connection task takes everything queued at once and writes it with one
//! vectored write per batch.
//!
//! A burst from one client does not cost the others their connections:
//! while a handler runs, every queue it takes past half its budget is
//! noted, and the sender's next message waits (up to a second) until those
//! queues have drained. Receivers that read are thereby given the time to
//! read; the sender is slowed down instead (it is not read from meanwhile).
//! A receiver whose socket has not accepted a byte for a second is not
//! waited for.
//!
//! A client that does not read is dropped, in two ways, both *with
//! reconnect* (no `primus::server::close`, so a Primus client reconnects
//! and starts fresh) and both reported to the `error` handlers:
//!
//! * its queue reaches the byte budget: [`SparkError::SlowConsumer`];
//! * its socket has not accepted a byte for a whole heartbeat interval:
//!   [`SparkError::Stalled`], at the next heartbeat.
//!
//! Memory per connection is therefore bounded by the budget (plus one
//! message). A write blocked by such a client gives way to the close, and
//! the closing writes get 2 seconds. Code that writes many messages in a
//! burst to one spark should use `send(..).await`, which waits for the
//! connection to drain instead.
//!
//! [`ServerBuilder::send_queue_bytes`]: crate::ServerBuilder::send_queue_bytes

mod address;
mod close;
mod disconnect;
mod error;
mod extensions;
pub(crate) mod hub;
mod id;
mod outbound;
pub(crate) mod pressure;
mod query;
pub(crate) mod queue;
mod requests;
mod session;

pub use address::Address;
pub use close::CloseRequest;
pub use disconnect::DisconnectReason;
pub use error::{BoxError, SparkError, WriteError};
pub use extensions::RequestExtensions;
pub use id::{generate_id, ID_LENGTH};
pub use outbound::Outbound;
pub(crate) use outbound::PerSparkEncoding;
pub use query::Query;
use requests::PendingRequests;
pub use requests::{RequestError, DEFAULT_SPARK_REQUEST_TIMEOUT};
use session::RecoveryCell;
pub use session::SessionRecovery;

use crate::parser::Parser;
use crate::wire::Frame;
use close::CloseSignal;
use disconnect::ReasonCell;
use http::HeaderMap;
use hub::SparkHub;
use queue::{queue, Full, Pushed, QueueReceiver, QueueSender};
use serde::Serialize;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

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
    inner: Arc<SparkInner>,
}

struct SparkInner {
    id: Arc<str>,
    headers: HeaderMap,
    address: Address,
    query: Query,
    parser: Arc<dyn Parser>,
    per_spark: PerSparkEncoding,
    hub: Arc<dyn SparkHub>,
    outbound: QueueSender<Outbound>,
    state: AtomicU8,
    alive: AtomicBool,
    /// When the transport's current write started blocking, in
    /// milliseconds since [`epoch`] (plus one); 0 while it is not blocked.
    blocked_since: AtomicU64,
    /// Errors reported so far (for the log's rate limit).
    warnings: AtomicU32,
    close: CloseSignal,
    /// Why it was (or is being) disconnected, once known.
    reason: ReasonCell,
    /// Requests sent to the client, waiting for their reply.
    requests: PendingRequests,
    /// Typed data set at authorization and by handlers.
    extensions: Mutex<http::Extensions>,
    /// The connection dropped and the spark waits for its client to resume
    /// it (connection state recovery).
    detached: AtomicBool,
    /// What connection state recovery did for this spark.
    recovery: RecoveryCell,
    /// Its client came back on a new connection while this one still
    /// looked open: the old connection is closed and the spark moves over.
    superseded: AtomicBool,
}

/// The clock that `blocked_since` counts from.
fn epoch() -> Instant {
    static EPOCH: OnceLock<Instant> = OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// Everything needed to create a spark (filled by the pipeline).
pub(crate) struct SparkInit {
    pub(crate) id: String,
    pub(crate) headers: HeaderMap,
    pub(crate) address: Address,
    pub(crate) query: Query,
    pub(crate) parser: Arc<dyn Parser>,
    /// Whether writes keep values for the outgoing transforms.
    pub(crate) per_spark: PerSparkEncoding,
    pub(crate) hub: Arc<dyn SparkHub>,
    /// Budget of the outbound queue, in bytes.
    pub(crate) queue_bytes: usize,
    /// What the authorization hook and middleware set for this spark.
    pub(crate) extensions: http::Extensions,
}

impl Spark {
    /// A new spark and the receiving end of its outbound queue.
    pub(crate) fn new(init: SparkInit) -> (Spark, QueueReceiver<Outbound>) {
        let (tx, rx) = queue(init.queue_bytes);
        let spark = Spark {
            inner: Arc::new(SparkInner {
                id: init.id.into(),
                headers: init.headers,
                address: init.address,
                query: init.query,
                parser: init.parser,
                per_spark: init.per_spark,
                hub: init.hub,
                outbound: tx,
                state: AtomicU8::new(OPEN),
                alive: AtomicBool::new(true),
                blocked_since: AtomicU64::new(0),
                warnings: AtomicU32::new(0),
                close: CloseSignal::default(),
                reason: ReasonCell::default(),
                requests: PendingRequests::default(),
                extensions: Mutex::new(init.extensions),
                detached: AtomicBool::new(false),
                recovery: RecoveryCell::default(),
                superseded: AtomicBool::new(false),
            }),
        };
        (spark, rx)
    }

    /// A clone of the value of type `T` this spark carries, if any: set by
    /// the authorization hook or a middleware layer
    /// (`HttpRequest::set_extension`), or by [`set_extension`](Self::set_extension).
    /// Handlers can take it as an argument with `primus::Extension<T>`.
    ///
    /// ```no_run
    /// # fn demo(spark: primus::Spark) {
    /// #[derive(Clone)]
    /// struct User { name: String }
    ///
    /// match spark.extension::<User>() {
    ///     Some(user) => println!("{} is {}", spark.id(), user.name),
    ///     None => println!("{} is anonymous", spark.id()),
    /// }
    /// # }
    /// ```
    pub fn extension<T: Clone + Send + Sync + 'static>(&self) -> Option<T> {
        crate::lock::lock(&self.inner.extensions).get::<T>().cloned()
    }

    /// Stores `value` on this spark, for later handlers; returns the value
    /// of that type it replaced.
    ///
    /// ```no_run
    /// # fn demo(spark: primus::Spark) {
    /// #[derive(Clone)]
    /// struct Nickname(String);
    ///
    /// spark.set_extension(Nickname("ada".into()));
    /// assert!(spark.extension::<Nickname>().is_some());
    /// # }
    /// ```
    pub fn set_extension<T: Clone + Send + Sync + 'static>(&self, value: T) -> Option<T> {
        crate::lock::lock(&self.inner.extensions).insert(value)
    }

    /// Removes the value of type `T` from this spark and returns it.
    ///
    /// ```no_run
    /// # fn demo(spark: primus::Spark) {
    /// #[derive(Clone)]
    /// struct Nickname(String);
    ///
    /// let _forgotten: Option<Nickname> = spark.remove_extension::<Nickname>();
    /// # }
    /// ```
    pub fn remove_extension<T: Clone + Send + Sync + 'static>(&self) -> Option<T> {
        crate::lock::lock(&self.inner.extensions).remove::<T>()
    }

    /// The spark id (21 random URL-safe characters unless the server has an
    /// id generator). Clients learn it with `primus.id()`.
    pub fn id(&self) -> &str {
        &self.inner.id
    }

    pub(crate) fn id_arc(&self) -> Arc<str> {
        self.inner.id.clone()
    }

    /// The headers of the HTTP request that opened the connection.
    pub fn headers(&self) -> &HeaderMap {
        &self.inner.headers
    }

    /// Where the client connects from (see [`Address`]).
    pub fn address(&self) -> &Address {
        &self.inner.address
    }

    /// The parsed query string of the connection request, including Primus'
    /// `_primuscb` cache buster.
    pub fn query(&self) -> &Query {
        &self.inner.query
    }

    /// The parser used for this spark's messages.
    pub fn parser(&self) -> &Arc<dyn Parser> {
        &self.inner.parser
    }

    /// The hub this spark reports to (the server).
    pub(crate) fn hub(&self) -> &Arc<dyn SparkHub> {
        &self.inner.hub
    }

    /// True until the spark is ended (by either side).
    pub fn is_open(&self) -> bool {
        self.inner.state.load(Ordering::Acquire) == OPEN
    }

    /// Encodes `value` with the server's parser and queues it for the client.
    ///
    /// Never waits. Messages from one spark handle arrive in the order they
    /// were written.
    pub fn write<T: Serialize + ?Sized>(&self, value: &T) -> Result<(), WriteError> {
        if !self.is_open() {
            return Err(WriteError::Closed);
        }
        self.write_outbound(self.encode(value)?)
    }

    fn encode<T: Serialize + ?Sized>(&self, value: &T) -> Result<Outbound, WriteError> {
        Ok(Outbound::encode(
            value,
            &*self.inner.parser,
            self.inner.per_spark.get(),
        )?)
    }

    /// Encodes `value` and waits until the outbound queue holds at most
    /// half its budget, then queues it.
    ///
    /// Use this instead of [`write`](Self::write) in loops that produce many
    /// messages: it applies back-pressure instead of tripping the
    /// [slow consumer policy](self#the-outbound-queue-and-slow-consumers).
    /// The other half of the budget stays free for writes that do not wait
    /// (the heartbeat's pings, replies to requests, broadcasts), so a
    /// stream sent with `send` never makes them overflow the queue.
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
        let item = self.encode(value)?;
        self.send_outbound(item).await
    }

    /// Waits until the outbound queue has room, then queues `frame`.
    ///
    /// ```no_run
    /// # async fn demo(spark: primus::Spark) -> Result<(), primus::spark::WriteError> {
    /// spark.send_frame(primus::Frame::text("\"hi\"")).await?;
    /// # Ok(()) }
    /// ```
    pub async fn send_frame(&self, frame: Frame) -> Result<(), WriteError> {
        self.send_outbound(Outbound::Frame(frame)).await
    }

    async fn send_outbound(&self, item: Outbound) -> Result<(), WriteError> {
        if !self.is_open() {
            return Err(WriteError::Closed);
        }
        let weight = item.weight();
        self.inner
            .outbound
            .send(item, weight)
            .await
            .map_err(|_| WriteError::Closed)
    }

    /// Queues an already encoded frame (a broadcast encodes once and queues
    /// the same frame for every spark). Frames you encode yourself skip the
    /// outgoing transforms.
    ///
    /// ```no_run
    /// # fn demo(spark: primus::Spark) -> Result<(), primus::spark::WriteError> {
    /// let frame = spark.parser().encode_value(&[1, 2, 3])?;
    /// spark.write_frame(frame)?;
    /// # Ok(()) }
    /// ```
    pub fn write_frame(&self, frame: Frame) -> Result<(), WriteError> {
        self.write_outbound(Outbound::Frame(frame))
    }

    /// Queues an item encoded by [`Outbound::encode`]; never waits. A full
    /// queue ends the spark (see the [slow consumer
    /// policy](self#the-outbound-queue-and-slow-consumers)).
    pub fn write_outbound(&self, item: Outbound) -> Result<(), WriteError> {
        if !self.is_open() {
            return Err(WriteError::Closed);
        }
        let weight = item.weight();
        match self.inner.outbound.try_send(item, weight) {
            Ok(Pushed::Queued) => Ok(()),
            Ok(Pushed::Congested) => {
                pressure::note(self);
                Ok(())
            }
            Err(Full::Closed(_)) => Err(WriteError::Closed),
            Err(Full::Full(_)) => {
                let budget = self.inner.outbound.budget();
                self.report(&SparkError::SlowConsumer { budget });
                self.note_disconnect(DisconnectReason::SlowConsumer);
                self.end_reconnect();
                Err(WriteError::QueueFull { budget })
            }
        }
    }

    /// Encodes `value` and queues it **volatile**: if the spark's outbound
    /// queue already holds more than half its budget (its client is slow or
    /// busy), the value is dropped instead ([`WriteError::Dropped`], counted
    /// in `primus_volatile_dropped_total`) and the spark stays connected.
    /// For messages that a newer one replaces (positions, typing
    /// indicators, tickers). Never waits; never ends the spark.
    ///
    /// ```no_run
    /// # fn demo(spark: primus::Spark) {
    /// let _ = spark.write_volatile(&serde_json::json!({"cursor": [10, 20]}));
    /// # }
    /// ```
    pub fn write_volatile<T: Serialize + ?Sized>(&self, value: &T) -> Result<(), WriteError> {
        if !self.is_open() {
            return Err(WriteError::Closed);
        }
        self.write_outbound_volatile(self.encode(value)?)
    }

    /// [`write_outbound`](Self::write_outbound), volatile (see
    /// [`write_volatile`](Self::write_volatile)). A volatile write does not
    /// slow down the handler that makes it: dropping is its back-pressure.
    ///
    /// ```no_run
    /// # fn demo(spark: primus::Spark) {
    /// let _ = spark.write_outbound_volatile(primus::spark::Outbound::Frame(primus::Frame::text("1")));
    /// # }
    /// ```
    pub fn write_outbound_volatile(&self, item: Outbound) -> Result<(), WriteError> {
        if !self.is_open() {
            return Err(WriteError::Closed);
        }
        if self.inner.outbound.is_congested() {
            crate::telemetry::volatile_dropped();
            return Err(WriteError::Dropped);
        }
        let weight = item.weight();
        match self.inner.outbound.try_send(item, weight) {
            Ok(_) => Ok(()),
            Err(Full::Closed(_)) => Err(WriteError::Closed),
            Err(Full::Full(_)) => {
                crate::telemetry::volatile_dropped();
                Err(WriteError::Dropped)
            }
        }
    }

    /// Completes once the outbound queue holds at most half its budget
    /// (or the connection is gone). Callers bound the wait.
    pub(crate) async fn drained(&self) {
        self.inner.outbound.drained().await;
    }

    /// The transport's write to the client is blocked (the client is not
    /// reading, or not fast enough); see [`write_unblocked`](Self::write_unblocked).
    pub(crate) fn write_blocked(&self) {
        let now = epoch().elapsed().as_millis() as u64 + 1;
        let _ = self
            .inner
            .blocked_since
            .compare_exchange(0, now, Ordering::AcqRel, Ordering::Acquire);
    }

    /// The blocked write went through.
    pub(crate) fn write_unblocked(&self) {
        self.inner.blocked_since.store(0, Ordering::Release);
    }

    /// How long the transport's current write has been blocked; `None`
    /// while it is not.
    pub(crate) fn blocked_for(&self) -> Option<Duration> {
        match self.inner.blocked_since.load(Ordering::Acquire) {
            0 => None,
            since => {
                let now = epoch().elapsed().as_millis() as u64 + 1;
                Some(Duration::from_millis(now.saturating_sub(since)))
            }
        }
    }

    /// Counts one more reported error; returns how many came before it.
    pub(crate) fn count_warning(&self) -> u32 {
        self.inner.warnings.fetch_add(1, Ordering::Relaxed)
    }

    /// Identity of this handle's spark (equal for clones).
    pub(crate) fn identity(&self) -> usize {
        Arc::as_ptr(&self.inner) as usize
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

    /// Why this spark was disconnected: `None` while it is connected and
    /// nothing asked it to close; always set in `disconnection` handlers.
    ///
    /// ```no_run
    /// #[primus::on("disconnection")]
    /// async fn gone(spark: primus::Spark) {
    ///     tracing::info!(spark = spark.id(), reason = ?spark.disconnect_reason(), "gone");
    /// }
    /// ```
    pub fn disconnect_reason(&self) -> Option<DisconnectReason> {
        self.inner.reason.get()
    }

    /// Notes why the spark is about to be disconnected, unless a reason
    /// was noted before (the first cause wins) or it is closed already (its
    /// client left first).
    pub(crate) fn note_disconnect(&self, reason: DisconnectReason) {
        if self.is_open() {
            self.inner.reason.note(reason);
        }
    }

    /// Notes that the client left, unless the server had asked for the
    /// close (the connection has finished).
    pub(crate) fn note_client_gone(&self) {
        self.inner.reason.note(DisconnectReason::Client);
    }

    /// Asks the connection task to close; false when the spark was already
    /// ended. Notes [`DisconnectReason::Ended`] unless a reason was noted.
    pub(crate) fn close(&self, request: CloseRequest) -> bool {
        if self
            .inner
            .state
            .compare_exchange(OPEN, CLOSED, Ordering::AcqRel, Ordering::Acquire)
            .is_err()
        {
            return false;
        }
        // Closes the server asks for without a more precise cause (noted
        // before) are the application's.
        self.inner.reason.note(DisconnectReason::Ended);
        self.inner.close.send(request);
        true
    }

    /// Marks the spark closed because the transport went away.
    pub(crate) fn mark_closed(&self) {
        self.inner.state.store(CLOSED, Ordering::Release);
    }

    /// Waits until someone asks to close, then returns how. One waiter at a
    /// time (the connection task); polling it costs an atomic load.
    pub(crate) fn close_requested(&self) -> impl std::future::Future<Output = CloseRequest> + '_ {
        self.inner.close.wait()
    }

    /// Heartbeat bookkeeping: returns whether the spark answered since the
    /// last ping, and clears the flag for the next round.
    pub(crate) fn take_alive(&self) -> bool {
        self.inner.alive.swap(false, Ordering::AcqRel)
    }

    /// Called on a pong (or a WebSocket ping from the client).
    pub(crate) fn mark_alive(&self) {
        self.inner.alive.store(true, Ordering::Release);
    }

    /// Reports an error to the server's `error` handlers.
    pub(crate) fn report(&self, error: &SparkError) {
        self.inner.hub.report(self, error);
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
        Arc::ptr_eq(&self.inner, &other.inner)
    }
}

impl Eq for Spark {}
