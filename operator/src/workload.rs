//! The `urna` subcommands the operator runs, their arguments, ports and paths, in one place. They follow the
//! workloads' own CLIs (`workloads/urna/src/cmd/*`); `workloads/urna/tests/operator_args.rs` parses the
//! arguments built for every example with those clap definitions.

use crate::crd::election::WitnessPolicySpec;

/// The field manager for every server-side apply the operator sends.
pub const FIELD_MANAGER: &str = "urna-operator";
/// The default image (overridden by `urna operator --image`, `URNA_IMAGE` or each resource's `image`).
pub const DEFAULT_IMAGE: &str = concat!("ghcr.io/urna-dev/urna:", env!("CARGO_PKG_VERSION"));

/// HTTP port of every workload (API, health and metrics).
pub const HTTP_PORT: i32 = 8080;
pub const HTTP_PORT_NAME: &str = "http";
/// Where the Election's manifest ConfigMap is mounted.
pub const MANIFEST_DIR: &str = "/etc/urna";
pub const MANIFEST_FILE: &str = "manifest.json";
pub const KEYS_FILE: &str = "keys.json";
/// Where ballot data lives (a PVC).
pub const DATA_DIR: &str = "/var/lib/urna";
/// Where the broker finds its TLS material.
pub const TLS_DIR: &str = "/etc/urna/tls";

fn listen() -> String {
    format!("0.0.0.0:{HTTP_PORT}")
}

fn manifest() -> String {
    format!("{MANIFEST_DIR}/{MANIFEST_FILE}")
}

/// Where the vote service's Secret and census files are mounted (one directory per source, each holding only
/// the referenced key, so the file name is the key).
pub const SIGNING_KEY_DIR: &str = "/var/run/urna/signing-key";
pub const ADMIN_TOKEN_DIR: &str = "/var/run/urna/admin-token";
pub const CENSUS_DIR: &str = "/var/run/urna/census";
/// Where the vote, tally and audit pods find the election's internal token (the `<election>-internal-token`
/// Secret, key [`TOKEN_KEY`]): `--internal-token-file` of `urna vote`, `urna tally` and `urna audit`.
pub const INTERNAL_TOKEN_DIR: &str = "/var/run/urna/internal-token";

fn internal_token_args() -> [String; 2] {
    ["--internal-token-file".into(), format!("{INTERNAL_TOKEN_DIR}/{TOKEN_KEY}")]
}
/// The environment variable holding a vote replica's partition index: the pod's
/// `apps.kubernetes.io/pod-index` label (its StatefulSet ordinal), through the downward API.
pub const PARTITION_ENV: &str = "URNA_VOTE_PARTITION";
pub const POD_INDEX_LABEL: &str = "apps.kubernetes.io/pod-index";

/// What `urna vote` needs beyond the fixed paths: the layout of one Election's vote StatefulSet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoteArgs {
    /// Partitions (= replicas); each replica's index comes from [`PARTITION_ENV`].
    pub partitions: u32,
    /// `remote` or `booth`: the modality of the ballots the service records.
    pub modality: String,
    /// That modality's window (RFC 3339): ballots are refused before `opens_at` and from `closes_at` on.
    pub opens_at: Option<String>,
    pub closes_at: Option<String>,
    /// `DISTRICT:MODALITY=URL` per tally shard (`*` as district: the whole modality).
    pub shards: Vec<String>,
    /// Base URL of the audit log.
    pub audit: String,
    /// File names (keys) inside [`SIGNING_KEY_DIR`], [`CENSUS_DIR`] and [`ADMIN_TOKEN_DIR`].
    pub signing_key: String,
    pub census: Option<String>,
    pub admin_token: Option<String>,
    /// The audit log's verifier key the voter app checks checkpoints with (`--audit-log-key`), once the
    /// Election's status publishes the log's key ([`crate::fingerprints::audit_verifier_key`]).
    pub audit_log_key: Option<String>,
    /// The election's witnesses and their quorum, which the voter app's receipt check verifies the log's
    /// checkpoints against (`--witness`, `--witness-quorum`).
    pub witnesses: Option<WitnessPolicySpec>,
    /// The booth vote service: `--mesas` from [`MESAS_DIR`] and `--bridge-token-file` from
    /// [`BRIDGE_TOKEN_DIR`].
    pub booth_desk: bool,
}

