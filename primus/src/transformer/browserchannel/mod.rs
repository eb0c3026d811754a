//! The `browserchannel` transformer: Google's BrowserChannel long-polling
//! protocol (version 8) as npm `browserchannel` 2.1 serves it to the
//! Primus 8 client made for `browserchannel` (its `BCSocket`).
//!
//! Under the pathname (`/primus` by default):
//!
//! | request | answer |
//! |---|---|
//! | `GET /primus/test?VER=8&MODE=init` | `[null,null]` (no host prefixes) |
//! | `GET /primus/test?VER=8&TYPE=xmlhttp` | `11111`, then `2` two seconds later (the client's test for buffering proxies) |
//! | `POST /primus/bind?VER=8&RID=n` | opens a session (its id is the spark's); the answer carries array 0, `["c",sid,null,8]`, and what was queued |
//! | `POST /primus/bind?VER=8&SID=s&RID=n&AID=a` | the client's maps (forward channel); `[backChannel,lastSentArray,outstandingBytes]` |
//! | `GET /primus/bind?VER=8&SID=s&RID=rpc&AID=a&TYPE=xmlhttp&CI=0` | the back channel: arrays not yet acknowledged, then new ones as they come; with `CI=0` chunked until 10 KiB went out, with `CI=1` one chunk |
//! | `GET /primus/bind?…&TYPE=terminate` | the client leaves: the session ends |
//!
//! Arrays are numbered and kept until the client acknowledges them (`AID`),
//! so a back channel that broke loses nothing: the next one sends them
//! again. Maps are numbered too (`ofs`): a forward request sent twice
//! delivers its messages once. Every back channel carries a `["noop"]` array
//! after 20 s of silence; a session without a back channel for 30 s ends.
//! A session the server ends gets `["stop"]`.
//!
//! Not served: `TYPE=html` (the IE-only back channel), host prefixes,
//! cross-domain requests. BrowserChannel carries text only: with a binary
//! parser, messages are dropped with an `error`.

pub(crate) mod framing;

use super::body::{self, Held};
use super::reply::{plain, ready};
use super::session::{Attached, OnEnd, Session, SessionSettings, Take};
use super::session_pool::{OpenRefused, SessionPool};
use super::Transformer;
use crate::pipeline::Connector;
use crate::spark::Address;
use crate::wire::Frame;
use axum::body::Body;
use axum::response::Response;
use bytes::Bytes;
use futures_util::future::BoxFuture;
use http::header::{self, HeaderMap, HeaderValue};
use http::request::Parts;
use http::{Method, Request, StatusCode};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The `browserchannel` transformer, with npm browserchannel's defaults.
///
/// ```
/// use primus::transformer::{BrowserChannel, Transformer};
/// use std::time::Duration;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), primus::BuildError> {
/// let channel = BrowserChannel::default().session_timeout(Duration::from_secs(60));
/// assert_eq!(channel.name(), "browserchannel");
/// let server = primus::Server::builder().transformer(channel).build()?;
/// assert_eq!(server.transformer_name(), "browserchannel");
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct BrowserChannel {
    keep_alive: Duration,
    session_timeout: Duration,
    pool: SessionPool,
    /// What BrowserChannel keeps per session beside the session itself:
    /// numbered arrays until acknowledged, the next map expected. Removed
    /// when the session is forgotten.
    channels: Arc<Mutex<HashMap<String, Arc<ChannelEntry>>>>,
}

/// One session's numbering, and the lock that makes its forward requests
/// take turns (a request's maps are counted as taken only once the
/// session has them).
struct ChannelEntry {
    state: Mutex<Channel>,
    forward: tokio::sync::Mutex<()>,
}

impl Default for BrowserChannel {
    fn default() -> BrowserChannel {
        BrowserChannel {
            keep_alive: Duration::from_secs(20),
            session_timeout: Duration::from_secs(30),
            pool: SessionPool::new(framing::quote),
            channels: Arc::default(),
        }
    }
}

impl std::fmt::Debug for BrowserChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BrowserChannel")
            .field("keep_alive", &self.keep_alive)
            .field("session_timeout", &self.session_timeout)
            .field("max_sessions", &self.pool.max_sessions)
            .field("max_sessions_per_address", &self.pool.max_sessions_per_address)
            .field("sessions", &self.pool.len())
            .finish()
    }
}

