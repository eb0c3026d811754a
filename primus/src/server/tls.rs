//! HTTPS and WSS for [`Server::listen_tls`](super::Server::listen_tls) and
//! [`Server::serve_tls`](super::Server::serve_tls) (feature `tls`): the
//! certificate the server presents, and the handshake under the accept
//! loop's limits (the connection cap counts a connection from its first
//! byte; the handshake must finish within the handshake timeout).
//!
//! rustls with the ring provider, chosen per configuration (nothing is
//! installed process-wide). Only HTTP/1.1 is served, so only `http/1.1`
//! is offered by ALPN.

use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::path::Path;
use std::sync::Arc;

/// Why a [`ServerTls`] could not be made.
///
/// ```
/// let error = primus::server::ServerTls::from_pem(b"", b"").unwrap_err();
/// assert!(error.to_string().contains("certificate"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsSetupError {
    /// A PEM file could not be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The certificate chain has no usable `CERTIFICATE` block.
    #[error("no usable certificate in the PEM given: {0}")]
    Certificate(String),
    /// The private key is missing or cannot be read.
    #[error("no usable private key in the PEM given: {0}")]
    PrivateKey(String),
    /// rustls refused the certificate and key (for example, they do not match).
    #[error("the certificate and key cannot be used: {0}")]
    Rejected(String),
}

/// The certificate a server presents over TLS.
///
/// ```no_run
/// # async fn demo(server: primus::Server) -> Result<(), Box<dyn std::error::Error>> {
/// use primus::server::ServerTls;
///
/// let tls = ServerTls::from_pem_files("cert.pem", "key.pem")?;
/// server.listen_tls("0.0.0.0:8443", tls).await?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ServerTls {
    config: Arc<ServerConfig>,
}

impl std::fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServerTls")
            .field("alpn", &self.config.alpn_protocols)
            .finish_non_exhaustive()
    }
}

impl ServerTls {
    /// A certificate chain (`CERTIFICATE` blocks, the server's first) and its
    /// private key (PKCS#8, PKCS#1 or SEC1), as PEM text.
    ///
    /// ```no_run
    /// let tls = primus::server::ServerTls::from_pem(
    ///     &std::fs::read("cert.pem").unwrap(),
    ///     &std::fs::read("key.pem").unwrap(),
    /// );
    /// ```
    pub fn from_pem(chain_pem: &[u8], key_pem: &[u8]) -> Result<ServerTls, TlsSetupError> {
        let chain = CertificateDer::pem_slice_iter(chain_pem)
            .collect::<Result<Vec<_>, _>>()
            .map_err(|error| TlsSetupError::Certificate(error.to_string()))?;
        if chain.is_empty() {
            return Err(TlsSetupError::Certificate("no CERTIFICATE block".to_owned()));
        }
        let key = PrivateKeyDer::from_pem_slice(key_pem)
            .map_err(|error| TlsSetupError::PrivateKey(error.to_string()))?;
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let config = ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|error| TlsSetupError::Rejected(error.to_string()))?
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .map_err(|error| TlsSetupError::Rejected(error.to_string()))?;
        Ok(ServerTls::from_rustls_config(Arc::new(config)))
    }

    /// [`from_pem`](Self::from_pem) with the contents of two files.
    ///
    /// ```no_run
    /// let tls = primus::server::ServerTls::from_pem_files("cert.pem", "key.pem");
    /// ```
    pub fn from_pem_files(
        chain: impl AsRef<Path>,
        key: impl AsRef<Path>,
    ) -> Result<ServerTls, TlsSetupError> {
        let read = |path: &Path| {
            std::fs::read(path).map_err(|source| TlsSetupError::Read {
                path: path.display().to_string(),
                source,
            })
        };
        ServerTls::from_pem(&read(chain.as_ref())?, &read(key.as_ref())?)
    }

    /// A complete rustls configuration, e.g. one that asks for client
    /// certificates. Its ALPN protocols are replaced by `http/1.1` (the
    /// only protocol served).
    ///
    /// ```no_run
    /// use primus::server::{rustls, ServerTls};
    /// use std::sync::Arc;
    ///
    /// # fn demo(chain: Vec<rustls::pki_types::CertificateDer<'static>>, key: rustls::pki_types::PrivateKeyDer<'static>) {
    /// let provider = Arc::new(rustls::crypto::ring::default_provider());
    /// let config = rustls::ServerConfig::builder_with_provider(provider)
    ///     .with_safe_default_protocol_versions()
    ///     .unwrap()
    ///     .with_no_client_auth()
    ///     .with_single_cert(chain, key)
    ///     .unwrap();
    /// let tls = ServerTls::from_rustls_config(Arc::new(config));
    /// # }
    /// ```
    pub fn from_rustls_config(config: Arc<ServerConfig>) -> ServerTls {
        let mut config = ServerConfig::clone(&config);
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        ServerTls {
            config: Arc::new(config),
        }
    }

    /// The acceptor the accept loop hands connections to.
    pub(super) fn acceptor(&self) -> tokio_rustls::TlsAcceptor {
        tokio_rustls::TlsAcceptor::from(self.config.clone())
    }
}