/// Where the booth vote service finds its mesas file (the `<election>-mesas` ConfigMap); not under
/// [`MANIFEST_DIR`], which is itself a ConfigMap mount.
pub const MESAS_DIR: &str = "/var/run/urna/mesas";
pub const MESAS_FILE: &str = "mesas.json";
/// Where the booth vote service and the collector find the bridge token (the `<election>-bridge-token`
/// Secret, key [`TOKEN_KEY`]).
pub const BRIDGE_TOKEN_DIR: &str = "/var/run/urna/bridge-token";
/// The key of every token Secret the operator generates (bridge, Mesa consoles).
pub const TOKEN_KEY: &str = "token";

/// `urna vote` (`workloads/urna/src/cmd/vote.rs`): the front door for remote voters and Mesa consoles.
/// `$(URNA_VOTE_PARTITION)` is expanded by the kubelet from the container's environment.
pub fn vote_args(v: &VoteArgs) -> Vec<String> {
    let mut args: Vec<String> = vec![
        "vote".into(),
        "--manifest".into(),
        manifest(),
        "--public-key".into(),
        format!("{MANIFEST_DIR}/{PUBLIC_KEY_FILE}"),
        "--signing-key".into(),
        format!("{SIGNING_KEY_DIR}/{}", v.signing_key),
        "--data".into(),
        DATA_DIR.into(),
        "--partition".into(),
        format!("$({PARTITION_ENV})/{}", v.partitions),
        "--listen".into(),
        listen(),
        "--modality".into(),
        v.modality.clone(),
    ];
    if let Some(c) = &v.census {
        args.extend(["--census".into(), format!("{CENSUS_DIR}/{c}")]);
    }
    if let Some(t) = &v.opens_at {
        args.extend(["--opens-at".into(), t.clone()]);
    }
    if let Some(t) = &v.closes_at {
        args.extend(["--closes-at".into(), t.clone()]);
    }
    for s in &v.shards {
        args.extend(["--shard".into(), s.clone()]);
    }
    args.extend(["--audit".into(), v.audit.clone()]);
    if let Some(k) = &v.audit_log_key {
        args.extend(["--audit-log-key".into(), k.clone()]);
    }
    if let Some(w) = &v.witnesses {
        args.extend(witness_args(Some(w)));
        args.extend(["--witness-quorum".into(), w.quorum.to_string()]);
    }
    args.extend(internal_token_args());
    if let Some(t) = &v.admin_token {
        args.extend(["--admin-token-file".into(), format!("{ADMIN_TOKEN_DIR}/{t}")]);
    }
    if v.booth_desk {
        args.extend([
            "--mesas".into(),
            format!("{MESAS_DIR}/{MESAS_FILE}"),
            "--bridge-token-file".into(),
            format!("{BRIDGE_TOKEN_DIR}/{TOKEN_KEY}"),
        ]);
    }
    args
}

/// The in-cluster base URL of a Service on the HTTP port (namespace-relative when the namespace is unknown,
/// as for resources read from files).
pub fn service_url(service: &str, namespace: Option<&str>) -> String {
    match namespace {
        Some(ns) => format!("http://{service}.{ns}.svc:{HTTP_PORT}"),
        None => format!("http://{service}:{HTTP_PORT}"),
    }
}

/// The Paillier public key file (`{"n": "<hex>"}`) in the manifest ConfigMap, as `urna tally --public-key` reads it.
pub const PUBLIC_KEY_FILE: &str = "paillier.json";

