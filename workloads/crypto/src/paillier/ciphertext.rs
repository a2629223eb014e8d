use rug::Integer;

use crate::arith;

/// A Paillier ciphertext, an element of `Z*_{n²}`.
///
/// Decoding checks only the canonical encoding; membership in `Z*_{n²}` depends on the key and is checked by
/// [`crate::paillier::PublicKey::check_ciphertext`] (and by every proof verifier) before a ciphertext is used.
#[derive(Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Ciphertext(#[serde(with = "arith::hex_integer")] pub(crate) Integer);

impl Ciphertext {
    /// The encryption of zero with randomness one: the neutral element of homomorphic addition, the starting
    /// value of every encrypted total.
    pub fn identity() -> Self {
        Self(Integer::from(1))
    }

    pub fn to_hex(&self) -> String {
        arith::to_hex(&self.0)
    }

    pub fn from_hex(field: &str, s: &str) -> crate::Result<Self> {
        arith::from_hex(field, s).map(Self)
    }

    /// Minimal big-endian bytes.
    pub fn to_be_bytes(&self) -> Vec<u8> {
        arith::to_bytes(&self.0)
    }
}

impl std::fmt::Debug for Ciphertext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let h = arith::to_hex(&self.0);
        write!(f, "Ciphertext({}…)", &h[..h.len().min(16)])
    }
}
