//! The decryption service's `GET /v1/status` (`urna decryption serve`): how far the trustees' answers have
//! come, and the results once `t` valid partials combined.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DecryptionStatus {
    pub election_id: String,
    /// SHA-256 of the record's `decryption/request.json`: what every partial must answer.
    #[serde(with = "hex::serde")]
    pub request_hash: [u8; 32],
    /// Trustees of the key, and how many must answer.
    pub trustees: u32,
    pub threshold: u32,
    /// Trustees whose partials were verified and stored, ascending.
    pub accepted: Vec<u32>,
    /// Submissions refused since start (bad proof, unknown trustee, another request, conflicting answer).
    pub refused: u64,
    /// The latest refusal since start: the trustee (when the answer named one), the code and the reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_refusal: Option<String>,
    /// Set once `t` valid partials combined and `results.json` was written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub results: Option<ResultsHead>,
    /// The finished record's verification (`urna verify record`, run by the service once the results are
    /// written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub verification: Option<RecordVerification>,
}

/// Where the verification of the finished record stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "state")]
pub enum RecordVerification {
    Running,
    /// Every check passed; the record holds `ballots` ballots.
    Valid {
        ballots: u64,
    },
    /// The first failure, as `urna verify record` names it.
    Invalid {
        reason: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResultsHead {
    /// SHA-256 of `results.json` as written, hex.
    #[serde(with = "hex::serde")]
    pub digest: [u8; 32],
    /// Trustees whose partials were combined.
    pub trustees_used: Vec<u32>,
    /// Ballots counted over every contest total (the sum of each contest's ballots).
    pub ballots: u64,
}
