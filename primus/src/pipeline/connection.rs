//! The transport's side of the pipeline: a [`Connector`] opens
//! [`Connection`]s; a connection takes incoming frames and hands out
//! outgoing ones.

use super::dispatch::Dispatcher;
use super::inbound_budget::InboundBudget;
use super::live_connections::LiveConnection;
use super::recovery::{
    first_state, new_token, Detachable, RecoverAsk, RecoverableSession, Recovery, ReplayRing,
};
use super::{PipelineHost, CLOSE_GRACE};
use crate::message::transform::Packet;
use crate::spark::hub::SparkHub;
use crate::spark::queue::QueueReceiver;
use crate::spark::{
    Address, CloseRequest, DisconnectReason, Outbound, Query, RequestExtensions, SessionRecovery, Spark,
    SparkError, SparkInit,
};
use crate::telemetry::{self, ConnectionMeters};
use crate::wire::{protocol, Frame};
use http::request::Parts;
use http::{HeaderMap, HeaderValue};
use std::collections::VecDeque;
use std::future::Future;
use std::sync::{Arc, Weak};
use std::task::{Context, Poll};

/// What a spark keeps of the request that opened its connection.
///
/// ```
/// use primus::pipeline::ConnectionRequest;
/// use primus::spark::Address;
///
/// let (parts, ()) = http::Request::get("/primus?room=a").header("x-token", "t").body(()).unwrap().into_parts();
/// let request = ConnectionRequest::from_parts(&parts, Address::default());
/// assert_eq!(request.query.get("room"), Some("a"));
/// assert_eq!(request.headers["x-token"], "t");
/// ```
#[derive(Debug, Clone, Default)]
pub struct ConnectionRequest {
    /// The request headers.
    pub headers: HeaderMap,
    /// The client's address.
    pub address: Address,
    /// The parsed query string.
    pub query: Query,
    /// What the authorization hook and middleware set for the spark
    /// (`HttpRequest::set_extension`); the spark starts with these values.
    pub extensions: http::Extensions,
}

impl ConnectionRequest {
    /// The facts of `parts`. Header values are copied: hyper's point into
    /// its read buffer, which a long-lived clone would keep alive for the
    /// life of the connection.
    pub fn from_parts(parts: &Parts, address: Address) -> ConnectionRequest {
        let headers = parts
            .headers
            .iter()
            .filter_map(|(name, value)| Some((name.clone(), HeaderValue::from_bytes(value.as_bytes()).ok()?)))
            .collect();
        ConnectionRequest {
            headers,
            address,
            query: Query::parse(parts.uri.query().unwrap_or("")),
            extensions: parts
                .extensions
                .get::<RequestExtensions>()
                .map(RequestExtensions::snapshot)
                .unwrap_or_default(),
        }
    }
}

/// Why a connection could not be opened.
///
/// ```
/// let error = primus::pipeline::OpenError::ServerGone;
/// assert_eq!(error.to_string(), "the server was dropped");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum OpenError {
    /// The id generator returned an id that a connected spark has.
    #[error("the id generator returned `{0}`, which a connected spark already has")]
    IdInUse(String),
    /// The server this connector belongs to no longer exists.
    #[error("the server was dropped")]
    ServerGone,
}

/// Opens connections on one server: what a [`Transformer`](crate::transformer::Transformer)
/// is given. Cheap to clone; it does not keep the server alive.
#[derive(Clone)]
pub struct Connector {
    host: Weak<dyn PipelineHost>,
    max_length: usize,
    inbound: InboundBudget,
    pathname: Arc<str>,
    /// The transformer's name, for the sparks' spans.
    transformer: &'static str,
    /// Whether the transformer lets a client resume a session.
    resumes_sessions: bool,
}

impl Connector {
    pub(crate) fn new(
        host: Weak<dyn PipelineHost>,
        max_length: usize,
        inbound: InboundBudget,
        pathname: &str,
        transformer: &'static str,
        resumes_sessions: bool,
    ) -> Connector {
        Connector {
            host,
            max_length,
            inbound,
            pathname: Arc::from(pathname),
            transformer,
            resumes_sessions,
        }
    }

