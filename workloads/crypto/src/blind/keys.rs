//! RSA keys for blind signing: generation, validation, and the two RSA primitives RFC 9474 needs.
//!
//! - `RSAVP1` (`x^e mod n`) is public and may run in variable time.
//! - `RSASP1` (`x^d mod n`) runs with the Chinese remainder theorem on `crypto-bigint`'s
//!   [`BoxedMontyForm::pow`], whose time and memory accesses do not depend on the exponent or the base; the
//!   reductions `x mod p`, `x mod q` and the recombination are constant-time `crypto-bigint` operations too.

use crypto_bigint::modular::{BoxedMontyForm, BoxedMontyParams};
use crypto_bigint::{BoxedUint, ConcatenatingMul, Lcm, Limb, NonZero, Odd, Resize};
use crypto_primes::Flavor;
use crypto_primes::hazmat::{SetBits, SmallFactorsSieveFactory};
use rand::SeedableRng;
use rand_core::CryptoRng;
use zeroize::{Zeroize, Zeroizing};

use super::params::{BlindKeySize, MAX_MODULUS_BITS, PUBLIC_EXPONENT, Variant};
use crate::error::{CryptoError, Result};

pub(crate) const VERIFYING_KEY_FIELD: &str = "blind.verifying_key";
pub(crate) const SIGNING_KEY_FIELD: &str = "blind.signing_key";

/// Storage precision for a value of `bits` bits: whole limbs, as `crypto-bigint` requires.
pub(crate) fn precision(bits: u32) -> u32 {
    bits.div_ceil(Limb::BITS).max(1) * Limb::BITS
}

/// Overwrites a big integer's limbs. Without `crypto-bigint`'s `zeroize` feature its own types cannot be
/// wiped, so the key types wipe the integers they own through this.
pub(crate) fn wipe(x: &mut BoxedUint) {
    x.as_mut_words().zeroize();
}

/// An RSA public key `(n, e)` used to verify RFC 9474 signatures, together with the [`Variant`] the
/// operations run. Public values only; everything it does may take variable time.
///
/// The DER `SubjectPublicKeyInfo` encoding is computed once at construction: it is the wire form (see the
/// module documentation) and the input of [`BlindVerifyingKey::fingerprint`].
#[derive(Clone)]
pub struct BlindVerifyingKey {
    pub(crate) n: Odd<BoxedUint>,
    pub(crate) e: BoxedUint,
    pub(crate) n_bits: u32,
    pub(crate) params: BoxedMontyParams,
    pub(crate) variant: Variant,
    pub(crate) spki: Vec<u8>,
}

impl PartialEq for BlindVerifyingKey {
    fn eq(&self, other: &Self) -> bool {
        self.spki == other.spki && self.variant == other.variant
    }
}

impl Eq for BlindVerifyingKey {}

impl std::fmt::Debug for BlindVerifyingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let fp = self.fingerprint();
        write!(
            f,
            "BlindVerifyingKey({} bits, {}, fingerprint {})",
            self.n_bits,
            self.variant,
            hex::encode(fp.get(..8).unwrap_or_default())
        )
    }
}

impl BlindVerifyingKey {
    /// Validates `n` (odd, within the accepted sizes) and `e` (odd, in `(2^16, 2^32)`), both given as
    /// big-endian bytes, and encodes the key.
    pub(crate) fn from_be_bytes(n: &[u8], e: &[u8]) -> Result<Self> {
        let invalid = |reason: String| CryptoError::invalid_key(VERIFYING_KEY_FIELD, reason);
        let n = BoxedUint::from_be_slice_vartime(n);
        let n_bits = n.bits_vartime();
        let min = BlindKeySize::minimum_accepted_bits();
        if n_bits < min {
            return Err(invalid(format!("modulus of {n_bits} bits is below the minimum of {min}")));
        }
        if n_bits > MAX_MODULUS_BITS {
            return Err(invalid(format!("modulus of {n_bits} bits is above the maximum of {MAX_MODULUS_BITS}")));
        }
        let n = n.resize_unchecked(precision(n_bits));
        let n = Option::<Odd<BoxedUint>>::from(Odd::new(n)).ok_or_else(|| invalid("even modulus".into()))?;
        let e =
            public_exponent(e).ok_or_else(|| invalid("public exponent not an odd integer in (2^16, 2^32)".into()))?;
        let params = BoxedMontyParams::new_vartime(n.clone());
        let mut key = Self { n, e: BoxedUint::from(e), n_bits, params, variant: Variant::default(), spki: Vec::new() };
        key.spki = super::encoding::encode_spki(&key)?;
        Ok(key)
    }

