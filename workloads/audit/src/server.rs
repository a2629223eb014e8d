//! The log's HTTP API (axum). Every error is JSON `{"error": {"code", "message"}}` naming what is wrong.
//!
//! | method, path | what |
//! |---|---|
//! | `POST /v1/entries` | (internal token) `{"entries": [entry...]}` (1..=1024) → `{"indices", "leaf_hashes"}`, answered once durable |
//! | `GET /v1/entries?start=S&end=E` | entries `[S, E)`, at most 1000 |
//! | `GET /v1/checkpoint` | the latest checkpoint with its cosignatures |
//! | `GET /checkpoint` | the same as a bare signed note (`text/plain`), where tlog tools look for it |
//! | `GET /v1/proof/inclusion?index=I[&size=N]` or `?leaf_hash=H[&size=N]` | audit path; `N` defaults to the latest checkpoint's size |
//! | `GET /v1/proof/consistency?from=M[&to=N]` | consistency proof; `N` defaults likewise |
//! | `POST /v1/witness/cosign` | `{"name", "public_key", "checkpoint", "signature"}`: a witness's signature of a checkpoint body (403 `unknown_witness` when the log lists its witnesses and this is not one; 409 `too_many_cosignatures` past [`MAX_COSIGNATURES`]) |
//! | `GET /v1/status` | [`urna_status::audit::AuditStatus`]: tree size, root, latest checkpoint, closed (what the operator polls) |
//! | `POST /v1/close` | (internal token) commits what is pending, signs the final checkpoint; later appends get 409 |
//! | `GET /metrics`, `/healthz`, `/readyz` | Prometheus metrics, liveness, readiness |

use std::future::Future;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, Query, Request, State};
use axum::http::{StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use tracing::Instrument;
use urna_auth::ServiceAuth;
use urna_status::audit::{AuditStatus, CheckpointHead};

use crate::checkpoint::{Cosignature, key_id, validate_name, verifier_key};
use crate::entry::LogEntry;
use crate::key::LogKey;
use crate::merkle::Hash;
use crate::metrics::Metrics;
use crate::sequencer::{AppendError, LogConfig, Sequencer};
use crate::store::{Snapshot, Store, StoreError, StoredCheckpoint};
use crate::wire::{AppendRequest, AppendResponse, CosignRequest, LOG_CLOSED};
use crate::witness::TrustedWitness;

pub use crate::wire::{MAX_ENTRIES_PER_READ, MAX_ENTRIES_PER_REQUEST};
/// Most checkpoints one `GET /v1/checkpoints` returns.
pub const MAX_CHECKPOINTS_PER_READ: usize = 500;
/// The most cosignatures one checkpoint keeps: witnesses are outside parties and the endpoint is open, so
/// without a bound anyone could grow every checkpoint note without limit.
pub const MAX_COSIGNATURES: usize = 16;
/// Request bodies beyond this are refused with 413 before they are parsed.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// The workloads' one JSON error type.
pub use urna_service::ApiError;

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Closed => Self::new(StatusCode::CONFLICT, LOG_CLOSED, e.to_string()),
            StoreError::BeyondSize { .. } | StoreError::IndexOutOfRange { .. } | StoreError::SizesOutOfOrder { .. } => {
                Self::bad_request("out_of_range", e.to_string())
            }
            StoreError::InvalidEntry { .. } => Self::bad_request("invalid_entry", e.to_string()),
            StoreError::UnknownCheckpoint => Self::new(StatusCode::NOT_FOUND, "unknown_checkpoint", e.to_string()),
            StoreError::UnknownLeaf => Self::new(StatusCode::NOT_FOUND, "unknown_leaf", e.to_string()),
            StoreError::Checkpoint(_) => Self::bad_request("bad_cosignature", e.to_string()),
            StoreError::TooManyCosignatures { .. } => {
                Self::new(StatusCode::CONFLICT, "too_many_cosignatures", e.to_string())
            }
            e => {
                tracing::error!(error = %e, "storage error");
                Self::new(StatusCode::INTERNAL_SERVER_ERROR, "storage_error", e.to_string())
            }
        }
    }
}

