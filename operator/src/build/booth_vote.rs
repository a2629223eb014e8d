//! The Election's booth vote service (`spec.vote.booth`): a second `urna vote`, booth modality, that admits
//! voters at Mesa consoles and records the booth ballots the fleet's collector bridges (docs/protocol.md
//! §5.1). Its children: the mesas ConfigMap (`mesas.json`), a one-replica StatefulSet and its headless
//! Service. The tokens it checks live in Secrets the controller creates once ([`token_secrets`]).
//!
//! Pure: the Election, its Mesas and BoothFleets and the console tokens' hashes in, objects out.

use std::collections::{BTreeMap, BTreeSet};

use hex::FromHex;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::ConfigMap;
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::ResourceExt;
use sha2::{Digest, Sha256};
use urna_vote::acta::Role;
use urna_vote::mesa_file::{self, DeclaredMember, MesasFile};

use super::election::{census_source, leaf_districts, manifest_name, shard_routes, vote_pod};
use super::pod::{self, KeySource};
use super::{Child, Defaults};
use crate::crd::common::ModalityKind;
use crate::crd::election::BoothVoteSpec;
use crate::crd::mesa::MemberRole;
use crate::crd::{BoothFleet, Election, Mesa, TallyShard};
use crate::error::{Error, Result};
use crate::meta::{self, MAX_WORKLOAD_NAME};
use crate::workload::{self, BRIDGE_TOKEN_DIR, MESAS_DIR, MESAS_FILE, TOKEN_KEY, VoteArgs};

/// The component label of the booth vote service (the NetworkPolicies and the writers' budget name it).
pub const BOOTH_VOTE: &str = "vote-booth";
/// The component label of the generated token Secrets.
pub const TOKEN_COMPONENT: &str = "token";
/// The label naming the Mesa a console token Secret belongs to.
pub const LABEL_MESA: &str = "urna.dev/mesa";
/// Pod template annotation: the mesas file's hash. `urna vote` reads the file once at start, so a change
/// (a Mesa added, a booth moved) must roll the pod.
const MESAS_HASH_ANNOTATION: &str = "urna.dev/mesas-hash";

pub fn booth_vote_name(election: &str) -> String {
    meta::child_name(&[election, "vote", "booth"], MAX_WORKLOAD_NAME)
}
pub fn mesas_config_name(election: &str) -> String {
    meta::child_name(&[election, "mesas"], 253)
}
pub fn bridge_token_secret(election: &str) -> String {
    meta::child_name(&[election, "bridge-token"], 253)
}
pub fn console_token_secret(mesa: &str) -> String {
    meta::child_name(&[mesa, "console-token"], 253)
}

/// The booth vote service's base URL (its headless Service: one replica, so one address), what the
/// collector's `--vote` and the Mesa consoles use.
pub fn booth_vote_url(e: &Election) -> String {
    workload::service_url(&booth_vote_name(&e.name_any()), e.namespace().as_deref())
}

/// The booth vote service runs when the Election declares it and has a booth modality (validation refuses
/// the first without the second).
pub fn booth_spec(e: &Election) -> Option<&BoothVoteSpec> {
    let has_booth = e.spec.modalities.iter().any(|m| m.kind == ModalityKind::Booth);
    e.spec.vote.booth.as_ref().filter(|_| has_booth)
}

/// A token Secret that must exist (created once with a fresh token, never rewritten).
#[derive(Debug, Clone, PartialEq)]
pub struct TokenSecret {
    pub meta: ObjectMeta,
    /// The key its token's SHA-256 is returned under by the controller (`controller::tokens::ensure`), for
    /// the files that list token hashes: a Mesa's name for its console token, [`super::site::capturist_key`]
    /// and [`super::site::PUBLISHER_KEY`] for PREP's; `None` for a token no file lists (internal, bridge).
    pub hash_key: Option<String>,
}

