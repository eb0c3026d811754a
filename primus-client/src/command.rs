//! The commands a [`Client`](crate::Client) handle sends to its connection task.

use crate::ClientError;
use primus::{Frame, Message};
use tokio::sync::oneshot;

/// What the handle asks of the task.
pub(crate) enum Command {
    Write(Frame),
    /// A value for the outgoing transforms.
    Packet(primus::transform::Packet),
    Request {
        frame: Frame,
        id: u64,
        reply: oneshot::Sender<Result<Message, ClientError>>,
    },
    Id(oneshot::Sender<String>),
    /// Start connecting (manual mode); ignored once started.
    Open,
    End,
}
