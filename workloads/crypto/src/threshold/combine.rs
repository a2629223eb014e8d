//! Verifying partial decryptions and combining `t` of them into the plaintext.

use rayon::prelude::*;
use rug::Integer;

use super::partial::{self, DecryptionContext, PartialDecryption};
use super::{ThresholdPublicKey, TrusteeIndex, delta};
use crate::arith;
use crate::error::{CryptoError, Result};
use crate::paillier::{Ciphertext, Plaintext};

/// A partial decryption whose proof has been checked, for the ciphertext and key it carries. Only
/// [`verify_partial`] makes one, so [`combine`] cannot be handed an unchecked share.
#[derive(Debug, Clone)]
pub struct VerifiedPartial {
    partial: PartialDecryption,
    ciphertext: Ciphertext,
    key_fingerprint: [u8; 32],
}

impl VerifiedPartial {
    pub fn trustee(&self) -> TrusteeIndex {
        self.partial.trustee()
    }

    pub fn partial(&self) -> &PartialDecryption {
        &self.partial
    }
}

/// Checks `partial` (its index, group membership of `c` and `c_i`, the bound on the response and the
/// Chaum-Pedersen proof) for `ciphertext` in `context`.
pub fn verify_partial(
    public: &ThresholdPublicKey,
    ciphertext: &Ciphertext,
    context: &DecryptionContext,
    partial: &PartialDecryption,
) -> Result<VerifiedPartial> {
    partial::verify(public, ciphertext, context, partial)?;
    Ok(VerifiedPartial {
        partial: partial.clone(),
        ciphertext: ciphertext.clone(),
        key_fingerprint: public.fingerprint(),
    })
}

/// Combines the first `t` of `partials` into the plaintext (PROTOCOL §5):
/// `c' = Π c_i^(2·μ_i) mod n²` with `μ_i = Δ·Π_{j≠i} j/(j-i)`, then `x = L(c')·(4Δ²)^(-1) mod n`.
///
/// Refuses fewer than `t` partials, duplicate trustees, partials verified for another key or for different
/// ciphertexts.
pub fn combine(public: &ThresholdPublicKey, partials: &[VerifiedPartial]) -> Result<Plaintext> {
    let t = public.threshold() as usize;
    if partials.len() < t {
        return Err(CryptoError::Mismatch(format!(
            "combine: {} partial decryptions, the threshold is {t}",
            partials.len()
        )));
    }
    let chosen = &partials[..t];
    let first = &chosen[0];
    for p in chosen {
        if p.key_fingerprint != public.fingerprint() {
            return Err(CryptoError::Mismatch(format!(
                "combine: trustee {}'s partial was verified under another key",
                p.trustee()
            )));
        }
        if p.ciphertext != first.ciphertext {
            return Err(CryptoError::Mismatch(format!(
                "combine: trustee {}'s partial decrypts another ciphertext",
                p.trustee()
            )));
        }
    }
    let indices: Vec<TrusteeIndex> = chosen.iter().map(VerifiedPartial::trustee).collect();
    for (k, i) in indices.iter().enumerate() {
        public.check_trustee("partial_decryption.trustee", *i)?;
        if indices[..k].contains(i) {
            return Err(CryptoError::Mismatch(format!("combine: trustee {i} appears twice")));
        }
    }
    let values: Vec<&Integer> = chosen.iter().map(|p| &p.partial.value).collect();
    combine_values(public, &indices, &values)
}

/// The arithmetic of [`combine`] on distinct, in-range indices and unit values.
pub(crate) fn combine_values(
    public: &ThresholdPublicKey,
    indices: &[TrusteeIndex],
    values: &[&Integer],
) -> Result<Plaintext> {
    let pk = public.paillier();
    let (n, n2) = (pk.n(), pk.n_squared());
    let delta = delta(public.trustees());
    let points: Vec<i64> = indices.iter().map(|i| i64::from(i.get())).collect();
    // c' = Π c_i^(2·μ_i), the exponents being μ_i = Δ·λ_i(0).
    let exponents = (0..points.len())
        .map(|k| lagrange_times_delta(&delta, &points, k, 0).map(|mu| mu << 1u32))
        .collect::<Result<Vec<_>>>()?;
    let acc = product_of_powers(values, &exponents, n2)
        .ok_or_else(|| CryptoError::out_of_range("partial_decryption.value", "not invertible modulo n²"))?;
    // c' = 1 + 4Δ²·x·n mod n²; anything else means a partial was wrong, which verification excludes.
    let mut l = acc - 1u32;
    let rem = Integer::from(&l % n);
    if rem != 0 {
        return Err(CryptoError::Mismatch("combine: the combined value is not 1 mod n".to_owned()));
    }
    l /= n;
    let four_delta_sq = Integer::from(delta.square_ref()) << 2u32;
    let inv = arith::invert(&four_delta_sq, n)
        .ok_or_else(|| CryptoError::invalid_key("paillier.n", "shares a factor with 4Δ²"))?;
    let mut x = arith::mul_mod(&l, &inv, n);
    if x < 0 {
        x += n;
    }
    Ok(Plaintext(x))
}

