//! What a client reports: [`ConnectionEvent`] and the [`Events`] stream.

use crate::{ClientError, ReconnectState};
use primus::{Event as TypedEvent, Message};
use tokio::sync::mpsc;

/// Something that happened on the connection, with Primus' event names.
///
/// A lost connection gives `Close`, then (with the default strategy)
/// `ReconnectScheduled`, `Reconnect`, and on success `Reconnected` and
/// `Open`, or after the last attempt `ReconnectFailed` and `End`. Unlike
/// Primus (which emits `end` before `reconnect failed`), `End` is always the
/// last event.
#[derive(Debug)]
#[non_exhaustive]
pub enum ConnectionEvent {
    /// The connection is open; queued writes were just sent.
    Open,
    /// A reconnection attempt is scheduled after `state.scheduled`.
    ReconnectScheduled(ReconnectState),
    /// A reconnection attempt starts now.
    Reconnect(ReconnectState),
    /// A reconnection attempt succeeded (`Open` follows).
    Reconnected(ReconnectState),
    /// A reconnection attempt did not open within its timeout.
    ReconnectTimeout(ReconnectState),
    /// Every attempt failed; `End` follows.
    ReconnectFailed(ReconnectState),
    /// No heartbeat within the ping timeout: the connection is considered
    /// lost (`Close` follows).
    Offline,
    /// Back online after `Offline` (follows `Reconnected`).
    Online,
    /// The first connection did not open within the connect timeout.
    Timeout,
    /// A message from the server.
    Data(Message),
    /// The server's heartbeat (`primus::ping::<value>`), already answered.
    Ping(String),
    /// After a reconnect, the server resumed this client's session
    /// (connection state recovery): the same spark id and rooms; the
    /// messages sent while the connection was lost follow, in order.
    SessionResumed,
    /// After a reconnect, the server could not resume this client's session
    /// (past its recovery window or replay bound): this is a new spark, and
    /// what was sent while the connection was lost is gone.
    SessionNotResumed,
    /// Something went wrong; see the error. A decode error leaves the
    /// connection open.
    Error(ClientError),
    /// The connection closed.
    Close,
    /// The client is done: no more events follow.
    End,
}

/// The stream of [`ConnectionEvent`]s of one client.
pub struct Events {
    pub(crate) receiver: mpsc::UnboundedReceiver<ConnectionEvent>,
}

impl Events {
    /// The next event, or `None` after [`ConnectionEvent::End`].
    pub async fn next(&mut self) -> Option<ConnectionEvent> {
        self.receiver.recv().await
    }

    /// Waits for the next message that decodes as the typed event `E`,
    /// skipping other events and messages; `None` once the client has ended.
    ///
    /// ```ignore
    /// while let Some(event) = events.next_as::<ServerEvent>().await {
    ///     match event { ServerEvent::Said { who, text } => println!("{who}: {text}"), _ => {} }
    /// }
    /// ```
    pub async fn next_as<E: TypedEvent>(&mut self) -> Option<E> {
        while let Some(message) = self.next_message().await {
            if let Ok(event) = message.decode::<E>() {
                return Some(event);
            }
        }
        None
    }

    /// Waits for the next data message, skipping other events; `None` once
    /// the client has ended.
    pub async fn next_message(&mut self) -> Option<Message> {
        while let Some(event) = self.next().await {
            if let ConnectionEvent::Data(message) = event {
                return Some(message);
            }
        }
        None
    }
}

impl futures_util::Stream for Events {
    type Item = ConnectionEvent;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<ConnectionEvent>> {
        self.receiver.poll_recv(cx)
    }
}
