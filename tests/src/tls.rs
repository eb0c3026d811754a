//! Certificates made in the test ([`TestPki`]: a certificate authority, a
//! server certificate for 127.0.0.1 and `localhost`, client certificates),
//! and a primus server served over TLS on 127.0.0.1 ([`serve_tls`]).

use crate::logs::{init_logs, Log};
use crate::server::Running;
use primus::server::rustls;
use primus::server::ServerTls;
use primus::Server;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use std::path::PathBuf;
use std::sync::Arc;
use tokio::net::TcpListener;

/// A certificate authority made for one test, and what it signs.
pub struct TestPki {
    issuer: Issuer<'static, KeyPair>,
    /// The authority's certificate, PEM (what clients trust).
    pub ca_pem: String,
}

/// A certificate and its private key, PEM.
pub struct Identity {
    /// The certificate.
    pub cert_pem: String,
    /// Its private key (PKCS#8).
    pub key_pem: String,
}

impl TestPki {
    /// A new authority named `name`.
    pub fn new(name: &str) -> TestPki {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA parameters");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let key = KeyPair::generate().expect("CA key");
        let ca_pem = params.self_signed(&key).expect("self-signed CA").pem();
        TestPki {
            issuer: Issuer::new(params, key),
            ca_pem,
        }
    }

    /// A server certificate for `127.0.0.1` and `localhost`.
    pub fn server_identity(&self) -> Identity {
        self.sign(
            vec!["127.0.0.1".to_owned(), "localhost".to_owned()],
            "primus-rs test server",
            ExtendedKeyUsagePurpose::ServerAuth,
        )
    }

    /// A client certificate for `name`.
    pub fn client_identity(&self, name: &str) -> Identity {
        self.sign(Vec::new(), name, ExtendedKeyUsagePurpose::ClientAuth)
    }

    fn sign(&self, names: Vec<String>, common_name: &str, usage: ExtendedKeyUsagePurpose) -> Identity {
        let mut params = CertificateParams::new(names).expect("certificate parameters");
        params.distinguished_name.push(DnType::CommonName, common_name);
        params.extended_key_usages = vec![usage];
        let key = KeyPair::generate().expect("key");
        let cert = params.signed_by(&key, &self.issuer).expect("signed certificate");
        Identity {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }

    /// The server's TLS settings with [`server_identity`](Self::server_identity).
    pub fn server_tls(&self) -> ServerTls {
        let identity = self.server_identity();
        ServerTls::from_pem(identity.cert_pem.as_bytes(), identity.key_pem.as_bytes()).expect("server TLS")
    }

    /// Like [`server_tls`](Self::server_tls), and every client must present
    /// a certificate signed by this authority.
    pub fn server_tls_requiring_client_certificates(&self) -> ServerTls {
        use rustls::pki_types::pem::PemObject;
        use rustls::pki_types::{CertificateDer, PrivateKeyDer};
        let identity = self.server_identity();
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(CertificateDer::from_pem_slice(self.ca_pem.as_bytes()).expect("CA DER"))
            .expect("CA root");
        let verifier =
            rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                .build()
                .expect("client verifier");
        let config = rustls::ServerConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .expect("protocol versions")
            .with_client_cert_verifier(verifier)
            .with_single_cert(
                vec![CertificateDer::from_pem_slice(identity.cert_pem.as_bytes()).expect("server DER")],
                PrivateKeyDer::from_pem_slice(identity.key_pem.as_bytes()).expect("server key"),
            )
            .expect("server config");
        ServerTls::from_rustls_config(Arc::new(config))
    }

    /// Writes the authority's certificate to a file of its own (for
    /// `NODE_EXTRA_CA_CERTS`) and returns its path.
    pub fn write_ca_file(&self) -> PathBuf {
        let path = std::env::temp_dir().join(format!(
            "primus-rs-test-ca-{}-{}.pem",
            std::process::id(),
            rand_suffix()
        ));
        std::fs::write(&path, &self.ca_pem).expect("write the CA file");
        path
    }
}

fn rand_suffix() -> u64 {
    use std::time::{SystemTime, UNIX_EPOCH};
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}

/// Serves `server` over TLS on an ephemeral port of 127.0.0.1.
/// [`Running::url`] is then `http://…`: use `https_url`.
pub async fn serve_tls(server: Server, tls: ServerTls) -> Running {
    init_logs();
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("local addr");
    let serving = server.clone();
    let serving = tokio::spawn(async move { serving.serve_tls(listener, tls).await });
    Running {
        server,
        addr,
        errors: Log::default(),
        serving,
    }
}

/// `https://127.0.0.1:PORT` of a server from [`serve_tls`].
pub fn https_url(running: &Running) -> String {
    format!("https://{}", running.addr)
}
