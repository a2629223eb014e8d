//! The front's mutual-TLS configuration: the broker's own certificate, and client certificates accepted
//! only when they chain to the fleet CA (with the clientAuth usage, as the operator issues them).

use std::path::Path;
use std::sync::Arc;

use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::error::{Error, Result};

pub fn certificates(pem: &[u8], what: &'static str) -> Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::Pem { what, detail: e.to_string() })?;
    if certs.is_empty() {
        return Err(Error::Pem { what, detail: "no certificate".into() });
    }
    Ok(certs)
}

pub fn private_key(pem: &[u8], what: &'static str) -> Result<PrivateKeyDer<'static>> {
    PrivateKeyDer::from_pem_slice(pem).map_err(|e| Error::Pem { what, detail: e.to_string() })
}

/// The CA certificates as a root store.
pub fn roots(ca_pem: &[u8]) -> Result<RootCertStore> {
    let mut roots = RootCertStore::empty();
    for c in certificates(ca_pem, "fleet CA")? {
        roots.add(c)?;
    }
    Ok(roots)
}

/// Server configuration from PEM bytes: fleet CA, broker certificate chain and key.
pub fn server_config(ca_pem: &[u8], cert_pem: &[u8], key_pem: &[u8]) -> Result<Arc<ServerConfig>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots(ca_pem)?), provider.clone()).build()?;
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certificates(cert_pem, "broker certificate")?, private_key(key_pem, "broker key")?)?;
    Ok(Arc::new(config))
}

/// Server configuration from a directory laid out like the operator's Secrets (`ca.crt`, `tls.crt`,
/// `tls.key`), e.g. the broker Secret mounted as a volume.
pub fn server_config_from_dir(dir: &Path) -> Result<Arc<ServerConfig>> {
    let read = |name: &str| {
        let path = dir.join(name);
        std::fs::read(&path).map_err(|source| Error::Read { path, source })
    };
    server_config(&read("ca.crt")?, &read("tls.crt")?, &read("tls.key")?)
}