    /// The path the server answers under (`/primus` by default): a
    /// transport that routes by path (SockJS) reads its own URLs below it.
    pub fn pathname(&self) -> &str {
        &self.pathname
    }

    /// The server's budget for partly received messages: a transport
    /// counts what it has read of each message against it.
    pub fn inbound_budget(&self) -> &InboundBudget {
        &self.inbound
    }

    /// The largest message the server accepts, in bytes (`max_length`): a
    /// transport refuses bigger ones before they reach the connection.
    pub fn max_length(&self) -> usize {
        self.max_length
    }

    /// [`open`](Self::open), for a transport that can wait: a client that
    /// resumes a session whose old connection still looks open (a half-open
    /// TCP connection after a network change) gets it, after the old
    /// connection is closed (within [`CLOSE_GRACE`]). Without connection
    /// state recovery it is `open`.
    ///
    /// ```no_run
    /// # async fn demo(connector: primus::pipeline::Connector, request: primus::pipeline::ConnectionRequest) {
    /// if let Ok(connection) = connector.open_resuming(request).await {
    ///     // drive it as any other connection
    /// #   let _ = connection;
    /// }
    /// # }
    /// ```
    pub async fn open_resuming(&self, request: ConnectionRequest) -> Result<Connection, OpenError> {
        if self.resumes_sessions {
            if let Some(host) = self.host.upgrade() {
                if let (Some(recovery), Some(RecoverAsk::Resume { token, .. })) =
                    (&host.pipeline().recovery, RecoverAsk::from_query(&request.query))
                {
                    recovery.take_over(&token, CLOSE_GRACE).await;
                }
            }
        }
        self.open(request)
    }

    /// Opens a connection: creates its spark, registers it with the server
    /// and starts the `connection` handlers (they run while the transport
    /// drives [`Connection::progress`]).
    ///
    /// With connection state recovery on (`ServerBuilder::recovery`), a
    /// request that resumes a lost session gets that session's connection
    /// back: the same spark, its missed frames first.
    pub fn open(&self, request: ConnectionRequest) -> Result<Connection, OpenError> {
        let host = self.host.upgrade().ok_or(OpenError::ServerGone)?;
        let pipeline = host.pipeline();
        let ask = match (&pipeline.recovery, self.resumes_sessions) {
            (Some(_), true) => RecoverAsk::from_query(&request.query),
            _ => None,
        };
        if let Some(RecoverAsk::Resume { token, seen }) = &ask {
            match resume(&host, token, *seen) {
                Some(connection) => {
                    telemetry::session_resumed();
                    return Ok(connection);
                }
                None => telemetry::session_missed(),
            }
        }
        let hub: Arc<dyn SparkHub> = host.clone();
        let (spark, outbound) = Spark::new(SparkInit {
            id: pipeline.next_id(),
            headers: request.headers,
            address: request.address,
            query: request.query,
            parser: pipeline.parser.clone(),
            per_spark: pipeline.plugins.per_spark_encoding().clone(),
            hub,
            queue_bytes: pipeline.send_queue_bytes,
            extensions: request.extensions,
        });
        spark.set_recovery(first_state(&ask));
        let mut preface = VecDeque::new();
        let session = match (&ask, &pipeline.recovery) {
            (Some(_), Some(recovery)) => {
                let token = new_token();
                preface.extend(pipeline.parser.encode_value(&protocol::recover(&token)).ok());
                Some(RecoverableSession {
                    token,
                    ring: ReplayRing::new(recovery.settings.replay_bytes_limit()),
                })
            }
            _ => None,
        };
        if !pipeline.broadcast.add(&spark) {
            tracing::error!(
                spark = spark.id(),
                "the id generator returned an id already in use; connection refused"
            );
            return Err(OpenError::IdInUse(spark.id().to_owned()));
        }
        if let (Some(session), Some(recovery)) = (&session, &pipeline.recovery) {
            recovery.attach(&session.token, &spark);
        }
        tracing::debug!(spark = spark.id(), address = ?spark.address(), "connected");
        let live = pipeline.live.enter();
        host.opened(&spark);
        // One span for the spark's whole life: its handlers run inside it.
        let span = tracing::info_span!(
            "spark",
            id = spark.id(),
            address = ?spark.address().ip,
            transformer = self.transformer
        );
        let dispatcher = Dispatcher::new(spark.clone(), pipeline, span);
        Ok(Connection {
            spark,
            outbound,
            dispatcher,
            host,
            live,
            meters: ConnectionMeters::opened(self.transformer),
            unrecorded: preface.len(),
            preface,
            session,
            forgo_recovery: false,
        })
    }
}

