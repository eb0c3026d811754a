//! The SockJS `websocket` transport: SockJS frames over a raw WebSocket.
//!
//! The server sends `o`, then `a[...]` frames (every message written
//! meanwhile in one frame), `h` after `heartbeat_delay` of silence, and on a
//! server close `c[1000,"Normal closure"]` and a close frame with the same
//! code. The client sends `["m1","m2"]` or one JSON string; an empty frame
//! is ignored, a payload that is neither is dropped with an `error` and the
//! connection stays up.

use super::framing::{self, FramingError};
use super::SockJs;
use crate::pipeline::{Connection, ConnectionRequest, Connector, Work};
use crate::spark::{Address, CloseRequest, Outbound, Spark, SparkError};
use crate::transformer::websocket::metered::Metered;
use crate::transformer::websocket::{check_handshake, switching_protocols};
use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use http::Request;
use hyper_util::rt::TokioIo;
use std::future::Future;
use std::pin::Pin;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::protocol::{CloseFrame, Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Message as WsMessage, Utf8Bytes};
use tokio_tungstenite::WebSocketStream;

/// Partly received messages count against the server's budget, as on the
/// `websockets` transformer.
type Stream = WebSocketStream<Metered<TokioIo<hyper::upgrade::Upgraded>>>;

/// Answers the upgrade and starts the session's task.
pub(super) fn accept(
    settings: &SockJs,
    mut request: Request<Body>,
    address: Address,
    connector: &Connector,
) -> Response {
    let accept_key = match check_handshake(&request) {
        Ok(key) => key,
        Err(refused) => return *refused,
    };
    let on_upgrade = hyper::upgrade::on(&mut request);
    let (parts, _body) = request.into_parts();
    let client = ConnectionRequest::from_parts(&parts, address);
    let (connector, settings) = (connector.clone(), settings.clone());
    tokio::spawn(async move {
        let upgraded = match on_upgrade.await {
            Ok(upgraded) => upgraded,
            Err(error) => return tracing::debug!(%error, "upgrade failed"),
        };
        let max_length = connector.max_length();
        // A message is quoted inside the SockJS array: escaping can make it
        // longer than `max_length` (each message is checked after decoding).
        let config = WebSocketConfig::default()
            .read_buffer_size(crate::transformer::DEFAULT_READ_BUFFER_SIZE)
            .max_message_size(Some(framing::payload_limit(max_length)))
            .max_frame_size(Some(framing::payload_limit(max_length)));
        let io = Metered::new(TokioIo::new(upgraded), connector.inbound_budget().clone());
        let stream = WebSocketStream::from_raw_socket(io, Role::Server, Some(config)).await;
        match connector.open(client) {
            Ok(connection) => {
                tokio::spawn(serve(stream, connection, settings));
            }
            Err(error) => {
                tracing::debug!(%error, "connection refused");
                let mut stream = stream;
                let _ = tokio::time::timeout(crate::pipeline::CLOSE_GRACE, stream.close(None)).await;
            }
        }
    });
    switching_protocols(&accept_key)
}

/// Why the loop stopped.
enum Exit {
    /// The server asked to close; the frame the loop was about to send,
    /// if the request came first (it goes out before the rest).
    Requested(CloseRequest, Option<Bytes>),
    Gone,
}

async fn serve(mut stream: Stream, mut connection: Connection, settings: SockJs) {
    let exit = pump(&mut stream, &mut connection, &settings).await;
    let grace = connection.close_grace();
    match exit {
        Exit::Requested(request, unsent) => {
            let mut batch = Vec::new();
            while let Some(item) = connection.try_outbound() {
                quote_into(&mut connection, &settings, item, &mut batch).await;
            }
            if request.announce {
                if let Some(quoted) = framing::quote(&connection.server_close_frame()) {
                    batch.push(quoted);
                }
            }
            let farewell = async {
                if let Some(unsent) = unsent {
                    send(&mut stream, unsent).await?;
                }
                if !batch.is_empty() {
                    send(&mut stream, framing::array(&batch, b"")).await?;
                }
                send(&mut stream, framing::close(1000, "Normal closure")).await?;
                let close = CloseFrame {
                    code: CloseCode::Normal,
                    reason: Utf8Bytes::from_static("Normal closure"),
                };
                stream.send(WsMessage::Close(Some(close))).await
            };
            if tokio::time::timeout(grace, farewell)
                .await
                .is_ok_and(|sent| sent.is_ok())
            {
                // The client's close frame, briefly.
                let _ = tokio::time::timeout(grace, async { while let Some(Ok(_)) = stream.next().await {} })
                    .await;
            }
        }
        Exit::Gone => connection.mark_closed(),
    }
    connection.finish().await;
}

