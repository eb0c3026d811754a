//! What the sessions of one client share.

use crate::handlers::ClientHandler;
use crate::ConnectionEvent;
use primus::parser::Parser;
use primus::Message;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot};

/// What every session of one client shares: state that outlives one socket.
pub(crate) struct SessionContext {
    pub(crate) parser: Arc<dyn Parser>,
    pub(crate) events: mpsc::UnboundedSender<ConnectionEvent>,
    pub(crate) handlers: HashMap<&'static str, ClientHandler>,
    pub(crate) handler_queue: Option<mpsc::UnboundedSender<(ClientHandler, Message)>>,
    /// The highest request number sent: replies up to it are ours.
    pub(crate) highest_request: u64,
    pub(crate) transforms: Arc<primus::transform::Transforms<()>>,
    /// The server's transformer, as this client speaks it.
    pub(crate) transport: crate::Transport,
    /// Connection state recovery, when the client asks for it.
    pub(crate) resume: Option<ResumeState>,
    /// Requests waiting for their reply, by request number (kept across a
    /// lost connection whose session the server may resume).
    pub(crate) pending: HashMap<u64, oneshot::Sender<Result<Message, crate::ClientError>>>,
}

/// What a client that asks for connection state recovery knows of its
/// session: the token the server gave, and how many messages came after it.
#[derive(Debug, Default)]
pub(crate) struct ResumeState {
    pub(crate) token: Option<String>,
    pub(crate) seen: u64,
}

impl ResumeState {
    /// The value of the recovery query parameter: resume, or start a session.
    pub(crate) fn ask(&self) -> String {
        match &self.token {
            Some(token) => format!("{token}-{}", self.seen),
            None => "new".to_owned(),
        }
    }
}

impl SessionContext {
    pub(crate) fn emit(&self, event: ConnectionEvent) {
        let _ = self.events.send(event);
    }

    /// Fails every request waiting for its reply: the connection that
    /// carried them is gone and nobody will answer.
    pub(crate) fn fail_pending(&mut self) {
        for (_, waiter) in self.pending.drain() {
            let _ = waiter.send(Err(crate::ClientError::ConnectionLost));
        }
    }
}
