//! The load generator's side of the wire: a WebSocket client that speaks
//! just enough RFC 6455 and Primus to drive a server, and costs little.
//!
//! * The upgrade is one `GET /primus/?…` written in one go; the `101`
//!   answer is read up to its blank line.
//! * Client frames must be masked. Frames that are sent many times (an
//!   echo request) are encoded and masked **once** ([`client_frame`]) and
//!   then written as bytes, so the generator's cost per message is a copy.
//! * Server frames are parsed in place from one read buffer
//!   ([`FrameReader`]); payloads are compared, never copied.
//! * Primus control messages: a `"primus::ping::<n>"` text frame is answered
//!   with `"primus::pong::<n>"` (what the Primus client does), an Engine.IO
//!   ping (the text frame `2`, Socket.IO servers) with `3`, a WebSocket
//!   ping with a pong. Servers under test never fragment messages, so a
//!   fragmented frame is reported as an error rather than reassembled.

use std::io;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// WebSocket opcodes used here.
pub mod opcode {
    /// Continuation frame.
    pub const CONTINUATION: u8 = 0x0;
    /// Text frame.
    pub const TEXT: u8 = 0x1;
    /// Binary frame.
    pub const BINARY: u8 = 0x2;
    /// Close frame.
    pub const CLOSE: u8 = 0x8;
    /// Ping frame.
    pub const PING: u8 = 0x9;
    /// Pong frame.
    pub const PONG: u8 = 0xA;
}

/// The JSON-encoded prefix of a Primus heartbeat ping.
const PING_PREFIX: &[u8] = b"\"primus::ping::";

/// Longest accepted HTTP upgrade answer.
const MAX_HANDSHAKE: usize = 8 * 1024;
/// The largest compressed message the generator inflates.
const MAX_INFLATED: usize = 64 << 20;

/// A mask key for client frames: fixed per process, derived from the clock.
pub fn mask_key() -> [u8; 4] {
    use std::sync::OnceLock;
    static KEY: OnceLock<[u8; 4]> = OnceLock::new();
    *KEY.get_or_init(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0x9e37_79b9, |d| d.subsec_nanos());
        let mixed = nanos.wrapping_mul(0x9e37_79b9) | 0x0101_0101;
        mixed.to_le_bytes()
    })
}

/// Encodes one masked client frame (FIN set) into `out`.
pub fn client_frame_into(out: &mut Vec<u8>, opcode: u8, payload: &[u8], mask: [u8; 4]) {
    out.push(0x80 | opcode);
    let len = payload.len();
    if len < 126 {
        out.push(0x80 | len as u8);
    } else if len <= u16::MAX as usize {
        out.push(0x80 | 126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(0x80 | 127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    out.extend_from_slice(&mask);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i & 3]));
}

/// One masked client frame (FIN set).
pub fn client_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(payload.len() + 14);
    client_frame_into(&mut out, opcode, payload, mask_key());
    out
}

/// The upgrade request for `/primus/` with the given query string.
pub fn upgrade_request(addr: SocketAddr, query: &str) -> String {
    let query = if query.is_empty() {
        String::new()
    } else {
        format!("?{query}")
    };
    upgrade_request_at(addr, &format!("/primus/{query}"))
}

/// The upgrade request for any request target (path and query).
pub fn upgrade_request_at(addr: SocketAddr, target: &str) -> String {
    format!(
        "GET {target} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: cHJpbXVzLXJzIGJlbmNoIQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    )
}

/// Why a connection failed.
#[derive(Debug)]
pub enum WireError {
    /// The socket failed.
    Io(io::Error),
    /// The server broke the protocol (or used a feature the generator lacks).
    Protocol(String),
    /// The server closed the connection.
    Closed,
    /// Nothing happened before the deadline.
    Timeout,
}

impl std::fmt::Display for WireError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WireError::Io(error) => write!(f, "socket error: {error}"),
            WireError::Protocol(reason) => write!(f, "protocol error: {reason}"),
            WireError::Closed => f.write_str("closed by the server"),
            WireError::Timeout => f.write_str("timed out"),
        }
    }
}

