//! The fleet's own X.509 authority as the operator stores it (used when no cert-manager Issuer is named): the
//! CA and its certificates (`urna_pki`, the one home of the fleet PKI shared with the broker and `urna local`)
//! as Secret data (`tls.crt`, `tls.key`, `ca.crt`).
//!
//! Keys are generated once and stored in Secrets; the controller only creates missing Secrets, never
//! rotates existing ones, so a booth's identity is stable for the whole election.

use std::collections::BTreeMap;

use k8s_openapi::ByteString;
pub use urna_pki::{CA_CERT, CertKind, TLS_CERT, TLS_KEY};
use urna_pki::{FleetCa, Issued};

use crate::error::Result;

/// A new CA: Secret data with `tls.crt`, `tls.key` and `ca.crt`.
pub fn new_ca(fleet: &str) -> Result<BTreeMap<String, ByteString>> {
    Ok(data(FleetCa::new(fleet)?.own()))
}

/// Issues a certificate of `kind` from the CA stored in `ca` (as returned by [`new_ca`]).
pub fn issue(fleet: &str, ca: &BTreeMap<String, ByteString>, kind: &CertKind) -> Result<BTreeMap<String, ByteString>> {
    let text = |k: &str| -> Result<String> {
        let v = ca.get(k).ok_or(crate::Error::MissingField("fleet CA secret data"))?;
        String::from_utf8(v.0.clone()).map_err(|_| crate::Error::InvalidSpec(format!("fleet CA {k} is not UTF-8")))
    };
    let ca = FleetCa::from_pem(fleet, &text(TLS_CERT)?, &text(TLS_KEY)?)?;
    Ok(data(&ca.issue_kind(kind)?))
}

fn data(issued: &Issued) -> BTreeMap<String, ByteString> {
    BTreeMap::from([
        (TLS_CERT.into(), ByteString(issued.cert_pem.as_bytes().to_vec())),
        (TLS_KEY.into(), ByteString(issued.key_pem.as_bytes().to_vec())),
        (CA_CERT.into(), ByteString(issued.ca_pem.as_bytes().to_vec())),
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
