//! The `urna` subcommands the operator runs, their arguments, ports and paths: in one place so they can be
//! aligned with the workloads' own CLIs (`workloads/urna/src/cmd/*`) as those land.

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
pub const BROKER_CONFIG_DIR: &str = "/etc/urna/broker";

fn listen() -> String {
    format!("0.0.0.0:{HTTP_PORT}")
}

fn manifest() -> String {
    format!("{MANIFEST_DIR}/{MANIFEST_FILE}")
}

/// `urna vote`: the front door for remote voters and Mesa consoles.
pub fn vote_args(election: &str) -> Vec<String> {
    vec![
        "vote".into(),
        "--election".into(),
        election.into(),
        "--manifest".into(),
        manifest(),
        "--keys".into(),
        format!("{MANIFEST_DIR}/{KEYS_FILE}"),
        "--listen".into(),
        listen(),
    ]
}

/// The Paillier public key file (`{"n": "<hex>"}`) in the manifest ConfigMap, as `urna tally --public-key` reads it.
pub const PUBLIC_KEY_FILE: &str = "paillier.json";

/// `urna tally`: the single writer of one shard's totals (`workloads/urna/src/cmd/tally.rs`).
pub fn tally_args(shard: &str, districts: &[String], modality: &str, closes_at: Option<String>) -> Vec<String> {
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
    if let Some(t) = closes_at {
        args.extend(["--closes-at".into(), t]);
    }
    args
}

/// `urna audit`: the election's transparency log. Its Ed25519 key lives on the log's own volume, created on
/// the first start (`--create-key`) and kept with the data it signs; the origin names the election.
pub fn audit_args(election: &str, batch_size: u32) -> Vec<String> {
    vec![
        "audit".into(),
        "--origin".into(),
        format!("urna.dev/{election}"),
        "--data".into(),
        DATA_DIR.into(),
        "--key".into(),
        format!("{DATA_DIR}/audit.key"),
        "--create-key".into(),
        "--batch-size".into(),
        batch_size.to_string(),
        "--listen".into(),
        listen(),
    ]
}

/// `urna broker`: MQTT for the booth fleet.
pub fn broker_args(fleet: &str, port: i32) -> Vec<String> {
    vec![
        "broker".into(),
        "--fleet".into(),
        fleet.into(),
        "--config".into(),
        format!("{BROKER_CONFIG_DIR}/broker.json"),
        "--tls".into(),
        TLS_DIR.into(),
        "--mqtt-listen".into(),
        format!("0.0.0.0:{port}"),
        "--listen".into(),
        listen(),
    ]
}
