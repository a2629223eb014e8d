//! The skeleton the HTTP workloads (vote service, tally shard, audit log) share, so that a probe, a scrape or
//! an error answers the same way whichever of them is asked:
//!
//! - [`probes`]: `GET /healthz` (the process answers: `{"status": "ok"}`), `GET /readyz` (the workload's own
//!   readiness handler) and `GET /metrics` (its OpenMetrics text, through [`openmetrics`]);
//! - [`ready`]: the readiness body when nothing is wrong (`{"status": "ready"}`);
//! - [`ApiError`] and [`error_response`]: an error as every workload answers it, the status code and
//!   [`urna_status::error::ErrorBody`];
//! - [`web_dist`]: a web page's committed build, compiled into the binary and served with its security headers.
//!
//! Only the routes and bodies live here; what "ready" means and which metrics exist are each workload's.

pub mod error;
pub mod web_dist;

pub use error::ApiError;

use axum::Json;
use axum::Router;
use axum::handler::Handler;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http::{StatusCode, header};
use serde_json::{Value, json};
use urna_status::error::ErrorBody;

/// The content type of `GET /metrics` (Prometheus scrapes OpenMetrics text).
pub const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// The probe and metrics routes of a workload, to merge into its router: `/healthz` answers whenever the
/// process serves, `/readyz` and `/metrics` are the workload's handlers.
pub fn probes<S, R, RT, M, MT>(readyz: R, metrics: M) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
    R: Handler<RT, S>,
    RT: 'static,
    M: Handler<MT, S>,
    MT: 'static,
{
    Router::new().route("/healthz", get(healthz)).route("/readyz", get(readyz)).route("/metrics", get(metrics))
}

/// `GET /healthz`.
pub async fn healthz() -> Json<Value> {
    Json(json!({ "status": "ok" }))
}

/// The body of a ready workload's `GET /readyz`.
pub fn ready() -> Json<Value> {
    Json(json!({ "status": "ready" }))
}

/// A `GET /metrics` answer: the registry's text as OpenMetrics.
pub fn openmetrics(text: String) -> Response {
    ([(header::CONTENT_TYPE, OPENMETRICS)], text).into_response()
}

/// An error answer: `status` with `{"error": {"code", "message", ...}}`.
pub fn error_response(status: StatusCode, body: ErrorBody) -> Response {
    (status, Json(body)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bodies_and_headers() {
        assert_eq!(healthz().await.0, json!({ "status": "ok" }));
        assert_eq!(ready().0, json!({ "status": "ready" }));
        let m = openmetrics("# EOF\n".into());
        assert_eq!(m.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()), Some(OPENMETRICS));
        let e = error_response(StatusCode::NOT_FOUND, ErrorBody::new("not_found", "no such route"));
        assert_eq!(e.status(), StatusCode::NOT_FOUND);
        // The router type-checks with the workloads' handler shapes (state-taking, async).
        let _: Router<()> = probes(|| async { ready() }, || async { openmetrics(String::new()) });
    }
}