impl std::error::Error for WireError {}

impl From<io::Error> for WireError {
    fn from(error: io::Error) -> WireError {
        WireError::Io(error)
    }
}

/// A frame found in the read buffer; its payload is `reader.payload(&frame)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameRef {
    /// The opcode.
    pub opcode: u8,
    start: usize,
    end: usize,
    /// A compressed message: its payload is the reader's inflated copy.
    inflated: bool,
}

/// Parses server frames in place from a growable read buffer.
#[derive(Debug)]
pub struct FrameReader {
    buf: Vec<u8>,
    start: usize,
    end: usize,
    /// permessage-deflate was negotiated: RSV1 frames are inflated.
    inflate: bool,
    /// The last compressed message, inflated.
    inflated: Vec<u8>,
}

impl FrameReader {
    /// A reader whose buffer starts at `capacity` bytes (it grows for a
    /// frame that does not fit).
    pub fn new(capacity: usize) -> FrameReader {
        FrameReader {
            buf: vec![0; capacity.max(64)],
            start: 0,
            end: 0,
            inflate: false,
            inflated: Vec::new(),
        }
    }

    /// Inflates compressed (RSV1) messages from now on.
    pub fn inflate_compressed(&mut self) {
        self.inflate = true;
    }

    /// Reads once from `stream` into the free space (compacting or growing
    /// first). Returns the number of bytes read; 0 means end of stream.
    pub async fn fill(&mut self, stream: &mut (impl tokio::io::AsyncRead + Unpin)) -> io::Result<usize> {
        self.make_room();
        let read = stream.read(&mut self.buf[self.end..]).await?;
        self.end += read;
        Ok(read)
    }

    /// Appends bytes that were read elsewhere (after the HTTP answer).
    pub fn push(&mut self, bytes: &[u8]) {
        while self.buf.len() - self.end < bytes.len() {
            self.make_room();
            if self.buf.len() - self.end < bytes.len() {
                let grown = self.buf.len() * 2;
                self.buf.resize(grown, 0);
            }
        }
        self.buf[self.end..self.end + bytes.len()].copy_from_slice(bytes);
        self.end += bytes.len();
    }

    fn make_room(&mut self) {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        }
        if self.end < self.buf.len() {
            return;
        }
        if self.start > 0 {
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        // A pending frame may need more than the whole buffer.
        let needed = self.pending_frame_len().unwrap_or(0).max(self.end + 1);
        if needed > self.buf.len() {
            let grown = needed.max(self.buf.len() * 2);
            self.buf.resize(grown, 0);
        }
    }

    /// Total length (header + payload) of the frame at `start`, if its header is complete.
    fn pending_frame_len(&self) -> Option<usize> {
        parse_header(&self.buf[self.start..self.end]).map(|(header, payload)| header + payload)
    }

    /// The next complete frame, if the buffer holds one.
    pub fn next_frame(&mut self) -> Result<Option<FrameRef>, WireError> {
        let bytes = &self.buf[self.start..self.end];
        let Some((header, payload)) = parse_header(bytes) else {
            return Ok(None);
        };
        if bytes.len() < header + payload {
            return Ok(None);
        }
        let first = bytes[0];
        if bytes[1] & 0x80 != 0 {
            return Err(WireError::Protocol("masked frame from the server".into()));
        }
        let opcode = first & 0x0f;
        if first & 0x80 == 0 || opcode == opcode::CONTINUATION {
            return Err(WireError::Protocol(
                "fragmented message (not expected from these servers)".into(),
            ));
        }
        let compressed = first & 0x40 != 0;
        if compressed && !self.inflate {
            return Err(WireError::Protocol(
                "a compressed frame without permessage-deflate".into(),
            ));
        }
        let frame = FrameRef {
            opcode,
            start: self.start + header,
            end: self.start + header + payload,
            inflated: compressed,
        };
        if compressed {
            self.inflated = primus::deflate::inflate(&self.buf[frame.start..frame.end], MAX_INFLATED)
                .map_err(|error| WireError::Protocol(error.to_string()))?;
        }
        self.start = frame.end;
        Ok(Some(frame))
    }