/// `urna tally`: the single writer of one shard's totals (`workloads/urna/src/cmd/tally.rs`); `window` is its
/// modality's `(opensAt, closesAt)`, RFC 3339.
pub fn tally_args(shard: &str, districts: &[String], modality: &str, window: Option<(String, String)>) -> Vec<String> {
    let mut args = vec![
        "tally".into(),
        "--shard".into(),
        shard.into(),
        "--manifest".into(),
        manifest(),
        "--public-key".into(),
        format!("{MANIFEST_DIR}/{PUBLIC_KEY_FILE}"),
        "--districts".into(),
        districts.join(","),
        "--modality".into(),
        modality.into(),
        "--data".into(),
        DATA_DIR.into(),
        "--listen".into(),
        listen(),
    ];
    args.extend(internal_token_args());
    if let Some((opens, closes)) = window {
        args.extend(["--opens-at".into(), opens, "--closes-at".into(), closes]);
    }
    args
}

/// The audit log's origin (its checkpoints' note name), which its `GET /v1/status` reports.
pub fn audit_origin(election: &str) -> String {
    format!("urna.dev/{election}")
}

/// `--witness NAME=HEX` for each witness.
fn witness_args(witnesses: Option<&WitnessPolicySpec>) -> impl Iterator<Item = String> + '_ {
    witnesses
        .into_iter()
        .flat_map(|p| &p.witnesses)
        .flat_map(|w| ["--witness".to_owned(), format!("{}={}", w.name, w.public_key)])
}

/// `urna audit`: the election's transparency log. Its Ed25519 key lives on the log's own volume, created on
/// the first start (`--create-key`) and kept with the data it signs; the origin names the election. With
/// `witnesses` it keeps only those witnesses' cosignatures.
pub fn audit_args(election: &str, batch_size: u32, witnesses: Option<&WitnessPolicySpec>) -> Vec<String> {
    let mut args = vec![
        "audit".into(),
        "--origin".into(),
        audit_origin(election),
        "--data".into(),
        DATA_DIR.into(),
        "--key".into(),
        format!("{DATA_DIR}/audit.key"),
        "--create-key".into(),
        "--batch-size".into(),
        batch_size.to_string(),
        "--listen".into(),
        listen(),
    ];
    args.extend(witness_args(witnesses));
    args.extend(internal_token_args());
    args
}

/// The certificate CN of the fleet's backends (collector and monitor): `urna broker --backend`, and the
/// default of `urna booth collect --client-id` (`urna_broker::DEFAULT_BACKEND`). A device may not use it as
/// its id (`validate::boothfleet`), or its certificate would carry backend rights.
pub const BACKEND_CN: &str = "urna-bridge";
/// The monitor's MQTT client id (`<cn>-<suffix>` is allowed for backends).
pub const MONITOR_CLIENT_ID: &str = "urna-bridge-monitor";
/// Shared-subscription group prefix of the collector (`urna booth collect --group`).
pub const COLLECTOR_GROUP: &str = "bridge";
/// Connections a broker shard admits: the documented booths per shard plus room for backends (collector,
/// monitor, readiness probes), so a full shard never refuses its own backends.
pub const BROKER_MAX_CONNECTIONS: usize = crate::crd::boothfleet::MAX_BOOTHS_PER_SHARD + 64;
/// The environment variable `urna broker` reads its admin token from (`--admin-token`, hidden from
/// `--help` output and process listings).
pub const BROKER_ADMIN_TOKEN_ENV: &str = "URNA_BROKER_ADMIN_TOKEN";
/// Where the fleet ConfigMap (blocklist, monitor rules, shard map) is mounted.
pub const FLEET_CONFIG_DIR: &str = "/etc/urna/fleet";
pub const BLOCKLIST_FILE: &str = "blocklist.txt";
pub const RULES_FILE: &str = "rules.json";
pub const FLEET_FILE: &str = "fleet.json";

/// What `urna broker` needs for one shard.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerArgs {
    pub fleet: String,
    /// MQTT over TLS port.
    pub port: i32,
    /// `(messages per second, burst)` per device; the broker's defaults when `None`.
    pub rate: Option<(u32, u32)>,
}

