//! The library's error type. Reconcile errors are reported as Events and conditions and retried with backoff;
//! none of them stops a controller.

use thiserror::Error;

#[derive(Debug, Error)]
pub enum Error {
    /// The resource breaks a rule the CRD schema cannot express (or the apiserver did not enforce).
    #[error("invalid spec: {0}")]
    InvalidSpec(String),

    #[error("kubernetes api: {0}")]
    Kube(#[from] kube::Error),

    #[error("finalizer: {0}")]
    Finalizer(String),

    /// Deletion of an Election that still holds (or may hold) ballots was refused.
    #[error("deletion refused: {0}")]
    DeletionRefused(String),

    #[error("serialization: {0}")]
    Serialization(#[from] serde_json::Error),

    #[error("yaml {path}: {source}")]
    Yaml { path: String, source: serde_yaml::Error },

    #[error("io {path}: {source}")]
    Io { path: String, source: std::io::Error },

    #[error(transparent)]
    Certificate(#[from] urna_pki::PkiError),

    #[error("missing field: {0}")]
    MissingField(&'static str),

    /// The OS random number generator failed (tokens cannot be generated).
    #[error("random number generator: {0}")]
    Rng(String),
}

impl Error {
    /// A short PascalCase reason for Events and condition reasons.
    pub fn reason(&self) -> &'static str {
        match self {
            Error::InvalidSpec(_) => "InvalidSpec",
            Error::Kube(_) => "ApiError",
            Error::Finalizer(_) => "FinalizerError",
            Error::DeletionRefused(_) => "DeletionRefused",
            Error::Serialization(_) => "SerializationError",
            Error::Yaml { .. } => "YamlError",
            Error::Io { .. } => "IoError",
            Error::Certificate(_) => "CertificateError",
            Error::MissingField(_) => "MissingField",
            Error::Rng(_) => "RngError",
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
