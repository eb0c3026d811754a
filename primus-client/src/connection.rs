//! The connection task: one per client, owning the socket.

use crate::handlers::ClientHandler;
use crate::{ClientError, Event};
use futures_util::{SinkExt, StreamExt};
use primus::parser::{Inspection, Parser};
use primus::protocol::{self, Control};
use primus::{Frame, FrameKind, Message};
use std::collections::HashMap;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};
use tokio_tungstenite::tungstenite::{self, Message as WsMessage, Utf8Bytes};

/// What the handle asks of the task.
pub(crate) enum Command {
    Write(Frame),
    Request {
        frame: Frame,
        id: u64,
        reply: oneshot::Sender<Message>,
    },
    Id(oneshot::Sender<String>),
    End,
}

pub(crate) struct Setup {
    pub(crate) url: url::Url,
    pub(crate) parser: Arc<dyn Parser>,
    pub(crate) connect_timeout: Duration,
    pub(crate) commands: mpsc::UnboundedReceiver<Command>,
    pub(crate) events: mpsc::UnboundedSender<Event>,
    pub(crate) handlers: HashMap<&'static str, ClientHandler>,
    pub(crate) handler_queue: Option<mpsc::UnboundedSender<(ClientHandler, Message)>>,
}

const WRITE_BATCH: usize = 64;
const CLOSE_GRACE: Duration = Duration::from_secs(2);

pub(crate) async fn run(mut setup: Setup) {
    let connecting = tokio_tungstenite::connect_async(setup.url.as_str());
    let socket = match tokio::time::timeout(setup.connect_timeout, connecting).await {
        Ok(Ok((socket, _response))) => socket,
        Ok(Err(error)) => {
            let _ = setup
                .events
                .send(Event::Error(ClientError::Connect(error.to_string())));
            let _ = setup.events.send(Event::End);
            return;
        }
        Err(_) => {
            let _ = setup
                .events
                .send(Event::Error(ClientError::Timeout(setup.connect_timeout)));
            let _ = setup.events.send(Event::End);
            return;
        }
    };
    let mut connection = Connection {
        socket,
        parser: setup.parser,
        events: setup.events,
        id_waiters: VecDeque::new(),
        server_closing: false,
        pending: HashMap::new(),
        highest_request: 0,
        handlers: setup.handlers,
        handler_queue: setup.handler_queue,
    };
    connection.run(&mut setup.commands).await;
}

type Socket = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

struct Connection {
    socket: Socket,
    parser: Arc<dyn Parser>,
    events: mpsc::UnboundedSender<Event>,
    id_waiters: VecDeque<oneshot::Sender<String>>,
    server_closing: bool,
    /// Requests waiting for their reply, by request number.
    pending: HashMap<u64, oneshot::Sender<Message>>,
    /// The highest request number sent: replies up to it are ours.
    highest_request: u64,
    handlers: HashMap<&'static str, ClientHandler>,
    handler_queue: Option<mpsc::UnboundedSender<(ClientHandler, Message)>>,
}

enum Next {
    Continue,
    Ended { by_client: bool },
}

impl Connection {
    async fn run(&mut self, commands: &mut mpsc::UnboundedReceiver<Command>) {
        // Writes queued before the connection opened are sent before `Open`.
        let mut queued = Vec::new();
        while let Ok(command) = commands.try_recv() {
            queued.push(command);
        }
        for command in queued {
            if let Next::Ended { by_client } = self.command(command).await {
                return self.finish(by_client).await;
            }
        }
        let _ = self.socket.flush().await;
        let _ = self.events.send(Event::Open);

        loop {
            let next = tokio::select! {
                command = commands.recv() => match command {
                    // Every handle was dropped: end like `end()`.
                    None => self.command(Command::End).await,
                    Some(command) => {
                        let mut next = self.command(command).await;
                        // Batch what is already queued, then flush once.
                        for _ in 1..WRITE_BATCH {
                            if !matches!(next, Next::Continue) { break; }
                            match commands.try_recv() {
                                Ok(command) => next = self.command(command).await,
                                Err(_) => break,
                            }
                        }
                        if matches!(next, Next::Continue) && self.socket.flush().await.is_err() {
                            next = Next::Ended { by_client: false };
                        }
                        next
                    }
                },
                incoming = self.socket.next() => self.incoming(incoming).await,
            };
            if let Next::Ended { by_client } = next {
                return self.finish(by_client).await;
            }
        }
    }

    async fn finish(&mut self, by_client: bool) {
        if by_client {
            let _ = self.socket.send(WsMessage::Close(None)).await;
            let _ = tokio::time::timeout(CLOSE_GRACE, async {
                while let Some(Ok(_)) = self.socket.next().await {}
            })
            .await;
        }
        // Reconnection is not built yet: every close ends the client. Once it
        // is, `server_closing` (set by `primus::server::close`) is what
        // tells a final close from one to recover from.
        tracing::debug!(announced = self.server_closing, by_client, "connection closed");
        let _ = self.events.send(Event::Close);
        let _ = self.events.send(Event::End);
    }

