//! Certificates for the TLS tests, made by rcgen in the test's temp dir: a CA and a server
//! certificate it signed, or a lab's self-signed one. Every server a test starts
//! (`flipcheck pbx`, Kamailio) listens on 127.0.0.2, so that address is in each.

#![allow(dead_code)] // each test binary uses a different subset

use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};

/// A host name in the certificates besides 127.0.0.2, for the checks by name (SNI).
pub const HOST: &str = "pbx.flipcheck.test";

/// A CA and a server certificate it signed, for 127.0.0.2 and [`HOST`], as PEM files.
#[derive(Clone)]
pub struct Pki {
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// A fresh CA named after `name` and a server certificate it signed, written to `dir` as
/// `NAME-ca.pem`, `NAME-cert.pem` and `NAME-key.pem`.
pub fn pki(dir: &Path, name: &str) -> Pki {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(DnType::CommonName, format!("flipcheck test CA {name}"));
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let key = KeyPair::generate().unwrap();
    let params = CertificateParams::new(vec![HOST.to_string(), "127.0.0.2".to_string()]).unwrap();
    let cert = params.signed_by(&key, &ca).unwrap();
    let files = Pki {
        ca: dir.join(format!("{name}-ca.pem")),
        cert: dir.join(format!("{name}-cert.pem")),
        key: dir.join(format!("{name}-key.pem")),
    };
    std::fs::write(&files.ca, ca.pem()).unwrap();
    std::fs::write(&files.cert, cert.pem()).unwrap();
    std::fs::write(&files.key, key.serialize_pem()).unwrap();
    files
}

/// A lab's certificate: self-signed for 127.0.0.2 and [`HOST`] and marked CA:TRUE, as
/// `openssl req -x509` makes one; the target's `ca_file` is the certificate itself.
pub fn self_signed(dir: &Path) -> Pki {
    let mut params =
        CertificateParams::new(vec![HOST.to_string(), "127.0.0.2".to_string()]).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let key = KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    let files = Pki {
        ca: dir.join("lab-cert.pem"),
        cert: dir.join("lab-cert.pem"),
        key: dir.join("lab-key.pem"),
    };
    std::fs::write(&files.cert, cert.pem()).unwrap();
    std::fs::write(&files.key, key.serialize_pem()).unwrap();
    files
}
