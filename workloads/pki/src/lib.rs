//! The booth fleet's own X.509 authority, one home for its conventions, used by the operator (which stores
//! the CA and every certificate in Secrets), the broker and `urna local` (no operator to issue them): one CA
//! per fleet, ECDSA P-256, O=urna; leaf certificates carry OU=<fleet>; a device certificate's CN is the
//! device id (the broker maps it to the MQTT client id) with the clientAuth usage; the broker's carries its
//! DNS names and serverAuth. [`tls`] builds the mutual-TLS configurations from the PEM files.
//!
//! No Kubernetes and no MQTT here: the operator converts [`Issued`] to Secret data, the broker reads the
//! mounted Secret's files (`ca.crt`, `tls.crt`, `tls.key`: [`CA_CERT`], [`TLS_CERT`], [`TLS_KEY`]).

pub mod tls;

use std::sync::Arc;

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

pub const CA_CERT: &str = "ca.crt";
pub const TLS_CERT: &str = "tls.crt";
pub const TLS_KEY: &str = "tls.key";

#[derive(Debug, thiserror::Error)]
pub enum PkiError {
    #[error("certificate: {0}")]
    Certificate(#[from] rcgen::Error),
    #[error("TLS: {0}")]
    Tls(#[from] rustls::Error),
    #[error("client certificate verifier: {0}")]
    Verifier(#[from] rustls::server::VerifierBuilderError),
    #[error("PEM in {what}: {detail}")]
    Pem { what: &'static str, detail: String },
}

pub type Result<T, E = PkiError> = std::result::Result<T, E>;

/// What a certificate is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertKind {
    Ca,
    /// The broker's server certificate, valid for these DNS names.
    Server(Vec<String>),
    /// A booth's client certificate; the CN is the device id.
    Device(String),
}

/// PEM certificate and key, plus the CA certificate that issued it (the layout of the operator's Secrets).
#[derive(Debug, Clone)]
pub struct Issued {
    pub cert_pem: String,
    pub key_pem: String,
    pub ca_pem: String,
}

impl Issued {
    /// A server configuration presenting this certificate and requiring clients of the same CA.
    pub fn server_tls(&self) -> Result<Arc<rustls::ServerConfig>> {
        tls::server_config(self.ca_pem.as_bytes(), self.cert_pem.as_bytes(), self.key_pem.as_bytes())
    }

    /// A client configuration presenting this certificate and trusting the same CA.
    pub fn client_tls(&self) -> Result<Arc<rustls::ClientConfig>> {
        tls::client_config(self.ca_pem.as_bytes(), self.cert_pem.as_bytes(), self.key_pem.as_bytes())
    }
}

/// A fleet's CA, able to issue certificates.
pub struct FleetCa {
    fleet: String,
    issuer: Issuer<'static, KeyPair>,
    /// The CA's own certificate and key (`ca_pem` is the certificate itself).
    own: Issued,
}

/// The CA's parameters are a function of the fleet name alone, so the issuer can be rebuilt from its stored
/// key without parsing the stored certificate.
fn ca_params(fleet: &str) -> Result<CertificateParams> {
    let mut p = CertificateParams::new(Vec::<String>::new())?;
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "urna");
    dn.push(DnType::CommonName, format!("{fleet} booth fleet CA"));
    p.distinguished_name = dn;
    p.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign, KeyUsagePurpose::DigitalSignature];
    Ok(p)
}

impl FleetCa {
    /// A new CA with a fresh key.
    pub fn new(fleet: &str) -> Result<Self> {
        let key = KeyPair::generate()?;
        let params = ca_params(fleet)?;
        let cert_pem = params.self_signed(&key)?.pem();
        let own = Issued { key_pem: key.serialize_pem(), ca_pem: cert_pem.clone(), cert_pem };
        Ok(Self { fleet: fleet.to_owned(), issuer: Issuer::new(params, key), own })
    }

    /// The CA stored earlier (its certificate and key, as [`FleetCa::own`] gave them).
    pub fn from_pem(fleet: &str, cert_pem: &str, key_pem: &str) -> Result<Self> {
        let key = KeyPair::from_pem(key_pem)?;
        let own = Issued { cert_pem: cert_pem.to_owned(), key_pem: key_pem.to_owned(), ca_pem: cert_pem.to_owned() };
        Ok(Self { fleet: fleet.to_owned(), issuer: Issuer::new(ca_params(fleet)?, key), own })
    }

    pub fn ca_pem(&self) -> &str {
        &self.own.ca_pem
    }

    /// The CA's own certificate and key, to store (the certificate is its own `ca_pem`).
    pub fn own(&self) -> &Issued {
        &self.own
    }

    fn issue(&self, sans: Vec<String>, cn: &str, usage: ExtendedKeyUsagePurpose) -> Result<Issued> {
        let mut p = CertificateParams::new(sans)?;
        let mut dn = DistinguishedName::new();
        dn.push(DnType::OrganizationName, "urna");
        dn.push(DnType::OrganizationalUnitName, self.fleet.as_str());
        dn.push(DnType::CommonName, cn);
        p.distinguished_name = dn;
        p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        p.extended_key_usages = vec![usage];
        let key = KeyPair::generate()?;
        let cert = p.signed_by(&key, &self.issuer)?;
        Ok(Issued { cert_pem: cert.pem(), key_pem: key.serialize_pem(), ca_pem: self.own.ca_pem.clone() })
    }

    /// The broker's server certificate for these DNS names.
    pub fn server(&self, dns: &[&str]) -> Result<Issued> {
        let cn = format!("{} broker", self.fleet);
        self.issue(dns.iter().map(|s| (*s).to_owned()).collect(), &cn, ExtendedKeyUsagePurpose::ServerAuth)
    }

    /// A device (or backend) client certificate whose CN is `id`.
    pub fn client(&self, id: &str) -> Result<Issued> {
        self.issue(Vec::new(), id, ExtendedKeyUsagePurpose::ClientAuth)
    }

    /// The certificate of `kind`: a new CA's own for [`CertKind::Ca`], else a leaf issued by this CA.
    pub fn issue_kind(&self, kind: &CertKind) -> Result<Issued> {
        match kind {
            CertKind::Ca => Ok(Self::new(&self.fleet)?.own),
            CertKind::Server(dns) => self.server(&dns.iter().map(String::as_str).collect::<Vec<_>>()),
            CertKind::Device(id) => self.client(id),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stored_ca_issues_certificates_that_chain_to_it() -> Result<()> {
        let first = FleetCa::new("fleet")?;
        let ca = FleetCa::from_pem("fleet", &first.own().cert_pem, &first.own().key_pem)?;
        let dev = ca.client("mesa-1-1")?;
        let srv = ca.server(&["fleet-broker.ns.svc"])?;
        for d in [&dev, &srv] {
            assert_eq!(d.ca_pem, first.own().cert_pem);
            assert!(d.cert_pem.starts_with("-----BEGIN CERTIFICATE-----"));
            assert!(d.key_pem.contains("PRIVATE KEY"));
        }
        // The server verifies the device's chain: both configurations build from the same CA.
        srv.server_tls()?;
        dev.client_tls()?;
        Ok(())
    }
}
