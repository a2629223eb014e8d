//! One error type for the crate. Every decoding error names the field it was decoding, so that a caller can
//! tell a voter, an operator or an auditor exactly which part of an input was wrong.

use thiserror::Error;

pub type Result<T, E = CryptoError> = std::result::Result<T, E>;

#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum CryptoError {
    /// An encoded value could not be decoded (bad hex, bad length, non-canonical form, wrong JSON shape).
    #[error("{field}: malformed encoding: {reason}")]
    Malformed { field: String, reason: String },

    /// A decoded value lies outside the range its type requires (for example a ciphertext not in `Z*_{n²}`).
    #[error("{field}: out of range: {reason}")]
    OutOfRange { field: String, reason: String },

    /// A key is unusable (too small without the insecure test setting, even modulus, bad exponent...).
    #[error("{field}: invalid key: {reason}")]
    InvalidKey { field: String, reason: String },

    /// A proof did not verify. `proof` names the proof type, `reason` the check that failed.
    #[error("{proof}: proof rejected: {reason}")]
    ProofRejected { proof: &'static str, reason: String },

    /// A signature did not verify.
    #[error("signature rejected: {0}")]
    SignatureRejected(String),

    /// The inputs of an operation do not fit together (different keys, wrong number of shares, ...).
    #[error("{0}")]
    Mismatch(String),

    /// A share file could not be opened: wrong passphrase or tampered contents.
    #[error("share file: cannot decrypt (wrong passphrase or modified file)")]
    ShareFileDecryption,

    /// A value cannot be encoded (a plaintext too large for the key, a parameter out of its domain).
    #[error("{0}")]
    InvalidParameter(String),
}

impl CryptoError {
    pub(crate) fn malformed(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::Malformed { field: field.into(), reason: reason.into() }
    }

    pub(crate) fn out_of_range(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::OutOfRange { field: field.into(), reason: reason.into() }
    }

    pub(crate) fn invalid_key(field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self::InvalidKey { field: field.into(), reason: reason.into() }
    }

    pub(crate) fn rejected(proof: &'static str, reason: impl Into<String>) -> Self {
        Self::ProofRejected { proof, reason: reason.into() }
    }
}
