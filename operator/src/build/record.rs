//! What closing creates: the record's volume, the record-export Job, the decryption service (Deployment,
//! Service, NetworkPolicy) and the results ConfigMap. Pure functions of the Election and what it names, like
//! every builder; the closing controller (`controller::closing`) decides when each is needed.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec, DeploymentStrategy};
use k8s_openapi::api::batch::v1::{Job, JobSpec};
use k8s_openapi::api::core::v1::{
    ConfigMap, PersistentVolumeClaim, PersistentVolumeClaimVolumeSource, PodSpec, PodTemplateSpec, Service, Volume,
    VolumeMount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use kube::ResourceExt;

use super::booth_vote;
use super::election::{audit_name, vote_modality, vote_urls};
use super::pod;
use crate::crd::{Election, TallyShard};
use crate::meta::{self, MAX_WORKLOAD_NAME};
use crate::workload::{self, CEREMONY_DIR, ExportArgs, RECORD_MOUNT};

/// The export Job's component label (admitted to the tally shards by `<e>-tally-ingress`).
pub const RECORD: &str = "record";
pub const DECRYPTION: &str = "decryption";
pub const RESULTS_FILE: &str = "results.json";
/// The keys of the ceremony ConfigMap (`spec.record.ceremony`) the export reads.
pub const CEREMONY_FILES: [&str; 2] = ["public.json", "transcript.json"];

const RECORD_VOLUME: &str = "record";
const CEREMONY_VOLUME: &str = "ceremony";

pub fn record_volume_name(election: &str) -> String {
    meta::child_name(&[election, "record"], 253)
}
pub fn export_job_name(election: &str) -> String {
    meta::child_name(&[election, "record-export"], MAX_WORKLOAD_NAME)
}
pub fn decryption_name(election: &str) -> String {
    meta::child_name(&[election, DECRYPTION], MAX_WORKLOAD_NAME)
}
pub fn results_config_map_name(election: &str) -> String {
    meta::child_name(&[election, "results"], 253)
}

/// The decryption service's base URL: what trustees' `urna trustee decrypt --election URL` and the
/// operator use inside the cluster (trustees outside reach it through whatever exposes the Service).
pub fn decryption_url(e: &Election) -> String {
    workload::service_url(&decryption_name(&e.name_any()), e.namespace().as_deref())
}

/// The record's volume. No owner reference: like every ballot volume it outlives the Election (deleting
/// the Election never deletes the record it exported).
pub fn record_volume(e: &Election) -> PersistentVolumeClaim {
    let name = e.name_any();
    let vname = record_volume_name(&name);
    let mut metadata = meta::child_meta(e, vname.clone(), meta::labels(RECORD, &vname, &name));
    metadata.owner_references = None;
    PersistentVolumeClaim { metadata, spec: Some(pod::claim_spec(&e.spec.record.storage)), ..Default::default() }
}

/// Where the export reads: every vote replica in partition order (then the booth vote service), every
/// shard by name, the audit log.
pub fn export_sources(e: &Election, shards: &[TallyShard]) -> ExportArgs {
    let modality = vote_modality(e).map_or(crate::crd::common::ModalityKind::Remote, |m| m.kind);
    let mut votes: Vec<(String, String)> = vote_urls(e).into_iter().map(|u| (modality.to_string(), u)).collect();
    if booth_vote::booth_spec(e).is_some() {
        votes.push(("booth".into(), booth_vote::booth_vote_url(e)));
    }
    let ns = e.namespace();
    let mut shards: Vec<(String, String)> = shards
        .iter()
        .map(|s| {
            let svc = super::tallyshard::workload_name(&s.name_any());
            (s.name_any(), workload::service_url(&svc, ns.as_deref()))
        })
        .collect();
    shards.sort();
    ExportArgs { votes, shards, audit: workload::service_url(&audit_name(&e.name_any()), ns.as_deref()) }
}

fn record_mount() -> VolumeMount {
    VolumeMount { name: RECORD_VOLUME.into(), mount_path: RECORD_MOUNT.into(), ..Default::default() }
}

fn record_pvc_volume(election: &str) -> Volume {
    Volume {
        name: RECORD_VOLUME.into(),
        persistent_volume_claim: Some(PersistentVolumeClaimVolumeSource {
            claim_name: record_volume_name(election),
            read_only: None,
        }),
        ..Default::default()
    }
}

fn pod_spec(containers: Vec<k8s_openapi::api::core::v1::Container>, volumes: Vec<Volume>, restart: &str) -> PodSpec {
    PodSpec {
        containers,
        volumes: Some(volumes),
        security_context: Some(pod::pod_security()),
        automount_service_account_token: Some(false),
        restart_policy: Some(restart.into()),
        ..Default::default()
    }
}

/// The record-export Job (owned by the Election): `urna record export` from the sealed shards, the closed
/// log and the vote services onto the record volume. `None` without `spec.record.ceremony`. Retried by the
/// Job controller (`backoffLimit`); each attempt is idempotent (`--idempotent`).
pub fn export_job(e: &Election, image: &str, shards: &[TallyShard]) -> Option<Job> {
    let ceremony = e.spec.record.ceremony.as_ref()?;
    let name = e.name_any();
    let jname = export_job_name(&name);
    let labels = meta::labels(RECORD, &jname, &name);
    let mut c = pod::container(RECORD, image, workload::export_args(&export_sources(e, shards)), None);
    // A run-to-completion pod: no port, no probes.
    c.ports = None;
    c.readiness_probe = None;
    c.liveness_probe = None;
    c.volume_mounts = Some(vec![record_mount(), pod::read_only_mount(CEREMONY_VOLUME, CEREMONY_DIR)]);
    let ceremony_volume = Volume {
        name: CEREMONY_VOLUME.into(),
        config_map: Some(k8s_openapi::api::core::v1::ConfigMapVolumeSource {
            name: ceremony.clone(),
            items: Some(
                CEREMONY_FILES
                    .iter()
                    .map(|f| k8s_openapi::api::core::v1::KeyToPath {
                        key: (*f).into(),
                        path: (*f).into(),
                        ..Default::default()
                    })
                    .collect(),
            ),
            ..Default::default()
        }),
        ..Default::default()
    };
    Some(Job {
        metadata: meta::child_meta(e, jname, labels.clone()),
        spec: Some(JobSpec {
            backoff_limit: Some(4),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta { labels: Some(labels), ..Default::default() }),
                spec: Some(pod_spec(vec![c], vec![record_pvc_volume(&name), ceremony_volume], "OnFailure")),
            },
            ..Default::default()
        }),
        ..Default::default()
    })
}