/// One session's numbering.
#[derive(Default)]
struct Channel {
    /// Arrays written to a back channel and not yet acknowledged, and the
    /// arrays made but not written yet (after `sent`).
    arrays: VecDeque<(u64, Bytes)>,
    /// Bytes of `arrays`, against the session's outgoing budget.
    bytes: usize,
    /// The next array's id.
    next_array: u64,
    /// Arrays up to this one were written (`None`: none yet).
    last_sent: Option<u64>,
    /// The next map the client sends.
    next_map: u64,
    /// Maps that came ahead of one still missing.
    early: BTreeMap<u64, Option<Frame>>,
    /// `["stop"]` was made.
    stopped: bool,
}

impl Channel {
    fn push(&mut self, data: Bytes) {
        self.bytes += data.len();
        self.arrays.push_back((self.next_array, data));
        self.next_array += 1;
    }

    /// Forgets the arrays the client has (up to `id`).
    fn acknowledge(&mut self, id: u64) {
        while let Some((front, data)) = self.arrays.front() {
            if *front > id {
                break;
            }
            self.bytes -= data.len();
            self.arrays.pop_front();
        }
    }

    /// A new back channel: what it must send again starts after what the
    /// client acknowledged.
    fn rewind(&mut self) {
        self.last_sent = self.arrays.front().and_then(|(id, _)| id.checked_sub(1));
        if self.arrays.is_empty() {
            self.last_sent = self.next_array.checked_sub(1);
        }
    }

    /// The arrays not written yet, as one chunk's text; marks them written.
    fn unsent(&mut self) -> Option<Vec<u8>> {
        let from = self.last_sent.map_or(0, |id| id + 1);
        let pending: Vec<(u64, &[u8])> = self
            .arrays
            .iter()
            .filter(|(id, _)| *id >= from)
            .map(|(id, data)| (*id, &data[..]))
            .collect();
        let (last, _) = *pending.last()?;
        let text = framing::arrays(pending);
        self.last_sent = Some(last);
        Some(text)
    }

    /// `[backChannel, lastSentArray, outstandingBytes]` for a forward request.
    fn status(&self, back_channel: bool) -> Vec<u8> {
        let sent = self.last_sent.map_or(-1, |id| id as i64);
        let outstanding = framing::outstanding(
            self.arrays
                .iter()
                .filter(|(id, _)| self.last_sent.is_some_and(|last| *id <= last))
                .map(|(_, data)| &data[..]),
        );
        format!("[{},{sent},{outstanding}]", u8::from(back_channel)).into_bytes()
    }

    /// Takes the client's maps in order: messages of maps already taken
    /// are dropped (a request sent again), maps ahead of a missing one wait
    /// (at most [`MAX_MAPS`](framing::MAX_MAPS) ahead, and `max_bytes` of
    /// them). Nothing changes when the request is refused.
    fn order(&mut self, maps: framing::Maps, max_bytes: usize) -> Result<Vec<Frame>, ForwardRefused> {
        let limit = self.next_map.saturating_add(framing::MAX_MAPS as u64);
        let mut early_bytes: usize = self.early.values().flatten().map(Frame::len).sum();
        let mut fresh = Vec::new();
        for (index, message) in maps.messages.into_iter().enumerate() {
            let id = maps
                .offset
                .checked_add(index as u64)
                .ok_or(ForwardRefused::TooFarAhead)?;
            if id < self.next_map || self.early.contains_key(&id) {
                continue;
            }
            if id >= limit {
                return Err(ForwardRefused::TooFarAhead);
            }
            if id != self.next_map + fresh.len() as u64 {
                early_bytes += message.as_ref().map_or(0, Frame::len);
            }
            fresh.push((id, message));
        }
        if early_bytes > max_bytes {
            return Err(ForwardRefused::TooFarAhead);
        }
        self.early.extend(fresh);
        let mut ready = Vec::new();
        while let Some(message) = self.early.remove(&self.next_map) {
            self.next_map += 1;
            ready.extend(message);
        }
        Ok(ready)
    }
}

