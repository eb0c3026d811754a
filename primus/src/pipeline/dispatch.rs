//! What happens to incoming frames of one spark, whatever the transport.
//!
//! The [`Dispatcher`] handles control messages (pong, id), queues data while
//! a handler is busy, and runs the server's handlers in order. A transport
//! drives it from its connection task: it feeds frames with
//! [`Dispatcher::incoming`] and polls [`Dispatcher::progress`] alongside its
//! socket, so handlers run concurrently with reads and writes but one
//! message at a time per spark (or, with the server's
//! `handler_concurrency` above 1, up to that many at once).
//!
//! **Fairness.** A handler that writes to many sparks (a broadcast) can fill
//! their outbound queues faster than their connection tasks empty them.
//! Every queue a handler takes past half its budget is noted while the
//! handler is polled (`spark::pressure`); before the next message of this
//! spark starts, the dispatcher waits for those queues to drain, at most
//! [`DRAIN_WAIT`], skipping receivers whose socket has been blocked for
//! [`STALLED_AFTER`] (they are slow, not busy). Meanwhile this spark's
//! messages pile up in `pending`, and past [`MAX_PENDING`] its socket is no
//! longer read: the burst is slowed down at its source.

use super::active_plugins::{ActivePlugins, PluginCache};
use super::handlers::{BoxFuture, Handlers};
use super::plugin::PluginSet;
use super::Pipeline;
use crate::message::envelope::Envelope;
use crate::message::transform::Packet;
use crate::message::Message;
use crate::parser::{Inspection, Parser};
use crate::spark::pressure::Collector;
use crate::spark::{BoxError, CloseRequest, DisconnectReason, Spark, SparkError};
use crate::wire::protocol::{self, Control};
use crate::wire::Frame;
use futures_util::stream::{FuturesUnordered, StreamExt};
use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tracing::Instrument;

/// Most messages queued while handlers are busy; past this the transport
/// stops reading from the socket (back-pressure onto the client).
pub(crate) const MAX_PENDING: usize = 256;

/// The WebSocket close code for a client that sent too many invalid messages.
const POLICY_VIOLATION: u16 = 1008;

/// Longest wait, after a handler, for the queues it congested to drain.
pub(crate) const DRAIN_WAIT: Duration = Duration::from_secs(1);

/// A receiver whose socket has been blocked this long is not waited for.
pub(crate) const STALLED_AFTER: Duration = Duration::from_secs(1);

pub(crate) struct Dispatcher {
    spark: Spark,
    parser: Arc<dyn Parser>,
    handlers: Arc<Handlers>,
    active_plugins: Arc<ActivePlugins>,
    plugins: PluginCache,
    /// Typed handlers and the built-in JSON parser (both fixed for the
    /// server's life): envelopes can be read while frames are checked.
    reads_envelopes: bool,
    pending: VecDeque<(Message, Option<Envelope>)>,
    connecting: Option<BoxFuture<Result<(), BoxError>>>,
    /// The message being handled (one at a time: `concurrency` is 1).
    handling: Option<BoxFuture<()>>,
    /// Messages of one spark handled at once; above 1, they run in `running`.
    concurrency: usize,
    running: FuturesUnordered<BoxFuture<()>>,
    /// Other sparks' queues congested by the running handler.
    congested: Vec<Spark>,
    /// Waiting for `congested` queues to drain, before the next message.
    draining: Option<BoxFuture<()>>,
    /// Invalid messages received so far, and how many are tolerated.
    invalid: u32,
    max_invalid: u32,
    /// The spark's span: every handler runs inside it.
    span: tracing::Span,
}

