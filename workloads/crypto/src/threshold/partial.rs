//! A trustee's partial decryptions `c_{i,k} = c_k^(2Δ·s_i) mod n²` of every ciphertext of a request, with ONE
//! proof that all of them are correct (docs/protocol.md §6, "Partial decryption").
//!
//! The proof is a random linear combination followed by one Chaum-Pedersen proof. After every ciphertext and
//! every partial is fixed, Fiat-Shamir derives 128-bit weights `ρ_k` from all of them; the combinations
//! `C = Π c_k^ρ_k` and `C_i = Π c_{i,k}^ρ_k` are two bucket-method multi-exponentiations with short exponents,
//! and the Chaum-Pedersen proof shows `log_{C⁴}(C_i²) = log_v(v_i)` in the group of squares of `Z*_{n²}`, whose
//! order `n·p'·q'` is secret. Exponents therefore live in the integers: the random exponent `r` has
//! `|n²| + 512` bits so that `z = r + e·Δ·s_i`, computed over the integers, hides `s_i` statistically (see
//! [`super::MAX_TRUSTEES`]). The trustee pays one constant-time exponentiation per ciphertext plus a fixed
//! cost; a verifier pays two short multi-exponentiations plus the same fixed cost.

use rand_core::CryptoRng;
use rayon::prelude::*;
use rug::Integer;

use super::{KeyShare, ThresholdPublicKey, TrusteeIndex, delta, wipe};
use crate::arith;
use crate::error::{CryptoError, Result};
use crate::paillier::Ciphertext;
use crate::proofs::multi_exp;
use crate::transcript::Transcript;

/// Challenges are SHA-256 outputs read as integers.
pub(crate) const CHALLENGE_BITS: u32 = 256;

/// Bits of each batch weight: a wrong partial survives the combination with probability at most `2^-128`.
pub(crate) const WEIGHT_BITS: u32 = 128;

/// The name of the proof in errors.
const PROOF: &str = "partial-decryption";

/// Names what a group of ciphertexts is, so that a proof made for one decryption fails for every other (strong
/// Fiat-Shamir, PROTOCOL "Notation"): a contest total, a write-in, the ceremony's self-test.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecryptionContext {
    /// The election's identifier.
    pub election_id: String,
    /// SHA-256 of the election manifest, lowercase hex in JSON (all zero where no manifest exists yet: the
    /// ceremony's self-test).
    #[serde(with = "hex::serde")]
    pub manifest_hash: [u8; 32],
    /// What is being decrypted, e.g. `tally/<shard>/<ballotStyle>/<contestId>` or `write-in/<ballot id>`.
    pub subject: String,
}

impl DecryptionContext {
    pub fn new(election_id: impl Into<String>, manifest_hash: [u8; 32], subject: impl Into<String>) -> Self {
        Self { election_id: election_id.into(), manifest_hash, subject: subject.into() }
    }

    pub fn from_json(json: &str) -> Result<Self> {
        serde_json::from_str(json).map_err(|e| CryptoError::malformed("decryption_context", e.to_string()))
    }

    fn append_to(&self, t: &mut Transcript) {
        t.append_str(&self.election_id);
        t.append_bytes(&self.manifest_hash);
        t.append_str(&self.subject);
    }
}

/// Ciphertexts decrypted under one context.
#[derive(Debug, Clone, Copy)]
pub struct DecryptionGroup<'a> {
    pub context: &'a DecryptionContext,
    pub ciphertexts: &'a [Ciphertext],
}

/// Everything one decryption asks of the trustees: groups of ciphertexts, each under its context. Its
/// [`DecryptionRequest::digest`] names the whole request in every trustee's proof, so an answer to one request
/// is refused for every other.
#[derive(Debug, Clone)]
pub struct DecryptionRequest<'a> {
    groups: Vec<DecryptionGroup<'a>>,
    digest: [u8; 32],
}

impl<'a> DecryptionRequest<'a> {
    /// The digest is `H("decryption-request", #groups, (election_id, manifest_hash, subject, #ciphertexts,
    /// c…)…)`.
    pub fn new(groups: Vec<DecryptionGroup<'a>>) -> Self {
        let mut t = Transcript::new("decryption-request");
        t.append_u64(groups.len() as u64);
        for g in &groups {
            g.context.append_to(&mut t);
            t.append_u64(g.ciphertexts.len() as u64);
            for c in g.ciphertexts {
                t.append_ciphertext(c);
            }
        }
        Self { groups, digest: t.finalize() }
    }

