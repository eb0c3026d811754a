//! The `websockets` transformer: RFC 6455 on tokio-tungstenite.
//!
//! Matches Primus' `websockets` transformer on the wire: no subprotocol, no
//! compression, text frames for text and binary frames for binary; every
//! close is an empty close frame (the peer reports 1005) except an oversize
//! message, which is closed with 1009; WebSocket pings from the client count
//! as heartbeat answers.
//!
//! Each connection is driven by one task that reads frames, drains the
//! spark's outbound queue in batches and polls the running handler, so there
//! is no task hop per message. tungstenite reads frames (and answers pings
//! and closes); data frames are written by a [`FrameWriter`], one vectored
//! write per batch, without copying payloads.

use super::connection::Dispatcher;
use super::frame_writer::FrameWriter;
use crate::frame::Frame;
use crate::server::http::respond;
use crate::server::Shared;
use crate::spark::{Address, CloseRequest, Outbound, Query, Spark, SparkError, SparkInit, SparkReceiver};
use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http::header::{self, HeaderMap, HeaderValue};
use http::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncReadExt;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{self, Message as WsMessage, Utf8Bytes};
use tokio_tungstenite::WebSocketStream;

/// Items taken from the outbound queue in one go.
const WRITE_BATCH: usize = 64;
/// How long to wait for the client's close frame after ours.
const CLOSE_GRACE: Duration = Duration::from_secs(2);

type Socket = WebSocketStream<TokioIo<hyper::upgrade::Upgraded>>;

/// True when the request asks for a WebSocket.
pub(crate) fn is_upgrade(headers: &HeaderMap) -> bool {
    headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|p| p.trim().eq_ignore_ascii_case("websocket")))
}