    async fn command(&mut self, command: Command) -> Next {
        let result = match command {
            Command::Write(frame) => self.socket.feed(to_ws(frame)).await,
            Command::Request { frame, id, reply } => {
                // Forget requests whose caller gave up (timed out).
                self.pending.retain(|_, waiter| !waiter.is_closed());
                self.pending.insert(id, reply);
                self.highest_request = self.highest_request.max(id);
                self.socket.feed(to_ws(frame)).await
            }
            Command::Id(reply) => {
                self.id_waiters.push_back(reply);
                match self.parser.encode_value(protocol::ID_REQUEST) {
                    Ok(frame) => self.socket.feed(to_ws(frame)).await,
                    Err(error) => {
                        let _ = self.events.send(Event::Error(error.into()));
                        Ok(())
                    }
                }
            }
            Command::End => return Next::Ended { by_client: true },
        };
        match result {
            Ok(()) => Next::Continue,
            Err(error) => {
                let _ = self
                    .events
                    .send(Event::Error(ClientError::Transport(error.to_string())));
                Next::Ended { by_client: false }
            }
        }
    }

    async fn incoming(&mut self, incoming: Option<Result<WsMessage, tungstenite::Error>>) -> Next {
        let frame = match incoming {
            None => return Next::Ended { by_client: false },
            Some(Err(error)) => {
                if !matches!(
                    error,
                    tungstenite::Error::ConnectionClosed | tungstenite::Error::AlreadyClosed
                ) {
                    let _ = self
                        .events
                        .send(Event::Error(ClientError::Transport(error.to_string())));
                }
                return Next::Ended { by_client: false };
            }
            Some(Ok(WsMessage::Text(text))) => match Frame::text_from_bytes(text.into()) {
                Ok(frame) => frame,
                Err(_) => return Next::Continue,
            },
            Some(Ok(WsMessage::Binary(bytes))) => Frame::binary(bytes),
            Some(Ok(WsMessage::Close(_))) => {
                let _ = self.socket.flush().await;
                return Next::Ended { by_client: false };
            }
            Some(Ok(_)) => {
                let _ = self.socket.flush().await;
                return Next::Continue;
            }
        };
        match self.parser.inspect(&frame) {
            Err(error) => {
                let _ = self.events.send(Event::Error(error.into()));
            }
            Ok(Inspection::Control(text)) => match protocol::classify(&text) {
                Some(Control::Ping(value)) => {
                    let pong = protocol::pong(&protocol::pong_value(value));
                    if let Ok(frame) = self.parser.encode_value(&pong) {
                        if self.socket.send(to_ws(frame)).await.is_err() {
                            return Next::Ended { by_client: false };
                        }
                    }
                    let _ = self.events.send(Event::Ping(value.to_owned()));
                }
                Some(Control::Id(id)) => {
                    let id = id.to_owned();
                    // Every waiter gets the answer, as `primus.id(cb)` callbacks do.
                    for waiter in self.id_waiters.drain(..) {
                        let _ = waiter.send(id.clone());
                    }
                }
                Some(Control::ServerClose) => {
                    tracing::debug!("server announced its close; no reconnect");
                    self.server_closing = true;
                }
                Some(Control::ServerOther(_)) => {}
                Some(Control::Pong(_)) | None => self.data(frame),
            },
            Ok(Inspection::Data) => self.data(frame),
        }
        Next::Continue
    }

    fn data(&mut self, frame: Frame) {
        let message = Message::new(frame, self.parser.clone());
        if self.highest_request > 0 {
            if let Some(id) = primus::event::reply_id(&message).filter(|id| *id <= self.highest_request) {
                match self.pending.remove(&id) {
                    Some(waiter) => drop(waiter.send(message)),
                    None => tracing::debug!(id, "late reply to a request that timed out; dropped"),
                }
                return;
            }
        }
        if let Some(queue) = &self.handler_queue {
            let handler =
                primus::event::event_name(&message).and_then(|name| self.handlers.get(name.as_str()));
            if let Some(handler) = handler {
                let _ = queue.send((handler.clone(), message));
                return;
            }
        }
        let _ = self.events.send(Event::Data(message));
    }
}

fn to_ws(frame: Frame) -> WsMessage {
    let (kind, bytes) = frame.into_parts();
    match kind {
        FrameKind::Binary => WsMessage::Binary(bytes),
        FrameKind::Text => match Utf8Bytes::try_from(bytes) {
            Ok(text) => WsMessage::Text(text),
            Err(_) => WsMessage::Binary(bytes::Bytes::new()),
        },
    }
}
