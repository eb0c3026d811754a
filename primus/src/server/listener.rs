//! The accept loop of [`Server::serve`](super::Server::serve) (and of
//! `serve_app`, `serve_tls`, `serve_app_tls`): TCP connections accepted,
//! limited and timed out before HTTP sees them; with TLS, the handshake
//! (feature `tls`, `server/tls.rs`) runs under the same limits.
//!
//! * **Connection cap**: at most [`Limits::max_connections`] open TCP
//!   connections (WebSockets included, for as long as they are open); the
//!   default is 90% of the process' file descriptor limit, which the server
//!   raises to its hard limit when it starts listening. Optionally at most
//!   [`Limits::max_connections_per_ip`] per client address (off by default).
//!   A connection over a cap is answered `503 Too many connections` and
//!   closed at once.
//! * **Handshake timeout**: a client must send a complete request head
//!   within [`Limits::handshake_timeout`] of connecting (and of its previous
//!   response, on a kept-alive connection), or it is closed: a slowloris
//!   client, or one that sends nothing at all, cannot hold a connection.
//! * **Request heads** are limited to [`MAX_HEAD_BYTES`] (answered 431).
//! * Accept errors (such as running out of file descriptors) are logged
//!   once per burst, and the loop backs off briefly instead of spinning.

use super::{Lifecycle, Server};
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tower::ServiceExt;

/// The default time a client has to send a complete request head: 10 seconds.
pub const DEFAULT_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The largest request head (request line and headers) accepted: 64 KiB.
/// Bigger heads are answered `431 Request Header Fields Too Large`. It also
/// bounds what a spark keeps of its request for the life of the connection.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;

/// How long HTTP connections (not WebSockets, which `destroy` closes) may
/// take to finish their current request once the server shuts down.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(5);

/// The answer to a connection over a cap.
const TOO_MANY: &[u8] = b"HTTP/1.1 503 Service Unavailable\r\ncontent-type: text/plain; charset=utf-8\r\n\
content-length: 21\r\nconnection: close\r\nretry-after: 1\r\n\r\nToo many connections\n";

/// The limits of the accept loop, set on the
/// [`ServerBuilder`](crate::ServerBuilder).
///
/// ```
/// use primus::server::Limits;
/// use std::time::Duration;
///
/// let limits = Limits::default();
/// assert_eq!(limits.handshake_timeout, Duration::from_secs(10));
/// assert_eq!(limits.max_connections_per_ip, None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Time to send a complete request head, from connecting (or from the
    /// previous response on a kept-alive connection); a slower client is closed.
    pub handshake_timeout: Duration,
    /// Most open connections; `None` for 90% of the file descriptor limit.
    pub max_connections: Option<usize>,
    /// Most open connections from one IP address; `None` for no limit.
    pub max_connections_per_ip: Option<usize>,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            handshake_timeout: DEFAULT_HANDSHAKE_TIMEOUT,
            max_connections: None,
            max_connections_per_ip: None,
        }
    }
}

/// Raises the soft file descriptor limit to the hard one and returns the
/// default connection cap: 90% of it (the rest is left for files, the
/// log, outgoing connections).
fn default_max_connections() -> usize {
    let limit = match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => limit,
        Err(error) => {
            tracing::warn!(%error, "cannot read or raise the file descriptor limit; assuming 1024");
            1024
        }
    };
    usize::try_from(limit / 10 * 9).unwrap_or(usize::MAX).max(1)
}

/// Open connections, in all and per IP address.
#[derive(Default)]
struct Census {
    open: AtomicUsize,
    per_ip: Mutex<HashMap<IpAddr, usize>>,
}

/// A counted place in the [`Census`], given back when dropped.
struct Ticket {
    census: Arc<Census>,
    ip: Option<IpAddr>,
}

