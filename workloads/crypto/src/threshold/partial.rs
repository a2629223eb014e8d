//! Partial decryption `c_i = c^(2Δ·s_i) mod n²` and its Chaum-Pedersen proof of correctness.
//!
//! The proof shows `log_{c⁴}(c_i²) = log_v(v_i)` (both equal `Δ·s_i`) in the group of squares of `Z*_{n²}`,
//! whose order `n·p'·q'` is secret. Hence the exponents live in the integers, not in `Z_q` as in the
//! prime-order protocol: the prover's random exponent `r` has `|n²| + 512` bits so that `z = r + e·Δ·s_i`,
//! computed over the integers, reveals nothing about `s_i` (statistical zero knowledge; see
//! [`super::MAX_TRUSTEES`]). The proof is sent as `(e, z)`, the verifier recomputes the commitments
//! `a = (c⁴)^z·(c_i²)^(-e)` and `b = v^z·v_i^(-e)` and checks that they hash to `e`.

use rand_core::CryptoRng;
use rug::Integer;

use super::{KeyShare, ThresholdPublicKey, TrusteeIndex, delta, wipe};
use crate::arith;
use crate::error::{CryptoError, Result};
use crate::paillier::Ciphertext;
use crate::transcript::Transcript;

/// Challenges are SHA-256 outputs read as integers.
pub(crate) const CHALLENGE_BITS: u32 = 256;

/// Names the decryption a partial belongs to, so that a proof made for one decryption fails for every other
/// (strong Fiat-Shamir, PROTOCOL "Notation"). A partial decryption of a given ciphertext by a given share is a
/// deterministic value, but binding the context keeps proofs from being lifted between elections or between
/// the record's different decryptions (a contest total, a write-in, the ceremony self-test).
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecryptionContext {
    /// The election's identifier.
    pub election_id: String,
    /// SHA-256 of the election manifest, lowercase hex in JSON (all zero where no manifest exists yet: the
    /// ceremony's self-test).
    #[serde(with = "hex::serde")]
    pub manifest_hash: [u8; 32],
    /// What is being decrypted, e.g. `tally/<contest id>/<shard>` or `write-in/<ballot id>`.
    pub subject: String,
}

impl DecryptionContext {
    pub fn new(election_id: impl Into<String>, manifest_hash: [u8; 32], subject: impl Into<String>) -> Self {
        Self { election_id: election_id.into(), manifest_hash, subject: subject.into() }
    }

    pub fn from_json(json: &str) -> Result<Self> {
        serde_json::from_str(json).map_err(|e| CryptoError::malformed("decryption_context", e.to_string()))
    }

    fn append_to(&self, t: &mut Transcript) {
        t.append_str(&self.election_id);
        t.append_bytes(&self.manifest_hash);
        t.append_str(&self.subject);
    }
}

/// The non-interactive Chaum-Pedersen proof `(e, z)`: `e` the 256-bit challenge, `z = r + e·Δ·s_i` over the
/// integers.
#[derive(Clone, PartialEq, Eq)]
pub struct DecryptionProof {
    challenge: Integer,
    response: Integer,
}

/// Trustee `i`'s partial decryption `c_i` of one ciphertext, with its proof.
///
/// Decoding checks only the encoding (canonical hex, `1 ≤ trustee ≤ MAX_TRUSTEES`, challenge below `2^256`);
/// group membership and the proof depend on the key and the ciphertext and are checked by
/// [`super::verify_partial`].
#[derive(Clone, PartialEq, Eq)]
pub struct PartialDecryption {
    trustee: TrusteeIndex,
    pub(crate) value: Integer,
    proof: DecryptionProof,
}

#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ProofRepr {
    challenge: String,
    response: String,
}

#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Repr {
    trustee: TrusteeIndex,
    value: String,
    proof: ProofRepr,
}

impl PartialDecryption {
    pub fn trustee(&self) -> TrusteeIndex {
        self.trustee
    }

    pub fn proof(&self) -> &DecryptionProof {
        &self.proof
    }

