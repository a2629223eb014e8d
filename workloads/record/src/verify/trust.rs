//! Pinned keys (`urna verify record DIR --trust FILE`). A record carries its own keys: the threshold key, the
//! audit log's checkpoint key and the vote services' voting-right keys. Checked alone, a record proves only
//! that it is consistent with those keys; a record rebuilt and re-signed under entirely new keys would be just
//! as consistent. A trust file names the keys the election published before it opened (its fingerprints,
//! `urna record fingerprints`), and the verifier then refuses a record whose keys differ from them.
//!
//! ```json
//! {"format": "urna-trust/1", "electionId": "...", "manifestHash": "<hex>",
//!  "thresholdKey": "<hex: ThresholdPublicKey fingerprint, docs/protocol.md §6>",
//!  "auditLog": {"origin": "...", "publicKey": "<hex Ed25519>"},
//!  "votingRightKeys": [{"modality": "remote", "fingerprint": "<hex: SHA-256 of the DER SPKI>"}, ...],
//!  "witnesses": {"quorum": 2, "witnesses": [{"name": "witness.example.org", "publicKey": "<hex Ed25519>"}, ...]}}
//! ```
//!
//! `witnesses` is optional: with it, the log's closing checkpoint must carry valid cosignatures of at least
//! `quorum` of the listed witnesses (`urna witness`), each of which checked that it extends every checkpoint
//! it cosigned before. Without it the record shows one signed history, but nobody outside vouched that the
//! log showed everyone the same one.

use serde::{Deserialize, Serialize};
use urna_audit::Note;
use urna_audit::witness::WitnessPolicy;
use urna_crypto::blind::BlindVerifyingKey;
use urna_crypto::threshold::ThresholdPublicKey;
use urna_tally::Modality;

use super::context::Context;
use super::{Checked, Summary, VerifyFailure};
use crate::layout::RecordDir;

/// The `format` of a trust file.
pub const TRUST_FORMAT: &str = "urna-trust/1";

/// The keys an election published, by fingerprint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TrustFile {
    pub format: String,
    pub election_id: String,
    #[serde(with = "hex::serde")]
    pub manifest_hash: [u8; 32],
    /// Fingerprint of the threshold public key (`H("threshold-public-key", ...)`).
    #[serde(with = "hex::serde")]
    pub threshold_key: [u8; 32],
    pub audit_log: TrustedLogKey,
    /// Every voting-right key, with the modality it signs for; a record must use exactly these.
    pub voting_right_keys: Vec<TrustedRightKey>,
    /// The witnesses whose cosignatures of the closing checkpoint are required, and how many.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub witnesses: Option<WitnessPolicy>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TrustedLogKey {
    pub origin: String,
    #[serde(with = "hex::serde")]
    pub public_key: [u8; 32],
}

