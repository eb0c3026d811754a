//! TLS for `https://` and `wss://` servers: which certificates the client
//! trusts and, optionally, the certificate it presents.
//!
//! rustls with the ring provider, chosen per configuration (nothing is
//! installed process-wide). By default the Mozilla roots of the
//! `webpki-roots` crate are trusted, so public servers work without any
//! setup; a private certificate authority is added with
//! [`ClientTls::add_root_pem`].

use crate::ClientError;
use rustls::client::WebPkiServerVerifier;
use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::sync::Arc;

/// The TLS settings of a [`Client`](crate::Client), given to
/// [`ClientBuilder::tls`](crate::ClientBuilder::tls). Without it, an
/// `https://` URL uses [`ClientTls::webpki_roots`].
///
/// ```no_run
/// use primus_client::{Client, ClientTls};
///
/// # fn demo() -> Result<(), primus_client::ClientError> {
/// let ca = std::fs::read("ca.pem").expect("the private CA");
/// let tls = ClientTls::no_roots().add_root_pem(&ca)?;
/// let (client, events) = Client::builder("https://chat.internal:8443").tls(tls).connect()?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct ClientTls {
    roots: RootCertStore,
    identity: Option<(Vec<CertificateDer<'static>>, Arc<PrivateKeyDer<'static>>)>,
    /// A complete configuration given by the application.
    given: Option<Arc<ClientConfig>>,
}

impl std::fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientTls")
            .field("roots", &self.roots.len())
            .field("client_certificate", &self.identity.is_some())
            .field("rustls_config", &self.given.is_some())
            .finish()
    }
}

impl Default for ClientTls {
    fn default() -> ClientTls {
        ClientTls::webpki_roots()
    }
}

impl ClientTls {
    /// Trusts the Mozilla root certificates (the `webpki-roots` crate): what
    /// public servers need. The default.
    ///
    /// ```
    /// let tls = primus_client::ClientTls::webpki_roots();
    /// ```
    pub fn webpki_roots() -> ClientTls {
        let mut roots = RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        ClientTls {
            roots,
            identity: None,
            given: None,
        }
    }

    /// Trusts no certificate until roots are added with
    /// [`add_root_pem`](Self::add_root_pem): for servers whose certificates
    /// come from a private authority only.
    ///
    /// ```
    /// let tls = primus_client::ClientTls::no_roots();
    /// ```
    pub fn no_roots() -> ClientTls {
        ClientTls {
            roots: RootCertStore::empty(),
            identity: None,
            given: None,
        }
    }

    /// Also trusts the certificates in `pem` (one or more `CERTIFICATE`
    /// blocks), e.g. a private certificate authority or a server's
    /// self-signed certificate.
    ///
    /// ```no_run
    /// # fn demo() -> Result<(), primus_client::ClientError> {
    /// let tls = primus_client::ClientTls::webpki_roots().add_root_pem(&std::fs::read("ca.pem").unwrap())?;
    /// # Ok(()) }
    /// ```
    pub fn add_root_pem(mut self, pem: &[u8]) -> Result<ClientTls, ClientError> {
        let certificates = certificates(pem, "root certificate")?;
        for certificate in certificates {
            self.roots
                .add(certificate)
                .map_err(|error| ClientError::Tls(format!("the root certificate cannot be used: {error}")))?;
        }
        Ok(self)
    }

    /// Presents a client certificate (`chain_pem`: the certificate first,
    /// then its intermediates; `key_pem`: its private key, PKCS#8, PKCS#1
    /// or SEC1) to servers that ask for one.
    ///
    /// ```no_run
    /// # fn demo() -> Result<(), primus_client::ClientError> {
    /// let tls = primus_client::ClientTls::webpki_roots()
    ///     .client_certificate_pem(&std::fs::read("me.pem").unwrap(), &std::fs::read("me.key").unwrap())?;
    /// # Ok(()) }
    /// ```
    pub fn client_certificate_pem(
        mut self,
        chain_pem: &[u8],
        key_pem: &[u8],
    ) -> Result<ClientTls, ClientError> {
        let chain = certificates(chain_pem, "client certificate")?;
        let key = PrivateKeyDer::from_pem_slice(key_pem)
            .map_err(|error| ClientError::Tls(format!("no usable private key in the PEM given: {error}")))?;
        self.identity = Some((chain, Arc::new(key)));
        Ok(self)
    }