/// The detached connection of `token` for its returning client, which
/// received `seen` frames of it; `None` when it cannot be resumed (it is
/// then ended as any other).
fn resume(host: &Arc<dyn PipelineHost>, token: &str, seen: u64) -> Option<Connection> {
    let pipeline = host.pipeline();
    let recovery: &Arc<Recovery> = pipeline.recovery.as_ref()?;
    let mut connection = recovery.claim(token)?.into_any().downcast::<Connection>().ok()?;
    let spark = connection.spark.clone();
    let missed = match spark.is_open() {
        true => connection
            .session
            .as_mut()
            .and_then(|session| session.ring.resume_after(seen)),
        false => None,
    };
    let greeting = pipeline.parser.encode_value(&protocol::recovered(token)).ok();
    let (Some(missed), Some(greeting)) = (missed, greeting) else {
        tracing::debug!(
            spark = spark.id(),
            seen,
            "cannot resume (ended, or missed frames no longer kept); a new spark follows"
        );
        tokio::spawn(connection.finish_for_good());
        return None;
    };
    tracing::debug!(spark = spark.id(), replayed = missed.len(), "resumed");
    // What a previous resume had not sent yet is in the ring, and so in
    // `missed` again.
    connection.preface.clear();
    connection.preface.push_back(greeting);
    connection.preface.extend(missed);
    connection.unrecorded = connection.preface.len();
    connection.forgo_recovery = false;
    spark.set_recovery(SessionRecovery::Resumed);
    spark.set_detached(false);
    recovery.attach(token, &spark);
    // A server shutting down ends it at once, as it does a new spark.
    host.opened(&spark);
    Some(*connection)
}

impl std::fmt::Debug for Connector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connector")
            .field("max_length", &self.max_length)
            .field("server", &(self.host.strong_count() > 0))
            .finish()
    }
}

/// One open connection, as its transport drives it.
///
/// The transport's loop, in outline (see the [`transformer`](crate::transformer)
/// docs for a complete one):
///
/// * feed every incoming data frame to [`receive`](Self::receive) (after
///   checking its size against [`Connector::max_length`]), and stop reading
///   while [`can_receive`](Self::can_receive) is false;
/// * poll [`work`](Self::work) beside the socket: that is where handlers
///   run and where outbound items come from (more at once with
///   [`try_outbound`](Self::try_outbound)); turn each item into a frame with
///   [`prepare`](Self::prepare) and write the frames;
/// * when [`CloseWatch::requested`] completes, write what is left, then
///   [`server_close_frame`](Self::server_close_frame) if the request
///   announces the close, and close the transport;
/// * in every case, finish with [`finish`](Self::finish).
pub struct Connection {
    spark: Spark,
    outbound: QueueReceiver<Outbound>,
    dispatcher: Dispatcher,
    host: Arc<dyn PipelineHost>,
    /// Counts this connection as running until it has finished (or is dropped).
    live: LiveConnection,
    /// Its message and byte counters.
    meters: ConnectionMeters,
    /// Frames that go out before the outbound queue: the recovery
    /// greeting, and the frames a resuming client missed.
    preface: VecDeque<Frame>,
    /// How many of the next frames sent are not recorded for replay (the
    /// preface: a greeting is not counted, missed frames already are).
    unrecorded: usize,
    /// The recoverable session, when the client asked for one.
    session: Option<RecoverableSession>,
    /// The connection ended in a way that is not resumed.
    forgo_recovery: bool,
}