/// `urna broker` (`workloads/urna/src/cmd/broker.rs`): MQTT for one broker shard. TLS material from the
/// shard's server Secret in [`TLS_DIR`], blocked devices from the fleet ConfigMap (re-read when the kubelet
/// updates the mount), the admin token from [`BROKER_ADMIN_TOKEN_ENV`].
pub fn broker_args(b: &BrokerArgs) -> Vec<String> {
    let mut args: Vec<String> = vec![
        "broker".into(),
        "--fleet".into(),
        b.fleet.clone(),
        "--tls-dir".into(),
        TLS_DIR.into(),
        "--listen".into(),
        format!("0.0.0.0:{}", b.port),
        "--status-listen".into(),
        listen(),
        "--backend".into(),
        BACKEND_CN.into(),
        "--max-connections".into(),
        BROKER_MAX_CONNECTIONS.to_string(),
        "--blocklist".into(),
        format!("{FLEET_CONFIG_DIR}/{BLOCKLIST_FILE}"),
    ];
    if let Some((rate, burst)) = b.rate {
        args.extend(["--rate".into(), rate.to_string(), "--burst".into(), burst.to_string()]);
    }
    args
}

/// Where a backend (collector, monitor) reaches the fleet's brokers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendArgs {
    pub fleet: String,
    /// `host:port` of every broker replica of every shard (each replica's own ClusterIP Service), in shard
    /// order: each replica is a separate rumqttd, so a backend must read all of them to see the whole fleet.
    pub brokers: Vec<String>,
    /// The DNS name the brokers' certificates carry (`<broker>.<ns>.svc` of the first shard; every shard's
    /// certificate carries its own name, see `build::boothfleet`).
    pub server_name: String,
}

/// `urna booth collect`: receives every booth's messages exactly once into `DATA/inbox.redb` and, with
/// `vote` (the booth vote service's base URL), bridges each booth ballot there with the bridge token from
/// [`BRIDGE_TOKEN_DIR`]. Without it (the Election declares no `spec.vote.booth`) the collector keeps booth
/// ballots durably and acknowledged, and bridges nothing.
pub fn collector_args(b: &BackendArgs, vote: Option<&str>) -> Vec<String> {
    let mut args: Vec<String> = vec!["booth".into(), "collect".into(), "--fleet".into(), b.fleet.clone()];
    // Every replica of every shard: each is a separate rumqttd, and one inbox keeps the whole fleet.
    for broker in &b.brokers {
        args.extend(["--broker".into(), broker.clone()]);
    }
    args.extend([
        "--server-name".into(),
        b.server_name.clone(),
        "--tls-dir".into(),
        TLS_DIR.into(),
        "--data".into(),
        DATA_DIR.into(),
        "--client-id".into(),
        BACKEND_CN.into(),
        "--group".into(),
        COLLECTOR_GROUP.into(),
    ]);
    if let Some(url) = vote {
        args.extend([
            "--vote".into(),
            url.into(),
            "--bridge-token-file".into(),
            format!("{BRIDGE_TOKEN_DIR}/{TOKEN_KEY}"),
        ]);
    }
    args
}

/// Where the monitor sends alerts besides its feed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MonitorSinks {
    /// Raise Kubernetes Events; `false`: `--no-events`.
    pub events: bool,
    /// `NAMESPACE/NAME` of the BoothFleet the Events are about (unknown namespace, as for resources read
    /// from files: the monitor falls back to `POD_NAMESPACE` and `--fleet`).
    pub fleet_object: Option<String>,
    /// The HTTPS webhook.
    pub webhook: Option<String>,
    /// A private CA for the webhook's certificate (PEM file inside [`WEBHOOK_CA_DIR`]).
    pub webhook_ca: Option<String>,
}

/// Where the monitor finds the webhook's private CA (`spec.alerts.webhookCA`).
pub const WEBHOOK_CA_DIR: &str = "/var/run/urna/webhook-ca";

