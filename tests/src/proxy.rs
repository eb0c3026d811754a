//! A TCP proxy on 127.0.0.1 that can lose the network the way a phone in a
//! tunnel does: drop what the server sends without telling either side
//! ([`LossyProxy::drop_downstream`]), cut every connection without a close
//! frame ([`LossyProxy::cut`]), close only the client's side and leave the
//! server a half-open connection ([`LossyProxy::strand`]), and refuse new
//! connections for a while ([`LossyProxy::refuse`]).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::AbortHandle;

/// A proxy in front of one server.
pub struct LossyProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
    strand: watch::Sender<u64>,
    accept: AbortHandle,
}

#[derive(Default)]
struct Shared {
    /// Bytes from the server are read and thrown away.
    dropping: AtomicBool,
    /// New connections are closed at once.
    refusing: AtomicBool,
    /// The pumps of the connections open now.
    pumps: Mutex<Vec<AbortHandle>>,
    /// The server's halves of stranded connections, kept open and unread.
    stranded: Mutex<Vec<ServerHalf>>,
}

/// One half of a server-side socket, kept open by being kept.
#[allow(dead_code)]
enum ServerHalf {
    Read(OwnedReadHalf),
    Write(OwnedWriteHalf),
}

impl LossyProxy {
    /// Listens on an ephemeral port of 127.0.0.1 and forwards to `target`.
    pub async fn start(target: SocketAddr) -> LossyProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the proxy");
        let addr = listener.local_addr().expect("proxy address");
        let shared = Arc::new(Shared::default());
        let (strand, _) = watch::channel(0u64);
        let accepting = shared.clone();
        let stranding = strand.clone();
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                if accepting.refusing.load(Ordering::Acquire) {
                    drop(client);
                    continue;
                }
                let Ok(server) = TcpStream::connect(target).await else {
                    continue;
                };
                let (client_read, client_write) = client.into_split();
                let (server_read, server_write) = server.into_split();
                let up = tokio::spawn(pump(
                    client_read,
                    server_write,
                    Direction::ToServer,
                    accepting.clone(),
                    stranding.subscribe(),
                ));
                let down = tokio::spawn(pump(
                    server_read,
                    client_write,
                    Direction::ToClient,
                    accepting.clone(),
                    stranding.subscribe(),
                ));
                if let Ok(mut pumps) = accepting.pumps.lock() {
                    pumps.push(up.abort_handle());
                    pumps.push(down.abort_handle());
                }
            }
        });
        LossyProxy {
            addr,
            shared,
            strand,
            accept: accept.abort_handle(),
        }
    }

    /// `http://127.0.0.1:PORT` of the proxy.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// From now on, what the server sends is read (so its writes succeed)
    /// and lost; the client sees nothing.
    pub fn drop_downstream(&self) {
        self.shared.dropping.store(true, Ordering::Release);
    }

    /// Drops every open connection on both sides (no close frame, no
    /// handshake: the sockets just go), and forwards normally again.
    pub fn cut(&self) {
        if let Ok(mut pumps) = self.shared.pumps.lock() {
            for pump in pumps.drain(..) {
                pump.abort();
            }
        }
        self.shared.dropping.store(false, Ordering::Release);
    }

    /// Closes the client's side of every open connection and keeps the
    /// server's side open, unread: the client sees its connection end, the
    /// server does not (a half-open connection, as after a network change).
    pub fn strand(&self) {
        self.strand.send_modify(|n| *n += 1);
    }

    /// While true, new connections are closed as soon as they arrive.
    pub fn refuse(&self, refuse: bool) {
        self.shared.refusing.store(refuse, Ordering::Release);
    }
}

impl Drop for LossyProxy {
    fn drop(&mut self) {
        self.accept.abort();
        self.cut();
    }
}

/// Which way a pump carries bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Direction {
    ToServer,
    /// Thrown away while the proxy is dropping.
    ToClient,
}

/// Carries bytes one way until either side closes; when stranded, the
/// server's half (the write half going up, the read half coming down) is
/// kept open and the client's is dropped.
async fn pump(
    mut from: OwnedReadHalf,
    mut to: OwnedWriteHalf,
    direction: Direction,
    shared: Arc<Shared>,
    mut strand: watch::Receiver<u64>,
) {
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        let read = tokio::select! {
            read = from.read(&mut buffer) => match read {
                Ok(0) | Err(_) => return,
                Ok(read) => read,
            },
            _ = strand.changed() => {
                let kept = match direction {
                    Direction::ToServer => ServerHalf::Write(to),
                    Direction::ToClient => ServerHalf::Read(from),
                };
                if let Ok(mut halves) = shared.stranded.lock() {
                    halves.push(kept);
                }
                return;
            }
        };
        if direction == Direction::ToClient && shared.dropping.load(Ordering::Acquire) {
            continue;
        }
        if to.write_all(&buffer[..read]).await.is_err() {
            return;
        }
    }
}
