//! The Election's children: manifest ConfigMap, vote StatefulSet + headless Service (one replica per voter
//! partition) and, with `spec.vote.ingress`, its Ingress; audit StatefulSet + headless Service, TallyShards,
//! NetworkPolicies and PodDisruptionBudgets.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{
    ConfigMap, Container, EnvVar, EnvVarSource, ObjectFieldSelector, ResourceRequirements, Service, Volume, VolumeMount,
};
use k8s_openapi::api::networking::v1::{
    HTTPIngressPath, HTTPIngressRuleValue, Ingress, IngressBackend, IngressRule, IngressServiceBackend, IngressSpec,
    IngressTLS, NetworkPolicy, NetworkPolicyIngressRule, NetworkPolicyPeer, NetworkPolicyPort, NetworkPolicySpec,
    ServiceBackendPort,
};
use k8s_openapi::api::policy::v1::{PodDisruptionBudget, PodDisruptionBudgetSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::ResourceExt;
use serde_json::json;
use urna_ballot::Districts;

use super::booth_vote::BOOTH_VOTE;
use super::pod::{self, KeySource};
use super::{Child, Defaults};
use crate::crd::common::KeyRef;
use crate::crd::common::ModalityKind;
use crate::crd::election::{CensusSource, ShardingPolicy, VoteIngressSpec, VoteSpec};
use crate::crd::{Election, ElectionPhase, TallyShard, TallyShardSpec};
use crate::error::Result;
use crate::meta::{self, LABEL_COMPONENT, LABEL_ELECTION, LABEL_SHARD, MAX_WORKLOAD_NAME};
use crate::workload::{
    self, ADMIN_TOKEN_DIR, CENSUS_DIR, HTTP_PORT_NAME, KEYS_FILE, MANIFEST_FILE, PARTITION_ENV, POD_INDEX_LABEL,
    PUBLIC_KEY_FILE, SIGNING_KEY_DIR, VoteArgs,
};
use urna_vote::partition::Partition;

pub const VOTE: &str = "vote";
pub const AUDIT: &str = "audit";
pub const TALLY: &str = "tally";

pub fn manifest_name(election: &str) -> String {
    format!("{election}-manifest")
}
pub fn vote_name(election: &str) -> String {
    meta::child_name(&[election, VOTE], MAX_WORKLOAD_NAME)
}
pub fn audit_name(election: &str) -> String {
    meta::child_name(&[election, AUDIT], MAX_WORKLOAD_NAME)
}
/// The Secret holding the election's internal token (key `token`): the bearer token the vote services
/// present to the tally shards and the audit log, which refuse writes without it. Created once by the
/// controller with a fresh token ([`internal_token_secret_meta`]), never rewritten; an officer reads it to
/// seal a shard or close the log by hand.
pub fn internal_token_secret(election: &str) -> String {
    meta::child_name(&[election, "internal-token"], 253)
}

/// The internal token Secret that must exist for `e`, owned by it (deleted with it).
pub fn internal_token_secret_meta(e: &Election) -> super::booth_vote::TokenSecret {
    let name = e.name_any();
    let secret = internal_token_secret(&name);
    let labels = meta::labels(super::booth_vote::TOKEN_COMPONENT, &secret, &name);
    super::booth_vote::TokenSecret { meta: meta::child_meta(e, secret, labels), hash_key: None }
}

/// Every child object of `e`, in apply order (configuration before the workloads that mount it). The vote
/// service routes ballots to the generated TallyShards; for `sharding: manual` use [`build_with`].
pub fn build(e: &Election, defaults: &Defaults) -> Result<Vec<Child>> {
    build_with(e, defaults, &[])
}

/// [`build`], with the hand-declared TallyShards of a `sharding: manual` Election (ignored otherwise): the
/// vote service routes ballots to them.
pub fn build_with(e: &Election, defaults: &Defaults, manual_shards: &[TallyShard]) -> Result<Vec<Child>> {
    let name = e.name_any();
    let image = e.spec.image.clone().unwrap_or_else(|| defaults.image.clone());
    let generated = tally_shards(e);
    let routed = if e.spec.tally.sharding == ShardingPolicy::Manual { manual_shards } else { &generated[..] };
    let mut out = vec![Child::new(&manifest_config_map(e)?)?];
    out.push(Child::new(&vote_statefulset(e, &image, routed))?);
    let vote_meta = meta::child_meta(e, vote_name(&name), meta::labels(VOTE, &vote_name(&name), &name));
    out.push(Child::new(&pod::http_service(vote_meta, meta::selector(VOTE, &vote_name(&name)), true))?);
    if let Some(ingress) = vote_ingress(e) {
        out.push(Child::new(&ingress)?);
        for service in vote_partition_services(e) {
            out.push(Child::new(&service)?);
        }
    }
    out.push(Child::new(&audit_statefulset(e, &image))?);
    let audit_meta = meta::child_meta(e, audit_name(&name), meta::labels(AUDIT, &audit_name(&name), &name));
    out.push(Child::new(&pod::http_service(audit_meta, meta::selector(AUDIT, &audit_name(&name)), true))?);
    if let Some(ingress) = audit_ingress(e) {
        out.push(Child::new(&ingress)?);
    }
    for shard in generated {
        out.push(Child::new(&shard)?);
    }
    for np in network_policies(e) {
        out.push(Child::new(&np)?);
    }
    for pdb in disruption_budgets(e) {
        out.push(Child::new(&pdb)?);
    }
    Ok(out)
}

/// manifest.json (what ballots are bound to), keys.json (public keys and trustee policy) and
/// election.json (windows, census, publication): everything a workload or a verifier reads.
pub fn manifest_config_map(e: &Election) -> Result<ConfigMap> {
    let name = e.name_any();
    let manifest = e.manifest();
    let hash = hex::encode(urna_ballot::manifest_hash(&manifest));
    let keys = json!({ "keys": e.spec.keys, "trustees": e.spec.trustees });
    let schedule = json!({
        "title": e.spec.title,
        "jurisdiction": e.spec.jurisdiction,
        "modalities": e.spec.modalities,
        "census": e.spec.census,
        "publicationIntervalSeconds": e.spec.publication_interval_seconds,
        "auditBatchSize": e.spec.audit.batch_size,
        "vote": { "partitions": e.spec.vote.partitions, "urls": vote_urls(e) },
    });
    let mut m = meta::child_meta(e, manifest_name(&name), meta::labels("manifest", &manifest_name(&name), &name));
    m.annotations = Some(BTreeMap::from([(meta::ANNOTATION_MANIFEST_HASH.into(), hash)]));
    Ok(ConfigMap {
        metadata: m,
        data: Some(BTreeMap::from([
            (MANIFEST_FILE.into(), serde_json::to_string_pretty(&manifest)?),
            (KEYS_FILE.into(), serde_json::to_string_pretty(&keys)?),
            (PUBLIC_KEY_FILE.into(), serde_json::to_string_pretty(&json!({ "n": e.spec.keys.paillier_modulus }))?),
            ("election.json".into(), serde_json::to_string_pretty(&schedule)?),
        ])),
        ..Default::default()
    })
}

/// Each vote partition's base URL, in partition order (its pod's stable name under the headless Service):
/// what a partition-aware client (`urna_vote::client::VoterClient::partitioned`) is given.
pub fn vote_urls(e: &Election) -> Vec<String> {
    let vname = vote_name(&e.name_any());
    let ns = e.namespace();
    (0..e.spec.vote.partitions).map(|i| workload::service_url(&format!("{vname}-{i}.{vname}"), ns.as_deref())).collect()
}

/// The modality whose ballots the vote service records: remote when the Election has it, else booth. Mesa
/// admissions and the fleet's booth ballots go to the booth vote service (`spec.vote.booth`,
/// [`super::booth_vote`]).
pub fn vote_modality(e: &Election) -> Option<&crate::crd::election::Modality> {
    let find = |k: ModalityKind| e.spec.modalities.iter().find(|m| m.kind == k);
    find(ModalityKind::Remote).or_else(|| find(ModalityKind::Booth))
}

/// `DISTRICT:MODALITY=URL` for each shard (`*` for a shard of a whole modality), sorted: the vote service's
/// `--shard` routes, to each shard's headless Service.
pub fn shard_routes(e: &Election, shards: &[TallyShard]) -> Vec<String> {
    let ns = e.namespace();
    let mut routes: Vec<String> = shards
        .iter()
        .map(|s| {
            let svc = crate::build::tallyshard::workload_name(&s.name_any());
            let district = s.spec.district.as_deref().unwrap_or("*");
            format!("{district}:{}={}", s.spec.modality, workload::service_url(&svc, ns.as_deref()))
        })
        .collect();
    routes.sort();
    routes
}

const SIGNING_KEY_VOLUME: &str = "signing-key";
const ADMIN_TOKEN_VOLUME: &str = "admin-token";
const CENSUS_VOLUME: &str = "census";

/// One replica per partition; replica `i` (its StatefulSet ordinal, from the pod-index label) serves
/// partition `i/partitions` on its own retained volume.
fn vote_statefulset(e: &Election, image: &str, shards: &[TallyShard]) -> StatefulSet {
    let name = e.name_any();
    let vname = vote_name(&name);
    let v = &e.spec.vote;
    let census = census_source(&e.spec.census);
    let modality = vote_modality(e);
    let args = VoteArgs {
        partitions: v.partitions,
        modality: modality.map_or(ModalityKind::Remote, |m| m.kind).as_str().into(),
        opens_at: modality.map(|m| m.opens_at.0.to_string()),
        closes_at: modality.map(|m| m.closes_at.0.to_string()),
        shards: shard_routes(e, shards),
        audit: workload::service_url(&audit_name(&name), e.namespace().as_deref()),
        signing_key: v.signing_key.key.clone(),
        census: census.map(|(_, r)| r.key.clone()),
        admin_token: v.admin_token.as_ref().map(|r| r.key.clone()),
        audit_log_key: crate::fingerprints::audit_verifier_key(e),
        witnesses: e.spec.audit.witnesses.clone(),
        booth_desk: false,
    };
    let (c, volumes) =
        vote_pod(VOTE, image, &args, v.resources.clone(), (v, &manifest_name(&name), &name), census, Vec::new());
    let partitions = i32::try_from(v.partitions).unwrap_or(i32::MAX);
    pod::writer_set(
        meta::child_meta(e, vname.clone(), meta::labels(VOTE, &vname, &name)),
        meta::selector(VOTE, &vname),
        c,
        &v.storage,
        volumes,
        partitions,
        true,
    )
}

/// The annotations cert-manager's ingress-shim reads; set only from `spec.vote.ingress.tls.issuer`.
pub const CERT_MANAGER_PREFIX: &str = "cert-manager.io/";

/// What the Ingress exposes of the vote service: the voter app and exactly the routes it calls
/// (web/app/src/api.ts), each `(path, pathType)`. Left out: `/v1/close` (admin), `/v1/status`, `/metrics`,
/// `/healthz`, `/readyz`, `/openapi.json`, `/v1/receipts/…` (the app does not call them), and the booth
/// routes (`/v1/mesas/…`, `/v1/booth/ballots`, which the remote service does not serve anyway).
/// `GET /v1/ballots` shares its path with the cast: it is the public bulletin board of encrypted ballots.
pub const VOTE_INGRESS_PATHS: &[(&str, &str)] = &[
    ("/", "Exact"),
    ("/assets", "Prefix"),
    ("/v1/election", "Exact"),
    ("/v1/sessions", "Exact"),
    ("/v1/rights", "Exact"),
    ("/v1/ballots", "Exact"),
    ("/audit/v1/checkpoint", "Exact"),
    ("/audit/v1/proof/inclusion", "Exact"),
];

/// The remote vote service's Ingress, with `spec.vote.ingress`: the host's [`VOTE_INGRESS_PATHS`] to the
/// vote Service's HTTP port, TLS from the given Secret (issued by cert-manager when `tls.issuer` is set).
/// With several partitions, also each partition's `Partition::ROUTES` under its prefix (`/p/<i>`) to
/// that partition's own Service ([`vote_partition_services`]): the app computes the partition as the
/// service does. The vote NetworkPolicy admits any source, so the ingress controller's pods reach it from
/// any namespace.
pub fn vote_ingress(e: &Election) -> Option<Ingress> {
    let spec = e.spec.vote.ingress.as_ref()?;
    let name = e.name_any();
    let vname = vote_name(&name);
    let metadata = meta::child_meta(e, vname.clone(), meta::labels(VOTE, &vname, &name));
    let mut routes: Vec<(String, &str, String)> =
        VOTE_INGRESS_PATHS.iter().map(|(p, kind)| ((*p).to_owned(), *kind, vname.clone())).collect();
    let partitions = e.spec.vote.partitions;
    if partitions > 1 {
        for i in 0..partitions {
            let prefix = Partition::path_prefix(i);
            let service = vote_partition_name(&name, i);
            routes.extend(Partition::ROUTES.iter().map(|p| (format!("{prefix}{p}"), "Exact", service.clone())));
        }
    }
    Some(ingress_routes(metadata, spec, &routes))
}

/// The Service of one vote partition: `<e>-vote-p<i>`.
pub fn vote_partition_name(election: &str, index: u32) -> String {
    meta::child_name(&[election, VOTE, &format!("p{index}")], MAX_WORKLOAD_NAME)
}

/// With `spec.vote.ingress` and several partitions, one ClusterIP Service per partition selecting its pod by
/// the StatefulSet's `apps.kubernetes.io/pod-index` label (the pod's ordinal is its partition).
pub fn vote_partition_services(e: &Election) -> Vec<Service> {
    let partitions = e.spec.vote.partitions;
    if e.spec.vote.ingress.is_none() || partitions < 2 {
        return Vec::new();
    }
    let name = e.name_any();
    let vname = vote_name(&name);
    (0..partitions)
        .map(|i| {
            let pname = vote_partition_name(&name, i);
            let mut selector = meta::selector(VOTE, &vname);
            selector.insert(workload::POD_INDEX_LABEL.into(), i.to_string());
            pod::http_service(meta::child_meta(e, pname.clone(), meta::labels(VOTE, &pname, &name)), selector, false)
        })
        .collect()
}

/// What the audit log's Ingress exposes: its public reads, which observers and witnesses verify (the
/// checkpoint as JSON and as a bare note, entries, inclusion and consistency proofs), and the witnesses'
/// cosignatures, each checked against a declared witness's key. `POST /v1/entries` shares its path with the
/// reads and needs the election's internal token; `/v1/close`, `/v1/status`, `/metrics` and the probes stay
/// inside the cluster.
pub const AUDIT_INGRESS_PATHS: &[(&str, &str)] = &[
    ("/checkpoint", "Exact"),
    ("/v1/checkpoint", "Exact"),
    ("/v1/entries", "Exact"),
    ("/v1/proof/inclusion", "Exact"),
    ("/v1/proof/consistency", "Exact"),
    ("/v1/witness/cosign", "Exact"),
];

/// The audit log's Ingress, with `spec.audit.ingress`: [`AUDIT_INGRESS_PATHS`] on its host. The audit
/// NetworkPolicy admits any source.
pub fn audit_ingress(e: &Election) -> Option<Ingress> {
    let spec = e.spec.audit.ingress.as_ref()?;
    let name = e.name_any();
    let aname = audit_name(&name);
    let metadata = meta::child_meta(e, aname.clone(), meta::labels(AUDIT, &aname, &name));
    Some(ingress_to(metadata, spec, &aname, AUDIT_INGRESS_PATHS))
}

/// An Ingress on `spec`'s host routing `paths` (path, pathType) to `service`'s HTTP port, with TLS from the
/// given Secret and cert-manager's issuer annotation when `tls.issuer` is set: the one shape of the vote
/// service's and the public site's Ingresses.
pub(crate) fn ingress_to(
    metadata: ObjectMeta,
    spec: &VoteIngressSpec,
    service: &str,
    paths: &[(&str, &str)],
) -> Ingress {
    let routes: Vec<(String, &str, String)> =
        paths.iter().map(|(p, kind)| ((*p).to_owned(), *kind, service.to_owned())).collect();
    ingress_routes(metadata, spec, &routes)
}

/// An Ingress on `spec`'s host routing each `(path, pathType, service)` to that Service's HTTP port.
fn ingress_routes(mut metadata: ObjectMeta, spec: &VoteIngressSpec, routes: &[(String, &str, String)]) -> Ingress {
    let mut annotations = spec.annotations.clone();
    if let Some(issuer) = &spec.tls.issuer {
        let key = if issuer.kind == "ClusterIssuer" { "cluster-issuer" } else { "issuer" };
        annotations.insert(format!("{CERT_MANAGER_PREFIX}{key}"), issuer.name.clone());
    }
    metadata.annotations = (!annotations.is_empty()).then_some(annotations);
    let paths = routes
        .iter()
        .map(|(path, kind, service)| HTTPIngressPath {
            path: Some(path.clone()),
            path_type: (*kind).into(),
            backend: IngressBackend {
                service: Some(IngressServiceBackend {
                    name: service.clone(),
                    port: Some(ServiceBackendPort { name: Some(HTTP_PORT_NAME.into()), number: None }),
                }),
                resource: None,
            },
        })
        .collect();
    Ingress {
        metadata,
        spec: Some(IngressSpec {
            ingress_class_name: spec.class_name.clone(),
            tls: Some(vec![IngressTLS {
                hosts: Some(vec![spec.host.clone()]),
                secret_name: Some(spec.tls.secret_name.clone()),
            }]),
            rules: Some(vec![IngressRule {
                host: Some(spec.host.clone()),
                http: Some(HTTPIngressRuleValue { paths }),
            }]),
            default_backend: None,
        }),
        status: None,
    }
}

/// Where a census is read from: its ConfigMap key, else its Secret key.
pub(super) fn census_source(c: &CensusSource) -> Option<(KeySource, &KeyRef)> {
    let from_config_map = c.config_map.as_ref().map(|r| (KeySource::ConfigMap, r));
    from_config_map.or_else(|| c.secret.as_ref().map(|r| (KeySource::Secret, r)))
}

/// A vote service's container (mounts set) and volumes, shared by the remote and the booth vote service:
/// the partition from the pod's index, the manifest (`manifest` ConfigMap), the data volume, `election`'s
/// internal token, the signing key, the census and the admin token, then the `extra` mounts and volumes.
pub(super) fn vote_pod(
    component: &str,
    image: &str,
    args: &VoteArgs,
    resources: Option<ResourceRequirements>,
    (v, manifest, election): (&VoteSpec, &str, &str),
    census: Option<(KeySource, &KeyRef)>,
    extra: Vec<(VolumeMount, Volume)>,
) -> (Container, Vec<Volume>) {
    let mut c = pod::container(component, image, workload::vote_args(args), resources);
    c.env = Some(vec![EnvVar {
        name: PARTITION_ENV.into(),
        value_from: Some(EnvVarSource {
            field_ref: Some(ObjectFieldSelector {
                field_path: format!("metadata.labels['{POD_INDEX_LABEL}']"),
                ..Default::default()
            }),
            ..Default::default()
        }),
        ..Default::default()
    }]);
    let mut mounts = vec![pod::manifest_mount(), pod::data_mount(), pod::internal_token_mount()];
    let mut volumes = vec![pod::manifest_volume(manifest), pod::internal_token_volume(election)];
    mounts.push(pod::read_only_mount(SIGNING_KEY_VOLUME, SIGNING_KEY_DIR));
    volumes.push(pod::key_volume(SIGNING_KEY_VOLUME, KeySource::Secret, &v.signing_key.name, &v.signing_key.key));
    if let Some((source, r)) = census {
        mounts.push(pod::read_only_mount(CENSUS_VOLUME, CENSUS_DIR));
        volumes.push(pod::key_volume(CENSUS_VOLUME, source, &r.name, &r.key));
    }
    if let Some(r) = &v.admin_token {
        mounts.push(pod::read_only_mount(ADMIN_TOKEN_VOLUME, ADMIN_TOKEN_DIR));
        volumes.push(pod::key_volume(ADMIN_TOKEN_VOLUME, KeySource::Secret, &r.name, &r.key));
    }
    for (m, vol) in extra {
        mounts.push(m);
        volumes.push(vol);
    }
    c.volume_mounts = Some(mounts);
    (c, volumes)
}

fn audit_statefulset(e: &Election, image: &str) -> StatefulSet {
    let name = e.name_any();
    let aname = audit_name(&name);
    let c = pod::container(
        AUDIT,
        image,
        workload::audit_args(&name, e.spec.audit.batch_size, e.spec.audit.witnesses.as_ref()),
        e.spec.audit.resources.clone(),
    );
    pod::single_writer(
        meta::child_meta(e, aname.clone(), meta::labels(AUDIT, &aname, &name)),
        meta::selector(AUDIT, &aname),
        c,
        &e.spec.audit.storage,
        &manifest_name(&name),
        &name,
    )
}

/// The leaf districts at or under `district` (all leaves when `None`): the ballot styles a shard holds.
pub fn leaves_under(e: &Election, district: Option<&str>) -> Vec<String> {
    Districts::new(&e.spec.districts).leaves_under(district).into_iter().map(str::to_owned).collect()
}

/// Districts where ballots are cast: those no other district names as parent.
pub fn leaf_districts(e: &Election) -> Vec<&str> {
    Districts::new(&e.spec.districts).leaves()
}

/// The generated shards, per the sharding policy.
pub fn tally_shards(e: &Election) -> Vec<TallyShard> {
    let name = e.name_any();
    let mut modalities: Vec<ModalityKind> = e.spec.modalities.iter().map(|m| m.kind).collect();
    modalities.sort();
    let partitions: Vec<(Option<&str>, ModalityKind)> = match e.spec.tally.sharding {
        ShardingPolicy::Manual => vec![],
        ShardingPolicy::PerModality => modalities.iter().map(|m| (None, *m)).collect(),
        ShardingPolicy::PerDistrictModality => {
            leaf_districts(e).into_iter().flat_map(|d| modalities.iter().map(move |m| (Some(d), *m))).collect()
        }
    };
    partitions
        .into_iter()
        .map(|(district, modality)| {
            let mut parts = vec![name.as_str()];
            parts.extend(district);
            parts.push(modality.as_str());
            let shard = meta::child_name(&parts, MAX_WORKLOAD_NAME);
            let mut labels = meta::labels(TALLY, &shard, &name);
            labels.insert(LABEL_SHARD.into(), shard.clone());
            let mut t = TallyShard::new(
                &shard,
                TallyShardSpec {
                    election: name.clone(),
                    district: district.map(str::to_owned),
                    modality,
                    storage: e.spec.tally.storage.clone(),
                    image: e.spec.image.clone(),
                    resources: e.spec.tally.resources.clone(),
                },
            );
            t.metadata = meta::child_meta(e, shard, labels);
            t
        })
        .collect()
}

fn component_selector(election: &str, components: &[&str]) -> LabelSelector {
    LabelSelector {
        match_labels: Some(BTreeMap::from([(LABEL_ELECTION.into(), election.into())])),
        match_expressions: Some(vec![LabelSelectorRequirement {
            key: LABEL_COMPONENT.into(),
            operator: "In".into(),
            values: Some(components.iter().map(|c| c.to_string()).collect()),
        }]),
    }
}

/// Who may reach a workload's HTTP port.
enum Source<'a> {
    /// Anyone (a public endpoint).
    Anyone,
    /// The election's pods of these components.
    Components(&'a [&'a str]),
    /// Prometheus, in any namespace: pods labelled `app.kubernetes.io/name: prometheus`, as the Prometheus
    /// Operator and kube-prometheus-stack label them.
    Prometheus,
    /// The operator, in any namespace (the chart labels its pods `app.kubernetes.io/name: urna-operator`):
    /// it polls each shard's status and seals it at the close.
    Operator,
}

