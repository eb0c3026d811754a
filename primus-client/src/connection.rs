//! The connection task: one per client. It connects, runs a session on each
//! open socket, and reconnects with backoff when the strategy says so.
//! Commands from the [`Client`](crate::Client) handle that arrive while no
//! socket is open wait in a bounded queue and are sent, in order, on open.

use crate::command::Command;
use crate::context::{ResumeState, SessionContext};
use crate::handlers::ClientHandler;
use crate::recovery::{Reconnect, Recovery, Strategy};
use crate::session::{Session, SessionEnd};
use crate::stream::OpenFailure;
use crate::{ClientError, ConnectionEvent};
use primus::deflate::{self, Inflating, Side};
use primus::parser::Parser;
use primus::Message;
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// How the ping timeout is chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PingTimeoutSetting {
    /// From the server's `/spec` (1.5 × its ping interval).
    FromServer,
    Fixed(Option<Duration>),
}

pub(crate) struct Setup {
    pub(crate) url: url::Url,
    pub(crate) parser: Arc<dyn Parser>,
    pub(crate) connect_timeout: Duration,
    pub(crate) reconnect: Reconnect,
    pub(crate) strategy: Strategy,
    pub(crate) ping_timeout: PingTimeoutSetting,
    pub(crate) queue_size: usize,
    pub(crate) commands: mpsc::UnboundedReceiver<Command>,
    pub(crate) events: mpsc::UnboundedSender<ConnectionEvent>,
    pub(crate) handlers: HashMap<&'static str, ClientHandler>,
    pub(crate) handler_queue: Option<mpsc::UnboundedSender<(ClientHandler, Message)>>,
    pub(crate) transforms: Arc<primus::transform::Transforms<()>>,
    pub(crate) transport: crate::Transport,
    pub(crate) tls: crate::stream::TlsSetting,
    /// Added to the upgrade request (and to the `/spec` request).
    pub(crate) headers: Vec<(HeaderName, HeaderValue)>,
    /// Wait for [`Client::open`](crate::Client::open) before connecting.
    pub(crate) manual: bool,
    /// Ask the server for connection state recovery.
    pub(crate) resume_sessions: bool,
    /// Offer permessage-deflate.
    pub(crate) compression: bool,
}

enum Connected {
    Open(Box<crate::session::Socket>),
    /// Worth another attempt (refused, reset, timed out).
    Failed(ClientError),
    /// Not worth another attempt (e.g. the server refused the upgrade with 401/403).
    Fatal(ClientError),
    /// The client called `end()` meanwhile.
    Ended,
}

struct Driver {
    url: url::Url,
    connect_timeout: Duration,
    reconnect: Reconnect,
    strategy: Strategy,
    ping_timeout: Option<Duration>,
    queue_size: usize,
    commands: mpsc::UnboundedReceiver<Command>,
    queue: VecDeque<Command>,
    shared: SessionContext,
    tls: crate::stream::TlsSetting,
    headers: Vec<(HeaderName, HeaderValue)>,
    compression: bool,
}

pub(crate) async fn run(setup: Setup) {
    let mut driver = Driver {
        url: setup.url,
        connect_timeout: setup.connect_timeout,
        reconnect: setup.reconnect,
        strategy: setup.strategy,
        ping_timeout: None,
        queue_size: setup.queue_size.max(1),
        commands: setup.commands,
        queue: VecDeque::new(),
        shared: SessionContext {
            parser: setup.parser,
            events: setup.events,
            handlers: setup.handlers,
            handler_queue: setup.handler_queue,
            highest_request: 0,
            transforms: setup.transforms,
            transport: setup.transport,
            resume: setup.resume_sessions.then(ResumeState::default),
            pending: HashMap::new(),
        },
        tls: setup.tls,
        headers: setup.headers,
        compression: setup.compression,
    };
    if setup.manual && !driver.wait_for_open().await {
        driver.shared.emit(ConnectionEvent::End);
        return;
    }
    driver.ping_timeout = match setup.ping_timeout {
        PingTimeoutSetting::Fixed(timeout) => timeout,
        PingTimeoutSetting::FromServer => {
            let spec = crate::spec::SpecRequest {
                url: &driver.url,
                tls: &driver.tls,
                headers: &driver.headers,
            };
            crate::spec::ping_timeout(spec, setup.connect_timeout).await
        }
    };
    driver.run().await;
    driver.shared.emit(ConnectionEvent::End);
}

