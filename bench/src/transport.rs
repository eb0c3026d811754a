//! The load generator's side of the engine.io and SockJS transports: one
//! client session, split into a [`TransportSender`] and a
//! [`TransportReceiver`] so that a send never waits for a poll (the polling
//! transports use two HTTP connections per session, as browsers do).
//!
//! | [`Transport`] | receives on | sends with |
//! |---|---|---|
//! | engine.io websocket | `GET /primus/?EIO=4&transport=websocket` (upgrade); `4<msg>` per frame | the same socket |
//! | engine.io polling | `GET /primus/?EIO=4&transport=polling&sid=…`, packets split by `\x1e` | `POST` of the same URL |
//! | SockJS websocket | `GET /primus/000/<session>/websocket` (upgrade); `a[…]` frames | the same socket, `[…]` |
//! | SockJS xhr-streaming | `POST /primus/000/<session>/xhr_streaming`, one frame per line | `POST …/xhr_send` |
//!
//! What comes out of a receiver is the Primus message (the JSON text the
//! Primus parser decodes), with the transport's framing removed; engine.io
//! pings are surfaced so the driver answers them, SockJS heartbeats and
//! engine.io noops are dropped here. The query string (`bench=trigger`) is
//! sent on the request that opens the session, where both Node Primus and
//! primus-rs read it.

use crate::http::HttpConn;
use crate::wire::{self, Conn, FrameReader, WireError};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

/// One of the non-`websockets` transports the suite drives.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Transport {
    /// engine.io, straight to its WebSocket transport.
    EngineIoWebSocket,
    /// engine.io, long polling only (the client's `websockets: false`).
    EngineIoPolling,
    /// SockJS' `websocket` transport.
    SockJsWebSocket,
    /// SockJS' `xhr_streaming` receiving and `xhr_send` sending.
    SockJsXhrStreaming,
    /// BrowserChannel: a chunked back channel receiving, forward requests
    /// (form-encoded maps) sending.
    BrowserChannel,
}

impl Transport {
    /// Every transport, in report order.
    pub const ALL: [Transport; 5] = [
        Transport::EngineIoWebSocket,
        Transport::EngineIoPolling,
        Transport::SockJsWebSocket,
        Transport::SockJsXhrStreaming,
        Transport::BrowserChannel,
    ];

    /// The Primus transformer that serves it (`--transformer` of the servers).
    pub fn transformer(self) -> &'static str {
        match self {
            Transport::EngineIoWebSocket | Transport::EngineIoPolling => "engine.io",
            Transport::SockJsWebSocket | Transport::SockJsXhrStreaming => "sockjs",
            Transport::BrowserChannel => "browserchannel",
        }
    }

    /// The name in reports.
    pub fn label(self) -> &'static str {
        match self {
            Transport::EngineIoWebSocket => "engine.io websocket",
            Transport::EngineIoPolling => "engine.io polling",
            Transport::SockJsWebSocket => "SockJS websocket",
            Transport::SockJsXhrStreaming => "SockJS xhr-streaming",
            Transport::BrowserChannel => "BrowserChannel",
        }
    }

    /// The name on the command line (`--transports`).
    pub fn id(self) -> &'static str {
        match self {
            Transport::EngineIoWebSocket => "eio-ws",
            Transport::EngineIoPolling => "eio-polling",
            Transport::SockJsWebSocket => "sockjs-ws",
            Transport::SockJsXhrStreaming => "sockjs-xhr-streaming",
            Transport::BrowserChannel => "browserchannel",
        }
    }

    /// Parses [`id`](Self::id).
    pub fn from_id(id: &str) -> Option<Transport> {
        Transport::ALL.into_iter().find(|t| t.id() == id)
    }

    /// True for the HTTP transports (two connections per session).
    pub fn is_http(self) -> bool {
        matches!(
            self,
            Transport::EngineIoPolling | Transport::SockJsXhrStreaming | Transport::BrowserChannel
        )
    }
}