/// The monitor's operations centre (docs/ops.md): its store on the monitor's volume, every broker replica's
/// blocklist API for officers' block and unblock (the admin token from [`BROKER_ADMIN_TOKEN_ENV`]), the
/// Election's audit log for officers' actions (the internal token in [`INTERNAL_TOKEN_DIR`]), and the
/// dashboard's optional tile server.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MonitorOps {
    /// Each broker replica's status address (`http://HOST:PORT`).
    pub broker_admin: Vec<String>,
    /// The audit log's base URL.
    pub audit: String,
    pub tiles: Option<String>,
}

/// The monitor's operations store, on its own volume ([`DATA_DIR`]).
pub const OPS_STORE: &str = "/var/lib/urna/ops.redb";

/// `urna booth monitor`: the fleet's anomaly rules over every booth's telemetry (alerts at `GET /v1/alerts`)
/// and the operations centre.
pub fn monitor_args(b: &BackendArgs, sinks: &MonitorSinks, ops: &MonitorOps) -> Vec<String> {
    let mut args: Vec<String> = vec!["booth".into(), "monitor".into(), "--fleet".into(), b.fleet.clone()];
    // Every replica of every shard, as for the collector: the rules judge the whole fleet.
    for broker in &b.brokers {
        args.extend(["--broker".into(), broker.clone()]);
    }
    args.extend([
        "--server-name".into(),
        b.server_name.clone(),
        "--tls-dir".into(),
        TLS_DIR.into(),
        "--client-id".into(),
        MONITOR_CLIENT_ID.into(),
        "--rules".into(),
        format!("{FLEET_CONFIG_DIR}/{RULES_FILE}"),
        "--listen".into(),
        listen(),
    ]);
    if !sinks.events {
        args.push("--no-events".into());
    } else if let Some(o) = &sinks.fleet_object {
        args.extend(["--fleet-object".into(), o.clone()]);
    }
    if let Some(w) = &sinks.webhook {
        args.extend(["--webhook".into(), w.clone()]);
        if let Some(ca) = &sinks.webhook_ca {
            args.extend(["--webhook-ca".into(), format!("{WEBHOOK_CA_DIR}/{ca}")]);
        }
    }
    args.extend(["--ops-store".into(), OPS_STORE.into()]);
    for url in &ops.broker_admin {
        args.extend(["--broker-admin".into(), url.clone()]);
    }
    args.extend([
        "--audit".into(),
        ops.audit.clone(),
        "--audit-token-file".into(),
        format!("{INTERNAL_TOKEN_DIR}/{TOKEN_KEY}"),
    ]);
    if let Some(t) = &ops.tiles {
        args.extend(["--tiles".into(), t.clone()]);
    }
    args
}

/// Where the record volume is mounted in the export Job and the decryption service.
pub const RECORD_MOUNT: &str = "/var/lib/urna";
/// The record directory inside it (a subdirectory: a fresh volume's root may hold `lost+found`).
pub const RECORD_DIR: &str = "/var/lib/urna/record";
/// Where the export Job finds the key ceremony's public outputs (`spec.record.ceremony`).
pub const CEREMONY_DIR: &str = "/var/run/urna/ceremony";

/// What `urna record export` reads from: every vote replica (`MODALITY=URL`), every shard (`NAME=URL`), the
/// audit log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportArgs {
    pub votes: Vec<(String, String)>,
    pub shards: Vec<(String, String)>,
    pub audit: String,
}

/// `urna record export` (`workloads/urna/src/cmd/record.rs`) with `--idempotent`: a retried pod finds a
/// complete record and exits 0, or exports again through a fresh staging directory.
pub fn export_args(a: &ExportArgs) -> Vec<String> {
    let mut args: Vec<String> = vec!["record".into(), "export".into()];
    for (modality, url) in &a.votes {
        args.extend(["--vote".into(), format!("{modality}={url}")]);
    }
    for (name, url) in &a.shards {
        args.extend(["--shard".into(), format!("{name}={url}")]);
    }
    args.extend([
        "--audit".into(),
        a.audit.clone(),
        "--ceremony".into(),
        CEREMONY_DIR.into(),
        "--out".into(),
        RECORD_DIR.into(),
        "--idempotent".into(),
    ]);
    args
}