#[derive(Debug)]
enum ForwardRefused {
    TooFarAhead,
}

/// How long a back channel waits for the one it replaces to go.
const REPLACE_WAIT: Duration = Duration::from_secs(1);
/// A chunked back channel ends after this many bytes (the client opens
/// the next), as npm browserchannel does.
const BACK_CHANNEL_LIMIT: usize = 10 * 1024;
/// The test channel's pause between `11111` and `2`.
const TEST_PAUSE: Duration = Duration::from_secs(2);
/// How long a forward request waits for a session whose handlers are behind.
const SEND_WAIT: Duration = Duration::from_secs(10);
/// Longest session id accepted.
const MAX_SESSION_ID: usize = 128;

impl BrowserChannel {
    /// How long a back channel may be silent before the server sends a
    /// `["noop"]` array (default 20 s, as npm browserchannel), beside
    /// Primus' own `primus::ping`.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let channel = primus::transformer::BrowserChannel::default().keep_alive(Duration::from_secs(10));
    /// ```
    pub fn keep_alive(mut self, interval: Duration) -> BrowserChannel {
        self.keep_alive = interval.max(Duration::from_millis(10));
        self
    }

    /// How long a session lives without a back channel (default 30 s, as
    /// npm browserchannel); a session the server closed is kept as long
    /// after its last back channel, so the client still gets `["stop"]`.
    ///
    /// ```
    /// # use std::time::Duration;
    /// let channel = primus::transformer::BrowserChannel::default().session_timeout(Duration::from_secs(60));
    /// ```
    pub fn session_timeout(mut self, timeout: Duration) -> BrowserChannel {
        self.session_timeout = timeout.max(Duration::from_millis(10));
        self
    }

    /// Most sessions at once (default 65,536); one more gets
    /// `503 Too many sessions`.
    ///
    /// ```
    /// let channel = primus::transformer::BrowserChannel::default().max_sessions(10_000);
    /// ```
    pub fn max_sessions(mut self, sessions: usize) -> BrowserChannel {
        self.pool.max_sessions = sessions.max(1);
        self
    }

    /// Most sessions at once from one client address (default 1,024); one
    /// more gets `429 Too many sessions from this address`.
    ///
    /// ```
    /// let channel = primus::transformer::BrowserChannel::default().max_sessions_per_address(64);
    /// ```
    pub fn max_sessions_per_address(mut self, sessions: usize) -> BrowserChannel {
        self.pool.max_sessions_per_address = sessions.max(1);
        self
    }

    /// How many messages were wrapped into this transport's packets (a
    /// JSON string each): a message sent to many sessions counts once.
    ///
    /// ```
    /// assert_eq!(primus::transformer::BrowserChannel::default().packets_encoded(), 0);
    /// ```
    pub fn packets_encoded(&self) -> u64 {
        self.pool.packets().encoded()
    }

    /// How many sessions exist now (open, or closing and not yet collected).
    ///
    /// ```
    /// assert_eq!(primus::transformer::BrowserChannel::default().session_count(), 0);
    /// ```
    pub fn session_count(&self) -> usize {
        self.pool.len()
    }

    fn route(&self, path: &str) -> Option<Route> {
        let rest = path.strip_prefix(self.pool.pathname())?;
        match rest {
            "/test" => Some(Route::Test),
            "/bind" => Some(Route::Bind),
            _ => None,
        }
    }

    /// The numbering of session `id` (made with the session).
    fn channel(&self, id: &str) -> Option<Arc<ChannelEntry>> {
        crate::lock::lock(&self.channels).get(id).cloned()
    }
}

/// A session a request names, and its numbering.
type Known = (Arc<Session>, Arc<ChannelEntry>);

#[derive(Clone, Copy)]
enum Route {
    Test,
    Bind,
}