/// `Π bases[k]^exponents[k] mod m` for public, possibly negative, exponents (a negative one inverts its base);
/// `None` if such a base has no inverse.
pub(crate) fn product_of_powers(bases: &[&Integer], exponents: &[Integer], m: &Integer) -> Option<Integer> {
    let mut acc = Integer::from(1);
    for (base, exp) in bases.iter().zip(exponents) {
        let magnitude = Integer::from(exp.abs_ref());
        let base = if *exp < 0 { arith::invert(base, m)? } else { (*base).clone() };
        acc = arith::mul_mod(&acc, &arith::pow_mod(&base, &magnitude, m), m);
    }
    Some(acc)
}

/// `Δ·λ_k(target)` with `λ_k(X) = Π_{j≠k} (X - x_j)/(x_k - x_j)` the Lagrange basis polynomial of the points
/// `x`. It is an integer whenever the points are distinct in `1..=l` and `Δ = l!` (Shoup's lemma): the
/// factors `|x_k - x_j|` with `x_j < x_k` are distinct integers in `1..x_k`, those with `x_j > x_k` distinct in
/// `1..=l-x_k`, so the denominator divides `(x_k-1)!·(l-x_k)!`, which divides `l!`. At `target = 0` this is
/// PROTOCOL §5's `μ_i = Δ·Π_{j≠i} j/(j-i)`.
pub(crate) fn lagrange_times_delta(delta: &Integer, points: &[i64], k: usize, target: i64) -> Result<Integer> {
    let i = points[k];
    let mut num = delta.clone();
    let mut den = Integer::from(1);
    for (m, &j) in points.iter().enumerate() {
        if m != k {
            num *= target - j;
            den *= i - j;
        }
    }
    if den == 0 {
        return Err(CryptoError::Mismatch("combine: duplicate trustee indices".to_owned()));
    }
    if !num.is_divisible(&den) {
        return Err(CryptoError::Mismatch("combine: Lagrange coefficient is not an integer".to_owned()));
    }
    Ok(num.div_exact(&den))
}

/// A partial decryption [`decrypt`] set aside, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedPartial {
    /// The trustee the partial claims to come from (as decoded; possibly out of range, which is the reason).
    pub trustee: TrusteeIndex,
    /// Its position in the input list.
    pub position: usize,
    pub reason: CryptoError,
}

/// The outcome of [`decrypt`]: the plaintext (or why there is none), the trustees whose partials were
/// combined, and every partial that was rejected. Rejections are reported even when the decryption succeeds,
/// because a trustee publishing a bad partial must be named in the record.
#[derive(Debug, Clone)]
pub struct ThresholdDecryption {
    pub plaintext: Result<Plaintext>,
    pub used: Vec<TrusteeIndex>,
    pub rejected: Vec<RejectedPartial>,
}

/// Robust threshold decryption: verifies every partial (in parallel), rejects invalid ones, out-of-range
/// indices and repeated indices (every occurrence after the first), and combines the first `t` valid ones.
/// With fewer than `t` valid partials `plaintext` is an error and `rejected` still names the culprits.
pub fn decrypt(
    public: &ThresholdPublicKey,
    ciphertext: &Ciphertext,
    context: &DecryptionContext,
    partials: &[PartialDecryption],
) -> ThresholdDecryption {
    if let Err(e) = public.paillier().check_ciphertext("ciphertext", ciphertext) {
        return ThresholdDecryption { plaintext: Err(e), used: Vec::new(), rejected: Vec::new() };
    }
    let checks: Vec<Result<VerifiedPartial>> =
        partials.par_iter().map(|p| verify_partial(public, ciphertext, context, p)).collect();
    let mut valid: Vec<VerifiedPartial> = Vec::new();
    let mut seen: Vec<TrusteeIndex> = Vec::new();
    let mut rejected = Vec::new();
    for (position, (partial, check)) in partials.iter().zip(checks).enumerate() {
        let trustee = partial.trustee();
        if seen.contains(&trustee) {
            let reason = CryptoError::Mismatch(format!("trustee {trustee} submitted more than one partial"));
            rejected.push(RejectedPartial { trustee, position, reason });
            continue;
        }
        seen.push(trustee);
        match check {
            Ok(v) => valid.push(v),
            Err(reason) => rejected.push(RejectedPartial { trustee, position, reason }),
        }
    }
    let t = public.threshold() as usize;
    let used: Vec<TrusteeIndex> = valid.iter().take(t).map(VerifiedPartial::trustee).collect();
    let plaintext = if valid.len() < t {
        Err(CryptoError::Mismatch(format!(
            "decrypt: {} valid partial decryptions, the threshold is {t} ({} rejected)",
            valid.len(),
            rejected.len()
        )))
    } else {
        combine(public, &valid)
    };
    let used = if plaintext.is_ok() { used } else { Vec::new() };
    ThresholdDecryption { plaintext, used, rejected }
}
