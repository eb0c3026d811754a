//! The HTTP surface under the pathname: the middleware stack, then the
//! transformer.
//!
//! With the default stack, plain HTTP requests go through `cors` →
//! `primus.js` (also `primus.mjs`, `primus.client.d.ts`, `primus.d.ts`) →
//! `spec` → `x-xss` → `no-cache` → `authorization` → user layers →
//! `426 Upgrade Required`; requests the transformer claims (WebSocket
//! upgrades) go through `origin` → `authorization` → user layers → the
//! transformer.
//! (Proxy headers are read for the address first, like Primus'
//! `forwarded`.) See [`crate::middleware`].

use super::client_js;
use super::cors::CorsOutcome;
use super::{Server, ServerCore};
use crate::middleware::{Builtin, HttpRequest, Kind, Layer, Outcome};
use crate::spark::{Address, RequestExtensions};
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::response::Response;
use http::header::{self, HeaderMap, HeaderValue};
use http::request::Parts;
use http::{Request, StatusCode};
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

/// A tower [`Layer`](tower::Layer) that serves Primus in front of a service.
/// Made by [`Server::layer`].
#[derive(Clone)]
pub struct PrimusLayer {
    server: Server,
}

impl PrimusLayer {
    pub(crate) fn new(server: Server) -> PrimusLayer {
        PrimusLayer { server }
    }
}

impl<S> tower::Layer<S> for PrimusLayer {
    type Service = PrimusService<S>;

    fn layer(&self, inner: S) -> PrimusService<S> {
        PrimusService {
            server: self.server.clone(),
            inner,
        }
    }
}

/// The service made by [`PrimusLayer`]: Primus under the pathname, `inner`
/// for everything else.
#[derive(Clone)]
pub struct PrimusService<S> {
    server: Server,
    inner: S,
}

impl<S> tower::Service<Request<Body>> for PrimusService<S>
where
    S: tower::Service<Request<Body>, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<Body>) -> Self::Future {
        let core = self.server.core().clone();
        if !core.is_running() || !request.uri().path().starts_with(core.config.pathname.as_str()) {
            return Box::pin(self.inner.call(request));
        }
        Box::pin(async move { Ok(handle(core, request).await) })
    }
}

async fn handle(core: Arc<ServerCore>, request: Request<Body>) -> Response {
    // Only `Parts` (which is `Sync`) is borrowed across awaits; the body is
    // kept by value for the transformer.
    let (mut parts, body) = request.into_parts();
    let peer = parts.extensions.get::<ConnectInfo<SocketAddr>>().map(|c| c.0);
    let address = Address::resolve(&parts.headers, peer, core.config.trust_proxy);
    let upgrade = core.transformer.claims(&parts);
    let mut headers = HeaderMap::new();
    let extensions = RequestExtensions::default();
    if let Some(response) = run_middleware(&core, &parts, address, upgrade, &mut headers, &extensions).await {
        return response;
    }
    if upgrade {
        // What the hook and the layers set goes with the spark this opens.
        parts.extensions.insert(extensions);
        let request = Request::from_parts(parts, body);
        return core.transformer.accept(request, address, &core.connector).await;
    }
    let mut response = respond(
        StatusCode::UPGRADE_REQUIRED,
        Some("text/plain"),
        Body::from("Upgrade Required"),
    );
    response.headers_mut().extend(headers);
    response
}

/// Runs the enabled layers that apply to this request, in order. Returns
/// the response of the layer that answered, if one did; otherwise `headers`
/// holds what the layers added for the eventual response.
async fn run_middleware(
    core: &ServerCore,
    request: &Parts,
    address: Address,
    upgrade: bool,
    headers: &mut HeaderMap,
    extensions: &RequestExtensions,
) -> Option<Response> {
    let layers = core.middleware.snapshot();
    let applies = |layer: &&Layer| {
        layer.enabled
            && if upgrade {
                layer.runs.upgrade
            } else {
                layer.runs.http
            }
    };
    for layer in layers.iter().filter(applies) {
        let answer = match &layer.kind {
            Kind::Builtin(builtin) => {
                builtin_layer(*builtin, core, request, address, upgrade, headers, extensions).await
            }
            Kind::User(function) => {
                match function(HttpRequest::from_parts(request, address, upgrade).sharing(extensions)).await {
                    Outcome::Continue => None,
                    Outcome::ContinueWith(extra) => {
                        headers.extend(extra);
                        None
                    }
                    Outcome::Respond(response) => Some(response),
                }
            }
        };
        if let Some(mut response) = answer {
            if upgrade {
                response
                    .headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
            } else {
                for (name, value) in headers.iter() {
                    response.headers_mut().entry(name).or_insert(value.clone());
                }
            }
            return Some(response);
        }
    }
    None
}

