//! Pieces every workload's pod template shares: the hardened security context, probes and mounts.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{
    Capabilities, ConfigMapVolumeSource, Container, ContainerPort, HTTPGetAction, PodSecurityContext, Probe,
    ResourceRequirements, SeccompProfile, SecurityContext, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::api::resource::Quantity;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

use crate::workload::{HTTP_PORT, HTTP_PORT_NAME, MANIFEST_DIR};

/// Non-root, read-only root filesystem, no capabilities, RuntimeDefault seccomp: the restricted Pod
/// Security Standard, so the workloads run in namespaces that enforce it.
pub fn pod_security() -> PodSecurityContext {
    PodSecurityContext {
        run_as_non_root: Some(true),
        run_as_user: Some(65532),
        run_as_group: Some(65532),
        fs_group: Some(65532),
        // The kubelet's recursive ownership change (the default, `Always`) adds group read/write to every file
        // on each mount, which would make the audit log's key group-readable on the first restart (and
        // `urna audit` refuses such a key). The volume root is set up on the first mount; later mounts leave
        // the files as the workload wrote them.
        fs_group_change_policy: Some("OnRootMismatch".into()),
        seccomp_profile: Some(SeccompProfile { type_: "RuntimeDefault".into(), ..Default::default() }),
        ..Default::default()
    }
}

fn container_security() -> SecurityContext {
    SecurityContext {
        allow_privilege_escalation: Some(false),
        read_only_root_filesystem: Some(true),
        capabilities: Some(Capabilities { drop: Some(vec!["ALL".into()]), ..Default::default() }),
        ..Default::default()
    }
}

fn probe(path: &str) -> Probe {
    Probe {
        http_get: Some(HTTPGetAction {
            path: Some(path.into()),
            port: IntOrString::String(HTTP_PORT_NAME.into()),
            ..Default::default()
        }),
        period_seconds: Some(10),
        ..Default::default()
    }
}

pub fn default_resources() -> ResourceRequirements {
    ResourceRequirements {
        requests: Some(BTreeMap::from([
            ("cpu".into(), Quantity("100m".into())),
            ("memory".into(), Quantity("128Mi".into())),
        ])),
        limits: Some(BTreeMap::from([("memory".into(), Quantity("512Mi".into()))])),
        ..Default::default()
    }
}

/// The `urna` container running `args`, serving HTTP (API, /healthz, /readyz, /metrics) on one port.
pub fn container(name: &str, image: &str, args: Vec<String>, resources: Option<ResourceRequirements>) -> Container {
    Container {
        name: name.into(),
        image: Some(image.into()),
        args: Some(args),
        ports: Some(vec![ContainerPort {
            name: Some(HTTP_PORT_NAME.into()),
            container_port: HTTP_PORT,
            ..Default::default()
        }]),
        readiness_probe: Some(probe("/readyz")),
        liveness_probe: Some(probe("/healthz")),
        resources: Some(resources.unwrap_or_else(default_resources)),
        security_context: Some(container_security()),
        ..Default::default()
    }
}

pub const MANIFEST_VOLUME: &str = "manifest";
pub const DATA_VOLUME: &str = "data";

/// The Election's manifest ConfigMap, mounted read-only.
pub fn manifest_volume(config_map: &str) -> Volume {
    Volume {
        name: MANIFEST_VOLUME.into(),
        config_map: Some(ConfigMapVolumeSource { name: config_map.into(), ..Default::default() }),
        ..Default::default()
    }
}

pub fn manifest_mount() -> VolumeMount {
    VolumeMount {
        name: MANIFEST_VOLUME.into(),
        mount_path: MANIFEST_DIR.into(),
        read_only: Some(true),
        ..Default::default()
    }
}

pub fn data_mount() -> VolumeMount {
    VolumeMount { name: DATA_VOLUME.into(), mount_path: crate::workload::DATA_DIR.into(), ..Default::default() }
}

use k8s_openapi::api::apps::v1::{StatefulSet, StatefulSetPersistentVolumeClaimRetentionPolicy, StatefulSetSpec};
use k8s_openapi::api::core::v1::{
    KeyToPath, PersistentVolumeClaim, PersistentVolumeClaimSpec, PodSpec, PodTemplateSpec, SecretVolumeSource, Service,
    ServicePort, ServiceSpec, VolumeResourceRequirements,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};

use crate::crd::common::StorageSpec;

/// A single-writer StatefulSet (one replica) whose ballot data outlives it: the PVC is retained when the
/// StatefulSet is deleted or scaled down, because the operator never deletes ballot data. The election's
/// internal token (`election`'s Secret, [`internal_token_volume`]) is mounted: the writers (tally shards,
/// audit log) refuse writes without it.
pub fn single_writer(
    meta: ObjectMeta,
    selector: BTreeMap<String, String>,
    container: Container,
    storage: &StorageSpec,
    manifest_config_map: &str,
    election: &str,
) -> StatefulSet {
    let mut c = container;
    c.volume_mounts = Some(vec![manifest_mount(), data_mount(), internal_token_mount()]);
    let volumes = vec![manifest_volume(manifest_config_map), internal_token_volume(election)];
    writer_set(meta, selector, c, storage, volumes, 1, false)
}