    /// A request of one group.
    pub fn single(context: &'a DecryptionContext, ciphertexts: &'a [Ciphertext]) -> Self {
        Self::new(vec![DecryptionGroup { context, ciphertexts }])
    }

    pub fn groups(&self) -> &[DecryptionGroup<'a>] {
        &self.groups
    }

    pub fn digest(&self) -> [u8; 32] {
        self.digest
    }

    /// The number of ciphertexts over all groups.
    pub fn len(&self) -> usize {
        self.groups.iter().map(|g| g.ciphertexts.len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every ciphertext in group order, with its (group, position).
    pub(crate) fn positions(&self) -> impl Iterator<Item = ((usize, usize), &'a Ciphertext)> + '_ {
        self.groups
            .iter()
            .enumerate()
            .flat_map(|(g, group)| group.ciphertexts.iter().enumerate().map(move |(k, c)| ((g, k), c)))
    }

    /// Names position `k` of group `g` in errors: `<subject> ciphertext <k>`.
    pub fn describe(&self, (g, k): (usize, usize)) -> String {
        match self.groups.get(g) {
            Some(group) => format!("{} ciphertext {k}", group.context.subject),
            None => format!("group {g} ciphertext {k}"),
        }
    }

    /// Every ciphertext is a unit of `Z*_{n²}`. Ranges are checked one by one; coprimality with `n` once for
    /// the product of all of them (a prime factor of `n` divides the product iff it divides a factor), and
    /// one by one only to name the culprit.
    pub fn check(&self, public: &ThresholdPublicKey) -> Result<()> {
        let values: Vec<((usize, usize), &Integer)> = self.positions().map(|(at, c)| (at, &c.0)).collect();
        check_units(public, &values, |at| format!("ciphertext ({})", self.describe(at)))
    }
}

/// `0 < x < n²` for each value and `gcd(Π x mod n, n) = 1`; the error names the first culprit with `field`.
fn check_units(
    public: &ThresholdPublicKey,
    values: &[((usize, usize), &Integer)],
    field: impl Fn((usize, usize)) -> String,
) -> Result<()> {
    let pk = public.paillier();
    let (n, n2) = (pk.n(), pk.n_squared());
    for (at, x) in values {
        if **x <= 0 || *x >= n2 {
            return Err(CryptoError::out_of_range(field(*at), "not in (0, n²)"));
        }
    }
    let product = values.iter().fold(Integer::from(1), |acc, (_, x)| arith::mul_mod(&acc, x, n));
    if product.gcd(n) != 1 {
        for (at, x) in values {
            arith::check_unit(&field(*at), x, n2, n)?;
        }
    }
    Ok(())
}

/// The Chaum-Pedersen proof `(e, z)` of the combination: `e` the 256-bit challenge, `z = r + e·Δ·s_i` over
/// the integers.
#[derive(Clone, PartialEq, Eq)]
pub struct DecryptionProof {
    challenge: Integer,
    response: Integer,
}

/// Trustee `i`'s answer to a [`DecryptionRequest`]: `values[g][k] = c^(2Δ·s_i)` for ciphertext `k` of group
/// `g`, and one proof for all of them.
///
/// Decoding checks only the encoding (canonical hex, `1 ≤ trustee ≤ MAX_TRUSTEES`, challenge below `2^256`);
/// shape, group membership and the proof depend on the key and the request and are checked by
/// [`super::verify_decryption`].
#[derive(Clone, PartialEq, Eq)]
pub struct PartialDecryptions {
    trustee: TrusteeIndex,
    pub(crate) values: Vec<Vec<Integer>>,
    proof: DecryptionProof,
}

#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct ProofRepr {
    challenge: String,
    response: String,
}

#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Repr {
    trustee: TrusteeIndex,
    values: Vec<Vec<String>>,
    proof: ProofRepr,
}

impl PartialDecryptions {
    pub fn trustee(&self) -> TrusteeIndex {
        self.trustee
    }

    /// The number of values in each group.
    pub fn shape(&self) -> Vec<usize> {
        self.values.iter().map(Vec::len).collect()
    }

