use rand::SeedableRng;
use rand_core::CryptoRng;
use rug::Integer;

use super::{KeySize, PublicKey, SecretKey};
use crate::arith;
use crate::error::Result;

/// Two distinct safe primes `p = 2p'+1`, `q = 2q'+1` whose product has exactly the requested size. Safe primes
/// make `Z*_{n²}`'s squares a cyclic group of order `n·p'·q'`, which threshold decryption needs.
pub struct SafePrimePair {
    pub(crate) p: Integer,
    pub(crate) q: Integer,
}

impl std::fmt::Debug for SafePrimePair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SafePrimePair(<redacted>)")
    }
}

impl SafePrimePair {
    pub fn modulus_bits(&self) -> u32 {
        Integer::from(&self.p * &self.q).significant_bits()
    }
}

/// Generates a safe-prime pair with `crypto-primes` (sieve, Miller-Rabin base 2 and strengthened BPSW on both
/// `p` and `(p-1)/2`), searching on every core. The search is seeded from `rng`.
pub fn generate_safe_prime_pair<R: CryptoRng + ?Sized>(size: KeySize, rng: &mut R) -> SafePrimePair {
    let bits = size.modulus_bits();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let mut search = rand::rngs::StdRng::from_rng(rng);
    let mut prime = || {
        let p: crypto_bigint::BoxedUint =
            crypto_primes::multicore::random_prime(&mut search, crypto_primes::Flavor::Safe, bits / 2, threads);
        arith::from_boxed(&p)
    };
    let p = prime();
    loop {
        let q = prime();
        if q != p && Integer::from(&p * &q).significant_bits() == bits {
            return SafePrimePair { p, q };
        }
    }
}

/// A fresh Paillier key pair on safe primes. The secret key is for the dealer and for tests: elections
/// decrypt with threshold shares ([`crate::threshold`]) and no whole secret key exists after the ceremony.
pub fn generate_keypair<R: CryptoRng + ?Sized>(size: KeySize, rng: &mut R) -> Result<(PublicKey, SecretKey)> {
    let primes = generate_safe_prime_pair(size, rng);
    let sk = SecretKey::from_primes(primes)?;
    Ok((sk.public_key().clone(), sk))
}
