//! In-process servers: a primus [`Server`] served on an ephemeral port of
//! 127.0.0.1 ([`serve`], [`serve_with_errors`]), an axum app with Primus
//! mounted as a layer ([`serve_app`]), and a free port for tests that need
//! one before anything listens on it ([`free_port`]).

use crate::logs::{init_logs, Log};
use primus::Server;
use std::net::SocketAddr;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// A started server: its handle, address and recorded errors.
pub struct Running {
    /// The server handle.
    pub server: Server,
    /// Where it listens (always 127.0.0.1).
    pub addr: SocketAddr,
    /// Errors its `error` handler saw, when the server was built to record
    /// them into this log (see [`serve_with_errors`]); empty otherwise.
    pub errors: Log,
    /// The task running `Server::serve`; it ends after `destroy`.
    pub serving: JoinHandle<std::io::Result<()>>,
}

impl Running {
    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `ws://127.0.0.1:PORT/primus`.
    pub fn ws_url(&self) -> String {
        format!("ws://{}/primus", self.addr)
    }
}

/// Serves `server` on an ephemeral port of 127.0.0.1 (installing the test
/// log subscriber first).
pub async fn serve(server: Server) -> Running {
    serve_with_errors(server, Log::default()).await
}

/// Like [`serve`], for a server whose `error` handler records into `errors`
/// (`.on_error(move |_spark, error| errors.push(error.to_string()))`), so
/// that [`Running::errors`] shows them.
pub async fn serve_with_errors(server: Server, errors: Log) -> Running {
    init_logs();
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local addr");
    let serving = server.clone();
    let serving = tokio::spawn(async move { serving.serve(listener).await });
    Running {
        server,
        addr,
        errors,
        serving,
    }
}

/// Serves an axum app (with peer addresses, which Primus reads) on an
/// ephemeral port of 127.0.0.1 and returns its address.
pub async fn serve_app(app: axum::Router) -> SocketAddr {
    init_logs();
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local address");
    tokio::spawn(async move {
        axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await
    });
    addr
}

/// A free port of 127.0.0.1 (bound once, then released): nothing listens
/// there until a test starts something on it.
pub async fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local address").port()
}
