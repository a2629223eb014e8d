use rug::Integer;

use crate::arith;
use crate::error::{CryptoError, Result};

/// A Paillier plaintext, an element of `Z_n` once paired with a key (encryption checks the range).
///
/// Ballots pack one counter per choice into "slots" of `slot_bits` bits ([`Plaintext::from_slots`]), so that
/// adding encrypted ballots adds every counter at once.
#[derive(Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Plaintext(#[serde(with = "arith::hex_integer")] pub(crate) Integer);

impl Plaintext {
    pub fn zero() -> Self {
        Self(Integer::new())
    }

    pub fn from_u64(x: u64) -> Self {
        Self(Integer::from(x))
    }

    pub fn from_be_bytes(bytes: &[u8]) -> Self {
        Self(arith::from_bytes(bytes))
    }

    /// Minimal big-endian bytes (zero is empty).
    pub fn to_be_bytes(&self) -> Vec<u8> {
        arith::to_bytes(&self.0)
    }

    pub fn to_u64(&self) -> Option<u64> {
        self.0.to_u64()
    }

    /// `Σ slots[i] · 2^(i·slot_bits)`; every slot value must fit `slot_bits` bits.
    pub fn from_slots(slot_bits: u32, slots: &[u64]) -> Result<Self> {
        if slot_bits == 0 || slot_bits > 64 {
            return Err(CryptoError::InvalidParameter(format!("slot width {slot_bits} bits is not in 1..=64")));
        }
        let mut x = Integer::new();
        for (i, &v) in slots.iter().enumerate().rev() {
            if slot_bits < 64 && v >> slot_bits != 0 {
                return Err(CryptoError::InvalidParameter(format!(
                    "slot {i}: value {v} does not fit {slot_bits} bits"
                )));
            }
            x <<= slot_bits;
            x += v;
        }
        Ok(Self(x))
    }

    /// The inverse of [`Plaintext::from_slots`] for `count` slots. Fails when the value has bits above the last
    /// slot, which a correctly formed total never has.
    pub fn to_slots(&self, slot_bits: u32, count: usize) -> Result<Vec<u64>> {
        if slot_bits == 0 || slot_bits > 64 {
            return Err(CryptoError::InvalidParameter(format!("slot width {slot_bits} bits is not in 1..=64")));
        }
        let mut x = self.0.clone();
        let mask = (Integer::from(1) << slot_bits) - 1u32;
        let mut out = Vec::with_capacity(count);
        for _ in 0..count {
            let digit = Integer::from(&x & &mask);
            out.push(digit.to_u64().unwrap_or(u64::MAX));
            x >>= slot_bits;
        }
        if x != 0 {
            return Err(CryptoError::out_of_range(
                "plaintext",
                format!("has bits above slot {count} of {slot_bits} bits"),
            ));
        }
        Ok(out)
    }
}

impl std::fmt::Debug for Plaintext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Plaintext({})", arith::to_hex(&self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_round_trip() {
        let p = Plaintext::from_slots(20, &[1, 0, 5, (1 << 20) - 1]).ok();
        let back = p.as_ref().and_then(|p| p.to_slots(20, 4).ok());
        assert_eq!(back, Some(vec![1, 0, 5, (1 << 20) - 1]));
    }

    #[test]
    fn slot_overflow_is_refused() {
        assert!(Plaintext::from_slots(20, &[1 << 20]).is_err());
        let p = Plaintext::from_slots(8, &[1, 2, 3]).ok();
        assert!(p.is_some_and(|p| p.to_slots(8, 2).is_err()));
    }
}
