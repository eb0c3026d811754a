//! The authorization hook, with Primus' HTTP semantics.
//!
//! One async function decides, for every upgrade and every plain HTTP
//! request under the pathname (except `/spec`, `/primus.js` and CORS
//! preflights, which are answered earlier), whether the request may go on.
//! A rejection becomes the response Primus writes:
//!
//! * status [`AuthError::status`] (default 401),
//! * `Content-Type: application/json` with the body `{"error":"<message>"}`,
//! * `WWW-Authenticate: <authenticate>` only for a 401 that sets it,
//! * on an upgrade also `Connection: close`; the socket is not upgraded.

use crate::spark::{Address, Query};
use http::{HeaderMap, Method, StatusCode, Uri};
use std::future::Future;
use std::sync::Arc;

use super::handlers::BoxFuture;

/// The request being authorized.
#[derive(Debug, Clone)]
pub struct AuthRequest {
    /// Request method.
    pub method: Method,
    /// Request URI (path and query).
    pub uri: Uri,
    /// Request headers.
    pub headers: HeaderMap,
    /// Parsed query string.
    pub query: Query,
    /// Client address (proxy headers honoured like [`Spark::address`](crate::Spark::address)).
    pub address: Address,
    /// True for a WebSocket upgrade, false for a plain HTTP request.
    pub upgrade: bool,
}

/// A rejection from the authorization hook.
///
/// ```
/// use primus::AuthError;
/// use http::StatusCode;
///
/// let basic = AuthError::new("Authentication required").authenticate(r#"Basic realm="x""#);
/// assert_eq!(basic.status(), StatusCode::UNAUTHORIZED);
/// let forbidden = AuthError::new("Go away!").with_status(StatusCode::FORBIDDEN);
/// assert_eq!(forbidden.to_string(), "Go away!");
/// ```
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct AuthError {
    message: String,
    status: StatusCode,
    authenticate: Option<String>,
}

impl AuthError {
    /// A 401 rejection with this message (sent as `{"error": message}`).
    pub fn new(message: impl Into<String>) -> AuthError {
        AuthError {
            message: message.into(),
            status: StatusCode::UNAUTHORIZED,
            authenticate: None,
        }
    }

    /// Uses another status code (Primus' `statusCode`).
    pub fn with_status(mut self, status: StatusCode) -> AuthError {
        self.status = status;
        self
    }

    /// Sets the `WWW-Authenticate` challenge (sent only with status 401).
    pub fn authenticate(mut self, challenge: impl Into<String>) -> AuthError {
        self.authenticate = Some(challenge.into());
        self
    }

    /// The response status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The message sent as `{"error": message}`.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The challenge sent as `WWW-Authenticate`, when the status is 401.
    pub fn challenge(&self) -> Option<&str> {
        match self.status {
            StatusCode::UNAUTHORIZED => self.authenticate.as_deref(),
            _ => None,
        }
    }
}

pub(crate) type Authorizer = Arc<dyn Fn(AuthRequest) -> BoxFuture<Result<(), AuthError>> + Send + Sync>;

pub(crate) fn authorizer<F, Fut>(hook: F) -> Authorizer
where
    F: Fn(AuthRequest) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), AuthError>> + Send + 'static,
{
    Arc::new(move |request| Box::pin(hook(request)))
}
