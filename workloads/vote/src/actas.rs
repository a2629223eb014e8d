//! Accepting a mesa's signed actas (`POST /v1/mesas/{mesa}/actas`, the mesa's console token): the document
//! and its signatures are [`crate::acta`]'s; here they are checked against the mesa this service serves and
//! what it recorded there, kept in the ballot store, and their SHA-256 appended to the audit log as an
//! `acta` event.
//!
//! - The constitution acta is accepted at any time; results, participants and audit codes only once the
//!   booth modality has closed (`409 mesa_not_closed`), since before that their figures can still move.
//! - One acta per (mesa, kind), never replaced: the same document again answers as the first time (`200`),
//!   another document of that kind is `409 acta_conflict` naming the accepted one's SHA-256.
//! - The acta is stored durably before the log is asked; a log that does not answer leaves it accepted with
//!   no log index (`202`), and the service appends it again every few seconds until the log answers (the log
//!   returns the existing index of an entry it holds, so nothing is appended twice).

use std::sync::Arc;

use http::StatusCode;
use serde::{Deserialize, Serialize};
use urna_status::vote::ActaStatus;

use crate::acta::{self, ActaError, ActaKind, MesaFacts, SignedActa};
use crate::ballot_box::BallotBox;
use crate::booth_box::BoothDesk;
use crate::error::{ApiError, VoteError};
use crate::mesa_file::Mesa;

/// An accepted acta as the ballot store keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StoredActa {
    pub acta: SignedActa,
    /// SHA-256 of the canonical document (hex).
    pub sha256: String,
    pub signers: Vec<String>,
    pub received_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_index: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logged_at: Option<String>,
}

impl StoredActa {
    pub fn status(&self) -> ActaStatus {
        ActaStatus {
            kind: self.acta.document.kind(),
            sha256: self.sha256.clone(),
            signers: self.signers.clone(),
            signed_at: self.acta.document.signed_at.clone(),
            received_at: self.received_at.clone(),
            log_index: self.log_index,
            logged_at: self.logged_at.clone(),
        }
    }
}

pub enum ActaRecorded {
    New,
    /// This mesa's acta of this kind, with the same digest, was accepted before.
    Existing(StoredActa),
    /// Another document of this kind was accepted before.
    Conflict(StoredActa),
}

/// How a submission ended: the acta's status, and whether it was new.
pub struct ActaOutcome {
    pub status: ActaStatus,
    pub new: bool,
}

impl ActaOutcome {
    /// `201` new and in the log, `200` as before, `202` accepted but not in the log yet.
    pub fn http_status(&self) -> StatusCode {
        match (self.status.log_index, self.new) {
            (None, _) => StatusCode::ACCEPTED,
            (Some(_), true) => StatusCode::CREATED,
            (Some(_), false) => StatusCode::OK,
        }
    }
}

fn refused(e: ActaError) -> ApiError {
    let status = match e {
        ActaError::Mismatch(_) => StatusCode::CONFLICT,
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    };
    ApiError::new(status, e.code(), e.to_string())
}

/// What this service recorded at `mesa`, for [`acta::check_facts`].
pub fn facts(desk: &BoothDesk, store: &crate::ballots::BallotStore, mesa: &Mesa) -> Result<MesaFacts, VoteError> {
    Ok(MesaFacts {
        admissions: desk.voters.admitted(&mesa.id)?,
        booth_ballots: store.mesa_ballots(&mesa.id)?,
        audit_codes: store.booth_anon_ids(&mesa.booths)?.iter().map(|a| a.to_hex()).collect(),
    })
}

impl BallotBox {
    pub async fn submit_acta(
        &self,
        desk: &Arc<BoothDesk>,
        mesa: &Mesa,
        a: SignedActa,
    ) -> Result<ActaOutcome, ApiError> {
        let kind = a.document.kind();
        let election = self.codec.manifest().election_id.clone();
        let verified = acta::verify(&a, &election, &mesa.id, desk.mesas().members(&mesa.id)).map_err(refused)?;
        acta::check_figures(&a.document.body, &self.codec, &mesa.district).map_err(refused)?;
        if kind != ActaKind::Constitution && !self.closing.is_closed() {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "mesa_not_closed",
                format!("a {} acta is signed after the booth modality closes; it has not", kind.as_str()),
            ));
        }
        let stored = StoredActa {
            acta: a,
            sha256: hex::encode(verified.digest),
            signers: verified.signers,
            received_at: jiff::Timestamp::now().to_string(),
            log_index: None,
            logged_at: None,
        };
        let (store, d, m) = (self.store.clone(), desk.clone(), mesa.clone());
        let (recorded, stored) = self
            .blocking(move || {
                acta::check_facts(&stored.acta.document.body, &facts(&d, &store, &m)?).map_err(refused)?;
                Ok((store.record_acta(&m.id, &stored)?, stored))
            })
            .await?;
        let (first, new) = match recorded {
            ActaRecorded::New => {
                tracing::info!(mesa = %mesa.id, kind = kind.as_str(), sha256 = %stored.sha256, "acta accepted");
                (stored, true)
            }
            ActaRecorded::Existing(first) => (first, false),
            ActaRecorded::Conflict(first) => {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "acta_conflict",
                    format!(
                        "mesa {} already has a {} acta (sha256 {}); an accepted acta is never replaced",
                        mesa.id,
                        kind.as_str(),
                        first.sha256
                    ),
                ));
            }
        };
        let status = match first.log_index {
            Some(_) => first.status(),
            None => self.log_acta(&mesa.id, kind, &first).await.unwrap_or_else(|| first.status()),
        };
        Ok(ActaOutcome { status, new })
    }

    /// Appends an accepted acta's event to the audit log and notes its index; `None` while the log does not
    /// take it (retried by [`Self::resume_actas`]).
    async fn log_acta(&self, mesa: &str, kind: ActaKind, a: &StoredActa) -> Option<ActaStatus> {
        let digest = a.acta.document.digest();
        let index = match self.upstreams.append_entry(&acta::log_event(mesa, kind, digest)).await {
            Ok(i) => i,
            Err(e) => {
                tracing::warn!(mesa, kind = kind.as_str(), error = %e, "acta not in the audit log yet; retrying later");
                return None;
            }
        };
        let (store, mesa, now) = (self.store.clone(), mesa.to_owned(), jiff::Timestamp::now().to_string());
        match self.blocking(move || Ok(store.mark_acta_logged(&mesa, kind, index, &now)?)).await {
            Ok(s) => Some(s.status()),
            Err(_) => None,
        }
    }

    /// Appends the events of accepted actas the audit log has not acknowledged yet; returns how many now are.
    pub async fn resume_actas(&self) -> Result<usize, VoteError> {
        let store = self.store.clone();
        let unlogged = tokio::task::spawn_blocking(move || store.actas_unlogged())
            .await
            .map_err(|e| VoteError::Corrupt(format!("acta resume task: {e}")))??;
        let mut done = 0;
        for (mesa, kind) in unlogged {
            let store = self.store.clone();
            let m = mesa.clone();
            let found = tokio::task::spawn_blocking(move || store.acta(&m, kind))
                .await
                .map_err(|e| VoteError::Corrupt(format!("acta resume task: {e}")))??;
            if let Some(a) = found
                && self.log_acta(&mesa, kind, &a).await.is_some()
            {
                done += 1;
            }
        }
        Ok(done)
    }
}
