//! `BoothFleet`: an election's voting machines, their MQTT broker and their X.509 identities.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition;
use kube::{CustomResource, KubeSchema};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::common::{Geofence, KeyRef, StorageSpec, WorkloadOverrides};

/// The documented maximum of booths one broker shard serves: half of the 10,000 one broker was measured
/// serving (docs/broker.md: about 15 KiB and one open file per booth, 1,500–2,900 mutual-TLS connects/s).
/// The headroom is for the replay burst after a network cut (every booth reconnecting and resending its
/// outbox at once), which rumqttd's log holds until the collector reads it.
pub const MAX_BOOTHS_PER_SHARD: usize = 5_000;

#[derive(CustomResource, Debug, Clone, PartialEq, Serialize, Deserialize, KubeSchema)]
#[kube(
    group = "urna.dev",
    version = "v1alpha1",
    kind = "BoothFleet",
    namespaced,
    status = "BoothFleetStatus",
    shortname = "fleet",
    category = "urna",
    printcolumn(name = "Election", type_ = "string", json_path = ".spec.election"),
    printcolumn(name = "Phase", type_ = "string", json_path = ".status.phase"),
    printcolumn(name = "Ready", type_ = "string", json_path = ".status.ready"),
    printcolumn(name = "Devices", type_ = "integer", json_path = ".status.devicesTotal"),
    printcolumn(name = "Age", type_ = "date", json_path = ".metadata.creationTimestamp")
)]
#[serde(rename_all = "camelCase")]
#[x_kube(validation = Rule::new("size(self.devices) > 0 || size(self.perMesa) > 0").message("declare devices or perMesa counts"))]
pub struct BoothFleetSpec {
    /// The Election (same namespace).
    #[schemars(length(min = 1, max = 253))]
    pub election: String,
    #[serde(default)]
    pub broker: BrokerSpec,
    /// Devices declared one by one.
    #[serde(default)]
    #[schemars(length(max = 5000))]
    // A list map keyed by id: the apiserver refuses duplicate ids itself, in linear time (a CEL uniqueness
    // rule is quadratic: 5,000² comparisons are far over the CEL cost budget and the CRD would not install).
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["id"]))]
    pub devices: Vec<Device>,
    /// Or a count per Mesa: devices `<mesa>-<n>` are generated (n from 1).
    #[serde(default)]
    #[schemars(length(max = 1000))]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["mesa"]))]
    pub per_mesa: Vec<MesaDevices>,
    #[serde(default)]
    pub telemetry: Telemetry,
    /// Where booths may be, unless their Mesa declares its own geofence.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default_geofence: Option<Geofence>,
    #[serde(default)]
    pub anomaly_rules: AnomalyRules,
    /// Devices the broker refuses (lost, stolen or captured machines); their certificates are not issued.
    #[serde(default)]
    #[schemars(length(max = 5000), extend("x-kubernetes-list-type" = "set"))]
    pub blocked_devices: Vec<String>,
    /// Where alerts go.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub alerts: Option<AlertSink>,
    /// Regional officers: each sees and handles the alerts and devices of their districts on the operations
    /// dashboard (the fleet monitor's `/ops/`), and gets those alerts at their webhook.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 500))]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["id"]))]
    pub officers: Vec<RegionalOfficer>,
    /// The collector: the backend that receives every booth's ballots exactly once (`urna booth collect`).
    #[serde(default)]
    pub collector: CollectorSpec,
    /// The fleet monitor and operations centre (`urna booth monitor`): alert rules, the officers' dashboard
    /// and API, and their device actions.
    #[serde(default)]
    pub monitor: MonitorSpec,
}

/// The collector keeps each booth's messages in a redb inbox on its own volume (one writer).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct CollectorSpec {
    #[serde(default)]
    pub storage: StorageSpec,
    /// Resources (replicas are ignored: the inbox has a single writer).
    #[serde(default)]
    pub overrides: WorkloadOverrides,
}

/// The monitor keeps the operations state (every device's position, health and lock state, the alert history
/// and the officers' actions) in a redb file on its own volume (one writer).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MonitorSpec {
    #[serde(default)]
    pub storage: StorageSpec,
    /// A map tile URL template for the dashboard (`https://HOST/{z}/{x}/{y}.png`); its origin becomes the one
    /// image source the page may load besides itself. None: the map draws the fleet's own districts and
    /// geofences, with no internet.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2048), regex(pattern = r"^https://[^/;\s]+/\S*$"))]
    pub tiles: Option<String>,
    /// An Ingress (`<fleet>-monitor`) that exposes the operations dashboard (`/ops/`) and the officers' API
    /// (`/v1/ops/`) at `host`, and nothing else of the monitor (not its alert feed or metrics).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ingress: Option<super::election::VoteIngressSpec>,
    /// Resources (replicas are ignored: one monitor judges the whole fleet, two would alert twice).
    #[serde(default)]
    pub overrides: WorkloadOverrides,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, KubeSchema)]
