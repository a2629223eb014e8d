use rand_core::CryptoRng;
use rug::Integer;

use super::challenge::{self, CHALLENGE_BITS};
use super::equation::Equation;
use crate::arith::{self, Hex};
use crate::error::{CryptoError, Result};
use crate::paillier::{Ciphertext, Nonce, Plaintext, PublicKey, RandomnessPool};
use crate::transcript::ProofContext;

const TAG: &str = "membership-proof";
const NAME: &str = "membership proof";

/// The statement "the tuple `(c_1..c_m)` encrypts one of the tuples `allowed[0..k]`".
///
/// With `m = 1` this is the 1-of-k proof of PROTOCOL §3.2 (Baudron et al., OR-composed after Cramer, Damgård
/// and Schoenmakers). With `m = 2` it links a chunk of a large contest to its 0/1 "used" ciphertext (§3.3):
/// `allowed = {(0, 0)} ∪ {(v_i, 1)}`.
#[derive(Clone, Copy, Debug)]
pub struct MembershipStatement<'a> {
    pub ciphertexts: &'a [Ciphertext],
    pub allowed: &'a [Vec<Plaintext>],
}

/// What the prover knows: which allowed tuple is encrypted, and the nonce of every ciphertext.
#[derive(Clone, Copy, Debug)]
pub struct MembershipWitness<'a> {
    pub index: usize,
    pub nonces: &'a [Nonce],
}

/// A proof for a [`MembershipStatement`]: for each branch `j` and component `l`, a commitment `a_jl`, a branch
/// challenge `e_j` and a response `w_jl`, such that `Σ e_j = e (mod 2^256)` and `w_jl^n = a_jl · u_jl^(e_j)`
/// with `u_jl = c_l · g^(-v_jl)`. The commitments are sent (rather than recomputed by the verifier) because
/// batch verification needs them.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MembershipProof {
    commitments: Vec<Vec<Hex>>,
    challenges: Vec<Hex>,
    responses: Vec<Vec<Hex>>,
}

impl MembershipStatement<'_> {
    fn shape(&self) -> Result<(usize, usize)> {
        let m = self.ciphertexts.len();
        let k = self.allowed.len();
        if m == 0 || k == 0 {
            return Err(CryptoError::Mismatch("membership statement: no ciphertexts or no allowed values".into()));
        }
        if let Some(j) = self.allowed.iter().position(|t| t.len() != m) {
            return Err(CryptoError::Mismatch(format!(
                "membership statement: allowed[{j}] has {} values for {m} ciphertexts",
                self.allowed[j].len()
            )));
        }
        Ok((k, m))
    }

    fn check(&self, pk: &PublicKey) -> Result<(usize, usize)> {
        let shape = self.shape()?;
        for (l, c) in self.ciphertexts.iter().enumerate() {
            pk.check_ciphertext(&format!("ciphertexts[{l}]"), c)?;
        }
        for tuple in self.allowed {
            for v in tuple {
                pk.check_plaintext(v)?;
            }
        }
        Ok(shape)
    }

    fn challenge(&self, pk: &PublicKey, ctx: &ProofContext, commitments: &[Vec<Hex>]) -> Integer {
        let mut t = challenge::proof_transcript(TAG, ctx, pk);
        t.append_u64(self.ciphertexts.len() as u64);
        t.append_integers(self.ciphertexts.iter().map(|c| &c.0));
        t.append_u64(self.allowed.len() as u64);
        for tuple in self.allowed {
            t.append_integers(tuple.iter().map(|v| &v.0));
        }
        for row in commitments {
            t.append_integers(row.iter().map(|a| &a.0));
        }
        t.challenge()
    }
}

impl MembershipProof {
    /// Proves the statement. Every `^n` the prover needs (the true branch's commitments and the simulated
    /// branches' responses) is taken from `pool`, so with a filled pool proving costs only the short
    /// exponentiations `c^(-e_j)`.
    pub fn prove<R: CryptoRng + ?Sized>(
        pk: &PublicKey,
        ctx: &ProofContext,
        statement: MembershipStatement<'_>,
        witness: MembershipWitness<'_>,
        pool: &RandomnessPool,
        rng: &mut R,
    ) -> Result<Self> {
        let (k, m) = statement.check(pk)?;
        if witness.index >= k || witness.nonces.len() != m {
            return Err(CryptoError::Mismatch(format!(
                "membership witness: index {} of {k} branches, {} nonces for {m} ciphertexts",
                witness.index,
                witness.nonces.len()
            )));
        }
        let (n, n2) = (pk.n(), pk.n_squared());
        let c_inv = statement
            .ciphertexts
            .iter()
            .map(|c| arith::invert(&c.0, n2).ok_or_else(|| CryptoError::out_of_range("ciphertext", "not a unit")))
            .collect::<Result<Vec<_>>>()?;

        let mut commitments = Vec::with_capacity(k);
        let mut challenges = Vec::with_capacity(k);
        let mut responses = Vec::with_capacity(k);
        let mut true_nonces = Vec::new();
        for j in 0..k {
            if j == witness.index {
                let ts: Vec<_> = (0..m).map(|_| pool.take(rng)).collect();
                commitments.push(ts.iter().map(|t| Hex(t.r_n.clone())).collect::<Vec<_>>());
                challenges.push(Hex(Integer::new()));
                responses.push(Vec::new());
                true_nonces = ts;
                continue;
            }
            // Simulated branch: pick e_j and w_j, solve for a_j = w_j^n · c^(-e_j) · g^(v_j·e_j).
            let e_j = arith::random_bits(rng, CHALLENGE_BITS);
            let mut row_a = Vec::with_capacity(m);
            let mut row_w = Vec::with_capacity(m);
            for (v, c_inv) in statement.allowed[j].iter().zip(&c_inv) {
                let w = pool.take(rng);
                let v_e = Integer::from(&v.0 * &e_j);
                let a = arith::mul_mod(&w.r_n, &arith::pow_mod(c_inv, &e_j, n2), n2);
                row_a.push(Hex(arith::mul_mod(&a, &pk.g_pow(&v_e), n2)));
                row_w.push(Hex(w.r));
            }
            commitments.push(row_a);
            challenges.push(Hex(e_j));
            responses.push(row_w);
        }

        let e = statement.challenge(pk, ctx, &commitments);
        let others: Integer = challenges.iter().map(|h| &h.0).sum();
        let e_i = challenge::reduce(e - others);
        responses[witness.index] = true_nonces
            .iter()
            .zip(witness.nonces)
            .map(|(t, r)| Hex(arith::mul_mod(&t.r, &arith::pow_mod(&r.0, &e_i, n), n)))
            .collect();
        challenges[witness.index] = Hex(e_i);
        Ok(Self { commitments, challenges, responses })
    }

