//! Verifying trustees' answers, combining `t` of them into the plaintexts, and the robust decryption that
//! names every trustee whose answer is wrong and which of its partials are.

use rayon::prelude::*;
use rug::Integer;

use super::partial::{self, DecryptionRequest, PartialDecryptions};
use super::{ThresholdPublicKey, TrusteeIndex, delta};
use crate::arith;
use crate::error::{CryptoError, Result};
use crate::paillier::Plaintext;

/// A trustee's answer whose proof has been checked, for the request and key it was checked against. Only
/// [`verify_decryption`] and [`decrypt`] make one, so [`combine`] cannot be handed unchecked partials.
#[derive(Debug, Clone)]
pub struct VerifiedDecryption {
    answer: PartialDecryptions,
    request_digest: [u8; 32],
    key_fingerprint: [u8; 32],
}

impl VerifiedDecryption {
    pub fn trustee(&self) -> TrusteeIndex {
        self.answer.trustee()
    }

    pub fn partials(&self) -> &PartialDecryptions {
        &self.answer
    }

    fn value(&self, (g, k): (usize, usize)) -> &Integer {
        &self.answer.values[g][k]
    }
}

/// Checks trustee `answer` to `request`: the request's ciphertexts, then the answer's shape, group membership,
/// ranges and its one batched proof (docs/protocol.md §6).
pub fn verify_decryption(
    public: &ThresholdPublicKey,
    request: &DecryptionRequest<'_>,
    answer: &PartialDecryptions,
) -> Result<VerifiedDecryption> {
    request.check(public)?;
    partial::verify(public, request, answer)?;
    Ok(verified(public, request, answer))
}

fn verified(
    public: &ThresholdPublicKey,
    request: &DecryptionRequest<'_>,
    answer: &PartialDecryptions,
) -> VerifiedDecryption {
    VerifiedDecryption {
        answer: answer.clone(),
        request_digest: request.digest(),
        key_fingerprint: public.fingerprint(),
    }
}

/// Combines the first `t` of `verified` into the plaintext of every ciphertext of `request` (PROTOCOL §5):
/// `c' = Π c_i^(2·μ_i) mod n²` with `μ_i = Δ·Π_{j≠i} j/(j-i)`, then `x = L(c')·(4Δ²)^(-1) mod n`, in parallel.
/// The result is grouped like the request.
///
/// Refuses fewer than `t` answers, repeated trustees, answers verified for another key or another request.
pub fn combine(
    public: &ThresholdPublicKey,
    request: &DecryptionRequest<'_>,
    verified: &[VerifiedDecryption],
) -> Result<Vec<Vec<Plaintext>>> {
    let t = public.threshold() as usize;
    if verified.len() < t {
        return Err(CryptoError::Mismatch(format!(
            "combine: {} verified trustees, the threshold is {t}",
            verified.len()
        )));
    }
    let chosen = &verified[..t];
    for v in chosen {
        if v.key_fingerprint != public.fingerprint() {
            return Err(CryptoError::Mismatch(format!(
                "combine: trustee {} was verified under another key",
                v.trustee()
            )));
        }
        if v.request_digest != request.digest() {
            return Err(CryptoError::Mismatch(format!("combine: trustee {} answers another request", v.trustee())));
        }
    }
    let indices: Vec<TrusteeIndex> = chosen.iter().map(VerifiedDecryption::trustee).collect();
    for (k, i) in indices.iter().enumerate() {
        public.check_trustee("partial_decryptions.trustee", *i)?;
        if indices[..k].contains(i) {
            return Err(CryptoError::Mismatch(format!("combine: trustee {i} appears twice")));
        }
    }
    let positions: Vec<(usize, usize)> = request.positions().map(|(at, _)| at).collect();
    let flat = positions
        .par_iter()
        .map(|&at| {
            let values: Vec<&Integer> = chosen.iter().map(|v| v.value(at)).collect();
            combine_values(public, &indices, &values)
                .map_err(|e| CryptoError::Mismatch(format!("{}: {e}", request.describe(at))))
        })
        .collect::<Result<Vec<_>>>()?;
    let mut flat = flat.into_iter();
    Ok(request.groups().iter().map(|g| flat.by_ref().take(g.ciphertexts.len()).collect()).collect())
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

/// Which of a rejected trustee's partials are wrong, as far as the other trustees' proven partials tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WrongPartials {
    /// Checked one by one against `t` trustees whose proofs hold: exactly these (group, position) partials are
    /// wrong. Empty when every partial is right and the proof itself is what is wrong.
    Exactly(Vec<(usize, usize)>),
    /// Only `t-1` other proofs hold: these partials, combined with them, do not decrypt, so they are certainly
    /// wrong; others may be wrong too (a partial off by a power of `1+n` combines to a wrong plaintext).
    AtLeast(Vec<(usize, usize)>),
    /// Fewer than `t-1` other proofs hold: nothing to check the partials against.
    Unlocated,
}

/// A trustee's answer [`decrypt`] set aside, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectedDecryption {
    /// The trustee the answer claims to come from (possibly out of range, which is then the reason).
    pub trustee: TrusteeIndex,
    /// Its position in the input list.
    pub position: usize,
    pub reason: CryptoError,
    /// For a failed proof, the wrong partials located; `None` for every other reason (which names the field).
    pub wrong: Option<WrongPartials>,
}