    pub fn proof(&self) -> &DecryptionProof {
        &self.proof
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn from_json(json: &str) -> Result<Self> {
        serde_json::from_str(json).map_err(|e| CryptoError::malformed("partial_decryptions", e.to_string()))
    }

    fn from_repr(r: Repr) -> Result<Self> {
        let values = r
            .values
            .iter()
            .enumerate()
            .map(|(g, group)| {
                group
                    .iter()
                    .enumerate()
                    .map(|(k, s)| arith::from_hex(&format!("partial_decryptions.values[{g}][{k}]"), s))
                    .collect::<Result<Vec<_>>>()
            })
            .collect::<Result<Vec<_>>>()?;
        let challenge = arith::from_hex("partial_decryptions.proof.challenge", &r.proof.challenge)?;
        if challenge.significant_bits() > CHALLENGE_BITS {
            return Err(CryptoError::out_of_range("partial_decryptions.proof.challenge", "longer than 256 bits"));
        }
        let response = arith::from_hex("partial_decryptions.proof.response", &r.proof.response)?;
        Ok(Self { trustee: r.trustee, values, proof: DecryptionProof { challenge, response } })
    }
}

impl serde::Serialize for PartialDecryptions {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        Repr {
            trustee: self.trustee,
            values: self.values.iter().map(|g| g.iter().map(arith::to_hex).collect()).collect(),
            proof: ProofRepr {
                challenge: arith::to_hex(&self.proof.challenge),
                response: arith::to_hex(&self.proof.response),
            },
        }
        .serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for PartialDecryptions {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        Self::from_repr(Repr::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

impl std::fmt::Debug for PartialDecryptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "PartialDecryptions(trustee {}, shape {:?})", self.trustee, self.shape())
    }
}

impl std::fmt::Debug for DecryptionProof {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "DecryptionProof(e = {})", arith::to_hex(&self.challenge))
    }
}

/// Every value with its (group, position).
fn positioned(values: &[Vec<Integer>]) -> Vec<((usize, usize), &Integer)> {
    values.iter().enumerate().flat_map(|(g, vs)| vs.iter().enumerate().map(move |(k, v)| ((g, k), v))).collect()
}

/// Bits of the prover's random exponent: `|n²| + 2·256`.
pub(crate) fn nonce_bits(public: &ThresholdPublicKey) -> u32 {
    public.paillier().n_squared().significant_bits() + 2 * CHALLENGE_BITS
}

/// The seed every weight and the challenge derive from: `σ = H("partial-decryption-batch", request digest,
/// threshold-key fingerprint, i, N, c_{i,1}, …, c_{i,N})`. The request digest binds the election, the manifest,
/// every subject and every ciphertext; `σ` is computed only once all partials are fixed.
fn seed(
    public: &ThresholdPublicKey,
    request: &DecryptionRequest<'_>,
    trustee: TrusteeIndex,
    values: &[&Integer],
) -> [u8; 32] {
    let mut t = Transcript::new("partial-decryption-batch");
    t.append_bytes(&request.digest());
    t.append_bytes(&public.fingerprint());
    t.append_u64(u64::from(trustee.get()));
    t.append_u64(values.len() as u64);
    for v in values {
        t.append_integer(v);
    }
    t.finalize()
}

/// `ρ_k` = the first 128 bits of `H("partial-decryption-batch/weight", σ, k)`, for `k = 0..count`.
fn weights(seed: &[u8; 32], count: usize) -> Vec<Integer> {
    (0..count)
        .into_par_iter()
        .map(|k| {
            let mut t = Transcript::new("partial-decryption-batch/weight");
            t.append_bytes(seed);
            t.append_u64(k as u64);
            arith::from_bytes(&t.finalize()[..(WEIGHT_BITS / 8) as usize])
        })
        .collect()
}

/// `(C, C_i) = (Π c_k^ρ_k, Π c_{i,k}^ρ_k) mod n²`, each a bucket-method multi-exponentiation.
fn combinations(
    public: &ThresholdPublicKey,
    ciphertexts: &[&Integer],
    values: &[&Integer],
    weights: &[Integer],
) -> (Integer, Integer) {
    let n2 = public.paillier().n_squared();
    let (c_terms, v_terms) = (weighted(ciphertexts, weights), weighted(values, weights));
    rayon::join(|| multi_exp(&c_terms, n2), || multi_exp(&v_terms, n2))
}

fn weighted<'a>(bases: &[&'a Integer], weights: &[Integer]) -> Vec<(&'a Integer, Integer)> {
    bases.iter().zip(weights).map(|(b, w)| (*b, w.clone())).collect()
}

/// `e = H("partial-decryption-batch/challenge", σ, C, C_i, a, b)`.
fn challenge(seed: &[u8; 32], big_c: &Integer, big_ci: &Integer, a: &Integer, b: &Integer) -> Integer {
    let mut t = Transcript::new("partial-decryption-batch/challenge");
    t.append_bytes(seed);
    for x in [big_c, big_ci, a, b] {
        t.append_integer(x);
    }
    t.challenge()
}

