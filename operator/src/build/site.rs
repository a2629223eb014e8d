//! The public results site and PREP (docs/operator.md, "Publication"), with `spec.site`: one pod,
//! `<election>-site`, a one-replica StatefulSet over its own volume, running
//!
//! - `site`: `urna site` over the record (mounted once the record is exported) and the snapshots;
//! - with `spec.site.capturists` and a booth vote service (whose mesas file lists the Mesas whose tally
//!   sheets are expected): `capture`, PREP's double-entry capture service, and `publish`, the publisher that
//!   every `publicationIntervalSeconds` writes a signed, chained snapshot onto the shared volume and appends
//!   it to the audit log.
//!
//! One pod, because the capture journal, the snapshots and the publisher's key live on one ReadWriteOnce
//! volume that the site serves as it is. Its Service `<election>-site` carries the site (`http`) and the
//! capture API (`capture`); the optional Ingress exposes the site only. Pure: the Election, the mesas file
//! and the token hashes in, objects out.

use std::collections::BTreeMap;

use hex::FromHex;
use k8s_openapi::api::core::v1::{
    Affinity, ConfigMap, ContainerPort, HTTPGetAction, PersistentVolumeClaimVolumeSource, PodAffinity, PodAffinityTerm,
    Probe, ServicePort, Volume,
};
use k8s_openapi::api::networking::v1::{
    Ingress, NetworkPolicy, NetworkPolicyIngressRule, NetworkPolicyPort, NetworkPolicySpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::ResourceExt;
use sha2::{Digest, Sha256};
use urna_record::capture_tokens::{CaptureTokens, TokenEntry};
use urna_vote::mesa_file::MesasFile;

use super::booth_vote::{TOKEN_COMPONENT, TokenSecret, mesas_config_name};
use super::election::{audit_name, manifest_name};
use super::pod::{self, KeySource};
use super::{Child, Defaults};
use crate::crd::Election;
use crate::crd::election::SiteSpec;
use crate::error::Result;
use crate::meta::{self, MAX_WORKLOAD_NAME};
use crate::workload::{
    self, CAPTURE_PORT, CAPTURE_PORT_NAME, CAPTURE_TOKENS_DIR, CAPTURE_TOKENS_FILE, HTTP_PORT_NAME, MESAS_DIR,
    MESAS_FILE, PUBLISHER_TOKEN_DIR, SITE_RECORD_MOUNT, TOKEN_KEY,
};

/// The site pod's component label (and the site container's name).
pub const SITE: &str = "site";
pub const CAPTURE: &str = "capture";
pub const PUBLISH: &str = "publish";
/// [`TokenSecret::hash_key`] of the publisher's capture token; a capturist's is [`capturist_key`]. A `/`
/// never appears in a Mesa's name, so these never meet a console token's key.
pub const PUBLISHER_KEY: &str = "prep/publisher";
/// The publisher's id in the capture service's tokens file.
pub const PUBLISHER_ID: &str = "publisher";
/// Pod template annotation: the hash of the mesas and tokens files, which the capture service reads once at
/// start: a Mesa or capturist added rolls the pod.
const PREP_FILES_HASH_ANNOTATION: &str = "urna.dev/prep-files-hash";

const MESAS_VOLUME: &str = "mesas";
const CAPTURE_TOKENS_VOLUME: &str = "capture-tokens";
const PUBLISHER_TOKEN_VOLUME: &str = "publisher-token";
const RECORD_VOLUME: &str = "record";

pub fn site_name(election: &str) -> String {
    meta::child_name(&[election, SITE], MAX_WORKLOAD_NAME)
}
pub fn capture_tokens_config_name(election: &str) -> String {
    meta::child_name(&[election, "capture-tokens"], 253)
}
pub fn publisher_token_secret(election: &str) -> String {
    meta::child_name(&[election, "publisher-token"], 253)
}
pub fn capturist_token_secret(election: &str, capturist: &str) -> String {
    meta::child_name(&[election, "capturist", capturist], 253)
}
pub fn capturist_key(capturist: &str) -> String {
    format!("prep/capturist/{capturist}")
}

/// The site's in-cluster base URL (what the Ingress and any mirror reach).
pub fn site_url(e: &Election) -> String {
    workload::service_url(&site_name(&e.name_any()), e.namespace().as_deref())
}

/// `spec.site`, when the Election publishes a site.
pub fn site_spec(e: &Election) -> Option<&SiteSpec> {
    e.spec.site.as_ref()
}

/// PREP runs with capturists and the booth vote service's mesas file (the Mesas whose sheets are expected).
pub fn prep_runs(e: &Election, mesas: Option<&MesasFile>) -> bool {
    site_spec(e).is_some_and(|s| !s.capturists.is_empty()) && mesas.is_some()
}

/// The token Secrets PREP needs (the publisher's and one per capturist), owned by the Election; none
/// without capturists.
pub fn token_secrets(e: &Election) -> Vec<TokenSecret> {
    let Some(site) = site_spec(e).filter(|s| !s.capturists.is_empty()) else { return vec![] };
    let name = e.name_any();
    let secret = |sname: String, key: String| TokenSecret {
        meta: meta::child_meta(e, sname.clone(), meta::labels(TOKEN_COMPONENT, &sname, &name)),
        hash_key: Some(key),
    };
    let mut out = vec![secret(publisher_token_secret(&name), PUBLISHER_KEY.into())];
    let mut ids: Vec<&String> = site.capturists.iter().collect();
    ids.sort();
    out.extend(ids.into_iter().map(|c| secret(capturist_token_secret(&name, c), capturist_key(c))));
    out
}

/// The capture service's tokens file ([`urna_record::capture_tokens`]): each capturist's and the
/// publisher's token SHA-256, from `hashes` (by [`TokenSecret::hash_key`]). A missing hash is an error (the
/// controller creates every token first).
pub fn capture_tokens_file(site: &SiteSpec, hashes: &BTreeMap<String, String>) -> Result<CaptureTokens> {
    let entry = |id: &str, key: &str| {
        let token_sha256 = hashes
            .get(key)
            .and_then(|h| <[u8; 32]>::from_hex(h).ok())
            .ok_or(crate::error::Error::MissingField("a PREP token hash"))?;
        Ok(TokenEntry { id: id.to_owned(), token_sha256 })
    };
    let mut ids: Vec<&String> = site.capturists.iter().collect();
    ids.sort();
    let capturists = ids.into_iter().map(|c| entry(c, &capturist_key(c))).collect::<Result<Vec<_>>>()?;
    Ok(CaptureTokens { capturists, publishers: vec![entry(PUBLISHER_ID, PUBLISHER_KEY)?] })
}

/// Whether the record has been exported (`status.recordExportedAt`): from then on its volume exists and the
/// site mounts it.
pub fn record_exported(e: &Election) -> bool {
    e.status.as_ref().is_some_and(|s| s.record_exported_at.is_some())
}

fn probe(path: &str, port: &str) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.into()),
            port: IntOrString::String(port.into()),
            ..Default::default()
        }),
        period_seconds: Some(10),
        ..Default::default()
    }
}

