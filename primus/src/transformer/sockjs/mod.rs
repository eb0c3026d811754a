//! The `sockjs` transformer: the SockJS protocol as sockjs-node 0.3 serves
//! it to the Primus 8 sockjs client (sockjs-client 1.6).
//!
//! Under the pathname (`/primus` by default):
//!
//! | request | answer |
//! |---|---|
//! | `GET /primus` | `Welcome to SockJS!` |
//! | `GET /primus/info` | `{"websocket":true,"origins":["*:*"],"cookie_needed":false,"entropy":…}` |
//! | `GET /primus/<server>/<session>/websocket` | SockJS frames over a WebSocket |
//! | `POST …/xhr` | one frame per response (long polling) |
//! | `POST …/xhr_streaming` | a prelude of 2,048 `h`, then frames, until `response_limit` bytes |
//! | `GET …/eventsource` | frames as server-sent events, until `response_limit` bytes |
//! | `POST …/xhr_send` | the client's messages, a JSON array of strings: `204` |
//!
//! The `iframe`, `htmlfile` and `jsonp` transports (for browsers without
//! XHR streaming or CORS) are not served.
//!
//! Requests of the HTTP transports belong to a session (`<session>` in the
//! path); see `session` for its life. A second receiver while one is
//! attached gets `c[2010,"Another connection still open"]`; `xhr_send` to
//! an unknown session gets 404, an empty body 500 `Payload expected.`, a
//! body that is not a JSON array of strings 500 `Broken JSON encoding.`, a
//! body over the limit 413.
//!
//! SockJS carries text only: with a binary parser (bincode) messages are
//! dropped with an `error`.

pub(crate) mod framing;
mod websocket;

use super::body;
use super::reply::{plain, ready};
use super::session::{self, Session, SessionSettings, Take};
use super::session_pool::{OpenRefused, SessionPool};
use super::Transformer;
use crate::pipeline::Connector;
use crate::spark::Address;
use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use futures_util::future::BoxFuture;
use http::header::{self, HeaderMap, HeaderValue};
use http::request::Parts;
use http::{Method, Request, StatusCode};
use std::sync::Arc;
use std::time::Duration;

/// The `sockjs` transformer, with sockjs-node's defaults.
///
/// ```
/// use primus::transformer::{SockJs, Transformer};
/// use std::time::Duration;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), primus::BuildError> {
/// let sockjs = SockJs::default().disconnect_delay(Duration::from_secs(10));
/// assert_eq!(sockjs.name(), "sockjs");
/// let server = primus::Server::builder().transformer(sockjs).build()?;
/// assert_eq!(server.transformer_name(), "sockjs");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct SockJs {
    heartbeat_delay: Duration,
    disconnect_delay: Duration,
    response_limit: usize,
    websocket: bool,
    pool: SessionPool,
}

impl Default for SockJs {
    fn default() -> SockJs {
        SockJs {
            heartbeat_delay: Duration::from_secs(25),
            disconnect_delay: Duration::from_secs(5),
            response_limit: 128 * 1024,
            websocket: true,
            pool: SessionPool::new(framing::quote),
        }
    }
}

impl std::fmt::Debug for SockJs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SockJs")
            .field("heartbeat_delay", &self.heartbeat_delay)
            .field("disconnect_delay", &self.disconnect_delay)
            .field("response_limit", &self.response_limit)
            .field("websocket", &self.websocket)
            .field("max_sessions", &self.pool.max_sessions)
            .field("max_sessions_per_address", &self.pool.max_sessions_per_address)
            .field("sessions", &self.pool.len())
            .finish()
    }
}

impl SockJs {
    /// How long a connection may be silent before the server sends a
    /// heartbeat frame `h` (default 25 s, as sockjs-node). This is SockJS'
    /// own keep-alive for proxies, beside Primus' `primus::ping`.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let sockjs = primus::transformer::SockJs::default().heartbeat_delay(Duration::from_secs(10));
    /// ```
    pub fn heartbeat_delay(mut self, delay: Duration) -> SockJs {
        self.heartbeat_delay = delay.max(Duration::from_millis(10));
        self
    }

