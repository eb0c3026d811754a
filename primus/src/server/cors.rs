//! CORS with Primus' defaults (npm `access-control`).
//!
//! Applied only to plain HTTP requests that carry an `Origin` header, never
//! to upgrades. With the defaults every origin is allowed and echoed back
//! with `Access-Control-Allow-Credentials: true`; a preflight (`OPTIONS` with
//! `Access-Control-Request-Method`) is answered `200` right away; a request
//! that breaks the rules gets `403` with a plain-text explanation.

use http::header::{self, HeaderMap, HeaderName, HeaderValue};
use http::{Method, StatusCode};
use std::time::Duration;

/// CORS settings (Primus options `origins`, `methods`, `credentials`,
/// `maxAge`, `headers`, `exposed`).
///
/// ```
/// use primus::Cors;
/// use std::time::Duration;
///
/// let cors = Cors::default()
///     .origins(["https://example.com"])
///     .max_age(Duration::from_secs(600))
///     .expose_headers(["x-request-id"]);
/// # let _ = cors;
/// ```
#[derive(Debug, Clone)]
pub struct Cors {
    origins: Option<Vec<String>>,
    methods: Vec<Method>,
    credentials: bool,
    max_age: Duration,
    headers: Vec<String>,
    exposed: Vec<String>,
}

impl Default for Cors {
    /// Any origin; `GET, HEAD, PUT, POST, DELETE, OPTIONS`; credentials; 30 days.
    fn default() -> Cors {
        Cors {
            origins: None,
            methods: vec![
                Method::GET,
                Method::HEAD,
                Method::PUT,
                Method::POST,
                Method::DELETE,
                Method::OPTIONS,
            ],
            credentials: true,
            max_age: Duration::from_secs(30 * 24 * 60 * 60),
            headers: Vec::new(),
            exposed: Vec::new(),
        }
    }
}

impl Cors {
    /// Allows only these origins (exact match, e.g. `https://example.com`).
    pub fn origins<I, S>(mut self, origins: I) -> Cors
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.origins = Some(origins.into_iter().map(Into::into).collect());
        self
    }

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

    /// How long a preflight may be cached (default 30 days).
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

    /// Decides what CORS does with a plain HTTP request.
    pub(crate) fn check(&self, method: &Method, headers: &HeaderMap) -> CorsOutcome {
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
        let origin_ok = !origin.contains('%')
            && (origin == "null" || origin.contains("://"))
            && self
                .origins
                .as_ref()
                .is_none_or(|list| list.iter().any(|o| o == origin));
        if !origin_ok || !self.methods.contains(checked_method) {
            return CorsOutcome::Reject(format!(
                "Invalid HTTP Access Control (CORS) request:\n  Origin: {origin}\n  Method: {checked_method}"
            ));
        }

        let mut out = HeaderMap::new();
        if self.origins.is_none() && !self.credentials {
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
