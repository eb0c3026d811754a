//! Engine.IO over a WebSocket: an upgrade of a polling session (`2probe`,
//! `3probe`, `5`: the pending poll is answered with a noop and the
//! WebSocket takes the session over), or a session of its own when the
//! client connects with the WebSocket first. One packet per frame.

use super::packet::{self, Packet};
use super::{error, EngineIo};
use crate::pipeline::{Connector, InboundBudget};
use crate::spark::Address;
use crate::transformer::body::Held;
use crate::transformer::session::{Attached, Session, Take};
use crate::transformer::websocket::metered::Metered;
use crate::transformer::websocket::{check_handshake, switching_protocols};
use crate::wire::Frame;
use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use futures_util::future::BoxFuture;
use futures_util::{SinkExt, StreamExt};
use http::Request;
use hyper_util::rt::TokioIo;
use std::sync::Arc;
use std::time::Duration;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::tungstenite::{Message as WsMessage, Utf8Bytes};
use tokio_tungstenite::WebSocketStream;

/// Partly received messages count against the server's budget, as on the
/// `websockets` transformer.
type Stream = WebSocketStream<Metered<TokioIo<hyper::upgrade::Upgraded>>>;

/// How long an upgrade may take from the WebSocket's open to `5`.
const UPGRADE_TIMEOUT: Duration = Duration::from_secs(10);

/// Answers the upgrade of session `sid` (or of a new session) and starts
/// the WebSocket's task.
pub(super) fn accept(
    eio: &EngineIo,
    mut request: Request<Body>,
    address: Address,
    connector: &Connector,
    sid: Option<String>,
) -> Response {
    let accept_key = match check_handshake(&request) {
        Ok(key) => key,
        Err(refused) => return *refused,
    };
    let max_length = connector.max_length();
    let on_upgrade = hyper::upgrade::on(&mut request);
    let (parts, _body) = request.into_parts();
    let (session, open) = match sid {
        Some(sid) => match eio.pool.get(&sid) {
            Some(session) => (session, None),
            None => return error(1, "Session ID unknown"),
        },
        None => match eio.open_session(&parts, address, connector) {
            Ok((sid, session)) => (session, Some(eio.open_packet(&sid, false, max_length))),
            Err(refused) => return *refused,
        },
    };
    let silence = eio.ping_interval + eio.ping_timeout;
    let budget = connector.inbound_budget().clone();
    tokio::spawn(async move {
        let upgraded = match on_upgrade.await {
            Ok(upgraded) => upgraded,
            Err(error) => {
                tracing::debug!(%error, "upgrade failed");
                if open.is_some() {
                    session.client_gone();
                }
                return;
            }
        };
        let config = WebSocketConfig::default()
            .read_buffer_size(crate::transformer::DEFAULT_READ_BUFFER_SIZE)
            .max_message_size(Some(EngineIo::max_payload(max_length)))
            .max_frame_size(Some(EngineIo::max_payload(max_length)));
        let io = Metered::new(TokioIo::new(upgraded), budget.clone());
        let mut stream = WebSocketStream::from_raw_socket(io, Role::Server, Some(config)).await;
        let attached = match open {
            Some(open) => {
                let attached = session.attach();
                if send(&mut stream, Bytes::from(open), silence).await.is_err() || attached.is_err() {
                    session.client_gone();
                    return;
                }
                attached.ok()
            }
            None => upgrade(&mut stream, &session).await,
        };
        if let Some(attached) = attached {
            serve(stream, session, attached, max_length, silence, budget).await;
        }
    });
    switching_protocols(&accept_key)
}

/// The probe and the upgrade: `Some` once the WebSocket holds the session.
/// When it fails the session goes on over polling.
///
/// As engine.io does, polls are answered with a noop from the probe on:
/// engine.io-client pauses its polling (it waits for the pending poll to
/// complete) before it sends `5`; only then are polls refused.
async fn upgrade(stream: &mut Stream, session: &Arc<Session>) -> Option<Attached> {
    let mut probed = false;
    let probe = async {
        loop {
            match stream.next().await {
                Some(Ok(WsMessage::Text(text))) if text.as_str() == "2probe" => {
                    stream
                        .send(WsMessage::Text(Utf8Bytes::from_static("3probe")))
                        .await
                        .ok()?;
                    if !probed {
                        session.upgrading();
                        probed = true;
                    }
                }
                Some(Ok(WsMessage::Text(text))) if text.as_str() == "5" => return Some(()),
                Some(Ok(WsMessage::Text(_) | WsMessage::Ping(_) | WsMessage::Pong(_))) => {}
                _ => return None,
            }
        }
    };
    let upgraded = tokio::time::timeout(UPGRADE_TIMEOUT, probe).await.ok().flatten();
    let attached = match upgraded {
        Some(()) => {
            // Polls are refused from now on; the pending one gets a noop.
            session.reserve();
            session.attach_reserved(Duration::from_secs(1)).await.ok()
        }
        None => None,
    };
    if attached.is_none() {
        // The session goes on over polling.
        session.upgrade_failed();
    }
    attached
}