/// The Mesas of `e`, by name.
fn election_mesas<'a>(e: &Election, mesas: &'a [Mesa]) -> Vec<&'a Mesa> {
    let name = e.name_any();
    let mut out: Vec<&Mesa> = mesas.iter().filter(|m| m.spec.election == name).collect();
    out.sort_by_key(|m| m.name_any());
    out
}

/// The bridge token Secret and one console token Secret per Mesa of `e`, all owned by the Election.
pub fn token_secrets(e: &Election, mesas: &[Mesa]) -> Vec<TokenSecret> {
    let name = e.name_any();
    let labels = |instance: &str, mesa: Option<&str>| {
        let mut l = meta::labels(TOKEN_COMPONENT, instance, &name);
        if let Some(m) = mesa {
            l.insert(LABEL_MESA.into(), m.into());
        }
        l
    };
    let bridge = bridge_token_secret(&name);
    let mut out =
        vec![TokenSecret { meta: meta::child_meta(e, bridge.clone(), labels(&bridge, None)), hash_key: None }];
    for m in election_mesas(e, mesas) {
        let mesa = m.name_any();
        let secret = console_token_secret(&mesa);
        out.push(TokenSecret {
            meta: meta::child_meta(e, secret.clone(), labels(&secret, Some(&mesa))),
            hash_key: Some(mesa),
        });
    }
    out
}

/// The mesas file ([`urna_vote::mesa_file`]): per Mesa of `e` its id (the Mesa's name), district, the
/// SHA-256 of its console token (`hashes`, by Mesa), its members (id, role and acta signing key, which the
/// vote service verifies actas with) and its booths: the devices every BoothFleet of `e`
/// assigns to it, by the same assignment the monitor rules and shard map use
/// ([`super::boothfleet::device_mesas`]). Blocked devices stay listed: the broker refuses them, and a ballot
/// one delivered before it was blocked still needs an admitted voter at its Mesa.
///
/// Refused (InvalidSpec), since the vote service would refuse to start: a Mesa in an inner district, and a
/// device that two fleets assign. A Mesa whose token hash is missing is an error (the controller creates
/// every token first).
pub fn mesas_file(
    e: &Election,
    mesas: &[Mesa],
    fleets: &[BoothFleet],
    hashes: &BTreeMap<String, String>,
) -> Result<MesasFile> {
    let name = e.name_any();
    let leaves: BTreeSet<&str> = leaf_districts(e).into_iter().collect();
    let mut booths: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut fleet_of: BTreeMap<String, String> = BTreeMap::new();
    let mut fleets: Vec<&BoothFleet> = fleets.iter().filter(|f| f.spec.election == name).collect();
    fleets.sort_by_key(|f| f.name_any());
    for f in fleets {
        for (device, mesa) in super::boothfleet::device_mesas(f, mesas) {
            if let Some(other) = fleet_of.insert(device.clone(), f.name_any()) {
                return Err(Error::InvalidSpec(format!(
                    "device {device:?} is in BoothFleets {other} and {}: a booth belongs to one Mesa",
                    f.name_any()
                )));
            }
            booths.entry(mesa).or_default().insert(device);
        }
    }
    let mut out = Vec::new();
    for m in election_mesas(e, mesas) {
        let id = m.name_any();
        if !leaves.contains(m.spec.district.as_str()) {
            return Err(Error::InvalidSpec(format!(
                "Mesa {id}: district {:?} is not a leaf district of Election {name}; booth ballots are cast in leaf districts",
                m.spec.district
            )));
        }
        let token_sha256 = hashes
            .get(&id)
            .and_then(|h| <[u8; 32]>::from_hex(h).ok())
            .ok_or(Error::MissingField("console token of a Mesa"))?;
        let members = m
            .spec
            .members
            .iter()
            .map(|x| DeclaredMember { id: x.id.clone(), public_key: x.signing_key.clone(), role: role(x.role) })
            .collect();
        out.push(mesa_file::Mesa {
            booths: booths.remove(&id).map(Vec::from_iter).unwrap_or_default(),
            district: m.spec.district.clone(),
            id,
            members,
            token_sha256,
        });
    }
    Ok(MesasFile { mesas: out })
}

