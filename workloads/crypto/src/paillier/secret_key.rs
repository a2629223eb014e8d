use rug::Integer;

use super::{Ciphertext, Plaintext, PublicKey, SafePrimePair};
use crate::arith;
use crate::error::{CryptoError, Result};

/// A whole Paillier secret key, decrypting with the Chinese remainder theorem.
///
/// Exponentiations with the secret exponents `p-1`, `q-1` use GMP's side-channel silent `powm_sec`.
/// `Debug` is redacted.
#[derive(Clone)]
pub struct SecretKey {
    pk: PublicKey,
    p: Integer,
    q: Integer,
    p_squared: Integer,
    q_squared: Integer,
    /// `(L_p(g^(p-1) mod p²))^(-1) mod p`, which for `g = n+1` is `(-q)^(-1) mod p`.
    h_p: Integer,
    h_q: Integer,
    /// `p^(-1) mod q` for recombination.
    p_inv_q: Integer,
}

impl SecretKey {
    pub fn from_primes(primes: SafePrimePair) -> Result<Self> {
        let SafePrimePair { p, q } = primes;
        let pk = PublicKey::from_modulus(Integer::from(&p * &q))?;
        let inverse = |x: Integer, m: &Integer| {
            arith::invert(&x, m).ok_or_else(|| CryptoError::invalid_key("paillier.p", "p and q are not coprime"))
        };
        let h_p = inverse(Integer::from(-&q), &p)?;
        let h_q = inverse(Integer::from(-&p), &q)?;
        let p_inv_q = inverse(p.clone(), &q)?;
        Ok(Self {
            pk,
            p_squared: Integer::from(p.square_ref()),
            q_squared: Integer::from(q.square_ref()),
            p,
            q,
            h_p,
            h_q,
            p_inv_q,
        })
    }

    pub fn public_key(&self) -> &PublicKey {
        &self.pk
    }

    pub fn decrypt(&self, c: &Ciphertext) -> Result<Plaintext> {
        self.pk.check_ciphertext("ciphertext", c)?;
        let half = |prime: &Integer, prime_squared: &Integer, h: &Integer| {
            let exp = Integer::from(prime - 1u32);
            let base = Integer::from(&c.0 % prime_squared);
            let u = arith::pow_mod_secret(&base, &exp, prime_squared);
            let l = (u - 1u32) / prime;
            arith::mul_mod(&l, h, prime)
        };
        let m_p = half(&self.p, &self.p_squared, &self.h_p);
        let m_q = half(&self.q, &self.q_squared, &self.h_q);
        // m = m_p + p·((m_q - m_p)·p^(-1) mod q)
        let mut t = Integer::from(&m_q - &m_p);
        t = arith::mul_mod(&t, &self.p_inv_q, &self.q);
        if t < 0 {
            t += &self.q;
        }
        Ok(Plaintext(m_p + Integer::from(&self.p * &t)))
    }
}

impl std::fmt::Debug for SecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SecretKey(<redacted>, public: {:?})", self.pk)
    }
}
