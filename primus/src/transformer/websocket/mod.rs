//! The `websockets` transformer: RFC 6455 on tokio-tungstenite.
//!
//! Matches Primus' `websockets` transformer on the wire: no subprotocol,
//! compression only when turned on ([`WebSockets::compression`]), text frames for text and binary frames for binary; every
//! close is an empty close frame (the peer reports 1005) except an oversize
//! message, which is closed with 1009, a protocol violation (1002), a text
//! frame that is not UTF-8 (1007) and too many invalid messages (1008);
//! WebSocket pings from the client count as heartbeat answers.
//!
//! Each connection is driven by one task that reads frames, drains the
//! spark's outbound queue in batches and polls the running handler, so there
//! is no task hop per message (see [`socket`]).

mod frame_writer;
pub(super) mod metered;
mod socket;

use super::Transformer;
use crate::pipeline::{ConnectionRequest, Connector};
use crate::spark::Address;
use crate::wire::deflate::{self, Inflating, Side};
use axum::body::Body;
use axum::response::Response;
use futures_util::future::BoxFuture;
use http::header::{self, HeaderMap, HeaderValue};
use http::request::Parts;
use http::{Method, Request, StatusCode};
use hyper_util::rt::TokioIo;
use tokio_tungstenite::tungstenite;
use tokio_tungstenite::tungstenite::protocol::{Role, WebSocketConfig};
use tokio_tungstenite::WebSocketStream;

/// The `websockets` transformer (the default), with its buffer settings.
///
/// ```
/// use primus::transformer::{Transformer, WebSockets};
///
/// let websockets = WebSockets::default().read_buffer_size(16 * 1024);
/// assert_eq!(websockets.name(), "websockets");
/// ```
#[derive(Debug, Clone, Copy)]
pub struct WebSockets {
    read_buffer_size: usize,
    write_threshold: usize,
    /// permessage-deflate is accepted when a client offers it.
    compression: bool,
    /// The transformer's name in `/spec` and the served client.
    name: &'static str,
}

/// The default read buffer: tungstenite's default (128 KiB, zero-filled
/// before each read) costs ~136 KiB per idle connection; 4 KiB holds a
/// typical message, and larger messages are read in several steps.
pub const DEFAULT_READ_BUFFER_SIZE: usize = 4 * 1024;

impl Default for WebSockets {
    fn default() -> WebSockets {
        // Outgoing frames are not copied into a write buffer: the connection
        // keeps the frames themselves and writes them with one vectored write
        // per batch, so the write threshold costs no memory of its own
        // (128 KiB, like tungstenite's write buffer, keeps a burst of large
        // frames in few system calls).
        WebSockets {
            read_buffer_size: DEFAULT_READ_BUFFER_SIZE,
            write_threshold: 128 * 1024,
            compression: false,
            name: "websockets",
        }
    }
}

impl WebSockets {
    /// Primus' `faye` transformer: a plain WebSocket on the pathname, the
    /// same wire as `websockets`, served under its own name, so Primus
    /// clients built for `faye` (npm `faye-websocket` in Node) connect
    /// unchanged.
    ///
    /// ```
    /// use primus::transformer::{Transformer, WebSockets};
    ///
    /// assert_eq!(WebSockets::faye().name(), "faye");
    /// ```
    pub fn faye() -> WebSockets {
        WebSockets {
            name: "faye",
            ..WebSockets::default()
        }
    }

    /// Primus' `uws` transformer: the same wire as `websockets` too (its
    /// Node client is `ws`), served under its own name.
    ///
    /// ```
    /// use primus::transformer::{Transformer, WebSockets};
    ///
    /// assert_eq!(WebSockets::uws().name(), "uws");
    /// ```
    pub fn uws() -> WebSockets {
        WebSockets {
            name: "uws",
            ..WebSockets::default()
        }
    }

