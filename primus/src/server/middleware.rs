//! Middleware: named layers that run for HTTP requests and upgrades under
//! the pathname, before the transformer, as Primus' `primus.use(..)`.
//!
//! The stack starts with the built-ins, each a named layer you can
//! disable, remove or replace: `cors`, `primus.js`, `spec`, `x-xss`,
//! `no-cache`, `authorization` (in that order, Primus' order). Your layers
//! are appended (or inserted at an index). Each layer says whether it runs
//! for plain HTTP requests, for WebSocket upgrades, or both; the built-ins
//! run for plain HTTP only, except `authorization`, which runs for both.
//!
//! A layer either lets the request go on ([`Outcome::Continue`], optionally
//! adding response headers) or answers it itself ([`Outcome::Respond`]),
//! which stops the chain: for an upgrade, the answer is sent instead of
//! the `101`.
//!
//! ```no_run
//! use primus::server::middleware::{Outcome, Request};
//! use http::StatusCode;
//!
//! /// Refuses upgrades from other origins.
//! #[primus::middleware(name = "origin", http = false, upgrade = true)]
//! async fn same_origin(request: Request) -> Outcome {
//!     match request.headers.get("origin").and_then(|o| o.to_str().ok()) {
//!         None | Some("https://chat.example") => Outcome::Continue,
//!         Some(_) => Outcome::respond(StatusCode::FORBIDDEN, "cross-origin upgrade refused"),
//!     }
//! }
//!
//! # async fn demo(server: primus::Server) {
//! // At run time, like Primus' primus.use / remove / disable / enable:
//! let stack = server.middleware();
//! stack.disable("x-xss");
//! stack.remove("no-cache");
//! assert!(stack.names().contains(&"origin".to_owned()) || true);
//! # }
//! ```

use super::handlers::BoxFuture;
use crate::spark::{Address, Query};
use axum::body::Body;
use axum::response::Response;
use http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use std::future::Future;
use std::sync::{Arc, RwLock};

/// What a middleware layer sees.
#[derive(Debug, Clone)]
pub struct Request {
    /// Request method.
    pub method: Method,
    /// Request URI (path and query).
    pub uri: Uri,
    /// Request headers.
    pub headers: HeaderMap,
    /// Parsed query string.
    pub query: Query,
    /// Client address (proxy headers honoured).
    pub address: Address,
    /// True for a WebSocket upgrade.
    pub upgrade: bool,
}

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
    /// let outcome = primus::server::middleware::Outcome::respond(http::StatusCode::TOO_MANY_REQUESTS, "slow down");
    /// assert!(matches!(outcome, primus::server::middleware::Outcome::Respond(_)));
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

/// The argument of a middleware function: only [`Request`].
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be the argument of a middleware",
    label = "take `primus::server::middleware::Request` here",
    note = "a middleware is `async fn(request: primus::server::middleware::Request) -> Outcome`"
)]
pub trait MiddlewareArgument: Sized {
    /// Converts the request.
    fn from_request(request: Request) -> Self;
}

impl MiddlewareArgument for Request {
    fn from_request(request: Request) -> Request {
        request
    }
}

/// What a middleware function may return.
#[diagnostic::on_unimplemented(
    message = "a middleware cannot return `{Self}`",
    note = "a middleware is `async fn(request: primus::server::middleware::Request) -> Outcome` (or `-> Result<(), Response>`)"
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

pub(crate) type MiddlewareFn = Arc<dyn Fn(Request) -> BoxFuture<Outcome> + Send + Sync>;

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

/// The built-in layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Builtin {
    Cors,
    ClientLibrary,
    Spec,
    XssProtection,
    NoCache,
    Authorization,
}

#[derive(Clone)]
pub(crate) enum Kind {
    Builtin(Builtin),
    User(MiddlewareFn),
}

/// One layer of the stack.
#[derive(Clone)]
pub(crate) struct Layer {
    pub(crate) name: String,
    pub(crate) kind: Kind,
    pub(crate) runs: Runs,
    pub(crate) enabled: bool,
}

impl Layer {
    fn builtin(name: &str, builtin: Builtin, upgrade: bool) -> Layer {
        Layer {
            name: name.to_owned(),
            kind: Kind::Builtin(builtin),
            runs: Runs { http: true, upgrade },
            enabled: true,
        }
    }

    pub(crate) fn user<F, Fut, O>(name: &str, runs: Runs, function: F) -> Layer
    where
        F: Fn(Request) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = O> + Send + 'static,
        O: IntoOutcome,
    {
        Layer {
            name: name.to_owned(),
            kind: Kind::User(Arc::new(move |request| {
                let future = function(request);
                Box::pin(async move { future.await.into_outcome() })
            })),
            runs,
            enabled: true,
        }
    }
}

/// The default stack: Primus' built-ins in Primus' order.
pub(crate) fn builtins() -> Vec<Layer> {
    vec![
        Layer::builtin("cors", Builtin::Cors, false),
        Layer::builtin("primus.js", Builtin::ClientLibrary, false),
        Layer::builtin("spec", Builtin::Spec, false),
        Layer::builtin("x-xss", Builtin::XssProtection, false),
        Layer::builtin("no-cache", Builtin::NoCache, false),
        Layer::builtin("authorization", Builtin::Authorization, true),
    ]
}