/// What a driver hands to a [`TransportSender`].
#[derive(Debug, Clone)]
pub enum Outgoing {
    /// A Primus message (JSON text).
    Message(Arc<[u8]>),
    /// engine.io's pong (`3`), the answer to a [`Received::EngineIoPing`].
    EngineIoPong,
}

/// What a [`TransportReceiver`] hands to a driver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Received {
    /// A Primus message (JSON text), framing removed.
    Message(Vec<u8>),
    /// engine.io's ping (`2`): answer with [`Outgoing::EngineIoPong`].
    EngineIoPing,
}

/// The sending half of a session.
#[derive(Debug)]
pub struct TransportSender {
    transport: Transport,
    channel: SendChannel,
}

#[derive(Debug)]
enum SendChannel {
    WebSocket(OwnedWriteHalf),
    Http {
        http: HttpConn,
        target: String,
        addr: SocketAddr,
    },
    BrowserChannel {
        http: HttpConn,
        addr: SocketAddr,
        channel: Arc<ChannelState>,
        /// The next map's id.
        ofs: u64,
    },
}

/// What the two halves of a BrowserChannel session share.
#[derive(Debug)]
struct ChannelState {
    sid: String,
    /// The last array received (acknowledged on every request).
    aid: AtomicU64,
    /// The next request id (`RID`), after the opening one.
    rid: AtomicU64,
}

impl ChannelState {
    fn forward_target(&self) -> String {
        format!(
            "/primus/bind?VER=8&SID={}&RID={}&AID={}",
            self.sid,
            self.rid.fetch_add(1, Ordering::Relaxed),
            self.aid.load(Ordering::Acquire)
        )
    }

    fn back_target(&self) -> String {
        format!(
            "/primus/bind?VER=8&SID={}&RID=rpc&CI=0&AID={}&TYPE=xmlhttp",
            self.sid,
            self.aid.load(Ordering::Acquire)
        )
    }
}

/// Sends a request on a keep-alive connection; when the server had closed
/// it while idle (Node closes keep-alive connections after 5 s), connects
/// again and sends once more, as browsers do.
async fn post_reconnecting(
    http: &mut HttpConn,
    addr: SocketAddr,
    target: &str,
    body: &[u8],
) -> Result<crate::http::HttpAnswer, WireError> {
    match http.request("POST", target, body).await {
        Err(WireError::Closed | WireError::Io(_)) => {
            *http = HttpConn::connect(addr).await?;
            http.request("POST", target, body).await
        }
        answer => answer,
    }
}

/// The receiving half of a session.
#[derive(Debug)]
pub struct TransportReceiver {
    transport: Transport,
    channel: ReceiveChannel,
}

#[derive(Debug)]
enum ReceiveChannel {
    WebSocket {
        read: OwnedReadHalf,
        reader: FrameReader,
    },
    Polling {
        http: HttpConn,
        target: String,
    },
    Streaming(Streaming),
    BrowserChannel(BackChannel),
}

/// A BrowserChannel back channel: the current response and the bytes of
/// an unfinished chunk.
#[derive(Debug)]
struct BackChannel {
    http: HttpConn,
    channel: Arc<ChannelState>,
    open: bool,
    pending: Vec<u8>,
}

