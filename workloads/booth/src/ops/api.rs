//! The officers' HTTP API on the monitor's port. Every route needs an officer's bearer token
//! ([`super::routing::authenticate`]); reads show the whole fleet (a map needs its neighbours), the desk and
//! every change are filtered to the officer's districts, and actions are refused outside them.
//!
//! - `GET /v1/ops/me`: who the token belongs to.
//! - `GET /v1/ops/fleet`: every device (position, heartbeat, health, lock, block, state), every Mesa with its
//!   district and geofence, turnout per district and minute.
//! - `GET /v1/ops/desk`: the alerts of the officer's districts, most urgent first.
//! - `GET /v1/ops/actions`: officer actions in the officer's districts.
//! - `GET /v1/ops/events`: server-sent events: `device`, `alert` (the officer's districts), `action`, and
//!   `resync` when this client fell behind (reload the three above).
//! - `POST /v1/ops/alerts/{id}/{acknowledge|resolve|escalate}` with `{"note"}`.
//! - `POST /v1/ops/devices/{id}/{lock|unlock|block|unblock|position}` with `{"note"}` (optional).

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::Arc;

use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;

use super::routing::authenticate;
use super::state::{AlertAction, Change, DeviceAction, OpsError};
use super::{ActionError, Ops};
use crate::rules::Officer;

pub fn router(ops: Arc<Ops>) -> Router {
    Router::new()
        .route("/v1/ops/me", get(me))
        .route("/v1/ops/fleet", get(fleet))
        .route("/v1/ops/desk", get(desk))
        .route("/v1/ops/actions", get(actions))
        .route("/v1/ops/events", get(events))
        .route("/v1/ops/alerts/{id}/{action}", post(alert_action))
        .route("/v1/ops/devices/{id}/{action}", post(device_action))
        .with_state(ops)
}

fn error(status: StatusCode, code: &str, message: String) -> Response {
    let body = json!({ "error": { "code": code, "message": message } }).to_string();
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn ok(body: serde_json::Value) -> Response {
    (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], body.to_string()).into_response()
}

/// The officer presenting the request's bearer token (`None`: answer [`urna_auth::unauthorized`]).
fn officer(ops: &Ops, headers: &HeaderMap) -> Option<Officer> {
    urna_auth::bearer(headers).and_then(|t| authenticate(&ops.officers, t)).cloned()
}

fn now_ms() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

async fn me(State(ops): State<Arc<Ops>>, headers: HeaderMap) -> Response {
    match officer(&ops, &headers) {
        Some(o) => ok(json!({ "id": o.id, "name": o.name, "districts": o.districts, "fleet": ops.fleet() })),
        None => urna_auth::unauthorized(),
    }
}

async fn fleet(State(ops): State<Arc<Ops>>, headers: HeaderMap) -> Response {
    if officer(&ops, &headers).is_none() {
        return urna_auth::unauthorized();
    }
    let (devices, turnout) = {
        let mut s = ops.state();
        let devices = s.devices_now(now_ms(), ops.offline_after_ms());
        let turnout: BTreeMap<String, Vec<(u64, u64)>> =
            s.turnout.iter().map(|(d, series)| (d.clone(), series.iter().map(|(k, v)| (*k, *v)).collect())).collect();
        (devices, turnout)
    };
    let mut mesas: BTreeMap<&str, serde_json::Value> = BTreeMap::new();
    for r in ops.rules.devices.values() {
        mesas.entry(r.mesa.as_str()).or_insert_with(|| {
            json!({
                "id": r.mesa,
                "district": r.district,
                "geofence": r.geofence,
            })
        });
    }
    ok(json!({
        "fleet": ops.fleet(),
        "tiles": ops.tiles,
        "offlineAfterMs": ops.offline_after_ms(),
        "devices": devices,
        "mesas": mesas.into_values().collect::<Vec<_>>(),
        "turnout": turnout,
    }))
}

async fn desk(State(ops): State<Arc<Ops>>, headers: HeaderMap) -> Response {
    match officer(&ops, &headers) {
        Some(o) => ok(json!({ "alerts": ops.state().desk(&o) })),
        None => urna_auth::unauthorized(),
    }
}

async fn actions(State(ops): State<Arc<Ops>>, headers: HeaderMap) -> Response {
    match officer(&ops, &headers) {
        Some(o) => {
            let mine: Vec<_> = ops.state().actions.iter().filter(|a| o.covers(&a.district)).cloned().collect();
            ok(json!({ "actions": mine }))
        }
        None => urna_auth::unauthorized(),
    }
}

