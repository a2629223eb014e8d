//! Errors: [`VoteError`] for the library's own failures, [`ApiError`] for what an HTTP client is told
//! (`{"error": {"code", "message", "field"?}}`). The client's are its own (`crate::client::ClientError`).
//!
//! Error messages follow the crate rule (lib.rs): nothing on the rights path names a voter, nothing on the
//! ballot path names anything but fields of the submitted package.

use http::StatusCode;

#[derive(Debug, thiserror::Error)]
pub enum VoteError {
    #[error("store: {0}")]
    Store(#[from] redb::Error),
    #[error("store record is corrupt: {0}")]
    Corrupt(String),
    #[error("{0}")]
    Config(String),
    #[error("I/O: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Census(#[from] crate::census::CensusErrors),
    #[error(transparent)]
    Crypto(#[from] urna_crypto::CryptoError),
    #[error(transparent)]
    Ballot(#[from] urna_ballot::BallotError),
}

macro_rules! store_error_from {
    ($($t:ty),*) => {$(
        impl From<$t> for VoteError {
            fn from(e: $t) -> Self {
                Self::Store(e.into())
            }
        }
    )*};
}
store_error_from!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::SetDurabilityError
);

/// The body of every error response, shared with the other workloads.
pub use urna_status::error::{ErrorBody, ErrorDetail};

/// An error as the HTTP API reports it: the workloads' one error type ([`urna_service::ApiError`]); every 503
/// of this service also carries `Retry-After` (added once, in the server's request layer).
pub use urna_service::ApiError;

/// Before the modality's `opensAt`; the message names the opening instant.
pub fn not_open(opens_at: jiff::Timestamp) -> ApiError {
    ApiError::new(
        StatusCode::FORBIDDEN,
        "election_not_open",
        format!("voting has not opened yet; it opens at {opens_at}"),
    )
}

pub fn closed() -> ApiError {
    ApiError::new(StatusCode::FORBIDDEN, "election_closed", "voting has closed")
}

pub fn wrong_partition(partition: u32) -> ApiError {
    let mut e = ApiError::new(
        StatusCode::MISDIRECTED_REQUEST,
        "wrong_partition",
        format!("this replica does not serve the request's partition; send it to partition {partition}"),
    );
    e.detail.partition = Some(partition);
    e
}

impl From<VoteError> for ApiError {
    fn from(e: VoteError) -> Self {
        // VoteError texts come from stores and I/O: log them, do not hand them out.
        tracing::error!(error = %e, "internal error");
        Self::internal()
    }
}
