//! The in-memory transformer: connections without sockets.
//!
//! [`Memory`] opens connections straight through the server's pipeline and
//! hands the test a [`MemoryClient`] that sends and receives frames over
//! bounded in-process channels. Everything above the transport runs as it
//! does for a WebSocket: control messages, handlers in order, transforms,
//! typed routing, the outbound queue and its slow-consumer policy, close
//! requests and `primus::server::close`. Tests of that behaviour need no
//! port, no handshake and no timing slack.
//!
//! ```
//! use primus::transformer::Memory;
//! use primus::Frame;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let memory = Memory::new();
//! let _server = primus::Server::builder()
//!     .transformer(memory.clone())
//!     .on_data(|spark, message| async move {
//!         spark.write_frame(message.into_frame()).ok();
//!     })
//!     .build()?;
//! let mut client = memory.connect()?;
//! client.send(Frame::text(r#"{"hello":"world"}"#)).await?;
//! let echo = client.recv().await.expect("the connection is open");
//! assert_eq!(echo.as_str(), Some(r#"{"hello":"world"}"#));
//! # Ok(()) }
//! ```

use super::Transformer;
use crate::pipeline::{Connection, ConnectionRequest, Connector, OpenError, Work};
use crate::spark::{Address, CloseRequest, DisconnectReason, SparkError};
use crate::wire::Frame;
use axum::body::Body;
use axum::response::Response;
use futures_util::future::BoxFuture;
use http::request::Parts;
use http::{Request, StatusCode};
use std::sync::{Arc, OnceLock};
use tokio::sync::mpsc;

/// Frames buffered in each direction unless set with [`Memory::buffer`].
pub const DEFAULT_BUFFER: usize = 64;

/// The in-memory transformer (name `"memory"`). Clone it before giving it
/// to the builder: the clone you keep opens the connections.
#[derive(Clone)]
pub struct Memory {
    connector: Arc<OnceLock<Connector>>,
    buffer: usize,
}

impl Default for Memory {
    fn default() -> Memory {
        Memory::new()
    }
}

impl std::fmt::Debug for Memory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Memory")
            .field("started", &self.connector.get().is_some())
            .field("buffer", &self.buffer)
            .finish()
    }
}

/// Why [`Memory::connect`] failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MemoryError {
    /// The transformer was not given to a server that was built.
    #[error("this in-memory transformer is not part of a built server; pass a clone to `ServerBuilder::transformer` first")]
    NotStarted,
    /// The server refused the connection.
    #[error(transparent)]
    Open(#[from] OpenError),
    /// The connection is closed; the frame was not sent.
    #[error("the in-memory connection is closed")]
    Closed,
}

impl Memory {
    /// An in-memory transformer with [`DEFAULT_BUFFER`] frames per direction.
    pub fn new() -> Memory {
        Memory {
            connector: Arc::new(OnceLock::new()),
            buffer: DEFAULT_BUFFER,
        }
    }

    /// Frames buffered per direction (at least 1). A client that does not
    /// call [`MemoryClient::recv`] stops the server's writes once this many
    /// wait, as a client that stops reading a socket does.
    ///
    /// ```
    /// let memory = primus::transformer::Memory::new().buffer(1);
    /// # let _ = memory;
    /// ```
    pub fn buffer(mut self, frames: usize) -> Memory {
        self.buffer = frames.max(1);
        self
    }

    /// Opens a connection with an empty request.
    pub fn connect(&self) -> Result<MemoryClient, MemoryError> {
        self.connect_with(ConnectionRequest::default())
    }

    /// Opens a connection whose spark sees `request` (headers, address, query).
    pub fn connect_with(&self, request: ConnectionRequest) -> Result<MemoryClient, MemoryError> {
        let connector = self.connector.get().ok_or(MemoryError::NotStarted)?;
        let connection = connector.open(request)?;
        let id = connection.spark().id().to_owned();
        let (to_server, from_client) = mpsc::channel(self.buffer);
        let (to_client, from_server) = mpsc::channel(self.buffer);
        tokio::spawn(async move {
            let connection = drive(connection, from_client, to_client).await;
            connection.finish().await;
        });
        Ok(MemoryClient {
            id,
            to_server: Some(to_server),
            from_server,
        })
    }
}