/// What [`Connection::work`] found.
#[derive(Debug)]
pub enum Work {
    /// An item to write: turn it into a frame with [`Connection::prepare`].
    Outbound(Outbound),
    /// A handler finished (the next queued message, if any, has started).
    Handled,
}

/// Waits for a close request of one connection; made by
/// [`Connection::close_watch`], owned so it can be polled beside the
/// connection itself.
pub struct CloseWatch {
    spark: Spark,
}

impl CloseWatch {
    /// Completes when the server asks to close (`spark.end()`, a heartbeat
    /// timeout, a slow consumer, `destroy`), with how to close. Cancel-safe;
    /// one waiter at a time.
    pub async fn requested(&self) -> CloseRequest {
        self.spark.close_requested().await
    }
}

impl Connection {
    /// The connection's spark.
    pub fn spark(&self) -> &Spark {
        &self.spark
    }

    /// The largest message the server accepts, in bytes (`max_length`).
    pub fn max_length(&self) -> usize {
        self.host.pipeline().max_length
    }

    /// A watch on the close requests of this connection.
    pub fn close_watch(&self) -> CloseWatch {
        CloseWatch {
            spark: self.spark.clone(),
        }
    }

    /// Hands an incoming data frame (text or binary, size already checked)
    /// to the pipeline: a control message is answered, anything else is
    /// queued for the handlers.
    pub fn receive(&mut self, frame: Frame) {
        self.meters.received(frame.len());
        self.dispatcher.incoming(frame);
    }

    /// False while too many messages wait for busy handlers: stop reading
    /// from the client until it is true again (back-pressure).
    pub fn can_receive(&self) -> bool {
        self.dispatcher.can_accept()
    }

    /// True while a handler runs (or the connection waits for the queues
    /// a handler congested).
    pub fn is_busy(&self) -> bool {
        self.dispatcher.is_running()
    }

    /// Drives the running handler to completion and starts the next one.
    /// Never completes while no handler runs; cancel-safe.
    pub async fn progress(&mut self) {
        self.dispatcher.progress().await;
    }

    /// Waits for either of the two things a connection does besides
    /// reading: an outbound item to write (first), or the running handler
    /// to finish. Cancel-safe, so a transport can `select!` it against its
    /// socket and the close watch.
    pub async fn work(&mut self) -> Work {
        std::future::poll_fn(|cx| self.poll_work(cx)).await
    }

    /// [`work`](Self::work) as a poll function, for transports written as
    /// futures by hand.
    pub fn poll_work(&mut self, cx: &mut Context<'_>) -> Poll<Work> {
        if let Some(frame) = self.preface.pop_front() {
            self.meters.sent(Some(frame.len()));
            return Poll::Ready(Work::Outbound(Outbound::Frame(frame)));
        }
        if let Poll::Ready(item) = self.outbound.poll_recv(cx) {
            self.meters.sent(encoded_len(&item));
            return Poll::Ready(Work::Outbound(item));
        }
        self.dispatcher.poll_progress(cx).map(|()| Work::Handled)
    }

    /// Polls the running handler once and returns at once: most handlers
    /// finish without waiting, so what they wrote can go out in the same
    /// write as the frame that triggered them.
    pub async fn poll_handlers_once(&mut self) {
        // What the handlers write is taken right after (`try_outbound`, or
        // `work` on the next turn): no wake needed for it.
        self.outbound.disarm();
        self.dispatcher.poll_once().await;
    }

    /// A sign of life from the client below the Primus protocol (a WebSocket
    /// ping), which counts as a heartbeat answer, as in Primus.
    pub fn heartbeat(&self) {
        self.spark.mark_alive();
    }

