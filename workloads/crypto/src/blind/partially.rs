//! Partially blind RSA signatures, RSAPBSSA-SHA384-PSS-Randomized (draft-irtf-cfrg-partially-blind-rsa): the
//! signer signs a blinded message under a key *derived from public metadata* `info` that both sides know. The
//! voting right uses it so that a right is bound to one election, modality and ballot style
//! ([`voting_right_info`]) without the signer learning the ballot (docs/protocol.md §5.3).
//!
//! ```text
//!   DerivePublicKey(n, info): e' = first |n|/2 bytes of HKDF-SHA384(IKM = "key" || info || 0x00, salt = n,
//!                             info = "PBRSA", L = |n|/2 + 16), top two bits cleared, lowest bit set
//!   DeriveKeyPair(sk, info):  d' = e'^(-1) mod φ(n)            (exists because p, q are safe primes)
//!   signed message:           "msg" || len(info) (4 bytes, big-endian) || info || prepared
//! ```
//!
//! Everything else (EMSA-PSS, blinding, RSASP1 by CRT with its fault check, finalize, verify) is the RFC 9474
//! code of this module run with `e'`/`d'`. The draft requires the key to be made of safe primes: then `e'`,
//! which is odd and below both `p'` and `q'`, is invertible modulo `φ(n) = 4p'q'` for every `info`, and the
//! signatures under different `info` are as independent as signatures under unrelated keys (the draft's
//! security argument relies on the strong RSA assumption for such moduli). [`BlindSigningKey::generate_safe`]
//! makes such keys; [`BlindSigningKey::has_safe_primes`] checks a loaded one.

use hkdf::Hkdf;
use sha2::Sha384;

use super::keys::{BlindSigningKey, BlindVerifyingKey, VERIFYING_KEY_FIELD};
use super::protocol::{BlindSignature, BlindedMessage, BlindingSecret, PreparedMessage, Signature};
use crate::error::{CryptoError, Result};

