//! TLS for SIP (RFC 3261 §26.2.1): rustls with the ring provider. A client checks the
//! server's certificate against the system's roots, or a CA file, and against the name of
//! the host it meant to reach (RFC 5922 §7.2, matched as RFC 6125 says), unless told to
//! accept anything. A server presents a certificate chain and key from PEM files.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, ServerConfig, SignatureScheme};

use crate::roles::TlsClientOptions;

/// What can be wrong with TLS settings, said before any connection is tried.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("{}: {source}", path.display())]
    Pem {
        path: PathBuf,
        source: rustls::pki_types::pem::Error,
    },
    #[error("{}: no certificate in the file (PEM `BEGIN CERTIFICATE`)", .0.display())]
    NoCertificate(PathBuf),
    #[error("no system root certificates found{0}; give a CA file")]
    NoSystemRoots(String),
    #[error("{0}")]
    Rustls(#[from] rustls::Error),
}

fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The certificates in a PEM file, at least one.
fn certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let pem = |source| TlsError::Pem {
        path: path.to_path_buf(),
        source,
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(pem)?
        .collect::<Result<Vec<_>, _>>()
        .map_err(pem)?;
    if certs.is_empty() {
        return Err(TlsError::NoCertificate(path.to_path_buf()));
    }
    Ok(certs)
}

/// A TLS server's identity: its certificate chain and private key.
#[derive(Clone)]
pub struct TlsServer {
    pub(super) config: Arc<ServerConfig>,
}

impl std::fmt::Debug for TlsServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TlsServer")
    }
}

impl TlsServer {
    /// Reads the chain (the server's certificate first, PEM) and its key (PKCS#8, PKCS#1
    /// or SEC1, PEM), and checks that they belong together.
    pub fn from_pem_files(cert: &Path, key: &Path) -> Result<TlsServer, TlsError> {
        let chain = certificates(cert)?;
        let key = PrivateKeyDer::from_pem_file(key).map_err(|source| TlsError::Pem {
            path: key.to_path_buf(),
            source,
        })?;
        let config = ServerConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()?
            .with_no_client_auth()
            .with_single_cert(chain, key)?;
        Ok(TlsServer {
            config: Arc::new(config),
        })
    }
}

/// The client configuration `options` ask for.
pub(super) fn client_config(options: &TlsClientOptions) -> Result<Arc<ClientConfig>, TlsError> {
    let provider = provider();
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()?;
    let config = if options.insecure {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
            .with_no_client_auth()
    } else if let Some(path) = options.ca_file.as_deref() {
        // The CA file's certificates as roots, and each of them also as a certificate the
        // server may present itself: a lab's self-signed server certificate given as the
        // "CA" is marked CA:TRUE (as `openssl req -x509` makes it), which WebPKI refuses as
        // an end entity. The name is still checked.
        let pinned = certificates(path)?;
        let mut store = RootCertStore::empty();
        for cert in &pinned {
            store.add(cert.clone())?;
        }
        let webpki = rustls::client::WebPkiServerVerifier::builder_with_provider(
            Arc::new(store),
            provider.clone(),
        )
        .build()
        .map_err(|e| TlsError::Rustls(rustls::Error::General(e.to_string())))?;
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(PinnedOrChain {
                webpki,
                pinned,
                provider,
            }))
            .with_no_client_auth()
    } else {
        builder
            .with_root_certificates(roots(None)?)
            .with_no_client_auth()
    };
    Ok(Arc::new(config))
}

/// A CA file's chain check (WebPKI), or the server's certificate being one of the file's
/// own — then its name must still match the host we meant to reach (RFC 5922 §7.2).
#[derive(Debug)]
struct PinnedOrChain {
    webpki: Arc<rustls::client::WebPkiServerVerifier>,
    pinned: Vec<CertificateDer<'static>>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for PinnedOrChain {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let chain = self.webpki.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        );
        if chain.is_ok()
            || !self
                .pinned
                .iter()
                .any(|p| p.as_ref() == end_entity.as_ref())
        {
            return chain;
        }
        let parsed = rustls::server::ParsedCertificate::try_from(end_entity)?;
        rustls::client::verify_server_name(&parsed, server_name)?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        verify_tls12_signature(message, cert, dss, algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        verify_tls13_signature(message, cert, dss, algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

/// The CA file's certificates, or the system's roots.
fn roots(ca_file: Option<&Path>) -> Result<RootCertStore, TlsError> {
    let mut roots = RootCertStore::empty();
    if let Some(path) = ca_file {
        for cert in certificates(path)? {
            roots.add(cert)?;
        }
        return Ok(roots);
    }
    let found = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(found.certs);
    if roots.is_empty() {
        let why = found
            .errors
            .first()
            .map(|e| format!(" ({e})"))
            .unwrap_or_default();
        return Err(TlsError::NoSystemRoots(why));
    }
    Ok(roots)
}

/// The name a server's certificate must carry: a DNS name (sent as SNI, RFC 6066 §3) or an
/// IP address (matched against the certificate's IP addresses; no SNI is sent for one).
pub(super) fn server_name(host: &str) -> Option<ServerName<'static>> {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    ServerName::try_from(host.to_string()).ok()
}

/// `insecure`: any certificate is accepted, so a lab system with a self-made one can be
/// tested; the handshake's signatures are still checked, so the server does hold the key
/// of the certificate it sent.
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.0.signature_verification_algorithms;
        verify_tls12_signature(message, cert, dss, algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.0.signature_verification_algorithms;
        verify_tls13_signature(message, cert, dss, algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_bad_files() {
        assert!(matches!(
            server_name("pbx.example.test"),
            Some(ServerName::DnsName(_))
        ));
        assert!(matches!(
            server_name("[::1]"),
            Some(ServerName::IpAddress(_))
        ));
        assert!(matches!(
            server_name("127.0.0.2"),
            Some(ServerName::IpAddress(_))
        ));
        assert!(server_name("not a name").is_none());
        let dir = std::env::temp_dir().join(format!("flipcheck-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "no PEM here\n").unwrap();
        let err = TlsServer::from_pem_files(&empty, &empty).unwrap_err();
        assert!(
            err.to_string()
                .ends_with("empty.pem: no certificate in the file (PEM `BEGIN CERTIFICATE`)"),
            "{err}"
        );
        let missing = dir.join("missing.pem");
        let options = TlsClientOptions {
            ca_file: Some(missing),
            insecure: false,
        };
        let err = client_config(&options).unwrap_err().to_string();
        assert!(err.contains("missing.pem: "), "{err}");
        // Insecure needs no roots at all.
        let insecure = TlsClientOptions {
            ca_file: None,
            insecure: true,
        };
        assert!(client_config(&insecure).is_ok());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
