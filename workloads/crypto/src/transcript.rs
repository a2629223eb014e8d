//! The canonical encoding every hash of the protocol is taken over (PROTOCOL "Notation").
//!
//! A transcript is SHA-256 over a sequence of items, each written as its byte length (4 bytes, big-endian)
//! followed by its bytes. Strings are UTF-8; integers are minimal big-endian bytes (zero is empty); the first
//! item is always a domain-separation tag `urna/v1/<name>`. Because every item carries its length, no two
//! different sequences encode to the same bytes, so a hash binds each item separately.

use rug::Integer;
use sha2::{Digest, Sha256};

use crate::arith;

/// Identifies where a proof belongs: a proof made for one context fails in every other (strong Fiat-Shamir).
/// The public key and the statement's ciphertexts are bound by the proof itself; this carries the rest.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ProofContext {
    /// The election's identifier.
    pub election_id: String,
    /// SHA-256 of the election manifest (hex in JSON).
    #[serde(with = "hex::serde")]
    pub manifest_hash: [u8; 32],
    /// The contest the proof is about (for a chunked contest, the chunk is named by the statement).
    pub contest_id: String,
    /// The ballot style (which set of contests this voter's ballot carries).
    pub ballot_style: String,
}

impl ProofContext {
    pub(crate) fn append_to(&self, t: &mut Transcript) {
        t.append_str(&self.election_id);
        t.append_bytes(&self.manifest_hash);
        t.append_str(&self.contest_id);
        t.append_str(&self.ballot_style);
    }
}

#[derive(Clone)]
pub struct Transcript {
    hasher: Sha256,
}

impl Transcript {
    /// Starts a transcript whose first item is the tag `urna/v1/<name>`.
    pub fn new(name: &str) -> Self {
        let mut t = Self { hasher: Sha256::new() };
        t.append_str(&format!("urna/v1/{name}"));
        t
    }

    pub fn append_bytes(&mut self, bytes: &[u8]) {
        // Items longer than 4 GiB do not occur: the largest is a 4096-bit modulus squared.
        let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
        self.hasher.update(len.to_be_bytes());
        self.hasher.update(bytes);
    }

    pub fn append_str(&mut self, s: &str) {
        self.append_bytes(s.as_bytes());
    }

    pub fn append_u64(&mut self, x: u64) {
        self.append_integer(&Integer::from(x));
    }

    pub(crate) fn append_integer(&mut self, x: &Integer) {
        self.append_bytes(&arith::to_bytes(x));
    }

    pub(crate) fn append_integers<'a>(&mut self, xs: impl IntoIterator<Item = &'a Integer>) {
        for x in xs {
            self.append_integer(x);
        }
    }

    /// A ciphertext as an integer item.
    pub fn append_ciphertext(&mut self, c: &crate::paillier::Ciphertext) {
        self.append_integer(&c.0);
    }

    pub fn finalize(self) -> [u8; 32] {
        self.hasher.finalize().into()
    }

    /// The digest read as a 256-bit big-endian integer: the Fiat-Shamir challenge.
    pub(crate) fn challenge(self) -> Integer {
        arith::from_bytes(&self.finalize())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_are_length_prefixed() {
        let mut a = Transcript::new("t");
        a.append_str("ab");
        a.append_str("c");
        let mut b = Transcript::new("t");
        b.append_str("a");
        b.append_str("bc");
        assert_ne!(a.finalize(), b.finalize());
    }

    #[test]
    fn tags_separate_domains() {
        assert_ne!(Transcript::new("x").finalize(), Transcript::new("y").finalize());
    }
}