    /// The read buffer size in bytes (default 4 KiB, at least 1). Larger
    /// buffers cost memory on every idle connection.
    pub fn read_buffer_size(mut self, bytes: usize) -> WebSockets {
        self.read_buffer_size = bytes.max(1);
        self
    }

    /// Accepts permessage-deflate (RFC 7692) from clients that offer it,
    /// as Primus' `compression: true` does (default off, as in Primus).
    ///
    /// Both directions are negotiated without context takeover: each
    /// message is compressed on its own, so a connection keeps no
    /// compression state, and a broadcast is compressed once for all its
    /// recipients. Messages from 1 KiB on are sent compressed; a received
    /// message that inflates past `maxLength` closes its connection with
    /// 1009 without inflating more than `maxLength` bytes.
    ///
    /// ```
    /// use primus::transformer::WebSockets;
    ///
    /// let websockets = WebSockets::default().compression(true);
    /// # let _ = websockets;
    /// ```
    pub fn compression(mut self, enabled: bool) -> WebSockets {
        self.compression = enabled;
        self
    }

    /// tungstenite's settings for connections of a server whose messages
    /// are at most `max_length` bytes.
    pub(crate) fn config(&self, max_length: usize) -> WebSocketConfig {
        WebSocketConfig::default()
            .read_buffer_size(self.read_buffer_size)
            // Only pongs and close frames go through tungstenite: written at once.
            .write_buffer_size(0)
            .max_message_size(Some(max_length))
            .max_frame_size(Some(max_length))
    }
}

impl Transformer for WebSockets {
    fn name(&self) -> &'static str {
        self.name
    }

    /// A request that asks for a WebSocket (`Upgrade: websocket`).
    fn claims(&self, request: &Parts) -> bool {
        is_upgrade(&request.headers)
    }

    /// Checks the handshake, answers `101 Switching Protocols` and starts
    /// the connection task; a bad handshake is answered with 400 (405 for a
    /// method other than GET) and `Connection: close`.
    fn accept(
        &self,
        request: Request<Body>,
        address: Address,
        connector: &Connector,
    ) -> BoxFuture<'static, Response> {
        let response = handshake(*self, request, address, connector.clone());
        Box::pin(std::future::ready(response))
    }

    /// A WebSocket connection is its spark's only tie to the transport.
    fn resumes_sessions(&self) -> bool {
        true
    }
}

/// True when the request asks for a WebSocket.
pub(super) fn is_upgrade(headers: &HeaderMap) -> bool {
    headers
        .get(header::UPGRADE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|p| p.trim().eq_ignore_ascii_case("websocket")))
}

fn response(status: StatusCode, body: &'static str) -> Response {
    let mut response = Response::new(Body::from(body));
    *response.status_mut() = status;
    if !body.is_empty() {
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
    }
    response
}

fn bad_handshake(status: StatusCode, message: &'static str) -> Response {
    let mut response = response(status, message);
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

/// Checks a WebSocket handshake (RFC 6455 §4.2.1): the `Sec-WebSocket-Accept`
/// value to answer with, or the response that refuses the request (400, 405
/// for a method other than GET, with `Connection: close`). Shared by the
/// transformers that speak WebSocket.
pub(super) fn check_handshake<B>(request: &Request<B>) -> Result<String, Box<Response>> {
    let headers = request.headers();
    if request.method() != Method::GET {
        return Err(Box::new(bad_handshake(
            StatusCode::METHOD_NOT_ALLOWED,
            "Invalid HTTP method",
        )));
    }
    // RFC 6455 §4.1: the handshake is HTTP/1.1 or later; an HTTP/1.0
    // connection cannot be taken over after the response.
    if request.version() < http::Version::HTTP_11 {
        return Err(Box::new(bad_handshake(
            StatusCode::BAD_REQUEST,
            "Invalid HTTP version",
        )));
    }
    let connection_upgrade = headers
        .get(header::CONNECTION)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|p| p.trim().eq_ignore_ascii_case("upgrade")));
    if !connection_upgrade {
        return Err(Box::new(bad_handshake(
            StatusCode::BAD_REQUEST,
            "Invalid Upgrade header",
        )));
    }
    let Some(key) = headers
        .get(header::SEC_WEBSOCKET_KEY)
        .and_then(|k| k.to_str().ok())
        .filter(|k| valid_key(k.trim()))
    else {
        return Err(Box::new(bad_handshake(
            StatusCode::BAD_REQUEST,
            "Missing or invalid Sec-WebSocket-Key header",
        )));
    };
    if headers.get(header::SEC_WEBSOCKET_VERSION).map(|v| v.as_bytes()) != Some(b"13") {
        let mut response = bad_handshake(
            StatusCode::BAD_REQUEST,
            "Missing or invalid Sec-WebSocket-Version header",
        );
        response
            .headers_mut()
            .insert(header::SEC_WEBSOCKET_VERSION, HeaderValue::from_static("13"));
        return Err(Box::new(response));
    }
    Ok(tungstenite::handshake::derive_accept_key(key.trim().as_bytes()))
}