    /// The exact verification: every branch equation checked on its own (`2·k·m` full exponentiations). This
    /// is the reference a verifier in another language reproduces; [`super::BatchVerifier`] is faster.
    pub fn verify(&self, pk: &PublicKey, ctx: &ProofContext, statement: MembershipStatement<'_>) -> Result<()> {
        let es = self.precheck(pk, ctx, statement)?;
        for (j, eq) in self.equations(pk, statement, &es).enumerate() {
            if !eq.holds(pk) {
                return Err(CryptoError::rejected(NAME, format!("branch {j}: verification equation does not hold")));
            }
        }
        Ok(())
    }

    /// Shapes, ranges and the challenge sum; returns the branch challenges. Everything but the equations.
    pub(crate) fn precheck(
        &self,
        pk: &PublicKey,
        ctx: &ProofContext,
        statement: MembershipStatement<'_>,
    ) -> Result<Vec<Integer>> {
        let (k, m) = statement.check(pk)?;
        if self.commitments.len() != k
            || self.challenges.len() != k
            || self.responses.len() != k
            || self.commitments.iter().chain(&self.responses).any(|row| row.len() != m)
        {
            return Err(CryptoError::rejected(
                NAME,
                format!("proof shape does not match {k} branches × {m} ciphertexts"),
            ));
        }
        for (j, row) in self.commitments.iter().enumerate() {
            for (l, a) in row.iter().enumerate() {
                arith::check_unit(&format!("proof.commitments[{j}][{l}]"), &a.0, pk.n_squared(), pk.n())?;
            }
        }
        for (j, row) in self.responses.iter().enumerate() {
            for (l, w) in row.iter().enumerate() {
                arith::check_unit(&format!("proof.responses[{j}][{l}]"), &w.0, pk.n(), pk.n())?;
            }
        }
        if let Some(j) = self.challenges.iter().position(|e| !challenge::in_range(&e.0)) {
            return Err(CryptoError::out_of_range(format!("proof.challenges[{j}]"), "not in [0, 2^256)"));
        }
        let e = statement.challenge(pk, ctx, &self.commitments);
        let sum: Integer = self.challenges.iter().map(|h| &h.0).sum();
        if challenge::reduce(sum) != e {
            return Err(CryptoError::rejected(NAME, "branch challenges do not sum to the Fiat-Shamir challenge"));
        }
        Ok(self.challenges.iter().map(|h| h.0.clone()).collect())
    }

    /// The `k·m` equations `w_jl^n · g^(v_jl·e_j) = a_jl · c_l^(e_j)`.
    pub(crate) fn equations<'a>(
        &'a self,
        pk: &PublicKey,
        statement: MembershipStatement<'a>,
        challenges: &'a [Integer],
    ) -> impl Iterator<Item = Equation<'a>> + 'a {
        let n = pk.n().clone();
        (0..self.commitments.len()).flat_map(move |j| {
            let n = n.clone();
            (0..statement.ciphertexts.len()).map(move |l| Equation {
                w: &self.responses[j][l].0,
                y: Integer::from(&statement.allowed[j][l].0 * &challenges[j]) % &n,
                a: &self.commitments[j][l].0,
                c: &statement.ciphertexts[l].0,
                e: &challenges[j],
            })
        })
    }

    /// Appends every integer of the proof (commitments, challenges, responses, row by row) to `t`: how a
    /// ballot hash covers its proofs.
    pub fn append_to_transcript(&self, t: &mut crate::transcript::Transcript) {
        for row in self.commitments.iter().chain(std::iter::once(&self.challenges)).chain(&self.responses) {
            t.append_integers(row.iter().map(|h| &h.0));
        }
    }

    /// Number of branches.
    pub fn branches(&self) -> usize {
        self.challenges.len()
    }
}