impl BackChannel {
    /// Reads one part of the back channel (opening a new one when the last
    /// ended) and decodes its complete chunks.
    async fn read_chunks(&mut self, out: &mut Vec<Received>) -> Result<(), WireError> {
        if !self.open {
            let status = self.http.start("GET", &self.channel.back_target(), b"").await?;
            if status != 200 {
                return Err(WireError::Protocol(format!("back channel answered {status}")));
            }
            self.open = true;
        }
        if !self.http.body_part(&mut self.pending).await? {
            self.open = false;
        }
        let mut consumed = 0;
        while let Some(newline) = self.pending[consumed..].iter().position(|b| *b == b'\n') {
            let length: usize = std::str::from_utf8(&self.pending[consumed..consumed + newline])
                .ok()
                .and_then(|text| text.parse().ok())
                .ok_or_else(|| WireError::Protocol("a back-channel chunk without its length".into()))?;
            // The length counts UTF-16 units: the benchmark's messages are ASCII.
            let start = consumed + newline + 1;
            if self.pending.len() < start + length {
                break;
            }
            let last = browserchannel_arrays(&self.pending[start..start + length], out)?;
            if let Some(last) = last {
                self.channel.aid.fetch_max(last, Ordering::AcqRel);
            }
            consumed = start + length;
        }
        self.pending.drain(..consumed);
        Ok(())
    }
}

/// The arrays of one back-channel chunk: messages into `out`; the id of
/// the last array.
fn browserchannel_arrays(text: &[u8], out: &mut Vec<Received>) -> Result<Option<u64>, WireError> {
    let arrays: Vec<(u64, serde_json::Value)> = serde_json::from_slice(text)
        .map_err(|_| WireError::Protocol("a back-channel chunk that is not arrays".into()))?;
    let mut last = None;
    for (id, data) in arrays {
        last = Some(id);
        match data {
            serde_json::Value::String(message) => out.push(Received::Message(message.into_bytes())),
            serde_json::Value::Array(control) if control.first() == Some(&serde_json::json!("stop")) => {
                return Err(WireError::Closed)
            }
            // `["c", …]`, `["noop"]`.
            _ => {}
        }
    }
    Ok(last)
}

/// A BrowserChannel forward request's body for `items`, maps from `ofs`.
fn browserchannel_maps(items: &[Outgoing], ofs: u64) -> Result<Vec<u8>, WireError> {
    let mut form = form_urlencoded::Serializer::new(String::new());
    form.append_pair("count", &items.len().to_string());
    form.append_pair("ofs", &ofs.to_string());
    for (index, item) in items.iter().enumerate() {
        let Outgoing::Message(message) = item else {
            return Err(WireError::Protocol("an engine.io pong on BrowserChannel".into()));
        };
        let text = std::str::from_utf8(message)
            .map_err(|_| WireError::Protocol("a message that is not UTF-8".into()))?;
        form.append_pair(&format!("req{index}__S"), text);
    }
    Ok(form.finish().into_bytes())
}

/// An `xhr_streaming` receiver: the current response and the bytes of an
/// unfinished line.
#[derive(Debug)]
struct Streaming {
    http: HttpConn,
    target: String,
    /// A response is being read (false: the last one ended; post again).
    open: bool,
    pending: Vec<u8>,
}

/// Session ids for SockJS, unique within the process.
fn session_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    format!("b{nanos:08x}{:08x}", NEXT.fetch_add(1, Ordering::Relaxed))
}

fn with_query(target: String, separator: char, query: &str) -> String {
    if query.is_empty() {
        target
    } else {
        format!("{target}{separator}{query}")
    }
}

/// Opens one session of `transport` with `query` on the opening request,
/// and waits until the server says it is open (engine.io's open packet,
/// SockJS' `o`), all within `timeout`.
pub async fn open(
    addr: SocketAddr,
    transport: Transport,
    query: &str,
    timeout: Duration,
) -> Result<(TransportSender, TransportReceiver), WireError> {
    tokio::time::timeout(timeout, open_inner(addr, transport, query))
        .await
        .map_err(|_| WireError::Timeout)?
}

