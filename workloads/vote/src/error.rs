//! Errors: [`VoteError`] for the library's own failures, [`ApiError`] for what an HTTP client is told
//! (`{"error": {"code", "message", "field"?}}`), [`ClientError`] for the simulated voter.
//!
//! Error messages follow the crate rule (lib.rs): nothing on the rights path names a voter, nothing on the
//! ballot path names anything but fields of the submitted package.

use axum::response::{IntoResponse, Response};
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

/// An error as the HTTP API reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub detail: ErrorDetail,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &str, message: impl Into<String>) -> Self {
        Self {
            status,
            detail: ErrorDetail { code: code.into(), message: message.into(), field: None, partition: None },
        }
    }

    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.detail.field = Some(field.into());
        self
    }

    pub fn code(&self) -> &str {
        &self.detail.code
    }

    pub fn malformed(field: impl Into<String>, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "malformed", message).with_field(field)
    }

    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }

    /// Before the modality's `opensAt`; the message names the opening instant.
    pub fn not_open(opens_at: jiff::Timestamp) -> Self {
        Self::new(
            StatusCode::FORBIDDEN,
            "election_not_open",
            format!("voting has not opened yet; it opens at {opens_at}"),
        )
    }

    pub fn closed() -> Self {
        Self::new(StatusCode::FORBIDDEN, "election_closed", "voting has closed")
    }

    pub fn wrong_partition(partition: u32) -> Self {
        let mut e = Self::new(
            StatusCode::MISDIRECTED_REQUEST,
            "wrong_partition",
            format!("this replica does not serve the request's partition; send it to partition {partition}"),
        );
        e.detail.partition = Some(partition);
        e
    }

    /// Internal failures: the message is generic (details go to the log, without identities).
    pub fn internal() -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error; retry later")
    }

    pub fn unavailable(message: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", message)
    }
}

impl From<VoteError> for ApiError {
    fn from(e: VoteError) -> Self {
        // VoteError texts come from stores and I/O: log them, do not hand them out.
        tracing::error!(error = %e, "internal error");
        Self::internal()
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let retry = self.status == StatusCode::SERVICE_UNAVAILABLE;
        let mut response = urna_service::error_response(self.status, ErrorBody { error: self.detail });
        if retry {
            // Every 503 of this service is retryable (an upstream down, a drain, a store not readable yet):
            // say when.
            response
                .headers_mut()
                .insert(http::header::RETRY_AFTER, http::HeaderValue::from(crate::drain::RETRY_AFTER_SECONDS));
        }
        response
    }
}

/// Errors of [`crate::client`], the simulated voter.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("HTTP {status}: {code}: {message}")]
    Api { status: u16, code: String, message: String, field: Option<String>, partition: Option<u32> },
    #[error("transport: {0}")]
    Transport(String),
    #[error("unexpected response: {0}")]
    Protocol(String),
    #[error(transparent)]
    Crypto(#[from] urna_crypto::CryptoError),
    #[error(transparent)]
    Ballot(#[from] urna_ballot::BallotError),
    #[error("receipt does not match the ballot: {0}")]
    BadReceipt(String),
}

impl ClientError {
    /// The API error code, when the server answered with one.
    pub fn code(&self) -> Option<&str> {
        match self {
            Self::Api { code, .. } => Some(code),
            _ => None,
        }
    }
}
