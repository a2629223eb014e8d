//! One error type for the library. Each variant says which part of the shard failed, so that the binary can
//! tell an operator whether to fix the configuration, restore the data directory or retry.

use thiserror::Error;

pub type Result<T, E = TallyError> = std::result::Result<T, E>;

#[derive(Debug, Error)]
pub enum TallyError {
    /// The shard's configuration does not fit the manifest (unknown district, empty name, ...).
    #[error("configuration: {0}")]
    Config(String),

    /// The embedded store failed (I/O, corruption detected by redb, lock held by another process).
    #[cfg(feature = "server")]
    #[error("storage: {context}: {source}")]
    Storage {
        context: &'static str,
        #[source]
        source: Box<redb::Error>,
    },

    /// A stored value could not be decoded.
    #[error("stored {what} is malformed: {reason}")]
    Corrupt { what: String, reason: String },

    /// Re-deriving the state from the log gave something else than what was stored: the shard refuses to start.
    #[error("the log does not re-derive the stored state: {0}")]
    Inconsistent(String),

    /// The data directory was created for another shard, election, manifest or key.
    #[error("the data directory belongs to another shard: {0}")]
    IdentityMismatch(String),

    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: std::io::Error,
    },

    #[error(transparent)]
    Ballot(#[from] urna_ballot::BallotError),

    #[error(transparent)]
    Crypto(#[from] urna_crypto::CryptoError),

    /// A commit failed earlier; the shard accepts nothing more until it is restarted (and re-derives its state).
    #[error("the shard stopped accepting after a storage failure: {0}")]
    Failed(String),

    /// The HTTP client got an error status or could not reach the shard.
    #[error("{0}")]
    Client(String),
}

impl TallyError {
    pub(crate) fn corrupt(what: impl Into<String>, reason: impl ToString) -> Self {
        Self::Corrupt { what: what.into(), reason: reason.to_string() }
    }
}

/// Maps any redb error (they all convert into `redb::Error`) to [`TallyError::Storage`] with a context.
#[cfg(feature = "server")]
pub(crate) fn storage<E: Into<redb::Error>>(context: &'static str) -> impl FnOnce(E) -> TallyError {
    move |e| TallyError::Storage { context, source: Box::new(e.into()) }
}