async fn open_inner(
    addr: SocketAddr,
    transport: Transport,
    query: &str,
) -> Result<(TransportSender, TransportReceiver), WireError> {
    let channels = match transport {
        Transport::EngineIoWebSocket | Transport::SockJsWebSocket => {
            let target = if transport == Transport::EngineIoWebSocket {
                with_query("/primus/?EIO=4&transport=websocket".to_owned(), '&', query)
            } else {
                with_query(format!("/primus/000/{}/websocket", session_id()), '?', query)
            };
            let conn = Conn::open_at(addr, &target, 16 * 1024, Duration::from_secs(3600)).await?;
            conn.stream.set_zero_linger()?;
            let Conn { stream, reader, .. } = conn;
            let (read, write) = stream.into_split();
            (
                SendChannel::WebSocket(write),
                ReceiveChannel::WebSocket { read, reader },
            )
        }
        Transport::EngineIoPolling => {
            let mut http = HttpConn::connect(addr).await?;
            let handshake = with_query("/primus/?EIO=4&transport=polling".to_owned(), '&', query);
            let answer = http.request("GET", &handshake, b"").await?;
            let sid = engine_io_sid(answer.status, &answer.body)?;
            let target = format!("/primus/?EIO=4&transport=polling&sid={sid}");
            (
                SendChannel::Http {
                    http: HttpConn::connect(addr).await?,
                    target: target.clone(),
                    addr,
                },
                ReceiveChannel::Polling { http, target },
            )
        }
        Transport::BrowserChannel => {
            let mut http = HttpConn::connect(addr).await?;
            let opening = with_query("/primus/bind?VER=8&RID=1&CVER=8".to_owned(), '&', query);
            let answer = http.request("POST", &opening, b"count=0").await?;
            if answer.status != 200 {
                return Err(WireError::Protocol(format!(
                    "BrowserChannel opening answered {}",
                    answer.status
                )));
            }
            let (_, text) = answer
                .body
                .split(|b| *b == b'\n')
                .next()
                .map(|length| (length, &answer.body[length.len() + 1..]))
                .ok_or_else(|| WireError::Protocol("an empty BrowserChannel opening".into()))?;
            let arrays: Vec<(u64, serde_json::Value)> = serde_json::from_slice(text)
                .map_err(|_| WireError::Protocol("a BrowserChannel opening that is not arrays".into()))?;
            let sid = arrays
                .first()
                .and_then(|(_, data)| data.get(1))
                .and_then(serde_json::Value::as_str)
                .ok_or_else(|| WireError::Protocol("no session id in the BrowserChannel opening".into()))?
                .to_owned();
            let last = arrays.last().map_or(0, |(id, _)| *id);
            let channel = Arc::new(ChannelState {
                sid,
                aid: AtomicU64::new(last),
                rid: AtomicU64::new(2),
            });
            (
                SendChannel::BrowserChannel {
                    http,
                    addr,
                    channel: channel.clone(),
                    ofs: 0,
                },
                ReceiveChannel::BrowserChannel(BackChannel {
                    http: HttpConn::connect(addr).await?,
                    channel,
                    open: false,
                    pending: Vec::new(),
                }),
            )
        }
        Transport::SockJsXhrStreaming => {
            let session = format!("/primus/000/{}", session_id());
            let streaming = Streaming {
                http: HttpConn::connect(addr).await?,
                target: with_query(format!("{session}/xhr_streaming"), '?', query),
                open: false,
                pending: Vec::new(),
            };
            (
                SendChannel::Http {
                    http: HttpConn::connect(addr).await?,
                    target: with_query(format!("{session}/xhr_send"), '?', query),
                    addr,
                },
                ReceiveChannel::Streaming(streaming),
            )
        }
    };
    let (send, receive) = channels;
    let mut receiver = TransportReceiver {
        transport,
        channel: receive,
    };
    receiver.wait_open().await?;
    Ok((
        TransportSender {
            transport,
            channel: send,
        },
        receiver,
    ))
}

