//! Batch verification (PROTOCOL §3.4).
//!
//! Every proof reduces to equations `w^n · g^y = a · c^e (mod n²)`. A batch draws a fresh 128-bit weight `ρ_q`
//! per equation *after* the proofs are fixed and checks the single equation
//!
//! `((Π w_q^ρ_q)^n · g^(Σ ρ_q·y_q))² = (Π a_q^ρ_q · Π_c c^(Σ_{q∋c} ρ_q·e_q))²  (mod n²)`
//!
//! which costs one full `^n` exponentiation plus multi-exponentiations with 128- and 384-bit exponents,
//! instead of a full and a 256-bit exponentiation per equation. Both sides are squared as in the exact check
//! ([`super::equation::Equation`]); the soundness argument is in docs/protocol.md ("Batch verification"). When a batch fails it is split in halves until the failing proofs
//! stand alone, and those are judged by the exact per-equation verification, so one bad proof is rejected alone.

use rand::{RngExt, SeedableRng};
use rand_core::CryptoRng;
use rayon::prelude::*;
use rug::Integer;

use super::equation::{Equation, squares_equal};
use super::multiexp::multi_exp;
use super::{KnowledgeProof, MembershipProof, MembershipStatement};
use crate::arith;
use crate::error::Result;
use crate::paillier::{Ciphertext, PublicKey};
use crate::transcript::ProofContext;

/// Bits of each random weight: a wrong equation survives a batch with probability at most `2^-128`.
const WEIGHT_BITS: u32 = 128;

enum Item<'a> {
    Knowledge { ctx: &'a ProofContext, c: &'a Ciphertext, proof: &'a KnowledgeProof },
    Membership { ctx: &'a ProofContext, statement: MembershipStatement<'a>, proof: &'a MembershipProof },
}

impl<'a> Item<'a> {
    fn precheck(&self, pk: &PublicKey) -> Result<Vec<Integer>> {
        match self {
            Item::Knowledge { ctx, c, proof } => proof.precheck(pk, ctx, c).map(|e| vec![e]),
            Item::Membership { ctx, statement, proof } => proof.precheck(pk, ctx, *statement),
        }
    }

    fn verify_exact(&self, pk: &PublicKey) -> Result<()> {
        match self {
            Item::Knowledge { ctx, c, proof } => proof.verify(pk, ctx, c),
            Item::Membership { ctx, statement, proof } => proof.verify(pk, ctx, *statement),
        }
    }

    fn equations<'b>(&'b self, pk: &PublicKey, challenges: &'b [Integer]) -> Vec<Equation<'b>> {
        match self {
            Item::Knowledge { c, proof, .. } => vec![proof.equation(c, &challenges[0])],
            Item::Membership { statement, proof, .. } => proof.equations(pk, *statement, challenges).collect(),
        }
    }
}

/// Collects proofs made under one public key and verifies them together.
pub struct BatchVerifier<'a> {
    pk: &'a PublicKey,
    items: Vec<Item<'a>>,
}

impl<'a> BatchVerifier<'a> {
    pub fn new(pk: &'a PublicKey) -> Self {
        Self { pk, items: Vec::new() }
    }

    /// Adds a knowledge proof; returns its position in the results.
    pub fn push_knowledge(&mut self, ctx: &'a ProofContext, c: &'a Ciphertext, proof: &'a KnowledgeProof) -> usize {
        self.items.push(Item::Knowledge { ctx, c, proof });
        self.items.len() - 1
    }

