//! Status HTTP endpoint: health, readiness, Prometheus metrics and the blocklist API.
//!
//! `GET /healthz`, `GET /readyz` (the embedded rumqttd accepts on loopback), `GET /metrics`,
//! `GET /v1/status`, `GET /v1/blocklist`, `PUT /v1/blocklist/{device}` (block now: refused at CONNECT
//! and any live session closed), `DELETE /v1/blocklist/{device}`. The two that change the list need the
//! admin bearer token, unless the broker was started explicitly without one ([`AdminAuth`]).

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::extract::{Path, State as AxState};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, put};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tracing::{info, warn};
use urna_status::broker::BrokerStatus;

use crate::acl::valid_level;
use crate::blocklist::Blocklist;
use crate::metrics::Metrics;

/// How the admin API (`PUT`/`DELETE /v1/blocklist/{device}`) is guarded: the workloads' one guard
/// ([`urna_auth::ServiceAuth`]). There is no default: an open admin API must be asked for by name
/// (`urna broker --insecure-no-auth`).
pub use urna_auth::ServiceAuth as AdminAuth;

#[derive(Clone)]
pub(crate) struct State {
    fleet: String,
    metrics: Arc<Metrics>,
    blocklist: Arc<Blocklist>,
    upstream: SocketAddr,
    admin: AdminAuth,
}

impl State {
    pub(crate) fn new(
        fleet: &str,
        metrics: Arc<Metrics>,
        blocklist: Arc<Blocklist>,
        upstream: SocketAddr,
        admin: &AdminAuth,
    ) -> Self {
        Self { fleet: fleet.to_owned(), metrics, blocklist, upstream, admin: admin.clone() }
    }
}

pub(crate) async fn serve(listener: TcpListener, state: State, mut stop: watch::Receiver<bool>) {
    let app = Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route("/readyz", get(readyz))
        .route("/metrics", get(metrics))
        .route("/v1/status", get(status))
        .route("/v1/blocklist", get(list))
        .route("/v1/blocklist/{device}", put(block).delete(unblock))
        .with_state(state);
    let stopped = async move {
        let _ = stop.changed().await;
    };
    if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(stopped).await {
        warn!(error = %e, "status endpoint stopped");
    }
}

fn json(status: StatusCode, v: serde_json::Value) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], v.to_string()).into_response()
}

async fn readyz(AxState(s): AxState<State>) -> Response {
    match crate::embedded::probe(s.upstream).await {
        Ok(()) => (StatusCode::OK, "ready").into_response(),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, format!("embedded broker not serving: {e}")).into_response(),
    }
}

async fn metrics(AxState(s): AxState<State>) -> Response {
    ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], s.metrics.render())
        .into_response()
}

async fn status(AxState(s): AxState<State>) -> Response {
    let n = |g: i64| u64::try_from(g).unwrap_or(0);
    let body = BrokerStatus {
        fleet: s.fleet.clone(),
        connections: n(s.metrics.connections.get()),
        connects: s.metrics.connects.get(),
        handshake_timeouts: s.metrics.handshake_timeouts.get(),
        pending_handshakes: n(s.metrics.pending_handshakes.get()),
        handshakes_shed: s.metrics.handshakes_shed.get(),
        blocked: s.blocklist.list(),
    };
    match serde_json::to_value(&body) {
        Ok(v) => json(StatusCode::OK, v),
        Err(e) => {
            warn!(error = %e, "encoding the status");
            refused(StatusCode::INTERNAL_SERVER_ERROR, "internal")
        }
    }
}

async fn list(AxState(s): AxState<State>) -> Response {
    json(StatusCode::OK, serde_json::json!({ "blocked": s.blocklist.list() }))
}

/// An absent or wrong token never changes the list (compared in constant time by [`urna_auth`]).
fn authorized(s: &State, headers: &HeaderMap) -> bool {
    s.admin.admits(headers)
}

fn refused(status: StatusCode, code: &str) -> Response {
    json(status, serde_json::json!({ "error": { "code": code } }))
}

async fn block(AxState(s): AxState<State>, headers: HeaderMap, Path(device): Path<String>) -> Response {
    if !authorized(&s, &headers) {
        return refused(StatusCode::UNAUTHORIZED, "unauthorized");
    }
    if !valid_level(&device) {
        return refused(StatusCode::BAD_REQUEST, "invalid_device");
    }
    let added = s.blocklist.block(&device);
    info!(%device, added, "device blocked through the API");
    json(StatusCode::OK, serde_json::json!({ "device": device, "blocked": true }))
}

async fn unblock(AxState(s): AxState<State>, headers: HeaderMap, Path(device): Path<String>) -> Response {
    if !authorized(&s, &headers) {
        return refused(StatusCode::UNAUTHORIZED, "unauthorized");
    }
    s.blocklist.unblock(&device);
    let still = s.blocklist.is_blocked(&device);
    info!(%device, still_blocked = still, "device unblocked through the API");
    json(StatusCode::OK, serde_json::json!({ "device": device, "blocked": still }))
}