/// The `sid` of engine.io's open packet (`0{"sid":…}`).
fn engine_io_sid(status: u16, body: &[u8]) -> Result<String, WireError> {
    let refused = || {
        WireError::Protocol(format!(
            "engine.io handshake answered {status}: {}",
            String::from_utf8_lossy(&body[..body.len().min(200)])
        ))
    };
    if status != 200 {
        return Err(refused());
    }
    let open = body.split(|b| *b == 0x1e).next().unwrap_or_default();
    let json = open.strip_prefix(b"0").ok_or_else(refused)?;
    let value: serde_json::Value = serde_json::from_slice(json).map_err(|_| refused())?;
    value
        .get("sid")
        .and_then(serde_json::Value::as_str)
        .map(str::to_owned)
        .ok_or_else(refused)
}

impl TransportSender {
    /// Sends `items` in one frame or one request (engine.io over WebSocket:
    /// one frame each, written together).
    pub async fn send(&mut self, items: &[Outgoing]) -> Result<(), WireError> {
        if items.is_empty() {
            return Ok(());
        }
        match (&mut self.channel, self.transport) {
            (SendChannel::WebSocket(write), Transport::EngineIoWebSocket) => {
                let mut frames = Vec::new();
                for item in items {
                    let packet = engine_io_packet(item);
                    wire::client_frame_into(&mut frames, wire::opcode::TEXT, &packet, wire::mask_key());
                }
                write.write_all(&frames).await?;
            }
            (SendChannel::WebSocket(write), _) => {
                let frame = wire::client_frame(wire::opcode::TEXT, &sockjs_array(items)?);
                write.write_all(&frame).await?;
            }
            (SendChannel::Http { http, target, addr }, Transport::EngineIoPolling) => {
                let mut body = Vec::new();
                for (index, item) in items.iter().enumerate() {
                    if index > 0 {
                        body.push(0x1e);
                    }
                    body.extend_from_slice(&engine_io_packet(item));
                }
                let answer = post_reconnecting(http, *addr, target, &body).await?;
                if answer.status != 200 {
                    return Err(WireError::Protocol(format!(
                        "engine.io POST answered {}",
                        answer.status
                    )));
                }
            }
            (
                SendChannel::BrowserChannel {
                    http,
                    addr,
                    channel,
                    ofs,
                },
                _,
            ) => {
                let body = browserchannel_maps(items, *ofs)?;
                *ofs += items.len() as u64;
                let answer = post_reconnecting(http, *addr, &channel.forward_target(), &body).await?;
                if answer.status != 200 {
                    return Err(WireError::Protocol(format!(
                        "BrowserChannel forward request answered {}",
                        answer.status
                    )));
                }
            }
            (SendChannel::Http { http, target, addr }, _) => {
                let answer = post_reconnecting(http, *addr, target, &sockjs_array(items)?).await?;
                if answer.status != 204 && answer.status != 200 {
                    return Err(WireError::Protocol(format!(
                        "xhr_send answered {}",
                        answer.status
                    )));
                }
            }
        }
        Ok(())
    }
}

fn engine_io_packet(item: &Outgoing) -> Vec<u8> {
    match item {
        Outgoing::Message(message) => {
            let mut packet = Vec::with_capacity(message.len() + 1);
            packet.push(b'4');
            packet.extend_from_slice(message);
            packet
        }
        Outgoing::EngineIoPong => b"3".to_vec(),
    }
}

/// SockJS' client frame: a JSON array of the messages as JSON strings.
fn sockjs_array(items: &[Outgoing]) -> Result<Vec<u8>, WireError> {
    let mut texts = Vec::with_capacity(items.len());
    for item in items {
        let Outgoing::Message(message) = item else {
            return Err(WireError::Protocol("an engine.io pong on SockJS".into()));
        };
        let text = std::str::from_utf8(message)
            .map_err(|_| WireError::Protocol("a message that is not UTF-8".into()))?;
        texts.push(text);
    }
    serde_json::to_vec(&texts).map_err(|e| WireError::Protocol(e.to_string()))
}