    pub fn value_hex(&self) -> String {
        arith::to_hex(&self.value)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn from_json(json: &str) -> Result<Self> {
        serde_json::from_str(json).map_err(|e| CryptoError::malformed("partial_decryption", e.to_string()))
    }

    fn from_repr(r: Repr) -> Result<Self> {
        let value = arith::from_hex("partial_decryption.value", &r.value)?;
        let challenge = arith::from_hex("partial_decryption.proof.challenge", &r.proof.challenge)?;
        if challenge.significant_bits() > CHALLENGE_BITS {
            return Err(CryptoError::out_of_range("partial_decryption.proof.challenge", "longer than 256 bits"));
        }
        let response = arith::from_hex("partial_decryption.proof.response", &r.proof.response)?;
        Ok(Self { trustee: r.trustee, value, proof: DecryptionProof { challenge, response } })
    }
}

impl serde::Serialize for PartialDecryption {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        Repr {
            trustee: self.trustee,
            value: arith::to_hex(&self.value),
            proof: ProofRepr {
                challenge: arith::to_hex(&self.proof.challenge),
                response: arith::to_hex(&self.proof.response),
            },
        }
        .serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for PartialDecryption {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        Self::from_repr(Repr::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

impl std::fmt::Debug for PartialDecryption {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let h = arith::to_hex(&self.value);
        write!(f, "PartialDecryption(trustee {}, {}…)", self.trustee, &h[..h.len().min(16)])
    }
}

impl std::fmt::Debug for DecryptionProof {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DecryptionProof(e = {})", arith::to_hex(&self.challenge))
    }
}

/// Bits of the prover's random exponent: `|n²| + 2·256`.
pub(crate) fn nonce_bits(public: &ThresholdPublicKey) -> u32 {
    public.paillier().n_squared().significant_bits() + 2 * CHALLENGE_BITS
}

/// The Fiat-Shamir challenge. Items, in order: the tag `urna/v1/partial-decryption`; the context's election id,
/// manifest hash and subject; the threshold public key fingerprint; the trustee index; `c`; `c_i`; the
/// commitments `a = (c⁴)^r` and `b = v^r`.
fn challenge(
    public: &ThresholdPublicKey,
    context: &DecryptionContext,
    trustee: TrusteeIndex,
    c: &Integer,
    c_i: &Integer,
    a: &Integer,
    b: &Integer,
) -> Integer {
    let mut t = Transcript::new("partial-decryption");
    context.append_to(&mut t);
    t.append_bytes(&public.fingerprint());
    t.append_u64(u64::from(trustee.get()));
    for x in [c, c_i, a, b] {
        t.append_integer(x);
    }
    t.challenge()
}

impl KeyShare {
    /// Trustee `i`'s partial decryption of `c` with its proof. Every exponentiation with the share, or with the
    /// proof's random exponent, uses GMP's constant-time `powm_sec`.
    ///
    /// Fails when the share was dealt for another key or `c` is not in `Z*_{n²}`.
    pub fn partial_decrypt<R: CryptoRng + ?Sized>(
        &self,
        public: &ThresholdPublicKey,
        ciphertext: &Ciphertext,
        context: &DecryptionContext,
        rng: &mut R,
    ) -> Result<PartialDecryption> {
        self.check_binding(public)?;
        let pk = public.paillier();
        pk.check_ciphertext("ciphertext", ciphertext)?;
        let n2 = pk.n_squared();
        let c = &ciphertext.0;

        // The witness x = Δ·s_i; the partial is c^(2x).
        let mut x = Integer::from(&self.secret * &delta(public.trustees()));
        if x <= 0 {
            wipe(&mut x);
            return Err(CryptoError::invalid_key("key_share", "share is not positive"));
        }
        let mut two_x = Integer::from(&x << 1u32);
        let c_i = arith::pow_mod_secret(c, &two_x, n2);
        wipe(&mut two_x);

        let c4 = arith::pow_mod(c, &Integer::from(4), n2);
        let bits = nonce_bits(public);
        let mut r = loop {
            let r = arith::random_bits(rng, bits);
            if r > 0 {
                break r;
            }
        };
        let a = arith::pow_mod_secret(&c4, &r, n2);
        let b = arith::pow_mod_secret(public.v(), &r, n2);
        let e = challenge(public, context, self.index(), c, &c_i, &a, &b);
        let mut ex = Integer::from(&e * &x);
        let z = Integer::from(&r + &ex);
        wipe(&mut ex);
        wipe(&mut r);
        wipe(&mut x);
        Ok(PartialDecryption {
            trustee: self.index(),
            value: c_i,
            proof: DecryptionProof { challenge: e, response: z },
        })
    }
}

/// Checks the proof of `partial` for `ciphertext` under `public` and `context`. All inputs are checked first:
/// the trustee index is within `1..=l`, `c` and `c_i` are units of `Z*_{n²}`, `0 ≤ z < 2^(|n²|+513)` (an honest
/// `z` is below that; the bound stops a huge exponent from costing the verifier unbounded time).
pub(crate) fn verify(
    public: &ThresholdPublicKey,
    ciphertext: &Ciphertext,
    context: &DecryptionContext,
    partial: &PartialDecryption,
) -> Result<()> {
    const PROOF: &str = "partial-decryption";
    let trustee = public.check_trustee("partial_decryption.trustee", partial.trustee)?;
    let pk = public.paillier();
    let (n, n2) = (pk.n(), pk.n_squared());
    pk.check_ciphertext("ciphertext", ciphertext)?;
    arith::check_unit("partial_decryption.value", &partial.value, n2, n)?;
    let DecryptionProof { challenge: e, response: z } = &partial.proof;
    if e.significant_bits() > CHALLENGE_BITS || *e < 0 {
        return Err(CryptoError::out_of_range("partial_decryption.proof.challenge", "not in [0, 2^256)"));
    }
    if *z < 0 || z.significant_bits() > nonce_bits(public) + 1 {
        return Err(CryptoError::out_of_range("partial_decryption.proof.response", "not in [0, 2^(|n²|+513))"));
    }
    let vk = public
        .verification_key(trustee)
        .ok_or_else(|| CryptoError::out_of_range("partial_decryption.trustee", "no verification key"))?;

    let c = &ciphertext.0;
    let c4 = arith::pow_mod(c, &Integer::from(4), n2);
    let c_i2 = arith::mul_mod(&partial.value, &partial.value, n2);
    // a = (c⁴)^z · ((c_i²)^e)^(-1), b = v^z · (v_i^e)^(-1); the inverses exist because c_i and v_i are units.
    let recompute = |base: &Integer, image: &Integer| -> Result<Integer> {
        let lhs = arith::pow_mod(base, z, n2);
        let rhs = arith::pow_mod(image, e, n2);
        let inv = arith::invert(&rhs, n2)
            .ok_or_else(|| CryptoError::rejected(PROOF, "an image is not invertible modulo n²"))?;
        Ok(arith::mul_mod(&lhs, &inv, n2))
    };
    let a = recompute(&c4, &c_i2)?;
    let b = recompute(public.v(), &vk.0)?;
    let expected = challenge(public, context, trustee, c, &partial.value, &a, &b);
    if expected != *e {
        return Err(CryptoError::rejected(PROOF, format!("trustee {trustee}: challenge does not match")));
    }
    Ok(())
}