    /// The payload of a frame returned by the last call to
    /// [`next_frame`](Self::next_frame) (for a compressed message, its
    /// inflated copy, which the next compressed message replaces).
    pub fn payload(&self, frame: &FrameRef) -> &[u8] {
        match frame.inflated {
            true => &self.inflated,
            false => &self.buf[frame.start..frame.end],
        }
    }
}

/// Header length and payload length of a server frame, once the header is complete.
fn parse_header(bytes: &[u8]) -> Option<(usize, usize)> {
    if bytes.len() < 2 {
        return None;
    }
    let masked = bytes[1] & 0x80 != 0;
    let mask_len = if masked { 4 } else { 0 };
    match bytes[1] & 0x7f {
        126 => {
            let len = u16::from_be_bytes(bytes.get(2..4)?.try_into().ok()?) as usize;
            (bytes.len() >= 4 + mask_len).then_some((4 + mask_len, len))
        }
        127 => {
            let len = u64::from_be_bytes(bytes.get(2..10)?.try_into().ok()?) as usize;
            (bytes.len() >= 10 + mask_len).then_some((10 + mask_len, len))
        }
        len => Some((2 + mask_len, len as usize)),
    }
}

/// What one incoming frame means to a driver.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Incoming {
    /// Application data (text or binary); the payload is in the reader.
    Data(FrameRef),
    /// A control message that was answered into the output buffer.
    Answered,
    /// The server closed the connection.
    Closed,
}

/// Classifies `frame`, answering pings (Primus or WebSocket) into `out`.
pub fn handle(reader: &FrameReader, frame: FrameRef, out: &mut Vec<u8>) -> Incoming {
    match frame.opcode {
        opcode::TEXT | opcode::BINARY => {
            let payload = reader.payload(&frame);
            if frame.opcode == opcode::TEXT && payload.starts_with(PING_PREFIX) {
                // "primus::ping::<n>" -> "primus::pong::<n>"
                let mut pong = payload.to_vec();
                pong[9..13].copy_from_slice(b"pong");
                client_frame_into(out, opcode::TEXT, &pong, mask_key());
                Incoming::Answered
            } else if frame.opcode == opcode::TEXT && payload == b"2" {
                // An Engine.IO ping. No Primus server sends a bare `2`: the
                // benchmarks' Primus messages are JSON strings and objects.
                client_frame_into(out, opcode::TEXT, b"3", mask_key());
                Incoming::Answered
            } else {
                Incoming::Data(frame)
            }
        }
        opcode::PING => {
            client_frame_into(out, opcode::PONG, reader.payload(&frame), mask_key());
            Incoming::Answered
        }
        opcode::CLOSE => Incoming::Closed,
        _ => Incoming::Answered,
    }
}

/// One client connection: the socket and its frame reader.
#[derive(Debug)]
pub struct Conn {
    /// The socket (`TCP_NODELAY` set).
    pub stream: TcpStream,
    /// Frames read from it.
    pub reader: FrameReader,
    /// The `Sec-WebSocket-Extensions` the server answered with (empty when
    /// none).
    pub extensions: String,
}

impl Conn {
    /// Connects to `addr`, upgrades at `/primus/?query`, within `timeout`.
    pub async fn open(
        addr: SocketAddr,
        query: &str,
        read_capacity: usize,
        timeout: Duration,
    ) -> Result<Conn, WireError> {
        let query = if query.is_empty() {
            String::new()
        } else {
            format!("?{query}")
        };
        Conn::open_at(addr, &format!("/primus/{query}"), read_capacity, timeout).await
    }

    /// Connects to `addr` and upgrades at `target` (path and query), within
    /// `timeout`.
    pub async fn open_at(
        addr: SocketAddr,
        target: &str,
        read_capacity: usize,
        timeout: Duration,
    ) -> Result<Conn, WireError> {
        let request = upgrade_request_at(addr, target);
        tokio::time::timeout(timeout, Conn::open_inner(addr, request, read_capacity))
            .await
            .map_err(|_| WireError::Timeout)?
    }

