//! RSA blind signatures, RFC 9474 (RSABSSA), the voting right (PROTOCOL §4).
//!
//! A voter obtains the registrar's signature on a token without the registrar seeing it, then presents
//! (token, signature) anonymously: the registrar can check it signed *a* token but cannot tell whose.
//!
//! ```text
//!   voter                                        signer (BlindSigningKey)
//!   msg' = vk.prepare(msg)          32-byte random prefix || msg
//!   (blinded, secret) = vk.blind(msg')    ── blinded ──▶   blind_sig = sk.blind_sign(blinded)
//!   sig = vk.finalize(msg', blind_sig, secret)  ◀── blind_sig ──
//!   anyone: vk.verify(msg', sig)
//! ```
//!
//! # Construction
//!
//! RSABSSA-SHA384-PSS-Randomized is the default [`Variant`] and the one Urna uses; the other three RFC 9474
//! variants (PSSZERO and/or Deterministic) are available through [`BlindVerifyingKey::with_variant`] so that
//! all four test vectors of RFC 9474 Appendix A run. EMSA-PSS uses SHA-384, MGF1-SHA-384 and a 48-byte salt
//! (none for PSSZERO); `Prepare` puts 32 random bytes in front of the message for the randomized variants.
//! Keys are 3072 bits by default or 4096 ([`BlindKeySize`]), `e = 65537`; smaller sizes exist only with the
//! crate feature `insecure-test-keys`, and without it every decoder refuses moduli below 3072 bits.
//!
//! # Partially blind signatures (the voting right)
//!
//! [`BlindVerifyingKey::derive`] and [`BlindSigningKey::derive`] give the keys of
//! draft-irtf-cfrg-partially-blind-rsa for public metadata `info` (`partially.rs`); the voting right signs with
//! [`voting_right_info`] so that it is bound to its election, modality and ballot style. Such keys must be made
//! of safe primes ([`BlindSigningKey::generate_safe`]).
//!
//! # Side channels
//!
//! The private operation (`RSASP1`, in `BlindSign`) uses the Chinese remainder theorem on `crypto-bigint`,
//! whose Montgomery exponentiation is constant-time in the exponent and the base; the blinding factor's
//! inverse uses constant-time `safegcd`. `BlindSign` checks `s^e = m` before releasing anything, the RFC's
//! countermeasure against fault attacks on CRT. Public operations (verification, `r^e`) may take variable
//! time. Secret integers owned by this module are wiped on drop; `crypto-bigint`'s own Montgomery values are
//! only wiped if that crate's `zeroize` feature is enabled.
//!
//! # Encodings (details in `encoding.rs`)
//!
//! - [`BlindVerifyingKey`]: DER `SubjectPublicKeyInfo` (`rsaEncryption`), exactly one accepted encoding per
//!   key; PEM `PUBLIC KEY`; in JSON the lowercase hex of the DER. The variant is not encoded: it is a
//!   protocol constant and decoders assume the default.
//! - [`BlindSigningKey`]: unencrypted PKCS#8 DER or PEM `PRIVATE KEY` (the key-ceremony file), fully
//!   validated on load. No serde, and `Debug` is redacted.
//! - [`PreparedMessage`], [`BlindedMessage`], [`BlindSignature`], [`Signature`]: lowercase hex of their
//!   bytes. Decoders name the field in every error (`blind.signature`, ...): bad hex and wrong lengths are
//!   [`crate::CryptoError::Malformed`], values not below `n` are [`crate::CryptoError::OutOfRange`].
//! - [`BlindingSecret`]: no serde (it links the voter to the signature); explicit, wiped byte export only.
//!
//! # Why this is implemented here rather than with `blind-rsa-signatures`
//!
//! The well-kept crate `blind-rsa-signatures` 0.18 does not build against current releases: it requires
//! `rsa ^0.10.0-rc.18` and `rsa` 0.10.0-rc.20 changed the trait it implements. It can be made to build by
//! pinning `rsa = 0.10.0-rc.18` and `pkcs1 = 0.8.0-rc.4` in `Cargo.lock`, which was tried, but we did not take
//! that path because
//! 1. RustSec still lists every `rsa` release, 0.10 release candidates included, as affected by
//!    RUSTSEC-2023-0071 (Marvin) with no patched version, so `cargo audit` would flag the election system;
//! 2. the build would depend on two superseded pre-releases held by lock-file pins that any `cargo update`
//!    silently breaks, and the crate pins `crypto-primes = "=0.7.0"`, freezing the Paillier key generation's
//!    dependency too;
//! 3. injecting the test vectors' salt and blinding factor is only possible through a mock RNG that mirrors
//!    `crypto-bigint`'s internal sampling, and its key generation refuses the insecure test sizes.
//!
//! The RFC is small: EMSA-PSS and MGF1 on `sha2` (`pss.rs`), RSAVP1/RSASP1 on `crypto-bigint` (`keys.rs`),
//! the protocol (`protocol.rs`), strict DER through RustCrypto's `pkcs1`/`pkcs8` (`encoding.rs`); the four RFC 9474
//! test vectors (`tests/blind.rs`) pin it down.

mod encoding;
#[doc(hidden)]
pub mod hazmat;
mod keys;
mod params;
mod partially;
mod protocol;
mod pss;

pub use keys::{BlindSigningKey, BlindVerifyingKey};
pub use params::{BlindKeySize, PREFIX_LEN, Variant};
pub use partially::{DerivedSigningKey, DerivedVerifyingKey, voting_right_info};
pub use protocol::{BlindSignature, BlindedMessage, BlindingSecret, PreparedMessage, Signature};
