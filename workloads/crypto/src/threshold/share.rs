//! A trustee's secret share `s_i = f(i)` of the decryption exponent.

use rug::Integer;

use super::{ThresholdPublicKey, TrusteeIndex, delta, wipe};
use crate::arith;
use crate::error::{CryptoError, Result};

/// Trustee `index`'s share `s_i` of `d`, tied to the fingerprint of the threshold key it belongs to.
///
/// It exists in memory only between opening a [`super::ShareFile`] and dropping the value: it has no
/// serialisation of its own, no `Clone`, a redacted `Debug`, and its integer is overwritten on drop
/// (best effort, see `wipe` in this module).
pub struct KeyShare {
    index: TrusteeIndex,
    key_fingerprint: [u8; 32],
    pub(crate) secret: Integer,
}

impl KeyShare {
    pub(crate) fn new(index: TrusteeIndex, key_fingerprint: [u8; 32], secret: Integer) -> Self {
        Self { index, key_fingerprint, secret }
    }

    pub fn index(&self) -> TrusteeIndex {
        self.index
    }

    /// Fingerprint of the [`ThresholdPublicKey`] this share was dealt for.
    pub fn key_fingerprint(&self) -> [u8; 32] {
        self.key_fingerprint
    }

    /// Checks that this share belongs to `public`: same key fingerprint, index within `1..=l`, `0 < s_i < n²`
    /// and `v^(Δ·s_i) = v_i`. The last check costs one exponentiation; it catches a share opened against the
    /// wrong key material and any corruption that got past the AEAD.
    pub fn check_against(&self, public: &ThresholdPublicKey) -> Result<()> {
        self.check_binding(public)?;
        let n2 = public.paillier().n_squared();
        if self.secret <= 0 || self.secret >= *n2 {
            return Err(CryptoError::invalid_key("key_share", "share is not in (0, n²)"));
        }
        let vk = public
            .verification_key(self.index)
            .ok_or_else(|| CryptoError::invalid_key("key_share.trustee", "no verification key for this trustee"))?;
        let mut exp = Integer::from(&self.secret * &delta(public.trustees()));
        let image = arith::pow_mod_secret(public.v(), &exp, n2);
        wipe(&mut exp);
        if image != vk.0 {
            return Err(CryptoError::invalid_key("key_share", "v^(Δ·s_i) does not match the verification key"));
        }
        Ok(())
    }

    /// The cheap part of [`KeyShare::check_against`]: fingerprint and index.
    pub(crate) fn check_binding(&self, public: &ThresholdPublicKey) -> Result<()> {
        if self.key_fingerprint != public.fingerprint() {
            return Err(CryptoError::Mismatch("key share: dealt for another threshold public key".to_owned()));
        }
        public.check_trustee("key_share.trustee", self.index)?;
        Ok(())
    }
}

impl Drop for KeyShare {
    fn drop(&mut self) {
        wipe(&mut self.secret);
    }
}

impl std::fmt::Debug for KeyShare {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyShare(trustee {}, <redacted>, key {})", self.index, hex::encode(&self.key_fingerprint[..8]))
    }
}
