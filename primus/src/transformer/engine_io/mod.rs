//! The `engine.io` transformer: Engine.IO v4, as the Primus 8 engine.io
//! client (engine.io-client 6.5) speaks it: a handshake over long polling,
//! then an upgrade to WebSocket (`2probe`/`3probe`/`5`), or polling only
//! when the client sets `websockets: false`. Written here on the
//! transport's own sessions (see `transformer::session`), so the spark id is
//! the Engine.IO `sid`, a close over polling delivers what was queued,
//! `primus::server::close` and the close packet before the session ends,
//! and messages are encoded once per message, not per recipient.
//!
//! Requests under the pathname with an `EIO` query parameter are the
//! transformer's:
//!
//! | request | answer |
//! |---|---|
//! | `GET /primus/?EIO=4&transport=polling` | the open packet `0{"sid":…,"upgrades":["websocket"],"pingInterval":…,"pingTimeout":…,"maxPayload":…}` |
//! | `GET …&transport=polling&sid=…` | the packets waiting (long polling), joined by 0x1E |
//! | `POST …&transport=polling&sid=…` | the client's packets: `ok` |
//! | `GET …&transport=websocket[&sid=…]` | the WebSocket (an upgrade of the session, or a session of its own) |
//!
//! Errors are answered as engine.io does, `400` with
//! `{"code":N,"message":…}`: 0 `Transport unknown`, 1 `Session ID unknown`,
//! 2 `Bad handshake method`, 3 `Bad request`, 5 `Unsupported protocol
//! version`; a POST over `maxPayload` gets 413.

pub(crate) mod packet;
mod websocket;

use super::body::{self, BodyError};
use super::reply::{plain, ready};
use super::session::{Session, SessionSettings, Take};
use super::session_pool::{OpenRefused, SessionPool};
use super::Transformer;
use crate::pipeline::Connector;
use crate::spark::Address;
use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use futures_util::future::BoxFuture;
use http::header::{self, HeaderValue};
use http::request::Parts;
use http::{Method, Request, StatusCode};
use std::sync::Arc;
use std::time::Duration;

/// The `engine.io` transformer, with engine.io's defaults.
///
/// ```
/// use primus::transformer::{EngineIo, Transformer};
/// use std::time::Duration;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), primus::BuildError> {
/// let engine_io = EngineIo::default().ping_interval(Duration::from_secs(10));
/// assert_eq!(engine_io.name(), "engine.io");
/// let server = primus::Server::builder().transformer(engine_io).build()?;
/// assert_eq!(server.transformer_name(), "engine.io");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct EngineIo {
    ping_interval: Duration,
    ping_timeout: Duration,
    websocket: bool,
    pool: SessionPool,
}

impl Default for EngineIo {
    fn default() -> EngineIo {
        EngineIo {
            ping_interval: Duration::from_secs(25),
            ping_timeout: Duration::from_secs(20),
            websocket: true,
            pool: SessionPool::new(packet::encode),
        }
    }
}

impl std::fmt::Debug for EngineIo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineIo")
            .field("ping_interval", &self.ping_interval)
            .field("ping_timeout", &self.ping_timeout)
            .field("websocket", &self.websocket)
            .field("max_sessions", &self.pool.max_sessions)
            .field("max_sessions_per_address", &self.pool.max_sessions_per_address)
            .field("sessions", &self.pool.len())
            .finish()
    }
}

impl EngineIo {
    /// How often the server sends Engine.IO's ping (default 25 s); the
    /// client closes when none came for `ping_interval + ping_timeout`.
    /// This is Engine.IO's own keep-alive, beside Primus' `primus::ping`.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let engine_io = primus::transformer::EngineIo::default().ping_interval(Duration::from_secs(10));
    /// ```
    pub fn ping_interval(mut self, interval: Duration) -> EngineIo {
        self.ping_interval = interval.max(Duration::from_millis(10));
        self
    }

    /// How long past `ping_interval` a client may stay silent (default
    /// 20 s); a polling session without a request for `ping_interval +
    /// ping_timeout` is abandoned.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let engine_io = primus::transformer::EngineIo::default().ping_timeout(Duration::from_secs(5));
    /// ```
    pub fn ping_timeout(mut self, timeout: Duration) -> EngineIo {
        self.ping_timeout = timeout.max(Duration::from_millis(10));
        self
    }

    /// Whether sessions may upgrade to (or open on) a WebSocket (default
    /// true); without, the handshake offers no upgrade and clients poll.
    ///
    /// ```
    /// let engine_io = primus::transformer::EngineIo::default().websocket(false);
    /// ```
    pub fn websocket(mut self, enabled: bool) -> EngineIo {
        self.websocket = enabled;
        self
    }

    /// Most sessions at once (default 65,536); one more gets `503 Too many
    /// sessions`.
    ///
    /// ```
    /// let engine_io = primus::transformer::EngineIo::default().max_sessions(10_000);
    /// ```
    pub fn max_sessions(mut self, sessions: usize) -> EngineIo {
        self.pool.max_sessions = sessions.max(1);
        self
    }

