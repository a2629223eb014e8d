//! What each file of the record holds (docs/record.md, field by field).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use urna_audit::LogEntry;
use urna_ballot::ChoiceCount;
use urna_crypto::blind::BlindVerifyingKey;
use urna_crypto::paillier::{Ciphertext, Plaintext};
use urna_crypto::threshold::{DecryptionContext, PartialDecryptions};
use urna_tally::Modality;

/// `record.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RecordIndex {
    /// [`crate::FORMAT`].
    pub format: String,
    pub election_id: String,
    #[serde(with = "hex::serde")]
    pub manifest_hash: [u8; 32],
    /// SHA-256 fingerprint of the Paillier public key (as the shards bind it).
    #[serde(with = "hex::serde")]
    pub public_key_fingerprint: [u8; 32],
    /// Every tally shard, each with a directory under `shards/`.
    pub shards: Vec<String>,
    /// RFC 3339, when the record was exported.
    pub exported_at: String,
}

/// One entry of `vote-services.json`: a vote service (one per modality and partition) at close.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct VoteServiceReport {
    pub modality: Modality,
    pub partition: u32,
    pub partitions: u32,
    /// The master key of its partially blind voting rights (hex of the DER SubjectPublicKeyInfo): a right for
    /// a ballot of style `s` verifies under the key derived from it for `(electionId, modality, s)`
    /// (docs/protocol.md §5.3).
    pub blind_key: BlindVerifyingKey,
    pub census: u64,
    pub rights_issued: u64,
    /// Rights issued per ballot style; they add up to `rights_issued`.
    pub rights_by_style: BTreeMap<String, u64>,
    pub ballots_recorded: u64,
    pub closed: bool,
}

/// `keys/audit-log.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AuditLogKey {
    /// The checkpoint origin (the name the log signs under).
    pub origin: String,
    /// Ed25519 public key, hex.
    #[serde(with = "hex::serde")]
    pub public_key: [u8; 32],
}

/// One line of `audit/entries.jsonl`, as the audit log serves it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditEntryRow {
    pub index: u64,
    /// `SHA-256(0x00 || encoded)`, hex.
    pub leaf_hash: String,
    /// The entry's bytes, hex (docs/record.md "Entry encoding").
    pub encoded: String,
    pub entry: LogEntry,
}

/// One line of `audit/checkpoints.jsonl`: a checkpoint in issue order, as its full signed note.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointRow {
    pub seq: u64,
    pub note: String,
}

/// One item of `decryption/request.json`: one sealed total of one shard.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DecryptionItem {
    pub shard: String,
    pub modality: Modality,
    pub ballot_style: String,
    pub contest_id: String,
    /// Ballots folded into the total (its counter slots must equal it).
    pub ballots: u64,
    /// Subject `tally/<shard>/<ballotStyle>/<contestId>`.
    pub context: DecryptionContext,
    /// One per layout position, as sealed.
    pub ciphertexts: Vec<Ciphertext>,
}

/// `decryption/trustee-<i>.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TrusteePartials {
    /// SHA-256 of `decryption/request.json` as the trustee read it: a trustee decrypts exactly what it saw.
    #[serde(with = "hex::serde")]
    pub request_hash: [u8; 32],
    /// `{trustee, values, proof}`: `values[k][j]` the partial decryption of ciphertext `j` of request item `k`,
    /// and one batched proof for all of them (docs/protocol.md §6).
    pub partials: PartialDecryptions,
}

/// `results.json`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ResultsFile {
    pub election_id: String,
    #[serde(with = "hex::serde")]
    pub manifest_hash: [u8; 32],
    /// The trustees whose partials were combined.
    pub trustees: Vec<u32>,
    /// Per contest × district × modality (one per decryption request item, in its order).
    pub results: Vec<TallyResult>,
    /// Per contest, over every district and modality.
    pub totals: Vec<ContestTotal>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TallyResult {
    pub contest_id: String,
    pub district: String,
    pub modality: Modality,
    pub shard: String,
    pub ballots: u64,
    pub counts: Vec<ChoiceCount>,
    /// The combined plaintexts, per layout position.
    pub plaintexts: Vec<Plaintext>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContestTotal {
    pub contest_id: String,
    pub ballots: u64,
    pub counts: Vec<ChoiceCount>,
}
