//! The fleet's own X.509 authority (used when no cert-manager Issuer is named): one CA per BoothFleet, a
//! server certificate for its broker and a client certificate per device, ECDSA P-256.
//!
//! Keys are generated once and stored in Secrets; the controller only creates missing Secrets, never
//! rotates existing ones, so a booth's identity is stable for the whole election.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};

use crate::error::Result;

pub const CA_CERT: &str = "ca.crt";
pub const TLS_CERT: &str = "tls.crt";
pub const TLS_KEY: &str = "tls.key";

/// What a certificate is for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CertKind {
    Ca,
    /// The broker's server certificate, valid for these DNS names.
    Server(Vec<String>),
    /// A booth's client certificate; the CN is the device id (the broker maps it to the MQTT client id).
    Device(String),
}

/// The CA's parameters are a function of the fleet name alone, so the issuer can be rebuilt from its key
/// without parsing the stored certificate.
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

/// A new CA: Secret data with `tls.crt`, `tls.key` and `ca.crt`.
pub fn new_ca(fleet: &str) -> Result<BTreeMap<String, ByteString>> {
    let key = KeyPair::generate()?;
    let cert = ca_params(fleet)?.self_signed(&key)?;
    Ok(data(&cert.pem(), &key.serialize_pem(), &cert.pem()))
}

/// Issues a leaf certificate from the CA stored in `ca` (as returned by [`new_ca`]).
pub fn issue(fleet: &str, ca: &BTreeMap<String, ByteString>, kind: &CertKind) -> Result<BTreeMap<String, ByteString>> {
    let text = |k: &str| -> Result<String> {
        let v = ca.get(k).ok_or(crate::Error::MissingField("fleet CA secret data"))?;
        String::from_utf8(v.0.clone()).map_err(|_| crate::Error::InvalidSpec(format!("fleet CA {k} is not UTF-8")))
    };
    let ca_key = KeyPair::from_pem(&text(TLS_KEY)?)?;
    let ca_cert = text(TLS_CERT)?;
    let issuer = Issuer::new(ca_params(fleet)?, ca_key);
    let (mut p, cn, usage) = match kind {
        CertKind::Ca => return new_ca(fleet),
        CertKind::Server(dns) => {
            (CertificateParams::new(dns.clone())?, format!("{fleet} broker"), ExtendedKeyUsagePurpose::ServerAuth)
        }
        CertKind::Device(id) => {
            (CertificateParams::new(Vec::<String>::new())?, id.clone(), ExtendedKeyUsagePurpose::ClientAuth)
        }
    };
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, "urna");
    dn.push(DnType::OrganizationalUnitName, fleet);
    dn.push(DnType::CommonName, cn);
    p.distinguished_name = dn;
    p.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    p.extended_key_usages = vec![usage];
    let key = KeyPair::generate()?;
    let cert = p.signed_by(&key, &issuer)?;
    Ok(data(&cert.pem(), &key.serialize_pem(), &ca_cert))
}

fn data(cert: &str, key: &str, ca: &str) -> BTreeMap<String, ByteString> {
    BTreeMap::from([
        (TLS_CERT.into(), ByteString(cert.as_bytes().to_vec())),
        (TLS_KEY.into(), ByteString(key.as_bytes().to_vec())),
        (CA_CERT.into(), ByteString(ca.as_bytes().to_vec())),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issues_device_and_server_certificates_from_a_stored_ca() -> Result<()> {
        let ca = new_ca("fleet")?;
        let dev = issue("fleet", &ca, &CertKind::Device("mesa-1-1".into()))?;
        let srv = issue("fleet", &ca, &CertKind::Server(vec!["fleet-broker.ns.svc".into()]))?;
        for d in [&dev, &srv] {
            assert_eq!(d[CA_CERT], ca[TLS_CERT]);
            assert!(String::from_utf8_lossy(&d[TLS_CERT].0).starts_with("-----BEGIN CERTIFICATE-----"));
            assert!(String::from_utf8_lossy(&d[TLS_KEY].0).contains("PRIVATE KEY"));
        }
        Ok(())
    }
}