impl Census {
    /// A ticket for a connection from `ip`, unless a cap is reached.
    fn admit(self: &Arc<Census>, ip: IpAddr, total: usize, per_ip: Option<usize>) -> Option<Ticket> {
        if self.open.fetch_add(1, Ordering::AcqRel) >= total {
            self.open.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        let Some(cap) = per_ip else {
            return Some(Ticket {
                census: self.clone(),
                ip: None,
            });
        };
        let admitted = match self.per_ip.lock() {
            Ok(mut counts) => {
                let count = counts.entry(ip).or_insert(0);
                (*count < cap).then(|| *count += 1).is_some()
            }
            // Poisoned: no per-IP accounting is better than refusing everyone.
            Err(_) => true,
        };
        match admitted {
            true => Some(Ticket {
                census: self.clone(),
                ip: Some(ip),
            }),
            false => {
                self.open.fetch_sub(1, Ordering::AcqRel);
                None
            }
        }
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        self.census.open.fetch_sub(1, Ordering::AcqRel);
        if let Some(ip) = self.ip {
            if let Ok(mut counts) = self.census.per_ip.lock() {
                if let Some(count) = counts.get_mut(&ip) {
                    *count -= 1;
                    if *count == 0 {
                        counts.remove(&ip);
                    }
                }
            }
        }
    }
}

/// A TCP stream that holds its place in the census until it is dropped
/// (after an upgrade, the WebSocket owns it), and whose writes fail once
/// they have made no progress for [`WRITE_STALL`]: a client that stops
/// reading cannot hold a response (or a connection) for longer.
struct CountedStream<S> {
    stream: S,
    /// Running while a write waits for the client to read.
    stall: Option<Pin<Box<tokio::time::Sleep>>>,
    _ticket: Option<Ticket>,
}

/// Longest time a write may wait for the client to read before the
/// connection fails. Longer than a heartbeat interval, so that a spark's
/// own slow-consumer rules (which report why) come first.
const WRITE_STALL: Duration = Duration::from_secs(60);

impl<S> CountedStream<S> {
    fn new(stream: S, ticket: Option<Ticket>) -> CountedStream<S> {
        CountedStream {
            stream,
            stall: None,
            _ticket: ticket,
        }
    }

    /// Passes a write's result on, timing how long it stays pending.
    fn watch<T>(&mut self, cx: &mut Context<'_>, polled: Poll<io::Result<T>>) -> Poll<io::Result<T>> {
        if polled.is_ready() {
            self.stall = None;
            return polled;
        }
        let stall = self
            .stall
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(WRITE_STALL)));
        match stall.as_mut().poll(cx) {
            Poll::Ready(()) => Poll::Ready(Err(io::Error::new(
                io::ErrorKind::TimedOut,
                "the client has not read for 60 seconds",
            ))),
            Poll::Pending => Poll::Pending,
        }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for CountedStream<S> {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_read(cx, buf)
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for CountedStream<S> {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.stream).poll_write(cx, buf);
        this.watch(cx, polled)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.stream).poll_write_vectored(cx, bufs);
        this.watch(cx, polled)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let polled = Pin::new(&mut this.stream).poll_flush(cx);
        this.watch(cx, polled)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}

/// Without the `tls` feature, no acceptor can be given.
#[cfg(not(feature = "tls"))]
#[derive(Clone)]
pub(super) enum TlsAcceptor {}
#[cfg(feature = "tls")]
pub(super) type TlsAcceptor = tokio_rustls::TlsAcceptor;

/// Accepts connections on `listener` until the server is closed; with
/// `tls`, each connection's TLS handshake first.
pub(super) async fn serve(
    server: &Server,
    listener: TcpListener,
    router: axum::Router,
    limits: Limits,
    tls: Option<TlsAcceptor>,
) -> io::Result<()> {
    let total = limits.max_connections.unwrap_or_else(default_max_connections);
    let census = Arc::new(Census::default());
    let mut lifecycle = server.core.lifecycle.subscribe();
    let (shutdown, _) = watch::channel(false);
    let in_flight = Arc::new(AtomicUsize::new(0));
    let mut accept_errors: u64 = 0;
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            _ = async { lifecycle.wait_for(|state| *state == Lifecycle::Closed).await.map(|_| ()) } => break,
        };
        let (stream, peer) = match accepted {
            Ok(accepted) => accepted,
            Err(error) => {
                if accept_errors == 0 {
                    tracing::warn!(%error, "accept failed (further failures of this burst are not logged)");
                }
                accept_errors += 1;
                // Out of file descriptors: give connections time to close.
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        if accept_errors > 0 {
            tracing::info!(failures = accept_errors, "accepting again");
            accept_errors = 0;
        }
        let Some(ticket) = census.admit(peer.ip(), total, limits.max_connections_per_ip) else {
            tracing::debug!(%peer, "connection refused: too many connections");
            tokio::spawn(refuse(stream));
            continue;
        };
        // Small replies must not wait for Nagle's algorithm.
        let _ = stream.set_nodelay(true);
        let stream = CountedStream::new(stream, Some(ticket));
        let connection = Connection {
            router: router.clone(),
            peer,
            limits,
            shutdown: shutdown.subscribe(),
        };
        let in_flight = in_flight.clone();
        in_flight.fetch_add(1, Ordering::AcqRel);
        let tls = tls.clone();
        tokio::spawn(async move {
            match tls {
                None => connection.serve(stream).await,
                #[cfg(feature = "tls")]
                Some(acceptor) => {
                    // Bounded like a request head: a client that stalls the
                    // handshake cannot hold its place.
                    match tokio::time::timeout(limits.handshake_timeout, acceptor.accept(stream)).await {
                        Ok(Ok(secured)) => connection.serve(secured).await,
                        Ok(Err(error)) => {
                            tracing::debug!(%peer, %error, "TLS handshake failed; connection closed")
                        }
                        Err(_) => tracing::debug!(%peer, "no TLS handshake in time; connection closed"),
                    }
                }
                #[cfg(not(feature = "tls"))]
                Some(never) => match never {},
            }
            in_flight.fetch_sub(1, Ordering::AcqRel);
        });
    }
    let _ = shutdown.send(true);
    // Bounded: connections get SHUTDOWN_GRACE to finish their request.
    let deadline = tokio::time::Instant::now() + SHUTDOWN_GRACE + Duration::from_millis(100);
    while in_flight.load(Ordering::Acquire) > 0 && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Ok(())
}

