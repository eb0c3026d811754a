//! The request a middleware layer and the authorization hook see.

use crate::spark::{Address, Query, RequestExtensions};
use http::request::Parts;
use http::{HeaderMap, Method, Uri};

/// An HTTP request under the pathname, as middleware layers and the
/// authorization hook see it: a snapshot of the request line and headers,
/// the parsed query and the client's address.
///
/// ```
/// use primus::middleware::HttpRequest;
/// use primus::spark::Address;
///
/// let (parts, ()) = http::Request::get("/primus?token=abc").body(()).unwrap().into_parts();
/// let request = HttpRequest::from_parts(&parts, Address::default(), false);
/// assert_eq!(request.query.get("token"), Some("abc"));
/// assert!(!request.upgrade);
/// ```
#[derive(Debug, Clone)]
pub struct HttpRequest {
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
    /// True for a request the transformer answers (a WebSocket upgrade),
    /// false for a plain HTTP request.
    pub upgrade: bool,
    /// Shared by every view of this request: what the spark it opens starts with.
    extensions: RequestExtensions,
}

impl HttpRequest {
    /// A snapshot of `parts`.
    pub fn from_parts(parts: &Parts, address: Address, upgrade: bool) -> HttpRequest {
        HttpRequest {
            method: parts.method.clone(),
            uri: parts.uri.clone(),
            headers: parts.headers.clone(),
            query: Query::parse(parts.uri.query().unwrap_or("")),
            address,
            upgrade,
            extensions: RequestExtensions::default(),
        }
    }

    /// This view of the request, writing its extensions into `extensions`
    /// (one set per request, shared by the hook and every layer).
    pub(crate) fn sharing(mut self, extensions: &RequestExtensions) -> HttpRequest {
        self.extensions = extensions.clone();
        self
    }

    /// Stores `value` for the spark this request opens (an upgrade, or the
    /// first request of a polling session): the authorization hook's way
    /// to say who the client is. Handlers read it with
    /// [`Spark::extension`](crate::Spark::extension) or take it as
    /// `Extension<T>`. On a request that opens no spark it is dropped.
    ///
    /// ```
    /// use primus::middleware::HttpRequest;
    /// use primus::spark::Address;
    ///
    /// #[derive(Clone)]
    /// struct User { name: String }
    ///
    /// let (parts, ()) = http::Request::get("/primus?token=abc").body(()).unwrap().into_parts();
    /// let request = HttpRequest::from_parts(&parts, Address::default(), true);
    /// request.set_extension(User { name: "ada".into() });
    /// ```
    pub fn set_extension<T: Clone + Send + Sync + 'static>(&self, value: T) {
        self.extensions.insert(value);
    }
}