/// `urna decryption serve` (`workloads/urna/src/cmd/decryption.rs`) over the exported record.
pub fn decryption_args() -> Vec<String> {
    vec!["decryption".into(), "serve".into(), "--record".into(), RECORD_DIR.into(), "--listen".into(), listen()]
}

// ---- the public site and PREP (one pod: `<election>-site`) ----

/// The capture service's port in the site pod (the site has [`HTTP_PORT`]).
pub const CAPTURE_PORT: i32 = 8081;
pub const CAPTURE_PORT_NAME: &str = "capture";
/// On the site pod's own volume ([`DATA_DIR`]): the capture journal and photos, the snapshots, and the
/// publisher's key (created there on the first start, kept with the snapshots it signs).
pub const CAPTURE_DATA_DIR: &str = "/var/lib/urna/capture";
pub const SNAPSHOTS_DIR: &str = "/var/lib/urna/snapshots";
pub const PUBLISHER_KEY_FILE: &str = "/var/lib/urna/publisher/publisher.key";
/// Where the site pod mounts the exported record volume (read-only), and the record directory in it.
pub const SITE_RECORD_MOUNT: &str = "/var/run/urna/record";
pub const SITE_RECORD_DIR: &str = "/var/run/urna/record/record";
/// The capture service's tokens file (the `<election>-capture-tokens` ConfigMap: token hashes only).
pub const CAPTURE_TOKENS_DIR: &str = "/var/run/urna/capture-tokens";
pub const CAPTURE_TOKENS_FILE: &str = "tokens.json";
/// The publisher's capture token (the `<election>-publisher-token` Secret, key [`TOKEN_KEY`]).
pub const PUBLISHER_TOKEN_DIR: &str = "/var/run/urna/publisher-token";

/// `urna site` (`workloads/urna/src/cmd/site.rs`): the public results site over the record (absent until the
/// export: the site shows PREP and waits for it) and, with PREP, the snapshots.
pub fn site_args(snapshots: bool) -> Vec<String> {
    let mut args = vec!["site".into(), "--record".into(), SITE_RECORD_DIR.into()];
    if snapshots {
        args.extend(["--snapshots".into(), SNAPSHOTS_DIR.into()]);
    }
    args.extend(["--listen".into(), listen()]);
    args
}

/// `urna capture serve` (`workloads/urna/src/cmd/capture.rs`): double entry of the Mesas' tally sheets, over
/// the booth vote service's mesas file.
pub fn capture_args() -> Vec<String> {
    vec![
        "capture".into(),
        "serve".into(),
        "--manifest".into(),
        manifest(),
        "--mesas".into(),
        format!("{MESAS_DIR}/{MESAS_FILE}"),
        "--tokens".into(),
        format!("{CAPTURE_TOKENS_DIR}/{CAPTURE_TOKENS_FILE}"),
        "--data".into(),
        CAPTURE_DATA_DIR.into(),
        "--listen".into(),
        format!("0.0.0.0:{CAPTURE_PORT}"),
    ]
}

/// `urna publish` (`workloads/urna/src/cmd/publish.rs`): a snapshot every `interval` seconds from the capture
/// service beside it (loopback), each appended to the audit log (`audit`, with the internal token).
pub fn publish_args(interval: u32, audit: &str) -> Vec<String> {
    vec![
        "publish".into(),
        "--capture".into(),
        format!("http://127.0.0.1:{CAPTURE_PORT}"),
        "--token-file".into(),
        format!("{PUBLISHER_TOKEN_DIR}/{TOKEN_KEY}"),
        "--manifest".into(),
        manifest(),
        "--key".into(),
        PUBLISHER_KEY_FILE.into(),
        "--create-key".into(),
        "--out".into(),
        SNAPSHOTS_DIR.into(),
        "--interval".into(),
        interval.to_string(),
        "--audit".into(),
        audit.into(),
        "--audit-token-file".into(),
        format!("{INTERNAL_TOKEN_DIR}/{TOKEN_KEY}"),
    ]
}