/// The site's children, in apply order: with PREP the capture tokens ConfigMap; the StatefulSet, its
/// Service and, with `spec.site.ingress`, the Ingress. `mesas` is the booth vote service's mesas file
/// (`None` without one, or while it is set aside); `hashes` the token hashes. Empty without `spec.site`.
pub fn build(
    e: &Election,
    defaults: &Defaults,
    mesas: Option<&MesasFile>,
    hashes: &BTreeMap<String, String>,
) -> Result<Vec<Child>> {
    let Some(site) = site_spec(e) else { return Ok(vec![]) };
    let name = e.name_any();
    let sname = site_name(&name);
    let image = e.spec.image.clone().unwrap_or_else(|| defaults.image.clone());
    let labels = meta::labels(SITE, &sname, &name);
    let mut out = Vec::new();
    let prep = prep_runs(e, mesas);

    let mut c = pod::container(SITE, &image, workload::site_args(prep), None);
    let mut mounts = vec![pod::data_mount()];
    let mut volumes = Vec::new();
    let record = record_exported(e);
    if record {
        mounts.push(pod::read_only_mount(RECORD_VOLUME, SITE_RECORD_MOUNT));
        volumes.push(Volume {
            name: RECORD_VOLUME.into(),
            persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
                claim_name: super::record::record_volume_name(&name),
                read_only: Some(true),
            }),
            ..Default::default()
        });
    }
    c.volume_mounts = Some(mounts);
    let mut containers = vec![c];
    let mut files_hash = None;
    if let (true, Some(mesas)) = (prep, mesas) {
        let tokens = capture_tokens_file(site, hashes)?;
        let tokens_text = serde_json::to_string_pretty(&tokens)?;
        let mesas_text = serde_json::to_string_pretty(mesas)?;
        files_hash = Some(hex::encode(Sha256::digest(format!("{mesas_text}\n{tokens_text}"))));
        let cm_name = capture_tokens_config_name(&name);
        out.push(Child::new(&ConfigMap {
            metadata: meta::child_meta(e, cm_name.clone(), meta::labels("capture-tokens", &cm_name, &name)),
            data: Some(BTreeMap::from([(CAPTURE_TOKENS_FILE.into(), tokens_text)])),
            ..Default::default()
        })?);

        let mut capture = pod::container(CAPTURE, &image, workload::capture_args(), None);
        capture.ports = Some(vec![ContainerPort {
            name: Some(CAPTURE_PORT_NAME.into()),
            container_port: CAPTURE_PORT,
            ..Default::default()
        }]);
        capture.readiness_probe = Some(probe("/healthz", CAPTURE_PORT_NAME));
        capture.liveness_probe = Some(probe("/healthz", CAPTURE_PORT_NAME));
        capture.volume_mounts = Some(vec![
            pod::manifest_mount(),
            pod::data_mount(),
            pod::read_only_mount(MESAS_VOLUME, MESAS_DIR),
            pod::read_only_mount(CAPTURE_TOKENS_VOLUME, CAPTURE_TOKENS_DIR),
        ]);
        let audit = workload::service_url(&audit_name(&name), e.namespace().as_deref());
        let mut publish =
            pod::container(PUBLISH, &image, workload::publish_args(e.spec.publication_interval_seconds, &audit), None);
        // A loop with no server: nothing to probe; a crash restarts it.
        publish.ports = None;
        publish.readiness_probe = None;
        publish.liveness_probe = None;
        publish.volume_mounts = Some(vec![
            pod::manifest_mount(),
            pod::data_mount(),
            pod::internal_token_mount(),
            pod::read_only_mount(PUBLISHER_TOKEN_VOLUME, PUBLISHER_TOKEN_DIR),
        ]);
        containers.extend([capture, publish]);
        volumes.extend([
            pod::manifest_volume(&manifest_name(&name)),
            pod::internal_token_volume(&name),
            pod::key_volume(MESAS_VOLUME, KeySource::ConfigMap, &mesas_config_name(&name), MESAS_FILE),
            pod::key_volume(
                CAPTURE_TOKENS_VOLUME,
                KeySource::ConfigMap,
                &capture_tokens_config_name(&name),
                CAPTURE_TOKENS_FILE,
            ),
            pod::key_volume(PUBLISHER_TOKEN_VOLUME, KeySource::Secret, &publisher_token_secret(&name), TOKEN_KEY),
        ]);
    }

    let meta_ = meta::child_meta(e, sname.clone(), labels.clone());
    let selector = meta::selector(SITE, &sname);
    let first = containers.remove(0);
    let mut sts = pod::writer_set(meta_.clone(), selector.clone(), first, &site.storage, volumes, 1, false);
    if let Some(tpl) = sts.spec.as_mut().map(|s| &mut s.template) {
        if let Some(hash) = files_hash {
            tpl.metadata.get_or_insert_with(Default::default).annotations =
                Some(BTreeMap::from([(PREP_FILES_HASH_ANNOTATION.into(), hash)]));
        }
        if let Some(spec) = tpl.spec.as_mut() {
            spec.containers.extend(containers);
            // The record volume is ReadWriteOnce and the decryption service writes it: read it on that pod's
            // node (a volume is attached per node).
            if record {
                spec.affinity = Some(Affinity {
                    pod_affinity: Some(PodAffinity {
                        required_during_scheduling_ignored_during_execution: Some(vec![PodAffinityTerm {
                            label_selector: Some(LabelSelector {
                                match_labels: Some(meta::selector(
                                    super::record::DECRYPTION,
                                    &super::record::decryption_name(&name),
                                )),
                                ..Default::default()
                            }),
                            topology_key: "kubernetes.io/hostname".into(),
                            ..Default::default()
                        }]),
                        ..Default::default()
                    }),
                    ..Default::default()
                });
            }
        }
    }
    out.push(Child::new(&sts)?);

    let mut svc = pod::http_service(meta_, selector, false);
    if prep && let Some(ports) = svc.spec.as_mut().and_then(|s| s.ports.as_mut()) {
        ports.push(ServicePort {
            name: Some(CAPTURE_PORT_NAME.into()),
            port: CAPTURE_PORT,
            target_port: Some(IntOrString::String(CAPTURE_PORT_NAME.into())),
            ..Default::default()
        });
    }
    out.push(Child::new(&svc)?);
    out.push(Child::new(&network_policy(e, prep))?);
    if let Some(ingress) = site_ingress(e) {
        out.push(Child::new(&ingress)?);
    }
    Ok(out)
}