impl TrustedLogKey {
    /// The log's signed-note verifier key (`<origin>+<key id>+<base64 key>`), as `urna vote --audit-log-key`
    /// takes it and the voter app checks checkpoints with it.
    pub fn verifier_key(&self) -> String {
        urna_audit::checkpoint::verifier_key(&self.origin, &self.public_key)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TrustedRightKey {
    pub modality: Modality,
    #[serde(with = "hex::serde")]
    pub fingerprint: [u8; 32],
}

fn fail(detail: String) -> VerifyFailure {
    VerifyFailure::new("trust", detail)
}

fn short(bytes: &[u8; 32]) -> String {
    hex::encode(&bytes[..8])
}

impl TrustFile {
    /// Reads and checks a trust file's JSON.
    pub fn from_json(text: &str) -> Result<Self, VerifyFailure> {
        let trust: Self = serde_json::from_str(text).map_err(|e| fail(format!("the trust file: {e}")))?;
        if trust.format != TRUST_FORMAT {
            return Err(fail(format!("the trust file's format is {:?}, expected {TRUST_FORMAT:?}", trust.format)));
        }
        Ok(trust)
    }

    /// The trust file of an election with these keys: the one rule for what is pinned and how each key is
    /// named, followed by `urna record fingerprints` (the keys of a record) and by the operator (the keys in
    /// the cluster, published as the Election's `status.keyFingerprints`). A voting-right key is named once
    /// per modality it signs for, however many vote services (partitions) hold it.
    pub fn from_keys<'a>(
        election_id: &str,
        manifest_hash: [u8; 32],
        threshold: &ThresholdPublicKey,
        audit_log: TrustedLogKey,
        rights: impl IntoIterator<Item = (Modality, &'a BlindVerifyingKey)>,
    ) -> Self {
        let mut keys: Vec<TrustedRightKey> = Vec::new();
        for (modality, key) in rights {
            let k = TrustedRightKey { modality, fingerprint: key.fingerprint() };
            if !keys.contains(&k) {
                keys.push(k);
            }
        }
        Self {
            format: TRUST_FORMAT.into(),
            election_id: election_id.to_owned(),
            manifest_hash,
            threshold_key: threshold.fingerprint(),
            audit_log,
            voting_right_keys: keys,
            witnesses: None,
        }
    }

    fn of(ctx: &Context) -> Self {
        let log = TrustedLogKey { origin: ctx.audit_key.origin.clone(), public_key: ctx.audit_key.public_key };
        Self::from_keys(
            &ctx.index.election_id,
            ctx.index.manifest_hash,
            &ctx.public,
            log,
            ctx.services.iter().map(|s| (s.modality, &s.blind_key)),
        )
    }

    /// Compares the record's keys with these, naming the first that differs.
    pub(crate) fn check(&self, ctx: &Context) -> Checked<()> {
        let found = Self::of(ctx);
        if found.election_id != self.election_id {
            return Err(fail(format!(
                "the record is of election {:?}, the trust file of {:?}",
                found.election_id, self.election_id
            )));
        }
        if found.manifest_hash != self.manifest_hash {
            return Err(fail(format!(
                "the manifest hash {} differs from the trusted {}",
                short(&found.manifest_hash),
                short(&self.manifest_hash)
            )));
        }
        if found.threshold_key != self.threshold_key {
            return Err(fail(format!(
                "the threshold key {} differs from the trusted {}",
                short(&found.threshold_key),
                short(&self.threshold_key)
            )));
        }
        if found.audit_log != self.audit_log {
            return Err(fail(format!(
                "the audit log key ({} {}) differs from the trusted one ({} {})",
                found.audit_log.origin,
                short(&found.audit_log.public_key),
                self.audit_log.origin,
                short(&self.audit_log.public_key)
            )));
        }
        if let Some(k) = found.voting_right_keys.iter().find(|k| !self.voting_right_keys.contains(k)) {
            return Err(fail(format!(
                "the {} voting-right key {} is not a trusted one",
                k.modality,
                short(&k.fingerprint)
            )));
        }
        Ok(())
    }
}

/// With a witness policy, the closing checkpoint (the last of the record's checkpoints) must carry the
/// quorum's cosignatures. Runs after the audit log's own check, so the note's log signature already holds.
pub(crate) fn check_witnesses(policy: &WitnessPolicy, dir: &RecordDir, summary: &mut Summary) -> Checked<()> {
    let rows: Vec<crate::model::CheckpointRow> =
        crate::files::read_jsonl(&dir.audit_checkpoints()).map_err(|e| fail(e.to_string()))?;
    let last = rows.last().ok_or_else(|| fail("the record holds no checkpoint for witnesses to cosign".into()))?;
    let note = Note::parse(&last.note).map_err(|e| fail(format!("checkpoint {}: {e}", last.seq)))?;
    let signed = policy.check(&note).map_err(|e| fail(format!("checkpoint {}: {e}", last.seq)))?;
    summary.checks.push(format!(
        "witnessed: the closing checkpoint is cosigned by {} of {} trusted witnesses ({})",
        signed.len(),
        policy.witnesses.len(),
        signed.join(", ")
    ));
    Ok(())
}

/// The fingerprints of the keys of the record in `dir` (after the record's own key checks: format, manifest,
/// threshold key against its ceremony transcript), as a trust file.
pub fn fingerprints(dir: &RecordDir) -> Result<TrustFile, VerifyFailure> {
    let ctx = super::context::load(dir, &mut Summary::default())?;
    Ok(TrustFile::of(&ctx))
}