/// The public metadata of a voting right: the transcript items (docs/protocol.md §1: each item its 4-byte
/// big-endian length then its bytes, *not* hashed) `"urna/v1/voting-right", election_id, modality,
/// ballot_style`. The same bytes as `votingRightInfo` of `@urna/crypto/partially-blind`.
pub fn voting_right_info(election_id: &str, modality: &str, ballot_style: &str) -> Vec<u8> {
    let mut out = Vec::new();
    for item in ["urna/v1/voting-right", election_id, modality, ballot_style] {
        let len = u32::try_from(item.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(item.as_bytes());
    }
    out
}

/// A verifying key derived for one `info`: blinds, finalizes and verifies partially blind signatures.
#[derive(Clone, Debug)]
pub struct DerivedVerifyingKey {
    /// The master key with `e` replaced by `e'` (same modulus, so the same byte lengths and range checks).
    key: BlindVerifyingKey,
    info: Vec<u8>,
}

/// A signing key derived for one `info` (`d'`, CRT form). Its `Debug` is the master key's: redacted.
#[derive(Clone, Debug)]
pub struct DerivedSigningKey {
    key: BlindSigningKey,
    public: DerivedVerifyingKey,
}

/// `e'` of `DerivePublicKey`, as big-endian bytes of `|n|/2` bytes (`modulus_len / 2`, rounded down).
fn derive_exponent(key: &BlindVerifyingKey, info: &[u8]) -> Result<Vec<u8>> {
    let lambda_len = key.modulus_len() / 2;
    let mut ikm = Vec::with_capacity(info.len() + 4);
    ikm.extend_from_slice(b"key");
    ikm.extend_from_slice(info);
    ikm.push(0);
    let salt = key.i2osp(key.n.as_ref());
    let mut okm = vec![0u8; lambda_len + 16];
    Hkdf::<Sha384>::new(Some(&salt), &ikm)
        .expand(b"PBRSA", &mut okm)
        .map_err(|_| CryptoError::invalid_key(VERIFYING_KEY_FIELD, "modulus too large for HKDF-SHA384"))?;
    okm.truncate(lambda_len);
    let (first, last) = (0, lambda_len.saturating_sub(1));
    if let Some(b) = okm.get_mut(first) {
        *b &= 0x3f;
    }
    if let Some(b) = okm.get_mut(last) {
        *b |= 0x01;
    }
    Ok(okm)
}

/// `"msg" || len(info) || info || prepared`: the bytes that are PSS-encoded and signed.
fn message_with_info(prepared: &PreparedMessage, info: &[u8]) -> Result<PreparedMessage> {
    let len = u32::try_from(info.len())
        .map_err(|_| CryptoError::InvalidParameter("public metadata longer than 2^32 bytes".into()))?;
    let mut bytes = Vec::with_capacity(7 + info.len() + prepared.as_bytes().len());
    bytes.extend_from_slice(b"msg");
    bytes.extend_from_slice(&len.to_be_bytes());
    bytes.extend_from_slice(info);
    bytes.extend_from_slice(prepared.as_bytes());
    Ok(PreparedMessage(bytes))
}

impl BlindVerifyingKey {
    /// `DerivePublicKey(pk, info)`: the key that verifies partially blind signatures made for `info`.
    pub fn derive(&self, info: &[u8]) -> Result<DerivedVerifyingKey> {
        let e = derive_exponent(self, info)?;
        Ok(DerivedVerifyingKey { key: self.with_exponent(&e), info: info.to_vec() })
    }
}

impl DerivedVerifyingKey {
    /// The public metadata this key was derived for.
    pub fn info(&self) -> &[u8] {
        &self.info
    }

    /// `e'` as minimal big-endian bytes (for tests against the draft's vectors and for diagnostics).
    pub fn exponent_bytes(&self) -> Vec<u8> {
        let bytes = self.key.e.to_be_bytes();
        let start = bytes.iter().position(|&b| b != 0).unwrap_or(bytes.len());
        bytes.get(start..).unwrap_or_default().to_vec()
    }

    /// RFC 9474 `Prepare` (32 random bytes, then `msg`), unchanged by the draft.
    pub fn prepare<R: rand_core::CryptoRng + ?Sized>(&self, msg: &[u8], rng: &mut R) -> PreparedMessage {
        self.key.prepare(msg, rng)
    }

    /// `Blind(pk, msg, info)`: the prepared message (RFC 9474 `Prepare`, unchanged) is signed together with
    /// `info`.
    pub fn blind<R: rand_core::CryptoRng + ?Sized>(
        &self,
        msg: &PreparedMessage,
        rng: &mut R,
    ) -> Result<(BlindedMessage, BlindingSecret)> {
        self.key.blind(&message_with_info(msg, &self.info)?, rng)
    }

    /// `Finalize(pk, msg, info, blind_sig, inv)`: unblinds and verifies before returning.
    pub fn finalize(
        &self,
        msg: &PreparedMessage,
        blind_sig: &BlindSignature,
        secret: &BlindingSecret,
    ) -> Result<Signature> {
        self.key.finalize(&message_with_info(msg, &self.info)?, blind_sig, secret)
    }

    /// `Verify(pk, msg, info, sig)`.
    pub fn verify(&self, msg: &PreparedMessage, sig: &Signature) -> Result<()> {
        self.key.verify(&message_with_info(msg, &self.info)?, sig)
    }

    #[doc(hidden)]
    pub fn blind_with_fixed_randomness(
        &self,
        msg: &PreparedMessage,
        salt: &[u8],
        r: &[u8],
    ) -> Result<(BlindedMessage, BlindingSecret)> {
        super::hazmat::blind_with_fixed_factor(&self.key, &message_with_info(msg, &self.info)?, salt, r)
    }
}

impl BlindSigningKey {
    /// `DeriveKeyPair(sk, info)`: the key that signs for `info`. Fails (rather than signing under a wrong
    /// exponent) if `e'` is not invertible modulo `φ(n)`, which cannot happen for a key of safe primes.
    pub fn derive(&self, info: &[u8]) -> Result<DerivedSigningKey> {
        let public = self.public.derive(info)?;
        let key = self.with_public(public.key.clone())?;
        Ok(DerivedSigningKey { key, public })
    }
}

impl DerivedSigningKey {
    pub fn verifying_key(&self) -> &DerivedVerifyingKey {
        &self.public
    }

    /// `BlindSign(sk, blinded_msg, info)`: RSASP1 with `d'` by CRT in constant time, checked against `e'`
    /// before release (RFC 9474's fault countermeasure).
    pub fn blind_sign(&self, blinded: &BlindedMessage) -> Result<BlindSignature> {
        self.key.blind_sign(blinded)
    }
}
