//! The HTTP API (axum). Handlers do only cheap, stateless checks; verification and the log are the pipeline's
//! (see [`crate::batcher`]). Every error is `{"error": {"code", "message"}}` with a message naming the problem.

use std::str::FromStr;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use http::{StatusCode, header};
use serde::Deserialize;
use tokio::sync::{mpsc, oneshot};
use tracing::{Instrument, info_span, warn};
use urna_auth::ServiceAuth;
use urna_ballot::EncryptedContest;
use urna_status::window::Refusal;

use crate::batcher::{Job, Msg, Reply};
use crate::ledger::{Outcome, Pending, RejectKind};
use crate::record::{contest_digest, format_time};
use crate::state::Shared;
use crate::wire::{ItemResult, ItemStatus, MAX_RECORDS_PAGE, SubmitItem, SubmitResponse};
use urna_ballot::AnonId;

#[derive(Clone)]
struct App {
    shared: Arc<Shared>,
    tx: mpsc::Sender<Msg>,
}

/// The writes (`POST /v1/contests`, `POST /v1/seal`) need `auth` (the election's internal token), checked
/// before the body is read; the reads stay open: status, totals and records are what the public record
/// publishes anyway, and health and metrics are for probes and scrapers.
pub(crate) fn router(shared: Arc<Shared>, tx: mpsc::Sender<Msg>, auth: ServiceAuth) -> Router {
    let limit = shared.config.body_limit;
    let guard = || axum::middleware::from_fn_with_state(auth.clone(), urna_auth::require);
    Router::new()
        .route("/v1/contests", post(submit).route_layer(guard()))
        .route("/v1/status", get(status))
        .route("/v1/totals", get(totals))
        .route("/v1/records", get(records))
        .route("/v1/seal", post(seal).route_layer(guard()))
        .merge(urna_service::probes(readyz, metrics))
        .fallback(not_found)
        .layer(DefaultBodyLimit::max(limit))
        .with_state(App { shared, tx })
}

use urna_service::ApiError;

async fn not_found() -> ApiError {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such endpoint")
}

/// The request body, with items kept as raw JSON so that one malformed item is rejected alone.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRequest {
    items: Vec<serde_json::Value>,
}

fn body_error(r: BytesRejection) -> ApiError {
    let status = r.status();
    let code = if status == StatusCode::PAYLOAD_TOO_LARGE { "too_large" } else { "malformed" };
    ApiError::new(status, code, r.body_text())
}

/// Refuses new contests once sealed, outside the modality's window, or after a storage failure.
fn check_open(shared: &Shared) -> Result<(), ApiError> {
    if let Some(f) = shared.failure() {
        return Err(ApiError::unavailable(format!("the shard stopped accepting after a storage failure: {f}")));
    }
    if shared.is_sealed() {
        return Err(ApiError::new(StatusCode::CONFLICT, "sealed", "the shard is sealed and accepts no more contests"));
    }
    match shared.config.window().check(jiff::Timestamp::now(), false) {
        Ok(()) => Ok(()),
        Err(Refusal::NotYetOpen { opens_at }) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "election_not_open",
            format!("the shard's window opens at {}", format_time(opens_at)),
        )),
        Err(Refusal::Closed { closes_at }) => Err(ApiError::new(
            StatusCode::CONFLICT,
            "sealed",
            match closes_at {
                Some(at) => format!("the shard's window closed at {}", format_time(at)),
                None => "the shard's window is closed".to_owned(),
            },
        )),
    }
}

