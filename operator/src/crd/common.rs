//! Types shared by the four resources: windows, storage, workload overrides, conditions and phases.

use k8s_openapi::api::core::v1::ResourceRequirements;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::KubeSchema;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// A voting window. Timestamps are RFC 3339 (`2024-06-02T08:00:00-06:00`); the apiserver's CEL sees them
/// as timestamps, so the ordering rule compares instants, not strings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self.closesAt > self.opensAt").message("closesAt must be after opensAt"))]
pub struct Window {
    pub opens_at: Time,
    pub closes_at: Time,
}

/// How ballots reach the election: the workloads' own [`urna_status::Modality`] (one type from the resources
/// to the record), named as the resources name it.
pub type ModalityKind = urna_status::Modality;

/// The CRD schema of a [`ModalityKind`] field (`#[schemars(with = "ModalitySchema")]`).
pub struct ModalitySchema;

impl JsonSchema for ModalitySchema {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ModalityKind".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        string_enum(Some("How ballots reach the election."), ModalityKind::ALL.map(ModalityKind::as_str))
    }
}

/// The schema of a string enum the workloads define (in `urna-status`, which stays free of schemars): the
/// operator states it here, its values taken from the type itself so the two cannot drift.
pub fn string_enum(description: Option<&str>, values: impl IntoIterator<Item = &'static str>) -> schemars::Schema {
    let values: Vec<&str> = values.into_iter().collect();
    match description {
        Some(d) => schemars::json_schema!({ "description": d, "type": "string", "enum": values }),
        None => schemars::json_schema!({ "type": "string", "enum": values }),
    }
}

/// A persistent volume for ballot data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StorageSpec {
    /// Requested size, a Kubernetes quantity (`10Gi`).
    #[serde(default = "default_storage_size")]
    #[schemars(length(max = 32))]
    pub size: String,
    /// The StorageClass; the cluster default when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 253))]
    pub storage_class_name: Option<String>,
}

impl Default for StorageSpec {
    fn default() -> Self {
        Self { size: default_storage_size(), storage_class_name: None }
    }
}

fn default_storage_size() -> String {
    "10Gi".into()
}

/// Per-workload overrides of the operator's defaults.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WorkloadOverrides {
    /// Replicas (for workloads that scale out; single writers ignore it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 100))]
    pub replicas: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<ResourceRequirements>,
}

/// One key of a ConfigMap or Secret in the same namespace, mounted into a workload as a file named after
/// the key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeyRef {
    /// The object's name (a DNS subdomain).
    #[schemars(length(min = 1, max = 253), regex(pattern = r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"))]
    pub name: String,
    /// The key inside the object; it is also the file name the workload reads.
    #[schemars(length(min = 1, max = 253), regex(pattern = r"^[-._a-zA-Z0-9]+$"))]
    pub key: String,
}

/// A circle on the map: a Mesa's location, or a booth's allowed area.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self.latitude >= -90.0 && self.latitude <= 90.0 && self.longitude >= -180.0 && self.longitude <= 180.0").message("latitude must be in [-90, 90] and longitude in [-180, 180]"))]
pub struct Geofence {
    pub latitude: f64,
    pub longitude: f64,
    #[schemars(range(min = 1, max = 100000))]
    pub radius_meters: u32,
}

/// The standard condition types every resource reports.
pub mod condition {
    pub const READY: &str = "Ready";
    pub const PROGRESSING: &str = "Progressing";
    pub const DEGRADED: &str = "Degraded";
    /// True while `urna.dev/reconcile: paused` is set.
    pub const PAUSED: &str = "Paused";
    /// kstatus' pair, read by Flux, Argo CD and `kubectl wait`: the controller is working towards the spec
    /// (Reconciling), or cannot make progress without someone's action (Stalled).
    pub const RECONCILING: &str = "Reconciling";
    pub const STALLED: &str = "Stalled";
}

/// Shared status fields, flattened into each resource's status.
pub type Conditions = Vec<Condition>;
