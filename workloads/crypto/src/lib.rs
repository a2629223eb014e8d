//! Urna's cryptographic core.
//!
//! - [`paillier`]: additively homomorphic encryption (PROTOCOL §1), typed keys and ciphertexts, a randomness pool.
//! - [`proofs`]: zero-knowledge proofs over Paillier ciphertexts (PROTOCOL §3) with strong Fiat-Shamir binding and
//!   batch verification.
//! - [`threshold`]: the dealer key ceremony, trustee shares and threshold decryption (PROTOCOL §5).
//! - [`blind`]: RSABSSA blind signatures (RFC 9474), the voting right (PROTOCOL §4).
//! - [`transcript`]: the canonical, length-prefixed encoding every hash in the protocol is computed over.
//!
//! Randomness always comes from a caller-supplied [`rand_core::CryptoRng`]; [`os_rng`] gives the operating
//! system's CSPRNG, which is what production code uses.

pub(crate) mod arith;
pub mod blind;
pub mod error;
pub mod paillier;
pub mod proofs;
pub mod threshold;
pub mod transcript;

pub use error::{CryptoError, Result};

/// The operating system's CSPRNG (`getrandom`), as an infallible [`rand_core::CryptoRng`].
pub fn os_rng() -> rand_core::UnwrapErr<rand::rngs::SysRng> {
    rand_core::UnwrapErr(rand::rngs::SysRng)
}