    /// Most sessions at once from one client address (default 1,024); one
    /// more gets `429 Too many sessions from this address`. A handshake
    /// costs the client one request and the server a session held until
    /// its timeout, so without this one client could take every session of
    /// `max_sessions`. The address is the spark's (behind a reverse proxy,
    /// set `ServerBuilder::trust_proxy`, or every client has the proxy's).
    ///
    /// ```
    /// let engine_io = primus::transformer::EngineIo::default().max_sessions_per_address(10_000);
    /// ```
    pub fn max_sessions_per_address(mut self, sessions: usize) -> EngineIo {
        self.pool.max_sessions_per_address = sessions.max(1);
        self
    }

    /// How many sessions exist now (open, or closing and not yet collected).
    ///
    /// ```
    /// assert_eq!(primus::transformer::EngineIo::default().session_count(), 0);
    /// ```
    pub fn session_count(&self) -> usize {
        self.pool.len()
    }

    /// How many messages were wrapped into this transport's packets: a
    /// message sent to many sessions (a broadcast) counts once.
    ///
    /// ```
    /// assert_eq!(primus::transformer::EngineIo::default().packets_encoded(), 0);
    /// ```
    pub fn packets_encoded(&self) -> u64 {
        self.pool.packets().encoded()
    }

    /// The largest POST body: `max_length` and room for the packet framing.
    fn max_payload(max_length: usize) -> usize {
        max_length.saturating_add(64)
    }

    fn settings(&self) -> SessionSettings {
        SessionSettings {
            disconnect_delay: self.ping_interval + self.ping_timeout,
            outgoing_budget: self.pool.outgoing_budget,
            opening: None,
            keepalive: Some((self.ping_interval, Bytes::from_static(packet::PING.as_bytes()))),
            packets: self.pool.packets().clone(),
            close: Bytes::from_static(packet::CLOSE.as_bytes()),
            on_end: None,
        }
    }

    /// The open packet of a new session.
    fn open_packet(&self, sid: &str, upgrades: bool, max_length: usize) -> String {
        format!(
            r#"0{{"sid":"{sid}","upgrades":{},"pingInterval":{},"pingTimeout":{},"maxPayload":{}}}"#,
            if upgrades { r#"["websocket"]"# } else { "[]" },
            self.ping_interval.as_millis(),
            self.ping_timeout.as_millis(),
            Self::max_payload(max_length),
        )
    }

    /// Opens a session (a connection whose spark id is the `sid`).
    fn open_session(
        &self,
        parts: &Parts,
        address: Address,
        connector: &Connector,
    ) -> Result<(String, Arc<Session>), Box<Response>> {
        let refused = |status, text| Box::new(plain(status, text));
        self.pool
            .open(None, parts, address, connector, self.settings())
            .map_err(|refusal| match refusal {
                OpenRefused::Full => refused(StatusCode::SERVICE_UNAVAILABLE, "Too many sessions"),
                OpenRefused::AddressFull => refused(
                    StatusCode::TOO_MANY_REQUESTS,
                    "Too many sessions from this address",
                ),
                OpenRefused::Closing => refused(StatusCode::SERVICE_UNAVAILABLE, "Server closing"),
                OpenRefused::Taken => Box::new(error(3, "Bad request")),
            })
    }

    /// A long poll: the packets waiting, or a noop after `ping_interval +
    /// ping_timeout` (the ping comes before that).
    async fn poll(self, sid: String) -> Response {
        let Some(session) = self.pool.get(&sid) else {
            return error(1, "Session ID unknown");
        };
        // A second concurrent poll, or a poll after the upgrade.
        let Ok(attached) = session.attach() else {
            return error(3, "Bad request");
        };
        let limit = self.ping_interval + self.ping_timeout;
        let body = loop {
            match attached.take() {
                Take::Messages(packets) => break packet::payload(&packets),
                Take::Close(close) | Take::Open(close) => break close,
                Take::Kicked => break Bytes::from_static(packet::NOOP.as_bytes()),
                Take::Nothing => {
                    if !attached.wait(limit).await {
                        break Bytes::from_static(packet::NOOP.as_bytes());
                    }
                }
            }
        };
        drop(attached);
        plain(StatusCode::OK, body)
    }

    /// The client's packets, by POST.
    async fn post(self, sid: String, body: Body, connector: Connector) -> Response {
        let Some(session) = self.pool.get(&sid) else {
            return error(1, "Session ID unknown");
        };
        if session.is_closing() {
            return error(1, "Session ID unknown");
        }
        let max_length = connector.max_length();
        let too_large = || plain(StatusCode::PAYLOAD_TOO_LARGE, Body::empty());
        // Held (counted with the server's other partly received messages)
        // until the session has taken every message.
        let (body, held) =
            match body::read(body, Self::max_payload(max_length), connector.inbound_budget()).await {
                Ok(read) => read,
                Err(BodyError::TooLarge) => return too_large(),
                Err(BodyError::TimedOut) => return plain(StatusCode::REQUEST_TIMEOUT, "Request Timeout"),
                Err(BodyError::Busy) => return plain(StatusCode::SERVICE_UNAVAILABLE, "Server busy"),
                Err(BodyError::Failed) => return error(3, "Bad request"),
            };
        let Ok(payload) = std::str::from_utf8(&body) else {
            return error(3, "Bad request");
        };
        let packets = match packet::decode_payload(payload, max_length) {
            Ok(packets) if packets.len() > MAX_PACKETS => return too_large(),
            Ok(packets) => packets,
            Err(packet::PacketError::TooLarge { .. }) => return too_large(),
            Err(_) => return error(3, "Bad request"),
        };
        drop(body);
        let mut frames = Vec::new();
        let mut closing = false;
        for packet in packets {
            match packet {
                packet::Packet::Message(frame) => frames.push(frame),
                packet::Packet::Close => closing = true,
                _ => {}
            }
        }
        let delivered = matches!(
            tokio::time::timeout(SEND_WAIT, session.send(frames, held)).await,
            Ok(true)
        );
        if closing {
            session.client_gone();
        }
        match delivered {
            true => {
                let mut response = Response::new(Body::from("ok"));
                response
                    .headers_mut()
                    .insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html"));
                response
            }
            false => error(1, "Session ID unknown"),
        }
    }
}

/// Most packets in one POST (engine.io-client sends what was written
/// meanwhile in one POST: thousands at most).
const MAX_PACKETS: usize = 10_000;

/// How long a POST waits for a session whose handlers are behind.
const SEND_WAIT: Duration = Duration::from_secs(10);

/// What the query of an Engine.IO request says.
struct EioQuery<'a> {
    version: Option<&'a str>,
    transport: Option<&'a str>,
    sid: Option<&'a str>,
}