    /// How long a polling session lives without a request of its client
    /// (default 5 s, as sockjs-node); a closing session is kept as long
    /// after its last request, so the client still gets the close frame.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let sockjs = primus::transformer::SockJs::default().disconnect_delay(Duration::from_secs(10));
    /// ```
    pub fn disconnect_delay(mut self, delay: Duration) -> SockJs {
        self.disconnect_delay = delay.max(Duration::from_millis(10));
        self
    }

    /// Bytes a streaming response (`xhr_streaming`, `eventsource`) carries
    /// before the server ends it and the client opens the next one
    /// (default 128 KiB, as sockjs-node).
    ///
    /// ```
    /// let sockjs = primus::transformer::SockJs::default().response_limit(64 * 1024);
    /// ```
    pub fn response_limit(mut self, bytes: usize) -> SockJs {
        self.response_limit = bytes.max(1);
        self
    }

    /// Whether the `websocket` transport is offered (default true); `/info`
    /// tells clients.
    ///
    /// ```
    /// let sockjs = primus::transformer::SockJs::default().websocket(false);
    /// ```
    pub fn websocket(mut self, enabled: bool) -> SockJs {
        self.websocket = enabled;
        self
    }

    /// Most polling sessions at once (default 65,536); a client that would
    /// open one more gets `503 Too many sessions`.
    ///
    /// ```
    /// let sockjs = primus::transformer::SockJs::default().max_sessions(10_000);
    /// ```
    pub fn max_sessions(mut self, sessions: usize) -> SockJs {
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
    /// let sockjs = primus::transformer::SockJs::default().max_sessions_per_address(10_000);
    /// ```
    pub fn max_sessions_per_address(mut self, sessions: usize) -> SockJs {
        self.pool.max_sessions_per_address = sessions.max(1);
        self
    }

    /// How many polling sessions exist now (open, or closing and not yet
    /// collected).
    ///
    /// ```
    /// assert_eq!(primus::transformer::SockJs::default().session_count(), 0);
    /// ```
    pub fn session_count(&self) -> usize {
        self.pool.len()
    }

    /// How many messages were wrapped into this transport's packets: a
    /// message sent to many sessions (a broadcast) counts once.
    ///
    /// ```
    /// assert_eq!(primus::transformer::SockJs::default().packets_encoded(), 0);
    /// ```
    pub fn packets_encoded(&self) -> u64 {
        self.pool.packets().encoded()
    }

    /// The route of a request under the pathname, if it is a SockJS one.
    fn route<'a>(&self, path: &'a str) -> Option<Route<'a>> {
        let rest = path.strip_prefix(self.pool.pathname())?;
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.is_empty() {
            return Some(Route::Welcome);
        }
        let rest = rest.strip_prefix('/')?;
        if rest == "info" {
            return Some(Route::Info);
        }
        let mut segments = rest.split('/');
        let (Some(server), Some(session), Some(transport), None) =
            (segments.next(), segments.next(), segments.next(), segments.next())
        else {
            return None;
        };
        let valid = |s: &str| !s.is_empty() && !s.contains('.');
        if !valid(server) || !valid(session) {
            return None;
        }
        let transport = match transport {
            "websocket" => Transport::WebSocket,
            "xhr" => Transport::Xhr,
            "xhr_streaming" => Transport::XhrStreaming,
            "eventsource" => Transport::EventSource,
            "xhr_send" => Transport::XhrSend,
            _ => return None,
        };
        Some(Route::Session { session, transport })
    }
}

