//! yawc 0.3, the compression benchmark's reference: another Rust
//! permessage-deflate (RFC 7692, Autobahn compliant, flate2 on
//! miniz_oxide as primus-rs'), serving the same echo contract as the
//! tokio-tungstenite mode.
//!
//! Served as yawc's README shows it: hyper's HTTP/1 connection with
//! upgrades, `WebSocket::upgrade_with_options` on any path, one task per
//! connection. Like the tokio-tungstenite mode it sets `TCP_NODELAY`,
//! echoes every message that is already readable before one flush, and
//! broadcasts share one `Bytes` payload (yawc compresses it once per
//! connection, as each connection has its own compressor).
//!
//! With `--compression`, permessage-deflate is configured as primus-rs
//! configures its own: level 1 (`CompressionLevel::fast()`),
//! `server_no_context_takeover` and `client_no_context_takeover` (every
//! message compressed and inflated on its own); without it, yawc declines
//! the extension. yawc compresses every data message (primus-rs only those
//! of 1 KiB or more; the benchmark's messages are larger). Its write buffer
//! is flushed past 128 KiB, as tungstenite's (under primus-rs and the
//! tokio-tungstenite mode) gathers frames; its read buffer is yawc's own
//! (tokio-util's `Framed`), so `--read-buffer` does not apply.

use super::Settings;
use futures_util::{FutureExt, SinkExt, StreamExt};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, StatusCode};
use hyper_util::rt::TokioIo;
use std::collections::HashMap;
use std::convert::Infallible;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use yawc::frame::{Frame, OpCode};
use yawc::{CompressionLevel, HttpResponse, HttpWebSocket, Options, WebSocket};

/// Outbound queue per connection, in frames (as primus-rs' default).
const QUEUE: usize = 1024;

/// Bytes of encoded frames gathered before a write, as tungstenite's
/// default write buffer.
const WRITE_BUFFER: usize = 128 * 1024;

/// Connections past the handshake, for the `stats` command.
static CONNECTED: AtomicUsize = AtomicUsize::new(0);

/// Connections past the WebSocket handshake, not yet ended.
pub fn connected() -> usize {
    CONNECTED.load(Ordering::Relaxed)
}

/// Every connection's outbound queue, for broadcasts.
#[derive(Default)]
struct Hub {
    next: AtomicU64,
    peers: RwLock<HashMap<u64, mpsc::Sender<Frame>>>,
}

impl Hub {
    fn join(&self, sender: mpsc::Sender<Frame>) -> u64 {
        let id = self.next.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut peers) = self.peers.write() {
            peers.insert(id, sender);
        }
        id
    }

    fn leave(&self, id: u64) {
        if let Ok(mut peers) = self.peers.write() {
            peers.remove(&id);
        }
    }

    /// Queues `frame` for every connection (a clone shares the bytes).
    fn broadcast(&self, frame: &Frame) {
        if let Ok(peers) = self.peers.read() {
            for sender in peers.values() {
                let _ = sender.try_send(frame.clone());
            }
        }
    }
}

/// yawc's options: permessage-deflate as primus-rs negotiates it, or none.
fn options(settings: Settings) -> Options {
    let options = Options::default().with_backpressure_boundary(WRITE_BUFFER);
    match settings.compression {
        true => options
            .with_compression_level(CompressionLevel::fast())
            .server_no_context_takeover()
            .client_no_context_takeover(),
        false => options.without_compression(),
    }
}

/// Accepts connections until the process ends.
pub async fn serve(listener: TcpListener, settings: Settings) -> std::io::Result<()> {
    let hub = Arc::new(Hub::default());
    let options = options(settings);
    loop {
        let (stream, _) = listener.accept().await?;
        let hub = hub.clone();
        let options = options.clone();
        tokio::spawn(async move {
            let _ = http(stream, hub, options).await;
        });
    }
}

/// Serves one HTTP/1 connection until it is upgraded (or ends).
async fn http(stream: TcpStream, hub: Arc<Hub>, options: Options) -> Result<(), hyper::Error> {
    let _ = stream.set_nodelay(true);
    let service = service_fn(move |request| {
        let answer = upgrade(request, &hub, options.clone());
        async move { Ok::<_, Infallible>(answer) }
    });
    http1::Builder::new()
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades()
        .await
}

/// Answers an upgrade request on any path and spawns the connection's
/// task; anything that is not a WebSocket upgrade gets a 400.
fn upgrade(mut request: Request<Incoming>, hub: &Arc<Hub>, options: Options) -> HttpResponse {
    let query = request.uri().query().unwrap_or("");
    let trigger = query.split('&').any(|pair| pair == "bench=trigger");
    match WebSocket::upgrade_with_options(&mut request, options) {
        Ok((response, upgrade)) => {
            let hub = hub.clone();
            tokio::spawn(async move {
                if let Ok(socket) = upgrade.await {
                    connection(socket, hub, trigger).await;
                }
            });
            response
        }
        Err(_) => {
            let mut response = HttpResponse::default();
            *response.status_mut() = StatusCode::BAD_REQUEST;
            response
        }
    }
}

async fn connection(mut socket: HttpWebSocket, hub: Arc<Hub>, trigger: bool) {
    let (sender, mut outbound) = mpsc::channel(QUEUE);
    let id = hub.join(sender);
    CONNECTED.fetch_add(1, Ordering::Relaxed);
    let _ = pump(&mut socket, &mut outbound, &hub, trigger).await;
    CONNECTED.fetch_sub(1, Ordering::Relaxed);
    hub.leave(id);
}

async fn pump(
    socket: &mut HttpWebSocket,
    outbound: &mut mpsc::Receiver<Frame>,
    hub: &Hub,
    trigger: bool,
) -> Result<(), yawc::WebSocketError> {
    loop {
        tokio::select! {
            frame = outbound.recv() => {
                let Some(frame) = frame else { return Ok(()) };
                socket.feed(frame).await?;
                while let Ok(frame) = outbound.try_recv() {
                    socket.feed(frame).await?;
                }
                socket.flush().await?;
            }
            // yawc's stream ends on a read error as on the end of input.
            incoming = socket.next() => {
                let Some(mut frame) = incoming else { return Ok(()) };
                // Echo everything that is already readable, then flush once.
                loop {
                    let (opcode, _, payload) = frame.into_parts();
                    // A new frame: a received one keeps the client's mask.
                    let reply = match opcode {
                        OpCode::Text => Some(Frame::text(payload)),
                        OpCode::Binary => Some(Frame::binary(payload)),
                        OpCode::Close => return Ok(()),
                        // yawc queues the pong itself (the flush sends it)
                        // and hands over fragmented messages reassembled.
                        OpCode::Ping | OpCode::Pong | OpCode::Continuation => None,
                    };
                    match reply {
                        Some(reply) if trigger => hub.broadcast(&reply),
                        Some(reply) => socket.feed(reply).await?,
                        None => {}
                    }
                    match socket.next().now_or_never() {
                        Some(Some(next)) => frame = next,
                        Some(None) => return Ok(()),
                        None => break,
                    }
                }
                socket.flush().await?;
            }
        }
    }
}
