//! The audit log's `GET /v1/status` (`urna audit`): the operator's `auditLogHead`.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditStatus {
    /// The log's origin (checkpoint note name).
    pub origin: String,
    /// The log's Ed25519 public key, hex.
    #[serde(with = "hex::serde")]
    pub public_key: [u8; 32],
    /// Entries committed.
    pub tree_size: u64,
    /// Merkle root over those entries, hex (RFC 6962).
    #[serde(with = "hex::serde")]
    pub root: [u8; 32],
    /// The latest signed checkpoint, once there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<CheckpointHead>,
    /// Whether the closing checkpoint is written (`POST /v1/close`): the log takes no more entries.
    pub closed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckpointHead {
    pub size: u64,
    #[serde(with = "hex::serde")]
    pub root: [u8; 32],
    /// When the log signed it, RFC 3339 (UTC).
    pub signed_at: String,
    /// Set on the closing checkpoint only.
    pub closing: bool,
    pub cosignatures: u32,
}