/// Recomputes `a = (C⁴)^z·(C_i²)^(-e)` and `b = v^z·v_i^(-e)` and checks that they hash to `e`.
fn check_proof(
    public: &ThresholdPublicKey,
    trustee: TrusteeIndex,
    seed: &[u8; 32],
    (big_c, big_ci): (&Integer, &Integer),
    proof: &DecryptionProof,
) -> Result<()> {
    let n2 = public.paillier().n_squared();
    let vk = public
        .verification_key(trustee)
        .ok_or_else(|| CryptoError::out_of_range("partial_decryptions.trustee", "no verification key"))?;
    let DecryptionProof { challenge: e, response: z } = proof;
    let c4 = arith::pow_mod(big_c, &Integer::from(4), n2);
    let ci2 = arith::mul_mod(big_ci, big_ci, n2);
    // The inverses exist: C_i and v_i are products of units.
    let recompute = |base: &Integer, image: &Integer| -> Result<Integer> {
        let (lhs, rhs) = rayon::join(|| arith::pow_mod(base, z, n2), || arith::pow_mod(image, e, n2));
        let inv = arith::invert(&rhs, n2)
            .ok_or_else(|| CryptoError::rejected(PROOF, format!("trustee {trustee}: an image is not invertible")))?;
        Ok(arith::mul_mod(&lhs, &inv, n2))
    };
    let (a, b) = rayon::join(|| recompute(&c4, &ci2), || recompute(public.v(), &vk.0));
    if challenge(seed, big_c, big_ci, &a?, &b?) != *e {
        return Err(CryptoError::rejected(
            PROOF,
            format!("trustee {trustee}: the batched proof of correct decryption does not verify"),
        ));
    }
    Ok(())
}

impl KeyShare {
    /// Trustee `i`'s partial decryption of every ciphertext of `request`, with one proof for all of them.
    /// The partials use GMP's constant-time `powm_sec` with the share, in parallel across cores; then
    /// [`KeyShare::prove_partials`] proves them.
    ///
    /// Fails when the share was dealt for another key or a ciphertext is not in `Z*_{n²}`.
    pub fn partial_decrypt<R: CryptoRng + ?Sized>(
        &self,
        public: &ThresholdPublicKey,
        request: &DecryptionRequest<'_>,
        rng: &mut R,
    ) -> Result<PartialDecryptions> {
        self.check_binding(public)?;
        request.check(public)?;
        let n2 = public.paillier().n_squared();
        let mut two_x = self.two_x(public)?;
        let ciphertexts: Vec<&Integer> = request.positions().map(|(_, c)| &c.0).collect();
        let flat: Vec<Integer> = ciphertexts.par_iter().map(|c| arith::pow_mod_secret(c, &two_x, n2)).collect();
        wipe(&mut two_x);
        let mut flat = flat.into_iter();
        let values = request.groups().iter().map(|g| flat.by_ref().take(g.ciphertexts.len()).collect()).collect();
        self.prove_partials(public, request, values, rng)
    }

    /// One proof for partials already computed, `values[g][k] = c^(2Δ·s_i)` for ciphertext `k` of group `g`:
    /// how a trustee with more ciphertexts than one machine decrypts in a sitting proves the partials it
    /// computed in chunks (on several machines, or resumed after a stop), and what
    /// [`KeyShare::partial_decrypt`] does after computing them. The proof's fixed part is a few exponentiations
    /// (`powm_sec` with the random exponent) and two 128-bit multi-exponentiations over the partials
    /// (docs/protocol.md §6).
    ///
    /// The answer is verified before it is returned, so a wrong value (a fault, a chunk computed with another
    /// share) is refused here instead of publishing partials that would name this trustee a cheater; that
    /// check is the batch's, sound up to `2^-128`.
    pub fn prove_partials<R: CryptoRng + ?Sized>(
        &self,
        public: &ThresholdPublicKey,
        request: &DecryptionRequest<'_>,
        values: Vec<Vec<Integer>>,
        rng: &mut R,
    ) -> Result<PartialDecryptions> {
        self.check_binding(public)?;
        request.check(public)?;
        let n2 = public.paillier().n_squared();
        let expected: Vec<usize> = request.groups().iter().map(|g| g.ciphertexts.len()).collect();
        let shape: Vec<usize> = values.iter().map(Vec::len).collect();
        if shape != expected {
            return Err(CryptoError::Mismatch(format!(
                "partials of group sizes {shape:?} for a request of group sizes {expected:?}"
            )));
        }
        let positioned = positioned(&values);
        check_units(public, &positioned, |at| format!("partial of {}", request.describe(at)))?;
        let ciphertexts: Vec<&Integer> = request.positions().map(|(_, c)| &c.0).collect();
        let refs: Vec<&Integer> = positioned.iter().map(|(_, v)| *v).collect();
        let seed = seed(public, request, self.index(), &refs);
        let weights = weights(&seed, refs.len());
        let (big_c, big_ci) = combinations(public, &ciphertexts, &refs, &weights);

        // The witness x = Δ·s_i; each partial is c^(2x).
        let mut x = self.x(public)?;
        let c4 = arith::pow_mod(&big_c, &Integer::from(4), n2);
        let mut r = loop {
            let r = arith::random_bits(rng, nonce_bits(public));
            if r > 0 {
                break r;
            }
        };
        let (a, b) = rayon::join(|| arith::pow_mod_secret(&c4, &r, n2), || arith::pow_mod_secret(public.v(), &r, n2));
        let e = challenge(&seed, &big_c, &big_ci, &a, &b);
        let mut ex = Integer::from(&e * &x);
        let z = Integer::from(&r + &ex);
        wipe(&mut ex);
        wipe(&mut r);
        wipe(&mut x);
        let proof = DecryptionProof { challenge: e, response: z };
        check_proof(public, self.index(), &seed, (&big_c, &big_ci), &proof)
            .map_err(|e| CryptoError::Mismatch(format!("self-check of the partial decryptions failed: {e}")))?;
        Ok(PartialDecryptions { trustee: self.index(), values, proof })
    }

