//! The decryption service's state (`urna decryption serve`): trustees hand in their answers to the record's
//! decryption request one at a time, each verified on arrival and refused with a reason, stored atomically as
//! `decryption/trustee-<i>.json` before it is acknowledged, and idempotent per trustee. Once `t` valid answers
//! are stored, they are combined and `results.json` is written, as `urna results` would.
//!
//! The stored files are the state: on open, the answers already in the record are verified again and counted,
//! and `results.json`, if present, is reported; so a service killed at any point loses nothing it accepted.

use std::collections::BTreeMap;

use urna_crypto::threshold::{ThresholdPublicKey, verify_decryption};
use urna_status::decryption::{DecryptionStatus, ResultsHead};

use crate::decryption::{crypto_request, read_answers};
use crate::error::{RecordError, Result};
use crate::files::{hash_file, read_bytes, read_json, write_json};
use crate::layout::RecordDir;
use crate::model::{DecryptionItem, ResultsFile, TrusteePartials};
use crate::results::{combine_record, read_public_key};

/// Why an answer was refused. Nothing is stored for it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    #[error("trustee {trustee} is not one of the key's {trustees} trustees")]
    UnknownTrustee { trustee: u32, trustees: u32 },
    #[error(
        "the answer is for another request (requestHash {}; this election's decryption/request.json hashes to {})",
        hex::encode(.given),
        hex::encode(.expected)
    )]
    OtherRequest { given: [u8; 32], expected: [u8; 32] },
    #[error("trustee {trustee}'s partial decryptions do not verify: {reason}")]
    InvalidProof { trustee: u32, reason: String },
    #[error("trustee {trustee} already answered with other partial decryptions; the first answer stands")]
    Conflict { trustee: u32 },
}

impl Refusal {
    /// The stable error code the HTTP API answers with.
    pub fn code(&self) -> &'static str {
        match self {
            Self::UnknownTrustee { .. } => "unknown_trustee",
            Self::OtherRequest { .. } => "other_request",
            Self::InvalidProof { .. } => "invalid_proof",
            Self::Conflict { .. } => "conflicting_answer",
        }
    }
}

/// What became of an answer that was not refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intook {
    /// Verified and stored now.
    Accepted,
    /// This trustee's partials were stored before (possibly under another proof): nothing changed.
    AlreadyAccepted,
}

