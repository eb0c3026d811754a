//! One WebSocket connection's task: reads frames into the pipeline, writes
//! what the pipeline hands out, and runs handlers, in one loop.
//!
//! tungstenite reads frames (and answers pings and closes); data frames are
//! written by a [`FrameWriter`], one vectored write per batch, without
//! copying payloads. Replies are gathered while anything else is ready and
//! written once the loop is idle (or once enough bytes gathered), so one
//! write carries every reply produced meanwhile.

use super::frame_writer::FrameWriter;
use super::metered::{is_budget_spent, Metered};
use crate::pipeline::{Connection, OpenError, Work};
use crate::spark::{CloseRequest, DisconnectReason, Outbound, Spark, SparkError};
use crate::wire::deflate::{inflate_failure, InflateError, Inflating};
use crate::wire::{protocol, Frame};
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use hyper_util::rt::TokioIo;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::tungstenite::{self, Message as WsMessage, Utf8Bytes};
use tokio_tungstenite::WebSocketStream;

/// Closes a stream whose connection could not be opened.
pub(super) async fn refuse(mut stream: Stream, error: OpenError) {
    tracing::debug!(%error, "connection refused");
    // Bounded, as every write: the client may not read.
    let _ = tokio::time::timeout(crate::pipeline::CLOSE_GRACE, stream.close(None)).await;
}

/// Items taken from the outbound queue in one go.
const WRITE_BATCH: usize = 64;

/// Messages read in a row before the loop yields to other tasks: a client
/// that keeps sending must not keep its worker thread to itself.
const READS_PER_TURN: u32 = 64;

type Stream = WebSocketStream<Inflating<Metered<TokioIo<hyper::upgrade::Upgraded>>>>;

/// A WebSocket and the connection it carries.
pub(super) struct Socket {
    stream: Stream,
    connection: Connection,
    /// Data frames waiting for the next write.
    writer: FrameWriter,
    /// Bytes gathered in `writer` that trigger a write before the loop is idle.
    write_threshold: usize,
}

/// What one turn of [`Socket::pump`]'s loop found ready.
enum Turn {
    Close(CloseRequest),
    Work(Work),
    Incoming(Option<Result<WsMessage, tungstenite::Error>>),
    Flush,
}

/// What the loop does after a message was read.
enum Read {
    Continue,
    /// Send what tungstenite queued (the answer to a ping).
    Flush,
    Exit(Exit),
}

/// Why the read/write loop stopped.
enum Exit {
    /// The server asked to close.
    Requested(CloseRequest),
    /// The client closed or the socket failed.
    Gone,
    /// A message exceeded `max_length`, or the server's budget for partly
    /// received messages was spent (the error says which).
    TooLarge(SparkError),
    /// The client broke RFC 6455 (1002) or sent a text frame that is not
    /// UTF-8 (1007); tungstenite will not write any more, so the close
    /// frame with this code is written by hand.
    Violation(u16),
}

impl Socket {
    pub(super) fn new(
        stream: Stream,
        connection: Connection,
        write_threshold: usize,
        compress: bool,
    ) -> Socket {
        Socket {
            stream,
            connection,
            writer: FrameWriter::new(compress),
            write_threshold,
        }
    }

