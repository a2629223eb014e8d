//! Encodings: DER/PEM for keys, strict lowercase hex for everything in JSON.
//!
//! - Verifying key: X.509 `SubjectPublicKeyInfo` with `rsaEncryption` (NULL parameters) around a PKCS#1
//!   `RSAPublicKey`, the form `openssl pkey -pubout` writes. In JSON: lowercase hex of that DER. Decoding
//!   re-encodes and compares, so exactly one encoding per key is accepted (keys are hashed into records).
//! - Signing key: unencrypted PKCS#8 v1 `PrivateKeyInfo` around a two-prime PKCS#1 `RSAPrivateKey`, as DER or
//!   PEM (`PRIVATE KEY`). Decoding checks `n = p·q`, the CRT parameters, `d` against them, and that `p` and
//!   `q` are prime. Encrypting the file at rest is the key ceremony's business.
//! - Prepared messages, blinded messages and (blind) signatures: lowercase hex of their bytes.

use pkcs8::der::asn1::OctetStringRef;
use pkcs8::der::pem::LineEnding;
use pkcs8::der::{Decode, Document, Encode, SecretDocument};
use pkcs8::{PrivateKeyInfoRef, SubjectPublicKeyInfoRef};
use zeroize::Zeroizing;

use super::keys::{BlindSigningKey, BlindVerifyingKey, SIGNING_KEY_FIELD, VERIFYING_KEY_FIELD, wipe};
use super::params::BlindKeySize;
use super::protocol::{BlindSignature, BlindedMessage, PREPARED_MESSAGE_FIELD, PreparedMessage, Signature};
use crate::error::{CryptoError, Result};

const PUBLIC_KEY_PEM_LABEL: &str = "PUBLIC KEY";
const PRIVATE_KEY_PEM_LABEL: &str = "PRIVATE KEY";

/// Longest prepared message the serde decoder accepts: a voting right's message is a short token, and an
/// unbounded string from the network should not become an unbounded allocation and hash.
const MAX_PREPARED_MESSAGE_BYTES: usize = 64 * 1024;

/// Strict lowercase hex of a byte string (empty allowed: an empty message is a message).
pub(crate) fn bytes_from_hex(field: &str, s: &str) -> Result<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return Err(CryptoError::malformed(field, "hex string of odd length"));
    }
    if !s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return Err(CryptoError::malformed(field, "not lowercase hexadecimal"));
    }
    hex::decode(s).map_err(|e| CryptoError::malformed(field, e.to_string()))
}

fn uint<'a>(field: &str, bytes: &'a [u8]) -> Result<pkcs1::UintRef<'a>> {
    pkcs1::UintRef::new(bytes).map_err(der_error(field))
}

fn der_error(field: &str) -> impl Fn(pkcs8::der::Error) -> CryptoError + '_ {
    move |e| CryptoError::malformed(field, format!("DER: {e}"))
}

/// The canonical SPKI DER of `key` (called once, by the key's constructor).
pub(crate) fn encode_spki(key: &BlindVerifyingKey) -> Result<Vec<u8>> {
    let der = der_error(VERIFYING_KEY_FIELD);
    let n = key.n.as_ref().to_be_bytes_trimmed_vartime();
    let e = key.e.to_be_bytes_trimmed_vartime();
    let rsa = pkcs1::RsaPublicKeyRef {
        modulus: pkcs1::UintRef::new(&n).map_err(&der)?,
        public_exponent: pkcs1::UintRef::new(&e).map_err(&der)?,
    };
    let rsa_der = rsa.to_der().map_err(&der)?;
    let spki = SubjectPublicKeyInfoRef {
        algorithm: pkcs1::ALGORITHM_ID,
        subject_public_key: pkcs8::der::asn1::BitStringRef::new(0, &rsa_der).map_err(&der)?,
    };
    spki.to_der().map_err(der)
}