    /// The same modulus with another public exponent (big-endian bytes), for the partially blind derived key
    /// (`partially.rs`). Keeps the master key's DER encoding: a derived key is never encoded on its own.
    pub(crate) fn with_exponent(&self, e: &[u8]) -> Self {
        let e = BoxedUint::from_be_slice_vartime(e);
        Self { e, ..self.clone() }
    }

    /// Size of the modulus in bits.
    pub fn modulus_bits(&self) -> u32 {
        self.n_bits
    }

    /// `modulus_len` of RFC 9474: the byte length of blinded messages and (blind) signatures.
    pub fn modulus_len(&self) -> usize {
        self.n_bits.div_ceil(8) as usize
    }

    /// The variant this key's operations run.
    pub fn variant(&self) -> Variant {
        self.variant
    }

    /// The same RSA key running another variant. Urna only ever uses the default (one variant per key keeps
    /// signatures of different variants from being confused); the RFC 9474 test vectors need all four.
    pub fn with_variant(&self, variant: Variant) -> Self {
        Self { variant, ..self.clone() }
    }

    /// SHA-256 of the DER `SubjectPublicKeyInfo`: a short, stable name for the key in logs and records.
    pub fn fingerprint(&self) -> [u8; 32] {
        use sha2::Digest;
        sha2::Sha256::digest(&self.spki).into()
    }

    /// `RSAVP1`: `x^e mod n` for `x < n` at the modulus precision.
    pub(crate) fn rsavp1(&self, x: &BoxedUint) -> BoxedUint {
        self.monty(x.clone()).pow_bounded_exp(&self.e, self.e.bits_vartime()).retrieve()
    }

    pub(crate) fn monty(&self, x: BoxedUint) -> BoxedMontyForm {
        BoxedMontyForm::new(x, &self.params)
    }

    /// `OS2IP` for a `modulus_len`-byte string that must encode an integer below `n` (`field` names it in
    /// errors).
    pub(crate) fn os2ip(&self, field: &str, bytes: &[u8]) -> Result<BoxedUint> {
        if bytes.len() != self.modulus_len() {
            return Err(CryptoError::malformed(
                field,
                format!("expected {} bytes for a {}-bit key, got {}", self.modulus_len(), self.n_bits, bytes.len()),
            ));
        }
        let x = BoxedUint::from_be_slice(bytes, self.n.bits_precision())
            .map_err(|_| CryptoError::malformed(field, "does not fit the modulus width"))?;
        if x >= *self.n.as_ref() {
            return Err(CryptoError::out_of_range(field, "not below the modulus"));
        }
        Ok(x)
    }

    /// `I2OSP(x, modulus_len)`.
    pub(crate) fn i2osp(&self, x: &BoxedUint) -> Vec<u8> {
        let raw = x.to_be_bytes();
        let k = self.modulus_len();
        let skip = raw.len().saturating_sub(k);
        let mut out = vec![0u8; k.saturating_sub(raw.len())];
        out.extend_from_slice(raw.get(skip..).unwrap_or_default());
        out
    }
}

/// An odd exponent in `(2^16, 2^32)` from minimal big-endian bytes.
fn public_exponent(bytes: &[u8]) -> Option<u64> {
    let trimmed = bytes.iter().position(|&b| b != 0).map_or(&[][..], |i| &bytes[i..]);
    if trimmed.len() > 4 {
        return None;
    }
    let e = trimmed.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b));
    (e % 2 == 1 && e > 1 << 16 && e < 1 << 32).then_some(e)
}

/// The secret half: CRT parameters. Every integer is wiped on drop (see [`wipe`]); the Montgomery parameters
/// of `p` and `q` are `crypto-bigint` values that are only wiped if that crate's `zeroize` feature is on.
#[derive(Clone)]
pub(crate) struct CrtKey {
    pub(crate) p: BoxedUint,
    pub(crate) q: BoxedUint,
    pub(crate) d: BoxedUint,
    pub(crate) dp: BoxedUint,
    pub(crate) dq: BoxedUint,
    pub(crate) qinv: BoxedUint,
    params_p: BoxedMontyParams,
    params_q: BoxedMontyParams,
}

impl Drop for CrtKey {
    fn drop(&mut self) {
        for x in [&mut self.p, &mut self.q, &mut self.d, &mut self.dp, &mut self.dq, &mut self.qinv] {
            wipe(x);
        }
    }
}

/// An RSA private key for `BlindSign`. `Debug` is redacted; there is deliberately no serde implementation,
/// so that a signing key cannot end up in a JSON document by accident: it leaves memory only through the
/// explicit PKCS#8 functions.
#[derive(Clone)]
pub struct BlindSigningKey {
    pub(crate) crt: CrtKey,
    pub(crate) public: BlindVerifyingKey,
}

impl std::fmt::Debug for BlindSigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "BlindSigningKey(<redacted>, public: {:?})", self.public)
    }
}

