//! The public results site (`urna site`, and `urna local --site`): the page (web/site, embedded in [`assets`])
//! and the data it reads, all derived from the election record directory:
//!
//! | path | what |
//! | --- | --- |
//! | `GET /`, `/assets/*` | the page |
//! | `GET /data/site.json` | turnout, results, the log's checkpoint and the file list ([`urna_record::site`]) |
//! | `GET /data/trust.json` | the key fingerprints (`--trust FILE` as published, else computed from the record) |
//! | `GET /data/status.json` | `{record, recordError, snapshots, trustSource, keysMatch, keysMismatch}`: what can be shown, and whether the record's keys are the published ones |
//! | `GET /record/<path>` | each record file, for download (only files of the record, by their listed path) |
//! | `GET /snapshots/<path>` | the PREP publisher's snapshot directory as it is (`latest.json`, `NNNNNN/<file>`), with `--snapshots DIR` |
//! | `GET /v1/checkpoint`, `/v1/proof/inclusion` | the record's audit log, in the audit log's own API shape, for the receipt check |
//! | `GET /healthz`, `/readyz`, `/metrics` | liveness, readiness (the record loads, or a PREP snapshot is there), Prometheus counters |
//!
//! Before the record exists (voting is open, or it is being exported) the site still serves the published
//! fingerprints and PREP; the record is re-read when its files change (the decryption service adds `results.json` to a record the
//! site already serves), at most every [`RECHECK`].

pub mod assets;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path as UrlPath, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{HeaderValue, StatusCode, header};
use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use serde::Deserialize;
use serde_json::{Value, json};
use urna_audit::merkle::{Hash, MemoryTree};
use urna_record::files::read_jsonl;
use urna_record::model::AuditEntryRow;
use urna_record::{RecordDir, TrustFile};

/// How often, at most, the record's files are looked at for changes.
pub const RECHECK: Duration = Duration::from_secs(2);

/// What the site serves.
#[derive(Debug, Clone)]
pub struct SiteConfig {
    /// The election record directory.
    pub record: PathBuf,
    /// The key fingerprints the election published (`urna record fingerprints`, or the Election's
    /// `status.keyFingerprints`); without it the site publishes the record's own, and says so.
    pub trust: Option<TrustFile>,
    /// The PREP publisher's output directory (docs/record.md "PREP: capture and snapshots"), served as is.
    pub snapshots: Option<PathBuf>,
}

/// The record as the site serves it, rebuilt when the record's files change.
struct Loaded {
    site_json: Bytes,
    /// The fingerprints the site publishes: the published ones, else the record's own.
    trust: TrustFile,
    /// `keysMatch` and `keysMismatch` of `data/status.json`, with a published trust file.
    keys_mismatch: Option<Option<String>>,
    /// The record's files, by their `/`-separated path: nothing else is served under `/record/`.
    files: HashSet<String>,
    tree: MemoryTree,
    leaf_index: HashMap<Hash, u64>,
    /// `/v1/checkpoint`'s answer: the record's last checkpoint.
    checkpoint: Option<Value>,
    ballots: u64,
}

struct Cache {
    /// Size and modification time of the files the site is derived from, when last loaded.
    stamp: Vec<Option<(u64, SystemTime)>>,
    checked: Option<Instant>,
    loaded: Option<Arc<Loaded>>,
    error: Option<String>,
}

struct Metrics {
    registry: Registry,
    /// Requests by route.
    requests: Family<Vec<(&'static str, &'static str)>, Counter>,
    /// Loads of the record by outcome (`ok`, `error`).
    loads: Family<Vec<(&'static str, &'static str)>, Counter>,
    ballots: Gauge,
}

impl Metrics {
    fn new() -> Self {
        let mut registry = Registry::with_prefix("urna_site");
        let requests = Family::default();
        let loads = Family::default();
        let ballots = Gauge::default();
        registry.register("requests", "Requests served, by route", requests.clone());
        registry.register("record_loads", "Loads of the election record, by outcome", loads.clone());
        registry.register("ballots", "Ballots recorded, as the served record says", ballots.clone());
        Self { registry, requests, loads, ballots }
    }

    fn hit(&self, route: &'static str) {
        self.requests.get_or_create(&vec![("route", route)]).inc();
    }
}

#[derive(Clone)]
struct Site {
    config: Arc<SiteConfig>,
    cache: Arc<tokio::sync::Mutex<Cache>>,
    metrics: Arc<Metrics>,
}

