//! `Election`: what an electoral authority declares. The districts and contests are the ballot crate's own
//! manifest types, so the operator, the workloads and the public verifier read one definition.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use urna_ballot::manifest::{Contest, District};

use super::common::{KeyRef, ModalityKind, StorageSpec};

// Transition rules at the root see `oldSelf.status`: once an election has left Pending/Scheduled, what voters
// were shown (contests, districts) and what their ballots were encrypted under (keys) can no longer change.
const LOCKED: &str =
    "!has(oldSelf.status) || !has(oldSelf.status.phase) || oldSelf.status.phase in ['Pending', 'Scheduled']";

/// The longest Election name: it prefixes its children's names and label values, and `<name>-manifest` (the
/// manifest ConfigMap's `app.kubernetes.io/instance` label) must fit a label value's 63 characters.
pub const MAX_NAME: usize = 54;
/// Why `spec.site.capturists` needs the booth vote service (the CEL rule's message and [`crate::validate`]'s).
pub const SITE_CAPTURISTS_MESSAGE: &str = "spec.site.capturists needs spec.vote.booth: PREP captures the tally sheets of the Mesas the booth vote service serves";
const NAME_MESSAGE: &str =
    "metadata.name must be at most 54 characters: it prefixes child names and label values (63 at most)";

#[derive(CustomResource, Debug, Clone, PartialEq, Serialize, Deserialize, KubeSchema)]
#[kube(
    group = "urna.dev",
    version = "v1alpha1",
    kind = "Election",
    namespaced,
    status = "ElectionStatus",
    shortname = "el",
    category = "urna",
    printcolumn(name = "Phase", type_ = "string", json_path = ".status.phase"),
    printcolumn(name = "Ready", type_ = "string", json_path = ".status.ready"),
    printcolumn(name = "Census", type_ = "integer", json_path = ".status.census"),
    printcolumn(name = "Voted", type_ = "integer", json_path = ".status.votersVoted"),
    printcolumn(name = "Ballots", type_ = "integer", json_path = ".status.ballotsRecorded"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp"),
    validation = Rule::new(format!("{LOCKED} || self.spec.contests == oldSelf.spec.contests")).message("spec.contests is immutable once the election is Open"),
    validation = Rule::new(format!("{LOCKED} || self.spec.districts == oldSelf.spec.districts")).message("spec.districts is immutable once the election is Open"),
    validation = Rule::new(format!("{LOCKED} || self.spec.keys == oldSelf.spec.keys")).message("spec.keys is immutable once the election is Open"),
    validation = Rule::new(format!("size(self.metadata.name) <= {MAX_NAME}")).message(NAME_MESSAGE),
)]
#[serde(rename_all = "camelCase")]
#[x_kube(
    validation = Rule::new("self.contests.all(c, c.districts.all(d, self.districts.exists(x, x.id == d)))").message("every contest district must be one of spec.districts"),
    validation = Rule::new("self.districts.all(d, !has(d.parent) || self.districts.exists(x, x.id == d.parent))").message("every district parent must be one of spec.districts"),
    validation = Rule::new("!has(self.vote.booth) || self.modalities.exists(m, m.kind == 'booth')").message("spec.vote.booth needs a booth modality"),
    validation = Rule::new("!has(self.vote.booth) || self.vote.booth.census != self.census").message("spec.vote.booth.census must not be spec.census: each vote service keeps its own voting rights"),
    validation = Rule::new("!has(self.vote.ingress) || self.modalities.exists(m, m.kind == 'remote')").message("spec.vote.ingress exposes the remote vote service: it needs a remote modality"),
    validation = Rule::new("!has(self.site) || !has(self.site.capturists) || has(self.vote.booth)").message(SITE_CAPTURISTS_MESSAGE),
)]
pub struct ElectionSpec {
    #[schemars(length(min = 1, max = 256))]
    pub title: String,
    /// The electoral authority's jurisdiction, for display (`Mexico`, `Universitat Jaume I`).
    #[schemars(length(min = 1, max = 256))]
    pub jurisdiction: String,
    /// The district tree (country, state, municipality...). Ballots are cast in leaf districts. At most 128:
    /// the bound keeps the CEL reference checks within the apiserver's cost budget.
    #[schemars(length(min = 1, max = 128))]
    // List maps keyed by id (kind): the apiserver refuses duplicates itself, without a quadratic CEL rule.
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["id"]))]
    pub districts: Vec<District>,
    /// How ballots arrive, each with its own window (remote voting may open weeks before booth day).
    #[schemars(length(min = 1, max = 2))]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["kind"]))]
    pub modalities: Vec<Modality>,
    #[schemars(length(min = 1, max = 128))]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["id"]))]
    pub contests: Vec<Contest>,
    /// Public keys from the key ceremony. No decryption key ever appears in the cluster; the only private
    /// keys the workloads hold are the vote service's blind-signing key (`vote.signingKey`) and the audit
    /// log's checkpoint key (created on the log's own volume).
    pub keys: ElectionKeys,
    pub trustees: TrusteePolicy,
    /// Who may vote: the census file the vote service imports at start-up.
    pub census: CensusSource,
    /// Seconds between published preliminary-result snapshots (PREP publishes every 300 s).
    #[serde(default = "default_publication_interval")]
    #[schemars(range(min = 10, max = 86400))]
    pub publication_interval_seconds: u32,
    #[serde(default)]
    pub audit: AuditSpec,
    #[serde(default)]
    pub tally: TallySpec,
    /// The vote service: partitions, its blind-signing key, storage.
    pub vote: VoteSpec,
    /// The `urna` image for this election's workloads (default: the operator's `--image`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 512))]
    pub image: Option<String>,
    /// The election record, exported by the operator after the close (docs/record.md).
    #[serde(default)]
    pub record: RecordSpec,
    /// The public results site (`<election>-site`, docs/site.md) and, with `capturists`, PREP's capture
    /// service and publisher in the same pod (docs/operator.md, "Publication"); none without it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub site: Option<SiteSpec>,
    /// Bits per counter slot (default 20, up to 1,048,575 ballots per tally shard).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1, max = 32))]
    pub slot_bits: Option<u32>,
}