impl BlindSigningKey {
    /// A fresh key: two primes of half the size with their two top bits set (so that `n` has exactly the
    /// requested size), `e = 65537`, `gcd(e, p−1) = gcd(e, q−1) = 1` and `|p − q| > 2^(|n|/2 − 100)` (FIPS
    /// 186-5 A.1.3). The prime search runs on every core with `crypto-primes` (sieve, Miller-Rabin base 2,
    /// strengthened BPSW), seeded from `rng`.
    pub fn generate<R: CryptoRng + ?Sized>(size: BlindKeySize, rng: &mut R) -> Result<Self> {
        Self::generate_with(size, Flavor::Any, rng)
    }

    /// A fresh key of two *safe* primes (`p = 2p'+1`, `q = 2q'+1`, both `p'`, `q'` prime), otherwise as
    /// [`BlindSigningKey::generate`]: what partially blind signatures require (`partially.rs`), and so what
    /// the voting-right key must be. Safe primes are rare: expect seconds to a minute at 3072 bits.
    pub fn generate_safe<R: CryptoRng + ?Sized>(size: BlindKeySize, rng: &mut R) -> Result<Self> {
        Self::generate_with(size, Flavor::Safe, rng)
    }

    /// Whether both primes are safe primes (probabilistic tests on `p`, `(p−1)/2`, `q`, `(q−1)/2`: a few
    /// milliseconds at 3072 bits). The vote service refuses a voting-right key that is not.
    pub fn has_safe_primes(&self) -> bool {
        [&self.crt.p, &self.crt.q].into_iter().all(|x| crypto_primes::is_prime(Flavor::Safe, x))
    }

    fn generate_with<R: CryptoRng + ?Sized>(size: BlindKeySize, flavor: Flavor, rng: &mut R) -> Result<Self> {
        let bits = size.modulus_bits();
        let half = bits / 2;
        let mut search = rand::rngs::StdRng::from_rng(rng);
        loop {
            let mut p = random_rsa_prime(&mut search, half, flavor)?;
            let mut q = random_rsa_prime(&mut search, bits - half, flavor)?;
            let mut diff = if p > q { p.wrapping_sub(&q) } else { q.wrapping_sub(&p) };
            // diff ≥ 2^(half − 99) > 2^(half − 100)
            let far_apart = diff.bits() > half.saturating_sub(99);
            let key = if far_apart {
                let p_bytes = Zeroizing::new(p.to_be_bytes().into_vec());
                let q_bytes = Zeroizing::new(q.to_be_bytes().into_vec());
                Some(Self::from_primes(&p_bytes, &q_bytes, &PUBLIC_EXPONENT.to_be_bytes()))
            } else {
                None
            };
            for x in [&mut p, &mut q, &mut diff] {
                wipe(x);
            }
            if let Some(key) = key {
                let key = key?;
                debug_assert_eq!(key.public.modulus_bits(), bits);
                return Ok(key);
            }
        }
    }

    /// The key with primes `p`, `q` and public exponent `e` (big-endian bytes): computes `n`, `d = e^(-1) mod
    /// lcm(p−1, q−1)` and the CRT parameters, and validates the public half like a decoded key. Primality is
    /// the caller's business (generation proves it, the PKCS#8 decoder tests it).
    pub(crate) fn from_primes(p: &[u8], q: &[u8], e: &[u8]) -> Result<Self> {
        let invalid = |reason: &str| CryptoError::invalid_key(SIGNING_KEY_FIELD, reason);
        let p = BoxedUint::from_be_slice_vartime(p);
        let q = BoxedUint::from_be_slice_vartime(q);
        let prec = precision(p.bits_vartime().max(q.bits_vartime()));
        let (p, q) = (p.resize_unchecked(prec), q.resize_unchecked(prec));
        let three = BoxedUint::from(3u32).resize_unchecked(prec);
        if p < three || q < three || p == q {
            return Err(invalid("primes must be distinct and at least 3"));
        }
        let n = p.concatenating_mul(&q);
        let public = BlindVerifyingKey::from_be_bytes(&n.to_be_bytes(), e)?;
        Self::from_primes_and_public(p, q, public)
    }

    /// The same primes with another public half (the partially blind derived exponent, `partially.rs`):
    /// recomputes `d` and the CRT parameters for `public.e`.
    pub(crate) fn with_public(&self, public: BlindVerifyingKey) -> Result<Self> {
        Self::from_primes_and_public(self.crt.p.clone(), self.crt.q.clone(), public)
    }