/// The site's routes over `config`.
pub fn router(config: SiteConfig) -> Router {
    let site = Site {
        config: Arc::new(config),
        cache: Arc::new(tokio::sync::Mutex::new(Cache { stamp: Vec::new(), checked: None, loaded: None, error: None })),
        metrics: Arc::new(Metrics::new()),
    };
    Router::new()
        .route("/", get(|State(s): State<Site>| async move { page(&s, "index.html") }))
        .route("/assets/{name}", get(|State(s): State<Site>, UrlPath(name): UrlPath<String>| async move {
            page(&s, &format!("assets/{name}"))
        }))
        .route("/data/{name}", get(data))
        .route("/record/{*path}", get(record_file))
        .route("/snapshots/{*path}", get(snapshot_file))
        .route("/v1/checkpoint", get(checkpoint))
        .route("/v1/proof/inclusion", get(inclusion))
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { json_response(StatusCode::OK, &json!({ "status": "ok" })) }))
        .route("/readyz", get(ready))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "not_found", "no such page") })
        .with_state(site)
}

/// Serves the site on `listener` until `shutdown` completes.
pub async fn serve(
    config: SiteConfig,
    listener: tokio::net::TcpListener,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<()> {
    axum::serve(listener, router(config)).with_graceful_shutdown(shutdown).await.context("serving the site")
}

/// Reads a trust file (`urna record fingerprints`' output, or the Election's `status.keyFingerprints`).
pub fn read_trust(path: &Path) -> Result<TrustFile> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    TrustFile::from_json(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))
}

fn page(site: &Site, path: &str) -> Response {
    site.metrics.hit("page");
    assets::file(path).unwrap_or_else(|| error(StatusCode::NOT_FOUND, "not_found", "no such page"))
}

/// The files whose change means the site must be rebuilt.
fn watched(dir: &RecordDir) -> Vec<PathBuf> {
    vec![dir.index(), dir.vote_services(), dir.results(), dir.audit_checkpoints(), dir.audit_entries()]
}

fn stamp(paths: &[PathBuf]) -> Vec<Option<(u64, SystemTime)>> {
    paths.iter().map(|p| std::fs::metadata(p).ok().and_then(|m| Some((m.len(), m.modified().ok()?)))).collect()
}

impl Site {
    /// The record as loaded now, reloading it when its files changed; `Err` says why it cannot be served.
    async fn current(&self) -> Result<Arc<Loaded>, String> {
        let mut cache = self.cache.lock().await;
        let fresh = cache.checked.is_some_and(|t| t.elapsed() < RECHECK);
        if !fresh {
            cache.checked = Some(Instant::now());
            let config = self.config.clone();
            let previous = cache.stamp.clone();
            let outcome = tokio::task::spawn_blocking(move || {
                let dir = RecordDir::new(&config.record);
                let now = stamp(&watched(&dir));
                if now == previous {
                    return (now, None);
                }
                (now, Some(load(&config)))
            })
            .await;
            match outcome {
                Ok((_, None)) => {}
                Ok((now, Some(Ok(loaded)))) => {
                    self.metrics.loads.get_or_create(&vec![("outcome", "ok")]).inc();
                    self.metrics.ballots.set(i64::try_from(loaded.ballots).unwrap_or(i64::MAX));
                    tracing::info!(ballots = loaded.ballots, "record loaded");
                    cache.stamp = now;
                    cache.loaded = Some(Arc::new(loaded));
                    cache.error = None;
                }
                Ok((now, Some(Err(e)))) => {
                    self.metrics.loads.get_or_create(&vec![("outcome", "error")]).inc();
                    let message = format!("{e:#}");
                    tracing::warn!(error = %message, "the record cannot be served yet");
                    // A later change of the files is tried again; an unchanged broken record is not re-read.
                    cache.stamp = now;
                    cache.loaded = None;
                    cache.error = Some(message);
                }
                Err(e) => return Err(format!("loading task: {e}")),
            }
        }
        match (&cache.loaded, &cache.error) {
            (Some(l), _) => Ok(l.clone()),
            (None, Some(e)) => Err(e.clone()),
            (None, None) => Err("the record has not been read yet".into()),
        }
    }
}

