//! Anonymous ballot submission (`POST /v1/ballots`): no session, no voter; the voting right is the blind
//! signature carried by the package.
//!
//! Checks, cheapest first: partition; a package already recorded under this signature (identical: return
//! its receipt, even after the close; different: `signature_used`); closed; the prepared message is
//! `32-byte prefix || ballot.hash()`; the signature is a voting right for the ballot's style and this
//! service's modality (partially blind, [`crate::right_keys`]; a right for another style or the other modality
//! is refused as `wrong_ballot_style` or `wrong_modality`); every proof verifies, in one batch with the
//! concurrent submissions' ([`crate::intake`]). Then the package is recorded atomically under its signature,
//! in one commit with its batch (a concurrent twin resolves to "identical" or "signature_used" there),
//! forwarded to its shard, its AnonID appended to the audit log, and the receipt returned. Each step's completion is recorded, so a failure
//! leaves the ballot pending: the voter's identical resubmission, `GET /v1/receipts/{anonId}` or the
//! background resumer finish the job without repeating a completed step.

use std::sync::Arc;

use http::StatusCode;
use tokio::sync::{Mutex, Semaphore};
use urna_ballot::BallotCodec;
use urna_crypto::blind::PREFIX_LEN;

use crate::ballots::{BallotRecord, BallotStore, Recorded, signature_key};
use crate::closing::Closing;
use crate::config::Batching;
use crate::error::{ApiError, VoteError};
use crate::forward::{ForwardError, Upstreams};
use crate::intake::Intake;
use crate::metrics::Metrics;
use crate::partition::Partition;
use crate::right_keys::{Mismatch, RightKeys};
use crate::wire::{BallotPackage, Receipt};
use urna_ballot::{AnonId, anon_id};

/// Serialises the completion of one ballot (striped by AnonID): two concurrent identical submissions must not
/// both append the AnonID to the audit log.
const LOCK_STRIPES: usize = 64;

pub struct BallotBox {
    pub(crate) codec: Arc<BallotCodec>,
    pub(crate) rights: Arc<RightKeys>,
    pub(crate) modality: urna_status::Modality,
    pub(crate) store: Arc<BallotStore>,
    pub(crate) upstreams: Upstreams,
    pub(crate) metrics: Arc<Metrics>,
    pub(crate) cpu: Arc<Semaphore>,
    pub(crate) closing: Arc<Closing>,
    pub(crate) partition: Partition,
    intake: Intake,
    locks: Vec<Mutex<()>>,
}

/// How a submission ended, for the caller's metrics and status code.
pub enum Submitted {
    New(Receipt),
    Identical(Receipt),
}

pub(crate) fn invalid(code: &str, field: &str, message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, message).with_field(field)
}

impl BallotBox {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn new(
        codec: Arc<BallotCodec>,
        rights: Arc<RightKeys>,
        modality: urna_status::Modality,
        store: Arc<BallotStore>,
        upstreams: Upstreams,
        metrics: Arc<Metrics>,
        cpu: Arc<Semaphore>,
        closing: Arc<Closing>,
        partition: Partition,
        batching: Batching,
    ) -> Result<Self, VoteError> {
        let locks = (0..LOCK_STRIPES).map(|_| Mutex::new(())).collect();
        let intake = Intake::start(codec.clone(), store.clone(), metrics.clone(), batching)?;
        Ok(Self { codec, rights, modality, store, upstreams, metrics, cpu, closing, partition, intake, locks })
    }