fn role(r: MemberRole) -> Role {
    match r {
        MemberRole::President => Role::President,
        MemberRole::Secretary => Role::Secretary,
        MemberRole::Scrutineer => Role::Scrutineer,
        MemberRole::Observer => Role::Observer,
    }
}

const MESAS_VOLUME: &str = "mesas";
const BRIDGE_TOKEN_VOLUME: &str = "bridge-token";

/// The booth vote service's children, in apply order: the mesas ConfigMap (holding `mesas`, the output of
/// [`mesas_file`]), the StatefulSet and its headless Service. `shards` are the TallyShards the Election's
/// vote services route to. Empty when [`booth_spec`] is `None`.
pub fn build(e: &Election, defaults: &Defaults, shards: &[TallyShard], mesas: &MesasFile) -> Result<Vec<Child>> {
    let Some(spec) = booth_spec(e) else { return Ok(vec![]) };
    let name = e.name_any();
    let vname = booth_vote_name(&name);
    let labels = meta::labels(BOOTH_VOTE, &vname, &name);
    let text = serde_json::to_string_pretty(mesas)?;
    let cm_name = mesas_config_name(&name);
    let cm = ConfigMap {
        metadata: meta::child_meta(e, cm_name.clone(), meta::labels("mesas", &cm_name, &name)),
        data: Some(BTreeMap::from([(MESAS_FILE.into(), text.clone())])),
        ..Default::default()
    };
    let image = e.spec.image.clone().unwrap_or_else(|| defaults.image.clone());
    let sts = statefulset(e, spec, &image, shards, &hex::encode(Sha256::digest(text.as_bytes())));
    let svc = pod::http_service(meta::child_meta(e, vname.clone(), labels), meta::selector(BOOTH_VOTE, &vname), true);
    let mut out = vec![Child::new(&cm)?, Child::new(&sts)?, Child::new(&svc)?];
    if let Some(ingress) = console_ingress(e) {
        out.push(Child::new(&ingress)?);
    }
    Ok(out)
}

/// What `spec.vote.booth.ingress` exposes of the booth vote service: the mesa console's page and assets, and
/// the console API under `/v1/mesas/` (admissions, actas).
pub const CONSOLE_INGRESS_PATHS: &[(&str, &str)] = &[("/mesa", "Prefix"), ("/v1/mesas", "Prefix")];

/// The mesa console's Ingress, with `spec.vote.booth.ingress`: the host's [`CONSOLE_INGRESS_PATHS`] to the
/// booth vote Service's HTTP port, TLS as the vote service's Ingress. The booth vote NetworkPolicy admits any
/// source, so the ingress controller's pods reach it from any namespace.
pub fn console_ingress(e: &Election) -> Option<Ingress> {
    let spec = booth_spec(e)?.ingress.as_ref()?;
    let name = e.name_any();
    let vname = booth_vote_name(&name);
    let metadata = meta::child_meta(e, vname.clone(), meta::labels(BOOTH_VOTE, &vname, &name));
    Some(super::election::ingress_to(metadata, spec, &vname, CONSOLE_INGRESS_PATHS))
}

