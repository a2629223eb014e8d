use rand_core::CryptoRng;
use rug::Integer;

use super::challenge::{self, CHALLENGE_BITS};
use super::equation::Equation;
use crate::arith;
use crate::error::{CryptoError, Result};
use crate::paillier::{Ciphertext, Nonce, Plaintext, PublicKey, RandomnessPool};
use crate::transcript::ProofContext;

const TAG: &str = "knowledge-proof";
const NAME: &str = "knowledge proof";

/// Proof of knowledge of `(x, r)` with `c = (1 + x·n)·r^n mod n²` (PROTOCOL §3.1, the seed's proof with a
/// strong Fiat-Shamir challenge). Commitment `a = (1 + s·n)·t^n`, challenge `e`, responses `z = s + e·x mod n`,
/// `w = t·r^e mod n`; the verifier checks `(1 + z·n)·w^n = a·c^e mod n²`.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnowledgeProof {
    #[serde(with = "arith::hex_integer")]
    commitment: Integer,
    #[serde(with = "arith::hex_integer")]
    z: Integer,
    #[serde(with = "arith::hex_integer")]
    w: Integer,
}

impl KnowledgeProof {
    /// Proves knowledge of `m` and `nonce` for `c`. The commitment's `t^n` comes from `pool` (or is computed
    /// when the pool is empty).
    pub fn prove<R: CryptoRng + ?Sized>(
        pk: &PublicKey,
        ctx: &ProofContext,
        c: &Ciphertext,
        m: &Plaintext,
        nonce: &Nonce,
        pool: &RandomnessPool,
        rng: &mut R,
    ) -> Result<Self> {
        pk.check_ciphertext("ciphertext", c)?;
        pk.check_plaintext(m)?;
        let n = pk.n();
        let s = arith::random_below(rng, n);
        let t = pool.take(rng);
        let commitment = arith::mul_mod(&pk.g_pow(&s), &t.r_n, pk.n_squared());
        let e = challenge_for(pk, ctx, &c.0, &commitment);
        let z = Integer::from(&s + &e * &m.0) % n;
        let w = arith::mul_mod(&t.r, &arith::pow_mod(&nonce.0, &e, n), n);
        Ok(Self { commitment, z, w })
    }

    /// The exact verification (two full exponentiations).
    pub fn verify(&self, pk: &PublicKey, ctx: &ProofContext, c: &Ciphertext) -> Result<()> {
        let e = self.precheck(pk, ctx, c)?;
        if self.equation(c, &e).holds(pk) {
            Ok(())
        } else {
            Err(CryptoError::rejected(NAME, "verification equation does not hold"))
        }
    }

    /// Appends the proof's integers (commitment, z, w) to `t`.
    pub fn append_to_transcript(&self, t: &mut crate::transcript::Transcript) {
        t.append_integers([&self.commitment, &self.z, &self.w]);
    }

    /// Range checks and the challenge: everything but the equation, which a batch checks jointly.
    pub(crate) fn precheck(&self, pk: &PublicKey, ctx: &ProofContext, c: &Ciphertext) -> Result<Integer> {
        pk.check_ciphertext("ciphertext", c)?;
        arith::check_unit("proof.commitment", &self.commitment, pk.n_squared(), pk.n())?;
        if self.z < 0 || self.z >= *pk.n() {
            return Err(CryptoError::out_of_range("proof.z", "not in [0, n)"));
        }
        arith::check_unit("proof.w", &self.w, pk.n(), pk.n())?;
        Ok(challenge_for(pk, ctx, &c.0, &self.commitment))
    }

    pub(crate) fn equation<'a>(&'a self, c: &'a Ciphertext, e: &'a Integer) -> Equation<'a> {
        Equation { w: &self.w, y: self.z.clone(), a: &self.commitment, c: &c.0, e }
    }
}

fn challenge_for(pk: &PublicKey, ctx: &ProofContext, c: &Integer, commitment: &Integer) -> Integer {
    let mut t = challenge::proof_transcript(TAG, ctx, pk);
    t.append_integer(c);
    t.append_integer(commitment);
    let e = t.challenge();
    debug_assert!(e.significant_bits() <= CHALLENGE_BITS);
    e
}