/// Builds everything the site serves from the record (blocking: reads and hashes every file).
fn load(config: &SiteConfig) -> Result<Loaded> {
    let dir = RecordDir::new(&config.record);
    let inputs = urna_record::site::load(&dir).context("reading the record")?;
    let data = urna_record::site::build(&inputs);
    let own = urna_record::fingerprints(&dir).map_err(|e| anyhow::anyhow!("the record's keys: {e}"))?;
    let (trust, keys_mismatch) = match &config.trust {
        Some(published) => (published.clone(), Some(keys_mismatch(published, &own))),
        None => (own, None),
    };
    let entries: Vec<AuditEntryRow> =
        if dir.audit_entries().exists() { read_jsonl(&dir.audit_entries())? } else { Vec::new() };
    let mut leaves = Vec::with_capacity(entries.len());
    for (i, row) in entries.iter().enumerate() {
        let mut h = [0u8; 32];
        hex::decode_to_slice(&row.leaf_hash, &mut h)
            .with_context(|| format!("audit/entries.jsonl line {}: leaf_hash is not 32 bytes of hex", i + 1))?;
        leaves.push(h);
    }
    let leaf_index = leaves.iter().enumerate().map(|(i, h)| (*h, i as u64)).collect();
    let checkpoint = inputs.checkpoint.as_ref().map(|c| {
        json!({
            "origin": c.checkpoint.origin,
            "size": c.checkpoint.size,
            "root": hex::encode(c.checkpoint.root),
            "timestamp": c.checkpoint.timestamp,
            "closed": c.checkpoint.closed,
            "note": c.note,
            "log_public_key": hex::encode(inputs.audit_key.public_key),
        })
    });
    Ok(Loaded {
        site_json: Bytes::from(serde_json::to_vec_pretty(&data)?),
        trust,
        keys_mismatch,
        files: data.files.iter().map(|f| f.path.clone()).collect(),
        tree: MemoryTree::from_leaves(leaves),
        leaf_index,
        checkpoint,
        ballots: data.turnout.ballots.value,
    })
}

/// How the record's keys differ from the published ones (`None`: they are the same). Witnesses are not
/// compared: a record does not name them; `urna verify record --trust` checks their cosignatures.
fn keys_mismatch(published: &TrustFile, record: &TrustFile) -> Option<String> {
    let mut differ = Vec::new();
    if published.election_id != record.election_id {
        differ.push("election id");
    }
    if published.manifest_hash != record.manifest_hash {
        differ.push("manifest hash");
    }
    if published.threshold_key != record.threshold_key {
        differ.push("threshold key");
    }
    if published.audit_log != record.audit_log {
        differ.push("audit log key");
    }
    let set = |t: &TrustFile| t.voting_right_keys.iter().map(|k| (k.modality, k.fingerprint)).collect::<HashSet<_>>();
    if !set(record).is_subset(&set(published)) {
        differ.push("voting-right keys");
    }
    (!differ.is_empty()).then(|| format!("the record's {} differ from the published ones", differ.join(", ")))
}

async fn data(State(site): State<Site>, UrlPath(name): UrlPath<String>) -> Response {
    site.metrics.hit("data");
    let loaded = site.current().await;
    let body = match (name.as_str(), &loaded) {
        ("status.json", _) => {
            let mut status = json!({ "record": loaded.is_ok(), "snapshots": site.config.snapshots.is_some() });
            if let Err(e) = &loaded {
                status["recordError"] = json!(e);
            }
            match (&site.config.trust, &loaded) {
                (Some(_), Ok(l)) => {
                    let mismatch = l.keys_mismatch.clone().flatten();
                    status["trustSource"] = json!("published");
                    status["keysMatch"] = json!(mismatch.is_none());
                    status["keysMismatch"] = json!(mismatch);
                }
                (Some(_), Err(_)) => status["trustSource"] = json!("published"),
                (None, Ok(_)) => status["trustSource"] = json!("record"),
                (None, Err(_)) => {}
            }
            status.to_string().into_bytes()
        }
        // The published fingerprints are shown before there is a record to compare them with.
        ("trust.json", _) => match (&site.config.trust, &loaded) {
            (Some(t), _) => serde_json::to_vec_pretty(t).unwrap_or_default(),
            (None, Ok(l)) => serde_json::to_vec_pretty(&l.trust).unwrap_or_default(),
            (None, Err(e)) => return error(StatusCode::SERVICE_UNAVAILABLE, "record_not_ready", e),
        },
        ("site.json", Ok(l)) => l.site_json.to_vec(),
        ("site.json", Err(e)) => return error(StatusCode::SERVICE_UNAVAILABLE, "record_not_ready", e),
        _ => return error(StatusCode::NOT_FOUND, "not_found", "no such data file"),
    };
    with_headers(body.into_response(), "application/json")
}