impl TransportReceiver {
    /// Waits for at least one item and appends every item that arrived.
    pub async fn receive(&mut self, out: &mut Vec<Received>) -> Result<(), WireError> {
        let transport = self.transport;
        let start = out.len();
        loop {
            match &mut self.channel {
                ReceiveChannel::WebSocket { read, reader } => {
                    while let Some(frame) = reader.next_frame()? {
                        match frame.opcode {
                            wire::opcode::TEXT => decode(transport, reader.payload(&frame), out)?,
                            wire::opcode::CLOSE => return Err(WireError::Closed),
                            _ => {}
                        }
                    }
                    if out.len() > start {
                        return Ok(());
                    }
                    if reader.fill(read).await? == 0 {
                        return Err(WireError::Closed);
                    }
                }
                ReceiveChannel::Polling { http, target } => {
                    let answer = http.request("GET", target, b"").await.map_err(|e| match e {
                        WireError::Closed => WireError::Protocol("the poll's connection was closed".into()),
                        other => other,
                    })?;
                    if answer.status != 200 {
                        return Err(WireError::Protocol(format!(
                            "engine.io poll answered {}",
                            answer.status
                        )));
                    }
                    for packet in answer.body.split(|b| *b == 0x1e) {
                        decode(transport, packet, out)?;
                    }
                    if out.len() > start {
                        return Ok(());
                    }
                }
                ReceiveChannel::Streaming(streaming) => {
                    streaming.read_lines(transport, out).await?;
                    if out.len() > start {
                        return Ok(());
                    }
                }
                ReceiveChannel::BrowserChannel(back) => {
                    back.read_chunks(out).await?;
                    if out.len() > start {
                        return Ok(());
                    }
                }
            }
        }
    }

    /// Reads until the session's open packet (`0…`) or frame (`o`).
    async fn wait_open(&mut self) -> Result<(), WireError> {
        if let ReceiveChannel::Polling { .. } | ReceiveChannel::BrowserChannel(_) = self.channel {
            // The handshake answer was the open packet (BrowserChannel's
            // opening request carried array 0).
            return Ok(());
        }
        let mut opened = false;
        let mut items = Vec::new();
        while !opened {
            match &mut self.channel {
                ReceiveChannel::WebSocket { read, reader } => {
                    // The open frame may have come with the upgrade's answer.
                    while let Some(frame) = reader.next_frame()? {
                        let payload = reader.payload(&frame);
                        opened |= payload.first() == Some(&b'0') || payload == b"o";
                    }
                    if !opened && reader.fill(read).await? == 0 {
                        return Err(WireError::Closed);
                    }
                }
                ReceiveChannel::Streaming(streaming) => {
                    let open_frame = streaming.read_lines(self.transport, &mut items).await?;
                    opened |= open_frame;
                }
                ReceiveChannel::Polling { .. } | ReceiveChannel::BrowserChannel(_) => opened = true,
            }
        }
        if !items.is_empty() {
            return Err(WireError::Protocol("messages before the open frame".into()));
        }
        Ok(())
    }
}

impl Streaming {
    /// Reads one part of the response (posting a new one when the last
    /// ended) and decodes its complete lines; true when `o` was among them.
    async fn read_lines(&mut self, transport: Transport, out: &mut Vec<Received>) -> Result<bool, WireError> {
        if !self.open {
            let status = self.http.start("POST", &self.target, b"").await?;
            if status != 200 {
                return Err(WireError::Protocol(format!("xhr_streaming answered {status}")));
            }
            self.open = true;
        }
        if !self.http.body_part(&mut self.pending).await? {
            // The response limit was reached: the next call posts again.
            self.open = false;
        }
        let mut opened = false;
        let mut consumed = 0;
        while let Some(end) = self.pending[consumed..].iter().position(|b| *b == b'\n') {
            let line = &self.pending[consumed..consumed + end];
            opened |= line == b"o";
            decode(transport, line, out)?;
            consumed += end + 1;
        }
        self.pending.drain(..consumed);
        Ok(opened)
    }
}

