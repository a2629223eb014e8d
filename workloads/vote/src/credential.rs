//! One-time voter credentials, stored only as Argon2id hashes (PHC strings, `$argon2id$v=19$m=..,t=..,p=..$salt$hash`).
//!
//! A credential is a random secret the registration operator hands the voter; it authorises obtaining the
//! voter's single voting right. It stays usable after the right is issued only to fetch that same blind
//! signature again (an idempotent retry), so "one-time" means one right, not one login: a lost session or a
//! network failure after signing must not cost the voter their vote.
//!
//! Verification takes the cost parameters from the stored hash, so a census may be produced with any
//! Argon2id parameters; [`hash_credential`] uses the OWASP-recommended defaults (m = 19 MiB, t = 2, p = 1).
//! Credentials should carry ≥ 128 bits of entropy ([`generate_credential`]), which is what protects them if
//! a census file leaks; the hash cost only slows down guessing of weaker ones.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand_core::CryptoRng;

/// Why a stored credential hash is unusable (census validation).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialHashError {
    #[error("not a PHC string: {0}")]
    NotPhc(String),
    #[error("algorithm {0:?} is not argon2id")]
    WrongAlgorithm(String),
    #[error("bad Argon2 parameters: {0}")]
    Params(String),
}

/// Checks that `phc` is an Argon2id PHC string with usable parameters, salt and hash.
pub fn validate_hash(phc: &str) -> Result<(), CredentialHashError> {
    let hash = PasswordHash::new(phc).map_err(|e| CredentialHashError::NotPhc(e.to_string()))?;
    if hash.algorithm.as_str() != "argon2id" {
        return Err(CredentialHashError::WrongAlgorithm(hash.algorithm.as_str().to_owned()));
    }
    Params::try_from(&hash).map_err(|e| CredentialHashError::Params(e.to_string()))?;
    if hash.salt.is_none() || hash.hash.is_none() {
        return Err(CredentialHashError::NotPhc("salt and hash are required".into()));
    }
    Ok(())
}

/// Whether `credential` matches the stored hash. A malformed stored hash never matches (the census import
/// refuses those anyway). Constant-time comparison is the argon2 crate's.
pub fn verify(credential: &str, phc: &str) -> bool {
    let Ok(hash) = PasswordHash::new(phc) else {
        return false;
    };
    Argon2::default().verify_password(credential.as_bytes(), &hash).is_ok()
}

/// Argon2id hash of `credential` with a fresh 16-byte salt and `params` (None: the defaults).
pub fn hash_credential<R: CryptoRng + ?Sized>(
    credential: &str,
    params: Option<Params>,
    rng: &mut R,
) -> Result<String, CredentialHashError> {
    let mut salt = [0u8; 16];
    rng.fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| CredentialHashError::NotPhc(e.to_string()))?;
    let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params.unwrap_or_default());
    argon
        .hash_password(credential.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| CredentialHashError::Params(e.to_string()))
}

/// Cheap Argon2id parameters for tests and local simulations (m = 64 KiB, t = 1). Never for a real census.
pub fn insecure_fast_params() -> Params {
    // Constant, valid parameters: `Params::new` only fails outside Argon2's ranges.
    Params::new(64, 1, 1, None).unwrap_or_default()
}

/// A fresh credential: 20 random bytes (160 bits) as lowercase hex.
pub fn generate_credential<R: CryptoRng + ?Sized>(rng: &mut R) -> String {
    let mut bytes = [0u8; 20];
    rng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn hash_then_verify() {
        let mut rng = urna_crypto::os_rng();
        let h = hash_credential("secret", Some(insecure_fast_params()), &mut rng).unwrap();
        validate_hash(&h).unwrap();
        assert!(verify("secret", &h));
        assert!(!verify("Secret", &h));
        assert!(!verify("secret", "garbage"));
    }

    #[test]
    fn refuses_other_algorithms() {
        let argon2i = "$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$8wF8iEB1MUhBBDzWdzGL1W3lfpASpkFbZ+P4SIuTw5o";
        assert!(matches!(validate_hash(argon2i), Err(CredentialHashError::WrongAlgorithm(_))));
        assert!(validate_hash("plain").is_err());
    }
}