impl From<AppendError> for ApiError {
    fn from(e: AppendError) -> Self {
        match e {
            AppendError::Closed => Self::new(StatusCode::CONFLICT, LOG_CLOSED, e.to_string()),
            AppendError::Busy => Self::new(StatusCode::SERVICE_UNAVAILABLE, "busy", e.to_string()),
            AppendError::Stopped => Self::new(StatusCode::SERVICE_UNAVAILABLE, "stopped", e.to_string()),
            AppendError::Storage(_) => Self::new(StatusCode::INTERNAL_SERVER_ERROR, "storage_error", e.to_string()),
        }
    }
}

struct Inner {
    store: Arc<Store>,
    sequencer: Sequencer,
    metrics: Arc<Metrics>,
    origin: String,
    public_key: [u8; 32],
    witnesses: Vec<TrustedWitness>,
}

/// An open log: store, writer thread and metrics, ready to serve.
#[derive(Clone)]
pub struct AuditLog {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for AuditLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditLog").field("origin", &self.inner.origin).finish_non_exhaustive()
    }
}

impl AuditLog {
    /// Opens the log stored at `db_path` (created if missing), checks it, and starts its writer. Blocking.
    pub fn open(db_path: &Path, key: LogKey, config: LogConfig) -> Result<Self, StoreError> {
        validate_name(&config.origin)?;
        let public_key = key.public_key();
        let store = Arc::new(Store::open(db_path, &config.origin, &public_key)?);
        let metrics = Arc::new(Metrics::new());
        let origin = config.origin.clone();
        let witnesses = config.witnesses.clone();
        // The writer thread ends by itself once every `Sequencer` handle is gone.
        let (sequencer, _thread) = Sequencer::start(store.clone(), Arc::new(key), config, metrics.clone())?;
        Ok(Self { inner: Arc::new(Inner { store, sequencer, metrics, origin, public_key, witnesses }) })
    }

    pub fn public_key(&self) -> [u8; 32] {
        self.inner.public_key
    }

    pub fn origin(&self) -> &str {
        &self.inner.origin
    }

    /// The API. Appends and the close (`POST /v1/entries`, `POST /v1/close`) need `auth` (the election's
    /// internal token, which the vote service presents), checked before the body is read; the reads
    /// (entries, checkpoints, proofs), health and metrics stay open, and so does `POST /v1/witness/cosign`:
    /// a witness proves itself by its signature over the checkpoint, verifiers choose which witness keys
    /// they count, and the log keeps only its listed witnesses' (when it lists any) and at most
    /// [`MAX_COSIGNATURES`] per checkpoint.
    pub fn router(&self, auth: ServiceAuth) -> Router {
        let guard = || middleware::from_fn_with_state(auth.clone(), urna_auth::require);
        Router::new()
            .route("/v1/entries", post(append).route_layer(guard()).get(read_entries))
            .route("/v1/checkpoint", get(latest_checkpoint))
            .route("/v1/checkpoints", get(list_checkpoints))
            .route("/checkpoint", get(checkpoint_note))
            .route("/v1/proof/inclusion", get(inclusion))
            .route("/v1/proof/consistency", get(consistency))
            .route("/v1/witness/cosign", post(cosign))
            .route("/v1/status", get(status))
            .route("/v1/close", post(close).route_layer(guard()))
            .merge(urna_service::probes(ready, metrics))
            .fallback(|| async { ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint") })
            .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
            .layer(middleware::from_fn(trace))
            .with_state(self.clone())
    }

    /// Serves on `listener`, its writes guarded by `auth`, until `shutdown` resolves.
    pub async fn serve(
        self,
        listener: tokio::net::TcpListener,
        auth: ServiceAuth,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        axum::serve(listener, self.router(auth)).with_graceful_shutdown(shutdown).await
    }

    /// Runs `f` on a read snapshot off the async threads (redb reads block).
    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&Snapshot) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let store = self.inner.store.clone();
        tokio::task::spawn_blocking(move || f(&store.snapshot()?))
            .await
            .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?
            .map_err(ApiError::from)
    }