#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error(transparent)]
    Refused(#[from] Refusal),
    /// Storing the answer or combining failed: the answer is not acknowledged (resubmitting it is safe).
    #[error(transparent)]
    Record(#[from] RecordError),
}

/// The answers collected so far for one record.
pub struct Intake {
    record: RecordDir,
    public: ThresholdPublicKey,
    election_id: String,
    items: Vec<DecryptionItem>,
    request_bytes: Vec<u8>,
    request_hash: [u8; 32],
    accepted: BTreeMap<u32, TrusteePartials>,
    results: Option<ResultsHead>,
    refused: u64,
    last_refusal: Option<String>,
}

impl Intake {
    /// Opens the record's decryption request and the answers already stored (each verified again; one that
    /// no longer verifies is an error, not something to silently drop or count).
    pub fn open(record: RecordDir) -> Result<Self> {
        let public = read_public_key(&record)?;
        let request_bytes = read_bytes(&record.decryption_request())?;
        let items: Vec<DecryptionItem> = read_json(&record.decryption_request())?;
        let request_hash = hash_file(&record.decryption_request())?;
        let election_id = items.first().map(|i| i.context.election_id.clone()).unwrap_or_default();
        let mut intake = Self {
            record,
            public,
            election_id,
            items,
            request_bytes,
            request_hash,
            accepted: BTreeMap::new(),
            results: None,
            refused: 0,
            last_refusal: None,
        };
        for answer in read_answers(&intake.record)? {
            let path = answer.path.display().to_string();
            let stored = answer.contents.map_err(|e| RecordError::Invalid(format!("{path}: {e}")))?;
            if stored.partials.trustee().get() != answer.trustee {
                return Err(RecordError::Invalid(format!(
                    "{path} holds trustee {}'s answer",
                    stored.partials.trustee()
                )));
            }
            intake.check(&stored).map_err(|r| RecordError::Invalid(format!("{path}: {r}")))?;
            intake.accepted.insert(answer.trustee, stored);
        }
        if intake.record.results().exists() {
            let results: ResultsFile = read_json(&intake.record.results())?;
            intake.results = Some(head(&results, hash_file(&intake.record.results())?));
        }
        Ok(intake)
    }

    /// The request exactly as stored: trustees hash these bytes (`requestHash`).
    pub fn request_bytes(&self) -> &[u8] {
        &self.request_bytes
    }

    pub fn public_key(&self) -> &ThresholdPublicKey {
        &self.public
    }

    pub fn record(&self) -> &RecordDir {
        &self.record
    }

    /// Verifies `answer` against the key and the request: trustee, request hash, shape and proof.
    fn check(&self, answer: &TrusteePartials) -> std::result::Result<(), Refusal> {
        self.check_scope(answer)?;
        let trustee = answer.partials.trustee().get();
        verify_decryption(&self.public, &crypto_request(&self.items), &answer.partials)
            .map(|_| ())
            .map_err(|e| Refusal::InvalidProof { trustee, reason: e.to_string() })
    }

    /// The cheap checks: one of the key's trustees, answering this request.
    fn check_scope(&self, answer: &TrusteePartials) -> std::result::Result<(), Refusal> {
        let trustee = answer.partials.trustee().get();
        if trustee == 0 || trustee > self.public.trustees() {
            return Err(Refusal::UnknownTrustee { trustee, trustees: self.public.trustees() });
        }
        if answer.request_hash != self.request_hash {
            return Err(Refusal::OtherRequest { given: answer.request_hash, expected: self.request_hash });
        }
        Ok(())
    }

    /// Takes one trustee's answer: refused with a reason, or stored (fsynced) before it is acknowledged, or
    /// recognised as the one stored before. Combines and writes `results.json` once `t` answers are stored.
    pub fn submit(&mut self, answer: TrusteePartials) -> std::result::Result<Intook, SubmitError> {
        let trustee = answer.partials.trustee().get();
        let verdict = self.check_scope(&answer).and_then(|()| match self.accepted.get(&trustee) {
            Some(stored) if same_partials(stored, &answer) => Ok(Some(Intook::AlreadyAccepted)),
            Some(_) => Err(Refusal::Conflict { trustee }),
            None => self.check(&answer).map(|()| None),
        });
        match verdict {
            Err(r) => {
                self.refused += 1;
                self.last_refusal = Some(format!("trustee {trustee}: {}: {r}", r.code()));
                Err(r.into())
            }
            Ok(Some(repeat)) => {
                // A resend after a failed combine (the answer was stored, the results not written) retries it.
                self.combine_if_ready()?;
                Ok(repeat)
            }
            Ok(None) => {
                write_json(&self.record.trustee_partials(trustee), &answer)?;
                self.accepted.insert(trustee, answer);
                self.combine_if_ready()?;
                Ok(Intook::Accepted)
            }
        }
    }

    /// Writes `results.json` once `t` verified answers are stored and it is not written yet (also on open, for
    /// a service killed between storing the `t`-th answer and writing the results).
    pub fn combine_if_ready(&mut self) -> Result<Option<&ResultsHead>> {
        if self.results.is_none() && self.accepted.len() >= self.public.threshold() as usize {
            let (results, rejected) = combine_record(&self.record)?;
            if let Some(r) = rejected.first() {
                // Every stored answer was verified; one set aside now means the record changed under us.
                return Err(RecordError::Invalid(format!("a stored answer no longer combines: {r}")));
            }
            self.results = Some(head(&results, hash_file(&self.record.results())?));
        }
        Ok(self.results.as_ref())
    }

    pub fn status(&self) -> DecryptionStatus {
        DecryptionStatus {
            election_id: self.election_id.clone(),
            request_hash: self.request_hash,
            trustees: self.public.trustees(),
            threshold: self.public.threshold(),
            accepted: self.accepted.keys().copied().collect(),
            refused: self.refused,
            last_refusal: self.last_refusal.clone(),
            results: self.results.clone(),
            verification: None,
        }
    }
}

/// The same answer: the same request and the same partial decryptions. The partials of a share are
/// deterministic but each run of `urna trustee decrypt` proves them with fresh randomness, so a trustee who
/// runs it again (a lost response, a retry) sends the same partials under another valid proof: that is the
/// answer already stored, not a conflicting one. The first stored proof stands.
fn same_partials(a: &TrusteePartials, b: &TrusteePartials) -> bool {
    let values = |p: &TrusteePartials| serde_json::to_value(&p.partials).ok().map(|v| v["values"].clone());
    a.request_hash == b.request_hash && values(a).is_some() && values(a) == values(b)
}

fn head(results: &ResultsFile, digest: [u8; 32]) -> ResultsHead {
    ResultsHead {
        digest,
        trustees_used: results.trustees.clone(),
        ballots: results.totals.iter().map(|t| t.ballots).sum(),
    }
}
