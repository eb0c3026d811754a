//! Small HTTP answers the transformers share.

use axum::body::Body;
use axum::response::Response;
use futures_util::future::BoxFuture;
use http::header::{self, HeaderValue};
use http::StatusCode;

/// A `text/plain; charset=UTF-8` response.
pub(super) fn plain(status: StatusCode, body: impl Into<Body>) -> Response {
    let mut response = Response::new(body.into());
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=UTF-8"),
    );
    response
}

/// A response that is ready now, as `Transformer::accept` returns it.
pub(super) fn ready(response: Response) -> BoxFuture<'static, Response> {
    Box::pin(std::future::ready(response))
}
