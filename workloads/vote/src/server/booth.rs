//! The polling station: the mesa console (its page, admissions, actas) and the booths' ballots through the
//! broker's bridge. Admissions touch the voter store, booth ballots the ballot box; each through its own
//! existing path, as in the rest of the service.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{HeaderMap, StatusCode};

use super::ballots::submitted;
use super::{AppState, bearer, blocking, token_matches};
use crate::acta::SignedActa;
use crate::actas::StoredActa;
use crate::booth_box::BoothDesk;
use crate::error::ApiError;
use crate::mesa_file::Mesa;
use crate::metrics::ReasonLabels;
use crate::rights::Admission;
use crate::wire::{AdmissionRequest, AdmissionResponse, BoothBallot, MesaActas, MesaBooth, parse_voter_id};

/// The booth desk, or 404 when this service has no mesas.
pub(super) fn booth_desk(s: &AppState) -> Result<&Arc<BoothDesk>, ApiError> {
    s.booth.as_ref().ok_or_else(|| {
        ApiError::new(StatusCode::NOT_FOUND, "booth_disabled", "this vote service serves no mesas (--mesas)")
    })
}

/// `GET /mesa/`: the mesa console ([`crate::console`]), where this service serves mesas.
pub(super) async fn console_page(State(s): State<Arc<AppState>>) -> Result<Response, ApiError> {
    booth_desk(&s)?;
    Ok(crate::console::page())
}

/// `GET /mesa/assets/{name}`: the console's script and styles.
pub(super) async fn console_asset(
    State(s): State<Arc<AppState>>,
    Path(name): Path<String>,
) -> Result<Response, ApiError> {
    booth_desk(&s)?;
    Ok(crate::console::asset(&name))
}

/// `POST /v1/mesas/{mesa}/admissions` (mesa console): a mesa member admits a voter for one booth ballot.
pub(super) async fn admit(
    State(s): State<Arc<AppState>>,
    Path(mesa): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<AdmissionResponse>, ApiError> {
    let desk = booth_desk(&s)?;
    let mesa = bearer(&headers)
        .and_then(|t| desk.mesas().authenticate(&mesa, t))
        .cloned()
        .ok_or_else(|| ApiError::unauthorized("this mesa's console token is required (Authorization: Bearer ...)"))?;
    let req: AdmissionRequest = crate::json::parse(body)?;
    let voter_id = parse_voter_id(&req.voter_id).map_err(|m| ApiError::malformed("voterId", m))?;
    s.closing.check()?;
    let (voters, desk, m) = (s.voters.clone(), desk.clone(), mesa.clone());
    let outcome = blocking(&s, move || {
        match voters.voter(&voter_id)? {
            Some(v) if v.district == m.district => {}
            // One answer for "not in the census" and "another district": the console learns only "not here".
            _ => {
                return Err(ApiError::new(
                    StatusCode::NOT_FOUND,
                    "not_in_mesa_census",
                    "this voter does not vote in this mesa's district",
                ));
            }
        }
        let outcome = desk.admit(&voter_id, &m)?;
        Ok((outcome, voters.admitted(&m.id)?))
    })
    .await?;
    let status = match outcome.0 {
        Admission::Admitted => {
            s.metrics.rights_issued.inc();
            "admitted"
        }
        Admission::AlreadyAdmitted => "alreadyAdmitted",
        Admission::RightUsed => {
            s.metrics.rights_refused.get_or_create(&ReasonLabels { reason: "right_already_issued".into() }).inc();
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "right_already_issued",
                "this voter has already voted (remotely or at another mesa)",
            ));
        }
    };
    Ok(Json(AdmissionResponse { mesa: mesa.id, status: status.into(), admitted: outcome.1 }))
}

/// Largest `POST /v1/mesas/{mesa}/actas` body: an audit-codes acta lists every booth ballot of the mesa
/// (about 70 bytes each), and a results acta every choice of every contest.
pub const MAX_ACTA_BYTES: usize = 1 << 20;