pub const INTERNAL_TOKEN_VOLUME: &str = "internal-token";

/// The Election's internal token Secret (`<election>-internal-token`, key `token`), mounted read-only in
/// [`crate::workload::INTERNAL_TOKEN_DIR`] of the vote, tally and audit pods.
pub fn internal_token_volume(election: &str) -> Volume {
    key_volume(
        INTERNAL_TOKEN_VOLUME,
        KeySource::Secret,
        &super::election::internal_token_secret(election),
        crate::workload::TOKEN_KEY,
    )
}

pub fn internal_token_mount() -> VolumeMount {
    read_only_mount(INTERNAL_TOKEN_VOLUME, crate::workload::INTERNAL_TOKEN_DIR)
}

/// A StatefulSet of `replicas` writers, each with its own retained PVC `data` (mount it with
/// [`data_mount`]) and the pod-level `volumes`. A StatefulSet never runs two pods of one ordinal at once, so
/// each volume has one writer at a time. `parallel` starts the ordinals independently (they serve disjoint
/// partitions); otherwise they start in order. Both are fixed at creation (podManagementPolicy is immutable).
pub fn writer_set(
    meta: ObjectMeta,
    selector: BTreeMap<String, String>,
    container: Container,
    storage: &StorageSpec,
    volumes: Vec<Volume>,
    replicas: i32,
    parallel: bool,
) -> StatefulSet {
    let name = meta.name.clone().unwrap_or_default();
    StatefulSet {
        metadata: meta.clone(),
        spec: Some(StatefulSetSpec {
            replicas: Some(replicas),
            service_name: Some(name),
            selector: LabelSelector { match_labels: Some(selector.clone()), ..Default::default() },
            // A second writer must never start before the first is gone.
            pod_management_policy: Some(if parallel { "Parallel" } else { "OrderedReady" }.into()),
            persistent_volume_claim_retention_policy: Some(StatefulSetPersistentVolumeClaimRetentionPolicy {
                when_deleted: Some("Retain".into()),
                when_scaled: Some("Retain".into()),
            }),
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta { labels: meta.labels.clone(), ..Default::default() }),
                spec: Some(PodSpec {
                    containers: vec![container],
                    volumes: Some(volumes),
                    security_context: Some(pod_security()),
                    automount_service_account_token: Some(false),
                    termination_grace_period_seconds: Some(60),
                    ..Default::default()
                }),
            },
            volume_claim_templates: Some(vec![PersistentVolumeClaim {
                metadata: ObjectMeta { name: Some(DATA_VOLUME.into()), ..Default::default() },
                spec: Some(claim_spec(storage)),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A single-writer volume of `storage`'s size and class.
pub fn claim_spec(storage: &StorageSpec) -> PersistentVolumeClaimSpec {
    PersistentVolumeClaimSpec {
        access_modes: Some(vec!["ReadWriteOnce".into()]),
        storage_class_name: storage.storage_class_name.clone(),
        resources: Some(VolumeResourceRequirements {
            requests: Some(BTreeMap::from([("storage".into(), Quantity(storage.size.clone()))])),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// One key of a ConfigMap or Secret as a read-only volume holding just the file `key` (Secrets mode 0440:
/// readable by the pod's fsGroup, the workloads' only group).
pub fn key_volume(volume: &str, source: KeySource, name: &str, key: &str) -> Volume {
    let items = Some(vec![KeyToPath { key: key.into(), path: key.into(), ..Default::default() }]);
    match source {
        KeySource::ConfigMap => Volume {
            name: volume.into(),
            config_map: Some(ConfigMapVolumeSource { name: name.into(), items, ..Default::default() }),
            ..Default::default()
        },
        KeySource::Secret => Volume {
            name: volume.into(),
            secret: Some(SecretVolumeSource {
                secret_name: Some(name.into()),
                items,
                default_mode: Some(0o440),
                ..Default::default()
            }),
            ..Default::default()
        },
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeySource {
    ConfigMap,
    Secret,
}

pub fn read_only_mount(volume: &str, dir: &str) -> VolumeMount {
    VolumeMount { name: volume.into(), mount_path: dir.into(), read_only: Some(true), ..Default::default() }
}

/// A Service on the HTTP port; headless (`clusterIP: None`) for StatefulSets so each pod has a stable name.
pub fn http_service(meta: ObjectMeta, selector: BTreeMap<String, String>, headless: bool) -> Service {
    Service {
        metadata: meta,
        spec: Some(ServiceSpec {
            cluster_ip: headless.then(|| "None".into()),
            selector: Some(selector),
            ports: Some(vec![ServicePort {
                name: Some(HTTP_PORT_NAME.into()),
                port: HTTP_PORT,
                target_port: Some(IntOrString::String(HTTP_PORT_NAME.into())),
                ..Default::default()
            }]),
            ..Default::default()
        }),
        ..Default::default()
    }
}