async fn pump(stream: &mut Stream, connection: &mut Connection, settings: &SockJs) -> Exit {
    let watch = connection.close_watch();
    let close = watch.requested();
    tokio::pin!(close);
    if send(stream, Bytes::from_static(framing::OPEN.as_bytes()))
        .await
        .is_err()
    {
        return Exit::Gone;
    }
    let max_length = connection.max_length();
    let heartbeat = tokio::time::sleep(settings.heartbeat_delay);
    tokio::pin!(heartbeat);
    // Frames are fed to the socket's write buffer as they come and flushed
    // once nothing else is ready: one write for all the replies to the
    // messages of one read, not one per reply.
    let mut unflushed = false;
    loop {
        tokio::select! {
            biased;
            request = &mut close => return Exit::Requested(request, None),
            work = connection.work() => {
                if let Work::Outbound(item) = work {
                    let mut batch = Vec::new();
                    quote_into(connection, settings, item, &mut batch).await;
                    while let Some(item) = connection.try_outbound() {
                        quote_into(connection, settings, item, &mut batch).await;
                    }
                    if !batch.is_empty() {
                        let frame = framing::array(&batch, b"");
                        if let Some(exit) = feed_unless_closed(stream, frame, connection.spark(), close.as_mut()).await {
                            return exit;
                        }
                        unflushed = true;
                        heartbeat.as_mut().reset(tokio::time::Instant::now() + settings.heartbeat_delay);
                    }
                }
            }
            incoming = stream.next(), if connection.can_receive() => {
                stream.get_mut().message_done();
                match incoming {
                Some(Ok(WsMessage::Text(text))) => {
                    if text.is_empty() {
                        continue;
                    }
                    match framing::messages(text.as_bytes(), true, max_length) {
                        Ok(frames) if frames.len() > framing::MAX_MESSAGES => {
                            connection.report(SparkError::Transport("too many messages in one SockJS frame; dropped".into()));
                        }
                        Ok(frames) => {
                            for frame in frames {
                                connection.receive(frame);
                            }
                            connection.poll_handlers_once().await;
                        }
                        Err(FramingError::TooLarge { limit }) => {
                            connection.report(SparkError::PayloadTooLarge { limit });
                        }
                        Err(error) => connection.report(SparkError::Transport(error.to_string())),
                    }
                }
                Some(Ok(WsMessage::Binary(_))) => {
                    connection.report(SparkError::Transport("SockJS carries text only: a binary frame was dropped".into()));
                }
                Some(Ok(WsMessage::Ping(_))) => {
                    connection.heartbeat();
                    // tungstenite queued the pong: send it.
                    if let Some(exit) = flush_unless_closed(stream, close.as_mut()).await {
                        return exit;
                    }
                }
                Some(Ok(WsMessage::Pong(_) | WsMessage::Frame(_))) => {}
                Some(Ok(WsMessage::Close(_))) | None => return Exit::Gone,
                Some(Err(error)) => {
                    tracing::debug!(%error, "SockJS websocket failed");
                    return Exit::Gone;
                }
            }},
            () = &mut heartbeat => {
                let frame = Bytes::from_static(framing::HEARTBEAT.as_bytes());
                if let Some(exit) = feed_unless_closed(stream, frame, connection.spark(), close.as_mut()).await {
                    return exit;
                }
                unflushed = true;
                heartbeat.as_mut().reset(tokio::time::Instant::now() + settings.heartbeat_delay);
            }
            () = std::future::ready(()), if unflushed => {
                unflushed = false;
                connection.spark().write_blocked();
                let exit = flush_unless_closed(stream, close.as_mut()).await;
                connection.spark().write_unblocked();
                if let Some(exit) = exit {
                    return exit;
                }
            }
        }
    }
}

async fn quote_into(connection: &mut Connection, settings: &SockJs, item: Outbound, batch: &mut Vec<Bytes>) {
    let Some(frame) = connection.prepare(item).await else {
        return;
    };
    // Quoted once per frame: a broadcast is quoted once for every session.
    match settings.pool.packets().packet(&frame) {
        Some(quoted) => batch.push(quoted),
        None => connection.report(SparkError::Transport(
            "SockJS carries text only: a binary message was dropped".into(),
        )),
    }
}

async fn send(stream: &mut Stream, frame: Bytes) -> Result<(), tokio_tungstenite::tungstenite::Error> {
    // SockJS frames are ASCII-safe JSON or single letters: always UTF-8.
    let text = Utf8Bytes::try_from(frame).unwrap_or_default();
    stream.send(WsMessage::Text(text)).await
}

/// Puts a frame in the socket's write buffer (written once the buffer is
/// full or flushed), unless the server asks to close first; while the
/// buffer cannot take it the spark is marked blocked. `Some` when the loop
/// should stop.
async fn feed_unless_closed<F: Future<Output = CloseRequest>>(
    stream: &mut Stream,
    frame: Bytes,
    spark: &Spark,
    close: Pin<&mut F>,
) -> Option<Exit> {
    let unsent = frame.clone();
    // SockJS frames are ASCII-safe JSON or single letters: always UTF-8.
    let text = Utf8Bytes::try_from(frame).unwrap_or_default();
    let mut feeding = stream.feed(WsMessage::Text(text));
    if let Some(fed) = futures_util::FutureExt::now_or_never(&mut feeding) {
        return fed.err().map(|_| Exit::Gone);
    }
    spark.write_blocked();
    let exit = tokio::select! {
        biased;
        request = close => Some(Exit::Requested(request, Some(unsent))),
        fed = feeding => fed.err().map(|_| Exit::Gone),
    };
    spark.write_unblocked();
    exit
}

async fn flush_unless_closed<F: Future<Output = CloseRequest>>(
    stream: &mut Stream,
    close: Pin<&mut F>,
) -> Option<Exit> {
    tokio::select! {
        biased;
        request = close => Some(Exit::Requested(request, None)),
        flushed = stream.flush() => flushed.err().map(|_| Exit::Gone),
    }
}