impl Transformer for BrowserChannel {
    fn name(&self) -> &'static str {
        "browserchannel"
    }

    /// `test` and `bind` under the pathname.
    fn claims(&self, request: &Parts) -> bool {
        self.route(request.uri.path()).is_some()
    }

    fn accept(
        &self,
        request: Request<Body>,
        address: Address,
        connector: &Connector,
    ) -> BoxFuture<'static, Response> {
        let Some(route) = self.route(request.uri().path()) else {
            return ready(plain(StatusCode::NOT_FOUND, "Not found"));
        };
        let query = Query::parse(request.uri().query());
        if query.get("VER") != Some("8") {
            return ready(plain(StatusCode::BAD_REQUEST, "Version 8 required"));
        }
        if query.get("SID").is_some_and(|sid| sid.len() > MAX_SESSION_ID) {
            return ready(plain(StatusCode::BAD_REQUEST, "Unknown SID"));
        }
        match (route, request.method()) {
            (Route::Test, &Method::GET) if query.get("MODE") == Some("init") => {
                let mut response = respond(Body::from("[null,null]"));
                response.headers_mut().insert(
                    "x-accept",
                    HeaderValue::from_static("application/json; application/x-www-form-urlencoded"),
                );
                ready(response)
            }
            (Route::Test, &Method::GET) => ready(respond(test_body())),
            (Route::Bind, &Method::POST) => {
                let channel = self.clone();
                let connector = connector.clone();
                Box::pin(async move { channel.forward(query, request, address, &connector).await })
            }
            (Route::Bind, &Method::GET) => match query.get("TYPE") {
                Some("xmlhttp") => {
                    let channel = self.clone();
                    Box::pin(async move { channel.back(&query).await })
                }
                Some("terminate") => {
                    let channel = self.clone();
                    Box::pin(async move { channel.terminate(&query).await })
                }
                _ => ready(plain(StatusCode::BAD_REQUEST, "Unsupported back channel type")),
            },
            (Route::Test, _) => ready(not_allowed("GET")),
            (Route::Bind, _) => ready(not_allowed("GET, POST")),
        }
    }

    fn start(&self, connector: &Connector) {
        self.pool.start(connector);
    }
}

impl BrowserChannel {
    /// The session of a request that names one (`SID`), with its
    /// numbering, acknowledging `AID`.
    fn known(&self, query: &Query) -> Result<Known, Box<Response>> {
        let unknown = || Box::new(plain(StatusCode::BAD_REQUEST, "Unknown SID"));
        let id = query.get("SID").ok_or_else(unknown)?;
        let session = self.pool.get(id).ok_or_else(unknown)?;
        let channel = self.channel(id).ok_or_else(unknown)?;
        if let Some(aid) = query.get("AID").and_then(|aid| aid.parse::<u64>().ok()) {
            crate::lock::lock(&channel.state).acknowledge(aid);
        }
        Ok((session, channel))
    }

    /// A forward request: opens a session (without `SID`), or hands the
    /// client's maps to its session.
    async fn forward(
        self,
        query: Query,
        request: Request<Body>,
        address: Address,
        connector: &Connector,
    ) -> Response {
        let (parts, body) = request.into_parts();
        let json = parts
            .headers
            .get(header::CONTENT_TYPE)
            .is_some_and(|value| value.as_bytes().starts_with(b"application/json"));
        let max_length = connector.max_length();
        // Percent-encoding can triple a message, and keys come with it.
        let limit = max_length.saturating_mul(3).saturating_add(64 * 1024);
        let read = body::read(body, limit, connector.inbound_budget()).await;
        let (body, held) = match read {
            Ok(read) => read,
            Err(error) => return error.plain_response(),
        };
        let maps = match framing::maps(&body, json, max_length) {
            Ok(maps) => maps,
            Err(error @ framing::ForwardError::TooLarge) => {
                return plain(StatusCode::PAYLOAD_TOO_LARGE, error.to_string())
            }
            Err(error) => return plain(StatusCode::BAD_REQUEST, error.to_string()),
        };
        drop(body);
        if query.get("SID").is_none() {
            return self.open(&parts, address, connector, maps, held).await;
        }
        let (session, channel) = match self.known(&query) {
            Ok(known) => known,
            Err(refused) => return *refused,
        };
        if let Err(refused) = deliver(&session, &channel, maps, held, max_length).await {
            return *refused;
        }
        let status = crate::lock::lock(&channel.state).status(session.has_receiver());
        respond(Body::from(framing::chunk(&status)))
    }