impl Transformer for Memory {
    fn name(&self) -> &'static str {
        "memory"
    }

    /// None: memory connections are opened with [`Memory::connect`].
    fn claims(&self, _request: &Parts) -> bool {
        false
    }

    fn accept(
        &self,
        _request: Request<Body>,
        _address: Address,
        _connector: &Connector,
    ) -> BoxFuture<'static, Response> {
        let mut response = Response::new(Body::from("the in-memory transformer takes no HTTP requests"));
        *response.status_mut() = StatusCode::NOT_FOUND;
        Box::pin(std::future::ready(response))
    }

    fn start(&self, connector: &Connector) {
        if self.connector.set(connector.clone()).is_err() {
            tracing::warn!(
                "an in-memory transformer was given to a second server; it keeps connecting to the first"
            );
        }
    }
}

/// The client's end of an in-memory connection.
#[derive(Debug)]
pub struct MemoryClient {
    id: String,
    to_server: Option<mpsc::Sender<Frame>>,
    from_server: mpsc::Receiver<Frame>,
}

impl MemoryClient {
    /// The spark id of this connection.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// Sends one frame to the server, waiting while the server is not
    /// reading (its handlers are busy with earlier messages).
    pub async fn send(&self, frame: Frame) -> Result<(), MemoryError> {
        let sender = self.to_server.as_ref().ok_or(MemoryError::Closed)?;
        sender.send(frame).await.map_err(|_| MemoryError::Closed)
    }

    /// The next frame from the server; `None` once the connection is closed
    /// and everything sent before was received. An intentional close
    /// (`spark.end()`) arrives as the `"primus::server::close"` frame first.
    pub async fn recv(&mut self) -> Option<Frame> {
        self.from_server.recv().await
    }

    /// The next frame if one is waiting, without waiting.
    pub fn try_recv(&mut self) -> Option<Frame> {
        self.from_server.try_recv().ok()
    }

    /// Closes the connection from the client's side (as a client closing
    /// its socket); frames already received can still be read.
    pub fn close(&mut self) {
        self.to_server = None;
    }
}

/// Moves frames between the channels and the connection until either side
/// closes; returns the connection, to be finished.
async fn drive(
    mut connection: Connection,
    mut from_client: mpsc::Receiver<Frame>,
    to_client: mpsc::Sender<Frame>,
) -> Connection {
    let watch = connection.close_watch();
    let close = watch.requested();
    tokio::pin!(close);
    let request = loop {
        tokio::select! {
            biased;
            request = &mut close => break request,
            work = connection.work() => {
                let Work::Outbound(item) = work else { continue };
                let Some(frame) = connection.prepare(item).await else { continue };
                // A client that stops reading blocks this send; a close
                // request must still be seen.
                tokio::select! {
                    biased;
                    request = &mut close => break request,
                    sent = to_client.send(frame) => if sent.is_err() {
                        connection.mark_closed();
                        return connection;
                    },
                }
            }
            incoming = from_client.recv(), if connection.can_receive() => match incoming {
                Some(frame) if frame.len() > connection.max_length() => {
                    let limit = connection.max_length();
                    connection.report(SparkError::PayloadTooLarge { limit });
                    connection.spark().note_disconnect(DisconnectReason::TooLarge);
                    connection.mark_closed();
                    return connection;
                }
                Some(frame) => connection.receive(frame),
                None => {
                    connection.mark_closed();
                    return connection;
                }
            },
        }
    };
    let grace = connection.close_grace();
    let _ = tokio::time::timeout(grace, farewell(&mut connection, &to_client, request)).await;
    connection
}

/// What is still queued, then `primus::server::close` if announced.
async fn farewell(connection: &mut Connection, to_client: &mpsc::Sender<Frame>, request: CloseRequest) {
    while let Some(item) = connection.try_outbound() {
        if let Some(frame) = connection.prepare(item).await {
            if to_client.send(frame).await.is_err() {
                return;
            }
        }
    }
    if request.announce {
        let _ = to_client.send(connection.server_close_frame()).await;
    }
}