/// One replica (partition 0/1): a Mesa's admissions and its booth ballots are counted against each other in
/// one process (`urna vote` refuses mesas with more partitions). Same keys, audit log, shards and admin
/// token as the remote vote service; its own census and volume.
fn statefulset(
    e: &Election,
    spec: &BoothVoteSpec,
    image: &str,
    shards: &[TallyShard],
    mesas_hash: &str,
) -> StatefulSet {
    let name = e.name_any();
    let vname = booth_vote_name(&name);
    let v = &e.spec.vote;
    let census = census_source(&spec.census);
    let modality = e.spec.modalities.iter().find(|m| m.kind == ModalityKind::Booth);
    let args = VoteArgs {
        partitions: 1,
        modality: ModalityKind::Booth.as_str().into(),
        opens_at: modality.map(|m| m.opens_at.0.to_string()),
        closes_at: modality.map(|m| m.closes_at.0.to_string()),
        shards: shard_routes(e, shards),
        audit: workload::service_url(&super::election::audit_name(&name), e.namespace().as_deref()),
        signing_key: v.signing_key.key.clone(),
        census: census.map(|(_, r)| r.key.clone()),
        admin_token: v.admin_token.as_ref().map(|r| r.key.clone()),
        audit_log_key: crate::fingerprints::audit_verifier_key(e),
        witnesses: e.spec.audit.witnesses.clone(),
        booth_desk: true,
    };
    let extra = vec![
        (
            pod::read_only_mount(MESAS_VOLUME, MESAS_DIR),
            pod::key_volume(MESAS_VOLUME, KeySource::ConfigMap, &mesas_config_name(&name), MESAS_FILE),
        ),
        (
            pod::read_only_mount(BRIDGE_TOKEN_VOLUME, BRIDGE_TOKEN_DIR),
            pod::key_volume(BRIDGE_TOKEN_VOLUME, KeySource::Secret, &bridge_token_secret(&name), TOKEN_KEY),
        ),
    ];
    let manifest = manifest_name(&name);
    let (c, volumes) = vote_pod(BOOTH_VOTE, image, &args, spec.resources.clone(), (v, &manifest, &name), census, extra);
    let mut sts = pod::writer_set(
        meta::child_meta(e, vname.clone(), meta::labels(BOOTH_VOTE, &vname, &name)),
        meta::selector(BOOTH_VOTE, &vname),
        c,
        &spec.storage,
        volumes,
        1,
        false,
    );
    if let Some(t) = sts.spec.as_mut().and_then(|s| s.template.metadata.as_mut()) {
        t.annotations = Some(BTreeMap::from([(MESAS_HASH_ANNOTATION.into(), mesas_hash.into())]));
    }
    sts
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::examples::municipal;
    use crate::workload::HTTP_PORT_NAME;

    /// Kubernetes' `Prefix` matching, element by element: `/mesa` covers `/mesa/x`, not `/mesas`.
    fn exposed(path: &str) -> bool {
        CONSOLE_INGRESS_PATHS.iter().any(|(p, _)| path == *p || path.starts_with(&format!("{p}/")))
    }

    #[test]
    fn the_console_ingress_exposes_the_console_and_its_api_only() {
        let set = municipal();
        let e = &set.elections[0];
        let ingress = console_ingress(e).expect("spec.vote.booth.ingress");
        assert_eq!(ingress.metadata.name.as_deref(), Some(booth_vote_name(&e.name_any()).as_str()));
        let spec = ingress.spec.expect("spec");
        let rule = &spec.rules.expect("rules")[0];
        assert_eq!(rule.host.as_deref(), Some("mesas.ciudad.example"));
        for p in &rule.http.as_ref().expect("http").paths {
            let backend = p.backend.service.as_ref().expect("a Service backend");
            assert_eq!(backend.name, booth_vote_name(&e.name_any()));
            assert_eq!(backend.port.as_ref().and_then(|p| p.name.as_deref()), Some(HTTP_PORT_NAME));
        }
        assert_eq!(spec.tls.expect("tls")[0].secret_name.as_deref(), Some("ciudad-2027-mesas-tls"));
        for path in ["/mesa/", "/mesa/assets/console.js", "/v1/mesas/m-1/admissions", "/v1/mesas/m-1/actas"] {
            assert!(exposed(path), "{path} is what the console loads or calls");
        }
        for path in ["/v1/booth/ballots", "/v1/close", "/metrics", "/readyz", "/v1/status", "/v1/ballots", "/"] {
            assert!(!exposed(path), "{path} must stay inside the cluster");
        }
    }

    #[test]
    fn no_ingress_without_its_spec() {
        let set = municipal();
        let mut e = set.elections[0].clone();
        if let Some(b) = e.spec.vote.booth.as_mut() {
            b.ingress = None;
        }
        assert!(console_ingress(&e).is_none());
    }
}
