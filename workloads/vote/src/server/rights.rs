//! The rights side of the double envelope (crate docs): a voter signs in with the census credential and gets
//! exactly one blind-signed voting right. Nothing here sees a ballot.

use std::sync::{Arc, LazyLock};

use axum::Json;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use urna_crypto::blind::BlindedMessage;

use super::{AppState, bearer, blocking};
use crate::credential;
use crate::error::ApiError;
use crate::metrics::ReasonLabels;
use crate::partition::Partition;
use crate::rights::Issue;
use crate::wire::{RightRequest, RightResponse, SessionRequest, SessionResponse, parse_voter_id};

/// Longest credential accepted: Argon2 of a megabyte is not what a login should cost.
const MAX_CREDENTIAL_LEN: usize = 256;

/// Verified against when the voter is unknown, so that an unknown voter costs the same time as a wrong
/// credential and the census is not enumerable by timing.
static DUMMY_HASH: LazyLock<String> =
    LazyLock::new(|| credential::hash_credential("dummy", None, &mut urna_crypto::os_rng()).unwrap_or_default());

/// `POST /v1/sessions`: authenticate with the one-time credential.
pub(super) async fn create_session(
    State(s): State<Arc<AppState>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<SessionResponse>, ApiError> {
    let req: SessionRequest = crate::json::parse(body)?;
    let voter_id = parse_voter_id(&req.voter_id).map_err(|m| ApiError::malformed("voterId", m))?;
    if req.credential.is_empty() || req.credential.len() > MAX_CREDENTIAL_LEN {
        return Err(ApiError::malformed("credential", format!("1 to {MAX_CREDENTIAL_LEN} bytes")));
    }
    let owner = Partition::of_voter(&voter_id, s.partition.count);
    if owner != s.partition.index {
        return Err(crate::error::wrong_partition(owner));
    }
    s.closing.check()?;
    let voters = s.voters.clone();
    let credential = req.credential;
    let found = blocking(&s, move || {
        let voter = voters.voter(&voter_id)?;
        let (hash, known) = match &voter {
            Some(v) => (v.credential_hash.as_str(), true),
            None => (DUMMY_HASH.as_str(), false),
        };
        let ok = credential::verify(&credential, hash) && known;
        match voter {
            Some(v) if ok => Ok(Some((v.district, voters.has_right(&voter_id)?))),
            _ => Ok(None),
        }
    })
    .await?;
    let Some((district, right_issued)) = found else {
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "invalid_credentials",
            "unknown voter or wrong credential",
        ));
    };
    let token = s
        .sessions
        .create(voter_id, district.clone())
        .ok_or_else(|| ApiError::unavailable("too many open sessions; retry later"))?;
    Ok(Json(SessionResponse {
        token,
        expires_in_seconds: s.sessions.ttl().as_secs(),
        ballot_style: district,
        right_issued,
    }))
}

/// `POST /v1/rights`: the voter's single blind signature.
pub(super) async fn request_right(
    State(s): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<RightResponse>, ApiError> {
    let session = bearer(&headers)
        .and_then(|t| s.sessions.get(t))
        .ok_or_else(|| ApiError::unauthorized("a valid session token is required (Authorization: Bearer ...)"))?;
    let req: RightRequest = crate::json::parse(body)?;
    let blinded = BlindedMessage::from_bytes(&s.key, req.blinded_message.as_bytes())
        .map_err(|e| ApiError::malformed("blindedMessage", e.to_string()))?;
    if let Err(e) = s.closing.check() {
        s.metrics.rights_refused.get_or_create(&ReasonLabels { reason: e.code().into() }).inc();
        return Err(e);
    }
    let (voters, key, rights) = (s.voters.clone(), s.key.clone(), s.rights.clone());
    let (voter_id, district) = (session.voter_id, session.district);
    // The right is derived for the voter's own ballot style and this service's modality (crate::right_keys).
    let outcome = blocking(&s, move || {
        let signer = rights.signer(&district).ok_or_else(ApiError::internal)?;
        Ok(voters.issue(&key, &voter_id, &district, &blinded, || Ok(signer.blind_sign(&blinded)?))?)
    })
    .await?;
    match outcome {
        Issue::Issued(sig) => {
            s.metrics.rights_issued.inc();
            Ok(Json(RightResponse { blind_signature: sig }))
        }
        Issue::Repeated(sig) => Ok(Json(RightResponse { blind_signature: sig })),
        Issue::AlreadyIssued => {
            s.metrics.rights_refused.get_or_create(&ReasonLabels { reason: "right_already_issued".into() }).inc();
            Err(ApiError::new(
                StatusCode::CONFLICT,
                "right_already_issued",
                "this voter's voting right was already issued for another blinded message",
            ))
        }
    }
}