impl BlindVerifyingKey {
    /// Decodes DER `SubjectPublicKeyInfo` (see the module documentation), validating the key. The variant is
    /// the default; see [`BlindVerifyingKey::with_variant`].
    pub fn from_spki_der(bytes: &[u8]) -> Result<Self> {
        let field = VERIFYING_KEY_FIELD;
        let der = der_error(field);
        let spki = SubjectPublicKeyInfoRef::from_der(bytes).map_err(&der)?;
        if spki.algorithm.oid != pkcs1::ALGORITHM_OID {
            return Err(CryptoError::malformed(
                field,
                format!("algorithm {} is not rsaEncryption", spki.algorithm.oid),
            ));
        }
        let rsa_der = spki
            .subject_public_key
            .as_bytes()
            .ok_or_else(|| CryptoError::malformed(field, "bit string with unused bits"))?;
        let rsa = pkcs1::RsaPublicKeyRef::from_der(rsa_der).map_err(&der)?;
        let key = Self::from_be_bytes(rsa.modulus.as_bytes(), rsa.public_exponent.as_bytes())?;
        if key.spki != bytes {
            return Err(CryptoError::malformed(field, "not the canonical DER encoding"));
        }
        Ok(key)
    }

    /// The DER `SubjectPublicKeyInfo`.
    pub fn to_spki_der(&self) -> &[u8] {
        &self.spki
    }

    /// PEM (`PUBLIC KEY`) of the SPKI DER.
    pub fn to_pem(&self) -> Result<String> {
        let doc = Document::try_from(self.spki.as_slice()).map_err(der_error(VERIFYING_KEY_FIELD))?;
        doc.to_pem(PUBLIC_KEY_PEM_LABEL, LineEnding::LF).map_err(der_error(VERIFYING_KEY_FIELD))
    }

    pub fn from_pem(pem: &str) -> Result<Self> {
        let field = VERIFYING_KEY_FIELD;
        let (label, doc) = Document::from_pem(pem).map_err(der_error(field))?;
        if label != PUBLIC_KEY_PEM_LABEL {
            return Err(CryptoError::malformed(
                field,
                format!("PEM label {label:?}, expected {PUBLIC_KEY_PEM_LABEL:?}"),
            ));
        }
        Self::from_spki_der(doc.as_bytes())
    }

    /// Lowercase hex of the SPKI DER: the JSON form.
    pub fn to_hex(&self) -> String {
        hex::encode(&self.spki)
    }

    pub fn from_hex(s: &str) -> Result<Self> {
        Self::from_spki_der(&bytes_from_hex(VERIFYING_KEY_FIELD, s)?)
    }
}

impl BlindSigningKey {
    /// Unencrypted PKCS#8 DER. The buffer is wiped when dropped.
    pub fn to_pkcs8_der(&self) -> Result<Zeroizing<Vec<u8>>> {
        Ok(self.pkcs8_document()?.to_bytes())
    }

    /// Unencrypted PKCS#8 PEM (`PRIVATE KEY`). The string is wiped when dropped.
    pub fn to_pkcs8_pem(&self) -> Result<Zeroizing<String>> {
        self.pkcs8_document()?.to_pem(PRIVATE_KEY_PEM_LABEL, LineEnding::LF).map_err(der_error(SIGNING_KEY_FIELD))
    }