    fn checkpoint_json(&self, cp: &StoredCheckpoint) -> Value {
        let c = &cp.checkpoint;
        json!({
            "seq": cp.seq,
            "origin": c.origin,
            "size": c.size,
            "root": hex::encode(c.root),
            "timestamp": c.timestamp,
            "closed": c.closed,
            "body": cp.note.body,
            "note": cp.note_text(),
            "log_public_key": hex::encode(self.inner.public_key),
            "verifier_key": verifier_key(&c.origin, &self.inner.public_key),
            "cosignatures": cp.cosignatures.iter().map(|w| json!({
                "name": w.name,
                "public_key": hex::encode(w.public_key),
                "key_id": hex::encode(key_id(&w.name, &w.public_key)),
                "signature": hex::encode(w.signature),
            })).collect::<Vec<_>>(),
        })
    }
}

async fn trace(req: Request, next: Next) -> Response {
    // Method and path only: query strings carry nothing secret here, but they are noise in logs.
    let span = tracing::info_span!("http", method = %req.method(), path = %req.uri().path());
    async move {
        let response = next.run(req).await;
        tracing::debug!(status = response.status().as_u16(), "response");
        response
    }
    .instrument(span)
    .await
}

fn parse_hash(field: &'static str, s: &str) -> Result<Hash, ApiError> {
    let mut h = [0u8; 32];
    if s.len() != 64 || s.bytes().any(|b| b.is_ascii_uppercase()) || hex::decode_to_slice(s, &mut h).is_err() {
        return Err(ApiError::bad_request("invalid_hash", format!("{field} must be 64 lowercase hex characters")));
    }
    Ok(h)
}

fn hexes(hashes: &[Hash]) -> Vec<String> {
    hashes.iter().map(hex::encode).collect()
}

async fn append(
    State(log): State<AuditLog>,
    body: Result<Json<AppendRequest>, JsonRejection>,
) -> Result<Json<AppendResponse>, ApiError> {
    let started = Instant::now();
    let Json(body) = body?;
    if body.entries.is_empty() || body.entries.len() > MAX_ENTRIES_PER_REQUEST {
        return Err(ApiError::bad_request(
            "invalid_body",
            format!("entries must hold 1..={MAX_ENTRIES_PER_REQUEST} entries, got {}", body.entries.len()),
        ));
    }
    for (i, e) in body.entries.iter().enumerate() {
        e.validate().map_err(|err| ApiError::bad_request("invalid_entry", format!("entries[{i}]: {err}")))?;
    }
    let leaf_hashes: Vec<Hash> = body.entries.iter().map(LogEntry::leaf_hash).collect();
    // Queue all first, then wait: the entries of one request can share a batch.
    let mut waiting = Vec::with_capacity(body.entries.len());
    for entry in body.entries {
        waiting.push(log.inner.sequencer.submit(entry)?);
    }
    let mut indices = Vec::with_capacity(waiting.len());
    for rx in waiting {
        indices.push(rx.await.map_err(|_| ApiError::from(AppendError::Stopped))??);
    }
    log.inner.metrics.append_latency.observe(started.elapsed().as_secs_f64());
    Ok(Json(AppendResponse { indices, leaf_hashes: hexes(&leaf_hashes) }))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RangeQuery {
    start: u64,
    end: u64,
}

async fn read_entries(
    State(log): State<AuditLog>,
    q: Result<Query<RangeQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(RangeQuery { start, end }) = q?;
    if start >= end || end - start > MAX_ENTRIES_PER_READ {
        return Err(ApiError::bad_request(
            "out_of_range",
            format!("need start < end and at most {MAX_ENTRIES_PER_READ} entries, got start {start}, end {end}"),
        ));
    }
    let entries = log.read(move |s| s.entries(start, end)).await?;
    let entries: Vec<Value> = entries
        .into_iter()
        .map(|(index, entry, leaf)| {
            json!({ "index": index, "leaf_hash": hex::encode(leaf), "encoded": hex::encode(entry.encode()), "entry": entry })
        })
        .collect();
    Ok(Json(json!({ "start": start, "end": end, "entries": entries })))
}

async fn latest_checkpoint(State(log): State<AuditLog>) -> Result<Json<Value>, ApiError> {
    let cp = log
        .read(|s| s.latest_checkpoint())
        .await?
        .ok_or_else(|| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "no_checkpoint", "no checkpoint yet"))?;
    Ok(Json(log.checkpoint_json(&cp)))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PageQuery {
    #[serde(default)]
    from: u64,
}

/// Every checkpoint from sequence `from` on (a page of at most [`MAX_CHECKPOINTS_PER_READ`]), oldest first:
/// what the election record exports and what a verifier checks for mutual consistency.
async fn list_checkpoints(
    State(log): State<AuditLog>,
    q: Result<Query<PageQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(PageQuery { from }) = q?;
    let page = log.read(move |s| s.checkpoints(from, MAX_CHECKPOINTS_PER_READ + 1)).await?;
    let next = page.get(MAX_CHECKPOINTS_PER_READ).map(|c| c.seq);
    let checkpoints: Vec<Value> = page.iter().take(MAX_CHECKPOINTS_PER_READ).map(|c| log.checkpoint_json(c)).collect();
    Ok(Json(json!({ "checkpoints": checkpoints, "next": next })))
}

async fn checkpoint_note(State(log): State<AuditLog>) -> Result<Response, ApiError> {
    let cp = log
        .read(|s| s.latest_checkpoint())
        .await?
        .ok_or_else(|| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "no_checkpoint", "no checkpoint yet"))?;
    Ok(([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], cp.note_text()).into_response())
}