/// One accepted connection, about to be served over HTTP/1.1.
struct Connection {
    router: axum::Router,
    peer: SocketAddr,
    limits: Limits,
    shutdown: watch::Receiver<bool>,
}

impl Connection {
    /// Serves HTTP/1.1 (with upgrades) on `stream` until it ends, or until
    /// the server shuts down and the current request had its grace time.
    async fn serve<S>(mut self, stream: S)
    where
        S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
    {
        let (router, peer) = (self.router, self.peer);
        let service = hyper::service::service_fn(move |mut request: http::Request<Incoming>| {
            request.extensions_mut().insert(ConnectInfo(peer));
            let router = router.clone();
            async move {
                if head_len(&request) > MAX_HEAD_BYTES {
                    return Ok(head_too_large());
                }
                router.oneshot(request.map(axum::body::Body::new)).await
            }
        });
        let connection = http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(self.limits.handshake_timeout)
            .max_buf_size(MAX_HEAD_BYTES)
            .serve_connection(TokioIo::new(stream), service)
            .with_upgrades();
        tokio::pin!(connection);
        let shutdown = &mut self.shutdown;
        tokio::select! {
            served = connection.as_mut() => log_end(served, peer),
            _ = async { shutdown.wait_for(|stop| *stop).await.map(|_| ()) } => {
                connection.as_mut().graceful_shutdown();
                if let Ok(served) = tokio::time::timeout(SHUTDOWN_GRACE, connection).await {
                    log_end(served, peer);
                }
            }
        }
    }
}

/// About the size of the request head as sent (request line, headers).
fn head_len<B>(request: &http::Request<B>) -> usize {
    let line = request.method().as_str().len() + request.uri().to_string().len() + 12;
    request.headers().iter().fold(line, |total, (name, value)| {
        total + name.as_str().len() + value.len() + 4
    })
}

fn head_too_large() -> axum::response::Response {
    let mut response =
        axum::response::Response::new(axum::body::Body::from("Request header fields too large\n"));
    *response.status_mut() = http::StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE;
    response
        .headers_mut()
        .insert(http::header::CONNECTION, http::HeaderValue::from_static("close"));
    response
}

fn log_end(served: Result<(), hyper::Error>, peer: SocketAddr) {
    if let Err(error) = served {
        match error.is_timeout() {
            true => tracing::debug!(%peer, "no complete request head in time; connection closed"),
            false => tracing::debug!(%peer, %error, "HTTP connection ended with an error"),
        }
    }
}

/// Answers 503 and closes (bounded: the client may not read).
async fn refuse(mut stream: TcpStream) {
    let _ = tokio::time::timeout(Duration::from_secs(1), stream.write_all(TOO_MANY)).await;
    let _ = tokio::time::timeout(Duration::from_secs(1), stream.shutdown()).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    #[tokio::test(start_paused = true)]
    async fn a_write_the_client_never_reads_fails_after_the_stall_timeout() {
        let (ours, _theirs) = tokio::io::duplex(1024);
        let mut stream = CountedStream::new(ours, None);
        let chunk = vec![0u8; 4096];
        let started = tokio::time::Instant::now();
        let failed = tokio::time::timeout(WRITE_STALL * 2, stream.write_all(&chunk))
            .await
            .expect("the write must not wait for ever")
            .expect_err("the write must fail");
        assert_eq!(failed.kind(), io::ErrorKind::TimedOut);
        assert!(started.elapsed() >= WRITE_STALL);
    }

    #[test]
    fn the_census_enforces_both_caps_and_gives_places_back() {
        let census = Arc::new(Census::default());
        let a: IpAddr = "127.0.0.1".parse().unwrap();
        let b: IpAddr = "127.0.0.2".parse().unwrap();
        let first = census.admit(a, 3, Some(2)).expect("first");
        let second = census.admit(a, 3, Some(2)).expect("second");
        assert!(census.admit(a, 3, Some(2)).is_none(), "per-IP cap");
        let third = census.admit(b, 3, Some(2)).expect("another address");
        assert!(census.admit(b, 3, Some(2)).is_none(), "total cap");
        drop(first);
        let again = census.admit(a, 3, Some(2)).expect("a place was given back");
        drop((second, third, again));
        assert_eq!(census.open.load(Ordering::Acquire), 0);
        assert!(census.per_ip.lock().unwrap().is_empty());
    }
}
