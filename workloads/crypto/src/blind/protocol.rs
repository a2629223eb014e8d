//! The RFC 9474 protocol (§4): Prepare, Blind, BlindSign, Finalize, Verify.

use crypto_bigint::{BoxedUint, Gcd, RandomMod};
use rand_core::CryptoRng;
use zeroize::Zeroizing;

use super::keys::{BlindSigningKey, BlindVerifyingKey, VERIFYING_KEY_FIELD, wipe};
use super::params::PREFIX_LEN;
use super::pss;
use crate::error::{CryptoError, Result};

pub(crate) const PREPARED_MESSAGE_FIELD: &str = "blind.prepared_message";
pub(crate) const BLINDED_MESSAGE_FIELD: &str = "blind.blinded_message";
pub(crate) const BLIND_SIGNATURE_FIELD: &str = "blind.blind_signature";
pub(crate) const SIGNATURE_FIELD: &str = "blind.signature";
pub(crate) const BLINDING_SECRET_FIELD: &str = "blind.blinding_secret";

/// How many blinding factors to draw before concluding that `n` is not an RSA modulus. For a genuine key a
/// non-invertible draw means the client found a factor of `n`; only a hostile "key" with small factors
/// gets here more than once.
const BLINDING_ATTEMPTS: usize = 64;

/// The output of `Prepare`: the message that is actually signed and verified. For the randomized variants it
/// is a 32-byte random prefix followed by the application message, for the deterministic ones the message
/// itself. The verifier needs these exact bytes, so they travel with the signature.
#[derive(Clone, PartialEq, Eq, Hash, Debug)]
pub struct PreparedMessage(pub(crate) Vec<u8>);

impl PreparedMessage {
    /// Wraps bytes received from a client, to verify a signature over them. Any byte string is a valid
    /// prepared message; whether it carries a prefix is the variant's business.
    pub fn from_bytes(bytes: impl Into<Vec<u8>>) -> Self {
        Self(bytes.into())
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// For the randomized variants, the application message after the 32-byte prefix (`None` if shorter).
    pub fn message_after_prefix(&self) -> Option<&[u8]> {
        self.0.get(PREFIX_LEN..)
    }
}

/// Defines a public byte-string value of exactly `modulus_len` bytes encoding an integer below `n`.
macro_rules! modulus_sized_bytes {
    ($(#[$doc:meta])* $name:ident, $field:expr) => {
        $(#[$doc])*
        #[derive(Clone, PartialEq, Eq, Hash, Debug)]
        pub struct $name(pub(crate) Vec<u8>);

        impl $name {
            /// Decodes `modulus_len` big-endian bytes and checks the integer is below the key's modulus.
            pub fn from_bytes(key: &BlindVerifyingKey, bytes: &[u8]) -> Result<Self> {
                key.os2ip($field, bytes)?;
                Ok(Self(bytes.to_vec()))
            }

            /// Strict lowercase hex of exactly `modulus_len` bytes, below the modulus.
            pub fn from_hex(key: &BlindVerifyingKey, s: &str) -> Result<Self> {
                let bytes = super::encoding::bytes_from_hex($field, s)?;
                Self::from_bytes(key, &bytes)
            }

            pub fn as_bytes(&self) -> &[u8] {
                &self.0
            }

            /// Lowercase hex, the wire form.
            pub fn to_hex(&self) -> String {
                hex::encode(&self.0)
            }
        }
    };
}

modulus_sized_bytes!(
    /// `blinded_msg`: what the voter sends the signer. It is uniformly distributed in `Z*_n` whatever the
    /// message, which is what makes the signature unlinkable.
    BlindedMessage,
    BLINDED_MESSAGE_FIELD
);
modulus_sized_bytes!(
    /// `blind_sig`: the signer's answer to a [`BlindedMessage`].
    BlindSignature,
    BLIND_SIGNATURE_FIELD
);
modulus_sized_bytes!(
    /// The final RSASSA-PSS signature over a [`PreparedMessage`]: the voting right.
    Signature,
    SIGNATURE_FIELD
);

/// `inv` of RFC 9474: the inverse of the blinding factor, kept by the voter between Blind and Finalize.
/// Whoever holds it together with the blinded message can link the final signature to the voter, so it is
/// wiped on drop, `Debug` is redacted and there is no serde implementation.
pub struct BlindingSecret {
    pub(crate) inv: BoxedUint,
}

impl Drop for BlindingSecret {
    fn drop(&mut self) {
        wipe(&mut self.inv);
    }
}

impl std::fmt::Debug for BlindingSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BlindingSecret(<redacted>)")
    }
}

impl BlindingSecret {
    /// `modulus_len` big-endian bytes, for a client that must keep the secret across a restart (store them
    /// encrypted). The buffer is wiped when dropped.
    pub fn to_bytes(&self, key: &BlindVerifyingKey) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(key.i2osp(&self.inv))
    }