fn default_publication_interval() -> u32 {
    300
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self.closesAt > self.opensAt").message("closesAt must be after opensAt"))]
pub struct Modality {
    #[schemars(with = "super::common::ModalitySchema")]
    pub kind: ModalityKind,
    pub opens_at: Time,
    pub closes_at: Time,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ElectionKeys {
    /// The Paillier modulus `n` (hex, big-endian); 3072 bits is 768 hex digits.
    #[schemars(length(min = 2, max = 2048), regex(pattern = r"^[0-9a-f]+$"))]
    pub paillier_modulus: String,
    /// Trustees' verification keys for their partial decryptions (hex), in trustee order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 32))]
    pub verification_keys: Vec<VerificationKey>,
    /// The RSA public key that signs voting rights (PEM, SPKI).
    #[schemars(length(min = 1, max = 4096))]
    pub blind_signature_public_key: String,
    /// The key that signs the audit log's heads (PEM or hex).
    #[schemars(length(min = 1, max = 4096))]
    pub audit_log_public_key: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VerificationKey {
    #[schemars(range(min = 1, max = 32))]
    pub trustee: u32,
    #[schemars(length(min = 2, max = 2048), regex(pattern = r"^[0-9a-f]+$"))]
    pub key: String,
}

/// Threshold decryption: any `threshold` of the `trustees` shares decrypt the totals.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self.threshold <= self.trustees").message("threshold must not exceed trustees"))]
pub struct TrusteePolicy {
    #[schemars(range(min = 1, max = 32))]
    pub trustees: u32,
    #[schemars(range(min = 1, max = 32))]
    pub threshold: u32,
}

/// Where the census (the voter list) comes from: exactly one key of a ConfigMap or a Secret, mounted into
/// every vote replica and imported at start-up (`urna vote --census`; each replica keeps the rows of its own
/// partition). Format: CSV with the header `voterIdHash,district,credentialHash`, or JSON Lines with those
/// fields (the vote service's `census` module). A ConfigMap or Secret holds at most 1 MiB (about 6,000
/// voters); larger censuses are loaded into each partition's volume with `urna vote import-census`
/// before the election opens, and this source then carries only late additions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("has(self.configMap) != has(self.secret)").message("set exactly one of configMap, secret"))]
pub struct CensusSource {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map: Option<KeyRef>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<KeyRef>,
}

/// The vote service (`urna vote`): a StatefulSet with one replica per partition, each the single writer of its
/// own volume (voters.redb, ballots.redb), retained like every ballot volume.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct VoteSpec {
    /// Voter partitions, one replica each: replica `i` serves partition `i/partitions`. A voter belongs to
    /// exactly one partition (by the hash of their id) and only its replica issues their voting right, so a
    /// voter gets one right however many replicas serve. Fixed at creation: each partition's store is bound to
    /// the partition count.
    #[serde(default = "default_partitions")]
    #[schemars(range(min = 1, max = 64))]
    #[x_kube(validation = Rule::new("self == oldSelf").message("spec.vote.partitions is immutable: each partition's store is bound to the partition count"))]
    pub partitions: u32,
    /// The RSA key that blind-signs voting rights (RFC 9474), unencrypted PKCS#8 PEM, in a Secret. Its public
    /// half is `keys.blindSignaturePublicKey`.
    pub signing_key: KeyRef,
    /// A Secret key holding the admin token for `POST /v1/close`; without it the vote service has no admin API
    /// and closes at its modality's `closesAt`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_token: Option<KeyRef>,
    /// Each partition's volume (voters.redb, ballots.redb).
    #[serde(default)]
    pub storage: StorageSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<k8s_openapi::api::core::v1::ResourceRequirements>,
    /// The booth vote service (`<election>-vote-booth`): Mesa admissions and the booth ballots the fleet's
    /// collector bridges. Needs a booth modality. Without it booth ballots are collected but not recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub booth: Option<BoothVoteSpec>,
    /// An Ingress (`<election>-vote`) that exposes the voter web app and the public API it calls to voters'
    /// browsers; none without it. Needs a remote modality. With several partitions it also routes each
    /// partition's `/p/<i>/v1/{sessions,rights,ballots}` to a Service `<election>-vote-p<i>` of that pod.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress: Option<VoteIngressSpec>,
}

/// The public results site and PREP (docs/operator.md, "Publication").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SiteSpec {
    /// PREP's capturists, by id (docs/record.md, "PREP"): with any, the site's pod also runs the capture
    /// service (double entry of the Mesas' tally sheets) and the publisher (a signed snapshot every
    /// `publicationIntervalSeconds`). Each capturist's token is a Secret `<election>-capturist-<id>` (key
    /// `token`) the operator creates once. Double entry needs two; a third settles a mismatch.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 64), extend("x-kubernetes-list-type" = "set"))]
    #[schemars(inner(length(min = 1, max = 40), regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")))]
    pub capturists: Vec<String>,
    /// The site pod's volume: the capture journal, the sheets' photos and the snapshots.
    #[serde(default)]
    pub storage: StorageSpec,
    /// An Ingress (`<election>-site`) that exposes the site (only the site: not the capture API) at `host`.
    /// Same fields as `spec.vote.ingress`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress: Option<VoteIngressSpec>,
}

/// The remote vote service's Ingress (networking.k8s.io/v1): the app (`/`, `/assets/`) and the routes it
/// calls (`/v1/election`, `/v1/sessions`, `/v1/rights`, `/v1/ballots`, the audit relay's
/// `/audit/v1/checkpoint` and `/audit/v1/proof/inclusion`), each by exact path; never `/v1/close`,
/// `/v1/status`, `/metrics` or the booth routes. Served at the host's root: the app's URLs are relative, but
/// the vote service serves its routes at `/`, and stripping a prefix is an ingress controller's own extension.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VoteIngressSpec {
    /// The voters' host name (`vota.example.org`): a DNS name, lowercase, no wildcard.
    #[schemars(
        length(min = 1, max = 253),
        regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
    )]
    pub host: String,
    /// `spec.ingressClassName` (the cluster's default IngressClass without it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253), regex(pattern = r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"))]
    pub class_name: Option<String>,
    /// TLS, required: the app's cryptography (WebCrypto) runs only in a secure context, and the voter's
    /// credential travels in the page's requests.
    pub tls: VoteIngressTls,
    /// Annotations for the ingress controller (rate limits, body size, timeouts). The cert-manager ones are
    /// set from `tls.issuer`, not here.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    #[schemars(extend("maxProperties" = 32, "additionalProperties" = { "type": "string", "maxLength": 4096 }))]
    pub annotations: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct VoteIngressTls {
    /// The Secret (type kubernetes.io/tls) holding the host's certificate and key: given, or written by
    /// cert-manager when `issuer` is set.
    #[schemars(length(min = 1, max = 253), regex(pattern = r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"))]
    pub secret_name: String,
    /// A cert-manager Issuer or ClusterIssuer: the Ingress gets its `cert-manager.io/issuer` or
    /// `cert-manager.io/cluster-issuer` annotation and cert-manager's ingress-shim issues the certificate
    /// into `secretName`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<super::boothfleet::IssuerRef>,
}

