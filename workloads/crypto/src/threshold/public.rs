//! The threshold public key: the Paillier key everybody encrypts under, plus what verifying partial
//! decryptions needs (the threshold, the number of trustees, `v` and the verification keys `v_i`).

use rug::Integer;

use super::MAX_TRUSTEES;
use crate::arith;
use crate::error::{CryptoError, Result};
use crate::paillier::PublicKey;
use crate::transcript::Transcript;

/// A trustee's number, `1..=l` (the point at which the sharing polynomial is evaluated for them).
///
/// The type only guarantees `1..=MAX_TRUSTEES`; every operation also checks the index against the key's `l`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(transparent)]
pub struct TrusteeIndex(u32);

impl TrusteeIndex {
    pub fn new(index: u32) -> Result<Self> {
        if index == 0 || index > MAX_TRUSTEES {
            return Err(CryptoError::out_of_range("trustee", format!("{index} is not in 1..={MAX_TRUSTEES}")));
        }
        Ok(Self(index))
    }

    pub fn get(self) -> u32 {
        self.0
    }

    /// Zero-based position in per-trustee lists.
    pub(crate) fn position(self) -> usize {
        self.0 as usize - 1
    }
}

impl<'de> serde::Deserialize<'de> for TrusteeIndex {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let raw = u32::deserialize(d)?;
        Self::new(raw).map_err(serde::de::Error::custom)
    }
}

impl std::fmt::Display for TrusteeIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A trustee's verification key `v_i = v^(Δ·s_i) mod n²`: the public image of their share that partial
/// decryption proofs are checked against.
#[derive(Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct VerificationKey(#[serde(with = "arith::hex_integer")] pub(crate) Integer);

impl VerificationKey {
    pub fn to_hex(&self) -> String {
        arith::to_hex(&self.0)
    }
}

impl std::fmt::Debug for VerificationKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let h = arith::to_hex(&self.0);
        write!(f, "VerificationKey({}…)", &h[..h.len().min(16)])
    }
}

/// The public side of a threshold key (PROTOCOL §5).
///
/// Constructed only by the ceremony or by the strict decoder, so every value of this type satisfies: the
/// Paillier modulus passes [`PublicKey`]'s checks; `1 ≤ t ≤ l ≤ MAX_TRUSTEES`; there are exactly `l`
/// verification keys; `v` and every `v_i` are units of `Z*_{n²}`, `v` has Jacobi symbol 1 modulo `n` (squares
/// do) and `v² ≠ 1` (so `v` cannot be one of the elements of order at most two that would make every proof
/// vacuous).
#[derive(Clone, PartialEq, Eq)]
pub struct ThresholdPublicKey {
    paillier: PublicKey,
    threshold: u32,
    trustees: u32,
    v: Integer,
    verification_keys: Vec<VerificationKey>,
    fingerprint: [u8; 32],
}

/// Wire form. Version 1 is the only one; the decoder refuses any other so that a future format cannot be
/// misread as this one.
#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Repr {
    version: u32,
    paillier: PublicKey,
    threshold: u32,
    trustees: u32,
    v: String,
    verification_keys: Vec<String>,
}

pub(crate) const FORMAT_VERSION: u32 = 1;

impl ThresholdPublicKey {
    /// Checks every invariant listed on the type; errors name the offending field.
    pub(crate) fn new(
        paillier: PublicKey,
        threshold: u32,
        trustees: u32,
        v: Integer,
        verification_keys: Vec<Integer>,
    ) -> Result<Self> {
        check_parameters(threshold, trustees)?;
        if verification_keys.len() != trustees as usize {
            return Err(CryptoError::invalid_key(
                "threshold_public_key.verification_keys",
                format!("{} keys for {trustees} trustees", verification_keys.len()),
            ));
        }
        let n = paillier.n();
        let n2 = paillier.n_squared();
        arith::check_unit("threshold_public_key.v", &v, n2, n)?;
        if v.jacobi(n) != 1 {
            return Err(CryptoError::invalid_key("threshold_public_key.v", "not a square (Jacobi symbol is not 1)"));
        }
        if arith::mul_mod(&v, &v, n2) == 1 {
            return Err(CryptoError::invalid_key("threshold_public_key.v", "has order at most two"));
        }
        for (i, vk) in verification_keys.iter().enumerate() {
            arith::check_unit(&format!("threshold_public_key.verification_keys[{i}]"), vk, n2, n)?;
        }
        let verification_keys: Vec<VerificationKey> = verification_keys.into_iter().map(VerificationKey).collect();
        let fingerprint = fingerprint(&paillier, threshold, trustees, &v, &verification_keys);
        Ok(Self { paillier, threshold, trustees, v, verification_keys, fingerprint })
    }

