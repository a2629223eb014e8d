//! A fleet CA and its certificates, with the operator's conventions (`operator/src/pki.rs`): ECDSA P-256,
//! O=urna, OU=<fleet>, device CN = device id with the clientAuth usage, broker certificate with serverAuth.
//! Used by `urna local` (no operator to issue them) and by tests; in a cluster the operator's Secrets are
//! read instead (`ca.crt`, `tls.crt`, `tls.key`).

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

/// PEM certificate and key, plus the CA certificate that issued it (the layout of the operator's Secrets).
#[derive(Debug, Clone)]
pub struct Issued {
    pub cert_pem: String,
    pub key_pem: String,
    pub ca_pem: String,
}

impl Issued {
    /// A server configuration presenting this certificate and requiring clients of the same CA.
    pub fn server_tls(&self) -> crate::Result<std::sync::Arc<rustls::ServerConfig>> {
        crate::tls::server_config(self.ca_pem.as_bytes(), self.cert_pem.as_bytes(), self.key_pem.as_bytes())
    }

    /// A client configuration presenting this certificate and trusting the same CA.
    pub fn client_tls(&self) -> crate::Result<std::sync::Arc<rustls::ClientConfig>> {
        crate::client::tls_config(self.ca_pem.as_bytes(), self.cert_pem.as_bytes(), self.key_pem.as_bytes())
    }
}

pub struct FleetCa {
    fleet: String,
    issuer: Issuer<'static, KeyPair>,
    ca_pem: String,
}

fn ca_params(fleet: &str) -> Result<CertificateParams, rcgen::Error> {
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
    pub fn new(fleet: &str) -> Result<Self, rcgen::Error> {
        let key = KeyPair::generate()?;
        let params = ca_params(fleet)?;
        let ca_pem = params.self_signed(&key)?.pem();
        Ok(Self { fleet: fleet.to_owned(), issuer: Issuer::new(params, key), ca_pem })
    }

    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    fn issue(&self, sans: Vec<String>, cn: &str, usage: ExtendedKeyUsagePurpose) -> Result<Issued, rcgen::Error> {
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
        Ok(Issued { cert_pem: cert.pem(), key_pem: key.serialize_pem(), ca_pem: self.ca_pem.clone() })
    }

    /// The broker's server certificate for these DNS names.
    pub fn server(&self, dns: &[&str]) -> Result<Issued, rcgen::Error> {
        let cn = format!("{} broker", self.fleet);
        self.issue(dns.iter().map(|s| (*s).to_owned()).collect(), &cn, ExtendedKeyUsagePurpose::ServerAuth)
    }

    /// A device (or backend) client certificate whose CN is `id`.
    pub fn client(&self, id: &str) -> Result<Issued, rcgen::Error> {
        self.issue(Vec::new(), id, ExtendedKeyUsagePurpose::ClientAuth)
    }
}