    /// Runs the connection until it ends, then finishes it. Spawned as a
    /// task of its own: what the handshake needed is gone by then, so an
    /// idle connection holds only this future.
    ///
    /// An `async` block rather than an `async fn`: the function would move
    /// `self` into a local of its own and keep both copies in the future
    /// (about 0.9 KiB more per connection).
    #[expect(
        clippy::manual_async_fn,
        reason = "an async fn keeps `self` twice in its future"
    )]
    pub(super) fn serve(mut self) -> impl Future<Output = ()> + Send {
        async move {
            let exit = self.pump().await;
            self.close(exit).await;
            let Socket { connection, .. } = self;
            connection.finish().await;
        }
    }

    /// The closing steps after the loop stopped.
    async fn close(&mut self, exit: Exit) {
        let grace = self.connection.close_grace();
        match exit {
            Exit::Requested(_) if self.connection.spark().is_superseded() => {
                // Its client is back on a new connection: nothing here is
                // read any more. What was queued stays for the new one.
            }
            Exit::Requested(request) => {
                self.drain_outbound().await;
                if request.announce {
                    self.writer.push(self.connection.server_close_frame());
                }
                let close = request.code.map(|code| CloseFrame {
                    code: CloseCode::from(code),
                    reason: Utf8Bytes::default(),
                });
                // Bounded: a client that stopped reading would hold these
                // writes (and the connection) for as long as TCP lets it.
                let farewell = async {
                    self.write_out().await.is_ok() && self.stream.send(WsMessage::Close(close)).await.is_ok()
                };
                if tokio::time::timeout(grace, farewell).await == Ok(true) {
                    self.await_client_close().await;
                }
            }
            Exit::Gone => {
                self.connection.mark_closed();
                // Bounded: the client may have stopped reading.
                let _ = tokio::time::timeout(grace, self.stream.flush()).await;
            }
            Exit::Violation(code) => {
                self.connection.forgo_recovery();
                self.connection.mark_closed();
                let [high, low] = code.to_be_bytes();
                // A server frame is not masked: FIN + close, 2 bytes of code.
                let frame = [0x88, 0x02, high, low];
                let stream = self.stream.get_mut();
                let farewell = async {
                    let _ = stream.write_all(&frame).await;
                    let _ = stream.flush().await;
                };
                let _ = tokio::time::timeout(grace, farewell).await;
            }
            Exit::TooLarge(error) => {
                self.connection
                    .spark()
                    .note_disconnect(DisconnectReason::TooLarge);
                self.connection.mark_closed();
                self.connection.report(error);
                let close = CloseFrame {
                    code: CloseCode::Size,
                    reason: Utf8Bytes::default(),
                };
                // What was queued before the oversize message still goes out
                // (bounded, as above).
                let farewell = async {
                    let _ = self.write_out().await;
                    let _ = self.stream.send(WsMessage::Close(Some(close))).await;
                };
                let _ = tokio::time::timeout(grace, farewell).await;
                // The rest of the oversize message is still in the socket:
                // discard it instead of parsing it, so the close frame is not
                // lost to a connection reset.
                self.discard_input().await;
            }
        }
    }

    /// Reads, writes and runs handlers until the connection should end.
    async fn pump(&mut self) -> Exit {
        // Made once: it registers its waker on the first poll only.
        let watch = self.connection.close_watch();
        let close = watch.requested();
        tokio::pin!(close);
        // Frames are queued as they come and written once nothing else is
        // ready, so one write carries every reply produced meanwhile.
        let mut unflushed = false;
        let mut reads: u32 = 0;
        // When the server writes without pause (a stream sent with
        // `Spark::send`), outbound work is always ready; so after each
        // batch the client's side comes first once, or its messages (and
        // its answers to the heartbeat) would wait for the stream to end.
        let mut read_first = false;
        loop {
            let turn = match read_first {
                true => tokio::select! {
                    biased;
                    request = &mut close => Turn::Close(request),
                    incoming = self.stream.next(), if self.connection.can_receive() => Turn::Incoming(incoming),
                    work = self.connection.work() => Turn::Work(work),
                    () = std::future::ready(()), if unflushed => Turn::Flush,
                },
                false => tokio::select! {
                    biased;
                    request = &mut close => Turn::Close(request),
                    work = self.connection.work() => Turn::Work(work),
                    incoming = self.stream.next(), if self.connection.can_receive() => Turn::Incoming(incoming),
                    () = std::future::ready(()), if unflushed => Turn::Flush,
                },
            };
            read_first = matches!(turn, Turn::Work(_));
            match turn {
                Turn::Close(request) => return Exit::Requested(request),
                Turn::Work(work) => {
                    if let Work::Outbound(item) = work {
                        self.queue_batch(item).await;
                        unflushed = true;
                        if self.is_gathered() {
                            if let Some(exit) = self.write_out_unless_closed(close.as_mut()).await {
                                return exit;
                            }
                        }
                    }
                }
                Turn::Incoming(incoming) => match incoming {
                    None => return Exit::Gone,
                    Some(Ok(message)) => {
                        self.stream.get_mut().get_mut().message_done();
                        match self.on_message(message) {
                            Read::Continue => {}
                            Read::Exit(exit) => return exit,
                            Read::Flush => {
                                if let Some(exit) = self.flush_unless_closed(close.as_mut()).await {
                                    return exit;
                                }
                            }
                        }
                        reads += 1;
                        if reads.is_multiple_of(READS_PER_TURN) {
                            tokio::task::yield_now().await;
                        }
                        // Most handlers finish without waiting: run the
                        // new one now and queue what it wrote, instead of
                        // going round the loop twice more.
                        if self.connection.is_busy() {
                            self.connection.poll_handlers_once().await;
                            if let Some(item) = self.connection.try_outbound() {
                                self.queue_batch(item).await;
                                unflushed = true;
                            }
                        }
                        // A client that keeps sending keeps this branch
                        // ready: write before too much gathers.
                        if self.is_gathered() {
                            if let Some(exit) = self.write_out_unless_closed(close.as_mut()).await {
                                return exit;
                            }
                        }
                    }
                    Some(Err(tungstenite::Error::Capacity(_))) => {
                        let limit = self.stream.get_config().max_message_size.unwrap_or_default();
                        return Exit::TooLarge(SparkError::PayloadTooLarge { limit });
                    }
                    Some(Err(tungstenite::Error::Io(error))) if inflate_failure(&error).is_some() => {
                        return match inflate_failure(&error) {
                            Some(InflateError::TooLarge { limit }) => {
                                Exit::TooLarge(SparkError::PayloadTooLarge { limit })
                            }
                            Some(InflateError::BudgetSpent { limit }) => {
                                Exit::TooLarge(SparkError::PartialMessagesBudget { limit })
                            }
                            Some(InflateError::Corrupt) => {
                                self.connection.report(SparkError::Transport(error.to_string()));
                                Exit::Violation(1007)
                            }
                            _ => {
                                self.connection.report(SparkError::Transport(error.to_string()));
                                Exit::Violation(1002)
                            }
                        };
                    }
                    Some(Err(tungstenite::Error::Io(error))) if is_budget_spent(&error).is_some() => {
                        let limit = is_budget_spent(&error).unwrap_or_default();
                        return Exit::TooLarge(SparkError::PartialMessagesBudget { limit });
                    }
                    Some(Err(error)) => {
                        if let Some(code) = violation_code(&error) {
                            self.connection.report(SparkError::Transport(error.to_string()));
                            return Exit::Violation(code);
                        }
                        if !is_plain_disconnect(&error) {
                            self.connection.report(SparkError::Transport(error.to_string()));
                        }
                        return Exit::Gone;
                    }
                },
                Turn::Flush => {
                    if let Some(exit) = self.write_out_unless_closed(close.as_mut()).await {
                        return exit;
                    }
                    unflushed = false;
                }
            }
        }
    }

    fn on_message(&mut self, message: WsMessage) -> Read {
        match message {
            WsMessage::Text(text) => self.connection.receive(Frame::text_trusted(Bytes::from(text))),
            WsMessage::Binary(bytes) => self.connection.receive(Frame::binary(bytes)),
            WsMessage::Ping(_) => {
                // Primus' ws transformer counts a client's WebSocket ping as a
                // pong; tungstenite queued the answer, which goes out now.
                self.connection.heartbeat();
                return Read::Flush;
            }
            WsMessage::Close(frame) => {
                // A close on purpose: the session is not kept for recovery,
                // unless the client says it only gave up on this connection.
                let resumable = frame
                    .as_ref()
                    .is_some_and(|frame| u16::from(frame.code) == protocol::RESUMABLE_CLOSE_CODE);
                if !resumable {
                    self.connection.forgo_recovery();
                }
                return Read::Exit(Exit::Gone);
            }
            WsMessage::Pong(_) | WsMessage::Frame(_) => {}
        }
        Read::Continue
    }

    /// Sends what tungstenite queued (a pong), unless the server asks to
    /// close first: a client that sends pings and does not read would
    /// otherwise hold this flush, and the connection, for ever.
    async fn flush_unless_closed<F: Future<Output = CloseRequest>>(
        &mut self,
        close: Pin<&mut F>,
    ) -> Option<Exit> {
        // Disjoint fields: the spark is borrowed, not cloned, per flush.
        let stream = &mut self.stream;
        let flushed = watch_blocking(self.connection.spark(), |cx| stream.poll_flush_unpin(cx));
        tokio::select! {
            biased;
            request = close => Some(Exit::Requested(request)),
            flushed = flushed => flushed.err().map(|_| Exit::Gone),
        }
    }

    /// Queues `first` and whatever else is waiting (up to a batch) for the
    /// next write, which happens once nothing else is ready, or at once if
    /// `write_threshold` bytes have gathered. Frames are queued without
    /// awaiting anything; only packets go through the outgoing transforms.
    async fn queue_batch(&mut self, first: Outbound) {
        let mut next = Some(first);
        let mut taken = 0;
        while let Some(item) = next {
            match item {
                Outbound::Frame(frame) => {
                    let frame = self.connection.record(frame);
                    self.writer.push(frame);
                }
                Outbound::Packet(packet) => {
                    if let Some(frame) = self.connection.transform(packet).await {
                        self.writer.push(frame);
                    }
                }
            }
            taken += 1;
            next = match taken < WRITE_BATCH {
                true => self.connection.try_outbound(),
                false => None,
            };
        }
    }

    /// Queues one outbound item for the next write (a frame at once, a
    /// packet through the outgoing transforms).
    async fn queue(&mut self, item: Outbound) {
        let frame = match item {
            Outbound::Frame(frame) => Some(self.connection.record(frame)),
            Outbound::Packet(packet) => self.connection.transform(packet).await,
        };
        if let Some(frame) = frame {
            self.writer.push(frame);
        }
    }

    /// True once `write_threshold` bytes wait: the loop then writes them
    /// out at once instead of when it is idle. (A plain check, so the
    /// common "not yet" costs no future.)
    fn is_gathered(&self) -> bool {
        self.writer.buffered() >= self.write_threshold
    }

    /// Writes what is queued, unless the server asks to close first (a
    /// client that stopped reading blocks the write; the close must still
    /// be seen). `Some` when the loop should stop.
    async fn write_out_unless_closed<F: Future<Output = CloseRequest>>(
        &mut self,
        close: Pin<&mut F>,
    ) -> Option<Exit> {
        tokio::select! {
            biased;
            request = close => Some(Exit::Requested(request)),
            written = self.write_out() => written.err().map(|_| Exit::Gone),
        }
    }

    /// Writes every queued frame to the socket (one vectored write per
    /// batch). Runs to completion before tungstenite touches the socket again.
    async fn write_out(&mut self) -> std::io::Result<()> {
        if self.writer.is_empty() {
            return Ok(());
        }
        // Disjoint fields: the spark is borrowed, not cloned, per write.
        let (writer, stream) = (&mut self.writer, self.stream.get_mut());
        watch_blocking(self.connection.spark(), |cx| {
            writer.poll_write_to(Pin::new(&mut *stream), cx)
        })
        .await
    }

    async fn drain_outbound(&mut self) {
        while let Some(item) = self.connection.try_outbound() {
            self.queue(item).await;
        }
    }

    async fn await_client_close(&mut self) {
        let grace = self.connection.close_grace();
        let _ = tokio::time::timeout(grace, async {
            while let Some(Ok(_)) = self.stream.next().await {}
        })
        .await;
    }

    async fn discard_input(&mut self) {
        // On the heap: an array here would be part of every connection's future.
        let mut sink = vec![0u8; 8 * 1024];
        let grace = self.connection.close_grace();
        let stream = self.stream.get_mut();
        let _ = tokio::time::timeout(grace, async {
            while let Ok(read) = stream.read(&mut sink).await {
                if read == 0 {
                    break;
                }
            }
        })
        .await;
    }
}