/// The size proofs default to: the latest signed checkpoint's, so every proof is against a signed root.
fn checkpoint_size(s: &Snapshot) -> Result<u64, StoreError> {
    Ok(s.latest_checkpoint()?.map_or(0, |c| c.checkpoint.size))
}

enum Target {
    Index(u64),
    Leaf(Hash),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct InclusionQuery {
    index: Option<u64>,
    leaf_hash: Option<String>,
    size: Option<u64>,
}

async fn inclusion(
    State(log): State<AuditLog>,
    q: Result<Query<InclusionQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(q) = q?;
    let given_leaf = q.leaf_hash.as_deref().map(|h| parse_hash("leaf_hash", h)).transpose()?;
    let target = match (q.index, given_leaf) {
        (Some(i), _) => Target::Index(i),
        (None, Some(h)) => Target::Leaf(h),
        (None, None) => {
            return Err(ApiError::bad_request("invalid_query", "give index or leaf_hash"));
        }
    };
    let (index, size, leaf, root, proof) = log
        .read(move |s| {
            let index = match target {
                Target::Index(i) => i,
                Target::Leaf(h) => s.index_of(&h)?.ok_or(StoreError::UnknownLeaf)?,
            };
            let size = match q.size {
                Some(n) => n,
                None => checkpoint_size(s)?,
            };
            let proof = s.inclusion_proof(index, size)?;
            Ok((index, size, s.leaf_hash(index)?, s.root(size)?, proof))
        })
        .await?;
    if given_leaf.is_some_and(|h| h != leaf) {
        return Err(ApiError::bad_request("invalid_query", "leaf_hash is not the hash of leaf index"));
    }
    Ok(Json(json!({
        "index": index, "size": size, "leaf_hash": hex::encode(leaf), "root": hex::encode(root), "proof": hexes(&proof),
    })))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ConsistencyQuery {
    from: u64,
    to: Option<u64>,
}

async fn consistency(
    State(log): State<AuditLog>,
    q: Result<Query<ConsistencyQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let Query(q) = q?;
    let (from, to, root_from, root_to, proof) = log
        .read(move |s| {
            let to = match q.to {
                Some(n) => n,
                None => checkpoint_size(s)?,
            };
            if q.from > to {
                return Err(StoreError::SizesOutOfOrder { from: q.from, to });
            }
            let proof = s.consistency_proof(q.from, to)?;
            Ok((q.from, to, s.root(q.from)?, s.root(to)?, proof))
        })
        .await?;
    Ok(Json(json!({
        "from": from, "to": to, "root_from": hex::encode(root_from), "root_to": hex::encode(root_to), "proof": hexes(&proof),
    })))
}

async fn cosign(
    State(log): State<AuditLog>,
    body: Result<Json<CosignRequest>, JsonRejection>,
) -> Result<Json<Value>, ApiError> {
    let Json(b) = body?;
    validate_name(&b.name).map_err(|e| ApiError::bad_request("invalid_name", e.to_string()))?;
    let public_key = parse_hash("public_key", &b.public_key)?;
    let mut signature = [0u8; 64];
    if b.signature.len() != 128 || hex::decode_to_slice(&b.signature, &mut signature).is_err() {
        return Err(ApiError::bad_request("invalid_signature", "signature must be 128 hex characters"));
    }
    let listed = &log.inner.witnesses;
    if !listed.is_empty() && !listed.iter().any(|w| w.name == b.name && w.public_key == public_key) {
        return Err(ApiError::new(
            StatusCode::FORBIDDEN,
            "unknown_witness",
            format!("{} with this key is not one of this log's {} witnesses", b.name, listed.len()),
        ));
    }
    let cosignature = Cosignature { name: b.name, public_key, signature };
    let store = log.inner.store.clone();
    let cp = tokio::task::spawn_blocking(move || store.add_cosignature(&b.checkpoint, &cosignature, MAX_COSIGNATURES))
        .await
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))??;
    tracing::info!(size = cp.checkpoint.size, cosignatures = cp.cosignatures.len(), "checkpoint cosigned");
    Ok(Json(log.checkpoint_json(&cp)))
}