    /// `p`, `q` distinct, at least 3, of equal precision; `public.n = p·q`.
    fn from_primes_and_public(p: BoxedUint, q: BoxedUint, public: BlindVerifyingKey) -> Result<Self> {
        let invalid = |reason: &str| CryptoError::invalid_key(SIGNING_KEY_FIELD, reason);
        let prec = p.bits_precision();
        let odd =
            |x: &BoxedUint| Option::<Odd<BoxedUint>>::from(Odd::new(x.clone())).ok_or_else(|| invalid("even prime"));
        let (p_odd, q_odd) = (odd(&p)?, odd(&q)?);

        let one = BoxedUint::one_with_precision(prec);
        let e_prec = public.e.clone().resize_unchecked(prec);
        let inverse_mod = |x: &BoxedUint, m: &BoxedUint, what: &str| -> Result<BoxedUint> {
            let m = Option::<NonZero<BoxedUint>>::from(NonZero::new(m.clone()))
                .ok_or_else(|| invalid("prime minus one is zero"))?;
            Option::from(x.invert_mod(&m)).ok_or_else(|| invalid(what))
        };
        let mut p1 = p.wrapping_sub(&one);
        let mut q1 = q.wrapping_sub(&one);
        let dp = inverse_mod(&e_prec, &p1, "e is not invertible modulo p-1")?;
        let dq = inverse_mod(&e_prec, &q1, "e is not invertible modulo q-1")?;
        let mut q_mod_p = q.rem(p_odd.as_nz_ref());
        let qinv =
            Option::from(q_mod_p.invert_odd_mod(&p_odd)).ok_or_else(|| invalid("q is not invertible modulo p"))?;
        let mut lambda = p1.lcm(&q1);
        let e_wide = public.e.clone().resize_unchecked(lambda.bits_precision());
        let d = inverse_mod(&e_wide, &lambda, "e is not invertible modulo lcm(p-1, q-1)")?
            .resize_unchecked(public.n.bits_precision());

        for x in [&mut p1, &mut q1, &mut q_mod_p, &mut lambda] {
            wipe(x);
        }
        let crt = CrtKey {
            params_p: BoxedMontyParams::new(p_odd),
            params_q: BoxedMontyParams::new(q_odd),
            p,
            q,
            d,
            dp,
            dq,
            qinv,
        };
        Ok(Self { crt, public })
    }

    /// The public half, running the default variant.
    pub fn verifying_key(&self) -> &BlindVerifyingKey {
        &self.public
    }

    /// `RSASP1`: `x^d mod n` for `x < n` at the modulus precision, by CRT in constant time.
    pub(crate) fn rsasp1(&self, x: &BoxedUint) -> BoxedUint {
        let crt = &self.crt;
        let n_prec = self.public.n.bits_precision();
        let p = crt.params_p.modulus().as_nz_ref();
        let q = crt.params_q.modulus().as_nz_ref();
        // m1 = (x mod p)^dp mod p, m2 = (x mod q)^dq mod q
        let m1 = BoxedMontyForm::new(x.rem(p), &crt.params_p).pow(&crt.dp);
        let mut m2 = BoxedMontyForm::new(x.rem(q), &crt.params_q).pow(&crt.dq).retrieve();
        // h = qinv · (m1 − m2) mod p; s = m2 + q·h < p·q
        let m2_mod_p = BoxedMontyForm::new(m2.rem(p), &crt.params_p);
        let qinv = BoxedMontyForm::new(crt.qinv.clone(), &crt.params_p);
        let mut h = m1.sub(&m2_mod_p).mul(&qinv).retrieve();
        let mut qh = crt.q.concatenating_mul(&h).resize_unchecked(n_prec);
        let s = qh.wrapping_add(m2.clone().resize_unchecked(n_prec));
        wipe(&mut m2);
        wipe(&mut h);
        wipe(&mut qh);
        s
    }
}

/// A prime (of the given flavor) of exactly `bits` bits with its two top bits set and `p mod e ≠ 1`.
fn random_rsa_prime(rng: &mut rand::rngs::StdRng, bits: u32, flavor: Flavor) -> Result<BoxedUint> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let e = NonZero::new(BoxedUint::from(PUBLIC_EXPONENT));
    let e = Option::<NonZero<BoxedUint>>::from(e).ok_or_else(|| CryptoError::InvalidParameter("e = 0".into()))?;
    let failed = |err: crypto_primes::Error| CryptoError::InvalidParameter(format!("prime generation: {err}"));
    loop {
        let factory = SmallFactorsSieveFactory::<BoxedUint>::new(flavor, bits, SetBits::TwoMsb).map_err(failed)?;
        let found = crypto_primes::multicore::sieve_and_find(
            rng,
            factory,
            |_, candidate: &BoxedUint| crypto_primes::is_prime(flavor, candidate),
            threads,
        )
        .map_err(failed)?;
        if let Some(p) = found
            && p.rem(&e) != BoxedUint::one_with_precision(e.bits_precision())
        {
            return Ok(p);
        }
    }
}