/// The decryption service: one replica over the record volume (its single writer: partials and results go
/// into the record directory), replaced, never overlapped (`Recreate`), and its Service.
pub fn decryption_service(e: &Election, image: &str) -> (Deployment, Service) {
    let name = e.name_any();
    let dname = decryption_name(&name);
    let labels = meta::labels(DECRYPTION, &dname, &name);
    let mut c = pod::container(DECRYPTION, image, workload::decryption_args(), None);
    c.volume_mounts = Some(vec![record_mount()]);
    let deployment = Deployment {
        metadata: meta::child_meta(e, dname.clone(), labels.clone()),
        spec: Some(DeploymentSpec {
            replicas: Some(1),
            selector: LabelSelector { match_labels: Some(meta::selector(DECRYPTION, &dname)), ..Default::default() },
            strategy: Some(DeploymentStrategy { type_: Some("Recreate".into()), ..Default::default() }),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta { labels: Some(labels.clone()), ..Default::default() }),
                spec: Some(pod_spec(vec![c], vec![record_pvc_volume(&name)], "Always")),
            },
            ..Default::default()
        }),
        ..Default::default()
    };
    let service =
        pod::http_service(meta::child_meta(e, dname.clone(), labels), meta::selector(DECRYPTION, &dname), false);
    (deployment, service)
}

/// The published results (`results.json` as the decryption service wrote it, its SHA-256 checked), owned by
/// the Election.
pub fn results_config_map(e: &Election, results_json: &str) -> ConfigMap {
    let name = e.name_any();
    let cname = results_config_map_name(&name);
    ConfigMap {
        metadata: meta::child_meta(e, cname.clone(), meta::labels("results", &cname, &name)),
        data: Some(BTreeMap::from([(RESULTS_FILE.into(), results_json.to_owned())])),
        ..Default::default()
    }
}