/// Why a stack change was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum MiddlewareError {
    /// A layer with this name exists.
    #[error("a middleware named `{0}` is already in the stack; remove it first to replace it")]
    Duplicate(String),
    /// No layer has this name.
    #[error("no middleware named `{0}`")]
    Unknown(String),
}

/// The middleware stack of a running server (from [`Server::middleware`](crate::Server::middleware)).
#[derive(Clone)]
pub struct Stack {
    pub(crate) layers: Arc<RwLock<Arc<Vec<Layer>>>>,
}

impl Stack {
    pub(crate) fn new(layers: Vec<Layer>) -> Stack {
        Stack {
            layers: Arc::new(RwLock::new(Arc::new(layers))),
        }
    }

    /// A snapshot for one request.
    pub(crate) fn snapshot(&self) -> Arc<Vec<Layer>> {
        self.layers.read().map(|l| l.clone()).unwrap_or_default()
    }

    fn change<T>(&self, edit: impl FnOnce(&mut Vec<Layer>) -> T) -> T {
        let mut guard = match self.layers.write() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        let mut next = Vec::clone(&guard);
        let result = edit(&mut next);
        *guard = Arc::new(next);
        result
    }

    /// Appends a layer (Primus' `primus.use(name, fn)`).
    pub fn use_layer<F, Fut, O>(&self, name: &str, runs: Runs, function: F) -> Result<(), MiddlewareError>
    where
        F: Fn(Request) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = O> + Send + 'static,
        O: IntoOutcome,
    {
        self.insert_layer(usize::MAX, Layer::user(name, runs, function))
    }

    /// Inserts a layer at `index` (Primus' `primus.use(name, fn, options, index)`);
    /// an index past the end appends.
    pub fn insert<F, Fut, O>(
        &self,
        index: usize,
        name: &str,
        runs: Runs,
        function: F,
    ) -> Result<(), MiddlewareError>
    where
        F: Fn(Request) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = O> + Send + 'static,
        O: IntoOutcome,
    {
        self.insert_layer(index, Layer::user(name, runs, function))
    }

    pub(crate) fn insert_layer(&self, index: usize, layer: Layer) -> Result<(), MiddlewareError> {
        self.change(|layers| {
            if layers.iter().any(|l| l.name == layer.name) {
                return Err(MiddlewareError::Duplicate(layer.name));
            }
            let index = index.min(layers.len());
            layers.insert(index, layer);
            Ok(())
        })
    }

    /// Removes a layer (built-ins too).
    pub fn remove(&self, name: &str) -> Result<(), MiddlewareError> {
        self.change(|layers| {
            let before = layers.len();
            layers.retain(|l| l.name != name);
            match layers.len() == before {
                true => Err(MiddlewareError::Unknown(name.to_owned())),
                false => Ok(()),
            }
        })
    }

    /// Skips a layer until it is enabled again.
    pub fn disable(&self, name: &str) -> Result<(), MiddlewareError> {
        self.set_enabled(name, false)
    }

    /// Runs a disabled layer again.
    pub fn enable(&self, name: &str) -> Result<(), MiddlewareError> {
        self.set_enabled(name, true)
    }

    fn set_enabled(&self, name: &str, enabled: bool) -> Result<(), MiddlewareError> {
        self.change(|layers| match layers.iter_mut().find(|l| l.name == name) {
            Some(layer) => {
                layer.enabled = enabled;
                Ok(())
            }
            None => Err(MiddlewareError::Unknown(name.to_owned())),
        })
    }

    /// The layer names, in order (disabled ones included).
    pub fn names(&self) -> Vec<String> {
        self.snapshot().iter().map(|l| l.name.clone()).collect()
    }

    /// True when the layer exists and is enabled.
    pub fn is_enabled(&self, name: &str) -> bool {
        self.snapshot().iter().any(|l| l.name == name && l.enabled)
    }
}

/// A middleware declared with `#[primus::middleware]`.
pub struct MiddlewareRegistration {
    /// Its name.
    pub name: &'static str,
    /// Where it runs.
    pub runs: Runs,
    /// Order among registered middleware (then name).
    pub order: i32,
    /// Builds the layer.
    pub make: fn() -> MiddlewareFnBox,
}

/// The boxed middleware function of a registration (used by generated code).
pub struct MiddlewareFnBox(pub(crate) MiddlewareFn);

impl MiddlewareFnBox {
    /// Wraps an async middleware function.
    pub fn new<F, Fut, O>(function: F) -> MiddlewareFnBox
    where
        F: Fn(Request) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = O> + Send + 'static,
        O: IntoOutcome,
    {
        MiddlewareFnBox(Arc::new(move |request| {
            let future = function(request);
            Box::pin(async move { future.await.into_outcome() })
        }))
    }
}

inventory::collect!(MiddlewareRegistration);

/// True when at least one middleware is registered.
pub(crate) fn any_registered() -> bool {
    inventory::iter::<MiddlewareRegistration>
        .into_iter()
        .next()
        .is_some()
}

/// Every registered middleware, as layers, by `order` then name.
pub(crate) fn registered() -> Vec<Layer> {
    let mut all: Vec<&MiddlewareRegistration> =
        inventory::iter::<MiddlewareRegistration>.into_iter().collect();
    all.sort_by_key(|r| (r.order, r.name));
    all.into_iter()
        .map(|r| Layer {
            name: r.name.to_owned(),
            kind: Kind::User((r.make)().0),
            runs: r.runs,
            enabled: true,
        })
        .collect()
}