fn bad_handshake(status: StatusCode, message: &'static str) -> Response {
    let mut response = respond(status, Some("text/html"), Body::from(message));
    response
        .headers_mut()
        .insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

fn valid_key(key: &str) -> bool {
    // 16 random bytes in base64: 22 characters and `==`.
    key.len() == 24
        && key.ends_with("==")
        && key[..22]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
}

/// Checks the handshake, answers 101 and starts the connection task.
pub(crate) fn accept(shared: Arc<Shared>, mut request: Request<Body>, address: Address) -> Response {
    let headers = request.headers();
    if request.method() != Method::GET {
        return bad_handshake(StatusCode::METHOD_NOT_ALLOWED, "Invalid HTTP method");
    }
    let connection_upgrade = headers
        .get(header::CONNECTION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|p| p.trim().eq_ignore_ascii_case("upgrade")));
    if !connection_upgrade {
        return bad_handshake(StatusCode::BAD_REQUEST, "Invalid Upgrade header");
    }
    let Some(key) = headers
        .get(header::SEC_WEBSOCKET_KEY)
        .and_then(|k| k.to_str().ok())
        .filter(|k| valid_key(k.trim()))
    else {
        return bad_handshake(
            StatusCode::BAD_REQUEST,
            "Missing or invalid Sec-WebSocket-Key header",
        );
    };
    if headers.get(header::SEC_WEBSOCKET_VERSION).map(|v| v.as_bytes()) != Some(b"13") {
        let mut response = bad_handshake(
            StatusCode::BAD_REQUEST,
            "Missing or invalid Sec-WebSocket-Version header",
        );
        response
            .headers_mut()
            .insert(header::SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"));
        return response;
    }
    let accept_key = tungstenite::handshake::derive_accept_key(key.trim().as_bytes());
    let query = Query::parse(request.uri().query().unwrap_or(""));
    // Copy the values: hyper's are slices of its 16 KiB read buffer, which a
    // long-lived clone would keep alive for the life of the connection.
    let request_headers: HeaderMap = request
        .headers()
        .iter()
        .filter_map(|(name, value)| Some((name.clone(), HeaderValue::from_bytes(value.as_bytes()).ok()?)))
        .collect();
    let on_upgrade = hyper::upgrade::on(&mut request);

    tokio::spawn(async move {
        match on_upgrade.await {
            Ok(upgraded) => run(shared, upgraded, request_headers, address, query).await,
            Err(error) => tracing::debug!(%error, "upgrade failed"),
        }
    });

    let mut response = respond(StatusCode::SWITCHING_PROTOCOLS, None, Body::empty());
    let out = response.headers_mut();
    out.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    out.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    if let Ok(value) = HeaderValue::from_str(&accept_key) {
        out.insert(header::SEC_WEBSOCKET_ACCEPT, value);
    }
    response
}

fn config(shared: &Shared) -> WebSocketConfig {
    let limit = shared.config.max_length;
    WebSocketConfig::default()
        .read_buffer_size(shared.config.websocket.read_buffer_size)
        // Only pongs and close frames go through tungstenite: written at once.
        .write_buffer_size(0)
        .max_message_size(Some(limit))
        .max_frame_size(Some(limit))
}

async fn run(
    shared: Arc<Shared>,
    upgraded: hyper::upgrade::Upgraded,
    headers: HeaderMap,
    address: Address,
    query: Query,
) {
    let socket =
        WebSocketStream::from_raw_socket(TokioIo::new(upgraded), Role::Server, Some(config(&shared))).await;
    let (spark, receiver) = Spark::new(SparkInit {
        id: shared.next_id(),
        headers,
        address,
        query,
        server: shared.clone(),
    });
    if !shared.register(&spark) {
        tracing::error!(
            spark = spark.id(),
            "the id generator returned an id already in use; connection refused"
        );
        let mut socket = socket;
        let _ = socket.close(None).await;
        return;
    }
    let span = tracing::debug_span!("spark", id = spark.id());
    let _entered = span.enter();
    tracing::debug!(address = ?spark.address(), "connected");
    drop(_entered);

    let dispatcher = Dispatcher::new(spark.clone(), shared.clone());
    let connection = Connection {
        shared: shared.clone(),
        socket,
        spark: spark.clone(),
        receiver,
        dispatcher,
        writer: FrameWriter::default(),
        write_threshold: shared.config.websocket.write_threshold,
        max_length: shared.config.max_length,
    };
    let dispatcher = connection.run(&shared).await;
    spark.mark_closed();
    shared.unregister(&spark);
    tracing::debug!(spark = spark.id(), "disconnected");
    dispatcher.finish().await;
}

struct Connection {
    shared: Arc<Shared>,
    socket: Socket,
    spark: Spark,
    receiver: SparkReceiver,
    dispatcher: Dispatcher,
    /// Data frames waiting for the next write.
    writer: FrameWriter,
    /// Bytes gathered in `writer` that trigger a write before the loop is idle.
    write_threshold: usize,
    max_length: usize,
}

/// Why the read/write loop stopped.
enum Exit {
    /// The server asked to close.
    Requested(CloseRequest),
    /// The client closed or the socket failed.
    Gone,
    /// A message exceeded `max_length`.
    TooLarge,
}

impl Connection {
    async fn run(mut self, shared: &Shared) -> Dispatcher {
        let exit = self.pump().await;
        match exit {
            Exit::Requested(request) => {
                self.drain_outbound().await;
                if request.announce {
                    self.writer.push(shared.server_close.clone());
                }
                let close = request.code.map(|code| CloseFrame {
                    code: CloseCode::from(code),
                    reason: Utf8Bytes::default(),
                });
                // Bounded: a client that stopped reading would hold these
                // writes (and the connection) for as long as TCP lets it.
                let farewell = async {
                    self.write_out().await.is_ok() && self.socket.send(WsMessage::Close(close)).await.is_ok()
                };
                if tokio::time::timeout(CLOSE_GRACE, farewell).await == Ok(true) {
                    self.await_client_close().await;
                }
            }
            Exit::Gone => {
                self.spark.mark_closed();
                let _ = self.socket.flush().await;
            }
            Exit::TooLarge => {
                self.spark.mark_closed();
                self.spark.report(&SparkError::PayloadTooLarge {
                    limit: self.max_length,
                });
                let close = CloseFrame {
                    code: CloseCode::Size,
                    reason: Utf8Bytes::default(),
                };
                // What was queued before the oversize message still goes out
                // (bounded, as above).
                let farewell = async {
                    let _ = self.write_out().await;
                    let _ = self.socket.send(WsMessage::Close(Some(close))).await;
                };
                let _ = tokio::time::timeout(CLOSE_GRACE, farewell).await;
                // The rest of the oversize message is still in the socket:
                // discard it instead of parsing it, so the close frame is not
                // lost to a connection reset.
                self.discard_input().await;
            }
        }
        self.dispatcher
    }

    /// Reads, writes and runs handlers until the connection should end.
    async fn pump(&mut self) -> Exit {
        // Made once: it registers its waker on the first poll only.
        let spark = self.spark.clone();
        let close = spark.close_requested();
        tokio::pin!(close);
        // Frames are queued as they come and written once nothing else is
        // ready, so one write carries every reply produced meanwhile.
        let mut unflushed = false;
        loop {
            tokio::select! {
                biased;
                request = &mut close => return Exit::Requested(request),
                item = self.receiver.outbound.recv() => {
                    self.queue_batch(item).await;
                    unflushed = true;
                    if let Some(exit) = self.write_out_if_gathered(close.as_mut()).await {
                        return exit;
                    }
                }
                () = self.dispatcher.progress(), if self.dispatcher.is_busy() => {}
                incoming = self.socket.next(), if self.dispatcher.can_accept() => {
                    match incoming {
                        None => return Exit::Gone,
                        Some(Ok(message)) => {
                            if let Some(exit) = self.on_message(message).await {
                                return exit;
                            }
                            // Most handlers finish without waiting: run the
                            // new one now and queue what it wrote, instead of
                            // going round the loop twice more.
                            if self.dispatcher.is_busy() {
                                self.dispatcher.poll_once().await;
                                if let Some(item) = self.receiver.outbound.try_recv() {
                                    self.queue_batch(item).await;
                                    unflushed = true;
                                }
                            }
                            // A client that keeps sending keeps this branch
                            // ready: write before too much gathers.
                            if let Some(exit) = self.write_out_if_gathered(close.as_mut()).await {
                                return exit;
                            }
                        }
                        Some(Err(tungstenite::Error::Capacity(_))) => return Exit::TooLarge,
                        Some(Err(error)) => {
                            if !is_plain_disconnect(&error) {
                                self.spark.report(&SparkError::Transport(error.to_string()));
                            }
                            return Exit::Gone;
                        }
                    }
                }
                () = std::future::ready(()), if unflushed => {
                    if let Some(exit) = self.write_out_unless_closed(close.as_mut()).await {
                        return exit;
                    }
                    unflushed = false;
                }
            }
        }
    }

    async fn on_message(&mut self, message: WsMessage) -> Option<Exit> {
        match message {
            WsMessage::Text(text) => self.dispatcher.incoming(Frame::text_trusted(Bytes::from(text))),
            WsMessage::Binary(bytes) => self.dispatcher.incoming(Frame::binary(bytes)),
            WsMessage::Ping(_) => {
                // Primus' ws transformer counts a client's WebSocket ping as a pong.
                self.spark.mark_alive();
                if self.socket.flush().await.is_err() {
                    return Some(Exit::Gone);
                }
            }
            WsMessage::Close(_) => return Some(Exit::Gone),
            WsMessage::Pong(_) | WsMessage::Frame(_) => {}
        }
        None
    }

    /// Queues `first` and whatever else is waiting (up to a batch) for the
    /// next write, which happens once nothing else is ready, or at once if
    /// `write_threshold` bytes have gathered.
    async fn queue_batch(&mut self, first: Outbound) {
        self.write(first).await;
        for _ in 1..WRITE_BATCH {
            match self.receiver.outbound.try_recv() {
                Some(item) => self.write(item).await,
                None => break,
            }
        }
    }

    /// [`write_out_unless_closed`](Self::write_out_unless_closed) once
    /// `write_threshold` bytes wait, instead of when the loop is idle.
    async fn write_out_if_gathered<F: Future<Output = CloseRequest>>(
        &mut self,
        close: std::pin::Pin<&mut F>,
    ) -> Option<Exit> {
        if self.writer.buffered() < self.write_threshold {
            return None;
        }
        self.write_out_unless_closed(close).await
    }

    /// Writes what is queued, unless the server asks to close first (a
    /// client that stopped reading blocks the write; the close must still
    /// be seen). `Some` when the loop should stop.
    async fn write_out_unless_closed<F: Future<Output = CloseRequest>>(
        &mut self,
        close: std::pin::Pin<&mut F>,
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
        self.writer.write_to(self.socket.get_mut()).await
    }

    /// Queues one outbound item, running the outgoing transforms on packets.
    async fn write(&mut self, item: Outbound) {
        let frame = match item {
            Outbound::Frame(frame) => frame,
            Outbound::Packet(packet) => {
                let set = self.dispatcher.plugins().clone();
                let packet = match set.transforms.outgoing.run(&self.spark, packet).await {
                    Ok(Some(packet)) => packet,
                    Ok(None) => return,
                    Err(error) => {
                        self.spark.report(&SparkError::Transform(error));
                        return;
                    }
                };
                match self.shared.parser.encode_value(&packet.data) {
                    Ok(frame) => frame,
                    Err(error) => {
                        self.spark.report(&SparkError::Decode(error));
                        return;
                    }
                }
            }
        };
        self.writer.push(frame);
    }

    async fn drain_outbound(&mut self) {
        while let Some(item) = self.receiver.outbound.try_recv() {
            self.write(item).await;
        }
    }

    async fn await_client_close(&mut self) {
        let _ = tokio::time::timeout(CLOSE_GRACE, async {
            while let Some(Ok(_)) = self.socket.next().await {}
        })
        .await;
    }

    async fn discard_input(&mut self) {
        // On the heap: an array here would be part of every connection's future.
        let mut sink = vec![0u8; 8 * 1024];
        let stream = self.socket.get_mut();
        let _ = tokio::time::timeout(CLOSE_GRACE, async {
            while let Ok(read) = stream.read(&mut sink).await {
                if read == 0 {
                    break;
                }
            }
        })
        .await;
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