#[serde(rename_all = "camelCase")]
pub struct BrokerSpec {
    #[serde(default = "default_broker_replicas")]
    #[schemars(range(min = 1, max = 20))]
    pub replicas: i32,
    #[serde(default)]
    pub service_type: ServiceType,
    /// MQTT over TLS port.
    #[serde(default = "default_mqtt_port")]
    #[schemars(range(min = 1, max = 65535))]
    pub port: i32,
    /// Issue device certificates with cert-manager from this issuer instead of the operator's own fleet CA.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<IssuerRef>,
    /// Per-device PUBLISH rate (`urna broker --rate/--burst`); the broker's defaults (20/s, burst 200) when
    /// absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<RateLimit>,
    /// Bearer token for the broker's blocklist API (`PUT/DELETE /v1/blocklist/<device>`): one key of a Secret,
    /// passed in the environment. Without it the operator generates one, once, in the Secret
    /// `<fleet>-broker-admin-token` (key `token`): the broker never serves that API open.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub admin_token: Option<KeyRef>,
    /// Broker shards by region, each serving at most 5,000 booths (`MAX_BOOTHS_PER_SHARD`). A device goes
    /// to the first shard listing its Mesa's district or an ancestor of it; a shard without districts takes
    /// every device not matched before it. Empty: one shard named `<fleet>-broker` serving the whole fleet.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 32))]
    #[schemars(extend("x-kubernetes-list-type" = "map", "x-kubernetes-list-map-keys" = ["name"]))]
    pub shards: Vec<BrokerShard>,
    #[serde(default)]
    pub overrides: WorkloadOverrides,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RateLimit {
    /// Sustained messages per second per device.
    #[schemars(range(min = 1, max = 10000))]
    pub messages_per_second: u32,
    /// Burst per device (a booth replaying its queue after a network cut).
    #[schemars(range(min = 1, max = 100000))]
    pub burst: u32,
}

/// One broker shard: its own StatefulSet, Services and server certificate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BrokerShard {
    /// Names the shard's workload `<fleet>-broker-<name>`.
    #[schemars(length(min = 1, max = 20), regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"))]
    pub name: String,
    /// Districts of the Election (a district covers its descendants); empty: every device not matched by
    /// an earlier shard.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    #[schemars(length(max = 64))]
    pub districts: Vec<String>,
}

impl Default for BrokerSpec {
    fn default() -> Self {
        Self {
            replicas: default_broker_replicas(),
            service_type: ServiceType::default(),
            port: default_mqtt_port(),
            issuer: None,
            rate_limit: None,
            admin_token: None,
            shards: Vec::new(),
            overrides: WorkloadOverrides::default(),
        }
    }
}

fn default_broker_replicas() -> i32 {
    2
}

fn default_mqtt_port() -> i32 {
    8883
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum ServiceType {
    #[default]
    ClusterIP,
    NodePort,
    LoadBalancer,
}

impl ServiceType {
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceType::ClusterIP => "ClusterIP",
            ServiceType::NodePort => "NodePort",
            ServiceType::LoadBalancer => "LoadBalancer",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct IssuerRef {
    #[schemars(length(min = 1, max = 253))]
    pub name: String,
    /// `Issuer` (same namespace) or `ClusterIssuer`.
    #[serde(default = "default_issuer_kind")]
    #[schemars(regex(pattern = r"^(Issuer|ClusterIssuer)$"))]
    pub kind: String,
}

fn default_issuer_kind() -> String {
    "Issuer".into()
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Device {
    /// Lowercase letters, digits and `-`: it names the device's Secret and MQTT client id.
    #[schemars(length(min = 1, max = 40), regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"))]
    pub id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 253))]
    pub mesa: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct MesaDevices {
    #[schemars(length(min = 1, max = 30), regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"))]
    pub mesa: String,
    #[schemars(range(min = 1, max = 100))]
    pub count: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Telemetry {
    #[serde(default = "default_interval")]
    #[schemars(range(min = 5, max = 3600))]
    pub interval_seconds: u32,
}

impl Default for Telemetry {
    fn default() -> Self {
        Self { interval_seconds: default_interval() }
    }
}

fn default_interval() -> u32 {
    30
}

/// Rules the fleet monitor (`urna booth monitor`) evaluates on telemetry; a match raises an alert to the
/// regional officers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AnomalyRules {
    /// A device silent for longer is reported offline.
    #[serde(default = "default_offline_after")]
    #[schemars(range(min = 10, max = 86400))]
    pub offline_after_seconds: u32,
    /// More ballots per minute from one booth than a person can cast.
    #[serde(default = "default_max_ballots")]
    #[schemars(range(min = 1, max = 1000))]
    pub max_ballots_per_minute: u32,
    /// Alert when a booth reports a position outside its geofence.
    #[serde(default = "default_true")]
    pub geofence: bool,
    /// Robust z-score of a booth's vote rate against the fleet's above which it alerts (monitor default 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 1.0, max = 100.0))]
    pub vote_rate_z: Option<f64>,
    /// Reconnects of one booth within `flapWindowSeconds` that count as flapping (monitor default 5 in 300 s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 2, max = 1000))]
    pub flap_connects: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(range(min = 10, max = 86400))]
    pub flap_window_seconds: Option<u32>,
}