    fn pkcs8_document(&self) -> Result<SecretDocument> {
        let der = der_error(SIGNING_KEY_FIELD);
        let crt = &self.crt;
        let trimmed = |x: &crypto_bigint::BoxedUint| Zeroizing::new(x.to_be_bytes_trimmed_vartime().into_vec());
        let n = self.public.n.as_ref().to_be_bytes_trimmed_vartime();
        let e = self.public.e.to_be_bytes_trimmed_vartime();
        let (d, p, q) = (trimmed(&crt.d), trimmed(&crt.p), trimmed(&crt.q));
        let (dp, dq, qinv) = (trimmed(&crt.dp), trimmed(&crt.dq), trimmed(&crt.qinv));
        let rsa = pkcs1::RsaPrivateKeyRef {
            modulus: uint(SIGNING_KEY_FIELD, &n)?,
            public_exponent: uint(SIGNING_KEY_FIELD, &e)?,
            private_exponent: uint(SIGNING_KEY_FIELD, &d)?,
            prime1: uint(SIGNING_KEY_FIELD, &p)?,
            prime2: uint(SIGNING_KEY_FIELD, &q)?,
            exponent1: uint(SIGNING_KEY_FIELD, &dp)?,
            exponent2: uint(SIGNING_KEY_FIELD, &dq)?,
            coefficient: uint(SIGNING_KEY_FIELD, &qinv)?,
            other_prime_infos: None,
        };
        let rsa_der = SecretDocument::encode_msg(&rsa).map_err(&der)?;
        let info = PrivateKeyInfoRef::new(pkcs1::ALGORITHM_ID, OctetStringRef::new(rsa_der.as_bytes()).map_err(&der)?);
        SecretDocument::encode_msg(&info).map_err(der)
    }

    /// Decodes unencrypted PKCS#8 DER and validates the key (see the module documentation). Accepts exactly
    /// the encoding [`BlindSigningKey::to_pkcs8_der`] produces.
    pub fn from_pkcs8_der(bytes: &[u8]) -> Result<Self> {
        let field = SIGNING_KEY_FIELD;
        let der = der_error(field);
        let invalid = |reason: &str| CryptoError::invalid_key(field, reason);
        let info = PrivateKeyInfoRef::from_der(bytes).map_err(&der)?;
        if info.algorithm.oid != pkcs1::ALGORITHM_OID {
            return Err(CryptoError::malformed(
                field,
                format!("algorithm {} is not rsaEncryption", info.algorithm.oid),
            ));
        }
        let rsa = pkcs1::RsaPrivateKeyRef::from_der(info.private_key.as_bytes()).map_err(&der)?;
        if rsa.other_prime_infos.is_some() {
            return Err(invalid("multi-prime keys are not supported"));
        }
        let (p, q) = (rsa.prime1.as_bytes(), rsa.prime2.as_bytes());
        // Bound the work before any arithmetic: no factor of an accepted modulus is longer than the modulus.
        let max_prime_bytes = super::params::MAX_MODULUS_BITS as usize / 8;
        if p.len() > max_prime_bytes || q.len() > max_prime_bytes {
            return Err(invalid("prime too large"));
        }
        let mut key = Self::from_primes(p, q, rsa.public_exponent.as_bytes())?;
        let n = key.public.n.as_ref().to_be_bytes_trimmed_vartime();
        if *n != *rsa.modulus.as_bytes() {
            return Err(invalid("modulus is not the product of the primes"));
        }
        let crt = &key.crt;
        let same = |ours: &crypto_bigint::BoxedUint, theirs: &[u8]| {
            *Zeroizing::new(ours.to_be_bytes_trimmed_vartime().into_vec()) == *theirs
        };
        if !same(&crt.dp, rsa.exponent1.as_bytes())
            || !same(&crt.dq, rsa.exponent2.as_bytes())
            || !same(&crt.qinv, rsa.coefficient.as_bytes())
        {
            return Err(invalid("CRT parameters do not match the primes"));
        }
        // d may be e^(-1) mod φ(n) or mod λ(n) depending on the producer: check it against dp and dq.
        let d_bytes = rsa.private_exponent.as_bytes();
        let n_prec = key.public.n.bits_precision();
        let mut d = crypto_bigint::BoxedUint::from_be_slice(d_bytes, n_prec).map_err(|_| invalid("d is too large"))?;
        if d >= *key.public.n.as_ref() || !d_matches(&d, &crt.p, &crt.dp) || !d_matches(&d, &crt.q, &crt.dq) {
            wipe(&mut d);
            return Err(invalid("private exponent does not match the CRT parameters"));
        }
        for prime in [&crt.p, &crt.q] {
            if !crypto_primes::is_prime(crypto_primes::Flavor::Any, prime) {
                wipe(&mut d);
                return Err(invalid("a factor of the modulus is not prime"));
            }
        }
        wipe(&mut key.crt.d);
        key.crt.d = d;
        // One encoding per key: no PKCS#8 v2 public-key field, no attributes, nothing after the structure.
        if *key.to_pkcs8_der()? != *bytes {
            return Err(CryptoError::malformed(field, "not the canonical PKCS#8 v1 encoding"));
        }
        Ok(key)
    }