impl<'a> EioQuery<'a> {
    fn parse(query: &'a str) -> EioQuery<'a> {
        let mut parsed = EioQuery {
            version: None,
            transport: None,
            sid: None,
        };
        for pair in query.split('&') {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            match key {
                "EIO" => parsed.version = Some(value),
                "transport" => parsed.transport = Some(value),
                "sid" => parsed.sid = Some(value),
                _ => {}
            }
        }
        parsed
    }
}

impl Transformer for EngineIo {
    fn name(&self) -> &'static str {
        "engine.io"
    }

    /// Requests to the pathname (or its `/`) with an `EIO` query parameter.
    fn claims(&self, request: &Parts) -> bool {
        let path = request.uri.path();
        let Some(rest) = path.strip_prefix(self.pool.pathname()) else {
            return false;
        };
        (rest.is_empty() || rest == "/")
            && request
                .uri
                .query()
                .is_some_and(|query| EioQuery::parse(query).version.is_some())
    }

    fn accept(
        &self,
        request: Request<Body>,
        address: Address,
        connector: &Connector,
    ) -> BoxFuture<'static, Response> {
        let query = request.uri().query().unwrap_or("").to_owned();
        let query = EioQuery::parse(&query);
        if query.version != Some("4") {
            return ready(error(5, "Unsupported protocol version"));
        }
        let sid = query.sid.map(str::to_owned);
        let method = request.method().clone();
        match (query.transport, sid, method) {
            (Some("polling"), None, Method::GET) => {
                let (parts, _body) = request.into_parts();
                ready(match self.open_session(&parts, address, connector) {
                    Ok((sid, _session)) => plain(
                        StatusCode::OK,
                        self.open_packet(&sid, self.websocket, connector.max_length()),
                    ),
                    Err(refused) => *refused,
                })
            }
            (Some("polling"), Some(sid), Method::GET) => Box::pin(self.clone().poll(sid)),
            (Some("polling"), Some(sid), Method::POST) => {
                let body = request.into_body();
                Box::pin(self.clone().post(sid, body, connector.clone()))
            }
            (Some("websocket"), _, _) if !self.websocket => ready(error(0, "Transport unknown")),
            (Some("websocket"), sid, Method::GET) => {
                ready(websocket::accept(self, request, address, connector, sid))
            }
            (Some("polling" | "websocket"), None, _) => ready(error(2, "Bad handshake method")),
            (Some("polling" | "websocket"), Some(_), _) => ready(error(3, "Bad request")),
            _ => ready(error(0, "Transport unknown")),
        }
    }

    fn start(&self, connector: &Connector) {
        self.pool.start(connector);
    }
}

/// An engine.io error: `400 {"code":N,"message":…}`.
fn error(code: u8, message: &str) -> Response {
    let mut response = Response::new(Body::from(format!(r#"{{"code":{code},"message":"{message}"}}"#)));
    *response.status_mut() = StatusCode::BAD_REQUEST;
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}
