//! Big-integer plumbing shared by the crate: canonical byte and hex encodings, uniform sampling from a
//! [`CryptoRng`] (GMP's own generators are not cryptographic and are never used), and modular helpers.
//!
//! Nothing here is public API: the crate exposes typed values (keys, plaintexts, ciphertexts, proofs) only.

use rand_core::CryptoRng;
use rug::Integer;
use rug::integer::Order;

use crate::error::{CryptoError, Result};

/// Minimal big-endian bytes; zero is the empty string.
pub(crate) fn to_bytes(x: &Integer) -> Vec<u8> {
    debug_assert!(*x >= 0);
    x.to_digits::<u8>(Order::Msf)
}

pub(crate) fn from_bytes(bytes: &[u8]) -> Integer {
    Integer::from_digits(bytes, Order::Msf)
}

/// Lowercase hex of the minimal big-endian bytes; zero is `"00"`. This is the only integer encoding of the
/// wire format and the election record, and it is canonical: [`from_hex`] accepts exactly these strings.
pub(crate) fn to_hex(x: &Integer) -> String {
    if *x == 0 { "00".to_owned() } else { hex::encode(to_bytes(x)) }
}

/// Decodes the canonical hex form of [`to_hex`]; anything else (uppercase, odd length, leading zero bytes,
/// empty) is refused with an error naming `field`. Canonical form matters: ballot ids are hashes of encodings,
/// and two encodings of one ciphertext would give one ballot two ids.
pub(crate) fn from_hex(field: &str, s: &str) -> Result<Integer> {
    if s.is_empty() {
        return Err(CryptoError::malformed(field, "empty hex string"));
    }
    if !s.len().is_multiple_of(2) {
        return Err(CryptoError::malformed(field, "hex string of odd length"));
    }
    if !s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return Err(CryptoError::malformed(field, "not lowercase hexadecimal"));
    }
    if s.len() > 2 && s.starts_with("00") {
        return Err(CryptoError::malformed(field, "leading zero byte (non-canonical)"));
    }
    let bytes = hex::decode(s).map_err(|e| CryptoError::malformed(field, e.to_string()))?;
    Ok(from_bytes(&bytes))
}

/// A uniform integer of exactly `bits` random bits (the top bit may be zero).
pub(crate) fn random_bits<R: CryptoRng + ?Sized>(rng: &mut R, bits: u32) -> Integer {
    let nbytes = bits.div_ceil(8) as usize;
    let mut buf = vec![0u8; nbytes];
    rng.fill_bytes(&mut buf);
    let extra = (nbytes as u32) * 8 - bits;
    if extra > 0
        && let Some(first) = buf.first_mut()
    {
        *first &= 0xffu8 >> extra;
    }
    from_bytes(&buf)
}

/// Uniform in `[0, bound)` by rejection sampling (expected fewer than two draws).
pub(crate) fn random_below<R: CryptoRng + ?Sized>(rng: &mut R, bound: &Integer) -> Integer {
    debug_assert!(*bound > 0);
    let bits = bound.significant_bits();
    loop {
        let x = random_bits(rng, bits);
        if x < *bound {
            return x;
        }
    }
}

/// Uniform in `Z*_n`.
pub(crate) fn random_unit<R: CryptoRng + ?Sized>(rng: &mut R, n: &Integer) -> Integer {
    loop {
        let x = random_below(rng, n);
        if x != 0 && x.clone().gcd(n) == 1 {
            return x;
        }
    }
}

/// `base^exp mod m` for public operands (variable time). `exp` must be non-negative.
pub(crate) fn pow_mod(base: &Integer, exp: &Integer, m: &Integer) -> Integer {
    debug_assert!(*exp >= 0);
    match base.pow_mod_ref(exp, m) {
        Some(r) => Integer::from(r),
        None => unreachable_nonnegative(),
    }
}

/// `base^exp mod m` with GMP's side-channel silent `mpz_powm_sec` (time and memory access independent of the
/// exponent), for exponents that are secret keys or key shares. `m` must be odd and `exp` positive.
pub(crate) fn pow_mod_secret(base: &Integer, exp: &Integer, m: &Integer) -> Integer {
    debug_assert!(m.is_odd() && *exp > 0);
    Integer::from(base.secure_pow_mod_ref(exp, m))
}

/// `pow_mod_ref` only fails for a negative exponent without an inverse; callers never pass one.
#[cold]
fn unreachable_nonnegative() -> Integer {
    Integer::new()
}

pub(crate) fn mul_mod(a: &Integer, b: &Integer, m: &Integer) -> Integer {
    let mut r = Integer::from(a * b);
    r %= m;
    r
}

/// The inverse of `a` modulo `m`, if it exists.
pub(crate) fn invert(a: &Integer, m: &Integer) -> Option<Integer> {
    a.invert_ref(m).map(Integer::from)
}

/// `0 < x < bound` and `gcd(x, n) = 1`: the check every group element received from outside goes through.
pub(crate) fn check_unit(field: &str, x: &Integer, bound: &Integer, n: &Integer) -> Result<()> {
    if *x <= 0 || x >= bound {
        return Err(CryptoError::out_of_range(field, "not in (0, bound)"));
    }
    if x.clone().gcd(n) != 1 {
        return Err(CryptoError::out_of_range(field, "not a unit (shares a factor with n)"));
    }
    Ok(())
}

pub(crate) fn from_boxed(x: &crypto_bigint::BoxedUint) -> Integer {
    from_bytes(&x.to_be_bytes())
}

/// serde adapter: an [`Integer`] as canonical lowercase hex.
pub(crate) mod hex_integer {
    use rug::Integer;
    use serde::{Deserialize, Deserializer, Serializer};

    pub(crate) fn serialize<S: Serializer>(x: &Integer, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&super::to_hex(x))
    }

    pub(crate) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Integer, D::Error> {
        let s = String::deserialize(d)?;
        super::from_hex("integer", &s).map_err(serde::de::Error::custom)
    }
}

/// An [`Integer`] that serializes as canonical lowercase hex, for nested collections in proofs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Hex(pub(crate) Integer);

impl serde::Serialize for Hex {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        hex_integer::serialize(&self.0, s)
    }
}

impl<'de> serde::Deserialize<'de> for Hex {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        hex_integer::deserialize(d).map(Hex)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_is_canonical() {
        assert_eq!(to_hex(&Integer::from(0)), "00");
        assert_eq!(to_hex(&Integer::from(255)), "ff");
        assert_eq!(to_hex(&Integer::from(256)), "0100");
        assert_eq!(from_hex("x", "0100").ok(), Some(Integer::from(256)));
        assert_eq!(from_hex("x", "00").ok(), Some(Integer::from(0)));
        for bad in ["", "0", "FF", "000100", "0g", " 01"] {
            assert!(from_hex("x", bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn random_below_stays_below() {
        let mut rng = crate::os_rng();
        let bound = Integer::from(1000);
        for _ in 0..1000 {
            let x = random_below(&mut rng, &bound);
            assert!(x >= 0 && x < bound);
        }
    }

    #[test]
    fn secret_and_public_pow_agree() {
        let m = Integer::from(1_000_003);
        let b = Integer::from(12345);
        let e = Integer::from(987_654_321u64);
        assert_eq!(pow_mod(&b, &e, &m), pow_mod_secret(&b, &e, &m));
    }
}