/// One built-in layer; `Some` answers the request.
async fn builtin_layer(
    builtin: Builtin,
    core: &ServerCore,
    request: &Parts,
    address: Address,
    upgrade: bool,
    headers: &mut HeaderMap,
    extensions: &RequestExtensions,
) -> Option<Response> {
    let sub_path = request
        .uri
        .path()
        .strip_prefix(core.config.pathname.as_str())
        .unwrap_or("");
    match builtin {
        Builtin::Cors => match core.config.cors.check(
            &request.method,
            &request.headers,
            core.config
                .origins
                .permits_request(&request.headers, address.secure),
            core.config.origins.is_any(),
        ) {
            CorsOutcome::NotCors => None,
            CorsOutcome::Allow(allowed) => {
                headers.extend(allowed);
                None
            }
            CorsOutcome::Preflight(allowed) => {
                // A preflight is answered with exactly these headers.
                headers.clear();
                let mut response = respond(StatusCode::OK, None, Body::empty());
                response.headers_mut().extend(allowed);
                response
                    .headers_mut()
                    .insert(header::CONTENT_LENGTH, HeaderValue::from_static("0"));
                Some(response)
            }
            CorsOutcome::Reject(body) => {
                headers.clear();
                Some(respond(
                    CorsOutcome::REJECT_STATUS,
                    Some("text/plain"),
                    Body::from(body),
                ))
            }
        },
        Builtin::ClientLibrary => client_js::asset(core, sub_path)
            .map(|asset| respond(asset.status, Some(asset.content_type), Body::from(asset.body))),
        Builtin::Spec => (sub_path == "/spec").then(|| {
            respond(
                StatusCode::OK,
                Some("application/json"),
                Body::from(core.spec.clone()),
            )
        }),
        Builtin::XssProtection => {
            let agent = request
                .headers
                .get(header::USER_AGENT)
                .and_then(|a| a.to_str().ok())
                .map(str::to_ascii_lowercase)
                .unwrap_or_default();
            if agent.contains(";msie") || agent.contains("trident/") {
                headers.insert("x-xss-protection", HeaderValue::from_static("0"));
            }
            None
        }
        Builtin::NoCache => {
            headers.insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("no-store, no-cache, must-revalidate, max-age=0"),
            );
            headers.insert(header::PRAGMA, HeaderValue::from_static("no-cache"));
            None
        }
        Builtin::Origin => (!core
            .config
            .origins
            .permits_request(&request.headers, address.secure))
        .then(|| {
            tracing::debug!(
                origin = ?request.headers.get(header::ORIGIN),
                "upgrade from a foreign origin refused"
            );
            respond(
                StatusCode::FORBIDDEN,
                Some("text/plain"),
                Body::from("Origin not allowed"),
            )
        }),
        Builtin::Authorization => authorize(core, request, address, upgrade, extensions).await.err(),
    }
}

/// Runs the authorization hook; `Err` holds the rejection response.
async fn authorize(
    core: &ServerCore,
    request: &Parts,
    address: Address,
    upgrade: bool,
    extensions: &RequestExtensions,
) -> Result<(), Response> {
    let Some(authorizer) = &core.authorizer else {
        return Ok(());
    };
    let view = HttpRequest::from_parts(request, address, upgrade).sharing(extensions);
    let Err(error) = authorizer(view).await else {
        return Ok(());
    };
    tracing::debug!(%error, status = %error.status(), upgrade, "request not authorized");
    crate::telemetry::auth_refused();
    let body = serde_json::json!({ "error": error.message() }).to_string();
    let mut response = respond(error.status(), Some("application/json"), Body::from(body));
    if let Some(challenge) = error.challenge().and_then(|c| HeaderValue::from_str(c).ok()) {
        response.headers_mut().insert(header::WWW_AUTHENTICATE, challenge);
    }
    if upgrade {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    Err(response)
}

fn respond(status: StatusCode, content_type: Option<&'static str>, body: Body) -> Response {
    let mut response = Response::new(body);
    *response.status_mut() = status;
    if let Some(content_type) = content_type {
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    }
    response
}
