//! The authorization hook, with Primus' HTTP semantics.
//!
//! One async function decides, given the request as an
//! [`HttpRequest`] (the same type middleware
//! layers see), for every upgrade and every plain HTTP request under the
//! pathname (except `/spec`, `/primus.js` and CORS
//! preflights, which are answered earlier), whether the request may go on.
//! A rejection becomes the response Primus writes:
//!
//! * status [`AuthError::status`] (default 401),
//! * `Content-Type: application/json` with the body `{"error":"<message>"}`,
//! * `WWW-Authenticate: <authenticate>` only for a 401 that sets it,
//! * on an upgrade also `Connection: close`; the socket is not upgraded.

use crate::middleware::HttpRequest;
use futures_util::future::BoxFuture;
use http::StatusCode;
use std::future::Future;
use std::sync::Arc;

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

pub(crate) type Authorizer =
    Arc<dyn Fn(HttpRequest) -> BoxFuture<'static, Result<(), AuthError>> + Send + Sync>;

pub(crate) fn authorizer<F, Fut>(hook: F) -> Authorizer
where
    F: Fn(HttpRequest) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), AuthError>> + Send + 'static,
{
    Arc::new(move |request| Box::pin(hook(request)))
}