/// `101 Switching Protocols` for a checked handshake.
pub(super) fn switching_protocols(accept_key: &str) -> Response {
    switching_protocols_with(accept_key, None)
}

/// `101 Switching Protocols`, with the accepted extension if any.
fn switching_protocols_with(accept_key: &str, extension: Option<&'static str>) -> Response {
    let mut response = response(StatusCode::SWITCHING_PROTOCOLS, "");
    let out = response.headers_mut();
    out.insert(header::UPGRADE, HeaderValue::from_static("websocket"));
    out.insert(header::CONNECTION, HeaderValue::from_static("Upgrade"));
    if let Ok(value) = HeaderValue::from_str(accept_key) {
        out.insert(header::SEC_WEBSOCKET_ACCEPT, value);
    }
    if let Some(extension) = extension {
        out.insert(
            header::SEC_WEBSOCKET_EXTENSIONS,
            HeaderValue::from_static(extension),
        );
    }
    response
}

fn handshake(
    settings: WebSockets,
    mut request: Request<Body>,
    address: Address,
    connector: Connector,
) -> Response {
    let accept_key = match check_handshake(&request) {
        Ok(key) => key,
        Err(refused) => return *refused,
    };
    let extension = match settings.compression {
        true => deflate::accept_offer(
            request
                .headers()
                .get_all(header::SEC_WEBSOCKET_EXTENSIONS)
                .iter()
                .filter_map(|value| value.to_str().ok()),
        ),
        false => None,
    };
    let on_upgrade = hyper::upgrade::on(&mut request);
    let (parts, _body) = request.into_parts();
    let client = ConnectionRequest::from_parts(&parts, address);

    tokio::spawn(async move {
        let upgraded = match on_upgrade.await {
            Ok(upgraded) => upgraded,
            Err(error) => return tracing::debug!(%error, "upgrade failed"),
        };
        let config = settings.config(connector.max_length());
        let max_length = connector.max_length();
        let io = metered::Metered::new(TokioIo::new(upgraded), connector.inbound_budget().clone());
        let io = match extension {
            Some(_) => Inflating::new(io, Side::Server, Some(max_length))
                .with_budget(metered::InflatedBytes::new(connector.inbound_budget().clone())),
            None => Inflating::new(io, Side::Server, None),
        };
        let stream = WebSocketStream::from_raw_socket(io, Role::Server, Some(config)).await;
        match connector.open_resuming(client).await {
            // A task of its own: this one (and what the handshake needed)
            // ends here, so an idle connection holds only the socket's.
            Ok(connection) => {
                let compress = extension.is_some();
                tokio::spawn(
                    socket::Socket::new(stream, connection, settings.write_threshold, compress).serve(),
                );
            }
            Err(error) => socket::refuse(stream, error).await,
        }
    });

    switching_protocols_with(&accept_key, extension)
}
