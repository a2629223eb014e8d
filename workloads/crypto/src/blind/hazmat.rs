//! Deterministic entry points for the RFC 9474 Appendix A test vectors. **Not for production use**, and hidden
//! from the documentation: the production operations ([`BlindVerifyingKey::prepare`],
//! [`BlindVerifyingKey::blind`], [`BlindSigningKey::generate`]) always draw the message prefix, the PSS salt,
//! the blinding factor and the primes from the caller's CSPRNG. Fixing any of them here is what the vectors
//! need and what a real client must never do (a reused blinding factor links voters to their signatures).

use crypto_bigint::{BoxedUint, Odd};

use super::keys::{BlindSigningKey, BlindVerifyingKey};
use super::params::PREFIX_LEN;
use super::protocol::{BLINDING_SECRET_FIELD, BlindedMessage, BlindingSecret, PreparedMessage, prepare_with_prefix};
use crate::error::{CryptoError, Result};

/// A signing key from its primes and public exponent (big-endian bytes), as the vectors give them.
pub fn signing_key_from_primes(p: &[u8], q: &[u8], e: &[u8]) -> Result<BlindSigningKey> {
    BlindSigningKey::from_primes(p, q, e)
}

/// `PrepareRandomize` with a fixed prefix.
pub fn prepare_with_fixed_prefix(prefix: &[u8; PREFIX_LEN], msg: &[u8]) -> PreparedMessage {
    prepare_with_prefix(prefix, msg)
}

/// EMSA-PSS-ENCODE with a fixed salt (the vectors' `encoded_msg`).
pub fn encode_with_fixed_salt(key: &BlindVerifyingKey, msg: &PreparedMessage, salt: &[u8]) -> Result<Vec<u8>> {
    key.encode_message_bytes(msg, salt)
}

/// `Blind` with a fixed salt and blinding inverse `inv` (`modulus_len` big-endian bytes, as in the vectors).
pub fn blind_with_fixed_randomness(
    key: &BlindVerifyingKey,
    msg: &PreparedMessage,
    salt: &[u8],
    inv: &[u8],
) -> Result<(BlindedMessage, BlindingSecret)> {
    let inv = BlindingSecret::from_bytes(key, inv)?;
    let n: &Odd<BoxedUint> = &key.n;
    let r = Option::<BoxedUint>::from(inv.inv.invert_odd_mod(n))
        .ok_or_else(|| CryptoError::out_of_range(BLINDING_SECRET_FIELD, "not a unit modulo n"))?;
    key.blind_with(msg, salt, r, inv.inv.clone())
}

/// `Blind` with a fixed salt and blinding factor `r` (`modulus_len` big-endian bytes, as in the partially
/// blind draft's vectors).
pub(crate) fn blind_with_fixed_factor(
    key: &BlindVerifyingKey,
    msg: &PreparedMessage,
    salt: &[u8],
    r: &[u8],
) -> Result<(BlindedMessage, BlindingSecret)> {
    let r = key.os2ip(BLINDING_SECRET_FIELD, r)?;
    let n: &Odd<BoxedUint> = &key.n;
    let inv = Option::<BoxedUint>::from(r.invert_odd_mod(n))
        .ok_or_else(|| CryptoError::out_of_range(BLINDING_SECRET_FIELD, "not a unit modulo n"))?;
    key.blind_with(msg, salt, r, inv)
}