/// Where the log stands, in one snapshot: the tree (size, root), the latest checkpoint and whether the
/// closing one is written.
async fn status(State(log): State<AuditLog>) -> Result<Json<AuditStatus>, ApiError> {
    let (size, root, closed, latest) =
        log.read(|s| Ok((s.size(), s.root(s.size())?, s.closed(), s.latest_checkpoint()?))).await?;
    let checkpoint = latest.map(|cp| CheckpointHead {
        size: cp.checkpoint.size,
        root: cp.checkpoint.root,
        signed_at: i64::try_from(cp.checkpoint.timestamp)
            .ok()
            .and_then(|t| jiff::Timestamp::from_second(t).ok())
            .map_or_else(|| cp.checkpoint.timestamp.to_string(), |t| t.to_string()),
        closing: cp.checkpoint.closed,
        cosignatures: u32::try_from(cp.cosignatures.len()).unwrap_or(u32::MAX),
    });
    Ok(Json(AuditStatus {
        origin: log.inner.origin.clone(),
        public_key: log.inner.public_key,
        tree_size: size,
        root,
        checkpoint,
        closed,
    }))
}

async fn close(State(log): State<AuditLog>) -> Result<Json<Value>, ApiError> {
    let cp = log.inner.sequencer.close().await?;
    tracing::info!(size = cp.checkpoint.size, "log closed");
    Ok(Json(log.checkpoint_json(&cp)))
}

async fn metrics(State(log): State<AuditLog>) -> Result<Response, ApiError> {
    let text = log
        .inner
        .metrics
        .encode()
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", e.to_string()))?;
    Ok(urna_service::openmetrics(text))
}

async fn ready(State(log): State<AuditLog>) -> Result<Json<Value>, ApiError> {
    let (size, closed) = log
        .read(|s| Ok((s.size(), s.closed())))
        .await
        .map_err(|e| ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "not_ready", e.detail.message))?;
    Ok(Json(json!({ "status": "ready", "size": size, "closed": closed })))
}