    /// Connects to `addr` as a Socket.IO v5 client over the Engine.IO v4
    /// websocket transport, within `timeout`: the upgrade at
    /// `/socket.io/?EIO=4&transport=websocket`, the Engine.IO open packet
    /// (`0{…}`), then the connect to the default namespace (`40` answered
    /// by `40{"sid":…}`). The socket is then in the namespace: it receives
    /// broadcasts and its events reach the handlers.
    pub async fn open_socket_io(
        addr: SocketAddr,
        read_capacity: usize,
        timeout: Duration,
    ) -> Result<Conn, WireError> {
        let started = std::time::Instant::now();
        let left = || timeout.saturating_sub(started.elapsed());
        let mut conn = Conn::open_at(
            addr,
            "/socket.io/?EIO=4&transport=websocket",
            read_capacity,
            timeout,
        )
        .await?;
        let open = conn.next_data(left()).await?;
        if !open.starts_with(b"0{") {
            return Err(WireError::Protocol("no Engine.IO open packet".into()));
        }
        conn.send(&client_frame(opcode::TEXT, b"40")).await?;
        let connected = conn.next_data(left()).await?;
        if !connected.starts_with(b"40") {
            return Err(WireError::Protocol("no Socket.IO connect packet".into()));
        }
        Ok(conn)
    }

    /// [`open`](Self::open) with permessage-deflate offered as primus-rs'
    /// Rust client offers it (each server message compressed on its own:
    /// `server_no_context_takeover`); fails unless the server accepts. The server's
    /// compressed messages are inflated by the reader; requests are
    /// compressed by whoever encodes them ([`client_frame_into`] with RSV1).
    pub async fn open_compressed(
        addr: SocketAddr,
        query: &str,
        read_capacity: usize,
        timeout: Duration,
    ) -> Result<Conn, WireError> {
        let target = match query.is_empty() {
            true => "/primus/".to_owned(),
            false => format!("/primus/?{query}"),
        };
        let offer = format!(
            "\r\nSec-WebSocket-Extensions: {}\r\n\r\n",
            primus::deflate::CLIENT_OFFER
        );
        let request = upgrade_request_at(addr, &target).replacen("\r\n\r\n", &offer, 1);
        let mut conn = tokio::time::timeout(timeout, Conn::open_inner(addr, request, read_capacity))
            .await
            .map_err(|_| WireError::Timeout)??;
        if !conn
            .extensions
            .to_ascii_lowercase()
            .contains("permessage-deflate")
        {
            return Err(WireError::Protocol(
                "the server declined permessage-deflate".into(),
            ));
        }
        conn.reader.inflate_compressed();
        Ok(conn)
    }

    async fn open_inner(addr: SocketAddr, request: String, read_capacity: usize) -> Result<Conn, WireError> {
        let mut stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        stream.write_all(request.as_bytes()).await?;
        let mut answer = Vec::with_capacity(512);
        let mut chunk = [0u8; 1024];
        let head_end = loop {
            let read = stream.read(&mut chunk).await?;
            if read == 0 {
                return Err(WireError::Closed);
            }
            answer.extend_from_slice(&chunk[..read]);
            if let Some(position) = answer.windows(4).position(|w| w == b"\r\n\r\n") {
                break position + 4;
            }
            if answer.len() > MAX_HANDSHAKE {
                return Err(WireError::Protocol("upgrade answer too long".into()));
            }
        };
        if !answer.starts_with(b"HTTP/1.1 101") {
            let line = answer.split(|b| *b == b'\r').next().unwrap_or_default();
            return Err(WireError::Protocol(format!(
                "upgrade refused: {}",
                String::from_utf8_lossy(line)
            )));
        }
        let mut reader = FrameReader::new(read_capacity);
        reader.push(&answer[head_end..]);
        let head = String::from_utf8_lossy(&answer[..head_end]);
        let extensions = head
            .split("\r\n")
            .filter_map(|line| line.split_once(':'))
            .find(|(name, _)| name.trim().eq_ignore_ascii_case("sec-websocket-extensions"))
            .map(|(_, value)| value.trim().to_owned())
            .unwrap_or_default();
        Ok(Conn {
            stream,
            reader,
            extensions,
        })
    }