/// Whether `path` names a file a snapshot directory may hold: `latest.json`, or a snapshot's sequence
/// directory (digits) and a plain file name in it. Anything else (other depths, dot files, `..`) is refused.
fn snapshot_path(path: &str) -> bool {
    let plain = |s: &str| {
        !s.is_empty()
            && !s.starts_with('.')
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    };
    match path.split('/').collect::<Vec<_>>().as_slice() {
        [file] => *file == "latest.json",
        [dir, file] => !dir.is_empty() && dir.bytes().all(|b| b.is_ascii_digit()) && plain(file),
        _ => false,
    }
}

async fn snapshot_file(State(site): State<Site>, UrlPath(path): UrlPath<String>) -> Response {
    site.metrics.hit("snapshots");
    let Some(root) = &site.config.snapshots else {
        return error(StatusCode::NOT_FOUND, "no_snapshots", "this site serves no PREP snapshots");
    };
    if !snapshot_path(&path) {
        return error(StatusCode::NOT_FOUND, "not_found", "no such snapshot file");
    }
    match tokio::fs::read(root.join(&path)).await {
        Ok(bytes) => with_headers(bytes.into_response(), mime(&path)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            error(StatusCode::NOT_FOUND, "not_found", "no such snapshot file")
        }
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, "storage_error", format!("{path}: {e}")),
    }
}

fn mime(path: &str) -> &'static str {
    if path.ends_with(".jsonl") {
        "application/jsonl"
    } else if path.ends_with(".json") {
        "application/json"
    } else if path.ends_with(".csv") {
        "text/csv; charset=utf-8"
    } else {
        "application/octet-stream"
    }
}

async fn record_file(State(site): State<Site>, UrlPath(path): UrlPath<String>) -> Response {
    site.metrics.hit("record");
    let loaded = match site.current().await {
        Ok(l) => l,
        Err(e) => return error(StatusCode::SERVICE_UNAVAILABLE, "record_not_ready", e),
    };
    // Only the listed files: the list was made by walking the record, so no path leaves it.
    if !loaded.files.contains(&path) {
        return error(StatusCode::NOT_FOUND, "not_found", "no such file in the record");
    }
    let full = site.config.record.join(&path);
    match tokio::fs::read(&full).await {
        Ok(bytes) => with_headers(bytes.into_response(), mime(&path)),
        Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, "storage_error", format!("{path}: {e}")),
    }
}

async fn checkpoint(State(site): State<Site>) -> Response {
    site.metrics.hit("checkpoint");
    match site.current().await {
        Ok(l) => match &l.checkpoint {
            Some(cp) => json_response(StatusCode::OK, cp),
            None => error(StatusCode::NOT_FOUND, "no_checkpoint", "the record has no checkpoint"),
        },
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, "record_not_ready", e),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InclusionQuery {
    index: Option<u64>,
    leaf_hash: Option<String>,
    size: Option<u64>,
}

/// The audit path of a leaf in the record's log, as the audit log answers `GET /v1/proof/inclusion`
/// (`unknown_leaf` and `out_of_range` as it names them, which the receipt check reads).
async fn inclusion(
    State(site): State<Site>,
    q: Result<Query<InclusionQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    site.metrics.hit("inclusion");
    let Ok(Query(q)) = q else {
        return error(StatusCode::BAD_REQUEST, "invalid_query", "give index or leaf_hash, and optionally size");
    };
    let loaded = match site.current().await {
        Ok(l) => l,
        Err(e) => return error(StatusCode::SERVICE_UNAVAILABLE, "record_not_ready", e),
    };
    let index = match (q.index, q.leaf_hash.as_deref()) {
        (Some(i), _) => i,
        (None, Some(h)) => {
            let mut leaf = [0u8; 32];
            if h.len() != 64 || h.bytes().any(|b| b.is_ascii_uppercase()) || hex::decode_to_slice(h, &mut leaf).is_err()
            {
                return error(StatusCode::BAD_REQUEST, "invalid_hash", "leaf_hash must be 64 lowercase hex characters");
            }
            match loaded.leaf_index.get(&leaf) {
                Some(i) => *i,
                None => return error(StatusCode::NOT_FOUND, "unknown_leaf", "no entry of the log has this leaf hash"),
            }
        }
        (None, None) => return error(StatusCode::BAD_REQUEST, "invalid_query", "give index or leaf_hash"),
    };
    let tree = &loaded.tree;
    let size = q.size.unwrap_or_else(|| tree.size());
    if size > tree.size() || index >= size {
        return error(
            StatusCode::BAD_REQUEST,
            "out_of_range",
            format!("leaf {index} is not in a tree of {size} (the record's log has {} entries)", tree.size()),
        );
    }
    let proof = match urna_audit::inclusion_proof(tree, index, size) {
        Ok(p) => p,
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, "internal", e),
    };
    let root = match tree.root_at(size) {
        Ok(r) => r,
        Err(e) => return error(StatusCode::INTERNAL_SERVER_ERROR, "internal", e),
    };
    let leaf = tree.leaves().get(usize::try_from(index).unwrap_or(usize::MAX)).map(hex::encode);
    json_response(
        StatusCode::OK,
        &json!({
            "index": index, "size": size, "leaf_hash": leaf, "root": hex::encode(root),
            "proof": proof.iter().map(hex::encode).collect::<Vec<_>>(),
        }),
    )
}