    /// The inverse of [`BlindingSecret::to_bytes`]: the value must be a unit below the modulus.
    pub fn from_bytes(key: &BlindVerifyingKey, bytes: &[u8]) -> Result<Self> {
        let inv = key.os2ip(BLINDING_SECRET_FIELD, bytes)?;
        if inv.gcd(key.n.as_ref()) != BoxedUint::one_with_precision(inv.bits_precision()) {
            return Err(CryptoError::out_of_range(BLINDING_SECRET_FIELD, "not a unit modulo n"));
        }
        Ok(Self { inv })
    }
}

impl BlindVerifyingKey {
    /// `Prepare` (RFC 9474 §4.1): for the randomized variants, 32 bytes from `rng` followed by `msg`; for the
    /// deterministic ones, `msg` unchanged.
    pub fn prepare<R: CryptoRng + ?Sized>(&self, msg: &[u8], rng: &mut R) -> PreparedMessage {
        if self.variant.is_randomized() {
            let mut prefix = [0u8; PREFIX_LEN];
            rng.fill_bytes(&mut prefix);
            prepare_with_prefix(&prefix, msg)
        } else {
            PreparedMessage(msg.to_vec())
        }
    }

    /// `Blind` (RFC 9474 §4.2): EMSA-PSS-encodes `msg` with a fresh salt and multiplies it by `r^e` for a
    /// uniform unit `r`. Returns the message for the signer and the secret [`BlindingSecret`] for Finalize.
    pub fn blind<R: CryptoRng + ?Sized>(
        &self,
        msg: &PreparedMessage,
        rng: &mut R,
    ) -> Result<(BlindedMessage, BlindingSecret)> {
        let mut salt = Zeroizing::new(vec![0u8; self.variant.salt_len()]);
        rng.fill_bytes(&mut salt);
        let (r, inv) = self.random_blinding_factor(rng)?;
        self.blind_with(msg, &salt, r, inv)
    }

    /// A uniform `r` in `[1, n)` with its inverse, both secret.
    fn random_blinding_factor<R: CryptoRng + ?Sized>(&self, rng: &mut R) -> Result<(BoxedUint, BoxedUint)> {
        for _ in 0..BLINDING_ATTEMPTS {
            // Rejection sampling: the number of draws leaks, the value does not.
            let mut r = BoxedUint::random_mod_vartime(rng, self.n.as_nz_ref());
            if let Some(inv) = Option::<BoxedUint>::from(r.invert_odd_mod(&self.n)) {
                return Ok((r, inv));
            }
            wipe(&mut r);
        }
        Err(CryptoError::invalid_key(VERIFYING_KEY_FIELD, "no invertible blinding factor found: not an RSA modulus"))
    }

    /// Blind with explicit salt and blinding factor (`inv = r^(-1) mod n`). Production draws both from the
    /// CSPRNG ([`BlindVerifyingKey::blind`]); the hidden `hazmat` module feeds the test vectors' values.
    pub(crate) fn blind_with(
        &self,
        msg: &PreparedMessage,
        salt: &[u8],
        mut r: BoxedUint,
        inv: BoxedUint,
    ) -> Result<(BlindedMessage, BlindingSecret)> {
        let secret = BlindingSecret { inv };
        let mut m = self.encode_message(msg, salt)?;
        let one = BoxedUint::one_with_precision(m.bits_precision());
        if m.gcd(self.n.as_ref()) != one {
            // RFC 9474 §4.2 step 4: only possible if the encoded message reveals a factor of n.
            wipe(&mut m);
            wipe(&mut r);
            return Err(CryptoError::InvalidParameter("encoded message is not a unit modulo n".into()));
        }
        let mut x = self.rsavp1(&r);
        let z = self.monty(m.clone()).mul(&self.monty(x.clone())).retrieve();
        for v in [&mut m, &mut r, &mut x] {
            wipe(v);
        }
        Ok((BlindedMessage(self.i2osp(&z)), secret))
    }

