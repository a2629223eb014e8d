//! Zero-knowledge proofs over Paillier ciphertexts (PROTOCOL §3).
//!
//! - [`KnowledgeProof`]: knowledge of plaintext and randomness (the seed's proof, §3.1). It does **not** make
//!   a ballot valid on its own; Urna uses it for write-in names.
//! - [`MembershipProof`]: "these ciphertexts encrypt one of these plaintext tuples" (§3.2, generalised from one
//!   ciphertext to tuples so that chunked contests can link a chunk to its "used" bit, §3.3).
//! - [`BatchVerifier`]: verifies many proofs at once with random small exponents and finds the bad ones by
//!   bisection (§3.4); soundness argument in docs/protocol.md.
//!
//! Every challenge is a SHA-256 transcript binding the proof type, the [`crate::transcript::ProofContext`]
//! (election, manifest hash, contest, ballot style), the public key, the statement and the commitments.
//!
//! Verification equations all have one shape, `w^n · g^y = a · c^e (mod n²)` ([`equation::Equation`]), which is
//! what lets one batch mix proofs of both kinds.

mod batch;
mod challenge;
mod equation;
mod knowledge;
mod membership;
mod multiexp;

pub use batch::BatchVerifier;
pub use challenge::CHALLENGE_BITS;
pub use knowledge::KnowledgeProof;
pub use membership::{MembershipProof, MembershipStatement, MembershipWitness};
pub(crate) use multiexp::multi_exp;
