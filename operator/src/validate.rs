//! Validation the CRD schema cannot do (or that must hold even if the apiserver skipped it, e.g. for files
//! read by `urna local`): pure functions returning the first problem, named by field path.

use std::collections::HashSet;

use crate::crd::common::{KeyRef, ModalityKind, Window};
use crate::crd::{BoothFleet, Election, Mesa, TallyShard};
use crate::error::{Error, Result};

fn invalid(msg: impl Into<String>) -> Error {
    Error::InvalidSpec(msg.into())
}

fn unique<'a>(path: &str, ids: impl IntoIterator<Item = &'a str>) -> Result<()> {
    let mut seen = HashSet::new();
    for id in ids {
        if !seen.insert(id) {
            return Err(invalid(format!("{path}: duplicate {id:?}")));
        }
    }
    Ok(())
}

pub fn election(e: &Election) -> Result<()> {
    let name = e.metadata.name.as_deref().unwrap_or_default();
    if name.len() > crate::crd::election::MAX_NAME {
        return Err(invalid(format!(
            "metadata.name: {name:?} has {} characters, at most {} allowed: it prefixes child names and label values",
            name.len(),
            crate::crd::election::MAX_NAME
        )));
    }
    urna_ballot::validate_manifest(&e.manifest()).map_err(|err| invalid(format!("spec.{err}")))?;
    let s = &e.spec;
    if s.modalities.is_empty() {
        return Err(invalid("spec.modalities: at least one modality"));
    }
    let mut kinds = HashSet::new();
    for (i, m) in s.modalities.iter().enumerate() {
        if !kinds.insert(m.kind) {
            return Err(invalid(format!("spec.modalities[{i}].kind: duplicate {}", m.kind)));
        }
        if m.closes_at <= m.opens_at {
            return Err(invalid(format!("spec.modalities[{i}]: closesAt must be after opensAt")));
        }
    }
    if s.trustees.threshold == 0 || s.trustees.threshold > s.trustees.trustees {
        return Err(invalid(format!(
            "spec.trustees: threshold {} must be in 1..={}",
            s.trustees.threshold, s.trustees.trustees
        )));
    }
    if s.keys.verification_keys.len() > s.trustees.trustees as usize {
        return Err(invalid("spec.keys.verificationKeys: more keys than trustees"));
    }
    let hex = |v: &str| !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if !hex(&s.keys.paillier_modulus) {
        return Err(invalid("spec.keys.paillierModulus: lowercase hex expected"));
    }
    census("spec.census", &s.census)?;
    let v = &s.vote;
    if !(1..=64).contains(&v.partitions) {
        return Err(invalid(format!("spec.vote.partitions: {} is not in 1..=64", v.partitions)));
    }
    key_ref("spec.vote.signingKey", &v.signing_key)?;
    if let Some(r) = &v.admin_token {
        key_ref("spec.vote.adminToken", r)?;
    }
    if let Some(b) = &v.booth {
        if !s.modalities.iter().any(|m| m.kind == ModalityKind::Booth) {
            return Err(invalid("spec.vote.booth: the Election has no booth modality"));
        }
        census("spec.vote.booth.census", &b.census)?;
        // Each vote service keeps its own voting rights: one census imported by both would let a voter vote
        // remotely and at a Mesa. Different sources are the administrator's promise of disjoint voters.
        if b.census == s.census {
            return Err(invalid(
                "spec.vote.booth.census: must not be spec.census; each vote service keeps its own voting rights, \
                 so a voter in both censuses could vote twice",
            ));
        }
        if let Some(i) = &b.ingress {
            ingress("spec.vote.booth.ingress", i)?;
        }
    }
    if let Some(i) = &v.ingress {
        if !s.modalities.iter().any(|m| m.kind == ModalityKind::Remote) {
            return Err(invalid(
                "spec.vote.ingress: exposes the remote vote service, and the Election has no remote modality",
            ));
        }
        ingress("spec.vote.ingress", i)?;
    }
    if let Some(site) = &s.site {
        if !site.capturists.is_empty() && v.booth.is_none() {
            return Err(invalid(crate::crd::election::SITE_CAPTURISTS_MESSAGE));
        }
        unique("spec.site.capturists", site.capturists.iter().map(String::as_str))?;
        if let Some(c) = site.capturists.iter().find(|c| !capturist_id(c)) {
            return Err(invalid(format!("spec.site.capturists: {c:?} is not a DNS label of at most 40 characters")));
        }
        if let Some(i) = &site.ingress {
            ingress("spec.site.ingress", i)?;
        }
    }
    Ok(())
}

