use thiserror::Error;

/// Errors of the ballot layer. Manifest errors carry the path of the offending field
/// (`contests[2].coalitions[0].parties[1]`), ballot errors the contest they concern.
#[derive(Debug, Error)]
pub enum BallotError {
    #[error("{path}: {reason}")]
    InvalidManifest { path: String, reason: String },

    #[error("contest {contest}: {reason}")]
    InvalidSelection { contest: String, reason: String },

    #[error("contest {contest}: {reason}")]
    InvalidBallot { contest: String, reason: String },

    #[error("contest {contest}: tally does not decode: {reason}")]
    InvalidTally { contest: String, reason: String },

    #[error(transparent)]
    Crypto(#[from] urna_crypto::CryptoError),
}

pub type Result<T, E = BallotError> = std::result::Result<T, E>;

pub(crate) fn manifest_error(path: impl Into<String>, reason: impl Into<String>) -> BallotError {
    BallotError::InvalidManifest { path: path.into(), reason: reason.into() }
}