    /// The first forward request: a new session, whose answer is its first
    /// back channel (one chunk: array 0 and what is queued).
    async fn open(
        &self,
        parts: &Parts,
        address: Address,
        connector: &Connector,
        maps: framing::Maps,
        held: Held,
    ) -> Response {
        let settings = SessionSettings {
            disconnect_delay: self.session_timeout,
            outgoing_budget: self.pool.outgoing_budget,
            opening: None,
            keepalive: None,
            packets: self.pool.packets().clone(),
            close: Bytes::from_static(framing::STOP),
            on_end: Some(OnEnd(Arc::new({
                let channels = Arc::downgrade(&self.channels);
                move |id: &str| {
                    if let Some(channels) = channels.upgrade() {
                        crate::lock::lock(&channels).remove(id);
                    }
                }
            }))),
        };
        let (id, session) = match self.pool.open(None, parts, address, connector, settings) {
            Ok(opened) => opened,
            Err(OpenRefused::Full) => return plain(StatusCode::SERVICE_UNAVAILABLE, "Too many sessions"),
            Err(OpenRefused::AddressFull) => {
                return plain(
                    StatusCode::TOO_MANY_REQUESTS,
                    "Too many sessions from this address",
                )
            }
            Err(OpenRefused::Closing | OpenRefused::Taken) => {
                return plain(StatusCode::SERVICE_UNAVAILABLE, "Server closing")
            }
        };
        let mut fresh = Channel::default();
        fresh.push(framing::created(&id));
        let channel = Arc::new(ChannelEntry {
            state: Mutex::new(fresh),
            forward: tokio::sync::Mutex::new(()),
        });
        crate::lock::lock(&self.channels).insert(id.clone(), channel.clone());
        if self.pool.get(&id).is_none() {
            // Forgotten before its numbering was kept (the server closing).
            crate::lock::lock(&self.channels).remove(&id);
        }
        if let Err(refused) = deliver(&session, &channel, maps, held, connector.max_length()).await {
            return *refused;
        }
        let Ok(attached) = attach(&session).await else {
            return plain(StatusCode::SERVICE_UNAVAILABLE, "Server busy");
        };
        // What the connection handlers wrote meanwhile goes with array 0.
        tokio::task::yield_now().await;
        collect(&attached, &channel.state, self.pool.outgoing_budget);
        let text = crate::lock::lock(&channel.state).unsent().unwrap_or_default();
        drop(attached);
        respond(Body::from(framing::chunk(&text)))
    }

    /// A back channel: what the client has not acknowledged, then arrays
    /// as they come (chunked with `CI=0`, one chunk with `CI=1`).
    async fn back(self, query: &Query) -> Response {
        if query.get("RID") != Some("rpc") {
            return plain(StatusCode::BAD_REQUEST, "Expected RPC");
        }
        let (session, channel) = match self.known(query) {
            Ok(known) => known,
            Err(refused) => return *refused,
        };
        let Ok(attached) = attach(&session).await else {
            return plain(StatusCode::CONFLICT, "Another back channel is open");
        };
        crate::lock::lock(&channel.state).rewind();
        let chunked = query.get("CI") == Some("0");
        respond(back_channel(
            attached,
            channel,
            chunked,
            self.keep_alive,
            self.pool.outgoing_budget,
        ))
    }

    /// `TYPE=terminate`: the client leaves, once the forward requests it
    /// sent before have been taken (npm browserchannel orders them by
    /// `RID`; here they take turns).
    async fn terminate(&self, query: &Query) -> Response {
        if let Some(id) = query.get("SID") {
            if let Some(entry) = self.channel(id) {
                let _ = tokio::time::timeout(SEND_WAIT, entry.forward.lock()).await;
            }
            if let Some(session) = self.pool.get(id) {
                session.client_gone();
            }
        }
        respond(Body::empty())
    }
}