/// A capturist id: a DNS label of at most 40 characters (it names the capturist's token Secret).
fn capturist_id(s: &str) -> bool {
    (1..=40).contains(&s.len()) && !s.contains('.') && dns_subdomain(s)
}

/// A DNS subdomain (RFC 1123): lowercase labels of letters, digits and `-`, at most 253 characters.
fn dns_subdomain(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 253
        && s.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && l.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                && !l.starts_with('-')
                && !l.ends_with('-')
        })
}

/// The Ingress's names, and annotations that do not fight the operator's: the cert-manager annotations come
/// from `tls.issuer` alone, so an issuer is never named twice, differently.
fn ingress(path: &str, i: &crate::crd::election::VoteIngressSpec) -> Result<()> {
    if !dns_subdomain(&i.host) {
        return Err(invalid(format!("{path}.host: {:?} is not a lowercase DNS name (no wildcard)", i.host)));
    }
    if let Some(c) = &i.class_name
        && !dns_subdomain(c)
    {
        return Err(invalid(format!("{path}.className: {c:?} is not an IngressClass name")));
    }
    if !dns_subdomain(&i.tls.secret_name) {
        return Err(invalid(format!("{path}.tls.secretName: {:?} is not a Secret name", i.tls.secret_name)));
    }
    if let Some(k) = i.annotations.keys().find(|k| k.starts_with(crate::build::election::CERT_MANAGER_PREFIX)) {
        return Err(invalid(format!("{path}.annotations: {k:?}: set the certificate's issuer in {path}.tls.issuer")));
    }
    Ok(())
}

/// Exactly one of a census's sources, a valid reference.
fn census(path: &str, c: &crate::crd::election::CensusSource) -> Result<()> {
    match (&c.config_map, &c.secret) {
        (Some(r), None) => key_ref(&format!("{path}.configMap"), r),
        (None, Some(r)) => key_ref(&format!("{path}.secret"), r),
        _ => Err(invalid(format!("{path}: set exactly one of configMap, secret"))),
    }
}

/// A ConfigMap or Secret key reference: a DNS-subdomain name, and a key that is a valid file name (the
/// workload reads it as one).
fn key_ref(path: &str, r: &KeyRef) -> Result<()> {
    let name_ok = !r.name.is_empty()
        && r.name.len() <= 253
        && r.name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        && r.name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && r.name.ends_with(|c: char| c.is_ascii_alphanumeric());
    if !name_ok {
        return Err(invalid(format!("{path}.name: {:?} is not a DNS subdomain", r.name)));
    }
    let key_ok = !r.key.is_empty()
        && r.key.len() <= 253
        && r.key != "."
        && r.key != ".."
        && r.key.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if !key_ok {
        return Err(invalid(format!("{path}.key: {:?} is not a ConfigMap/Secret key", r.key)));
    }
    Ok(())
}

/// The Mesa's effective window: its own, else the Election's booth window, else its first modality's
/// (an SVT-style Mesa supervises a remote-only election).
pub fn mesa_window(m: &Mesa, e: &Election) -> Option<Window> {
    m.spec.window.clone().or_else(|| {
        let booth = e.spec.modalities.iter().find(|x| x.kind == ModalityKind::Booth);
        booth
            .or(e.spec.modalities.first())
            .map(|x| Window { opens_at: x.opens_at.clone(), closes_at: x.closes_at.clone() })
    })
}

/// A Mesa against its Election: the district exists, and the Mesa's own window lies inside the Election's.
pub fn mesa(m: &Mesa, e: Option<&Election>) -> Result<()> {
    unique("spec.members", m.spec.members.iter().map(|x| x.id.as_str()))?;
    if !m.spec.members.iter().any(|x| x.role == crate::crd::mesa::MemberRole::President) {
        return Err(invalid("spec.members: a Mesa needs a president"));
    }
    // The booth vote service verifies acta signatures with these keys and refuses a mesas file with a key
    // it cannot parse: its parser runs here so a mistyped key is this Mesa's error, with the service's reason.
    for x in &m.spec.members {
        urna_vote::acta::parse_public_key(&x.signing_key)
            .map_err(|err| invalid(format!("spec.members[{}].signingKey: {err}", x.id)))?;
    }
    if let Some(w) = &m.spec.window
        && w.closes_at <= w.opens_at
    {
        return Err(invalid("spec.window: closesAt must be after opensAt"));
    }
    let Some(e) = e else { return Ok(()) };
    if !e.spec.districts.iter().any(|d| d.id == m.spec.district) {
        return Err(invalid(format!(
            "spec.district: {:?} is not a district of Election {}",
            m.spec.district, m.spec.election
        )));
    }
    let opens = e.spec.modalities.iter().map(|x| &x.opens_at).min();
    let closes = e.spec.modalities.iter().map(|x| &x.closes_at).max();
    if let (Some(w), Some(o), Some(c)) = (&m.spec.window, opens, closes)
        && (&w.opens_at < o || &w.closes_at > c)
    {
        return Err(invalid("spec.window: must lie inside the Election's windows"));
    }
    Ok(())
}

