//! One open socket: writes, reads, the `primus::` protocol, requests and
//! the ping timeout.

use crate::command::Command;
use crate::context::SessionContext;
use crate::wire::Incoming;
use crate::{ClientError, ConnectionEvent};
use futures_util::{SinkExt, StreamExt};
use primus::parser::Inspection;
use primus::protocol::{self, Control};
use primus::{Frame, Message};
use std::collections::VecDeque;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_tungstenite::tungstenite::{self, Message as WsMessage};

pub(crate) type Socket = tokio_tungstenite::WebSocketStream<
    primus::deflate::Inflating<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>,
>;

const WRITE_BATCH: usize = 64;
const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// How a session ended.
pub(crate) enum SessionEnd {
    /// For good: `end()` was called or the server sent `primus::server::close`.
    Ended,
    /// The connection was lost; the strategy decides about reconnecting.
    Lost {
        /// True when no ping came within the ping timeout.
        ping_timeout: bool,
    },
}

enum Next {
    Continue,
    Stop(SessionEnd),
}

pub(crate) struct Session<'a> {
    socket: Socket,
    shared: &'a mut SessionContext,
    ping_timeout: Option<Duration>,
    id_waiters: VecDeque<oneshot::Sender<String>>,
    server_closing: bool,
    /// A message arrived on this connection (recovery greetings are only
    /// the first message of a connection; later ones are data).
    greeted: bool,
}

