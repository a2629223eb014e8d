//! Names, labels and owner references shared by every builder.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, OwnerReference};
use kube::{Resource, ResourceExt};
use sha2::{Digest, Sha256};

pub const LABEL_NAME: &str = "app.kubernetes.io/name";
pub const LABEL_INSTANCE: &str = "app.kubernetes.io/instance";
pub const LABEL_COMPONENT: &str = "app.kubernetes.io/component";
pub const LABEL_PART_OF: &str = "app.kubernetes.io/part-of";
pub const LABEL_MANAGED_BY: &str = "app.kubernetes.io/managed-by";
pub const LABEL_ELECTION: &str = "urna.dev/election";
pub const LABEL_SHARD: &str = "urna.dev/shard";
pub const LABEL_FLEET: &str = "urna.dev/fleet";
pub const LABEL_DEVICE: &str = "urna.dev/device";

/// `urna.dev/reconcile: paused` stops the operator from writing anything but its Paused condition.
pub const ANNOTATION_RECONCILE: &str = "urna.dev/reconcile";
/// `urna.dev/allow-delete: "true"` lets an Election go even if it holds unexported ballots.
pub const ANNOTATION_ALLOW_DELETE: &str = "urna.dev/allow-delete";
/// `urna.dev/certify: "true"`: the election authority certifies the results of a Decrypted Election (the
/// operator then writes `status.certifiedAt`, once).
pub const ANNOTATION_CERTIFY: &str = "urna.dev/certify";
/// The authority's act closing the audit log without the results actas some mesas never submitted.
pub const ANNOTATION_CLOSE_WITHOUT_ACTAS: &str = "urna.dev/close-without-actas";
pub const ANNOTATION_MANIFEST_HASH: &str = "urna.dev/manifest-hash";
pub const FINALIZER: &str = "urna.dev/ballot-protection";

/// Longest name for objects that become pod name prefixes: a StatefulSet's pods carry a
/// `controller-revision-hash` label `<name>-<10 chars>` that must fit in 63.
pub const MAX_WORKLOAD_NAME: usize = 52;

/// Joins parts with `-`; when the result is too long, truncates and appends a short hash so distinct inputs
/// keep distinct names.
pub fn child_name(parts: &[&str], max: usize) -> String {
    let full = parts.join("-");
    if full.len() <= max {
        return full;
    }
    let digest = hex::encode(&Sha256::digest(full.as_bytes())[..4]);
    let keep = max - digest.len() - 1;
    let head = full[..keep].trim_end_matches('-');
    format!("{head}-{digest}")
}

pub fn is_paused<K: Resource>(obj: &K) -> bool {
    obj.meta().annotations.as_ref().and_then(|a| a.get(ANNOTATION_RECONCILE)).is_some_and(|v| v == "paused")
}

pub fn certify_requested<K: Resource>(obj: &K) -> bool {
    obj.meta().annotations.as_ref().and_then(|a| a.get(ANNOTATION_CERTIFY)).is_some_and(|v| v == "true")
}

pub fn close_without_actas<K: Resource>(obj: &K) -> bool {
    obj.meta().annotations.as_ref().and_then(|a| a.get(ANNOTATION_CLOSE_WITHOUT_ACTAS)).is_some_and(|v| v == "true")
}

pub fn allows_delete<K: Resource>(obj: &K) -> bool {
    obj.meta().annotations.as_ref().and_then(|a| a.get(ANNOTATION_ALLOW_DELETE)).is_some_and(|v| v == "true")
}

/// The labels of a child workload.
pub fn labels(component: &str, instance: &str, election: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (LABEL_NAME.into(), "urna".into()),
        (LABEL_INSTANCE.into(), instance.into()),
        (LABEL_COMPONENT.into(), component.into()),
        (LABEL_PART_OF.into(), election.into()),
        (LABEL_MANAGED_BY.into(), crate::workload::FIELD_MANAGER.into()),
        (LABEL_ELECTION.into(), election.into()),
    ])
}

/// The subset of [`labels`] that selects pods (stable across operator versions: selectors are immutable).
pub fn selector(component: &str, instance: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (LABEL_NAME.into(), "urna".into()),
        (LABEL_INSTANCE.into(), instance.into()),
        (LABEL_COMPONENT.into(), component.into()),
    ])
}

/// Metadata of a child: name, the parent's namespace, labels and a controller owner reference.
pub fn child_meta<K>(parent: &K, name: String, labels: BTreeMap<String, String>) -> ObjectMeta
where
    K: Resource<DynamicType = ()>,
{
    ObjectMeta {
        name: Some(name),
        namespace: parent.meta().namespace.clone(),
        labels: Some(labels),
        owner_references: owner_ref(parent).map(|o| vec![o]),
        ..Default::default()
    }
}

fn owner_ref<K>(parent: &K) -> Option<OwnerReference>
where
    K: Resource<DynamicType = ()>,
{
    // Objects parsed from files (examples, `urna local`) have no uid yet; the reference is added once they
    // exist in a cluster.
    let mut o = parent.controller_owner_ref(&())?;
    o.block_owner_deletion = Some(true);
    Some(o)
}

/// `namespace/name`, for logs and errors.
pub fn key<K: Resource>(obj: &K) -> String {
    format!("{}/{}", obj.namespace().unwrap_or_default(), obj.name_any())
}