enum Route<'a> {
    Welcome,
    Info,
    Session { session: &'a str, transport: Transport },
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Transport {
    WebSocket,
    Xhr,
    XhrStreaming,
    EventSource,
    XhrSend,
}

/// Longest session id accepted (sockjs-client makes 8 characters).
const MAX_SESSION_ID: usize = 128;

/// How long `xhr_send` waits for a session whose handlers are behind.
const SEND_WAIT: Duration = Duration::from_secs(10);

impl Transformer for SockJs {
    fn name(&self) -> &'static str {
        "sockjs"
    }

    /// The greeting, `/info` and the session URLs of the served transports.
    fn claims(&self, request: &Parts) -> bool {
        self.route(request.uri.path()).is_some()
    }

    fn accept(
        &self,
        request: Request<Body>,
        address: Address,
        connector: &Connector,
    ) -> BoxFuture<'static, Response> {
        let path = request.uri().path().to_owned();
        let method = request.method().clone();
        let Some(route) = self.route(&path) else {
            return ready(plain(StatusCode::NOT_FOUND, "Not Found"));
        };
        match route {
            Route::Welcome if method == Method::GET => ready(plain(StatusCode::OK, "Welcome to SockJS!\n")),
            Route::Welcome => ready(not_allowed("GET")),
            Route::Info => ready(self.info(&method, request.headers())),
            Route::Session { session, .. } if session.len() > MAX_SESSION_ID => {
                ready(plain(StatusCode::BAD_REQUEST, "Invalid session id"))
            }
            Route::Session { session, transport } => {
                let session = session.to_owned();
                match (transport, &method) {
                    (Transport::WebSocket, &Method::GET) if self.websocket => {
                        if !super::websocket::is_upgrade(request.headers()) {
                            return ready(plain(
                                StatusCode::BAD_REQUEST,
                                "Can \"Upgrade\" only to \"WebSocket\".",
                            ));
                        }
                        ready(websocket::accept(self, request, address, connector))
                    }
                    (Transport::WebSocket, _) if !self.websocket => {
                        ready(plain(StatusCode::NOT_FOUND, "Not Found"))
                    }
                    (Transport::WebSocket, _) => ready(not_allowed("GET")),
                    (Transport::Xhr | Transport::XhrStreaming | Transport::XhrSend, &Method::OPTIONS) => {
                        ready(preflight(request.headers(), "OPTIONS, POST"))
                    }
                    (Transport::EventSource, &Method::GET)
                    | (Transport::Xhr | Transport::XhrStreaming, &Method::POST) => {
                        ready(self.receive(&session, transport, request, address, connector))
                    }
                    (Transport::XhrSend, &Method::POST) => {
                        let sockjs = self.clone();
                        let connector = connector.clone();
                        Box::pin(async move { sockjs.xhr_send(&session, request, &connector).await })
                    }
                    (Transport::EventSource, _) => ready(not_allowed("GET")),
                    _ => ready(not_allowed("OPTIONS, POST")),
                }
            }
        }
    }

    fn start(&self, connector: &Connector) {
        self.pool.start(connector);
    }
}

impl SockJs {
    fn info(&self, method: &Method, headers: &HeaderMap) -> Response {
        match *method {
            Method::OPTIONS => preflight(headers, "OPTIONS, GET"),
            Method::GET => {
                let body = format!(
                    r#"{{"websocket":{},"origins":["*:*"],"cookie_needed":false,"entropy":{}}}"#,
                    self.websocket,
                    rand::random::<u32>()
                );
                let mut response = Response::new(Body::from(body));
                let out = response.headers_mut();
                out.insert(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json; charset=UTF-8"),
                );
                no_store(out);
                cors(headers, out);
                response
            }
            _ => not_allowed("OPTIONS, GET"),
        }
    }

    /// A receiver: the session's next frame (`xhr`), or a stream of them.
    /// The first request of an unknown session opens it.
    fn receive(
        &self,
        id: &str,
        transport: Transport,
        request: Request<Body>,
        address: Address,
        connector: &Connector,
    ) -> Response {
        let (parts, _body) = request.into_parts();
        let session = match self.pool.get(id) {
            Some(session) => session,
            None => match self.open(id, &parts, address, connector) {
                Ok(session) => session,
                Err(refused) => return *refused,
            },
        };
        let attached = match session.attach() {
            Ok(attached) => attached,
            Err(_) => {
                let frame = framing::close(2010, "Another connection still open");
                return self.respond(&parts.headers, transport, Body::from(line(&frame, transport)));
            }
        };
        let body = match transport {
            Transport::Xhr => {
                let heartbeat = self.heartbeat_delay;
                Body::from_stream(futures_util::stream::once(async move {
                    let (frame, _) = next_frame(&attached, heartbeat).await;
                    Ok::<_, std::convert::Infallible>(line(&frame, Transport::Xhr))
                }))
            }
            _ => streaming(attached, transport, self.heartbeat_delay, self.response_limit),
        };
        self.respond(&parts.headers, transport, body)
    }

