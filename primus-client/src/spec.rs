//! Reading the server's heartbeat interval from `GET <pathname>/spec`, to
//! derive the ping timeout as Primus' served client library does
//! (`interval + round(interval / 2)`).

use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// The most bytes read from the spec response.
const LIMIT: usize = 16 * 1024;

/// The ping timeout for a server, or `None` when it sends no heartbeats or
/// the spec cannot be read within `wait`.
pub(crate) async fn ping_timeout(ws_url: &url::Url, wait: Duration) -> Option<Duration> {
    match tokio::time::timeout(wait, ping_interval(ws_url)).await {
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

async fn ping_interval(ws_url: &url::Url) -> std::io::Result<Option<Duration>> {
    let invalid = |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_owned());
    let host = ws_url.host_str().ok_or_else(|| invalid("no host"))?;
    let port = ws_url.port_or_known_default().unwrap_or(80);
    let mut stream = TcpStream::connect((host, port)).await?;
    let request = format!(
        "GET {}/spec HTTP/1.1\r\nHost: {}\r\nConnection: close\r\nAccept: application/json\r\n\r\n",
        ws_url.path(),
        match ws_url.port() {
            Some(port) => format!("{host}:{port}"),
            None => host.to_owned(),
        }
    );
    stream.write_all(request.as_bytes()).await?;
    let mut response = Vec::new();
    (&mut stream)
        .take(LIMIT as u64)
        .read_to_end(&mut response)
        .await?;
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