    /// Writes `bytes` (already encoded frames).
    pub async fn send(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.stream.write_all(bytes).await
    }

    /// Waits for the next data message, answering pings, within `timeout`;
    /// returns its payload.
    pub async fn next_data(&mut self, timeout: Duration) -> Result<Vec<u8>, WireError> {
        tokio::time::timeout(timeout, async {
            let mut out = Vec::new();
            loop {
                while let Some(frame) = self.reader.next_frame()? {
                    match handle(&self.reader, frame, &mut out) {
                        Incoming::Data(frame) => {
                            let payload = self.reader.payload(&frame).to_vec();
                            if !out.is_empty() {
                                self.send(&out).await?;
                            }
                            return Ok(payload);
                        }
                        Incoming::Answered => {}
                        Incoming::Closed => return Err(WireError::Closed),
                    }
                }
                if !out.is_empty() {
                    self.send(&out).await?;
                    out.clear();
                }
                if self.reader.fill(&mut self.stream).await? == 0 {
                    return Err(WireError::Closed);
                }
            }
        })
        .await
        .map_err(|_| WireError::Timeout)?
    }

    /// Closes with a reset (`SO_LINGER` 0): no `TIME_WAIT` is left behind,
    /// so tens of thousands of connections per run do not exhaust the
    /// loopback's ephemeral ports.
    pub fn reset(self) {
        let _ = self.stream.set_zero_linger();
        drop(self.stream);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn server_frame(opcode: u8, payload: &[u8]) -> Vec<u8> {
        let mut out = vec![0x80 | opcode];
        match payload.len() {
            len if len < 126 => out.push(len as u8),
            len if len <= 65535 => {
                out.push(126);
                out.extend_from_slice(&(len as u16).to_be_bytes());
            }
            len => {
                out.push(127);
                out.extend_from_slice(&(len as u64).to_be_bytes());
            }
        }
        out.extend_from_slice(payload);
        out
    }

    #[test]
    fn client_frames_are_masked() {
        let frame = client_frame(opcode::TEXT, b"\"hi\"");
        assert_eq!(frame[0], 0x81);
        assert_eq!(frame[1], 0x80 | 4);
        let mask = &frame[2..6];
        let unmasked: Vec<u8> = frame[6..]
            .iter()
            .enumerate()
            .map(|(i, b)| b ^ mask[i % 4])
            .collect();
        assert_eq!(unmasked, b"\"hi\"");
        assert_eq!(client_frame(opcode::TEXT, &[b'x'; 300])[1], 0x80 | 126);
        assert_eq!(client_frame(opcode::TEXT, &vec![b'x'; 70_000])[1], 0x80 | 127);
    }

    #[test]
    fn reads_frames_split_anywhere_and_large_ones() {
        let mut bytes = server_frame(opcode::TEXT, b"\"a\"");
        bytes.extend(server_frame(opcode::TEXT, &vec![b'y'; 20_000]));
        bytes.extend(server_frame(opcode::TEXT, b"\"primus::ping::1234\""));
        let mut reader = FrameReader::new(64);
        let mut payloads = Vec::new();
        let mut out = Vec::new();
        for chunk in bytes.chunks(7) {
            reader.push(chunk);
            while let Some(frame) = reader.next_frame().unwrap() {
                if let Incoming::Data(frame) = handle(&reader, frame, &mut out) {
                    payloads.push(reader.payload(&frame).len());
                }
            }
        }
        assert_eq!(payloads, [3, 20_000]);
        // The ping was answered with a masked pong carrying the same number.
        let mask = &out[2..6];
        let pong: Vec<u8> = out[6..]
            .iter()
            .enumerate()
            .map(|(i, b)| b ^ mask[i % 4])
            .collect();
        assert_eq!(pong, b"\"primus::pong::1234\"");
    }

    #[test]
    fn rejects_fragments() {
        let mut reader = FrameReader::new(64);
        reader.push(&[0x01, 0x01, b'x']);
        assert!(reader.next_frame().is_err());
    }
}
