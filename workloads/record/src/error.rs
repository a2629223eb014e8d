use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    #[error("{path}: {source}")]
    Io { path: PathBuf, source: std::io::Error },
    #[error("{path}{}: {message}", line.map(|l| format!(" line {l}")).unwrap_or_default())]
    Malformed { path: PathBuf, line: Option<usize>, message: String },
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Crypto(#[from] urna_crypto::CryptoError),
    #[error(transparent)]
    Ballot(#[from] urna_ballot::BallotError),
}

pub type Result<T, E = RecordError> = std::result::Result<T, E>;