/// Ready when there is something to show: the record, or (before it) a PREP snapshot.
async fn ready(State(site): State<Site>) -> Response {
    let record = site.current().await;
    let prep = match &site.config.snapshots {
        Some(dir) => tokio::fs::try_exists(dir.join("latest.json")).await.unwrap_or(false),
        None => false,
    };
    match record {
        Ok(_) => json_response(StatusCode::OK, &json!({ "status": "ready", "record": true, "snapshots": prep })),
        Err(_) if prep => {
            json_response(StatusCode::OK, &json!({ "status": "ready", "record": false, "snapshots": true }))
        }
        Err(e) => error(StatusCode::SERVICE_UNAVAILABLE, "record_not_ready", e),
    }
}

async fn metrics(State(site): State<Site>) -> Response {
    let mut text = String::new();
    if let Err(e) = encode(&mut text, &site.metrics.registry) {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "internal", e);
    }
    ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], text).into_response()
}

/// Data is revalidated on every load (the record gains its results while the site serves it) and never framed.
fn with_headers(mut r: Response, mime: &'static str) -> Response {
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(mime));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    r
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

fn error(status: StatusCode, code: &str, message: impl std::fmt::Display) -> Response {
    json_response(status, &json!({ "error": { "code": code, "message": message.to_string() } }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use urna_record::{TRUST_FORMAT, TrustedLogKey, TrustedRightKey};
    use urna_tally::Modality;

    fn trust() -> TrustFile {
        TrustFile {
            format: TRUST_FORMAT.into(),
            election_id: "e".into(),
            manifest_hash: [1; 32],
            threshold_key: [2; 32],
            audit_log: TrustedLogKey { origin: "log".into(), public_key: [3; 32] },
            voting_right_keys: vec![
                TrustedRightKey { modality: Modality::Remote, fingerprint: [4; 32] },
                TrustedRightKey { modality: Modality::Booth, fingerprint: [5; 32] },
            ],
            witnesses: None,
        }
    }

    #[test]
    fn only_snapshot_files_are_served_from_the_snapshot_directory() {
        for ok in ["latest.json", "000001/snapshot.json", "000012/mesa_results.csv"] {
            assert!(snapshot_path(ok), "{ok}");
        }
        for bad in
            ["", "../x", "000001/../../etc/passwd", "000001/.hidden", "a/b", "000001/x/y", "/latest.json", "other.json"]
        {
            assert!(!snapshot_path(bad), "{bad}");
        }
    }

    #[test]
    fn a_record_matches_the_published_keys_only_when_every_key_is_one_of_them() {
        let published = trust();
        assert_eq!(keys_mismatch(&published, &published), None);
        // A record whose services used only some of the published voting-right keys still matches.
        let mut record = trust();
        record.voting_right_keys.pop();
        assert_eq!(keys_mismatch(&published, &record), None);
        record.threshold_key = [9; 32];
        record.voting_right_keys[0].modality = Modality::Booth;
        let why = keys_mismatch(&published, &record).unwrap_or_default();
        assert!(why.contains("threshold key") && why.contains("voting-right keys"), "{why}");
        assert!(!why.contains("audit log"), "{why}");
    }
}