/// The booth-modality vote service: one replica (a Mesa's admissions and its booth ballots are counted
/// against each other in one process), with the Mesas' console-token hashes and their booths.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BoothVoteSpec {
    /// The voters who vote at Mesas (same format as `spec.census`). It must be a different source from
    /// `spec.census`, and no voter may be in both: each vote service keeps its own voting rights, so a voter
    /// in both censuses could vote remotely and at a Mesa.
    pub census: CensusSource,
    /// Its volume (voters.redb, ballots.redb).
    #[serde(default)]
    pub storage: StorageSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<k8s_openapi::api::core::v1::ResourceRequirements>,
    /// An Ingress (`<election>-vote-booth`) that exposes the mesa console (`/mesa/`) and the console API it
    /// calls (`/v1/mesas/`) to the polling stations' browsers; nothing else of the service (the bridge's
    /// ballots, the close, the probes and metrics stay inside the cluster). Same fields as `spec.vote.ingress`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress: Option<VoteIngressSpec>,
}

fn default_partitions() -> u32 {
    1
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditSpec {
    /// Vote records per signed, hash-chained batch (Medusa).
    #[serde(default = "default_batch_size")]
    #[schemars(range(min = 1, max = 100000))]
    pub batch_size: u32,
    #[serde(default)]
    pub storage: StorageSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<k8s_openapi::api::core::v1::ResourceRequirements>,
    /// The independent witnesses who cosign the log's checkpoints (`urna witness`), and how many must have
    /// cosigned: the log keeps only their cosignatures (`urna audit --witness`), the voter app's receipt check
    /// verifies them (`urna vote --witness`), and closing waits for the quorum's cosignatures on the closing
    /// checkpoint before the record is exported. The same shape as a trust file's `witnesses`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub witnesses: Option<WitnessPolicySpec>,
    /// An Ingress (`<election>-audit`) exposing the log's public reads (checkpoints, entries, inclusion and
    /// consistency proofs) and the witnesses' `POST /v1/witness/cosign` to observers and witnesses outside
    /// the cluster; never the appends or the close. Same fields as `spec.vote.ingress`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress: Option<VoteIngressSpec>,
}

impl Default for AuditSpec {
    fn default() -> Self {
        Self {
            batch_size: default_batch_size(),
            storage: StorageSpec::default(),
            resources: None,
            witnesses: None,
            ingress: None,
        }
    }
}

/// The witnesses an election declares and the quorum of them whose cosignatures count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("self.quorum <= size(self.witnesses)").message("quorum must not exceed the number of witnesses"))]
pub struct WitnessPolicySpec {
    #[schemars(range(min = 1, max = 16))]
    pub quorum: u32,
    /// At most 16: the log keeps at most 16 cosignatures per checkpoint.
    #[schemars(length(min = 1, max = 16))]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub witnesses: Vec<WitnessKey>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct WitnessKey {
    /// The witness's signed-note name (no whitespace, no `+`).
    #[schemars(length(min = 1, max = 255), regex(pattern = r"^[^\s+]+$"))]
    pub name: String,
    /// Its Ed25519 public key, 64 lowercase hex digits (`urna witness keygen` prints it).
    #[schemars(regex(pattern = r"^[0-9a-f]{64}$"))]
    pub public_key: String,
}

fn default_batch_size() -> u32 {
    1000
}

/// Where the record-export Job writes the election record, and what it needs besides the workloads.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RecordSpec {
    /// A ConfigMap holding the key ceremony's public outputs, keys `public.json` and `transcript.json`
    /// (`urna ceremony --out DIR` writes both; nothing secret). The record carries them so anyone can check
    /// the threshold key. Without it the election stops at `Tallying` with `Degraded` reason `NoCeremony`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(min = 1, max = 253), regex(pattern = r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$"))]
    pub ceremony: Option<String>,
    /// The record's volume (PVC `<election>-record`, retained when the Election is deleted).
    #[serde(default)]
    pub storage: StorageSpec,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum ShardingPolicy {
    /// One TallyShard per (leaf district, modality): the paper's FIFO queue per (state, modality).
    #[default]
    PerDistrictModality,
    /// One TallyShard per modality (small elections).
    PerModality,
    /// The operator generates none; the administrator declares TallyShards by hand.
    Manual,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TallySpec {
    #[serde(default)]
    pub sharding: ShardingPolicy,
    #[serde(default)]
    pub storage: StorageSpec,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resources: Option<k8s_openapi::api::core::v1::ResourceRequirements>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, JsonSchema)]
pub enum ElectionPhase {
    Pending,
    Scheduled,
    Open,
    Closed,
    Tallying,
    Decrypted,
    Certified,
    Failed,
}

impl ElectionPhase {
    pub fn as_str(self) -> &'static str {
        match self {
            ElectionPhase::Pending => "Pending",
            ElectionPhase::Scheduled => "Scheduled",
            ElectionPhase::Open => "Open",
            ElectionPhase::Closed => "Closed",
            ElectionPhase::Tallying => "Tallying",
            ElectionPhase::Decrypted => "Decrypted",
            ElectionPhase::Certified => "Certified",
            ElectionPhase::Failed => "Failed",
        }
    }

    /// Phases in which ballots may exist that nobody has exported yet.
    pub fn holds_ballots(self) -> bool {
        !matches!(self, ElectionPhase::Pending | ElectionPhase::Scheduled)
    }
}

