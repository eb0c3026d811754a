//! Reading the server's heartbeat interval from `GET <pathname>/spec`, to
//! derive the ping timeout as Primus' served client library does
//! (`interval + round(interval / 2)`).

use crate::stream::{OpenFailure, TlsSetting};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::http::{HeaderName, HeaderValue};

/// Where the spec is read, over the same stream (TLS included) and with
/// the same extra headers as the WebSocket upgrade.
pub(crate) struct SpecRequest<'a> {
    /// The client's `ws://` or `wss://` URL.
    pub(crate) url: &'a url::Url,
    pub(crate) tls: &'a TlsSetting,
    pub(crate) headers: &'a [(HeaderName, HeaderValue)],
}

/// The most bytes read from the spec response.
const LIMIT: usize = 16 * 1024;

/// The ping timeout for a server, or `None` when it sends no heartbeats or
/// the spec cannot be read within `wait`.
pub(crate) async fn ping_timeout(spec: SpecRequest<'_>, wait: Duration) -> Option<Duration> {
    match tokio::time::timeout(wait, ping_interval(spec)).await {
        Ok(Ok(Some(interval))) => {
            Some(interval + Duration::from_millis((interval.as_millis() as u64).div_ceil(2)))
        }
        Ok(Ok(None)) => None,
        Ok(Err(error)) => {
            tracing::debug!(%error, "could not read the server spec; no ping timeout");
            None
        }
        Err(_) => {
            tracing::debug!("reading the server spec timed out; no ping timeout");
            None
        }
    }
}

async fn ping_interval(spec: SpecRequest<'_>) -> std::io::Result<Option<Duration>> {
    let invalid = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_owned());
    let ws_url = spec.url;
    let host = ws_url.host_str().ok_or_else(|| invalid("no host"))?;
    let mut stream = match crate::stream::open(ws_url, spec.tls).await {
        Ok(stream) => stream,
        Err(OpenFailure::Retry(error) | OpenFailure::Fatal(error)) => {
            return Err(invalid(&error.to_string()))
        }
    };
    let mut request = format!(
        "GET {}/spec HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nAccept: application/json\r\n",
        ws_url.path(),
        match ws_url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        }
    );
    for (name, value) in spec.headers {
        if let Ok(value) = value.to_str() {
            request.push_str(&format!("{name}: {value}\r\n"));
        }
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    // A TLS peer may close without `close_notify`: what was read counts.
    let read = (&mut stream).take(LIMIT as u64).read_to_end(&mut response).await;
    if let Err(error) = read {
        if response.is_empty() {
            return Err(error);
        }
    }
    let text = String::from_utf8_lossy(&response);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| invalid("no HTTP body"))?;
    if !head.starts_with("HTTP/1.1 200") && !head.starts_with("HTTP/1.0 200") {
        return Err(invalid("the spec was not served"));
    }
    let spec: serde_json::Value = serde_json::from_str(body.trim()).map_err(|e| invalid(&e.to_string()))?;
    Ok(spec
        .get("pingInterval")
        .and_then(serde_json::Value::as_u64)
        .filter(|ms| *ms > 0)
        .map(Duration::from_millis))
}
