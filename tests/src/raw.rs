//! Speaking the wire by hand, for tests that check exact frames and exact
//! HTTP responses: a raw WebSocket client ([`connect`], [`try_connect`],
//! [`send_text`], [`next_text`], [`next_any`]) and raw HTTP/1.1 over TCP
//! ([`request`], [`upgrade_request`], [`http()`], [`get`] and the parsed
//! [`Reply`]). Every read is bounded.

use crate::wait::WAIT;
use futures_util::{SinkExt, StreamExt};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::handshake::client::Response;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

/// A raw WebSocket client connection.
pub type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<TcpStream>>;

/// The RFC 6455 sample key, which [`upgrade_request`] sends.
pub const WS_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
/// The `Sec-WebSocket-Accept` value for [`WS_KEY`].
pub const WS_ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/// Tries the WebSocket handshake with `url` (a `ws://` URL), adding
/// `headers`; a refused handshake is `Err(WsError::Http(response))`.
pub async fn try_connect(url: &str, headers: &[(&str, &str)]) -> Result<(Socket, Response), WsError> {
    let mut request = url.into_client_request().expect("valid ws url");
    for (name, value) in headers {
        request.headers_mut().insert(
            http::HeaderName::from_bytes(name.as_bytes()).expect("header name"),
            value.parse().expect("header value"),
        );
    }
    tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(request))
        .await
        .unwrap_or_else(|_| panic!("no handshake answer from {url} within {WAIT:?}"))
}

/// Connects to `url` (a `ws://` URL), adding `headers`.
pub async fn connect(url: &str, headers: &[(&str, &str)]) -> Socket {
    let (socket, _) = try_connect(url, headers).await.expect("websocket connect");
    socket
}

/// Sends a text frame.
pub async fn send_text(socket: &mut Socket, text: &str) {
    socket.send(Message::text(text)).await.expect("send text");
}

/// The next text frame, skipping heartbeat pings and WebSocket ping/pong
/// frames; panics after `wait`.
pub async fn next_text(socket: &mut Socket, wait: Duration) -> String {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let message = tokio::time::timeout_at(deadline, socket.next())
            .await
            .expect("timed out waiting for a text frame")
            .expect("socket ended")
            .expect("socket error");
        match message {
            Message::Text(text) if text.starts_with("\"primus::ping::") => continue,
            Message::Ping(_) | Message::Pong(_) => continue,
            Message::Text(text) => return text.to_string(),
            other => panic!("expected a text frame, got {other:?}"),
        }
    }
}

/// The next frame of any kind (pings included); `None` when the socket
/// ended; panics after `wait`.
pub async fn next_any(socket: &mut Socket, wait: Duration) -> Option<Message> {
    tokio::time::timeout(wait, socket.next())
        .await
        .expect("timed out waiting for a frame")
        .and_then(Result::ok)
}

