//! `TallyShard`: one partition of the encrypted totals, with a single writer (the tally workload).

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{ModalityKind, StorageSpec};

#[derive(CustomResource, Debug, Clone, PartialEq, Serialize, Deserialize, KubeSchema)]
#[kube(
    group = "urna.dev",
    version = "v1alpha1",
    kind = "TallyShard",
    namespaced,
    status = "TallyShardStatus",
    shortname = "shard",
    category = "urna",
    printcolumn(name = "Election", type_ = "string", json_path = ".spec.election"),
    printcolumn(name = "District", type_ = "string", json_path = ".spec.district"),
    printcolumn(name = "Modality", type_ = "string", json_path = ".spec.modality"),
    printcolumn(name = "Phase", type_ = "string", json_path = ".status.phase"),
    printcolumn(name = "Ready", type_ = "string", json_path = ".status.ready"),
    printcolumn(name = "Ballots", type_ = "integer", json_path = ".status.ballotsAccepted"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    // A shard's identity is its partition: moving it would mix two partitions' totals.
    // `district` is optional (a shard of a whole modality has none): compared only through has(), or every
    // update of such a shard would fail with "no such key".
    validation = Rule::new("self.spec.election == oldSelf.spec.election && has(self.spec.district) == has(oldSelf.spec.district) && (!has(self.spec.district) || self.spec.district == oldSelf.spec.district) && self.spec.modality == oldSelf.spec.modality").message("election, district and modality are immutable"),
)]
#[serde(rename_all = "camelCase")]
pub struct TallyShardSpec {
    #[schemars(length(min = 1, max = 253))]
    pub election: String,
    /// The district whose ballots this shard folds (ballots of its descendants too, when it is not a leaf);
    /// absent for a shard holding a whole modality.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 63))]
    pub district: Option<String>,
    #[schemars(with = "super::common::ModalitySchema")]
    pub modality: ModalityKind,
    #[serde(default)]
    pub storage: StorageSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 512))]
    pub image: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<k8s_openapi::api::core::v1::ResourceRequirements>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ShardPhase {
    /// Waiting for its workload.
    Pending,
    /// Accepting ballots.
    Running,
    /// The window closed and the totals are final.
    Sealed,
    Failed,
}

/// Status, all written by the operator: phase, conditions and ready from the StatefulSet; the counters,
/// sequence, digest, log head, `sealed` and `failure` copied from the shard's `GET /v1/status`
/// (`urna_status::tally::ShardStatus`), kept at their last known values while it does not answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TallyShardStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<ShardPhase>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ballots_accepted: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ballots_rejected: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_sequence: Option<u64>,
    /// SHA-256 of the encrypted totals (hex).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub totals_digest: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_head: Option<String>,
    /// The shard's totals are final.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed: Option<bool>,
    /// The shard's last commit failed: it accepts nothing until restarted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}

impl TallyShard {
    pub fn is_sealed(&self) -> bool {
        self.status.as_ref().and_then(|s| s.sealed).unwrap_or(false)
    }
    pub fn is_ready(&self) -> bool {
        self.status
            .as_ref()
            .and_then(|s| s.conditions.iter().find(|c| c.type_ == super::common::condition::READY))
            .is_some_and(|c| c.status == "True")
    }
}