impl Dispatcher {
    /// Starts the connection handlers of a new spark: the plugins', then
    /// the application's.
    pub(crate) fn new(spark: Spark, pipeline: &Pipeline, span: tracing::Span) -> Dispatcher {
        let reads_envelopes = pipeline.handlers.wants_envelope() && pipeline.parser.is_builtin_json();
        let cache = PluginCache::new(&pipeline.plugins);
        // The set the cache just read (one lock per spark, not two).
        let plugins = cache.current().clone();
        let own = pipeline.handlers.connection(spark.clone());
        let connecting: Option<BoxFuture<Result<(), BoxError>>> =
            match plugins.plugins.iter().any(|p| !p.connection.is_empty()) {
                false => own,
                true => {
                    let spark = spark.clone();
                    Some(Box::pin(async move {
                        for handler in plugins.plugins.iter().flat_map(|p| &p.connection) {
                            handler(spark.clone()).await?;
                        }
                        match own {
                            Some(own) => own.await,
                            None => Ok(()),
                        }
                    }))
                }
            };
        Dispatcher {
            spark,
            parser: pipeline.parser.clone(),
            handlers: pipeline.handlers.clone(),
            active_plugins: pipeline.plugins.clone(),
            plugins: cache,
            reads_envelopes,
            pending: VecDeque::new(),
            connecting,
            handling: None,
            concurrency: pipeline.handler_concurrency.max(1),
            running: FuturesUnordered::new(),
            congested: Vec::new(),
            draining: None,
            invalid: 0,
            max_invalid: pipeline.max_invalid_frames.max(1),
            span,
        }
    }

    /// The active plugins and transforms, as of now.
    pub(crate) fn plugins(&mut self) -> &Arc<PluginSet> {
        self.plugins.get(&self.active_plugins)
    }

    /// False while too many messages wait for busy handlers.
    pub(crate) fn can_accept(&self) -> bool {
        self.pending.len() < MAX_PENDING
    }

    /// True while no further message can start: a handler runs (as many
    /// as allowed, with concurrency), or the dispatcher waits for the
    /// queues a handler congested.
    fn at_capacity(&self) -> bool {
        self.connecting.is_some()
            || self.handling.is_some()
            || self.draining.is_some()
            || self.running.len() >= self.concurrency
    }

    /// True while anything runs: a handler, or the wait for drained queues.
    pub(crate) fn is_running(&self) -> bool {
        self.connecting.is_some()
            || self.handling.is_some()
            || self.draining.is_some()
            || !self.running.is_empty()
    }

    /// Handles one incoming frame (its size was already checked).
    pub(crate) fn incoming(&mut self, frame: Frame) {
        if self.spark_awaits_replies(&frame) {
            return;
        }
        if let Some(envelope) = self.envelope_of(&frame) {
            // Valid JSON, and an object: neither a control message nor an error.
            return self.enqueue(frame, Some(envelope));
        }
        match self.parser.inspect(&frame) {
            Err(error) => {
                self.spark.report(&SparkError::Decode(error));
                self.invalid = self.invalid.saturating_add(1);
                if self.invalid == self.max_invalid {
                    self.spark.report(&SparkError::TooManyInvalid {
                        limit: self.max_invalid,
                    });
                    self.spark.note_disconnect(DisconnectReason::TooManyInvalid);
                    self.spark.close(CloseRequest {
                        announce: true,
                        code: Some(POLICY_VIOLATION),
                    });
                }
            }
            Ok(Inspection::Control(text)) => match protocol::classify(&text) {
                Some(Control::Pong(_)) => self.spark.mark_alive(),
                Some(Control::Id(_)) => {
                    let _ = self.spark.write(&protocol::id(self.spark.id()));
                }
                // Anything else is ordinary data, exactly as in Primus.
                _ => self.enqueue(frame, None),
            },
            Ok(Inspection::Data) => self.enqueue(frame, None),
        }
    }

    /// With typed handlers, the built-in JSON parser and no incoming
    /// transforms, a JSON object is checked and its envelope read in one
    /// pass (instead of validating the frame, then reading the envelope).
    /// `None` when that does not apply or the frame is not such an object;
    /// the caller then inspects the frame as usual.
    fn envelope_of(&mut self, frame: &Frame) -> Option<Envelope> {
        if !self.reads_envelopes || frame.is_binary() || !self.plugins().transforms.incoming.is_empty() {
            return None;
        }
        let bytes = frame.as_bytes();
        let first = bytes.iter().find(|b| !matches!(b, b' ' | b'\t' | b'\n' | b'\r'));
        if first != Some(&b'{') {
            return None;
        }
        Envelope::scan(bytes)
    }

