//! Weeding of copied ballots (docs/protocol.md §4.9): every ciphertext of an accepted ballot is remembered
//! by a short key, and a ballot any of whose ciphertexts is already remembered is refused. The vote service
//! (per ballot), each tally shard (per contest, persisted) and the record verifier (across the whole record)
//! use these same keys.
//!
//! Only ciphertexts are keyed, not proofs: every proof's Fiat-Shamir challenge hashes its ciphertexts (and
//! the election, contest and ballot style), so a copied proof verifies only beside the ciphertext it was made
//! for, which is then a repeat; and a ciphertext cannot be re-randomized or otherwise changed without a new
//! proof, which needs its nonce.

use urna_crypto::paillier::Ciphertext;
use urna_crypto::transcript::Transcript;

use crate::encrypted::{EncryptedBallot, EncryptedContest};

/// `H("weeding/ciphertext", c)`: the key under which a ciphertext is remembered.
pub fn ciphertext_key(c: &Ciphertext) -> [u8; 32] {
    let mut t = Transcript::new("weeding/ciphertext");
    t.append_ciphertext(c);
    t.finalize()
}

impl EncryptedContest {
    /// The keys of every ciphertext of the contest: `ciphertexts`, `used` and the write-in name, in that order.
    pub fn weeding_keys(&self) -> Vec<[u8; 32]> {
        self.ciphertexts
            .iter()
            .chain(&self.used)
            .chain(self.write_in.as_ref().map(|w| &w.ciphertext))
            .map(ciphertext_key)
            .collect()
    }
}

impl EncryptedBallot {
    /// The keys of every ciphertext of the ballot, contest after contest.
    pub fn weeding_keys(&self) -> Vec<[u8; 32]> {
        self.contests.iter().flat_map(EncryptedContest::weeding_keys).collect()
    }
}

/// The first key that appears twice in `keys`, if any (an honest ballot's ciphertexts are all distinct:
/// each carries fresh randomness).
pub fn first_repeat(keys: &[[u8; 32]]) -> Option<[u8; 32]> {
    let mut seen = std::collections::HashSet::with_capacity(keys.len());
    keys.iter().find(|k| !seen.insert(**k)).copied()
}