/// Anyone reaches the site (it is the public record) and, with PREP, the capture API (capturists work from
/// the electoral offices; every write needs a capturist's token).
fn network_policy(e: &Election, prep: bool) -> NetworkPolicy {
    let name = e.name_any();
    let port = |p: &str| NetworkPolicyPort {
        port: Some(IntOrString::String(p.into())),
        protocol: Some("TCP".into()),
        ..Default::default()
    };
    let mut ports = vec![port(HTTP_PORT_NAME)];
    if prep {
        ports.push(port(CAPTURE_PORT_NAME));
    }
    NetworkPolicy {
        metadata: meta::child_meta(e, format!("{name}-site-ingress"), meta::labels("network-policy", &name, &name)),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(LabelSelector {
                match_labels: Some(meta::selector(SITE, &site_name(&name))),
                ..Default::default()
            }),
            policy_types: Some(vec!["Ingress".into()]),
            ingress: Some(vec![NetworkPolicyIngressRule { from: None, ports: Some(ports) }]),
            ..Default::default()
        }),
    }
}

/// The site's Ingress, with `spec.site.ingress`: the host's `/` (every path: the page, its data, the record
/// and snapshot files, the receipt check's proofs are all public) to the site's `http` port, TLS from the
/// given Secret (issued by cert-manager with `tls.issuer`). The capture API is not exposed.
pub fn site_ingress(e: &Election) -> Option<Ingress> {
    let spec = site_spec(e)?.ingress.as_ref()?;
    let name = e.name_any();
    let sname = site_name(&name);
    let metadata = meta::child_meta(e, sname.clone(), meta::labels(SITE, &sname, &name));
    Some(crate::build::election::ingress_to(metadata, spec, &sname, &[("/", "Prefix")]))
}

