//! The anonymous ballot id (PROTOCOL §6: `AnonID = H(ballot package)`), one derivation and one parsing rule
//! for the vote service, the tally shards and the verifier.
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
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use urna_crypto::blind::{PreparedMessage, Signature};
use urna_crypto::transcript::Transcript;

/// 32 bytes; on the wire and in every file, exactly 64 lowercase hex digits (the project's canonical hex),
/// and nothing else is accepted, so one ballot has one spelling.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AnonId(pub [u8; 32]);

impl AnonId {
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// The id spelled `s`, or `None` unless `s` is 64 lowercase hex digits.
    pub fn from_hex(s: &str) -> Option<Self> {
        if s.len() != 64 || !s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            return None;
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(s, &mut out).ok()?;
        Some(Self(out))
    }
}

impl FromStr for AnonId {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Self::from_hex(s).ok_or_else(|| "anonId must be 64 lowercase hex digits (32 bytes)".to_owned())
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

impl Serialize for AnonId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> Deserialize<'de> for AnonId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// The AnonID of the package (ballot hash, prepared message, voting-right signature).
pub fn anon_id(ballot_hash: &[u8; 32], prepared: &PreparedMessage, signature: &Signature) -> AnonId {
    let mut t = Transcript::new("anon-id");
    t.append_bytes(ballot_hash);
    t.append_bytes(prepared.as_bytes());
    t.append_bytes(signature.as_bytes());
    AnonId(t.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_spelling_on_the_wire() {
        let id = AnonId([0xab; 32]);
        let json = serde_json::to_string(&id).unwrap_or_default();
        assert_eq!(json, format!("\"{}\"", "ab".repeat(32)));
        assert_eq!(serde_json::from_str::<AnonId>(&json).ok(), Some(id));
        assert_eq!("ab".repeat(32).parse::<AnonId>(), Ok(id));
        for bad in ["AB".repeat(32), "ab".repeat(31), format!("{}zz", "ab".repeat(31)), String::new()] {
            assert!(bad.parse::<AnonId>().is_err(), "{bad:?}");
            assert!(serde_json::from_str::<AnonId>(&format!("\"{bad}\"")).is_err(), "{bad:?}");
        }
    }
}
