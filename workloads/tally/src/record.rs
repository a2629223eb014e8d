//! What the shard's log stores, and the canonical hashes over it (docs/record.md, "Tally shard log").
//!
//! Every hash is a [`Transcript`] (length-prefixed items, tag `urna/v1/<name>`), so that a verifier in any
//! language recomputes it from the exported records alone:
//!
//! - `contest digest = H("tally/contest", ballotStyle, contestId, |ciphertexts|, ciphertexts…, |used|, used…,
//!   |proofs|, proofs…, writeIn?)`: the identity of a submitted contest (de-duplication compares it);
//! - `genesis = H("tally/genesis", electionId, manifestHash, publicKeyFingerprint, shard)`: the chain's start,
//!   which binds the log to one shard of one election;
//! - `record hash_i = H("tally/record", hash_{i-1}, i, anonId, receivedAt, contest digest_i)`: the log head after
//!   record `i`. A changed, dropped, reordered or inserted record changes every later head.

use serde::{Deserialize, Serialize};
use urna_ballot::EncryptedContest;
use urna_crypto::transcript::Transcript;

use urna_ballot::AnonId;
pub use urna_status::Modality;

/// What a data directory was created for; checked on every start so that a shard never folds ballots of one
/// election, manifest or key into a log of another.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ShardIdentity {
    pub shard: String,
    pub election_id: String,
    #[serde(with = "hex::serde")]
    pub manifest_hash: [u8; 32],
    #[serde(with = "hex::serde")]
    pub public_key_fingerprint: [u8; 32],
    /// Sorted, without repetitions: the ballot styles (district ids) this shard accepts.
    pub districts: Vec<String>,
    pub modality: Modality,
    pub slot_bits: u32,
}

impl ShardIdentity {
    /// The hash chain's starting value.
    pub fn genesis(&self) -> [u8; 32] {
        let mut t = Transcript::new("tally/genesis");
        t.append_str(&self.election_id);
        t.append_bytes(&self.manifest_hash);
        t.append_bytes(&self.public_key_fingerprint);
        t.append_str(&self.shard);
        t.finalize()
    }
}

/// One accepted contest, as stored under its sequence number and exported in the election record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct LogRecord {
    /// 1, 2, 3, … without gaps: the fold order.
    pub sequence: u64,
    /// Lowercase hex.
    pub anon_id: String,
    pub contest_id: String,
    pub ballot_style: String,
    /// Arrival at the shard, RFC 3339 UTC with milliseconds (`2024-06-02T18:00:00.123Z`), hashed as written.
    pub received_at: String,
    pub contest: EncryptedContest,
    /// The log head after this record (see the module documentation).
    #[serde(with = "hex::serde")]
    pub hash: [u8; 32],
}

/// `H("tally/contest", …)`: what de-duplication compares and what the record hash chains.
pub fn contest_digest(ballot_style: &str, contest: &EncryptedContest) -> [u8; 32] {
    let mut t = Transcript::new("tally/contest");
    t.append_str(ballot_style);
    contest.append_to(&mut t);
    t.finalize()
}

/// `H("tally/record", prev, sequence, anonId, receivedAt, contest digest)`.
pub fn record_hash(prev: &[u8; 32], sequence: u64, anon_id: &AnonId, received_at: &str, digest: &[u8; 32]) -> [u8; 32] {
    let mut t = Transcript::new("tally/record");
    t.append_bytes(prev);
    t.append_u64(sequence);
    t.append_bytes(&anon_id.0);
    t.append_str(received_at);
    t.append_bytes(digest);
    t.finalize()
}

/// The canonical arrival-time string: RFC 3339, UTC, milliseconds.
pub fn format_time(ts: jiff::Timestamp) -> String {
    ts.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

impl LogRecord {
    /// Recomputes this record's hash from the previous head; `Err` names what does not match.
    pub fn check(&self, prev: &[u8; 32]) -> Result<[u8; 32], String> {
        if self.contest.contest_id != self.contest_id {
            return Err(format!("record {}: contestId differs from the contest's", self.sequence));
        }
        let anon: AnonId = self.anon_id.parse().map_err(|e| format!("record {}: {e}", self.sequence))?;
        let digest = contest_digest(&self.ballot_style, &self.contest);
        let hash = record_hash(prev, self.sequence, &anon, &self.received_at, &digest);
        if hash != self.hash {
            return Err(format!("record {}: hash does not chain from the previous head", self.sequence));
        }
        Ok(hash)
    }
}
