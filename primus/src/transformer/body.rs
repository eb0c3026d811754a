//! Request bodies of the polling transports (engine.io's POST, SockJS'
//! `xhr_send`): read within a deadline, at most a limit, each chunk counted
//! against the server's budget for partly received messages as it arrives,
//! and the count kept ([`Held`]) until the session has taken the messages.

use crate::pipeline::InboundBudget;
use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use std::time::Duration;

/// How long a client may take to send one request body.
pub(super) const BODY_DEADLINE: Duration = Duration::from_secs(30);

/// Bytes of the inbound budget held by a body (or the messages made from
/// it); given back when dropped.
#[derive(Debug)]
pub(super) struct Held {
    budget: InboundBudget,
    bytes: usize,
}

impl Held {
    /// Nothing held (messages that did not come from a request body).
    pub(super) fn nothing(budget: &InboundBudget) -> Held {
        Held {
            budget: budget.clone(),
            bytes: 0,
        }
    }
}

impl Drop for Held {
    fn drop(&mut self) {
        self.budget.complete(&mut self.bytes);
    }
}

/// Why a body was not read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum BodyError {
    /// Longer than the limit.
    TooLarge,
    /// Not complete within [`BODY_DEADLINE`].
    TimedOut,
    /// The server's budget for partly received messages is spent.
    Busy,
    /// The connection failed.
    Failed,
}

impl BodyError {
    /// The plain-text answer to a body that was not read (SockJS'
    /// `xhr_send`, BrowserChannel's forward requests; engine.io answers
    /// with its own error packets).
    pub(super) fn plain_response(self) -> axum::response::Response {
        use http::StatusCode;
        match self {
            BodyError::TooLarge => super::reply::plain(StatusCode::PAYLOAD_TOO_LARGE, "Payload Too Large"),
            BodyError::TimedOut => super::reply::plain(StatusCode::REQUEST_TIMEOUT, "Request Timeout"),
            BodyError::Busy => super::reply::plain(StatusCode::SERVICE_UNAVAILABLE, "Server busy"),
            BodyError::Failed => super::reply::plain(StatusCode::BAD_REQUEST, "Bad request"),
        }
    }
}

/// Reads `body` (at most `limit` bytes within [`BODY_DEADLINE`]), holding
/// its bytes in `budget` as they arrive.
pub(super) async fn read(
    body: axum::body::Body,
    limit: usize,
    budget: &InboundBudget,
) -> Result<(Bytes, Held), BodyError> {
    let mut held = Held::nothing(budget);
    let reading = async {
        let mut stream = body.into_data_stream();
        let mut out = BytesMut::new();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|_| BodyError::Failed)?;
            if out.len() + chunk.len() > limit {
                return Err(BodyError::TooLarge);
            }
            budget
                .receive(&mut held.bytes, chunk.len())
                .map_err(|_| BodyError::Busy)?;
            out.extend_from_slice(&chunk);
        }
        Ok(out.freeze())
    };
    match tokio::time::timeout(BODY_DEADLINE, reading).await {
        Ok(Ok(bytes)) => Ok((bytes, held)),
        Ok(Err(error)) => Err(error),
        Err(_) => Err(BodyError::TimedOut),
    }
}