    /// The transport's write to the client could not complete at once (the
    /// client is not reading, or not fast enough). Call
    /// [`write_unblocked`](Self::write_unblocked) when it went through. A
    /// write blocked for a whole heartbeat interval ends the connection
    /// ([`SparkError::Stalled`]), and a spark whose write is blocked is not
    /// waited for by other sparks' bursts (see the [slow consumer
    /// policy](crate::spark#the-outbound-queue-and-slow-consumers)).
    pub fn write_blocked(&self) {
        self.spark.write_blocked();
    }

    /// The blocked write went through (see [`write_blocked`](Self::write_blocked)).
    pub fn write_unblocked(&self) {
        self.spark.write_unblocked();
    }

    /// The next outbound item, if one is queued.
    pub fn try_outbound(&mut self) -> Option<Outbound> {
        if let Some(frame) = self.preface.pop_front() {
            self.meters.sent(Some(frame.len()));
            return Some(Outbound::Frame(frame));
        }
        let item = self.outbound.try_recv()?;
        self.meters.sent(encoded_len(&item));
        Some(item)
    }

    /// Turns an outbound item into the frame to send: a frame as it is, a
    /// packet through the outgoing transforms and the parser. `None` when a
    /// transform dropped or refused it (the spark gets the `error`).
    pub async fn prepare(&mut self, item: Outbound) -> Option<Frame> {
        match item {
            Outbound::Frame(frame) => Some(self.record(frame)),
            Outbound::Packet(packet) => self.transform(packet).await,
        }
    }

    /// The packet through the outgoing transforms, then encoded (the slow
    /// part of [`prepare`](Self::prepare), for transports that handle
    /// frames without awaiting anything).
    pub async fn transform(&mut self, packet: Packet) -> Option<Frame> {
        let set = self.dispatcher.plugins().clone();
        let packet = match set.transforms.outgoing.run(&self.spark, packet).await {
            Ok(Some(packet)) => packet,
            Ok(None) => return None,
            Err(error) => {
                self.spark.report(&SparkError::Transform(error));
                return None;
            }
        };
        match self.spark.parser().encode_value(&packet.data) {
            Ok(frame) => Some(self.record(frame)),
            Err(error) => {
                self.spark.report(&SparkError::Decode(error));
                None
            }
        }
    }

    /// Notes a frame on its way to the client and returns it. A transport
    /// that writes an [`Outbound::Frame`] without [`prepare`](Self::prepare)
    /// passes it here first: connection state recovery keeps what was sent
    /// to send it again after a lost connection.
    ///
    /// ```no_run
    /// # fn demo(connection: &mut primus::pipeline::Connection, frame: primus::Frame) {
    /// let frame = connection.record(frame);
    /// // … then write `frame` to the client
    /// # }
    /// ```
    pub fn record(&mut self, frame: Frame) -> Frame {
        if let Some(session) = &mut self.session {
            match self.unrecorded {
                0 => session.ring.push(frame.clone()),
                _ => self.unrecorded -= 1,
            }
        }
        frame
    }

    /// The connection ends in a way that must not be resumed: the client
    /// closed it on purpose (a WebSocket close frame) or broke the
    /// protocol. Without this, a lost connection of a client that asked for
    /// connection state recovery is kept for it within the window.
    ///
    /// ```no_run
    /// # fn demo(connection: &mut primus::pipeline::Connection) {
    /// // The client sent a close frame: it left on purpose.
    /// connection.forgo_recovery();
    /// # }
    /// ```
    pub fn forgo_recovery(&mut self) {
        self.forgo_recovery = true;
    }

    /// `primus::server::close`, encoded by the server's parser: the last
    /// frame of a connection closed with an announcing [`CloseRequest`].
    pub fn server_close_frame(&self) -> Frame {
        self.host.pipeline().server_close.clone()
    }

    /// How long the closing steps may take (writing what is left, waiting
    /// for the client's close) before the transport gives up.
    pub fn close_grace(&self) -> std::time::Duration {
        CLOSE_GRACE
    }

    /// Reports a transport-level error (a socket failure, an oversize
    /// message) to the server's `error` handlers.
    pub fn report(&self, error: SparkError) {
        self.spark.report(&error);
    }