    /// EMSA-PSS-ENCODE(msg, |n| − 1) as an integer at the modulus precision; below `n` by construction
    /// (it has at most |n| − 1 bits).
    pub(crate) fn encode_message(&self, msg: &PreparedMessage, salt: &[u8]) -> Result<BoxedUint> {
        let em = Zeroizing::new(self.encode_message_bytes(msg, salt)?);
        BoxedUint::from_be_slice(&em, self.n.bits_precision())
            .map_err(|_| CryptoError::invalid_key(VERIFYING_KEY_FIELD, "encoded message does not fit the modulus"))
    }

    pub(crate) fn encode_message_bytes(&self, msg: &PreparedMessage, salt: &[u8]) -> Result<Vec<u8>> {
        pss::encode(&msg.0, self.em_bits(), salt)
            .map_err(|_| CryptoError::invalid_key(VERIFYING_KEY_FIELD, "modulus too small for EMSA-PSS with SHA-384"))
    }

    fn em_bits(&self) -> usize {
        self.n_bits as usize - 1
    }

    /// `Finalize` (RFC 9474 §4.4): unblinds `blind_sig` with the secret and returns the signature only if it
    /// verifies over `msg`, so that a faulty or malicious signer is caught before the voter uses it.
    pub fn finalize(
        &self,
        msg: &PreparedMessage,
        blind_sig: &BlindSignature,
        secret: &BlindingSecret,
    ) -> Result<Signature> {
        let z = self.os2ip(BLIND_SIGNATURE_FIELD, &blind_sig.0)?;
        let s = self.monty(z).mul(&self.monty(secret.inv.clone())).retrieve();
        let sig = Signature(self.i2osp(&s));
        self.verify(msg, &sig).map_err(|_| {
            CryptoError::SignatureRejected("blind signature does not unblind to a valid signature".into())
        })?;
        Ok(sig)
    }

    /// `Verify` (RFC 9474 §4.5): RSASSA-PSS-VERIFY over the prepared message with this key's variant.
    pub fn verify(&self, msg: &PreparedMessage, sig: &Signature) -> Result<()> {
        let s = self.os2ip(SIGNATURE_FIELD, &sig.0)?;
        let m = self.i2osp(&self.rsavp1(&s));
        // I2OSP(m, emLen): emLen is one byte shorter than the modulus when |n| ≡ 1 (mod 8).
        let em_len = self.em_bits().div_ceil(8);
        let (head, em) = m.split_at(m.len() - em_len);
        if head.iter().any(|&b| b != 0) || !pss::verify(&msg.0, em, self.em_bits(), self.variant.salt_len()) {
            return Err(CryptoError::SignatureRejected(format!("not a valid {} signature", self.variant)));
        }
        Ok(())
    }
}

impl BlindSigningKey {
    /// `BlindSign` (RFC 9474 §4.3): `RSASP1` on the blinded message, in constant time, then the RFC's check
    /// that the result verifies (`s^e = m`) before anything is released: a fault during the CRT computation
    /// would otherwise hand out a value that factors `n` (Boneh-DeMillo-Lipton).
    pub fn blind_sign(&self, blinded: &BlindedMessage) -> Result<BlindSignature> {
        let m = self.public.os2ip(BLINDED_MESSAGE_FIELD, &blinded.0)?;
        let mut s = self.rsasp1(&m);
        if self.public.rsavp1(&s) != m {
            wipe(&mut s);
            tracing::error!("blind signature failed its self-check (possible fault); nothing was released");
            return Err(CryptoError::SignatureRejected(
                "signing failure: self-check of the blind signature failed".into(),
            ));
        }
        Ok(BlindSignature(self.public.i2osp(&s)))
    }
}

pub(crate) fn prepare_with_prefix(prefix: &[u8; PREFIX_LEN], msg: &[u8]) -> PreparedMessage {
    let mut bytes = Vec::with_capacity(PREFIX_LEN + msg.len());
    bytes.extend_from_slice(prefix);
    bytes.extend_from_slice(msg);
    PreparedMessage(bytes)
}
