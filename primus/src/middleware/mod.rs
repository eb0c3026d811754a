//! Middleware: named layers that run for HTTP requests and upgrades under
//! the pathname, before the transformer, as Primus' `primus.use(..)`.
//!
//! The stack starts with the built-ins, each a named layer you can
//! disable, remove or replace: `origin`, `cors`, `primus.js`, `spec`,
//! `x-xss`, `no-cache`, `authorization` (in that order; Primus' order, with
//! `origin` first). Your layers are appended (or inserted at an index).
//! Each layer says whether it runs for plain HTTP requests, for WebSocket
//! upgrades, or both; the built-ins run for plain HTTP only, except
//! `origin`, which runs for upgrades only (it refuses foreign origins, see
//! [`Origins`](crate::server::Origins)), and `authorization`, which runs
//! for both.
//!
//! A layer either lets the request go on ([`Outcome::Continue`], optionally
//! adding response headers) or answers it itself ([`Outcome::Respond`]),
//! which stops the chain: for an upgrade, the answer is sent instead of
//! the `101`.
//!
//! The same [`HttpRequest`] is what the authorization hook
//! ([`ServerBuilder::authorize`](crate::ServerBuilder::authorize)) decides on.
//!
//! ```no_run
//! use primus::middleware::{HttpRequest, Outcome};
//! use http::StatusCode;
//!
//! /// Upgrades only for clients that say who they are.
//! #[primus::middleware(name = "client-name", http = false, upgrade = true)]
//! async fn client_name(request: HttpRequest) -> Outcome {
//!     match request.query.get("client") {
//!         Some(_) => Outcome::Continue,
//!         None => Outcome::respond(StatusCode::BAD_REQUEST, "add ?client=<name>"),
//!     }
//! }
//!
//! # async fn demo(server: primus::Server) -> Result<(), primus::middleware::MiddlewareError> {
//! // At run time, like Primus' primus.use / remove / disable / enable:
//! let stack = server.middleware();
//! stack.disable("x-xss")?;
//! stack.remove("no-cache")?;
//! assert!(!stack.is_enabled("x-xss"));
//! # Ok::<(), primus::middleware::MiddlewareError>(())
//! # }
//! ```

mod request;
mod stack;

pub use self::request::HttpRequest;
pub(crate) use self::stack::{builtins, Builtin, Kind, Layer};
pub use self::stack::{MiddlewareError, Stack};

use axum::body::Body;
use axum::response::Response;
use futures_util::future::BoxFuture;
use http::{HeaderMap, HeaderValue, StatusCode};
use std::future::Future;
use std::sync::Arc;

/// What a layer decided.
#[derive(Debug)]
pub enum Outcome {
    /// Go on to the next layer.
    Continue,
    /// Go on, adding these headers to the eventual response (plain HTTP).
    ContinueWith(HeaderMap),
    /// Answer the request now; no later layer runs.
    Respond(Response),
}

impl Outcome {
    /// Answers with a status and a plain-text body.
    ///
    /// ```
    /// let outcome = primus::middleware::Outcome::respond(http::StatusCode::TOO_MANY_REQUESTS, "slow down");
    /// assert!(matches!(outcome, primus::middleware::Outcome::Respond(_)));
    /// ```
    pub fn respond(status: StatusCode, body: impl Into<String>) -> Outcome {
        let mut response = Response::new(Body::from(body.into()));
        *response.status_mut() = status;
        response.headers_mut().insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("text/plain; charset=utf-8"),
        );
        Outcome::Respond(response)
    }
}

/// The argument of a middleware function: only [`HttpRequest`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the argument of a middleware",
    label = "take `primus::middleware::HttpRequest` here",
    note = "a middleware is `async fn(request: primus::middleware::HttpRequest) -> Outcome`"
)]
pub trait MiddlewareArgument: Sized {
    /// Converts the request.
    fn from_request(request: HttpRequest) -> Self;
}

impl MiddlewareArgument for HttpRequest {
    fn from_request(request: HttpRequest) -> HttpRequest {
        request
    }
}

/// What a middleware function may return.
#[diagnostic::on_unimplemented(
    message = "a middleware cannot return `{Self}`",
    note = "a middleware is `async fn(request: primus::middleware::HttpRequest) -> Outcome` (or `-> Result<(), Response>`)"
)]
pub trait IntoOutcome: Send {
    /// Converts into an [`Outcome`].
    fn into_outcome(self) -> Outcome;
}

impl IntoOutcome for Outcome {
    fn into_outcome(self) -> Outcome {
        self
    }
}

impl IntoOutcome for Result<(), Response> {
    fn into_outcome(self) -> Outcome {
        match self {
            Ok(()) => Outcome::Continue,
            Err(response) => Outcome::Respond(response),
        }
    }
}

pub(crate) type MiddlewareFn = Arc<dyn Fn(HttpRequest) -> BoxFuture<'static, Outcome> + Send + Sync>;

/// Where a layer runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Runs {
    /// For plain HTTP requests.
    pub http: bool,
    /// For WebSocket upgrades.
    pub upgrade: bool,
}

impl Default for Runs {
    /// Both.
    fn default() -> Runs {
        Runs {
            http: true,
            upgrade: true,
        }
    }
}

/// The boxed middleware function of a registration (used by generated code).
pub struct MiddlewareFnBox(pub(crate) MiddlewareFn);

impl MiddlewareFnBox {
    /// Wraps an async middleware function.
    pub fn new<F, Fut, O>(function: F) -> MiddlewareFnBox
    where
        F: Fn(HttpRequest) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = O> + Send + 'static,
        O: IntoOutcome,
    {
        MiddlewareFnBox(Arc::new(move |request| {
            let future = function(request);
            Box::pin(async move { future.await.into_outcome() })
        }))
    }
}