async fn submit(State(app): State<App>, body: Result<Bytes, BytesRejection>) -> Result<Json<SubmitResponse>, ApiError> {
    let body = body.map_err(body_error)?;
    check_open(&app.shared)?;
    let raw: RawRequest = serde_json::from_slice(&body).map_err(|e| {
        ApiError::new(StatusCode::BAD_REQUEST, "malformed", format!("body is not {{\"items\": [...]}}: {e}"))
    })?;
    let n = raw.items.len();
    if n == 0 || n > app.shared.config.max_items {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "malformed",
            format!("{n} items; a request carries 1 to {}", app.shared.config.max_items),
        ));
    }
    let span = info_span!("submit", items = n);
    async move {
        let received_at = format_time(jiff::Timestamp::now());
        let mut waiting: Vec<Result<oneshot::Receiver<Reply>, ItemResult>> = Vec::with_capacity(n);
        for (i, value) in raw.items.into_iter().enumerate() {
            match prefilter(&app.shared, value, &received_at) {
                Err(reason) => {
                    app.shared.count_malformed();
                    waiting.push(Err(rejected(format!("items[{i}]: {reason}"))));
                }
                Ok(pending) => {
                    let (reply, rx) = oneshot::channel();
                    app.tx
                        .send(Msg::Submit(Box::new(Job { pending, reply })))
                        .await
                        .map_err(|_| ApiError::unavailable("the shard is shutting down"))?;
                    waiting.push(Ok(rx));
                }
            }
        }
        let mut items = Vec::with_capacity(n);
        for w in waiting {
            items.push(match w {
                Err(r) => r,
                Ok(rx) => match rx.await {
                    Ok(Reply::Outcome(o)) => result(o),
                    Ok(Reply::Unavailable(f)) => {
                        return Err(ApiError::unavailable(format!(
                            "the shard stopped accepting after a storage failure: {f}; resubmit elsewhere or later"
                        )));
                    }
                    Err(_) => {
                        return Err(ApiError::unavailable("the item was dropped before it was decided; resubmit it"));
                    }
                },
            });
        }
        Ok(Json(SubmitResponse { items }))
    }
    .instrument(span)
    .await
}

fn rejected(reason: String) -> ItemResult {
    ItemResult { status: ItemStatus::Rejected, sequence: None, reason: Some(reason) }
}

fn result(o: Outcome) -> ItemResult {
    match o {
        Outcome::Accepted { sequence } => {
            ItemResult { status: ItemStatus::Accepted, sequence: Some(sequence), reason: None }
        }
        Outcome::Duplicate { sequence } => {
            ItemResult { status: ItemStatus::Duplicate, sequence: Some(sequence), reason: None }
        }
        Outcome::Rejected { reason, .. } => rejected(reason),
    }
}

/// Decodes one item and checks everything that needs neither the log nor a proof. An item that decodes but
/// fails a check still goes down the pipeline with its verdict, so that de-duplication sees it first (an exact
/// resubmission of an accepted contest is a duplicate even after the rules tightened) and the stored
/// rejection counter counts it.
fn prefilter(shared: &Shared, value: serde_json::Value, received_at: &str) -> Result<Pending, String> {
    let item: SubmitItem = serde_json::from_value(value).map_err(|e| format!("not a contest item: {e}"))?;
    let anon_id = AnonId::from_str(&item.anon_id)?;
    let digest = contest_digest(&item.ballot_style, &item.contest);
    let verdict = scope(shared, &item).map_err(|(k, r)| (k, format!("contest {}: {r}", item.contest.contest_id)));
    Ok(Pending {
        anon_id,
        ballot_style: item.ballot_style,
        contest: item.contest,
        received_at: received_at.to_owned(),
        digest,
        verdict,
    })
}

fn scope(shared: &Shared, item: &SubmitItem) -> Result<(), (RejectKind, String)> {
    let id = &shared.identity;
    if let Some(e) = &item.election_id
        && e != &id.election_id
    {
        return Err((RejectKind::Scope, format!("election {e:?} is not this shard's ({:?})", id.election_id)));
    }
    if let Some(m) = item.modality
        && m != id.modality
    {
        return Err((RejectKind::Scope, format!("modality {m} is not this shard's ({})", id.modality)));
    }
    if !id.districts.contains(&item.ballot_style) {
        return Err((
            RejectKind::Scope,
            format!(
                "ballot style {:?} is not held by shard {:?} (districts {:?})",
                item.ballot_style, id.shard, id.districts
            ),
        ));
    }
    let style = shared.codec.style_contests(&item.ballot_style).map_err(|e| (RejectKind::Scope, e.to_string()))?;
    let Some(cc) = style.iter().find(|c| c.contest.id == item.contest.contest_id) else {
        return Err((RejectKind::Scope, format!("not on the ballot of {:?}", item.ballot_style)));
    };
    check_shape(shared, cc.layout.positions(), &item.contest).map_err(|r| (RejectKind::Malformed, r))
}