    /// The Paillier key ballots are encrypted under.
    pub fn paillier(&self) -> &PublicKey {
        &self.paillier
    }

    /// `t`: how many trustees must take part in a decryption.
    pub fn threshold(&self) -> u32 {
        self.threshold
    }

    /// `l`: how many trustees hold shares.
    pub fn trustees(&self) -> u32 {
        self.trustees
    }

    /// The indices `1..=l`.
    pub fn trustee_indices(&self) -> impl Iterator<Item = TrusteeIndex> + '_ {
        (1..=self.trustees).map(TrusteeIndex)
    }

    /// `v_i` for trustee `index`, if `index ≤ l`.
    pub fn verification_key(&self, index: TrusteeIndex) -> Option<&VerificationKey> {
        self.verification_keys.get(index.position())
    }

    /// `index` itself when it names one of this key's trustees.
    pub fn check_trustee(&self, field: &str, index: TrusteeIndex) -> Result<TrusteeIndex> {
        if index.0 > self.trustees {
            return Err(CryptoError::out_of_range(field, format!("trustee {index} is not in 1..={}", self.trustees)));
        }
        Ok(index)
    }

    /// SHA-256 transcript (`urna/v1/threshold-public-key`) over `n, t, l, v, v_1, …, v_l`: how proofs, share
    /// files and records name this key.
    pub fn fingerprint(&self) -> [u8; 32] {
        self.fingerprint
    }

    pub fn fingerprint_hex(&self) -> String {
        hex::encode(self.fingerprint)
    }

    pub(crate) fn v(&self) -> &Integer {
        &self.v
    }

    pub fn to_json(&self) -> String {
        // Serialising plain strings and numbers cannot fail.
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Strict decoder: unknown fields, a wrong version, non-canonical hex and every broken invariant are errors
    /// naming the field.
    pub fn from_json(json: &str) -> Result<Self> {
        serde_json::from_str(json).map_err(|e| CryptoError::malformed("threshold_public_key", e.to_string()))
    }

    fn from_repr(r: Repr) -> Result<Self> {
        if r.version != FORMAT_VERSION {
            return Err(CryptoError::malformed(
                "threshold_public_key.version",
                format!("version {} is not {FORMAT_VERSION}", r.version),
            ));
        }
        let v = arith::from_hex("threshold_public_key.v", &r.v)?;
        let keys = r
            .verification_keys
            .iter()
            .enumerate()
            .map(|(i, s)| arith::from_hex(&format!("threshold_public_key.verification_keys[{i}]"), s))
            .collect::<Result<Vec<_>>>()?;
        Self::new(r.paillier, r.threshold, r.trustees, v, keys)
    }
}

/// `1 ≤ t ≤ l ≤ MAX_TRUSTEES`.
pub(crate) fn check_parameters(threshold: u32, trustees: u32) -> Result<()> {
    if trustees == 0 || trustees > MAX_TRUSTEES {
        return Err(CryptoError::InvalidParameter(format!("trustees: {trustees} is not in 1..={MAX_TRUSTEES}")));
    }
    if threshold == 0 || threshold > trustees {
        return Err(CryptoError::InvalidParameter(format!("threshold: {threshold} is not in 1..={trustees}")));
    }
    Ok(())
}

fn fingerprint(pk: &PublicKey, t: u32, l: u32, v: &Integer, keys: &[VerificationKey]) -> [u8; 32] {
    let mut tr = Transcript::new("threshold-public-key");
    tr.append_integer(pk.n());
    tr.append_u64(u64::from(t));
    tr.append_u64(u64::from(l));
    tr.append_integer(v);
    for k in keys {
        tr.append_integer(&k.0);
    }
    tr.finalize()
}

impl serde::Serialize for ThresholdPublicKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        Repr {
            version: FORMAT_VERSION,
            paillier: self.paillier.clone(),
            threshold: self.threshold,
            trustees: self.trustees,
            v: arith::to_hex(&self.v),
            verification_keys: self.verification_keys.iter().map(VerificationKey::to_hex).collect(),
        }
        .serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for ThresholdPublicKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        Self::from_repr(Repr::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

impl std::fmt::Debug for ThresholdPublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "ThresholdPublicKey({}-of-{}, {} bits, {})",
            self.threshold,
            self.trustees,
            self.paillier.modulus_bits(),
            hex::encode(&self.fingerprint[..8])
        )
    }
}