/// Status. The operator writes phase, conditions, readiness, what it observes of the workloads through their
/// `GET /v1/status` (turnout, ballots per modality, the audit log's head; docs/operator.md, "Observation")
/// and the closing fields (recordExportedAt, decryption, results, certifiedAt; "Closing"); other writers
/// apply theirs under their own field managers, so server-side apply never makes them fight.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ElectionStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<ElectionPhase>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// `ready/total` child workloads (vote, audit, tally shards).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready: Option<String>,
    /// The manifest hash bound into every ballot proof.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest_hash: Option<String>,
    /// The next instant at which the phase changes by the schedule alone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_transition: Option<Time>,
    /// Ballots recorded by the vote services, every modality (the sum of `modalities[].ballotsRecorded`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ballots_recorded: Option<u64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub modalities: Vec<ModalityCounters>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shards: Option<ShardSummary>,
    /// Voters in the censuses of every vote service.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub census: Option<u64>,
    /// Voters whose voting right was issued, every vote service (turnout: `votersVoted / census`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voters_voted: Option<u64>,
    /// The audit log's head as its `GET /v1/status` reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_log_head: Option<AuditLogHead>,
    /// The verified results: their digest and the ConfigMap holding `results.json`. Written by the operator
    /// once the decryption service combined `threshold` partials and verified the finished record.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub results: Option<ResultsRef>,
    /// When the authority certified the results (annotation `urna.dev/certify: "true"` on a Decrypted
    /// Election).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certified_at: Option<Time>,
    /// When the record-export Job finished writing the election record to the PVC `<election>-record`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record_exported_at: Option<Time>,
    /// The trustees' partial decryptions as the decryption service reports them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decryption: Option<DecryptionSummary>,
    /// The fingerprints of the election's keys, as a trust file for `urna verify record --trust` (the
    /// fields and values `urna record fingerprints` prints for the exported record): written once every key
    /// is known, and fixed from `Open` on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_fingerprints: Option<KeyFingerprints>,
}

