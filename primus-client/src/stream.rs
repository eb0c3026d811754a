//! Opening the byte stream under a connection: TCP, then TLS for `wss://`.
//! The WebSocket upgrade and the `/spec` request both run over it.

use crate::ClientError;
use std::sync::Arc;
use tokio::net::TcpStream;
use tokio_tungstenite::MaybeTlsStream;

/// What a connection's bytes travel over.
pub(crate) type ClientStream = MaybeTlsStream<TcpStream>;

/// The TLS configuration a client connects with (`None` without the `tls`
/// feature, where `wss://` URLs are refused when the client is built).
#[cfg(feature = "tls")]
pub(crate) type TlsSetting = Option<Arc<rustls::ClientConfig>>;
#[cfg(not(feature = "tls"))]
pub(crate) type TlsSetting = Option<Arc<()>>;

/// Why a stream could not be opened.
pub(crate) enum OpenFailure {
    /// Worth another attempt (refused, reset, unreachable).
    Retry(ClientError),
    /// Not worth another attempt (the server's certificate was refused).
    Fatal(ClientError),
}

/// Connects to the host and port of `url` (a `ws://` or `wss://` URL),
/// with TLS when it is `wss://`.
pub(crate) async fn open(url: &url::Url, tls: &TlsSetting) -> Result<ClientStream, OpenFailure> {
    let host = url
        .host_str()
        .ok_or_else(|| OpenFailure::Fatal(ClientError::Connect("the URL has no host".to_owned())))?;
    let port = url.port_or_known_default().unwrap_or(80);
    // `[::1]` in a URL is `::1` to connect to.
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let tcp = TcpStream::connect((host, port))
        .await
        .map_err(|error| OpenFailure::Retry(ClientError::Connect(error.to_string())))?;
    // Small writes must not wait for Nagle's algorithm.
    let _ = tcp.set_nodelay(true);
    if url.scheme() != "wss" {
        return Ok(MaybeTlsStream::Plain(tcp));
    }
    secure(tcp, host, tls).await
}

#[cfg(feature = "tls")]
async fn secure(tcp: TcpStream, host: &str, tls: &TlsSetting) -> Result<ClientStream, OpenFailure> {
    let config = tls
        .clone()
        .ok_or_else(|| OpenFailure::Fatal(ClientError::Tls("no TLS configuration".to_owned())))?;
    let name = rustls_pki_types::ServerName::try_from(host.to_owned()).map_err(|_| {
        OpenFailure::Fatal(ClientError::Tls(format!(
            "`{host}` is not a valid TLS server name"
        )))
    })?;
    match tokio_rustls::TlsConnector::from(config).connect(name, tcp).await {
        Ok(stream) => Ok(MaybeTlsStream::Rustls(stream)),
        Err(error) => match crate::tls::handshake_failure(&error) {
            Some(failure) => Err(OpenFailure::Fatal(ClientError::Tls(failure))),
            None => Err(OpenFailure::Retry(ClientError::Connect(error.to_string()))),
        },
    }
}

#[cfg(not(feature = "tls"))]
async fn secure(_tcp: TcpStream, _host: &str, _tls: &TlsSetting) -> Result<ClientStream, OpenFailure> {
    Err(OpenFailure::Fatal(ClientError::Tls(
        "primus-client was built without its `tls` feature".to_owned(),
    )))
}