/// The chart's `app.kubernetes.io/name` label of the operator's pods.
pub const OPERATOR_POD_NAME: &str = "urna-operator";

/// Pods labelled `app.kubernetes.io/name: <name>`, in any namespace.
fn any_namespace(name: &str) -> NetworkPolicyPeer {
    NetworkPolicyPeer {
        namespace_selector: Some(LabelSelector::default()),
        pod_selector: Some(LabelSelector {
            match_labels: Some(BTreeMap::from([(meta::LABEL_NAME.into(), name.into())])),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn policy(e: &Election, suffix: &str, target: &str, from: &[Source]) -> NetworkPolicy {
    let name = e.name_any();
    let http = || {
        Some(vec![NetworkPolicyPort {
            port: Some(IntOrString::String(HTTP_PORT_NAME.into())),
            protocol: Some("TCP".into()),
            ..Default::default()
        }])
    };
    let rule = |f: &Source| NetworkPolicyIngressRule {
        from: match f {
            Source::Anyone => None,
            Source::Components(c) => {
                Some(vec![NetworkPolicyPeer { pod_selector: Some(component_selector(&name, c)), ..Default::default() }])
            }
            Source::Prometheus => Some(vec![any_namespace("prometheus")]),
            Source::Operator => Some(vec![any_namespace(OPERATOR_POD_NAME)]),
        },
        ports: http(),
    };
    NetworkPolicy {
        metadata: meta::child_meta(e, format!("{name}-{suffix}"), meta::labels("network-policy", &name, &name)),
        spec: Some(NetworkPolicySpec {
            pod_selector: Some(component_selector(&name, &[target])),
            policy_types: Some(vec!["Ingress".into()]),
            ingress: Some(from.iter().map(rule).collect()),
            ..Default::default()
        }),
    }
}

/// The vote service is the public front door; tally shards accept ballots only from the vote services and
/// the booth brokers, and reads from the record-export Job and the operator (status, seal). The decryption
/// service admits anyone: trustees submit their
/// partials from their own machines, and every answer is verified on arrival. The booth vote service (with
/// `spec.vote.booth`) is reached by the Mesa consoles at the polling stations, from outside the cluster like
/// remote voters, and by the fleet's collector (the bridge), so it admits any source as the remote one does;
/// both of its write endpoints need a bearer token (the Mesa's console token, the bridge token).
///
/// Observability and public verification are open by design: Prometheus (any namespace) scrapes the tally
/// shards' `/metrics`, and the audit log admits anyone, because its reads (checkpoints, entries, inclusion
/// and consistency proofs, `/metrics`) are the public record observers verify; its writes (appends, close)
/// need the election's internal token, and a witness's cosignature is checked against its key.
pub fn network_policies(e: &Election) -> Vec<NetworkPolicy> {
    let mut out = vec![
        policy(e, "vote-ingress", VOTE, &[Source::Anyone]),
        policy(
            e,
            "tally-ingress",
            TALLY,
            &[
                Source::Components(&[VOTE, BOOTH_VOTE, "broker", super::record::RECORD]),
                Source::Prometheus,
                Source::Operator,
            ],
        ),
        policy(e, "audit-ingress", AUDIT, &[Source::Anyone]),
        policy(e, "decryption-ingress", super::record::DECRYPTION, &[Source::Anyone]),
    ];
    if super::booth_vote::booth_spec(e).is_some() {
        out.push(policy(e, "vote-booth-ingress", BOOTH_VOTE, &[Source::Anyone]));
    }
    out
}

/// Vote loses at most one partition's replica at a time through voluntary disruptions (its voters retry
/// while it restarts on its volume). While the election is Open, the single
/// writers (tally shards, audit and the booth vote service) are not evicted at all: a drain waits for the window to close rather than
/// pausing ballot intake.
pub fn disruption_budgets(e: &Election) -> Vec<PodDisruptionBudget> {
    let name = e.name_any();
    let vname = vote_name(&name);
    let mut out = vec![PodDisruptionBudget {
        metadata: meta::child_meta(e, vname.clone(), meta::labels(VOTE, &vname, &name)),
        spec: Some(PodDisruptionBudgetSpec {
            max_unavailable: Some(IntOrString::Int(1)),
            selector: Some(LabelSelector { match_labels: Some(meta::selector(VOTE, &vname)), ..Default::default() }),
            ..Default::default()
        }),
        ..Default::default()
    }];
    let writers_budget = if e.phase() == ElectionPhase::Open { 0 } else { 1 };
    out.push(PodDisruptionBudget {
        metadata: meta::child_meta(e, format!("{name}-writers"), meta::labels("writers", &name, &name)),
        spec: Some(PodDisruptionBudgetSpec {
            max_unavailable: Some(IntOrString::Int(writers_budget)),
            selector: Some(component_selector(&name, &[TALLY, AUDIT, BOOTH_VOTE])),
            ..Default::default()
        }),
        ..Default::default()
    });
    out
}