    /// True when `frame` answered a request this spark sent (and settled
    /// it), in the typed shape or in a plugin's own (read by its reader).
    fn spark_awaits_replies(&mut self, frame: &Frame) -> bool {
        if !self.spark.awaits_replies() {
            return false;
        }
        let message = Message::new(frame.clone(), self.parser.clone());
        self.spark.take_reply(&message) || (self.spark.has_requests_waiting() && self.plugin_reply(&message))
    }

    /// Settles a request with `message` when a plugin's reply reader
    /// recognizes it; false otherwise. Only while a request waits: a
    /// plugin's late reply passes as data.
    fn plugin_reply(&mut self, message: &Message) -> bool {
        let plugins = self.plugins().clone();
        let mut readers = plugins
            .plugins
            .iter()
            .flat_map(|plugin| &plugin.reply_readers)
            .peekable();
        if readers.peek().is_none() {
            return false;
        }
        let Ok(value) = message.decode::<serde_json::Value>() else {
            return false;
        };
        let Some(reply) = readers.find_map(|read| read(&self.spark, &value)) else {
            return false;
        };
        match self.parser.encode_value(&reply) {
            Ok(frame) => self.spark.take_reply(&Message::new(frame, self.parser.clone())),
            Err(_) => false,
        }
    }

    fn enqueue(&mut self, frame: Frame, envelope: Option<Envelope>) {
        let handlers = &self.handlers;
        let nobody = handlers.data.is_empty() && handlers.events.is_empty();
        if nobody && self.plugins().transforms.incoming.is_empty() {
            return;
        }
        self.pending
            .push_back((Message::new(frame, self.parser.clone()), envelope));
        self.start_next();
    }

    fn start_next(&mut self) {
        // Spans a handler opens when it is called (a typed event's) are
        // children of the spark's.
        let span = self.span.clone();
        let _inside = span.enter();
        while !self.at_capacity() {
            let Some((message, envelope)) = self.pending.pop_front() else {
                return;
            };
            let plugins = self.plugins.get(&self.active_plugins);
            let handling: Option<BoxFuture<()>> = match plugins.transforms.incoming.is_empty() {
                true => self.handlers.message(&self.spark, message, envelope),
                false => Some(Box::pin(transform_then_route(
                    self.spark.clone(),
                    self.parser.clone(),
                    self.handlers.clone(),
                    plugins.clone(),
                    message,
                ))),
            };
            match (self.concurrency, handling) {
                (1, handling) => self.handling = handling,
                (_, Some(handling)) => self.running.push(handling),
                (_, None) => {}
            }
        }
    }

    /// Drives the running handler; when it finishes, starts the next one
    /// and returns `Ready`. `Pending` while it runs, and while no handler
    /// runs. The handler's state lives in `self`, so dropping a poll loses
    /// nothing.
    pub(crate) fn poll_progress(&mut self, cx: &mut Context<'_>) -> Poll<()> {
        let span = self.span.clone();
        let _inside = span.enter();
        // Concurrent handlers run on whatever else the dispatcher waits for.
        let finished = self.poll_running(cx);
        if let Some(draining) = self.draining.as_mut() {
            if draining.as_mut().poll(cx).is_pending() {
                return match finished {
                    true => Poll::Ready(()),
                    false => Poll::Pending,
                };
            }
            self.draining = None;
        } else if let Some(connecting) = self.connecting.as_mut() {
            let collector = Collector::arm();
            let polled = catch_unwind(AssertUnwindSafe(|| connecting.as_mut().poll(cx)));
            collector.finish(&mut self.congested);
            let outcome = match polled {
                Ok(Poll::Pending) => return Poll::Pending,
                Ok(Poll::Ready(outcome)) => Ok(outcome),
                Err(panic) => Err(panic),
            };
            self.connecting = None;
            match outcome {
                Ok(Ok(())) => {}
                Ok(Err(error)) => {
                    self.spark.report(&SparkError::Connection(error));
                    self.spark.end();
                }
                Err(_) => {
                    self.spark
                        .report(&SparkError::Connection("a connection handler panicked".into()));
                    self.spark.end();
                }
            }
        } else if let Some(handling) = self.handling.as_mut() {
            let collector = Collector::arm();
            let polled = catch_unwind(AssertUnwindSafe(|| handling.as_mut().poll(cx)));
            collector.finish(&mut self.congested);
            let outcome = match polled {
                Ok(Poll::Pending) => return Poll::Pending,
                Ok(Poll::Ready(())) => Ok(()),
                Err(panic) => Err(panic),
            };
            self.handling = None;
            if outcome.is_err() {
                tracing::error!(
                    spark = self.spark.id(),
                    "a data handler panicked; the message was dropped"
                );
            }
        } else if !finished {
            return Poll::Pending;
        }
        if self.start_draining() {
            return Poll::Ready(());
        }
        self.start_next();
        Poll::Ready(())
    }