impl Driver {
    async fn run(&mut self) {
        let mut recovery: Option<Recovery> = None;
        let mut offline = false;
        loop {
            let timeout = match recovery {
                Some(_) => self.reconnect.attempt_timeout,
                None => self.connect_timeout,
            };
            match self.connect(timeout).await {
                Connected::Open(socket) => {
                    if let Some(done) = recovery.take() {
                        self.shared.emit(ConnectionEvent::Reconnected(done.state()));
                    }
                    if std::mem::take(&mut offline) {
                        self.shared.emit(ConnectionEvent::Online);
                    }
                    let queued: Vec<Command> = self.queue.drain(..).collect();
                    let session = Session::new(*socket, &mut self.shared, self.ping_timeout);
                    match session.run(queued, &mut self.commands).await {
                        SessionEnd::Ended => return,
                        SessionEnd::Lost { ping_timeout } => {
                            if ping_timeout {
                                offline = true;
                                self.shared.emit(ConnectionEvent::Offline);
                            }
                            self.shared.emit(ConnectionEvent::Close);
                            if !self.strategy.disconnect {
                                return;
                            }
                            recovery = Some(Recovery::new(self.reconnect));
                        }
                    }
                }
                Connected::Ended => return,
                Connected::Fatal(error) => {
                    self.shared.emit(ConnectionEvent::Error(error));
                    return;
                }
                Connected::Failed(error) => match &mut recovery {
                    Some(current) => {
                        if let ClientError::Timeout(_) = error {
                            self.shared
                                .emit(ConnectionEvent::ReconnectTimeout(current.state()));
                        }
                        tracing::debug!(%error, attempt = current.state().attempt, "reconnect attempt failed");
                    }
                    None => {
                        let timed_out = matches!(error, ClientError::Timeout(_));
                        self.shared.emit(ConnectionEvent::Error(error));
                        if timed_out {
                            self.shared.emit(ConnectionEvent::Timeout);
                        }
                        if !self.strategy.timeout {
                            return;
                        }
                        recovery = Some(Recovery::new(self.reconnect));
                    }
                },
            }
            let Some(current) = recovery.as_mut() else { return };
            let Some(delay) = current.next_attempt() else {
                self.shared
                    .emit(ConnectionEvent::ReconnectFailed(current.state()));
                return;
            };
            self.shared
                .emit(ConnectionEvent::ReconnectScheduled(current.state()));
            if !self.wait(delay).await {
                return;
            }
            self.shared.emit(ConnectionEvent::Reconnect(current.state()));
        }
    }

    /// Manual mode: queues commands until `Open`; false if the client ended first.
    async fn wait_for_open(&mut self) -> bool {
        loop {
            match self.commands.recv().await {
                Some(Command::Open) => return true,
                Some(command) => {
                    if !self.hold(command) {
                        return false;
                    }
                }
                None => return false,
            }
        }
    }

    /// Queues a command while no socket is open; false on `End`.
    fn hold(&mut self, command: Command) -> bool {
        if let Command::Open = command {
            // Already opening.
            return true;
        }
        if let Command::End = command {
            if !self.queue.is_empty() {
                // As Primus' `end()` while offline: nothing more is sent.
                tracing::warn!(
                    dropped = self.queue.len(),
                    "ended while not connected: the queued messages are dropped"
                );
            }
            return false;
        }
        if self.queue.len() >= self.queue_size {
            // Bounded: the oldest queued command is dropped (a dropped
            // request or id request fails with `Closed`).
            self.queue.pop_front();
            tracing::warn!(
                queue_size = self.queue_size,
                "write queue full; oldest queued message dropped"
            );
        }
        self.queue.push_back(command);
        true
    }

    /// Waits `delay`, queueing commands meanwhile; false if the client ended.
    async fn wait(&mut self, delay: Duration) -> bool {
        let sleep = tokio::time::sleep(delay);
        tokio::pin!(sleep);
        loop {
            tokio::select! {
                () = &mut sleep => return true,
                command = self.commands.recv() => match command {
                    Some(command) => if !self.hold(command) { return false },
                    None => return false,
                },
            }
        }
    }

