//! The key ceremony: one trusted dealer process turns a fresh safe-prime key into `l` shares and forgets it.

use rand_core::CryptoRng;
use rayon::prelude::*;
use rug::Integer;

use super::combine::{lagrange_times_delta, product_of_powers};
use super::partial::{DecryptionContext, DecryptionRequest, PartialDecryptions};
use super::public::{FORMAT_VERSION, check_parameters};
use super::{KeyShare, ThresholdPublicKey, TrusteeIndex, delta, verify_decryption, wipe};
use crate::arith;
use crate::error::{CryptoError, Result};
use crate::paillier::{Ciphertext, KeySize, Plaintext, PublicKey, SafePrimePair, generate_safe_prime_pair};

/// What the ceremony is asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CeremonyParams {
    pub key_size: KeySize,
    /// `l`, at most [`super::MAX_TRUSTEES`].
    pub trustees: u32,
    /// `t`, `1 ≤ t ≤ l`.
    pub threshold: u32,
    /// Bound into the self-test decryption of the transcript (may be empty when the key is made before the
    /// election has an id).
    pub election_id: String,
}

impl CeremonyParams {
    /// INE's policy: 3 of 5 trustees, |n| = 3072.
    pub fn default_for(election_id: impl Into<String>) -> Self {
        Self { key_size: KeySize::Bits3072, trustees: 5, threshold: 3, election_id: election_id.into() }
    }
}

/// The ceremony's result: what is published (`public`, `transcript`) and what is handed to trustee `i`
/// (`shares[i-1]`, to be sealed into a [`super::ShareFile`] at once). Nothing else survives the ceremony.
#[derive(Debug)]
pub struct CeremonyOutput {
    pub public: ThresholdPublicKey,
    pub shares: Vec<KeyShare>,
    pub transcript: CeremonyTranscript,
}

/// The scheme name written in transcripts.
pub const SCHEME: &str = "urna/v1/threshold-paillier (Shoup, Damgard-Jurik s=1)";

/// The subject of the ceremony's self-test decryption.
pub const SELF_TEST_SUBJECT: &str = "key-ceremony/self-test";

/// The published record of a ceremony. Beyond the parameters, it carries a self-test: the dealer encrypts a
/// random plaintext and every trustee share decrypts it with a proof. [`CeremonyTranscript::verify`] lets
/// anyone check, from public data only, that every share matches its verification key, that the
/// verification keys lie on one polynomial of degree `t-1` "in the exponent" (so every `t`-subset yields the
/// same key), and that `t` shares really decrypt.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, try_from = "TranscriptRepr")]
pub struct CeremonyTranscript {
    version: u32,
    scheme: String,
    modulus_bits: u32,
    threshold: u32,
    trustees: u32,
    #[serde(with = "hex::serde")]
    public_key_fingerprint: [u8; 32],
    self_test: SelfTest,
}

/// A decryption performed during the ceremony with all `l` shares, published so that anyone can check it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SelfTest {
    pub context: DecryptionContext,
    pub ciphertext: Ciphertext,
    pub plaintext: Plaintext,
    /// One per trustee, in index order: each a one-ciphertext [`DecryptionRequest`] answered with its proof.
    pub partials: Vec<PartialDecryptions>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct TranscriptRepr {
    version: u32,
    scheme: String,
    modulus_bits: u32,
    threshold: u32,
    trustees: u32,
    public_key_fingerprint: String,
    self_test: SelfTest,
}

impl TryFrom<TranscriptRepr> for CeremonyTranscript {
    type Error = CryptoError;

    fn try_from(r: TranscriptRepr) -> Result<Self> {
        if r.version != FORMAT_VERSION {
            return Err(CryptoError::malformed(
                "ceremony_transcript.version",
                format!("version {} is not {FORMAT_VERSION}", r.version),
            ));
        }
        if r.scheme != SCHEME {
            return Err(CryptoError::malformed("ceremony_transcript.scheme", format!("unknown scheme {:?}", r.scheme)));
        }
        check_parameters(r.threshold, r.trustees)?;
        let public_key_fingerprint =
            decode_digest("ceremony_transcript.public_key_fingerprint", &r.public_key_fingerprint)?;
        Ok(Self {
            version: r.version,
            scheme: r.scheme,
            modulus_bits: r.modulus_bits,
            threshold: r.threshold,
            trustees: r.trustees,
            public_key_fingerprint,
            self_test: r.self_test,
        })
    }
}

/// 32 bytes as exactly 64 lowercase hex digits.
pub(crate) fn decode_digest(field: &str, s: &str) -> Result<[u8; 32]> {
    if s.len() != 64 || !s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return Err(CryptoError::malformed(field, "not 64 lowercase hexadecimal digits"));
    }
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).map_err(|e| CryptoError::malformed(field, e.to_string()))?;
    Ok(out)
}

impl CeremonyTranscript {
    pub fn public_key_fingerprint(&self) -> [u8; 32] {
        self.public_key_fingerprint
    }