#[cfg(test)]
mod tests {
    use serde_json::Value;

    use super::*;
    use crate::examples::municipal;

    fn hashes(e: &Election) -> BTreeMap<String, String> {
        token_secrets(e)
            .into_iter()
            .map(|s| {
                let key = s.hash_key.expect("listed");
                let hash = crate::token::token_sha256(&key);
                (key, hash)
            })
            .collect()
    }

    fn pod(children: &[Child]) -> Value {
        let sts = children.iter().find(|c| c.kind == "StatefulSet").expect("StatefulSet");
        sts.body["spec"]["template"].clone()
    }

    fn containers(children: &[Child]) -> Vec<String> {
        let p = pod(children);
        p["spec"]["containers"].as_array().expect("containers").iter().map(|c| c["name"].to_string()).collect()
    }

    #[test]
    fn prep_runs_beside_the_site_with_capturists_and_the_mesas_file() {
        let set = municipal();
        let e = &set.elections[0];
        let h = hashes(e);
        let mesas = MesasFile { mesas: vec![] };
        let with = build(e, &Defaults::default(), Some(&mesas), &h).expect("builds");
        let ids: Vec<String> = with.iter().map(Child::id).collect();
        assert_eq!(
            ids,
            [
                "ConfigMap/ciudad-2027-capture-tokens",
                "StatefulSet/ciudad-2027-site",
                "Service/ciudad-2027-site",
                "NetworkPolicy/ciudad-2027-site-ingress",
                "Ingress/ciudad-2027-site"
            ]
        );
        assert_eq!(containers(&with), ["\"site\"", "\"capture\"", "\"publish\""]);
        let ports = with[2].body["spec"]["ports"].as_array().expect("ports").len();
        assert_eq!(ports, 2, "site and capture");
        assert!(pod(&with)["metadata"]["annotations"][PREP_FILES_HASH_ANNOTATION].is_string());

        // The booth vote service's mesas file set aside: the site alone, no capture port, no tokens file.
        let without = build(e, &Defaults::default(), None, &h).expect("builds");
        assert_eq!(containers(&without), ["\"site\""]);
        assert!(without.iter().all(|c| c.kind != "ConfigMap"));
        assert_eq!(without[1].body["spec"]["ports"].as_array().expect("ports").len(), 1);

        // A capturist added changes the tokens file and so rolls the pod.
        let mut more = e.clone();
        more.spec.site.as_mut().expect("site").capturists.push("dora".into());
        let h2 = hashes(&more);
        let rolled = build(&more, &Defaults::default(), Some(&mesas), &h2).expect("builds");
        let hash = |c: &[Child]| pod(c)["metadata"]["annotations"][PREP_FILES_HASH_ANNOTATION].clone();
        assert_ne!(hash(&with), hash(&rolled));

        // Without spec.site: nothing, and no tokens.
        let mut none = e.clone();
        none.spec.site = None;
        assert!(build(&none, &Defaults::default(), Some(&mesas), &h).expect("builds").is_empty());
        assert!(token_secrets(&none).is_empty());
    }

