//! What the sessions of one client share.

use crate::handlers::ClientHandler;
use crate::ConnectionEvent;
use primus::parser::Parser;
use primus::Message;
use std::collections::HashMap;
use std::sync::Arc;
use tokio::sync::mpsc;

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
}

impl SessionContext {
    pub(crate) fn emit(&self, event: ConnectionEvent) {
        let _ = self.events.send(event);
    }
}