    /// Opens a session for its first request.
    fn open(
        &self,
        id: &str,
        parts: &Parts,
        address: Address,
        connector: &Connector,
    ) -> Result<Arc<Session>, Box<Response>> {
        let settings = SessionSettings {
            disconnect_delay: self.disconnect_delay,
            outgoing_budget: self.pool.outgoing_budget,
            opening: Some(Bytes::from_static(framing::OPEN.as_bytes())),
            keepalive: None,
            packets: self.pool.packets().clone(),
            close: framing::close(1000, "Normal closure"),
            on_end: None,
        };
        let refused = |status, text| Err(Box::new(plain(status, text)));
        match self.pool.open(Some(id), parts, address, connector, settings) {
            Ok((_, session)) => Ok(session),
            Err(OpenRefused::Full) => refused(StatusCode::SERVICE_UNAVAILABLE, "Too many sessions"),
            Err(OpenRefused::AddressFull) => refused(
                StatusCode::TOO_MANY_REQUESTS,
                "Too many sessions from this address",
            ),
            Err(OpenRefused::Closing) => refused(StatusCode::SERVICE_UNAVAILABLE, "Server closing"),
            // Made by a concurrent request meanwhile.
            Err(OpenRefused::Taken) => match self.pool.get(id) {
                Some(session) => Ok(session),
                None => refused(StatusCode::NOT_FOUND, "Session not found"),
            },
        }
    }

    /// The response of a receiver, with SockJS' headers.
    fn respond(&self, request: &HeaderMap, transport: Transport, body: Body) -> Response {
        let mut response = Response::new(body);
        let out = response.headers_mut();
        let content_type = match transport {
            Transport::EventSource => "text/event-stream; charset=UTF-8",
            _ => "application/javascript; charset=UTF-8",
        };
        out.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
        no_store(out);
        cors(request, out);
        response
    }

    /// `xhr_send`: the client's messages to its session.
    async fn xhr_send(&self, id: &str, request: Request<Body>, connector: &Connector) -> Response {
        let (parts, body) = request.into_parts();
        let Some(session) = self.pool.get(id) else {
            return plain(StatusCode::NOT_FOUND, "Session not found");
        };
        if session.is_closing() {
            return plain(StatusCode::NOT_FOUND, "Session closed");
        }
        let max_length = connector.max_length();
        // Held (counted with the server's other partly received messages)
        // until the session has taken every message.
        let read = body::read(
            body,
            framing::payload_limit(max_length),
            connector.inbound_budget(),
        )
        .await;
        let (body, held) = match read {
            Ok(read) => read,
            Err(error) => return error.plain_response(),
        };
        let frames = framing::messages(&body, false, max_length);
        drop(body);
        match frames {
            Err(framing::FramingError::TooLarge { .. }) => {
                plain(StatusCode::PAYLOAD_TOO_LARGE, "Payload Too Large")
            }
            Ok(frames) if frames.len() > framing::MAX_MESSAGES => {
                plain(StatusCode::PAYLOAD_TOO_LARGE, "Payload Too Large")
            }
            Err(error) => plain(StatusCode::INTERNAL_SERVER_ERROR, error.to_string()),
            Ok(frames) => match tokio::time::timeout(SEND_WAIT, session.send(frames, held)).await {
                Ok(true) => {
                    let mut response = Response::new(Body::empty());
                    *response.status_mut() = StatusCode::NO_CONTENT;
                    let out = response.headers_mut();
                    out.insert(
                        header::CONTENT_TYPE,
                        HeaderValue::from_static("text/plain; charset=UTF-8"),
                    );
                    no_store(out);
                    cors(&parts.headers, out);
                    response
                }
                Ok(false) => plain(StatusCode::NOT_FOUND, "Session closed"),
                Err(_) => plain(StatusCode::SERVICE_UNAVAILABLE, "Server busy"),
            },
        }
    }
}

