//! Mutual-TLS configurations from PEM bytes (ring provider, as everywhere in the project): the broker's front
//! accepts only client certificates that chain to the fleet CA, and clients trust the fleet CA and present
//! their own certificate.

use std::sync::Arc;

use rustls::server::WebPkiClientVerifier;
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

use crate::{PkiError, Result};

pub fn certificates(pem: &[u8], what: &'static str) -> Result<Vec<CertificateDer<'static>>> {
    let certs = CertificateDer::pem_slice_iter(pem)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| PkiError::Pem { what, detail: e.to_string() })?;
    if certs.is_empty() {
        return Err(PkiError::Pem { what, detail: "no certificate".into() });
    }
    Ok(certs)
}

pub fn private_key(pem: &[u8], what: &'static str) -> Result<PrivateKeyDer<'static>> {
    PrivateKeyDer::from_pem_slice(pem).map_err(|e| PkiError::Pem { what, detail: e.to_string() })
}

/// The CA certificates as a root store.
pub fn roots(ca_pem: &[u8]) -> Result<RootCertStore> {
    let mut roots = RootCertStore::empty();
    for c in certificates(ca_pem, "fleet CA")? {
        roots.add(c)?;
    }
    Ok(roots)
}

/// Server configuration: fleet CA, broker certificate chain and key.
pub fn server_config(ca_pem: &[u8], cert_pem: &[u8], key_pem: &[u8]) -> Result<Arc<ServerConfig>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots(ca_pem)?), provider.clone()).build()?;
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certificates(cert_pem, "broker certificate")?, private_key(key_pem, "broker key")?)?;
    Ok(Arc::new(config))
}

/// Client configuration: trust the fleet CA, present this device's certificate.
pub fn client_config(ca_pem: &[u8], cert_pem: &[u8], key_pem: &[u8]) -> Result<Arc<ClientConfig>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots(ca_pem)?)
        .with_client_auth_cert(certificates(cert_pem, "device certificate")?, private_key(key_pem, "device key")?)?;
    Ok(Arc::new(config))
}
