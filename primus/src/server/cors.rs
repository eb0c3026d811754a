//! CORS as Primus does it (npm `access-control`), for the accepted origins.
//!
//! Applied only to plain HTTP requests that carry an `Origin` header, never
//! to upgrades (the built-in `origin` middleware checks those). Which
//! origins are accepted is the server's [`Origins`](super::Origins) (by
//! default its own only); an accepted origin is echoed back with
//! `Access-Control-Allow-Credentials: true`; a preflight (`OPTIONS` with
//! `Access-Control-Request-Method`) is answered `200` right away and may be
//! cached for 10 minutes; a request from another origin, or that breaks
//! the rules, gets `403` with a plain-text explanation and no CORS headers.

use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, StatusCode};
use std::time::Duration;

/// The default time a browser may cache a preflight answer: 10 minutes
/// (Primus: 30 days).
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(10 * 60);

/// CORS settings (Primus options `methods`, `credentials`, `maxAge`,
/// `headers`, `exposed`; Primus' `origins` is
/// [`ServerBuilder::origins`](crate::ServerBuilder::origins), which also
/// guards WebSocket upgrades).
///
/// ```
/// use primus::Cors;
/// use std::time::Duration;
///
/// let cors = Cors::default()
///     .max_age(Duration::from_secs(60))
///     .expose_headers(["x-request-id"]);
/// # let _ = cors;
/// ```
#[derive(Debug, Clone)]
pub struct Cors {
    methods: Vec<Method>,
    credentials: bool,
    max_age: Duration,
    headers: Vec<String>,
    exposed: Vec<String>,
}

impl Default for Cors {
    /// `GET, HEAD, PUT, POST, DELETE, OPTIONS`; credentials; 10 minutes.
    fn default() -> Cors {
        Cors {
            methods: vec![
                Method::GET,
                Method::HEAD,
                Method::PUT,
                Method::POST,
                Method::DELETE,
                Method::OPTIONS,
            ],
            credentials: true,
            max_age: DEFAULT_MAX_AGE,
            headers: Vec::new(),
            exposed: Vec::new(),
        }
    }
}

impl Cors {
    /// Allowed methods.
    pub fn methods(mut self, methods: impl IntoIterator<Item = Method>) -> Cors {
        self.methods = methods.into_iter().collect();
        self
    }

    /// Whether to send `Access-Control-Allow-Credentials: true` (default true).
    pub fn credentials(mut self, credentials: bool) -> Cors {
        self.credentials = credentials;
        self
    }

    /// How long a preflight may be cached (default [`DEFAULT_MAX_AGE`], 10 minutes).
    pub fn max_age(mut self, max_age: Duration) -> Cors {
        self.max_age = max_age;
        self
    }

    /// Headers allowed in requests; by default the preflight's own
    /// `Access-Control-Request-Headers` are echoed.
    pub fn allow_headers<I, S>(mut self, headers: I) -> Cors
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.headers = headers.into_iter().map(Into::into).collect();
        self
    }

    /// Headers exposed to scripts (`Access-Control-Expose-Headers`).
    pub fn expose_headers<I, S>(mut self, headers: I) -> Cors
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.exposed = headers.into_iter().map(Into::into).collect();
        self
    }

    /// Decides what CORS does with a plain HTTP request, whose origin the
    /// server's [`Origins`](super::Origins) accept (`permitted`), all of
    /// them (`any`) or not.
    pub(crate) fn check(
        &self,
        method: &Method,
        headers: &HeaderMap,
        permitted: bool,
        any: bool,
    ) -> CorsOutcome {
        let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) else {
            return CorsOutcome::NotCors;
        };
        let preflight_method = match method {
            &Method::OPTIONS => headers
                .get(header::ACCESS_CONTROL_REQUEST_METHOD)
                .and_then(|m| m.to_str().ok())
                .and_then(|m| Method::from_bytes(m.as_bytes()).ok()),
            _ => None,
        };
        let checked_method = preflight_method.as_ref().unwrap_or(method);
        let origin_ok = permitted && !origin.contains('%') && (origin == "null" || origin.contains("://"));
        if !origin_ok || !self.methods.contains(checked_method) {
            return CorsOutcome::Reject(format!(
                "Invalid HTTP Access Control (CORS) request:\n  Origin: {origin}\n  Method: {checked_method}"
            ));
        }

        let mut out = HeaderMap::new();
        if any && !self.credentials {
            out.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, HeaderValue::from_static("*"));
        } else if let Ok(value) = HeaderValue::from_str(origin) {
            out.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, value);
            out.insert(header::VARY, HeaderValue::from_static("Origin"));
        }
        if self.credentials {
            out.insert(
                header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
                HeaderValue::from_static("true"),
            );
        }
        if preflight_method.is_some() {
            insert(
                &mut out,
                header::ACCESS_CONTROL_MAX_AGE,
                &self.max_age.as_secs().to_string(),
            );
            let methods: Vec<&str> = self.methods.iter().map(Method::as_str).collect();
            insert(
                &mut out,
                header::ACCESS_CONTROL_ALLOW_METHODS,
                &methods.join(", "),
            );
            let allowed = if self.headers.is_empty() {
                headers
                    .get(header::ACCESS_CONTROL_REQUEST_HEADERS)
                    .and_then(|h| h.to_str().ok())
                    .map(str::to_owned)
            } else {
                Some(self.headers.join(", "))
            };
            if let Some(allowed) = allowed {
                insert(&mut out, header::ACCESS_CONTROL_ALLOW_HEADERS, &allowed);
            }
            return CorsOutcome::Preflight(out);
        }
        if !self.exposed.is_empty() {
            insert(
                &mut out,
                header::ACCESS_CONTROL_EXPOSE_HEADERS,
                &self.exposed.join(", "),
            );
        }
        CorsOutcome::Allow(out)
    }
}

fn insert(headers: &mut HeaderMap, name: HeaderName, value: &str) {
    if let Ok(value) = HeaderValue::from_str(value) {
        headers.insert(name, value);
    }
}

/// What CORS decided.
pub(crate) enum CorsOutcome {
    /// No `Origin`: CORS does not apply.
    NotCors,
    /// Go on, adding these headers to the response.
    Allow(HeaderMap),
    /// A preflight: answer 200 with these headers and stop.
    Preflight(HeaderMap),
    /// Refuse with 403 and this plain-text body.
    Reject(String),
}

impl CorsOutcome {
    pub(crate) const REJECT_STATUS: StatusCode = StatusCode::FORBIDDEN;
}
