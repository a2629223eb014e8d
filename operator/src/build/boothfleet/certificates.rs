//! The fleet's certificates: cert-manager Certificates when the fleet names an Issuer, otherwise Secrets the
//! controller fills from the fleet CA.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use serde_json::{Value, json};

use super::{CertSecret, Child};
use crate::crd::BoothFleet;
use crate::error::Result;
use crate::pki::CertKind;

/// The certificates `wanted` (each its Secret and kind): as Certificates appended to `children` when the fleet
/// names an Issuer (and no Secrets), otherwise as Secrets, the CA's (`ca`) first.
pub(super) fn issue(
    f: &BoothFleet,
    wanted: Vec<(ObjectMeta, CertKind)>,
    mut ca: ObjectMeta,
    children: &mut Vec<Child>,
) -> Result<Vec<CertSecret>> {
    if let Some(issuer) = &f.spec.broker.issuer {
        for (m, kind) in wanted {
            children.push(Child::from_value(certificate(m, &kind, &issuer.name, &issuer.kind))?);
        }
        return Ok(vec![]);
    }
    // The CA Secret has no owner: deleting the BoothFleet (or re-creating it) must not take the CA with it, or
    // every certificate already provisioned on a voting machine would stop verifying. It is deleted by hand,
    // if ever.
    ca.owner_references = None;
    let mut s = vec![CertSecret { meta: ca, kind: CertKind::Ca }];
    s.extend(wanted.into_iter().map(|(meta, kind)| CertSecret { meta, kind }));
    Ok(s)
}

/// A cert-manager `Certificate` (cert-manager.io/v1) writing the same Secret the fleet CA would.
fn certificate(m: ObjectMeta, kind: &CertKind, issuer: &str, issuer_kind: &str) -> Value {
    let secret = m.name.clone().unwrap_or_default();
    let (common_name, dns, usages) = match kind {
        CertKind::Server(dns) => {
            (dns.first().cloned().unwrap_or_default(), dns.clone(), vec!["server auth", "digital signature"])
        }
        CertKind::Device(id) => (id.clone(), vec![], vec!["client auth", "digital signature"]),
        CertKind::Ca => (secret.clone(), vec![], vec!["cert sign"]),
    };
    let mut spec = json!({
        "secretName": secret,
        "commonName": common_name,
        "usages": usages,
        "privateKey": { "algorithm": "ECDSA", "size": 256, "rotationPolicy": "Never" },
        "issuerRef": { "name": issuer, "kind": issuer_kind, "group": "cert-manager.io" },
    });
    if !dns.is_empty() {
        spec["dnsNames"] = json!(dns);
    }
    json!({ "apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": m, "spec": spec })
}