/// A request with `Host` and `Connection: close` plus `headers`.
pub fn request(method: &str, path: &str, headers: &[(&str, &str)]) -> String {
    let mut text = format!("{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text + "\r\n"
}

/// A WebSocket handshake request for `path` with [`WS_KEY`] plus `headers`
/// (it cannot carry `Connection: close`).
pub fn upgrade_request(path: &str, headers: &[(&str, &str)]) -> String {
    let mut text = format!(
        "GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
         Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {WS_KEY}\r\n"
    );
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text + "\r\n"
}

/// A parsed HTTP response; header names are lower-cased.
#[derive(Debug)]
pub struct Reply {
    /// The status code.
    pub status: u16,
    /// The head as received, status line included, without the blank line.
    pub head: String,
    /// `(lower-cased name, value)` in order.
    pub headers: Vec<(String, String)>,
    /// The body (de-chunked); empty for `101`.
    pub body: String,
}

impl Reply {
    /// The only value of header `name`; `None` when absent, panics when repeated.
    pub fn header(&self, name: &str) -> Option<&str> {
        let mut values = self
            .headers
            .iter()
            .filter(|(n, _)| n == name)
            .map(|(_, v)| v.as_str());
        let first = values.next();
        assert!(values.next().is_none(), "header {name} repeated in {self:#?}");
        first
    }

    /// Asserts the only value of header `name`.
    pub fn assert_header(&self, name: &str, expected: &str) {
        assert_eq!(self.header(name), Some(expected), "header {name} in {self:#?}");
    }

    /// Asserts that header `name` is absent.
    pub fn assert_no_header(&self, name: &str) {
        assert_eq!(self.header(name), None, "unexpected header {name} in {self:#?}");
    }

    /// Asserts the status code.
    pub fn assert_status(&self, expected: u16) {
        assert_eq!(self.status, expected, "status of {self:#?}");
    }
}

/// Sends `raw_request` on a fresh connection and reads the response within
/// [`WAIT`]: the head only for `101`, otherwise the body up to EOF (or
/// `Content-Length`, after which the server must close the connection).
pub async fn http(addr: SocketAddr, raw_request: &str) -> Reply {
    tokio::time::timeout(WAIT, exchange(addr, raw_request))
        .await
        .unwrap_or_else(|_| panic!("no complete response within {WAIT:?} to {raw_request:?}"))
}

/// `GET path` with `headers` and `Connection: close`: [`http()`] with [`request`].
pub async fn get(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> Reply {
    http(addr, &request("GET", path, headers)).await
}

async fn exchange(addr: SocketAddr, raw_request: &str) -> Reply {
    let mut stream = TcpStream::connect(addr).await.expect("tcp connect");
    stream
        .write_all(raw_request.as_bytes())
        .await
        .expect("write request");
    let mut bytes = Vec::new();
    let head_end = loop {
        if let Some(at) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
            break at;
        }
        let mut chunk = [0u8; 4096];
        let read = stream.read(&mut chunk).await.expect("read head");
        assert!(
            read > 0,
            "connection closed before the end of the head: {bytes:?}"
        );
        bytes.extend_from_slice(&chunk[..read]);
    };
    let head = String::from_utf8(bytes[..head_end].to_vec()).expect("UTF-8 head");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let mut reply = Reply {
        status,
        head,
        headers,
        body: String::new(),
    };
    if status == 101 {
        return reply;
    }
    let mut body = bytes[head_end + 4..].to_vec();
    let length = reply
        .header("content-length")
        .map(|l| l.parse::<usize>().expect("numeric content-length"));
    match length {
        Some(length) => {
            while body.len() < length {
                let mut chunk = [0u8; 4096];
                let read = stream.read(&mut chunk).await.expect("read body");
                assert!(read > 0, "body shorter than content-length {length}: {body:?}");
                body.extend_from_slice(&chunk[..read]);
            }
            assert_eq!(body.len(), length, "body longer than content-length");
            // Both `Connection: close` requests and refused upgrades end the
            // connection after the response.
            let mut rest = Vec::new();
            stream.read_to_end(&mut rest).await.expect("read to EOF");
            assert!(rest.is_empty(), "bytes after the response: {rest:?}");
        }
        None => {
            stream.read_to_end(&mut body).await.expect("read body to EOF");
            if reply.header("transfer-encoding") == Some("chunked") {
                body = dechunk(&body);
            }
        }
    }
    reply.body = String::from_utf8(body).expect("UTF-8 body");
    reply
}

/// Decodes a chunked body (no trailers expected).
fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let line_end = data
            .windows(2)
            .position(|w| w == b"\r\n")
            .expect("chunk size line");
        let size_text = std::str::from_utf8(&data[..line_end]).expect("chunk size");
        let size =
            usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16).expect("hex size");
        data = &data[line_end + 2..];
        if size == 0 {
            return out;
        }
        out.extend_from_slice(&data[..size]);
        data = &data[size + 2..];
    }
}

/// The head of the server's answer to a WebSocket handshake on `path`
/// (with `headers`), lower-cased; the connection is dropped after it.
/// Panics unless the answer is `101` within [`WAIT`].
pub async fn upgraded_answer(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> String {
    let (_stream, head) = upgraded_with_head(addr, path, headers).await;
    head.to_ascii_lowercase()
}

/// Opens a WebSocket on `path` by hand and returns the bare TCP stream
/// after the `101` head, for tests that write frames byte by byte (or
/// never read). Panics unless the server answers `101` within [`WAIT`].
pub async fn upgraded(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> TcpStream {
    upgraded_with_head(addr, path, headers).await.0
}

async fn upgraded_with_head(addr: SocketAddr, path: &str, headers: &[(&str, &str)]) -> (TcpStream, String) {
    let mut stream = TcpStream::connect(addr).await.expect("tcp connect");
    stream
        .write_all(upgrade_request(path, headers).as_bytes())
        .await
        .expect("send handshake");
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    tokio::time::timeout(WAIT, async {
        while !head.ends_with(b"\r\n\r\n") {
            stream
                .read_exact(&mut byte)
                .await
                .expect("read the handshake answer");
            head.push(byte[0]);
        }
    })
    .await
    .expect("no handshake answer");
    let head = String::from_utf8_lossy(&head).into_owned();
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    (stream, head)
}

/// A client frame (masked, as RFC 6455 requires) with `first` as its first
/// byte (FIN, RSV bits and opcode; `0x81` is a final text frame).
pub fn client_frame(first: u8, payload: &[u8]) -> Vec<u8> {
    let mask = [0x37u8, 0xfa, 0x21, 0x3d];
    let mut frame = vec![first];
    match payload.len() {
        len @ 0..=125 => frame.push(0x80 | len as u8),
        len @ 126..=0xffff => {
            frame.push(0x80 | 126);
            frame.extend_from_slice(&(len as u16).to_be_bytes());
        }
        len => {
            frame.push(0x80 | 127);
            frame.extend_from_slice(&(len as u64).to_be_bytes());
        }
    }
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    frame
}