impl Default for AnomalyRules {
    fn default() -> Self {
        Self {
            offline_after_seconds: default_offline_after(),
            max_ballots_per_minute: default_max_ballots(),
            geofence: true,
            vote_rate_z: None,
            flap_connects: None,
            flap_window_seconds: None,
        }
    }
}

fn default_offline_after() -> u32 {
    120
}
fn default_max_ballots() -> u32 {
    4
}
fn default_true() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct AlertSink {
    /// An HTTPS webhook receiving alerts as JSON.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2048), regex(pattern = r"^https://"))]
    pub webhook: Option<String>,
    /// Also raise a Kubernetes Warning event on the BoothFleet.
    #[serde(default = "default_true")]
    pub events: bool,
    /// A private CA that signs the webhook's certificate: a ConfigMap key holding PEM certificates.
    /// Without it the webhook must present a certificate from a public CA (the Mozilla root store).
    #[serde(default, rename = "webhookCA", skip_serializing_if = "Option::is_none")]
    pub webhook_ca: Option<super::common::KeyRef>,
}

/// One regional officer. The token itself stays with the officer: only its SHA-256 is declared (as a Mesa
/// member's public key is), so the declaration can be public.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct RegionalOfficer {
    #[schemars(length(min = 1, max = 63), regex(pattern = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"))]
    pub id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    #[schemars(length(max = 200))]
    pub name: String,
    /// Districts of the Election whose alerts and devices this officer handles (a Mesa's district).
    #[schemars(length(min = 1, max = 64))]
    pub districts: Vec<String>,
    /// An HTTPS webhook receiving this officer's alerts as JSON (verified as `alerts.webhookCA` says).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schemars(length(max = 2048), regex(pattern = r"^https://"))]
    pub webhook: Option<String>,
    /// SHA-256 (64 hex digits) of the officer's bearer token for the dashboard and its API.
    #[schemars(regex(pattern = r"^[0-9a-f]{64}$"))]
    pub token_sha256: String,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BoothFleetStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phase: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub observed_generation: Option<i64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub conditions: Vec<Condition>,
    /// `ready/desired` broker replicas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ready: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub devices_total: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub devices_blocked: Option<u32>,
    /// From the fleet monitor's `GET /v1/status`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub devices_online: Option<u32>,
    /// From the fleet monitor's `GET /v1/status`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub devices_offline: Option<u32>,
    /// From the fleet monitor's `GET /v1/status`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_alerts: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub broker_ready: Option<bool>,
    /// Per broker shard: devices assigned and ready replicas.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub shards: Vec<BrokerShardStatus>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct BrokerShardStatus {
    pub name: String,
    /// The shard's workload (StatefulSet and client Service).
    pub broker: String,
    pub devices: u32,
    /// `ready/desired` replicas.
    pub ready: String,
    pub broker_ready: bool,
    /// Sessions open on the shard's replicas (devices and backends), from their `GET /v1/status`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub connections: Option<u64>,
}

impl BoothFleetSpec {
    /// Every device id with its Mesa: declared devices first, then generated ones, in declaration order.
    pub fn device_list(&self) -> Vec<Device> {
        let mut out = self.devices.clone();
        for m in &self.per_mesa {
            for n in 1..=m.count {
                out.push(Device { id: format!("{}-{n}", m.mesa), mesa: Some(m.mesa.clone()) });
            }
        }
        out
    }
}
