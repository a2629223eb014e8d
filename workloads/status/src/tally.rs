//! A tally shard's `GET /v1/status` (`urna tally`). The operator copies `accepted`, `rejected`,
//! `logHead.sequence`, `totalsDigest`, `logHead.hash` and `sealed` into the TallyShard's status
//! (`ballotsAccepted`, `ballotsRejected`, `lastSequence`, `totalsDigest`, `logHead`, `sealed`). A shard holds
//! one modality and seals all its contests at once, so these counts are the shard's, not per contest.

use serde::{Deserialize, Serialize};

use crate::Modality;
use crate::window::WindowStatus;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct LogHead {
    /// Sequence of the last record (0 for an empty log).
    pub sequence: u64,
    /// Hash after that record (the genesis hash for an empty log), hex.
    #[serde(with = "hex::serde")]
    pub hash: [u8; 32],
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ShardStatus {
    pub shard: String,
    pub election_id: String,
    #[serde(with = "hex::serde")]
    pub manifest_hash: [u8; 32],
    #[serde(with = "hex::serde")]
    pub public_key_fingerprint: [u8; 32],
    pub districts: Vec<String>,
    pub modality: Modality,
    /// Contests accepted (= log records).
    pub accepted: u64,
    pub rejected: u64,
    pub duplicates: u64,
    pub log_head: LogHead,
    /// Digest of the encrypted totals at the log head (see docs/record.md).
    #[serde(with = "hex::serde")]
    pub totals_digest: [u8; 32],
    pub sealed: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed_at: Option<String>,
    /// The modality's window (`--opens-at`, `--closes-at`) and where the shard stands in it; a sealed shard is
    /// `closed`.
    pub window: WindowStatus,
    /// Set when a commit failed: the shard accepts nothing until restarted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure: Option<String>,
}
