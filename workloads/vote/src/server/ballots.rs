//! The ballot side of the double envelope (crate docs): anonymous submission, receipts, the published
//! ballots, and the audit log's proofs relayed for the voter app. Nothing here takes a session or sees a voter.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{StatusCode, header};
use urna_ballot::AnonId;

use super::AppState;
use crate::ballot_box::Submitted;
use crate::error::ApiError;
use crate::wire::{BallotsPage, PublishedBallot};

/// `POST /v1/ballots`: anonymous.
pub(super) async fn submit_ballot(State(s): State<Arc<AppState>>, body: Result<Bytes, BytesRejection>) -> Response {
    let result = match crate::json::parse(body) {
        Ok(package) => s.ballot_box.submit(package).await,
        Err(e) => Err(e),
    };
    submitted(&s, result)
}

pub(super) fn submitted(s: &AppState, result: Result<Submitted, ApiError>) -> Response {
    match result {
        Ok(Submitted::New(receipt)) => {
            s.metrics.ballot("accepted", "ok");
            (StatusCode::CREATED, Json(receipt)).into_response()
        }
        Ok(Submitted::Identical(receipt)) => {
            s.metrics.ballot("duplicate", "ok");
            (StatusCode::OK, Json(receipt)).into_response()
        }
        Err(e) => {
            s.metrics.ballot("rejected", e.code());
            e.into_response()
        }
    }
}

/// `GET /audit/v1/checkpoint`: the audit log's latest signed checkpoint, relayed as the log serves it.
pub(super) async fn audit_checkpoint(State(s): State<Arc<AppState>>) -> Response {
    relay_audit(&s, "/v1/checkpoint").await
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct InclusionQuery {
    index: Option<u64>,
    leaf_hash: Option<String>,
    size: Option<u64>,
}

/// `GET /audit/v1/proof/inclusion?leaf_hash=H&size=N` (or `index=I`): the log's inclusion proof, relayed. The
/// query is re-encoded from parsed values, so nothing but these three parameters reaches the log.
pub(super) async fn audit_inclusion(
    State(s): State<Arc<AppState>>,
    q: Result<Query<InclusionQuery>, QueryRejection>,
) -> Response {
    let Ok(Query(q)) = q else {
        return ApiError::malformed("query", "expected index or leaf_hash, and size").into_response();
    };
    let mut params = Vec::new();
    if let Some(i) = q.index {
        params.push(format!("index={i}"));
    }
    if let Some(h) = q.leaf_hash {
        if AnonId::from_hex(&h).is_none() {
            return ApiError::malformed("leaf_hash", "expected 64 lowercase hex digits").into_response();
        }
        params.push(format!("leaf_hash={h}"));
    }
    if let Some(n) = q.size {
        params.push(format!("size={n}"));
    }
    relay_audit(&s, &format!("/v1/proof/inclusion?{}", params.join("&"))).await
}

pub(super) async fn relay_audit(s: &AppState, path: &str) -> Response {
    match s.ballot_box.upstreams.audit_get(path).await {
        Ok((status, body)) => {
            let status = if status.is_server_error() { StatusCode::BAD_GATEWAY } else { status };
            (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
        }
        Err(e) => ApiError::unavailable(e.to_string()).into_response(),
    }
}

pub(super) async fn receipt(State(s): State<Arc<AppState>>, Path(anon): Path<String>) -> Result<Response, ApiError> {
    let anon =
        AnonId::from_hex(&anon).ok_or_else(|| ApiError::malformed("anonId", "expected 64 lowercase hex digits"))?;
    Ok(Json(s.ballot_box.receipt(anon).await?).into_response())
}

/// Most ballots one `GET /v1/ballots` returns.
pub const MAX_BALLOTS_PAGE: usize = 200;

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct BallotsQuery {
    after: Option<String>,
    limit: Option<usize>,
}

/// `GET /v1/ballots?after=ANONID&limit=N`: the recorded ballots in AnonID order, the bulletin board the
/// election record exports. Ballots carry no voter data, so publishing them reveals nothing about who voted.
pub(super) async fn list_ballots(
    State(s): State<Arc<AppState>>,
    q: Result<Query<BallotsQuery>, QueryRejection>,
) -> Result<Json<BallotsPage>, ApiError> {
    let Query(q) = q.map_err(|e| ApiError::malformed("query", e.body_text()))?;
    let after = match q.after.as_deref() {
        Some(a) => {
            Some(AnonId::from_hex(a).ok_or_else(|| ApiError::malformed("after", "expected 64 lowercase hex digits"))?)
        }
        None => None,
    };
    let limit = q.limit.unwrap_or(MAX_BALLOTS_PAGE).clamp(1, MAX_BALLOTS_PAGE);
    let store = s.ballot_store.clone();
    let records = tokio::task::spawn_blocking(move || store.list(after.as_ref(), limit))
        .await
        .map_err(|_| ApiError::internal())??;
    let next = (records.len() == limit).then(|| records.last().map(|r| r.anon_id)).flatten();
    let ballots = records
        .into_iter()
        .map(|r| PublishedBallot { anon_id: r.anon_id, log_index: r.log_index, package: r.package })
        .collect();
    Ok(Json(BallotsPage { ballots, next }))
}