    #[test]
    fn tokens_file_lists_every_capturist_and_the_publisher_and_needs_every_hash() {
        let set = municipal();
        let e = &set.elections[0];
        let site = e.spec.site.as_ref().expect("site");
        let h = hashes(e);
        let file = capture_tokens_file(site, &h).expect("file");
        let ids: Vec<&str> = file.capturists.iter().map(|c| c.id.as_str()).collect();
        assert_eq!(ids, ["ana", "beto", "carla"]);
        assert_eq!(file.publishers[0].id, PUBLISHER_ID);
        assert_eq!(hex::encode(file.publishers[0].token_sha256), h[PUBLISHER_KEY]);
        let names: Vec<String> = token_secrets(e).into_iter().filter_map(|s| s.meta.name).collect();
        assert_eq!(
            names,
            [
                "ciudad-2027-publisher-token",
                "ciudad-2027-capturist-ana",
                "ciudad-2027-capturist-beto",
                "ciudad-2027-capturist-carla"
            ]
        );
        let mut missing = h.clone();
        missing.remove(&capturist_key("beto"));
        assert!(capture_tokens_file(site, &missing).is_err(), "a token not created yet is an error");
    }

    #[test]
    fn the_record_is_mounted_once_exported_beside_the_decryption_pod() {
        let set = municipal();
        let mut e = set.elections[0].clone();
        let h = hashes(&e);
        let before = build(&e, &Defaults::default(), None, &h).expect("builds");
        assert!(pod(&before)["spec"]["affinity"].is_null());
        assert!(!pod(&before)["spec"]["volumes"].to_string().contains("ciudad-2027-record"));

        let mut status = e.status.clone().unwrap_or_default();
        status.record_exported_at =
            Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time("2027-06-06T20:00:00Z".parse().expect("time")));
        e.status = Some(status);
        let after = build(&e, &Defaults::default(), None, &h).expect("builds");
        let p = pod(&after);
        let claim = p["spec"]["volumes"]
            .as_array()
            .expect("volumes")
            .iter()
            .find_map(|v| v["persistentVolumeClaim"].as_object().cloned())
            .expect("the record volume");
        assert_eq!(claim["claimName"], "ciudad-2027-record");
        assert_eq!(claim["readOnly"], true);
        let term = &p["spec"]["affinity"]["podAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0];
        assert_eq!(term["topologyKey"], "kubernetes.io/hostname");
        assert_eq!(term["labelSelector"]["matchLabels"]["app.kubernetes.io/component"], "decryption");
        let site = &p["spec"]["containers"][0];
        assert!(site["volumeMounts"].to_string().contains(SITE_RECORD_MOUNT));
    }

    #[test]
    fn the_ingress_exposes_the_site_only() {
        let set = municipal();
        let e = &set.elections[0];
        let ingress = site_ingress(e).expect("spec.site.ingress");
        let spec = ingress.spec.expect("spec");
        let rule = &spec.rules.expect("rules")[0];
        let paths = &rule.http.as_ref().expect("http").paths;
        assert_eq!(paths.len(), 1);
        assert_eq!(paths[0].path.as_deref(), Some("/"));
        let port = paths[0].backend.service.as_ref().and_then(|s| s.port.as_ref()).and_then(|p| p.name.clone());
        assert_eq!(port.as_deref(), Some(HTTP_PORT_NAME), "never the capture port");
        assert_eq!(spec.tls.expect("tls")[0].secret_name.as_deref(), Some("ciudad-2027-site-tls"));
    }
}
