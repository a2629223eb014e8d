//! Threshold decryption for Paillier (PROTOCOL §5): Shoup's threshold RSA carried to Paillier by Damgård and
//! Jurik ("A generalisation, a simplification and some applications of Paillier's probabilistic public-key
//! system", PKC 2001, §4 with `s = 1`).
//!
//! Why this and not the seed's "reassemble the key": after the ceremony no process, trustee or operator ever
//! holds the whole secret key again. A tally is decrypted by `t` of the `l` trustees each publishing a partial
//! decryption with a zero-knowledge proof that it used their share, so a cheating or broken trustee is caught
//! and named, and any `t` honest ones suffice.
//!
//! - [`ceremony`] (in `dealer.rs`): a trusted dealer process generates a fresh safe-prime key, splits
//!   `d` (`d ≡ 0 mod m`, `d ≡ 1 mod n`) with a random polynomial of degree `t-1` over `Z_{n·m}`, publishes a
//!   [`ThresholdPublicKey`] and a self-checking [`CeremonyTranscript`], hands out [`KeyShare`]s and forgets
//!   `p`, `q`, `d`.
//! - [`KeyShare::partial_decrypt`]: `c_{i,k} = c_k^(2Δ·s_i) mod n²` for every ciphertext of a
//!   [`DecryptionRequest`], with ONE batched proof of correct decryption for all of them
//!   ([`PartialDecryptions`]).
//! - [`verify_decryption`], [`combine`] and the robust [`decrypt`] (verify every trustee's answer, name the bad
//!   ones and locate their wrong partials, combine from the first `t` good).
//! - [`ShareFile`]: a share encrypted at rest under a passphrase (Argon2id + XChaCha20-Poly1305).

mod combine;
mod dealer;
mod partial;
mod public;
mod share;
mod share_file;

pub use combine::{
    RejectedDecryption, ThresholdDecryption, VerifiedDecryption, WrongPartials, combine, decrypt, verify_decryption,
};
pub use dealer::{CeremonyOutput, CeremonyParams, CeremonyTranscript, SCHEME, SELF_TEST_SUBJECT, SelfTest, ceremony};
pub use partial::{DecryptionContext, DecryptionGroup, DecryptionProof, DecryptionRequest, PartialDecryptions};
pub use public::{ThresholdPublicKey, TrusteeIndex, VerificationKey};
pub use share::KeyShare;
pub use share_file::{KdfParams, Passphrase, ShareFile};

use rug::Integer;

/// The largest number of trustees `l` a key may have. The proof's random exponent has `|n²| + 512` bits, which
/// hides `e·Δ·s_i` (at most `256 + log2(l!) + |n²|` bits) statistically only while `log2(l!)` stays well below
/// 256; at `l = 32`, `log2(32!) ≈ 118` and the statistical distance stays below `2^-130`. Real elections use a
/// handful of trustees (INE: 5).
pub const MAX_TRUSTEES: u32 = 32;

/// `Δ = l!`.
pub(crate) fn delta(trustees: u32) -> Integer {
    Integer::from(Integer::factorial(trustees))
}

/// Best-effort erasure of a secret integer held by GMP. Clearing every bit from the lowest up writes zero into
/// each limb in place (`mpz_clrbit` never reallocates), so the limbs that held the secret are overwritten
/// before GMP frees them. Copies GMP made in temporaries during arithmetic cannot be reached without unsafe
/// code; this erases what we own.
pub(crate) fn wipe(x: &mut Integer) {
    let bits = x.significant_bits();
    if *x < 0 {
        x.abs_mut();
    }
    for bit in 0..bits {
        x.set_bit(bit, false);
    }
}
