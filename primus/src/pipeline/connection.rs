//! The transport's side of the pipeline: a [`Connection`] (opened by a
//! [`Connector`](super::Connector)) takes incoming frames and hands out
//! outgoing ones.

use super::dispatch::Dispatcher;
use super::live_connections::LiveConnection;
use super::recovery::{Detachable, RecoverableSession, Recovery};
use super::{PipelineHost, CLOSE_GRACE};
use crate::message::transform::Packet;
use crate::spark::queue::QueueReceiver;
use crate::spark::{CloseRequest, DisconnectReason, Outbound, Spark, SparkError};
use crate::telemetry::ConnectionMeters;
use crate::wire::Frame;
use std::collections::VecDeque;
use std::future::Future;
use std::sync::Arc;
use std::task::{Context, Poll};

/// One open connection, as its transport drives it.
///
/// The transport's loop, in outline (see the [`transformer`](crate::transformer)
/// docs for a complete one):
///
/// * feed every incoming data frame to [`receive`](Self::receive) (after
///   checking its size against [`Connector::max_length`](super::Connector::max_length)), and stop reading
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
    // Set by the connector that opens (or resumes) it.
    pub(super) spark: Spark,
    pub(super) outbound: QueueReceiver<Outbound>,
    pub(super) dispatcher: Dispatcher,
    pub(super) host: Arc<dyn PipelineHost>,
    /// Counts this connection as running until it has finished (or is dropped).
    pub(super) live: LiveConnection,
    /// Its message and byte counters.
    pub(super) meters: ConnectionMeters,
    /// Frames that go out before the outbound queue: the recovery
    /// greeting, and the frames a resuming client missed.
    pub(super) preface: VecDeque<Frame>,
    /// How many of the next frames sent are not recorded for replay (the
    /// preface: a greeting is not counted, missed frames already are).
    pub(super) unrecorded: usize,
    /// The recoverable session, when the client asked for one.
    pub(super) session: Option<RecoverableSession>,
    /// The connection ended in a way that is not resumed.
    pub(super) forgo_recovery: bool,
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