    /// Marks the spark closed: writes fail from now on. Call it as soon as
    /// the client is known to be gone ([`finish`](Self::finish) does it too).
    /// A spark that may be resumed (connection state recovery) stays open:
    /// what is written to it waits for its client.
    pub fn mark_closed(&self) {
        if self.recovery().is_none() {
            self.spark.mark_closed();
        }
    }

    /// Ends the connection once the transport is done: the spark can no
    /// longer be looked up or written to, the running and queued messages
    /// are handled, then the `disconnection` handlers run, and the spark
    /// leaves its rooms.
    ///
    /// With connection state recovery, a lost connection (not ended by the
    /// server, not closed on purpose by the client) is kept for its client
    /// instead, until the recovery window passes.
    ///
    /// The returned future is boxed: a transport's task awaits it once, at
    /// its very end, and a future held inline would make that task as large
    /// as the closing steps need for the whole life of the connection, idle
    /// or not (about 2.7 KiB per connection).
    pub fn finish(self) -> impl Future<Output = ()> + Send + 'static {
        Box::pin(self.finish_inline())
    }

    /// [`finish`](Self::finish), unboxed.
    async fn finish_inline(self) {
        if let Some(recovery) = self.recovery() {
            let spark = &self.spark;
            let forgiven = spark.is_superseded()
                || matches!(
                    spark.disconnect_reason(),
                    None | Some(DisconnectReason::HeartbeatTimeout | DisconnectReason::Stalled)
                );
            if !recovery.has_room() {
                tracing::warn!(
                    spark = self.spark.id(),
                    limit = recovery.settings.max_detached_limit(),
                    "connection lost while the most detached sparks are kept; ended"
                );
            } else if let (true, Some(session)) = (forgiven, &self.session) {
                // Detached first: the heartbeat leaves it alone from here.
                spark.set_detached(true);
                if !spark.is_open() {
                    // Closed by the server for a cause recovery forgives (a
                    // missed heartbeat, a stalled write, a takeover).
                    spark.reopen();
                }
                let token = session.token.clone();
                recovery.detach(token, Box::new(self));
                return;
            }
        }
        self.finish_for_good().await
    }

    /// The server's recovery, when this connection may be kept for its
    /// client once lost.
    fn recovery(&self) -> Option<Arc<Recovery>> {
        if self.session.is_none() || self.forgo_recovery {
            return None;
        }
        self.host.pipeline().recovery.clone()
    }

    /// [`finish`](Self::finish), never keeping the connection for recovery.
    pub(crate) async fn finish_for_good(self) {
        if let (Some(session), Some(recovery)) = (&self.session, &self.host.pipeline().recovery) {
            recovery.forget(&session.token);
        }
        let Connection {
            spark,
            dispatcher,
            host,
            mut live,
            ..
        } = self;
        spark.mark_closed();
        spark.fail_requests();
        // Nothing on the server's side asked for the close: the client's.
        spark.note_client_gone();
        let reason = spark.disconnect_reason().unwrap_or(DisconnectReason::Client);
        live.set_reason(reason);
        let broadcast = host.pipeline().broadcast.clone();
        broadcast.remove(&spark);
        tracing::debug!(spark = spark.id(), %reason, "disconnected");
        dispatcher.finish().await;
        broadcast.forget(spark.id());
        drop(live);
    }
}

impl Detachable for Connection {
    fn spark(&self) -> &Spark {
        &self.spark
    }

    fn finish_for_good(self: Box<Self>) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()> + Send>> {
        Box::pin(Connection::finish_for_good(*self))
    }

    fn into_any(self: Box<Self>) -> Box<dyn std::any::Any + Send> {
        self
    }
}

/// The bytes of an outbound item that is already encoded.
fn encoded_len(item: &Outbound) -> Option<usize> {
    match item {
        Outbound::Frame(frame) => Some(frame.len()),
        Outbound::Packet(_) => None,
    }
}

impl std::fmt::Debug for Connection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connection").field("spark", &self.spark).finish()
    }
}
