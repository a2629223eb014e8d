//! `Mesa`: a polling board (casilla). Its members sign actas; its booths come from a BoothFleet.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{Geofence, Window};

#[derive(CustomResource, Debug, Clone, PartialEq, Serialize, Deserialize, KubeSchema)]
#[kube(
    group = "urna.dev",
    version = "v1alpha1",
    kind = "Mesa",
    namespaced,
    status = "MesaStatus",
    shortname = "mesa",
    category = "urna",
    printcolumn(name = "Election", type_ = "string", json_path = ".spec.election"),
    printcolumn(name = "Phase", type_ = "string", json_path = ".status.phase"),
    printcolumn(name = "Ready", type_ = "string", json_path = ".status.ready"),
    printcolumn(name = "Ballots", type_ = "integer", json_path = ".status.ballotsCast"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    validation = Rule::new("self.spec.election == oldSelf.spec.election").message("spec.election is immutable"),
)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = Rule::new("self.members.exists(m, m.role == 'president')").message("a Mesa needs a president"),
)]
pub struct MesaSpec {
    /// The Election (same namespace).
    #[schemars(length(min = 1, max = 253))]
    pub election: String,
    /// The leaf district where this Mesa's voters are registered (one of the Election's districts).
    #[schemars(length(min = 1, max = 63))]
    pub district: String,
    pub location: Location,
    #[schemars(length(min = 1, max = 32))]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["id"]))]
    pub members: Vec<MesaMember>,
    /// Booths assigned to this Mesa from a fleet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub booths: Option<BoothAssignment>,
    /// The Mesa's own window, inside the Election's booth window (default: the booth window).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<Window>,
    /// Voters registered at this Mesa: the fleet monitor alerts when its booths report more ballots.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 100000))]
    pub registered_voters: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Location {
    #[schemars(length(max = 512))]
    pub address: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub geofence: Option<Geofence>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum MemberRole {
    President,
    Secretary,
    Scrutineer,
    Observer,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MesaMember {
    #[schemars(length(min = 1, max = 63))]
    pub id: String,
    #[schemars(length(min = 1, max = 256))]
    pub name: String,
    pub role: MemberRole,
    /// The member's Ed25519 public key for actas: 64 hex characters or a PEM `PUBLIC KEY` block
    /// (`urna mesa keygen` prints the hex form). The booth vote service verifies acta signatures with it.
    #[schemars(length(min = 1, max = 4096))]
    pub signing_key: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BoothAssignment {
    /// The BoothFleet (same namespace).
    #[schemars(length(min = 1, max = 253))]
    pub fleet: String,
    /// Devices of the fleet assigned here; empty means all the fleet devices whose `mesa` is this Mesa.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 256))]
    pub devices: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
pub enum MesaPhase {
    Scheduled,
    Constituted,
    Open,
    Closed,
    Counted,
    Transmitted,
}

impl MesaPhase {
    pub fn as_str(self) -> &'static str {
        match self {
            MesaPhase::Scheduled => "Scheduled",
            MesaPhase::Constituted => "Constituted",
            MesaPhase::Open => "Open",
            MesaPhase::Closed => "Closed",
            MesaPhase::Counted => "Counted",
            MesaPhase::Transmitted => "Transmitted",
        }
    }
}

/// The kind of a signed acta: the vote service's own [`urna_status::vote::ActaKind`] (one type from the
/// booth's status to the resource).
pub use urna_status::vote::ActaKind;

/// The CRD schema of an [`ActaKind`] field (`#[schemars(with = "ActaKindSchema")]`).
pub struct ActaKindSchema;

impl JsonSchema for ActaKindSchema {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "ActaKind".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        super::common::string_enum(None, ActaKind::ALL.map(ActaKind::as_str))
    }
}

/// A signed acta, by hash, as the booth vote service accepted it (`POST /v1/mesas/{mesa}/actas`, the
/// members' signatures verified there) and reports it in its `GET /v1/status`; the document is kept by that
/// service and its SHA-256 is an `acta` event in the audit log (docs/record.md, "Actas").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Acta {
    #[schemars(with = "ActaKindSchema")]
    pub kind: ActaKind,
    /// SHA-256 of the acta's canonical document (hex).
    pub sha256: String,
    /// Member ids whose signatures verified.
    pub signers: Vec<String>,
    /// The time the document states.
    pub signed_at: Time,
    /// Set once the acta's event is in the election's audit log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transmitted_at: Option<Time>,
    /// The event's leaf index in the audit log.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_index: Option<u64>,
}

/// Status: the operator writes phase, conditions and ready, and copies what the booth vote service's
/// `GET /v1/status` reports of this Mesa (admissions, ballotsCast, actas) and what the fleet monitor's reports of its
/// booths (boothsOnline, incidents).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MesaStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<MesaPhase>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// `online/assigned` booths.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_transition: Option<Time>,
    /// Voters admitted at this Mesa's console.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admissions: Option<u64>,
    /// Booth ballots recorded for this Mesa (never more than its admissions).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ballots_cast: Option<u64>,
    /// Its booths heard from within the fleet's offline limit (the fleet monitor).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub booths_online: Option<u32>,
    /// Alerts active now for its booths (the fleet monitor: offline, outside the geofence, flapping...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incidents: Option<u32>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actas: Vec<Acta>,
}