/// Hands the client's maps to the session, in order and once each: the
/// maps count as taken only once the session has them (a request that
/// timed out is sent again by the client, and then delivered).
async fn deliver(
    session: &Session,
    channel: &ChannelEntry,
    maps: framing::Maps,
    held: Held,
    max_length: usize,
) -> Result<(), Box<Response>> {
    let busy = || Box::new(plain(StatusCode::SERVICE_UNAVAILABLE, "Server busy"));
    let started = tokio::time::Instant::now();
    let _turn = tokio::time::timeout(SEND_WAIT, channel.forward.lock())
        .await
        .map_err(|_| busy())?;
    let (frames, before) = {
        let mut state = crate::lock::lock(&channel.state);
        let before = (state.next_map, state.early.clone());
        let frames = state
            .order(maps, max_length)
            .map_err(|ForwardRefused::TooFarAhead| Box::new(plain(StatusCode::BAD_REQUEST, "Bad data")))?;
        (frames, before)
    };
    if session.is_closing() {
        // The server closed the session: what the client still sends is dropped.
        return Ok(());
    }
    let left = SEND_WAIT.saturating_sub(started.elapsed());
    match tokio::time::timeout(left, session.send(frames, held)).await {
        Ok(_) => Ok(()),
        Err(_) => {
            let mut state = crate::lock::lock(&channel.state);
            (state.next_map, state.early) = before;
            Err(busy())
        }
    }
}

/// Attaches a back channel, replacing the one attached (it ends): the
/// newest back channel wins, as with npm browserchannel, also when two
/// arrive together.
async fn attach(session: &Arc<Session>) -> Result<Attached, super::session::AnotherReceiver> {
    let deadline = tokio::time::Instant::now() + REPLACE_WAIT;
    loop {
        // Asks whoever is attached now (maybe one that came meanwhile) to go.
        session.reserve();
        match session.attach_reserved(Duration::from_millis(20)).await {
            Ok(attached) => return Ok(attached),
            Err(busy) if tokio::time::Instant::now() >= deadline => return Err(busy),
            Err(_) => {}
        }
    }
}

/// What [`collect`] found.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Collected {
    /// Messages (or nothing yet).
    More,
    /// The session is closing: `["stop"]` is among the arrays.
    Stopped,
    /// A newer back channel replaces this one.
    Replaced,
}

/// Moves what the session has for the client into the numbered arrays,
/// unless `budget` bytes of arrays wait to be acknowledged already (the
/// session then keeps them, and its own budget applies).
fn collect(attached: &Attached, channel: &Mutex<Channel>, budget: usize) -> Collected {
    if crate::lock::lock(channel).bytes >= budget {
        return Collected::More;
    }
    match attached.take() {
        Take::Messages(messages) => {
            let mut channel = crate::lock::lock(channel);
            for message in messages {
                channel.push(message);
            }
            Collected::More
        }
        Take::Close(stop) => {
            let mut channel = crate::lock::lock(channel);
            if !channel.stopped {
                channel.stopped = true;
                channel.push(stop);
            }
            Collected::Stopped
        }
        Take::Kicked => Collected::Replaced,
        Take::Open(_) | Take::Nothing => Collected::More,
    }
}

/// The body of a back channel.
fn back_channel(
    attached: Attached,
    channel: Arc<ChannelEntry>,
    chunked: bool,
    keep_alive: Duration,
    budget: usize,
) -> Body {
    struct State {
        attached: Option<Attached>,
        channel: Arc<ChannelEntry>,
        sent: usize,
    }
    let state = State {
        attached: Some(attached),
        channel,
        sent: 0,
    };
    let stream = futures_util::stream::unfold(state, move |mut state| async move {
        let attached = state.attached.as_ref()?;
        let text = loop {
            let collected = collect(attached, &state.channel.state, budget);
            if collected == Collected::Replaced {
                // What it did not send, the newer one sends.
                return None;
            }
            if let Some(text) = crate::lock::lock(&state.channel.state).unsent() {
                break text;
            }
            if collected == Collected::Stopped {
                // `["stop"]` went out on an earlier back channel.
                return None;
            }
            if !attached.wait(keep_alive).await {
                crate::lock::lock(&state.channel.state).push(Bytes::from_static(framing::NOOP));
            }
        };
        let chunk = framing::chunk(&text);
        state.sent += chunk.len();
        let stopping = crate::lock::lock(&state.channel.state).stopped;
        if !chunked || state.sent > BACK_CHANNEL_LIMIT || stopping {
            // Detached now; the response ends after this chunk.
            state.attached = None;
        }
        Some((Ok::<_, std::convert::Infallible>(chunk), state))
    });
    Body::from_stream(stream)
}