    pub fn self_test(&self) -> &SelfTest {
        &self.self_test
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    pub fn from_json(json: &str) -> Result<Self> {
        serde_json::from_str(json).map_err(|e| CryptoError::malformed("ceremony_transcript", e.to_string()))
    }

    /// Checks the transcript against `public`: same fingerprint and parameters; the verification keys are
    /// consistent (`v_j^Δ = Π_{i≤t} v_i^(Δ·λ_i(j))` for every `j > t`: the exponents `Δ·s_j` lie on one
    /// polynomial of degree `t-1`); one valid partial from every trustee, in order; and the first `t` and the
    /// last `t` partials both combine to the published plaintext.
    pub fn verify(&self, public: &ThresholdPublicKey) -> Result<()> {
        let mismatch = |what: &str| Err(CryptoError::Mismatch(format!("ceremony transcript: {what}")));
        if self.public_key_fingerprint != public.fingerprint() {
            return mismatch("public key fingerprint differs");
        }
        if self.modulus_bits != public.paillier().modulus_bits()
            || self.threshold != public.threshold()
            || self.trustees != public.trustees()
        {
            return mismatch("parameters differ from the public key's");
        }
        check_verification_keys(public)?;
        let test = &self.self_test;
        public.paillier().check_plaintext(&test.plaintext)?;
        if test.partials.len() != public.trustees() as usize {
            return mismatch("self-test does not have one partial per trustee");
        }
        let ciphertexts = std::slice::from_ref(&test.ciphertext);
        let request = DecryptionRequest::single(&test.context, ciphertexts);
        let verified = test
            .partials
            .par_iter()
            .zip(public.trustee_indices().collect::<Vec<_>>())
            .map(|(p, i)| {
                if p.trustee() != i {
                    return Err(CryptoError::Mismatch(format!(
                        "ceremony transcript: self-test partial {i} is from trustee {}",
                        p.trustee()
                    )));
                }
                verify_decryption(public, &request, p)
            })
            .collect::<Result<Vec<_>>>()?;
        let t = public.threshold() as usize;
        for subset in [&verified[..t], &verified[verified.len() - t..]] {
            if super::combine(public, &request, subset)? != [vec![test.plaintext.clone()]] {
                return mismatch("self-test does not decrypt to the published plaintext");
            }
        }
        Ok(())
    }
}

/// `v_j^Δ = Π_{i=1..t} v_i^(Δ·λ_i(j))` for every `j` in `t+1..=l` (Feldman-style check in the exponent).
fn check_verification_keys(public: &ThresholdPublicKey) -> Result<()> {
    let t = public.threshold();
    let n2 = public.paillier().n_squared();
    let delta = delta(public.trustees());
    let points: Vec<i64> = (1..=i64::from(t)).collect();
    let keys =
        |range: std::ops::RangeInclusive<u32>| -> Result<Vec<&Integer>> {
            range
                .map(|i| {
                    TrusteeIndex::new(i).ok().and_then(|i| public.verification_key(i)).map(|k| &k.0).ok_or_else(|| {
                        CryptoError::invalid_key("threshold_public_key.verification_keys", "missing key")
                    })
                })
                .collect()
        };
    let base = keys(1..=t)?;
    for (j, vk) in (t + 1..=public.trustees()).zip(keys(t + 1..=public.trustees())?) {
        let exps = (0..points.len())
            .map(|k| lagrange_times_delta(&delta, &points, k, i64::from(j)))
            .collect::<Result<Vec<_>>>()?;
        let expected = product_of_powers(&base, &exps, n2)
            .ok_or_else(|| CryptoError::invalid_key("threshold_public_key.verification_keys", "not invertible"))?;
        if arith::pow_mod(vk, &delta, n2) != expected {
            return Err(CryptoError::invalid_key(
                format!("threshold_public_key.verification_keys[{}]", j - 1),
                "not on the degree t-1 polynomial of the first t keys",
            ));
        }
    }
    Ok(())
}

/// Everything secret the dealer holds, wiped on every exit path (success or error).
struct DealerSecrets {
    p: Integer,
    q: Integer,
    /// `m = p'·q'`.
    m: Integer,
    /// `n·m`, from which `n` factors: as secret as `m`.
    nm: Integer,
    d: Integer,
    coefficients: Vec<Integer>,
}

impl Drop for DealerSecrets {
    fn drop(&mut self) {
        for x in [&mut self.p, &mut self.q, &mut self.m, &mut self.nm, &mut self.d] {
            wipe(x);
        }
        self.coefficients.iter_mut().for_each(wipe);
    }
}

/// Runs the key ceremony (PROTOCOL §5) with randomness from `rng`:
///
/// 1. safe primes `p = 2p'+1`, `q = 2q'+1` ([`generate_safe_prime_pair`]), `n = pq`, `m = p'q'`;
/// 2. `d = m·(m^(-1) mod n)`, so `d ≡ 0 mod m` and `d ≡ 1 mod n`;
/// 3. `f(X) = d + a_1·X + … + a_{t-1}·X^(t-1)` with `a_k` uniform in `Z_{n·m}`, `s_i = f(i) mod n·m`;
/// 4. `v = r² mod n²` for a uniform unit `r` (a random square, a generator of the squares with overwhelming
///    probability), `v_i = v^(Δ·s_i)`;
/// 5. the self-test decryption, then [`CeremonyTranscript::verify`] on the result before returning it.
///
/// `p`, `q`, `m`, `d` and the coefficients are wiped before returning; no whole secret key is ever built.
pub fn ceremony<R: CryptoRng + ?Sized>(params: &CeremonyParams, rng: &mut R) -> Result<CeremonyOutput> {
    check_parameters(params.threshold, params.trustees)?;
    let primes = generate_safe_prime_pair(params.key_size, rng);
    ceremony_with_primes(params, primes, rng)
}

/// [`ceremony`] on given primes (the prime search is the slow part, and tests may want it separate).
pub(crate) fn ceremony_with_primes<R: CryptoRng + ?Sized>(
    params: &CeremonyParams,
    primes: SafePrimePair,
    rng: &mut R,
) -> Result<CeremonyOutput> {
    check_parameters(params.threshold, params.trustees)?;
    let SafePrimePair { p, q } = primes;
    let mut secrets =
        DealerSecrets { p, q, m: Integer::new(), nm: Integer::new(), d: Integer::new(), coefficients: Vec::new() };
    let n = Integer::from(&secrets.p * &secrets.q);
    let paillier = PublicKey::from_modulus(n.clone())?;
    let mut p_prime = Integer::from(&secrets.p - 1u32) >> 1u32;
    let mut q_prime = Integer::from(&secrets.q - 1u32) >> 1u32;
    secrets.m = Integer::from(&p_prime * &q_prime);
    wipe(&mut p_prime);
    wipe(&mut q_prime);
    let mut m_inv =
        arith::invert(&secrets.m, &n).ok_or_else(|| CryptoError::invalid_key("paillier.p", "gcd(n, p'q') is not 1"))?;
    secrets.nm = Integer::from(&n * &secrets.m);
    secrets.d = Integer::from(&secrets.m * &m_inv) % &secrets.nm;
    wipe(&mut m_inv);

    let l = params.trustees;
    let shares: Vec<Integer> = loop {
        secrets.coefficients.iter_mut().for_each(wipe);
        secrets.coefficients = (1..params.threshold).map(|_| arith::random_below(rng, &secrets.nm)).collect::<Vec<_>>();
        let shares: Vec<Integer> = (1..=l).map(|i| evaluate(&secrets, i)).collect();
        // A zero share (probability about l/(n·m)) would make its partial decryption 1 for every ciphertext.
        if shares.iter().all(|s| *s != 0) {
            break shares;
        }
    };

    let n2 = paillier.n_squared().clone();
    let v = loop {
        let r = arith::random_unit(rng, &n2);
        let v = arith::mul_mod(&r, &r, &n2);
        if arith::mul_mod(&v, &v, &n2) != 1 {
            break v;
        }
    };
    let delta = delta(l);
    let verification_keys: Vec<Integer> = shares
        .par_iter()
        .map(|s| {
            let mut exp = Integer::from(s * &delta);
            let vk = arith::pow_mod_secret(&v, &exp, &n2);
            wipe(&mut exp);
            vk
        })
        .collect();
    let public = ThresholdPublicKey::new(paillier, params.threshold, l, v, verification_keys)?;
    let shares: Vec<KeyShare> = shares
        .into_iter()
        .zip(public.trustee_indices().collect::<Vec<_>>())
        .map(|(s, i)| KeyShare::new(i, public.fingerprint(), s))
        .collect();
    drop(secrets);

    let transcript = self_test(params, &public, &shares, rng)?;
    transcript.verify(&public)?;
    Ok(CeremonyOutput { public, shares, transcript })
}

/// `f(i) mod n·m` by Horner's rule.
fn evaluate(secrets: &DealerSecrets, i: u32) -> Integer {
    let mut acc = Integer::new();
    for a in secrets.coefficients.iter().rev() {
        acc += a;
        acc *= i;
        acc %= &secrets.nm;
    }
    acc += &secrets.d;
    acc %= &secrets.nm;
    acc
}

fn self_test<R: CryptoRng + ?Sized>(
    params: &CeremonyParams,
    public: &ThresholdPublicKey,
    shares: &[KeyShare],
    rng: &mut R,
) -> Result<CeremonyTranscript> {
    let context = DecryptionContext::new(params.election_id.clone(), [0u8; 32], SELF_TEST_SUBJECT);
    let plaintext = Plaintext(arith::random_bits(rng, 256));
    let (ciphertext, _nonce) = public.paillier().encrypt(&plaintext, rng)?;
    let request = DecryptionRequest::single(&context, std::slice::from_ref(&ciphertext));
    let partials = shares.iter().map(|s| s.partial_decrypt(public, &request, rng)).collect::<Result<Vec<_>>>()?;
    Ok(CeremonyTranscript {
        version: FORMAT_VERSION,
        scheme: SCHEME.to_owned(),
        modulus_bits: public.paillier().modulus_bits(),
        threshold: public.threshold(),
        trustees: public.trustees(),
        public_key_fingerprint: public.fingerprint(),
        self_test: SelfTest { context, ciphertext, plaintext, partials },
    })
}