    async fn connect(&mut self, timeout: Duration) -> Connected {
        let mut attempt = crate::url::with_fresh_cache_buster(&self.url);
        if let Some(resume) = &self.shared.resume {
            attempt =
                crate::url::with_query_pair(&attempt, primus::protocol::RECOVER_PARAMETER, &resume.ask());
        }
        let url = self.shared.transport.session_url(&attempt);
        let connecting = upgrade(url, self.tls.clone(), self.headers.clone(), self.compression);
        let deadline = tokio::time::sleep(timeout);
        tokio::pin!(connecting, deadline);
        loop {
            tokio::select! {
                connected = &mut connecting => return connected,
                () = &mut deadline => return Connected::Failed(ClientError::Timeout(timeout)),
                command = self.commands.recv() => match command {
                    Some(command) => if !self.hold(command) { return Connected::Ended },
                    None => return Connected::Ended,
                },
            }
        }
    }
}

/// The largest compressed message this client inflates: tungstenite's own
/// limit for any message it reads (its default `max_message_size`).
const INFLATE_LIMIT: usize = 64 << 20;

/// Opens the stream and upgrades it to a WebSocket, with the extra headers
/// (and the permessage-deflate offer when `compression` is on).
async fn upgrade(
    url: url::Url,
    tls: crate::stream::TlsSetting,
    headers: Vec<(HeaderName, HeaderValue)>,
    compression: bool,
) -> Connected {
    let stream = match crate::stream::open(&url, &tls).await {
        Ok(stream) => stream,
        Err(OpenFailure::Retry(error)) => return Connected::Failed(error),
        Err(OpenFailure::Fatal(error)) => return Connected::Fatal(error),
    };
    let mut request = match url.as_str().into_client_request() {
        Ok(request) => request,
        Err(error) => return Connected::Fatal(ClientError::Connect(error.to_string())),
    };
    for (name, value) in headers {
        request.headers_mut().append(name, value);
    }
    if compression {
        request.headers_mut().insert(
            tungstenite::http::header::SEC_WEBSOCKET_EXTENSIONS,
            HeaderValue::from_static(deflate::CLIENT_OFFER),
        );
    }
    // With the offer, frames that come in the same read as the answer are
    // inflated too; the answer then says whether compression stays on.
    let (stream, config) = match compression {
        true => (
            Inflating::client_handshake(stream, INFLATE_LIMIT),
            // An inflated message is handed on as one frame.
            Some(WebSocketConfig::default().max_frame_size(Some(INFLATE_LIMIT))),
        ),
        false => (Inflating::new(stream, Side::Client, None), None),
    };
    match tokio_tungstenite::client_async_with_config(request, stream, config).await {
        Ok((mut socket, response)) => {
            let answer = response
                .headers()
                .get(tungstenite::http::header::SEC_WEBSOCKET_EXTENSIONS)
                .and_then(|value| value.to_str().ok());
            match (compression, deflate::check_answer(answer)) {
                (true, Ok(true)) => {}
                (true, Ok(false)) => socket.get_mut().refuse_compressed(),
                (false, Ok(false)) => {}
                (false, Ok(true)) => {
                    return Connected::Fatal(ClientError::Connect(
                        "the server accepted compression, which this client did not offer".to_owned(),
                    ))
                }
                (_, Err(reason)) => return Connected::Fatal(ClientError::Connect(reason.to_owned())),
            }
            Connected::Open(Box::new(socket))
        }
        Err(tungstenite::Error::Http(response)) if matches!(response.status().as_u16(), 401 | 403) => {
            let body = response
                .body()
                .as_deref()
                .map(String::from_utf8_lossy)
                .unwrap_or_default();
            Connected::Fatal(ClientError::Refused {
                status: response.status().as_u16(),
                body: body.into_owned(),
            })
        }
        Err(error) => {
            // TLS 1.3 servers refuse a client certificate after the handshake.
            #[cfg(feature = "tls")]
            if let tungstenite::Error::Io(io) = &error {
                if let Some(failure) = crate::tls::handshake_failure(io) {
                    return Connected::Fatal(ClientError::Tls(failure));
                }
            }
            Connected::Failed(ClientError::Connect(error.to_string()))
        }
    }
}