impl<'a> Session<'a> {
    pub(crate) fn new(
        socket: Socket,
        shared: &'a mut SessionContext,
        ping_timeout: Option<Duration>,
    ) -> Session<'a> {
        Session {
            socket,
            shared,
            ping_timeout,
            id_waiters: VecDeque::new(),
            server_closing: false,
            greeted: false,
        }
    }

    pub(crate) async fn run(
        mut self,
        queued: Vec<Command>,
        commands: &mut mpsc::UnboundedReceiver<Command>,
    ) -> SessionEnd {
        // Writes queued before the connection opened go first, then `Open`.
        for command in queued {
            if let Next::Stop(end) = self.command(command).await {
                return self.finish(end).await;
            }
        }
        if self.socket.flush().await.is_err() {
            return self.finish(SessionEnd::Lost { ping_timeout: false }).await;
        }
        self.shared.emit(ConnectionEvent::Open);

        let far_future = Duration::from_secs(60 * 60 * 24 * 365);
        let ping_deadline = tokio::time::sleep(self.ping_timeout.unwrap_or(far_future));
        tokio::pin!(ping_deadline);
        loop {
            let next = tokio::select! {
                command = commands.recv() => match command {
                    // Every handle was dropped: end like `end()`.
                    None => Next::Stop(SessionEnd::Ended),
                    Some(command) => self.commands(command, commands).await,
                },
                incoming = self.socket.next() => {
                    let (next, pinged) = self.incoming(incoming).await;
                    if pinged {
                        if let Some(timeout) = self.ping_timeout {
                            ping_deadline.as_mut().reset(Instant::now() + timeout);
                        }
                    }
                    next
                }
                () = &mut ping_deadline, if self.ping_timeout.is_some() => {
                    tracing::debug!("no ping within the ping timeout; the connection is considered lost");
                    Next::Stop(SessionEnd::Lost { ping_timeout: true })
                }
            };
            if let Next::Stop(end) = next {
                return self.finish(end).await;
            }
        }
    }

    /// Runs one command and whatever else is queued (up to a batch), then flushes.
    async fn commands(&mut self, first: Command, commands: &mut mpsc::UnboundedReceiver<Command>) -> Next {
        let mut next = self.command(first).await;
        for _ in 1..WRITE_BATCH {
            if !matches!(next, Next::Continue) {
                return next;
            }
            match commands.try_recv() {
                Ok(command) => next = self.command(command).await,
                Err(_) => break,
            }
        }
        if matches!(next, Next::Continue) && self.socket.flush().await.is_err() {
            return Next::Stop(SessionEnd::Lost { ping_timeout: false });
        }
        next
    }

    async fn finish(mut self, end: SessionEnd) -> SessionEnd {
        match end {
            SessionEnd::Ended if !self.server_closing => {
                let _ = self.socket.send(WsMessage::Close(None)).await;
                let _ = tokio::time::timeout(CLOSE_GRACE, async {
                    while let Some(Ok(_)) = self.socket.next().await {}
                })
                .await;
                self.shared.emit(ConnectionEvent::Close);
            }
            SessionEnd::Ended => self.shared.emit(ConnectionEvent::Close),
            SessionEnd::Lost { .. } => {
                let resumable = self
                    .shared
                    .resume
                    .as_ref()
                    .is_some_and(|resume| resume.token.is_some());
                if !resumable {
                    // Requests in flight may or may not have been handled:
                    // say so. (A session the server keeps may still answer
                    // them once it is resumed.)
                    self.shared.fail_pending();
                    // A close frame tells the server the client left on
                    // purpose: a session it could resume is left without one.
                    let _ = tokio::time::timeout(Duration::from_millis(100), self.socket.close(None)).await;
                }
            }
        }
        end
    }

    /// Queues a frame as the server's transformer carries it (a frame it
    /// cannot carry is dropped with an `error`).
    async fn feed(&mut self, frame: Frame) -> Result<(), tungstenite::Error> {
        match self.shared.transport.encode(frame) {
            Some(message) => self.socket.feed(message).await,
            None => {
                let error = format!(
                    "{} carries text only: a binary message was dropped",
                    self.shared.transport.name()
                );
                self.shared
                    .emit(ConnectionEvent::Error(ClientError::Transport(error)));
                Ok(())
            }
        }
    }

    /// A control message, encoded by the parser for the transformer.
    fn encode(&self, value: &str) -> Option<WsMessage> {
        let frame = self.shared.parser.encode_value(value).ok()?;
        self.shared.transport.encode(frame)
    }

    async fn command(&mut self, command: Command) -> Next {
        let result = match command {
            Command::Write(frame) => self.feed(frame).await,
            Command::Packet(packet) => match self.shared.transforms.outgoing.run(&(), packet).await {
                Ok(Some(packet)) => match self.shared.parser.encode_value(&packet.data) {
                    Ok(frame) => self.feed(frame).await,
                    Err(error) => {
                        self.shared.emit(ConnectionEvent::Error(error.into()));
                        Ok(())
                    }
                },
                Ok(None) => Ok(()),
                Err(error) => {
                    self.shared.emit(ConnectionEvent::Error(error.into()));
                    Ok(())
                }
            },
            Command::Request { frame, id, reply } => {
                self.shared.pending.retain(|_, waiter| !waiter.is_closed());
                self.shared.pending.insert(id, reply);
                self.shared.highest_request = self.shared.highest_request.max(id);
                self.feed(frame).await
            }
            Command::Id(reply) => {
                self.id_waiters.push_back(reply);
                match self.shared.parser.encode_value(protocol::ID_REQUEST) {
                    Ok(frame) => self.feed(frame).await,
                    Err(error) => {
                        self.shared.emit(ConnectionEvent::Error(error.into()));
                        Ok(())
                    }
                }
            }
            Command::Open => Ok(()),
            Command::End => return Next::Stop(SessionEnd::Ended),
        };
        match result {
            Ok(()) => Next::Continue,
            Err(error) => {
                tracing::debug!(%error, "write failed");
                Next::Stop(SessionEnd::Lost { ping_timeout: false })
            }
        }
    }

    /// Handles one socket event; the flag is true for a heartbeat ping.
    async fn incoming(&mut self, incoming: Option<Result<WsMessage, tungstenite::Error>>) -> (Next, bool) {
        let lost = || {
            (
                Next::Stop(match self.server_closing {
                    true => SessionEnd::Ended,
                    false => SessionEnd::Lost { ping_timeout: false },
                }),
                false,
            )
        };
        let message = match incoming {
            None => return lost(),
            Some(Err(error)) => {
                tracing::debug!(%error, "socket error");
                return lost();
            }
            Some(Ok(WsMessage::Close(_))) => {
                let _ = self.socket.flush().await;
                return lost();
            }
            Some(Ok(message @ (WsMessage::Text(_) | WsMessage::Binary(_)))) => message,
            Some(Ok(_)) => {
                let _ = self.socket.flush().await;
                return (Next::Continue, false);
            }
        };
        let frames = match self.shared.transport.decode(message) {
            Incoming::Frames(frames) => frames,
            Incoming::Answer(answer) => {
                if self.socket.send(answer).await.is_err() {
                    return lost();
                }
                return (Next::Continue, false);
            }
            Incoming::Closed => return lost(),
            Incoming::Nothing => return (Next::Continue, false),
        };
        let mut pinged = false;
        for frame in frames {
            let (next, ping) = self.frame(frame).await;
            pinged |= ping;
            if let Next::Stop(end) = next {
                return (Next::Stop(end), pinged);
            }
        }
        (Next::Continue, pinged)
    }

    /// Handles one Primus message; the flag is true for a heartbeat ping.
    async fn frame(&mut self, frame: Frame) -> (Next, bool) {
        let inspected = self.shared.parser.inspect(&frame);
        let first = !std::mem::replace(&mut self.greeted, true);
        if let Some(resume) = &mut self.shared.resume {
            let control = match &inspected {
                Ok(Inspection::Control(text)) if first => protocol::classify(text),
                _ => None,
            };
            match control {
                Some(Control::Recover(token)) => {
                    // A new session: resumed if this client had one before.
                    let had_one = resume.token.replace(token.to_owned()).is_some();
                    resume.seen = 0;
                    if had_one {
                        // The old session is gone, and its answers with it.
                        self.shared.fail_pending();
                        self.shared.emit(ConnectionEvent::SessionNotResumed);
                    }
                    return (Next::Continue, false);
                }
                Some(Control::Recovered(_)) => {
                    self.shared.emit(ConnectionEvent::SessionResumed);
                    return (Next::Continue, false);
                }
                // Every other message counts, the server numbers them all.
                _ => resume.seen += 1,
            }
        }
        match inspected {
            Err(error) => self.shared.emit(ConnectionEvent::Error(error.into())),
            Ok(Inspection::Control(text)) => match protocol::classify(&text) {
                Some(Control::Ping(value)) => {
                    let pong = protocol::pong(&protocol::pong_value(value));
                    if let Some(message) = self.encode(&pong) {
                        if self.socket.send(message).await.is_err() {
                            return (Next::Stop(SessionEnd::Lost { ping_timeout: false }), true);
                        }
                    }
                    self.shared.emit(ConnectionEvent::Ping(value.to_owned()));
                    return (Next::Continue, true);
                }
                Some(Control::Id(id)) => {
                    // Every waiter gets the answer, as `primus.id(cb)` callbacks do.
                    for waiter in self.id_waiters.drain(..) {
                        let _ = waiter.send(id.to_owned());
                    }
                }
                Some(Control::ServerClose) => {
                    tracing::debug!("the server announced its close; no reconnect");
                    self.server_closing = true;
                }
                Some(Control::ServerOther(_)) => {}
                // Only meaningful to a client that asked for recovery.
                Some(Control::Pong(_) | Control::Recover(_) | Control::Recovered(_)) | None => {
                    self.data(frame).await
                }
            },
            Ok(Inspection::Data) => self.data(frame).await,
        }
        (Next::Continue, false)
    }

    /// Runs the incoming transforms; `None` when the message was dropped.
    async fn transform(&mut self, message: Message) -> Option<Message> {
        if self.shared.transforms.incoming.is_empty() {
            return Some(message);
        }
        let Ok(data) = message.decode::<serde_json::Value>() else {
            return Some(message);
        };
        let packet = primus::transform::Packet { data: data.clone() };
        match self.shared.transforms.incoming.run(&(), packet).await {
            Ok(Some(packet)) if packet.data == data => Some(message),
            Ok(Some(packet)) => match self.shared.parser.encode_value(&packet.data) {
                Ok(frame) => Some(Message::new(frame, self.shared.parser.clone())),
                Err(error) => {
                    self.shared.emit(ConnectionEvent::Error(error.into()));
                    None
                }
            },
            Ok(None) => None,
            Err(error) => {
                self.shared.emit(ConnectionEvent::Error(error.into()));
                None
            }
        }
    }

    async fn data(&mut self, frame: Frame) {
        let Some(message) = self
            .transform(Message::new(frame, self.shared.parser.clone()))
            .await
        else {
            return;
        };
        if self.shared.highest_request > 0 {
            let ours = primus::event::reply_id(&message).filter(|id| *id <= self.shared.highest_request);
            if let Some(id) = ours {
                match self.shared.pending.remove(&id) {
                    Some(waiter) => drop(waiter.send(Ok(message))),
                    None => {
                        tracing::debug!(id, "late reply to a request that timed out or was lost; dropped")
                    }
                }
                return;
            }
        }
        if let Some(queue) = &self.shared.handler_queue {
            let handler =
                primus::event::event_name(&message).and_then(|name| self.shared.handlers.get(name.as_str()));
            if let Some(handler) = handler {
                let _ = queue.send((handler.clone(), message));
                return;
            }
        }
        // A request from the server that no handler answers: refused at
        // once (the server would otherwise wait for its timeout).
        if let (Some(id), Some(name)) = (
            primus::event::request_id(&message),
            primus::event::event_name(&message),
        ) {
            tracing::debug!(id, event = %name, "server request without a client handler; refused");
            let reason = format!("no handler for event \"{name}\"");
            match self
                .shared
                .parser
                .encode_value(&primus::event::refusal(id, &reason))
            {
                Ok(frame) => {
                    if let Some(message) = self.shared.transport.encode(frame) {
                        if self.socket.send(message).await.is_err() {
                            tracing::debug!("the refusal could not be sent");
                        }
                    }
                }
                Err(error) => self.shared.emit(ConnectionEvent::Error(error.into())),
            }
            return;
        }
        self.shared.emit(ConnectionEvent::Data(message));
    }
}