    /// Uses a complete rustls configuration as it is (its ALPN protocols
    /// are replaced by `http/1.1`, which the WebSocket upgrade needs).
    ///
    /// ```
    /// use primus_client::{rustls, ClientTls};
    /// use std::sync::Arc;
    ///
    /// let provider = Arc::new(rustls::crypto::ring::default_provider());
    /// let config = rustls::ClientConfig::builder_with_provider(provider)
    ///     .with_safe_default_protocol_versions()
    ///     .unwrap()
    ///     .with_root_certificates(rustls::RootCertStore::empty())
    ///     .with_no_client_auth();
    /// let tls = ClientTls::from_rustls_config(Arc::new(config));
    /// ```
    pub fn from_rustls_config(config: Arc<ClientConfig>) -> ClientTls {
        ClientTls {
            roots: RootCertStore::empty(),
            identity: None,
            given: Some(config),
        }
    }

    /// The rustls configuration these settings make.
    pub(crate) fn config(&self) -> Result<Arc<ClientConfig>, ClientError> {
        let mut config = match &self.given {
            Some(given) => ClientConfig::clone(given),
            None => {
                let provider = Arc::new(rustls::crypto::ring::default_provider());
                if self.roots.is_empty() {
                    return Err(ClientError::Tls(
                        "no root certificate is trusted: add one with ClientTls::add_root_pem".to_owned(),
                    ));
                }
                let verifier = WebPkiServerVerifier::builder_with_provider(
                    Arc::new(self.roots.clone()),
                    provider.clone(),
                )
                .build()
                .map_err(|error| {
                    ClientError::Tls(format!("the root certificates cannot be used: {error}"))
                })?;
                let builder = ClientConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()
                    .map_err(|error| ClientError::Tls(error.to_string()))?
                    .with_webpki_verifier(verifier);
                match &self.identity {
                    None => builder.with_no_client_auth(),
                    Some((chain, key)) => builder
                        .with_client_auth_cert(chain.clone(), key.clone_key())
                        .map_err(|error| {
                            ClientError::Tls(format!("the client certificate cannot be used: {error}"))
                        })?,
                }
            }
        };
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        Ok(Arc::new(config))
    }
}

/// Every `CERTIFICATE` block of `pem`; at least one.
fn certificates(pem: &[u8], what: &str) -> Result<Vec<CertificateDer<'static>>, ClientError> {
    let certificates = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| ClientError::Tls(format!("the {what} PEM cannot be read: {error}")))?;
    if certificates.is_empty() {
        return Err(ClientError::Tls(format!(
            "no CERTIFICATE block in the {what} PEM"
        )));
    }
    Ok(certificates)
}

/// A clear account of a TLS failure that another attempt cannot mend (the
/// server's certificate is not trusted, or the server refused this
/// client's); `None` for anything else, which is retried like any lost
/// connection (a proxy restarting, a connection reset mid-handshake).
pub(crate) fn handshake_failure(error: &std::io::Error) -> Option<String> {
    let rustls_error = error.get_ref()?.downcast_ref::<rustls::Error>()?;
    match rustls_error {
        rustls::Error::InvalidCertificate(_) => Some(format!(
            "the server's certificate was refused ({rustls_error}); if it comes from a private \
             authority, add that authority with ClientTls::add_root_pem"
        )),
        rustls::Error::AlertReceived(
            alert @ (rustls::AlertDescription::CertificateRequired
            | rustls::AlertDescription::BadCertificate
            | rustls::AlertDescription::UnknownCA
            | rustls::AlertDescription::CertificateUnknown
            | rustls::AlertDescription::CertificateExpired
            | rustls::AlertDescription::CertificateRevoked
            | rustls::AlertDescription::UnsupportedCertificate),
        ) => Some(format!(
            "the server refused this client's certificate or asks for one (alert {alert:?}); \
             present one with ClientTls::client_certificate_pem"
        )),
        _ => None,
    }
}