/// The next frame for an attached receiver: waits for one, or returns a
/// heartbeat after `heartbeat`. True with the close frame (the last one).
async fn next_frame(attached: &session::Attached, heartbeat: Duration) -> (Bytes, bool) {
    loop {
        match attached.take() {
            Take::Open(frame) => return (frame, false),
            Take::Messages(messages) => return (framing::array(&messages, b""), false),
            Take::Close(frame) => return (frame, true),
            // SockJS sessions are never upgraded: nobody asks to give way.
            Take::Kicked | Take::Nothing => {
                if !attached.wait(heartbeat).await {
                    return (Bytes::from_static(framing::HEARTBEAT.as_bytes()), false);
                }
            }
        }
    }
}

/// A frame as the transport writes it: `\n` after it on the XHR transports,
/// `data: …\r\n\r\n` around it on `eventsource`.
fn line(frame: &[u8], transport: Transport) -> Bytes {
    let mut out = Vec::with_capacity(frame.len() + 10);
    if transport == Transport::EventSource {
        out.extend_from_slice(b"data: ");
        out.extend_from_slice(frame);
        out.extend_from_slice(b"\r\n\r\n");
    } else {
        out.extend_from_slice(frame);
        out.push(b'\n');
    }
    Bytes::from(out)
}

/// The body of a streaming receiver: its prelude, then frames until
/// `limit` bytes went out or the session closed.
fn streaming(attached: session::Attached, transport: Transport, heartbeat: Duration, limit: usize) -> Body {
    let prelude = match transport {
        // Enough to get past buffering in browsers and proxies.
        Transport::XhrStreaming => {
            let mut prelude = vec![b'h'; 2048];
            prelude.push(b'\n');
            Bytes::from(prelude)
        }
        _ => Bytes::from_static(b"\r\n"),
    };
    struct State {
        attached: Option<session::Attached>,
        sent: usize,
        prelude: Option<Bytes>,
    }
    let state = State {
        attached: Some(attached),
        sent: 0,
        prelude: Some(prelude),
    };
    let stream = futures_util::stream::unfold(state, move |mut state| async move {
        if let Some(prelude) = state.prelude.take() {
            return Some((Ok::<_, std::convert::Infallible>(prelude), state));
        }
        let attached = state.attached.as_ref()?;
        let (frame, last) = next_frame(attached, heartbeat).await;
        let chunk = line(&frame, transport);
        state.sent += chunk.len();
        if last || state.sent >= limit {
            // Detached now; the response ends after this chunk.
            state.attached = None;
        }
        Some((Ok(chunk), state))
    });
    Body::from_stream(stream)
}

/// `Cache-Control` as sockjs-node sends it on every session response.
fn no_store(out: &mut HeaderMap) {
    out.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-store, no-cache, no-transform, must-revalidate, max-age=0"),
    );
}

/// CORS as sockjs-node answers it, for requests the server's `origin`
/// check let through: the request's origin with credentials, or `*`.
fn cors(request: &HeaderMap, out: &mut HeaderMap) {
    match request
        .get(header::ORIGIN)
        .filter(|origin| origin.as_bytes() != b"null")
    {
        Some(origin) => {
            out.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin.clone());
            out.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
        None => {
            out.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
        }
    }
    out.insert(header::VARY, HeaderValue::from_static("Origin"));
}

/// The answer to a CORS preflight of a SockJS URL.
fn preflight(request: &HeaderMap, methods: &'static str) -> Response {
    let mut response = Response::new(Body::empty());
    *response.status_mut() = StatusCode::NO_CONTENT;
    let out = response.headers_mut();
    out.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static(methods),
    );
    out.insert(
        header::ACCESS_CONTROL_MAX_AGE,
        HeaderValue::from_static("31536000"),
    );
    out.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000"),
    );
    if let Some(asked) = request.get(header::ACCESS_CONTROL_REQUEST_HEADERS) {
        out.insert(header::ACCESS_CONTROL_ALLOW_HEADERS, asked.clone());
    }
    cors(request, out);
    response
}

fn not_allowed(allow: &'static str) -> Response {
    let mut response = plain(StatusCode::METHOD_NOT_ALLOWED, "Method Not Allowed");
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    response
}