/// The test channel's `11111`, then `2` after a pause.
fn test_body() -> Body {
    let stream = futures_util::stream::unfold(0u8, |step| async move {
        match step {
            0 => Some((Ok::<_, std::convert::Infallible>(Bytes::from_static(b"11111")), 1)),
            1 => {
                tokio::time::sleep(TEST_PAUSE).await;
                Some((Ok(Bytes::from_static(b"2")), 2))
            }
            _ => None,
        }
    });
    Body::from_stream(stream)
}

/// A `200` with npm browserchannel's headers.
fn respond(body: Body) -> Response {
    let mut response = Response::new(body);
    standard_headers(response.headers_mut());
    response
}

fn standard_headers(out: &mut HeaderMap) {
    out.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/plain"));
    out.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("no-cache, no-store, max-age=0, must-revalidate"),
    );
    out.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
    out.insert(
        header::EXPIRES,
        HeaderValue::from_static("Fri, 01 Jan 1990 00:00:00 GMT"),
    );
    out.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
}

fn not_allowed(allow: &'static str) -> Response {
    let mut response = plain(StatusCode::METHOD_NOT_ALLOWED, "Method not allowed");
    response
        .headers_mut()
        .insert(header::ALLOW, HeaderValue::from_static(allow));
    response
}

/// The query parameters BrowserChannel uses (the first value of each).
struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    fn parse(query: Option<&str>) -> Query {
        let pairs = form_urlencoded::parse(query.unwrap_or_default().as_bytes())
            .take(64)
            .map(|(key, value)| (key.into_owned(), value.into_owned()))
            .collect();
        Query { pairs }
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.pairs
            .iter()
            .find(|(name, _)| name == key)
            .map(|(_, value)| value.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arrays_are_sent_again_until_acknowledged() {
        let mut channel = Channel::default();
        channel.push(framing::created("s"));
        channel.push(Bytes::from_static(b"\"a\""));
        assert_eq!(
            channel.unsent().unwrap(),
            br#"[[0,["c","s",null,8]],[1,"a"]]"#.iter().chain(b"\n").copied().collect::<Vec<_>>()
        );
        assert_eq!(channel.unsent(), None);
        assert_eq!(channel.status(true), b"[1,1,22]");
        // The back channel broke; the client had array 0 only.
        channel.acknowledge(0);
        channel.rewind();
        channel.push(Bytes::from_static(b"\"b\""));
        assert_eq!(channel.unsent().unwrap(), b"[[1,\"a\"],[2,\"b\"]]\n");
        channel.acknowledge(2);
        assert_eq!(channel.bytes, 0);
        channel.rewind();
        assert_eq!(channel.unsent(), None);
        assert_eq!(channel.status(false), b"[0,2,0]");
    }

    #[test]
    fn maps_are_taken_once_and_in_order() {
        let mut channel = Channel::default();
        let maps = |offset, texts: &[&str]| framing::Maps {
            offset,
            messages: texts.iter().map(|t| Some(Frame::text(*t))).collect(),
        };
        assert_eq!(
            channel.order(maps(0, &["a", "b"]), 100).unwrap(),
            [Frame::text("a"), Frame::text("b")]
        );
        // Sent again: nothing new.
        assert!(channel.order(maps(0, &["a", "b"]), 100).unwrap().is_empty());
        // Ahead of a missing map: waits for it.
        assert!(channel.order(maps(3, &["d"]), 100).unwrap().is_empty());
        assert_eq!(
            channel.order(maps(2, &["c"]), 100).unwrap(),
            [Frame::text("c"), Frame::text("d")]
        );
        // Too far ahead, too many bytes ahead, or an offset that overflows:
        // refused, and nothing changes.
        assert!(channel.order(maps(5000, &["x"]), 100).is_err());
        assert!(channel.order(maps(6, &["0123456789"]), 5).is_err());
        assert!(channel.order(maps(u64::MAX, &["x", "y"]), 100).is_err());
        assert!(channel.early.is_empty());
        assert_eq!(channel.order(maps(4, &["e"]), 100).unwrap(), [Frame::text("e")]);
    }
}