    pub fn from_pkcs8_pem(pem: &str) -> Result<Self> {
        let field = SIGNING_KEY_FIELD;
        let (label, doc) = SecretDocument::from_pem(pem).map_err(der_error(field))?;
        if label != PRIVATE_KEY_PEM_LABEL {
            return Err(CryptoError::malformed(
                field,
                format!("PEM label {label:?}, expected {PRIVATE_KEY_PEM_LABEL:?}"),
            ));
        }
        Self::from_pkcs8_der(doc.as_bytes())
    }
}

/// `d mod (prime − 1) = d_prime`.
fn d_matches(
    d: &crypto_bigint::BoxedUint,
    prime: &crypto_bigint::BoxedUint,
    d_prime: &crypto_bigint::BoxedUint,
) -> bool {
    use crypto_bigint::Resize;
    let m = prime.wrapping_sub(crypto_bigint::BoxedUint::one_with_precision(prime.bits_precision()));
    let Some(m) = Option::<crypto_bigint::NonZero<crypto_bigint::BoxedUint>>::from(crypto_bigint::NonZero::new(m))
    else {
        return false;
    };
    let mut r = d.rem(&m);
    let ok = r == d_prime.clone().resize_unchecked(r.bits_precision());
    wipe(&mut r);
    ok
}

// ---- serde: every public value as a lowercase hex string ----

impl serde::Serialize for BlindVerifyingKey {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}

impl<'de> serde::Deserialize<'de> for BlindVerifyingKey {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::from_hex(&s).map_err(serde::de::Error::custom)
    }
}

impl serde::Serialize for PreparedMessage {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.serialize_str(&hex::encode(&self.0))
    }
}

impl<'de> serde::Deserialize<'de> for PreparedMessage {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        if s.len() > 2 * MAX_PREPARED_MESSAGE_BYTES {
            return Err(serde::de::Error::custom(CryptoError::malformed(PREPARED_MESSAGE_FIELD, "too long")));
        }
        bytes_from_hex(PREPARED_MESSAGE_FIELD, &s).map(PreparedMessage).map_err(serde::de::Error::custom)
    }
}

/// serde for the modulus-sized values. Deserializing checks the hex and that the length is a possible
/// `modulus_len`; the key-dependent checks (exact length, below `n`) run in every operation that takes the
/// value, and eagerly in `from_hex(key, ..)`.
macro_rules! serde_modulus_sized {
    ($name:ident, $field:expr) => {
        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
                s.serialize_str(&self.to_hex())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
                let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
                let min = BlindKeySize::minimum_accepted_bits().div_ceil(8) as usize;
                let max = super::params::MAX_MODULUS_BITS.div_ceil(8) as usize;
                if s.len() < 2 * min || s.len() > 2 * max {
                    return Err(serde::de::Error::custom(CryptoError::malformed(
                        $field,
                        format!("expected {min} to {max} bytes, got {} hex digits", s.len()),
                    )));
                }
                bytes_from_hex($field, &s).map($name).map_err(serde::de::Error::custom)
            }
        }
    };
}

serde_modulus_sized!(BlindedMessage, super::protocol::BLINDED_MESSAGE_FIELD);
serde_modulus_sized!(BlindSignature, super::protocol::BLIND_SIGNATURE_FIELD);
serde_modulus_sized!(Signature, super::protocol::SIGNATURE_FIELD);