fn check_shape(shared: &Shared, positions: usize, contest: &EncryptedContest) -> Result<(), String> {
    if contest.ciphertexts.len() != positions {
        return Err(format!("{} ciphertexts, the contest's layout has {positions}", contest.ciphertexts.len()));
    }
    // The proofs check these too; checking the values the tally folds here as well keeps the fold safe even
    // if a statement ever stops covering a position.
    for (i, c) in contest.ciphertexts.iter().enumerate() {
        shared.codec.public_key().check_ciphertext(&format!("ciphertexts[{i}]"), c).map_err(|e| e.to_string())?;
    }
    Ok(())
}

async fn status(State(app): State<App>) -> Response {
    Json(app.shared.status()).into_response()
}

#[derive(Deserialize)]
struct TotalsQuery {
    #[serde(default)]
    provisional: bool,
}

/// The sealed totals; before sealing only with `?provisional=true` (marked `"sealed": false`), because trustees
/// must decrypt final totals only.
async fn totals(
    State(app): State<App>,
    query: Result<Query<TotalsQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let provisional = match query {
        Ok(Query(q)) => q.provisional,
        Err(e) => {
            return ApiError::new(StatusCode::BAD_REQUEST, "malformed", e.body_text()).into_response();
        }
    };
    let t = app.shared.totals();
    if !t.sealed && !provisional {
        return ApiError::new(
            StatusCode::CONFLICT,
            "not_sealed",
            "the shard is not sealed yet; ask for ?provisional=true to see the running totals",
        )
        .into_response();
    }
    Json(t).into_response()
}

#[derive(Deserialize)]
struct RecordsQuery {
    from: Option<u64>,
    limit: Option<usize>,
}

/// A page of the log, written straight from the stored bytes (each record is stored as its JSON).
async fn records(
    State(app): State<App>,
    query: Result<Query<RecordsQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let q = match query {
        Ok(Query(q)) => q,
        Err(e) => {
            return ApiError::new(StatusCode::BAD_REQUEST, "malformed", e.body_text()).into_response();
        }
    };
    let from = q.from.unwrap_or(1).max(1);
    let limit = q.limit.unwrap_or(100).clamp(1, MAX_RECORDS_PAGE);
    let store = Arc::clone(&app.shared.store);
    let page = tokio::task::spawn_blocking(move || store.records_raw(from, limit)).await;
    let (rows, next) = match page {
        Ok(Ok(p)) => p,
        Ok(Err(e)) => {
            return ApiError::unavailable(format!("reading the log: {e}")).into_response();
        }
        Err(e) => return ApiError::unavailable(format!("reading the log: {e}")).into_response(),
    };
    let mut body = Vec::with_capacity(rows.iter().map(|r| r.len() + 1).sum::<usize>() + 64);
    body.extend_from_slice(b"{\"records\":[");
    for (i, r) in rows.iter().enumerate() {
        if i > 0 {
            body.push(b',');
        }
        body.extend_from_slice(r);
    }
    body.push(b']');
    if let Some(n) = next {
        body.extend_from_slice(format!(",\"next\":{n}").as_bytes());
    }
    body.push(b'}');
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

async fn seal(State(app): State<App>) -> Response {
    if let Some(f) = app.shared.failure() {
        return ApiError::unavailable(format!("the shard stopped after a storage failure: {f}")).into_response();
    }
    let (reply, rx) = oneshot::channel();
    if app.tx.send(Msg::Seal(reply)).await.is_err() {
        return ApiError::unavailable("the shard is shutting down").into_response();
    }
    match rx.await {
        Ok(Ok(record)) => Json(record).into_response(),
        Ok(Err(e)) => {
            warn!(error = %e, "seal failed");
            ApiError::unavailable(format!("sealing failed: {e}")).into_response()
        }
        Err(_) => ApiError::unavailable("the shard is shutting down").into_response(),
    }
}

async fn metrics(State(app): State<App>) -> Response {
    urna_service::openmetrics(app.shared.metrics.render())
}

/// Ready while the shard can record contests (a sealed shard stays ready: it still serves its totals).
async fn readyz(State(app): State<App>) -> Response {
    match app.shared.failure() {
        None => urna_service::ready().into_response(),
        Some(f) => ApiError::unavailable(f).into_response(),
    }
}