    pub(crate) async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let _permit = self.cpu.clone().acquire_owned().await.map_err(|_| ApiError::internal())?;
        tokio::task::spawn_blocking(f).await.map_err(|_| ApiError::internal())?
    }

    pub async fn submit(&self, package: BallotPackage) -> Result<Submitted, ApiError> {
        let sig_bytes = package.signature.as_bytes().to_vec();
        let owner = Partition::of_signature(&sig_bytes, self.partition.count);
        if owner != self.partition.index {
            return Err(crate::error::wrong_partition(owner));
        }
        let sig_key = signature_key(&sig_bytes);
        let ballot_hash = package.ballot.hash();
        let anon = anon_id(&ballot_hash, &package.prepared_message, &package.signature);

        let store = self.store.clone();
        let known = self.blocking(move || Ok(store.by_signature(&sig_key)?)).await?;
        match known {
            Some(existing) if existing == anon => {
                return self.complete(anon).await.map(Submitted::Identical);
            }
            Some(_) => return Err(signature_used()),
            None => {}
        }
        self.closing.check()?;

        let prepared = package.prepared_message.as_bytes();
        if prepared.len() != PREFIX_LEN + 32
            || package.prepared_message.message_after_prefix() != Some(&ballot_hash[..])
        {
            return Err(invalid(
                "prepared_message_mismatch",
                "preparedMessage",
                "the prepared message must be a 32-byte prefix followed by the ballot's hash",
            ));
        }
        self.check_right(&package).await?;
        // The shard must exist before the right is consumed by recording the ballot.
        if let Err(e) = self.upstreams.shard_for(self.codec.manifest(), &package.ballot.ballot_style) {
            // An unknown district fails verification below with a clearer message.
            if self.codec.manifest().districts.iter().any(|d| d.id == package.ballot.ballot_style) {
                return Err(ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "no_shard", e.to_string()));
            }
        }
        // Proofs verified with the concurrent submissions' in one batch, then recorded in one commit.
        match self.intake.submit(Arc::new(package), sig_key, anon).await? {
            Recorded::SignatureUsed => Err(signature_used()),
            Recorded::CiphertextReused(_) => Err(ciphertext_reused()),
            Recorded::Existing(_) => self.complete(anon).await.map(Submitted::Identical),
            Recorded::New(record) => {
                self.refresh_pending_gauge();
                self.complete_loaded(anon, Some(record)).await.map(Submitted::New)
            }
        }
    }

    /// The signature must be a voting right for the ballot's style in this service's modality.
    async fn check_right(&self, package: &BallotPackage) -> Result<(), ApiError> {
        let style = package.ballot.ballot_style.clone();
        if self.rights.verifier(&style).is_none() {
            return Err(invalid(
                "invalid_ballot",
                "ballot.ballotStyle",
                format!("ballot style {style:?} is not a district of this election"),
            ));
        }
        let rights = self.rights.clone();
        let (prepared, signature) = (package.prepared_message.clone(), package.signature.clone());
        let modality = self.modality;
        self.blocking(move || {
            let verifier = rights.verifier(&style).ok_or_else(ApiError::internal)?;
            if verifier.verify(&prepared, &signature).is_ok() {
                return Ok(());
            }
            Err(match rights.diagnose(&prepared, &signature, &style) {
                Mismatch::Modality(other) => invalid(
                    "wrong_modality",
                    "signature",
                    format!("this voting right is for a {other} ballot; this service records {modality} ballots"),
                ),
                Mismatch::BallotStyle(right_style) => invalid(
                    "wrong_ballot_style",
                    "ballot.ballotStyle",
                    format!("this voting right is for ballot style {right_style}; the ballot is of style {style}"),
                ),
                Mismatch::Invalid => invalid(
                    "invalid_signature",
                    "signature",
                    "the signature is not a valid voting right for this ballot",
                ),
            })
        })
        .await
    }

    /// Brings a recorded ballot to its receipt: forwards and appends whatever is not done yet.
    pub async fn complete(&self, anon: AnonId) -> Result<Receipt, ApiError> {
        self.complete_loaded(anon, None).await
    }

    /// [`Self::complete`], from `record` when the caller holds it (it has just recorded the ballot: a
    /// stale copy can only repeat an idempotent step), else from the store.
    async fn complete_loaded(&self, anon: AnonId, record: Option<BallotRecord>) -> Result<Receipt, ApiError> {
        let stripe = usize::from(anon.0[0]) % LOCK_STRIPES;
        let _guard = self.locks[stripe].lock().await;
        let mut record = match record {
            Some(r) => r,
            None => self
                .load(anon)
                .await?
                .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such ballot"))?,
        };
        if !record.forwarded {
            self.upstreams
                .forward(self.codec.manifest(), &anon, &record.package.ballot)
                .await
                .map_err(|e| forward_error(&anon, e))?;
            let store = self.store.clone();
            record = self.blocking(move || Ok(store.mark_forwarded(&anon)?)).await?;
        }
        let index = match record.log_index {
            Some(i) => i,
            None => {
                let i = self.upstreams.append(&anon).await.map_err(|e| forward_error(&anon, e))?;
                let store = self.store.clone();
                self.blocking(move || Ok(store.mark_logged(&anon, i)?)).await?;
                self.refresh_pending_gauge();
                i
            }
        };
        drop(_guard);
        let (checkpoint, inclusion_proof) = match self.upstreams.proof(index).await {
            Some((c, p)) => (Some(c), Some(p)),
            None => (None, None),
        };
        Ok(Receipt { anon_id: anon, log_index: index, checkpoint, inclusion_proof })
    }

    pub(crate) async fn load(&self, anon: AnonId) -> Result<Option<BallotRecord>, ApiError> {
        let store = self.store.clone();
        self.blocking(move || Ok(store.get(&anon)?)).await
    }

    /// `GET /v1/receipts/{anonId}`.
    pub async fn receipt(&self, anon: AnonId) -> Result<Receipt, ApiError> {
        self.complete(anon).await
    }

    /// Finishes ballots left pending (after an upstream outage or a restart).
    pub async fn resume_pending(&self) -> Result<usize, VoteError> {
        let store = self.store.clone();
        let pending = tokio::task::spawn_blocking(move || store.pending(256))
            .await
            .map_err(|e| VoteError::Config(format!("resumer task: {e}")))??;
        let mut done = 0;
        for anon in pending {
            match self.complete(anon).await {
                Ok(_) => done += 1,
                Err(e) => {
                    tracing::warn!(code = e.code(), "pending ballot still not acknowledged upstream");
                    break; // upstream still down: try again at the next tick
                }
            }
        }
        Ok(done)
    }

    fn refresh_pending_gauge(&self) {
        if let Ok((_, pending)) = self.store.counts() {
            self.metrics.ballots_pending.set(i64::try_from(pending).unwrap_or(i64::MAX));
        }
    }
}

