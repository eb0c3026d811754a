//! [`ClientError`]: what can go wrong in a client.

use crate::ClientRegistryError;
use primus::parser::ParserError;
use std::time::Duration;

/// Errors of the client.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The URL cannot be used.
    #[error("invalid URL {url:?}: {reason}")]
    InvalidUrl {
        /// The URL given.
        url: String,
        /// Why it cannot be used.
        reason: String,
    },
    /// The connection could not be opened.
    #[error("could not connect: {0}")]
    Connect(String),
    /// The connection did not open, or a reply did not come, in time.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// A message could not be encoded or decoded.
    #[error(transparent)]
    Parser(#[from] ParserError),
    /// The transport failed.
    #[error("transport error: {0}")]
    Transport(String),
    /// The client has ended (or ended before a reply arrived).
    #[error("the client has ended")]
    Closed,
    /// The connection was lost after the request was sent; it may or may
    /// not have been handled.
    #[error("the connection was lost before the reply arrived")]
    ConnectionLost,
    /// The server refused the connection (e.g. authorization failed).
    #[error("the server refused the connection with status {status}: {body}")]
    Refused {
        /// The HTTP status.
        status: u16,
        /// The response body (Primus sends `{"error": message}`).
        body: String,
    },
    /// Two client plugins have the same name.
    #[error("a client plugin named `{0}` was added twice; plugin names are unique")]
    DuplicatePlugin(&'static str),
    /// A transform refused a message; it was dropped.
    #[error("transform refused the message: {0}")]
    Transform(#[from] primus::transform::TransformError),
    /// The server answered a request with an error.
    #[error("the server refused the request: {0}")]
    Rejected(String),
    /// The handler registry cannot be used.
    #[error(transparent)]
    Registry(#[from] ClientRegistryError),
    /// TLS could not be set up, or the handshake failed (the server's
    /// certificate is not trusted, or it refused this client's).
    #[error("TLS: {0}")]
    Tls(String),
    /// A header given to [`ClientBuilder::header`](crate::ClientBuilder::header) is not valid HTTP.
    #[error("invalid header {name:?}: {reason}")]
    InvalidHeader {
        /// The header's name as given.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// `connect` was called outside a Tokio runtime.
    #[error("`ClientBuilder::connect` must be called inside a Tokio runtime")]
    NoRuntime,
}