    /// Adds a membership proof; returns its position in the results.
    pub fn push_membership(
        &mut self,
        ctx: &'a ProofContext,
        statement: MembershipStatement<'a>,
        proof: &'a MembershipProof,
    ) -> usize {
        self.items.push(Item::Membership { ctx, statement, proof });
        self.items.len() - 1
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// One result per pushed proof, in push order. `rng` draws the batch weights; it must not be predictable
    /// to whoever made the proofs (use [`crate::os_rng`]).
    pub fn verify<R: CryptoRng + ?Sized>(&self, rng: &mut R) -> Vec<Result<()>> {
        let prechecked: Vec<Result<Vec<Integer>>> = self.items.par_iter().map(|it| it.precheck(self.pk)).collect();
        let mut results: Vec<Result<()>> = Vec::with_capacity(self.items.len());
        let mut pending = Vec::new();
        for (i, p) in prechecked.iter().enumerate() {
            match p {
                Ok(_) => {
                    results.push(Ok(()));
                    pending.push(i);
                }
                Err(e) => results.push(Err(e.clone())),
            }
        }
        let challenges: Vec<Vec<Integer>> = prechecked.into_iter().map(|p| p.unwrap_or_default()).collect();
        self.bisect(&pending, &challenges, rng, &mut results);
        results
    }

    /// `Ok` when every proof verifies, otherwise the first failure with its position.
    pub fn verify_all<R: CryptoRng + ?Sized>(&self, rng: &mut R) -> Result<(), (usize, crate::CryptoError)> {
        match self.verify(rng).into_iter().enumerate().find_map(|(i, r)| r.err().map(|e| (i, e))) {
            Some(failure) => Err(failure),
            None => Ok(()),
        }
    }

    fn bisect<R: CryptoRng + ?Sized>(
        &self,
        group: &[usize],
        challenges: &[Vec<Integer>],
        rng: &mut R,
        results: &mut [Result<()>],
    ) {
        if group.is_empty() || self.batch_holds(group, challenges, rng) {
            return;
        }
        if let [single] = group {
            // The exact verifier is the reference and names the failing branch.
            results[*single] = self.items[*single].verify_exact(self.pk);
            return;
        }
        let (left, right) = group.split_at(group.len() / 2);
        self.bisect(left, challenges, rng, results);
        self.bisect(right, challenges, rng, results);
    }

    fn batch_holds<R: CryptoRng + ?Sized>(&self, group: &[usize], challenges: &[Vec<Integer>], rng: &mut R) -> bool {
        let pk = self.pk;
        let (n, n2) = (pk.n(), pk.n_squared());
        let equations: Vec<Equation<'_>> =
            group.iter().flat_map(|&i| self.items[i].equations(pk, &challenges[i])).collect();

        // Weights from a ChaCha stream seeded by the caller's CSPRNG, drawn after the proofs were fixed.
        let mut weights_rng = rand::rngs::StdRng::from_rng(rng);
        let weights: Vec<Integer> = equations
            .iter()
            .map(|_| {
                let mut bytes = [0u8; (WEIGHT_BITS / 8) as usize];
                weights_rng.fill(&mut bytes[..]);
                arith::from_bytes(&bytes)
            })
            .collect();

        let w_terms: Vec<(&Integer, Integer)> = equations.iter().zip(&weights).map(|(q, r)| (q.w, r.clone())).collect();
        let y: Integer = equations.iter().zip(&weights).map(|(q, r)| Integer::from(&q.y * r)).sum::<Integer>() % n;

        // Equations of one proof share their ciphertexts: fold their exponents so each c is raised once.
        let mut c_terms: Vec<(&Integer, Integer)> = Vec::new();
        for (q, r) in equations.iter().zip(&weights) {
            let exp = Integer::from(q.e * r);
            match c_terms.iter_mut().rev().take(8).find(|(c, _)| std::ptr::eq(*c, q.c)) {
                Some((_, acc)) => *acc += exp,
                None => c_terms.push((q.c, exp)),
            }
        }
        let mut rhs_terms: Vec<(&Integer, Integer)> =
            equations.iter().zip(&weights).map(|(q, r)| (q.a, r.clone())).collect();
        rhs_terms.extend(c_terms);

        let (w_product, rhs) = rayon::join(|| multi_exp(&w_terms, n2), || multi_exp(&rhs_terms, n2));
        let lhs = arith::mul_mod(&pk.nth_power(&w_product), &pk.g_pow(&y), n2);
        squares_equal(&lhs, &rhs, n2)
    }
}