/// Moves packets both ways until the client or the session ends.
async fn serve(
    mut stream: Stream,
    session: Arc<Session>,
    attached: Attached,
    max_length: usize,
    silence: Duration,
    budget: InboundBudget,
) {
    // The client's messages waiting for the session to take them; reading
    // pauses meanwhile, while writing goes on.
    let mut handing: Option<BoxFuture<'static, bool>> = None;
    // Packets are fed to the socket's write buffer as they come and flushed
    // once nothing else is ready: one write for all the replies to the
    // messages of one read, not one per reply.
    let mut unflushed = false;
    loop {
        // Reading comes before writing: a steady stream of packets must not
        // starve the client's messages (its pongs among them); reading is
        // held back by `handing` instead, one read's worth at a time.
        tokio::select! {
            biased;
            delivered = async {
                match handing.as_mut() {
                    Some(handing) => handing.await,
                    None => std::future::pending().await,
                }
            }, if handing.is_some() => {
                handing = None;
                if !delivered {
                    break;
                }
            }
            incoming = stream.next(), if handing.is_none() => {
                // This message and those already read with it, handed over
                // together.
                let mut frames = Vec::new();
                let mut next = incoming;
                let mut stop = false;
                let mut read = 0;
                loop {
                    read += 1;
                    stream.get_mut().message_done();
                    match read_step(next, max_length) {
                        Step::Frame(frame) => frames.push(frame),
                        Step::Skip => {}
                        Step::Stop => {
                            stop = true;
                            break;
                        }
                    }
                    if read >= MAX_READ_TOGETHER {
                        break;
                    }
                    match futures_util::FutureExt::now_or_never(stream.next()) {
                        Some(more) => next = more,
                        None => break,
                    }
                }
                if stop {
                    // What came before the end is still the client's.
                    if !frames.is_empty() {
                        let _ = session.send(frames, Held::nothing(&budget)).await;
                    }
                    break;
                }
                if !frames.is_empty() {
                    let session = session.clone();
                    let held = Held::nothing(&budget);
                    handing = Some(Box::pin(async move { session.send(frames, held).await }));
                }
            }
            packets = next_packets(&attached, silence) => match packets {
                Outgoing::Packets(packets) => {
                    let mut sent = Ok(());
                    for packet in packets {
                        sent = feed(&mut stream, packet).await;
                        if sent.is_err() {
                            break;
                        }
                    }
                    if sent.is_err() {
                        break;
                    }
                    unflushed = true;
                }
                Outgoing::Close(close) => {
                    let farewell = async {
                        let _ = stream.send(text_message(close)).await;
                        let _ = stream.close(None).await;
                    };
                    let _ = tokio::time::timeout(crate::pipeline::CLOSE_GRACE, farewell).await;
                    break;
                }
            },
            () = std::future::ready(()), if unflushed => {
                unflushed = false;
                if !matches!(tokio::time::timeout(silence, stream.flush()).await, Ok(Ok(()))) {
                    break;
                }
            }
        }
    }
    drop(attached);
    session.client_gone();
}

enum Outgoing {
    Packets(Vec<Bytes>),
    Close(Bytes),
}

/// Most messages of one read handed to the session together.
const MAX_READ_TOGETHER: usize = 64;

/// What one message from the client means to the loop.
enum Step {
    /// A Primus message for the session.
    Frame(Frame),
    /// Nothing for the session (a ping, a pong, an undecodable packet).
    Skip,
    /// The client closed (a close packet or frame, an error, the end).
    Stop,
}

fn read_step(
    incoming: Option<Result<WsMessage, tokio_tungstenite::tungstenite::Error>>,
    max_length: usize,
) -> Step {
    match incoming {
        Some(Ok(WsMessage::Text(text))) => match packet::decode(text.as_str(), max_length) {
            Ok(Packet::Message(frame)) => Step::Frame(frame),
            Ok(Packet::Close) => Step::Stop,
            Ok(_) => Step::Skip,
            Err(error) => {
                tracing::debug!(%error, "engine.io packet dropped");
                Step::Skip
            }
        },
        Some(Ok(WsMessage::Binary(bytes))) if bytes.len() <= max_length => Step::Frame(Frame::binary(bytes)),
        Some(Ok(WsMessage::Binary(_))) => {
            tracing::debug!("engine.io binary message over max_length dropped");
            Step::Skip
        }
        Some(Ok(WsMessage::Ping(_) | WsMessage::Pong(_) | WsMessage::Frame(_))) => Step::Skip,
        Some(Ok(WsMessage::Close(_)) | Err(_)) | None => Step::Stop,
    }
}

async fn next_packets(attached: &Attached, silence: Duration) -> Outgoing {
    loop {
        match attached.take() {
            Take::Messages(packets) => return Outgoing::Packets(packets),
            Take::Close(close) => return Outgoing::Close(close),
            Take::Open(_) | Take::Kicked | Take::Nothing => {
                attached.wait(silence).await;
            }
        }
    }
}

fn text_message(packet: Bytes) -> WsMessage {
    // Packets are `4` and UTF-8 text, `b` and base64, or a digit.
    WsMessage::Text(Utf8Bytes::try_from(packet).unwrap_or_default())
}

async fn feed(stream: &mut Stream, packet: Bytes) -> Result<(), ()> {
    match tokio::time::timeout(Duration::from_secs(30), stream.feed(text_message(packet))).await {
        Ok(Ok(())) => Ok(()),
        _ => Err(()),
    }
}

async fn send(stream: &mut Stream, packet: Bytes, limit: Duration) -> Result<(), ()> {
    match tokio::time::timeout(limit, stream.send(text_message(packet))).await {
        Ok(Ok(())) => Ok(()),
        _ => Err(()),
    }
}