/// The mesa named in the path, if the request carries its console token.
pub(super) fn console_mesa(s: &AppState, mesa: &str, headers: &HeaderMap) -> Result<(Arc<BoothDesk>, Mesa), ApiError> {
    let desk = booth_desk(s)?;
    let m = bearer(headers)
        .and_then(|t| desk.mesas().authenticate(mesa, t))
        .cloned()
        .ok_or_else(|| ApiError::unauthorized("this mesa's console token is required (Authorization: Bearer ...)"))?;
    Ok((desk.clone(), m))
}

/// `POST /v1/mesas/{mesa}/actas` (mesa console): a signed acta ([`crate::actas`]).
pub(super) async fn submit_acta(
    State(s): State<Arc<AppState>>,
    Path(mesa): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let (desk, mesa) = console_mesa(&s, &mesa, &headers)?;
    let acta: SignedActa = crate::json::parse(body)?;
    let outcome = s.ballot_box.submit_acta(&desk, &mesa, acta).await?;
    Ok((outcome.http_status(), Json(outcome.status)).into_response())
}

/// `GET /v1/mesas/{mesa}/actas` (mesa console): what the members need to draft the participants,
/// audit-codes and booth results actas, the actas accepted so far, and the mesa as the console shows it (its
/// district, its members with their public keys, its booths with the ballots each recorded).
pub(super) async fn mesa_actas(
    State(s): State<Arc<AppState>>,
    Path(mesa): Path<String>,
    headers: HeaderMap,
) -> Result<Json<MesaActas>, ApiError> {
    let (desk, mesa) = console_mesa(&s, &mesa, &headers)?;
    let members = desk.mesas().members(&mesa.id).to_vec();
    let store = s.ballot_store.clone();
    let (facts, actas, booths, mesa) = blocking(&s, move || {
        let booths = store.booth_ballot_counts(&mesa.booths)?;
        Ok((
            crate::actas::facts(&desk, &store, &mesa)?,
            store.actas(&mesa.id)?.iter().map(StoredActa::status).collect(),
            booths,
            mesa,
        ))
    })
    .await?;
    Ok(Json(MesaActas {
        election_id: s.info.election_id.clone(),
        closed: s.closing.is_closed(),
        admissions: facts.admissions,
        booth_ballots: facts.booth_ballots,
        audit_codes: facts.audit_codes,
        actas,
        district: mesa.district,
        members,
        booths: mesa.booths.into_iter().zip(booths).map(|(id, ballots)| MesaBooth { id, ballots }).collect(),
    }))
}

/// `GET /v1/mesas/{mesa}/actas/{kind}` (public): the accepted signed acta, for anyone to verify with `urna
/// mesa acta verify`. An acta names no voter: participants is a count, audit codes are public AnonIDs.
pub(super) async fn signed_acta(
    State(s): State<Arc<AppState>>,
    Path((mesa, kind)): Path<(String, String)>,
) -> Result<Json<SignedActa>, ApiError> {
    let desk = booth_desk(&s)?;
    let kind = crate::acta::ActaKind::parse(&kind)
        .ok_or_else(|| ApiError::malformed("kind", "constitution, results, participants or auditCodes"))?;
    let none = || ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such acta");
    if desk.mesas().get(&mesa).is_none() {
        return Err(none());
    }
    let store = s.ballot_store.clone();
    let found = blocking(&s, move || Ok(store.acta(&mesa, kind)?)).await?;
    found.map(|a| Json(a.acta)).ok_or_else(none)
}

/// `POST /v1/booth/ballots` (the broker's bridge): a booth's ballot, authorized by its mesa's admissions.
pub(super) async fn submit_booth_ballot(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let result = async {
        let desk = booth_desk(&s)?;
        let Some(expected) = s.bridge_token_hash else {
            return Err(ApiError::new(StatusCode::FORBIDDEN, "bridge_disabled", "no bridge token is configured"));
        };
        if !token_matches(&headers, &expected) {
            return Err(ApiError::unauthorized("the bridge token is required (Authorization: Bearer ...)"));
        }
        let req: BoothBallot = crate::json::parse(body)?;
        s.ballot_box.submit_booth(desk, req).await
    }
    .await;
    submitted(&s, result)
}