/// Whether `officer` is to hear of `change`: every device; alerts and actions of their districts.
fn for_officer(officer: &Officer, change: &Change) -> bool {
    match change {
        Change::Device(_) => true,
        Change::Alert(a) => officer.covers(&a.district),
        Change::Action(a) => officer.covers(&a.district),
    }
}

async fn events(State(ops): State<Arc<Ops>>, headers: HeaderMap) -> Response {
    let Some(o) = officer(&ops, &headers) else {
        return urna_auth::unauthorized();
    };
    let rx = ops.events.subscribe();
    let stream = futures::stream::unfold((rx, o), |(mut rx, o)| async move {
        loop {
            match rx.recv().await {
                Ok(change) if for_officer(&o, &change) => {
                    let name = match &change {
                        Change::Device(_) => "device",
                        Change::Alert(_) => "alert",
                        Change::Action(_) => "action",
                    };
                    let data = serde_json::to_string(&change).unwrap_or_default();
                    return Some((Ok::<_, Infallible>(Event::default().event(name).data(data)), (rx, o)));
                }
                Ok(_) => {}
                // Fell behind: nothing is lost if the client reloads the state, so tell it to.
                Err(RecvError::Lagged(n)) => {
                    let ev = Event::default().event("resync").data(json!({ "missed": n }).to_string());
                    return Some((Ok(ev), (rx, o)));
                }
                Err(RecvError::Closed) => return None,
            }
        }
    });
    Sse::new(stream).keep_alive(KeepAlive::default()).into_response()
}

#[derive(Deserialize, Default)]
struct NoteBody {
    #[serde(default)]
    note: String,
}

/// The note of an action's body (none when the body is empty), or the 400 to answer.
fn note_of(body: &Bytes) -> Result<String, Box<Response>> {
    if body.is_empty() {
        return Ok(String::new());
    }
    serde_json::from_slice::<NoteBody>(body).map(|b| b.note).map_err(|e| {
        Box::new(error(StatusCode::BAD_REQUEST, "invalid_body", format!("expected {{\"note\": \"...\"}}: {e}")))
    })
}

fn refused(e: ActionError) -> Response {
    let (status, code) = match &e {
        ActionError::Refused(OpsError::UnknownDevice(_)) => (StatusCode::NOT_FOUND, "unknown_device"),
        ActionError::Refused(OpsError::UnknownAlert(_)) => (StatusCode::NOT_FOUND, "unknown_alert"),
        ActionError::Refused(OpsError::NotYourRegion { .. }) => (StatusCode::FORBIDDEN, "not_your_region"),
        ActionError::Refused(OpsError::Resolved(_)) => (StatusCode::CONFLICT, "already_resolved"),
        ActionError::Refused(OpsError::NoteRequired(_)) => (StatusCode::BAD_REQUEST, "note_required"),
        ActionError::Refused(OpsError::NoteTooLong) => (StatusCode::BAD_REQUEST, "note_too_long"),
        ActionError::Store(_) => (StatusCode::INTERNAL_SERVER_ERROR, "store"),
        ActionError::Broker(_) => (StatusCode::BAD_GATEWAY, "broker"),
    };
    error(status, code, e.to_string())
}

async fn alert_action(
    State(ops): State<Arc<Ops>>,
    headers: HeaderMap,
    Path((id, action)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let Some(o) = officer(&ops, &headers) else {
        return urna_auth::unauthorized();
    };
    let Some(action) = AlertAction::parse(&action) else {
        return error(StatusCode::NOT_FOUND, "unknown_action", format!("{action:?}: acknowledge, resolve or escalate"));
    };
    let Ok(id) = id.parse::<u64>() else {
        return error(StatusCode::NOT_FOUND, "unknown_alert", format!("{id:?} is not an alert number"));
    };
    let note = match note_of(&body) {
        Ok(n) => n,
        Err(r) => return *r,
    };
    match ops.alert_action(&o, id, action, &note, now_ms()) {
        Ok(record) => ok(json!({ "alert": record })),
        Err(e) => refused(e),
    }
}

async fn device_action(
    State(ops): State<Arc<Ops>>,
    headers: HeaderMap,
    Path((id, action)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let Some(o) = officer(&ops, &headers) else {
        return urna_auth::unauthorized();
    };
    let Some(action) = DeviceAction::parse(&action) else {
        return error(
            StatusCode::NOT_FOUND,
            "unknown_action",
            format!("{action:?}: lock, unlock, block, unblock or position"),
        );
    };
    let note = match note_of(&body) {
        Ok(n) => n,
        Err(r) => return *r,
    };
    match ops.device_action(&o, &id, action, &note, now_ms()).await {
        Ok(record) => ok(json!({ "action": record })),
        Err(e) => refused(e),
    }
}