/// A trust file (`urna_record::TrustFile`, format `urna-trust/1`) as it appears in the status: every value
/// hex, so `kubectl get election <e> -o jsonpath='{.status.keyFingerprints}' > trust.json` is a file
/// `urna verify record DIR --trust trust.json` reads.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct KeyFingerprints {
    /// `urna-trust/1`.
    pub format: String,
    pub election_id: String,
    /// The manifest hash (as `status.manifestHash`).
    pub manifest_hash: String,
    /// Fingerprint of the threshold public key (the ceremony's `public.json`).
    pub threshold_key: String,
    /// The audit log's checkpoint origin and Ed25519 public key.
    pub audit_log: TrustedLogKey,
    /// Each modality's voting-right key: SHA-256 of its DER SubjectPublicKeyInfo.
    pub voting_right_keys: Vec<TrustedRightKey>,
    /// `spec.audit.witnesses`: a record verified with this trust file needs their quorum's cosignatures on
    /// the closing checkpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub witnesses: Option<WitnessPolicySpec>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TrustedLogKey {
    pub origin: String,
    pub public_key: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TrustedRightKey {
    pub modality: String,
    pub fingerprint: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ModalityCounters {
    pub modality: String,
    /// From the modality's vote services (every partition; absent until all of them answered once).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub census: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub voters_voted: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ballots_recorded: Option<u64>,
    /// From the modality's TallyShards: contests accepted and rejected (a ballot holds one per contest).
    pub contests_accepted: u64,
    pub contests_rejected: u64,
}

/// The transparency log's head (`urna_status::audit::AuditStatus`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditLogHead {
    /// Entries committed.
    pub tree_size: u64,
    /// RFC 6962 Merkle root over them, hex.
    pub root: String,
    /// The latest signed checkpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<AuditCheckpoint>,
    /// The closing checkpoint is written: the log takes no more entries.
    pub closed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AuditCheckpoint {
    pub size: u64,
    /// Hex.
    pub root: String,
    pub signed_at: Time,
    /// The closing checkpoint.
    pub closing: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ShardSummary {
    pub total: u32,
    pub ready: u32,
    pub sealed: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct DecryptionSummary {
    pub trustees: u32,
    pub threshold: u32,
    /// Trustees whose partials were verified and stored.
    pub accepted: Vec<u32>,
    /// Submissions the service refused (each reported as a Warning Event `PartialRefused`).
    pub refused: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ResultsRef {
    /// SHA-256 of the published results document (hex).
    pub digest: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_map: Option<String>,
}

impl Election {
    /// The manifest the workloads and ballots are bound to.
    pub fn manifest(&self) -> urna_ballot::ElectionManifest {
        urna_ballot::ElectionManifest {
            election_id: self.metadata.name.clone().unwrap_or_default(),
            title: self.spec.title.clone(),
            districts: self.spec.districts.clone(),
            contests: self.spec.contests.clone(),
            slot_bits: self.spec.slot_bits.unwrap_or(urna_ballot::manifest::DEFAULT_SLOT_BITS),
        }
    }

    pub fn phase(&self) -> ElectionPhase {
        self.status.as_ref().and_then(|s| s.phase).unwrap_or(ElectionPhase::Pending)
    }

    /// Why this Election may not be deleted now, if it may not: it is Open, or it holds ballots whose record
    /// has not been exported, and it lacks `urna.dev/allow-delete: "true"`. The finalizer applies this rule;
    /// the chart's ValidatingAdmissionPolicy (charts/urna/files/election-deletion.cel) is the same rule in
    /// CEL, checked against this one in operator/tests/chart.rs.
    pub fn deletion_refusal(&self) -> Option<String> {
        let phase = self.phase();
        let exported = self.status.as_ref().and_then(|s| s.record_exported_at.as_ref()).is_some();
        if crate::meta::allows_delete(self) {
            None
        } else if phase == ElectionPhase::Open {
            Some("the election is Open".to_string())
        } else if phase.holds_ballots() && !exported {
            Some(format!("the election is {} and its record has not been exported", phase.as_str()))
        } else {
            None
        }
    }
}
