//! A TCP proxy on 127.0.0.1 that counts the bytes of the WebSocket
//! connections through it, to see on the wire what compression saves.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::AbortHandle;

/// The bytes one connection carried each way.
#[derive(Debug, Default)]
struct Counted {
    to_server: AtomicU64,
    to_client: AtomicU64,
    /// The server's first bytes: `HTTP/1.1 101` marks a WebSocket.
    head: Mutex<Vec<u8>>,
}

/// Bytes carried by the WebSocket connections (those the server answered
/// with `101 Switching Protocols`), handshakes included.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WebSocketBytes {
    /// Connections counted.
    pub connections: usize,
    /// Bytes from the clients to the server.
    pub to_server: u64,
    /// Bytes from the server to the clients.
    pub to_client: u64,
}

/// A proxy in front of one server that counts what passes.
pub struct CountingProxy {
    addr: SocketAddr,
    connections: Arc<Mutex<Vec<Arc<Counted>>>>,
    tasks: Arc<Mutex<Vec<AbortHandle>>>,
}

impl CountingProxy {
    /// Listens on an ephemeral port of 127.0.0.1 and forwards to `target`.
    pub async fn start(target: SocketAddr) -> CountingProxy {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind the proxy");
        let addr = listener.local_addr().expect("proxy address");
        let connections: Arc<Mutex<Vec<Arc<Counted>>>> = Arc::default();
        let tasks: Arc<Mutex<Vec<AbortHandle>>> = Arc::default();
        let (seen, spawned) = (connections.clone(), tasks.clone());
        let accept = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = TcpStream::connect(target).await else {
                    continue;
                };
                let counted = Arc::new(Counted::default());
                seen.lock().expect("connections").push(counted.clone());
                let (client_read, client_write) = client.into_split();
                let (server_read, server_write) = server.into_split();
                let up = tokio::spawn(pump(client_read, server_write, counted.clone(), false));
                let down = tokio::spawn(pump(server_read, client_write, counted, true));
                let mut tasks = spawned.lock().expect("tasks");
                tasks.push(up.abort_handle());
                tasks.push(down.abort_handle());
            }
        });
        tasks.lock().expect("tasks").push(accept.abort_handle());
        CountingProxy {
            addr,
            connections,
            tasks,
        }
    }

    /// `http://127.0.0.1:PORT` of the proxy.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The proxy's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// What the WebSocket connections carried so far.
    pub fn websocket_bytes(&self) -> WebSocketBytes {
        let connections = self.connections.lock().expect("connections");
        let mut total = WebSocketBytes::default();
        for counted in connections.iter() {
            let head = counted.head.lock().expect("head");
            if !head.starts_with(b"HTTP/1.1 101") {
                continue;
            }
            total.connections += 1;
            total.to_server += counted.to_server.load(Ordering::Acquire);
            total.to_client += counted.to_client.load(Ordering::Acquire);
        }
        total
    }
}

impl Drop for CountingProxy {
    fn drop(&mut self) {
        if let Ok(tasks) = self.tasks.lock() {
            for task in tasks.iter() {
                task.abort();
            }
        }
    }
}

async fn pump(mut from: OwnedReadHalf, mut to: OwnedWriteHalf, counted: Arc<Counted>, to_client: bool) {
    let mut buffer = vec![0u8; 16 * 1024];
    loop {
        let read = match from.read(&mut buffer).await {
            Ok(0) | Err(_) => return,
            Ok(read) => read,
        };
        if to_client {
            let mut head = counted.head.lock().expect("head");
            if head.len() < 12 {
                let take = (12 - head.len()).min(read);
                head.extend_from_slice(&buffer[..take]);
            }
            drop(head);
            counted.to_client.fetch_add(read as u64, Ordering::AcqRel);
        } else {
            counted.to_server.fetch_add(read as u64, Ordering::AcqRel);
        }
        if to.write_all(&buffer[..read]).await.is_err() {
            return;
        }
    }
}
