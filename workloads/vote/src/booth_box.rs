//! Booth ballots (`POST /v1/booth/ballots`, from the broker's bridge) and mesa admissions (`POST
//! /v1/mesas/{mesa}/admissions`, from the mesa console): [`crate::mesa`] explains the authorization.
//!
//! A booth ballot becomes an ordinary ballot package: once its proofs verify and its mesa has an admitted
//! voter to spare, this service signs the ballot's prepared message itself with the election's voting-right
//! key, so the election record holds one kind of ballot, each with a valid voting right, and every public
//! check (signature, AnonID, "ballots = rights issued") applies to booth ballots unchanged. The admission
//! already used the voter's right in the voter store, so the count of rights equals the count of ballots.
//!
//! Idempotence: the (device, sequence) of the booth's message is recorded with the ballot in one
//! transaction; a replay returns the first receipt, a different ballot under a used sequence is refused.

use std::sync::Arc;

use http::StatusCode;
use urna_ballot::{AnonId, EncryptedBallot, anon_id};

use crate::ballot_box::{BallotBox, Submitted};
use crate::ballots::{BoothOrigin, BoothRecorded, signature_key};
use crate::error::ApiError;
use crate::mesa::MesaRegistry;
use crate::mesa_file::Mesa;
use crate::right_keys::RightKeys;
use crate::rights::{Admission, VoterStore};
use crate::wire::{BallotPackage, BoothBallot};

/// What the booth path needs beside the ballot box: the mesas, the signing key and the admission counts.
pub struct BoothDesk {
    pub(crate) mesas: MesaRegistry,
    /// The booth modality's voting-right keys, one per ballot style.
    pub(crate) rights: Arc<RightKeys>,
    /// Read only for per-mesa admission counts: the booth path never reads a voter row.
    pub(crate) voters: Arc<VoterStore>,
}

fn refused(status: StatusCode, code: &str, field: &str, message: impl Into<String>) -> ApiError {
    ApiError::new(status, code, message).with_field(field)
}

impl BoothDesk {
    pub fn mesas(&self) -> &MesaRegistry {
        &self.mesas
    }

    /// Admits a voter (whose census district the caller checked) at `mesa`.
    pub fn admit(&self, voter_id: &[u8; 32], mesa: &Mesa) -> Result<Admission, ApiError> {
        Ok(self.voters.admit(voter_id, &mesa.id)?)
    }

    /// Signs `package`'s ballot as a voting right would: prepare, blind, sign, finalize, with the booth key of
    /// the ballot's style (the caller checked it is the mesa's district).
    fn sign(&self, ballot: EncryptedBallot) -> Result<BallotPackage, ApiError> {
        let signer = self.rights.signer(&ballot.ballot_style).ok_or_else(ApiError::internal)?;
        let key = signer.verifying_key();
        let mut rng = urna_crypto::os_rng();
        let prepared = key.prepare(&ballot.hash(), &mut rng);
        let (blinded, secret) = key.blind(&prepared, &mut rng).map_err(internal)?;
        let blind_signature = signer.blind_sign(&blinded).map_err(internal)?;
        let signature = key.finalize(&prepared, &blind_signature, &secret).map_err(internal)?;
        Ok(BallotPackage { ballot, prepared_message: prepared, signature })
    }
}

fn not_admitted(mesa: &Mesa) -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "not_admitted",
        format!("mesa {} has no admitted voter left for this ballot; retry once its console admits one", mesa.id),
    )
}

fn internal(e: urna_crypto::CryptoError) -> ApiError {
    tracing::error!(error = %e, "signing a booth ballot failed");
    ApiError::internal()
}

impl BallotBox {
    pub async fn submit_booth(&self, desk: &Arc<BoothDesk>, req: BoothBallot) -> Result<Submitted, ApiError> {
        let Some(mesa) = desk.mesas.of_device(&req.device).cloned() else {
            return Err(refused(StatusCode::FORBIDDEN, "unknown_device", "device", "this device is in no mesa"));
        };
        let ballot_hash = req.ballot.hash();
        let store = self.store.clone();
        let device = req.device.clone();
        if let Some(anon) = self.blocking(move || Ok(store.booth_ballot(&device, req.seq)?)).await? {
            return self.replay(anon, &ballot_hash).await;
        }
        self.closing.check()?;
        if req.ballot.ballot_style != mesa.district {
            return Err(refused(
                StatusCode::UNPROCESSABLE_ENTITY,
                "wrong_ballot_style",
                "ballot.ballotStyle",
                format!("mesa {} casts ballots of district {}", mesa.id, mesa.district),
            ));
        }
        // Cheap refusal before the proofs and the signature: the bridge retries a waiting ballot often.
        let (store, d, mesa_id) = (self.store.clone(), desk.clone(), mesa.id.clone());
        if self.blocking(move || Ok(store.mesa_ballots(&mesa_id)? >= d.voters.admitted(&mesa_id)?)).await? {
            return Err(not_admitted(&mesa));
        }
        let (codec, d) = (self.codec.clone(), desk.clone());
        let package = self
            .blocking(move || {
                codec.verify_ballot(&req.ballot, &mut urna_crypto::os_rng()).map_err(|e| {
                    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_ballot", e.to_string())
                        .with_field("ballot")
                })?;
                d.sign(req.ballot)
            })
            .await?;
        let anon = anon_id(&ballot_hash, &package.prepared_message, &package.signature);
        let sig_key = signature_key(package.signature.as_bytes());
        let (store, d, device) = (self.store.clone(), desk.clone(), req.device.clone());
        let mesa_id = mesa.id.clone();
        let recorded = self
            .blocking(move || {
                // Read before the write transaction: admissions only grow, so a stale count only refuses.
                let admitted = d.voters.admitted(&mesa_id)?;
                let origin = BoothOrigin { device: &device, seq: req.seq, mesa: &mesa_id };
                Ok(store.record_booth(origin, admitted, &sig_key, anon, &package)?)
            })
            .await?;
        match recorded {
            BoothRecorded::New(_) => self.complete(anon).await.map(Submitted::New),
            BoothRecorded::Existing(first) => self.replay(first, &ballot_hash).await,
            BoothRecorded::NotAdmitted => Err(not_admitted(&mesa)),
            BoothRecorded::CiphertextReused(_) => Err(crate::ballot_box::ciphertext_reused()),
        }
    }

    /// A message recorded before: its receipt if it carried this ballot, else a refusal.
    async fn replay(&self, anon: AnonId, ballot_hash: &[u8; 32]) -> Result<Submitted, ApiError> {
        let record = self.load(anon).await?.ok_or_else(ApiError::internal)?;
        if record.package.ballot.hash() != *ballot_hash {
            return Err(refused(
                StatusCode::CONFLICT,
                "sequence_reused",
                "seq",
                "this device's sequence number was recorded with a different ballot",
            ));
        }
        self.complete(anon).await.map(Submitted::Identical)
    }
}