fn signature_used() -> ApiError {
    ApiError::new(StatusCode::CONFLICT, "signature_used", "this voting right was already used for a different ballot")
        .with_field("signature")
}

/// A copied ballot (docs/protocol.md §4.9): some ciphertext repeats one of a recorded ballot.
pub(crate) fn ciphertext_reused() -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "ciphertext_reused",
        "a ciphertext of this ballot is already in the ballot box: a copied ballot is not accepted",
    )
    .with_field("ballot")
}

fn forward_error(anon: &AnonId, e: ForwardError) -> ApiError {
    let (status, code) = match &e {
        ForwardError::Unavailable { .. } => (StatusCode::SERVICE_UNAVAILABLE, "unavailable"),
        ForwardError::NoShard { .. } => (StatusCode::SERVICE_UNAVAILABLE, "no_shard"),
        ForwardError::Rejected { .. } => (StatusCode::BAD_GATEWAY, "shard_rejected"),
        ForwardError::Protocol { .. } => (StatusCode::BAD_GATEWAY, "upstream_error"),
    };
    tracing::warn!(error = %e, "forwarding a recorded ballot failed; it stays pending");
    ApiError::new(
        status,
        code,
        format!(
            "ballot {anon} is recorded (its right is used) but not yet acknowledged: {e}; resubmit the identical \
             package or GET /v1/receipts/{anon} later"
        ),
    )
}
