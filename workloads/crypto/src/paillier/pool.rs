use std::sync::Mutex;

use rand_core::CryptoRng;
use rayon::prelude::*;
use rug::Integer;

use super::PublicKey;
use crate::arith;

/// The randomness `r ∈ Z*_n` of one encryption. It is as secret as the vote it hides: it is never logged
/// (its `Debug` is redacted) and only proofs consume it, except in a Benaloh challenge, which reveals it on
/// purpose (canonical hex, docs/protocol.md §4.7) for a ballot that is then never cast.
#[derive(Clone, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Nonce(#[serde(with = "arith::hex_integer")] pub(crate) Integer);

impl Nonce {
    /// The nonce of a homomorphic sum: `Π r_i mod n`, since `Π (1 + x_i·n)·r_i^n = (1 + (Σ x_i)·n)·(Π r_i)^n`.
    /// Provers use it to prove statements about a product of ciphertexts (a contest's selection count).
    pub fn product<'a>(pk: &PublicKey, nonces: impl IntoIterator<Item = &'a Nonce>) -> Nonce {
        let n = pk.n();
        Nonce(nonces.into_iter().fold(Integer::from(1), |acc, r| arith::mul_mod(&acc, &r.0, n)))
    }
}

impl std::fmt::Debug for Nonce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Nonce(<redacted>)")
    }
}

/// A nonce `r` together with `r^n mod n²`, so that encrypting (or committing in a proof) costs one
/// multiplication online.
#[derive(Clone)]
pub struct PrecomputedNonce {
    pub(crate) r: Integer,
    pub(crate) r_n: Integer,
}

impl PrecomputedNonce {
    pub fn generate<R: CryptoRng + ?Sized>(pk: &PublicKey, rng: &mut R) -> Self {
        let r = arith::random_unit(rng, pk.n());
        let r_n = pk.nth_power(&r);
        Self { r, r_n }
    }

    pub fn into_nonce(self) -> Nonce {
        Nonce(self.r)
    }

    pub fn nonce(&self) -> Nonce {
        Nonce(self.r.clone())
    }
}

impl std::fmt::Debug for PrecomputedNonce {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PrecomputedNonce(<redacted>)")
    }
}

/// A pool of precomputed nonces (PROTOCOL §1: the `r^n` factors may be computed offline).
///
/// A client fills it while the voter reads the ballot ([`RandomnessPool::fill`], in parallel on every core);
/// encrypting and proving then take nonces from it. When the pool is empty a nonce is computed on the spot, so
/// the pool changes latency, never results. Each nonce is handed out once and then forgotten.
pub struct RandomnessPool {
    pk: PublicKey,
    nonces: Mutex<Vec<PrecomputedNonce>>,
}

impl RandomnessPool {
    pub fn new(pk: PublicKey) -> Self {
        Self { pk, nonces: Mutex::new(Vec::new()) }
    }

    pub fn public_key(&self) -> &PublicKey {
        &self.pk
    }

    /// Adds `count` nonces, computed in parallel; randomness comes from the OS CSPRNG on each worker.
    pub fn fill(&self, count: usize) {
        let fresh: Vec<PrecomputedNonce> = (0..count)
            .into_par_iter()
            .map_init(crate::os_rng, |rng, _| PrecomputedNonce::generate(&self.pk, rng))
            .collect();
        self.lock().extend(fresh);
    }

    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A nonce from the pool, or a freshly computed one when the pool is empty.
    pub fn take<R: CryptoRng + ?Sized>(&self, rng: &mut R) -> PrecomputedNonce {
        let pooled = self.lock().pop();
        pooled.unwrap_or_else(|| PrecomputedNonce::generate(&self.pk, rng))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<PrecomputedNonce>> {
        // A panic while holding the lock cannot leave the vector inconsistent (push/pop/extend only).
        self.nonces.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}
