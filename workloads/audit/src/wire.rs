//! The bodies of the log's write API, defined once for the server that reads them and the clients that send
//! them ([`crate::client::AuditClient`]).

use serde::{Deserialize, Serialize};

use crate::entry::LogEntry;

/// The most entries one append request may carry.
pub const MAX_ENTRIES_PER_REQUEST: usize = 1024;

/// The most entries one `GET /v1/entries` returns.
pub const MAX_ENTRIES_PER_READ: u64 = 1000;

/// `POST /v1/entries`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AppendRequest {
    pub entries: Vec<LogEntry>,
}

/// Its answer, sent once every entry is durable: each entry's leaf index and leaf hash (hex), in request
/// order. An entry the log already held answers with its existing index, so a retry appends nothing twice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppendResponse {
    pub indices: Vec<u64>,
    pub leaf_hashes: Vec<String>,
}

/// The error code of an append refused because the log has written its closing checkpoint (HTTP 409).
pub const LOG_CLOSED: &str = "log_closed";

/// `POST /v1/witness/cosign`: a witness's signature over a checkpoint it verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CosignRequest {
    /// The witness's note name.
    pub name: String,
    /// Its Ed25519 public key, hex.
    pub public_key: String,
    /// The checkpoint body it signed, exactly as served in `body` by `GET /v1/checkpoint`.
    pub checkpoint: String,
    /// Ed25519 signature over `checkpoint`, hex.
    pub signature: String,
}
