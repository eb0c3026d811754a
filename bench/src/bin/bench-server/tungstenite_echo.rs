//! The limit for our stack: a minimal tokio-tungstenite echo server.
//!
//! No Primus, no JSON, no HTTP framework: tokio's listener, tungstenite's
//! handshake and frames, one task per connection. It does what a careful
//! hand-written server would: `TCP_NODELAY`, every message that is already
//! readable is echoed before one flush, broadcasts share one `Bytes` buffer.
//! Its read buffer is the same as primus-rs' (4 KiB by default); its write
//! buffer is tungstenite's default (frames are gathered up to 128 KiB and
//! written at each flush; the buffer is not allocated up front).

use super::Settings;
use futures_util::{FutureExt, SinkExt, StreamExt};
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, RwLock};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::handshake::server::{Request, Response};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::WebSocketStream;

/// Outbound queue per connection, in frames (as primus-rs' default).
const QUEUE: usize = 1024;

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
    peers: RwLock<HashMap<u64, mpsc::Sender<Message>>>,
}

impl Hub {
    fn join(&self, sender: mpsc::Sender<Message>) -> u64 {
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

    /// Queues `message` for every connection (a clone shares the bytes).
    fn broadcast(&self, message: &Message) {
        if let Ok(peers) = self.peers.read() {
            for sender in peers.values() {
                let _ = sender.try_send(message.clone());
            }
        }
    }
}

/// Accepts connections until the process ends.
pub async fn serve(listener: TcpListener, settings: Settings) -> std::io::Result<()> {
    let hub = Arc::new(Hub::default());
    let config = WebSocketConfig::default().read_buffer_size(settings.read_buffer);
    loop {
        let (stream, _) = listener.accept().await?;
        let hub = hub.clone();
        tokio::spawn(async move {
            let _ = connection(stream, hub, config).await;
        });
    }
}

async fn connection(
    stream: TcpStream,
    hub: Arc<Hub>,
    config: WebSocketConfig,
) -> Result<(), tokio_tungstenite::tungstenite::Error> {
    stream.set_nodelay(true)?;
    let trigger = Arc::new(AtomicBool::new(false));
    let seen = trigger.clone();
    // The error type is tungstenite's (an HTTP response), not ours to shrink.
    #[allow(clippy::result_large_err)]
    let callback = move |request: &Request, response: Response| {
        let query = request.uri().query().unwrap_or("");
        seen.store(
            query.split('&').any(|pair| pair == "bench=trigger"),
            Ordering::Relaxed,
        );
        Ok(response)
    };
    let mut socket = tokio_tungstenite::accept_hdr_async_with_config(stream, callback, Some(config)).await?;
    let trigger = trigger.load(Ordering::Relaxed);
    let (sender, mut outbound) = mpsc::channel(QUEUE);
    let id = hub.join(sender);
    CONNECTED.fetch_add(1, Ordering::Relaxed);
    let result = pump(&mut socket, &mut outbound, &hub, trigger).await;
    CONNECTED.fetch_sub(1, Ordering::Relaxed);
    hub.leave(id);
    result
}

async fn pump(
    socket: &mut WebSocketStream<TcpStream>,
    outbound: &mut mpsc::Receiver<Message>,
    hub: &Hub,
    trigger: bool,
) -> Result<(), tokio_tungstenite::tungstenite::Error> {
    loop {
        tokio::select! {
            message = outbound.recv() => {
                let Some(message) = message else { return Ok(()) };
                socket.feed(message).await?;
                while let Ok(message) = outbound.try_recv() {
                    socket.feed(message).await?;
                }
                socket.flush().await?;
            }
            incoming = socket.next() => {
                let Some(mut message) = incoming.transpose()? else { return Ok(()) };
                // Echo everything that is already readable, then flush once.
                loop {
                    match message {
                        Message::Text(_) | Message::Binary(_) if trigger => hub.broadcast(&message),
                        Message::Text(_) | Message::Binary(_) => socket.feed(message).await?,
                        Message::Close(_) => return Ok(()),
                        // tungstenite queues the pong itself; the flush sends it.
                        Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => {}
                    }
                    match socket.next().now_or_never() {
                        Some(Some(next)) => message = next?,
                        Some(None) => return Ok(()),
                        None => break,
                    }
                }
                socket.flush().await?;
            }
        }
    }
}