/// Decodes one engine.io packet or SockJS frame into `out`.
fn decode(transport: Transport, packet: &[u8], out: &mut Vec<Received>) -> Result<(), WireError> {
    match transport {
        Transport::EngineIoWebSocket | Transport::EngineIoPolling => match packet.split_first() {
            Some((b'4', message)) => out.push(Received::Message(message.to_vec())),
            Some((b'2', _)) => out.push(Received::EngineIoPing),
            Some((b'1', _)) => {
                return Err(WireError::Protocol(
                    "the server sent engine.io's close packet".into(),
                ))
            }
            // open, pong, noop
            Some((b'0' | b'3' | b'6', _)) => {}
            _ => {
                return Err(WireError::Protocol(format!(
                    "unexpected engine.io packet {:?}",
                    String::from_utf8_lossy(&packet[..packet.len().min(40)])
                )))
            }
        },
        // Back-channel chunks are decoded where they are read.
        Transport::BrowserChannel => {
            browserchannel_arrays(packet, out)?;
        }
        Transport::SockJsWebSocket | Transport::SockJsXhrStreaming => match packet.split_first() {
            Some((b'a', array)) => {
                let messages: Vec<String> = serde_json::from_slice(array)
                    .map_err(|_| WireError::Protocol("a SockJS array that is not JSON strings".into()))?;
                out.extend(messages.into_iter().map(|m| Received::Message(m.into_bytes())));
            }
            Some((b'c', _)) => return Err(WireError::Closed),
            // `o`, heartbeats and the xhr_streaming prelude (a line of `h`).
            Some((b'o' | b'h', _)) | None => {}
            _ => {
                return Err(WireError::Protocol(format!(
                    "unexpected SockJS frame {:?}",
                    String::from_utf8_lossy(&packet[..packet.len().min(40)])
                )))
            }
        },
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_engine_io_packets() {
        let mut out = Vec::new();
        for packet in [&b"4\"hi\""[..], b"2", b"6", b"0{\"sid\":\"x\"}"] {
            decode(Transport::EngineIoPolling, packet, &mut out).unwrap();
        }
        assert_eq!(
            out,
            [Received::Message(b"\"hi\"".to_vec()), Received::EngineIoPing]
        );
        assert!(decode(Transport::EngineIoWebSocket, b"1", &mut out)
            .is_err_and(|e| e.to_string().contains("close packet")));
        assert!(decode(Transport::EngineIoWebSocket, b"x", &mut out).is_err());
    }

    #[test]
    fn decodes_sockjs_frames() {
        let mut out = Vec::new();
        for frame in [&b"o"[..], b"hhhh", b"h", br#"a["\"a\"","{\"b\":1}"]"#] {
            decode(Transport::SockJsXhrStreaming, frame, &mut out).unwrap();
        }
        assert_eq!(
            out,
            [
                Received::Message(b"\"a\"".to_vec()),
                Received::Message(b"{\"b\":1}".to_vec())
            ]
        );
        assert!(matches!(
            decode(Transport::SockJsWebSocket, b"c[3000,\"Go away!\"]", &mut out),
            Err(WireError::Closed)
        ));
    }

    #[test]
    fn encodes_client_frames() {
        let items = [
            Outgoing::Message(Arc::from(&b"\"x\""[..])),
            Outgoing::Message(Arc::from(&b"1"[..])),
        ];
        assert_eq!(sockjs_array(&items).unwrap(), br#"["\"x\"","1"]"#);
        assert_eq!(engine_io_packet(&items[0]), b"4\"x\"");
        assert_eq!(engine_io_packet(&Outgoing::EngineIoPong), b"3");
        assert!(sockjs_array(&[Outgoing::EngineIoPong]).is_err());
        assert_eq!(
            engine_io_sid(200, b"0{\"sid\":\"abc\"}\x1e4\"x\"").unwrap(),
            "abc"
        );
        assert!(engine_io_sid(400, b"{}").is_err());
    }
}
