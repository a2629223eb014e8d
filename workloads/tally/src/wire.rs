//! The HTTP API's JSON bodies, shared by the server and [`crate::client::TallyClient`].

use serde::{Deserialize, Serialize};
use urna_ballot::EncryptedContest;

use crate::record::{LogRecord, Modality};
use crate::totals::ContestTotals;

/// `POST /v1/contests` body.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SubmitRequest {
    pub items: Vec<SubmitItem>,
}

/// One contest of one anonymous ballot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SubmitItem {
    /// The ballot's AnonID, 64 hex digits.
    pub anon_id: String,
    /// The district whose ballot this contest comes from.
    pub ballot_style: String,
    pub contest: EncryptedContest,
    /// When given, must be the shard's election (proofs bind it anyway; this gives a clearer rejection).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub election_id: Option<String>,
    /// When given, must be the shard's modality.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modality: Option<Modality>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ItemStatus {
    /// Verified and durably appended at `sequence`.
    Accepted,
    /// Already recorded, identically, at `sequence` (the original acknowledgement).
    Duplicate,
    /// Not recorded; `reason` says why.
    Rejected,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ItemResult {
    pub status: ItemStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sequence: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// `POST /v1/contests` response: one result per item, in request order.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SubmitResponse {
    pub items: Vec<ItemResult>,
}

/// `GET /v1/status` and the log head: defined in `urna-status`, which the operator reads them through.
pub use urna_status::tally::{LogHead, ShardStatus};

/// The totals record: `GET /v1/totals` and `POST /v1/seal`. Once `sealed`, it is final and stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TotalsRecord {
    pub shard: String,
    pub election_id: String,
    #[serde(with = "hex::serde")]
    pub manifest_hash: [u8; 32],
    #[serde(with = "hex::serde")]
    pub public_key_fingerprint: [u8; 32],
    pub districts: Vec<String>,
    pub modality: Modality,
    pub sealed: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed_at: Option<String>,
    pub log_head: LogHead,
    #[serde(with = "hex::serde")]
    pub totals_digest: [u8; 32],
    pub contests: Vec<ContestTotals>,
}

/// Most records per `GET /v1/records` page.
pub const MAX_RECORDS_PAGE: usize = 1000;

/// `GET /v1/records`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecordsPage {
    pub records: Vec<LogRecord>,
    /// The `from` of the next page, when there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<u64>,
}

/// Every error response: `{"error": {"code": "...", "message": "..."}}`, the workloads' one error body. The
/// tally's codes: `malformed`, `too_large`, `election_not_open` (before the window opens), `sealed` (sealed,
/// or the window closed), `not_sealed`, `unavailable`, `not_found`.
pub use urna_status::error::{ErrorBody, ErrorDetail};
