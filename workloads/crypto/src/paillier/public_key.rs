use rand_core::CryptoRng;
use rug::Integer;

use super::{Ciphertext, KeySize, Nonce, Plaintext, PrecomputedNonce};
use crate::arith;
use crate::error::{CryptoError, Result};
use crate::transcript::Transcript;

/// A Paillier public key: the modulus `n` (the generator is always `g = n + 1`).
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKey {
    n: Integer,
    n_squared: Integer,
}

#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct PublicKeyRepr {
    #[serde(with = "arith::hex_integer")]
    n: Integer,
}

impl serde::Serialize for PublicKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        PublicKeyRepr { n: self.n.clone() }.serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for PublicKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let repr = PublicKeyRepr::deserialize(d)?;
        Self::from_modulus(repr.n).map_err(serde::de::Error::custom)
    }
}

impl PublicKey {
    /// Checks the modulus: odd, not a perfect square, at least the smallest size this build accepts.
    pub(crate) fn from_modulus(n: Integer) -> Result<Self> {
        let min = KeySize::minimum_accepted_bits();
        if n.significant_bits() < min {
            return Err(CryptoError::invalid_key(
                "paillier.n",
                format!("modulus of {} bits is below the minimum of {min}", n.significant_bits()),
            ));
        }
        if n.is_even() || n.is_perfect_square() {
            return Err(CryptoError::invalid_key("paillier.n", "not a product of two distinct odd primes"));
        }
        let n_squared = Integer::from(n.square_ref());
        Ok(Self { n, n_squared })
    }

    pub fn from_modulus_hex(s: &str) -> Result<Self> {
        Self::from_modulus(arith::from_hex("paillier.n", s)?)
    }

    pub fn modulus_hex(&self) -> String {
        arith::to_hex(&self.n)
    }

    pub fn modulus_bits(&self) -> u32 {
        self.n.significant_bits()
    }

    /// SHA-256 of the key's canonical encoding: how records and proofs name the key.
    pub fn fingerprint(&self) -> [u8; 32] {
        let mut t = Transcript::new("paillier-public-key");
        t.append_integer(&self.n);
        t.finalize()
    }

    pub(crate) fn n(&self) -> &Integer {
        &self.n
    }

    pub(crate) fn n_squared(&self) -> &Integer {
        &self.n_squared
    }

    /// Checks `0 < c < n²` and `gcd(c, n) = 1`; every ciphertext from outside goes through this (or through a
    /// proof verifier that does it) before it is used.
    pub fn check_ciphertext(&self, field: &str, c: &Ciphertext) -> Result<()> {
        arith::check_unit(field, &c.0, &self.n_squared, &self.n)
    }

    /// Checks `0 ≤ m < n`.
    pub fn check_plaintext(&self, m: &Plaintext) -> Result<()> {
        if m.0 < 0 || m.0 >= self.n {
            return Err(CryptoError::out_of_range("plaintext", "not in [0, n)"));
        }
        Ok(())
    }

    /// `g^m = 1 + m·n mod n²`: the fast path `g = n + 1` allows, no exponentiation.
    pub(crate) fn g_pow(&self, m: &Integer) -> Integer {
        let mut x = Integer::from(m * &self.n);
        x += 1;
        x %= &self.n_squared;
        if x < 0 {
            x += &self.n_squared;
        }
        x
    }

    /// `r^n mod n²`, the expensive half of an encryption.
    pub(crate) fn nth_power(&self, r: &Integer) -> Integer {
        arith::pow_mod(r, &self.n, &self.n_squared)
    }

    /// Encrypts `m` with fresh randomness, returning the nonce for proofs.
    pub fn encrypt<R: CryptoRng + ?Sized>(&self, m: &Plaintext, rng: &mut R) -> Result<(Ciphertext, Nonce)> {
        let nonce = PrecomputedNonce::generate(self, rng);
        let c = self.encrypt_with(m, &nonce)?;
        Ok((c, nonce.into_nonce()))
    }

    /// Encrypts `m` with a precomputed nonce (one multiplication online).
    pub fn encrypt_with(&self, m: &Plaintext, nonce: &PrecomputedNonce) -> Result<Ciphertext> {
        self.check_plaintext(m)?;
        Ok(Ciphertext(arith::mul_mod(&self.g_pow(&m.0), &nonce.r_n, &self.n_squared)))
    }

    /// Encrypts `m` with a given nonce `r` (a full exponentiation): how a Benaloh challenge is checked. Refuses
    /// an `r` outside `Z*_n`.
    pub fn encrypt_with_nonce(&self, m: &Plaintext, r: &Nonce) -> Result<Ciphertext> {
        arith::check_unit("nonce", &r.0, &self.n, &self.n)?;
        self.encrypt_with(m, &PrecomputedNonce { r: r.0.clone(), r_n: self.nth_power(&r.0) })
    }

    /// Homomorphic addition: `Enc(a) · Enc(b) = Enc(a + b)`.
    pub fn add(&self, a: &Ciphertext, b: &Ciphertext) -> Ciphertext {
        Ciphertext(arith::mul_mod(&a.0, &b.0, &self.n_squared))
    }

    /// Adds every ciphertext of `items` into `acc` (the tally's fold).
    pub fn add_all<'a>(&self, acc: &Ciphertext, items: impl IntoIterator<Item = &'a Ciphertext>) -> Ciphertext {
        let mut x = acc.0.clone();
        for c in items {
            x *= &c.0;
            x %= &self.n_squared;
        }
        Ciphertext(x)
    }

    /// Homomorphic scalar multiplication: `Enc(a)^k = Enc(k·a)`.
    pub fn scalar_mul(&self, c: &Ciphertext, k: &Plaintext) -> Ciphertext {
        Ciphertext(arith::pow_mod(&c.0, &k.0, &self.n_squared))
    }

    /// `c · r^n`: the same plaintext under fresh randomness.
    pub fn rerandomize<R: CryptoRng + ?Sized>(&self, c: &Ciphertext, rng: &mut R) -> Ciphertext {
        let nonce = PrecomputedNonce::generate(self, rng);
        Ciphertext(arith::mul_mod(&c.0, &nonce.r_n, &self.n_squared))
    }
}

impl std::fmt::Debug for PublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PublicKey({} bits, {})", self.modulus_bits(), hex::encode(&self.fingerprint()[..8]))
    }
}