    /// Polls the concurrent handlers (concurrency above 1); true when at
    /// least one finished. A panicking handler loses its message only.
    fn poll_running(&mut self, cx: &mut Context<'_>) -> bool {
        let mut finished = false;
        while !self.running.is_empty() {
            let collector = Collector::arm();
            let polled = catch_unwind(AssertUnwindSafe(|| self.running.poll_next_unpin(cx)));
            collector.finish(&mut self.congested);
            match polled {
                Ok(Poll::Ready(_)) => finished = true,
                Ok(Poll::Pending) => break,
                Err(_) => {
                    finished = true;
                    tracing::error!(
                        spark = self.spark.id(),
                        "a data handler panicked; the message was dropped"
                    );
                }
            }
        }
        finished
    }

    /// Starts waiting for the queues the last handler congested (its own
    /// spark's aside: this connection drains that one itself). False when
    /// there is nothing to wait for.
    fn start_draining(&mut self) -> bool {
        if self.congested.is_empty() {
            return false;
        }
        let own = &self.spark;
        let mut waited: Vec<Spark> = std::mem::take(&mut self.congested);
        waited.retain(|spark| {
            spark != own
                && spark.is_open()
                // A detached spark's queue drains only when its client is back.
                && !spark.is_detached()
                && spark.blocked_for().is_none_or(|blocked| blocked < STALLED_AFTER)
        });
        if waited.is_empty() {
            return false;
        }
        self.draining = Some(Box::pin(async move {
            let all = futures_util::future::join_all(waited.iter().map(Spark::drained));
            let _ = tokio::time::timeout(DRAIN_WAIT, all).await;
        }));
        true
    }

    /// [`poll_progress`](Self::poll_progress) until a handler finishes.
    /// Never completes while no handler runs. Cancel-safe.
    pub(crate) async fn progress(&mut self) {
        std::future::poll_fn(|cx| self.poll_progress(cx)).await;
    }

    /// Polls the running handler once (with the caller's waker) and moves
    /// on if it finished; returns at once either way.
    pub(crate) async fn poll_once(&mut self) {
        std::future::poll_fn(|cx| {
            let _ = self.poll_progress(cx);
            Poll::Ready(())
        })
        .await;
    }

    /// After the connection is gone: finishes the running handler and the
    /// queued messages, then runs the disconnection handlers (the
    /// application's, then the plugins').
    pub(crate) async fn finish(mut self) {
        while self.is_running() {
            self.progress().await;
        }
        let span = self.span.clone();
        self.handlers.disconnection(&self.spark).instrument(span).await;
        let plugins = self.plugins().clone();
        for handler in plugins.plugins.iter().flat_map(|p| &p.disconnection) {
            handler(self.spark.clone()).await;
        }
    }
}

/// Runs the incoming transforms on a message, then routes what is left.
async fn transform_then_route(
    spark: Spark,
    parser: Arc<dyn Parser>,
    handlers: Arc<Handlers>,
    plugins: Arc<PluginSet>,
    message: Message,
) {
    let message = match message.decode::<serde_json::Value>() {
        // Binary frames and non-JSON parsers pass through untransformed.
        Err(_) => message,
        Ok(data) => match plugins
            .transforms
            .incoming
            .run(&spark, Packet { data: data.clone() })
            .await
        {
            Err(error) => return spark.report(&SparkError::Transform(error)),
            Ok(None) => return,
            Ok(Some(packet)) if packet.data == data => message,
            Ok(Some(packet)) => match parser.encode_value(&packet.data) {
                Ok(frame) => Message::new(frame, parser.clone()),
                Err(error) => return spark.report(&SparkError::Decode(error)),
            },
        },
    };
    if let Some(route) = handlers.message(&spark, message, None) {
        route.await;
    }
}