    /// The witness `x = Δ·s_i`.
    fn x(&self, public: &ThresholdPublicKey) -> Result<Integer> {
        let mut x = Integer::from(&self.secret * &delta(public.trustees()));
        if x <= 0 {
            wipe(&mut x);
            return Err(CryptoError::invalid_key("key_share", "share is not positive"));
        }
        Ok(x)
    }

    /// The partials' exponent `2x = 2Δ·s_i`.
    fn two_x(&self, public: &ThresholdPublicKey) -> Result<Integer> {
        let mut x = self.x(public)?;
        let two_x = Integer::from(&x << 1u32);
        wipe(&mut x);
        Ok(two_x)
    }
}

/// Checks `answer` against `request` under `public`: the trustee is one of the key's; one value per
/// ciphertext in the request's shape; every value a unit of `Z*_{n²}`; `e < 2^256` and
/// `0 ≤ z < 2^(|n²|+513)` (an honest `z` is below that; the bound stops a huge exponent from costing the
/// verifier unbounded time); then the weights, the combinations and the Chaum-Pedersen proof. Every error but
/// [`CryptoError::ProofRejected`] names the field at fault; a rejected proof says only that some partial (or the
/// proof) is wrong, and [`super::decrypt`] then locates the wrong partials.
///
/// The request's ciphertexts are assumed checked ([`DecryptionRequest::check`]).
pub(crate) fn verify(
    public: &ThresholdPublicKey,
    request: &DecryptionRequest<'_>,
    answer: &PartialDecryptions,
) -> Result<()> {
    let trustee = public.check_trustee("partial_decryptions.trustee", answer.trustee)?;
    let expected: Vec<usize> = request.groups().iter().map(|g| g.ciphertexts.len()).collect();
    if answer.shape() != expected {
        return Err(CryptoError::Mismatch(format!(
            "trustee {trustee}: {} groups of partials of sizes {:?}, the request has {} of sizes {expected:?}",
            answer.values.len(),
            answer.shape(),
            expected.len()
        )));
    }
    let positioned = positioned(&answer.values);
    check_units(public, &positioned, |at| format!("trustee {trustee}: partial of {}", request.describe(at)))?;
    let DecryptionProof { challenge: e, response: z } = &answer.proof;
    if *e < 0 || e.significant_bits() > CHALLENGE_BITS {
        return Err(CryptoError::out_of_range("partial_decryptions.proof.challenge", "not in [0, 2^256)"));
    }
    if *z < 0 || z.significant_bits() > nonce_bits(public) + 1 {
        return Err(CryptoError::out_of_range("partial_decryptions.proof.response", "not in [0, 2^(|n²|+513))"));
    }
    let values: Vec<&Integer> = positioned.iter().map(|(_, v)| *v).collect();
    let ciphertexts: Vec<&Integer> = request.positions().map(|(_, c)| &c.0).collect();
    let seed = seed(public, request, trustee, &values);
    let weights = weights(&seed, values.len());
    let (big_c, big_ci) = combinations(public, &ciphertexts, &values, &weights);
    check_proof(public, trustee, &seed, (&big_c, &big_ci), &answer.proof)
}
