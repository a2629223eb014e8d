//! The anonymous ballot id (PROTOCOL §6: `AnonID = H(ballot package)`).
//!
//! ```text
//! AnonID = SHA-256( transcript "urna/v1/anon-id" || ballot hash (32 bytes)
//!                   || prepared message (32-byte prefix || ballot hash) || signature (modulus_len bytes) )
//! ```
//!
//! Every item is length-prefixed ([`urna_crypto::transcript`]), so the encoding is injective. The package
//! is defined by these three values: the ballot hash already binds every byte of the ballot, proofs
//! included, and the prepared message and signature are the voting right. Two packages share an AnonID only
//! if they are identical, which is what makes an identical resubmission idempotent.

use std::fmt;

use serde::{Deserialize, Serialize};
use urna_crypto::blind::{PreparedMessage, Signature};
use urna_crypto::transcript::Transcript;

/// 32 bytes, lowercase hex on the wire.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct AnonId(#[serde(with = "hex::serde")] pub [u8; 32]);

impl AnonId {
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    pub fn from_hex(s: &str) -> Option<Self> {
        if s.len() != 64 || !s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            return None;
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).ok()?;
        Some(Self(out))
    }
}

impl fmt::Debug for AnonId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AnonId({})", self.to_hex())
    }
}

impl fmt::Display for AnonId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

pub fn anon_id(ballot_hash: &[u8; 32], prepared: &PreparedMessage, signature: &Signature) -> AnonId {
    let mut t = Transcript::new("anon-id");
    t.append_bytes(ballot_hash);
    t.append_bytes(prepared.as_bytes());
    t.append_bytes(signature.as_bytes());
    AnonId(t.finalize())
}