pub fn boothfleet(f: &BoothFleet) -> Result<()> {
    let devices = f.spec.device_list();
    if devices.is_empty() {
        return Err(invalid("spec: declare devices or perMesa counts"));
    }
    unique("spec.devices", devices.iter().map(|d| d.id.as_str()))?;
    for d in &devices {
        urna_ballot::validate::check_identifier("spec.devices[].id", &d.id).map_err(|err| invalid(err.to_string()))?;
        // The broker treats a certificate with this CN as a backend (reads every booth, publishes commands).
        if d.id == crate::workload::BACKEND_CN {
            return Err(invalid(format!("spec.devices: {:?} is the backends' identity, not a device id", d.id)));
        }
    }
    if let Some(t) = &f.spec.broker.admin_token {
        key_ref("spec.broker.adminToken", t)?;
    }
    unique("spec.broker.shards", f.spec.broker.shards.iter().map(|s| s.name.as_str()))?;
    Ok(())
}

/// A fleet against its Election: every district a broker shard or a regional officer names exists (an
/// officer of a misspelt district would never see an alert).
pub fn boothfleet_shards(f: &BoothFleet, e: &Election) -> Result<()> {
    let known = |d: &String| e.spec.districts.iter().any(|x| &x.id == d);
    for s in &f.spec.broker.shards {
        if let Some(d) = s.districts.iter().find(|d| !known(d)) {
            return Err(invalid(format!(
                "spec.broker.shards[{}].districts: {d:?} is not a district of Election {}",
                s.name, f.spec.election
            )));
        }
    }
    for o in &f.spec.officers {
        if let Some(d) = o.districts.iter().find(|d| !known(d)) {
            return Err(invalid(format!(
                "spec.officers[{}].districts: {d:?} is not a district of Election {}",
                o.id, f.spec.election
            )));
        }
    }
    Ok(())
}

pub fn tallyshard(s: &TallyShard, e: Option<&Election>) -> Result<()> {
    let Some(e) = e else { return Ok(()) };
    if let Some(d) = &s.spec.district
        && !e.spec.districts.iter().any(|x| &x.id == d)
    {
        return Err(invalid(format!("spec.district: {d:?} is not a district of Election {}", s.spec.election)));
    }
    if !e.spec.modalities.iter().any(|m| m.kind == s.spec.modality) {
        return Err(invalid(format!("spec.modality: the Election has no {} modality", s.spec.modality)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::examples::municipal;

    #[test]
    fn a_member_key_the_vote_service_would_refuse_is_refused_with_its_reason() {
        let set = municipal();
        let mut m = set.mesas[0].clone();
        let e = set.elections.iter().find(|e| e.metadata.name.as_deref() == Some(m.spec.election.as_str()));
        assert!(mesa(&m, e).is_ok(), "the example's keys are valid");

        // Framed as a PEM block, but the body is not an Ed25519 SubjectPublicKeyInfo: the old check looked
        // at the frame only.
        m.spec.members[0].signing_key = "-----BEGIN PUBLIC KEY-----\nbm90IGEga2V5\n-----END PUBLIC KEY-----".into();
        let Err(Error::InvalidSpec(msg)) = mesa(&m, e) else { panic!("a malformed PEM body is refused") };
        let id = &m.spec.members[0].id;
        assert_eq!(msg, format!("spec.members[{id}].signingKey: public key PEM: not an Ed25519 SubjectPublicKeyInfo"));

        m.spec.members[0].signing_key = "ab".repeat(31);
        let Err(Error::InvalidSpec(msg)) = mesa(&m, e) else { panic!("a short hex key is refused") };
        assert!(msg.contains("expected 64 hex characters"), "{msg}");
    }
}