/// The close code for a client's violation of RFC 6455: 1007 for a text
/// frame that is not UTF-8, 1002 for a protocol error; `None` for anything
/// else (a disconnect, an I/O error).
fn violation_code(error: &tungstenite::Error) -> Option<u16> {
    use tungstenite::error::ProtocolError;
    match error {
        tungstenite::Error::Utf8(_) => Some(1007),
        tungstenite::Error::Protocol(ProtocolError::ResetWithoutClosingHandshake) => None,
        tungstenite::Error::Protocol(_) => Some(1002),
        _ => None,
    }
}

/// A client that went away without a close handshake (a killed process, a
/// lost network) is an ordinary disconnect, not an error.
fn is_plain_disconnect(error: &tungstenite::Error) -> bool {
    use tungstenite::error::ProtocolError;
    matches!(
        error,
        tungstenite::Error::ConnectionClosed
            | tungstenite::Error::AlreadyClosed
            | tungstenite::Error::Io(_)
            | tungstenite::Error::Protocol(ProtocolError::ResetWithoutClosingHandshake)
    )
}

/// Polls a socket write to completion, and marks the spark's write blocked
/// while it cannot complete (the heartbeat ends a spark blocked for a whole
/// interval). The write is polled directly: a write that goes through at
/// once costs one poll and no extra future.
async fn watch_blocking<T>(spark: &Spark, mut write: impl FnMut(&mut Context<'_>) -> Poll<T>) -> T {
    // Dropped when the write completes, and also when it is dropped (the
    // close request won): the spark is closing then, and the closing writes
    // are bounded anyway.
    let mut unblock: Option<Unblock<'_>> = None;
    std::future::poll_fn(|cx| {
        let polled = write(cx);
        if polled.is_pending() && unblock.is_none() {
            spark.write_blocked();
            unblock = Some(Unblock(spark));
        }
        polled
    })
    .await
}

/// Clears the spark's blocked mark when dropped.
struct Unblock<'a>(&'a Spark);

impl Drop for Unblock<'_> {
    fn drop(&mut self) {
        self.0.write_unblocked();
    }
}