/// The outcome of [`decrypt`]: the plaintexts grouped like the request (or why there are none), the trustees
/// whose partials were combined, and every answer that was rejected. Rejections are reported even when the
/// decryption succeeds, because a trustee publishing a bad partial must be named in the record.
#[derive(Debug, Clone)]
pub struct ThresholdDecryption {
    pub plaintexts: Result<Vec<Vec<Plaintext>>>,
    pub used: Vec<TrusteeIndex>,
    pub rejected: Vec<RejectedDecryption>,
}

/// Robust threshold decryption: checks the request, rejects every repeated trustee after its first answer,
/// verifies the others (in parallel, one batched proof each), locates the wrong partials of each answer whose
/// proof fails ([`WrongPartials`]), and combines the first `t` valid answers. With fewer than `t` valid answers
/// `plaintexts` is an error and `rejected` still names the culprits.
pub fn decrypt(
    public: &ThresholdPublicKey,
    request: &DecryptionRequest<'_>,
    answers: &[PartialDecryptions],
) -> ThresholdDecryption {
    if let Err(e) = request.check(public) {
        return ThresholdDecryption { plaintexts: Err(e), used: Vec::new(), rejected: Vec::new() };
    }
    let mut rejected = Vec::new();
    let mut seen: Vec<TrusteeIndex> = Vec::new();
    let mut candidates = Vec::new();
    for (position, answer) in answers.iter().enumerate() {
        let trustee = answer.trustee();
        if seen.contains(&trustee) {
            let reason = CryptoError::Mismatch(format!("trustee {trustee} answered more than once"));
            rejected.push(RejectedDecryption { trustee, position, reason, wrong: None });
        } else {
            seen.push(trustee);
            candidates.push(position);
        }
    }
    let checks: Vec<Result<()>> =
        candidates.par_iter().map(|&p| partial::verify(public, request, &answers[p])).collect();
    let mut valid = Vec::new();
    let mut failed = Vec::new();
    for (&position, check) in candidates.iter().zip(checks) {
        match check {
            Ok(()) => valid.push(verified(public, request, &answers[position])),
            Err(reason) => failed.push((position, reason)),
        }
    }
    for (position, reason) in failed {
        let answer = &answers[position];
        let wrong =
            matches!(reason, CryptoError::ProofRejected { .. }).then(|| locate(public, request, answer, &valid));
        rejected.push(RejectedDecryption { trustee: answer.trustee(), position, reason, wrong });
    }
    rejected.sort_by_key(|r| r.position);
    let t = public.threshold() as usize;
    let plaintexts = if valid.len() < t {
        Err(CryptoError::Mismatch(format!(
            "decrypt: {} valid answers, the threshold is {t} ({} rejected)",
            valid.len(),
            rejected.len()
        )))
    } else {
        combine(public, request, &valid)
    };
    let used =
        if plaintexts.is_ok() { valid.iter().take(t).map(VerifiedDecryption::trustee).collect() } else { Vec::new() };
    ThresholdDecryption { plaintexts, used, rejected }
}

/// The per-partial fallback behind a failed batch (docs/protocol.md §6, "Locating a wrong partial").
///
/// With `t` proven trustees `S`: Lagrange interpolation in the exponent gives, for a right partial,
/// `c_{i,k}^(2Δ) = Π_{j∈S} c_{j,k}^(2·Δ·λ_j(i))`, exact up to nothing (both sides are squares, and `Δ` is
/// invertible modulo the order of the squares), with exponents of a few bits. With `t-1` proven trustees, the
/// suspect's partial combined with theirs must give `c' ≡ 1 (mod n)`; one that does not is certainly wrong.
fn locate(
    public: &ThresholdPublicKey,
    request: &DecryptionRequest<'_>,
    suspect: &PartialDecryptions,
    good: &[VerifiedDecryption],
) -> WrongPartials {
    let t = public.threshold() as usize;
    let n2 = public.paillier().n_squared();
    let i = suspect.trustee();
    let positions: Vec<(usize, usize)> = request.positions().map(|(at, _)| at).collect();
    let suspect_value = |(g, k): (usize, usize)| &suspect.values[g][k];
    if good.len() >= t {
        let chosen = &good[..t];
        let delta = delta(public.trustees());
        let points: Vec<i64> = chosen.iter().map(|v| i64::from(v.trustee().get())).collect();
        let Ok(exponents) = (0..t)
            .map(|j| lagrange_times_delta(&delta, &points, j, i64::from(i.get())).map(|l| l << 1u32))
            .collect::<Result<Vec<Integer>>>()
        else {
            return WrongPartials::Unlocated;
        };
        let two_delta = Integer::from(&delta << 1u32);
        let wrong = positions
            .par_iter()
            .filter(|&&at| {
                let bases: Vec<&Integer> = chosen.iter().map(|v| v.value(at)).collect();
                product_of_powers(&bases, &exponents, n2) != Some(arith::pow_mod(suspect_value(at), &two_delta, n2))
            })
            .copied()
            .collect();
        WrongPartials::Exactly(wrong)
    } else if good.len() + 1 == t {
        let mut indices: Vec<TrusteeIndex> = good.iter().map(VerifiedDecryption::trustee).collect();
        indices.push(i);
        let wrong = positions
            .par_iter()
            .filter(|&&at| {
                let mut values: Vec<&Integer> = good.iter().map(|v| v.value(at)).collect();
                values.push(suspect_value(at));
                combine_values(public, &indices, &values).is_err()
            })
            .copied()
            .collect();
        WrongPartials::AtLeast(wrong)
    } else {
        WrongPartials::Unlocated
    }
}
