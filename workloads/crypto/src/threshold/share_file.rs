//! Trustee shares encrypted at rest: Argon2id turns the trustee's passphrase into a key, XChaCha20-Poly1305
//! encrypts the share under it.
//!
//! Why these: Argon2id (RFC 9106) is memory-hard, so guessing a passphrase from a stolen file costs 64 MiB and
//! three passes per guess; XChaCha20-Poly1305's 192-bit nonce can be drawn at random without any counter
//! state. The associated data binds the file's version, trustee index, the threshold public key's fingerprint
//! and every KDF parameter, so a file cannot be relabelled to another trustee or key, or have its KDF cost
//! lowered, without failing authentication.

use argon2::{Algorithm, Argon2, Block, Params, Version};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use rand_core::CryptoRng;
use zeroize::Zeroizing;

use super::dealer::decode_digest;
use super::{KeyShare, ThresholdPublicKey, TrusteeIndex};
use crate::arith;
use crate::error::{CryptoError, Result};
use crate::transcript::Transcript;

const FILE_VERSION: u32 = 1;
const KDF_ALGORITHM: &str = "argon2id";
/// Argon2 version 0x13 (the RFC 9106 version).
const ARGON2_VERSION: u32 = 0x13;
const AEAD_ALGORITHM: &str = "xchacha20poly1305";
const SALT_LEN: usize = 16;
const NONCE_LEN: usize = 24;
const KEY_LEN: usize = 32;
const TAG_LEN: usize = 16;
/// A share is below `n²`; at |n| = 4096 that is 1024 bytes. Larger ciphertexts are refused before any work.
const MAX_CIPHERTEXT_LEN: usize = 1024 + TAG_LEN;
const MAX_MEMORY_KIB: u32 = 4 * 1024 * 1024;
const MAX_ITERATIONS: u32 = 64;
const MAX_PARALLELISM: u32 = 16;

/// A trustee's passphrase. Held in memory that is zeroed on drop; `Debug` is redacted.
#[derive(Clone)]
pub struct Passphrase(Zeroizing<String>);

impl Passphrase {
    /// Refuses an empty passphrase (after the caller's trimming).
    pub fn new(passphrase: impl Into<String>) -> Result<Self> {
        let p = Zeroizing::new(passphrase.into());
        if p.is_empty() {
            return Err(CryptoError::InvalidParameter("passphrase: empty".to_owned()));
        }
        Ok(Self(p))
    }

    /// A random diceware-like passphrase: 8 pronounceable words of three consonant-vowel syllables joined by
    /// `-` (e.g. `bazoki-tefumi-…`). Each syllable is one of 16 consonants × 4 vowels, 6 bits, so the
    /// passphrase carries exactly 8·3·6 = 144 bits of entropy, with no modulo bias.
    pub fn generate<R: CryptoRng + ?Sized>(rng: &mut R) -> Self {
        const CONSONANTS: &[u8; 16] = b"bdfghjklmnprstvz";
        const VOWELS: &[u8; 4] = b"aeio";
        let mut bytes = Zeroizing::new([0u8; 18]);
        rng.fill_bytes(&mut bytes[..]);
        let mut out = Zeroizing::new(String::with_capacity(8 * 7));
        for syllable in 0..24usize {
            // Syllable k uses bits 6k..6k+6 of the 144-bit string.
            let bit = syllable * 6;
            let window = (u16::from(bytes[bit / 8]) << 8) | u16::from(*bytes.get(bit / 8 + 1).unwrap_or(&0));
            let six = (window >> (10 - bit % 8)) & 0x3f;
            if syllable > 0 && syllable % 3 == 0 {
                out.push('-');
            }
            out.push(char::from(CONSONANTS[usize::from(six >> 2)]));
            out.push(char::from(VOWELS[usize::from(six & 3)]));
        }
        Self(out)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Passphrase(<redacted>)")
    }
}

/// Argon2id cost parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct KdfParams {
    /// Memory in KiB.
    pub memory_kib: u32,
    /// Passes over the memory.
    pub iterations: u32,
    /// Lanes.
    pub parallelism: u32,
}

impl KdfParams {
    /// 64 MiB, 3 passes, 1 lane: RFC 9106's second recommended option, about 0.2 s per guess on a laptop core.
    /// The decoder refuses anything weaker unless the crate is built with `insecure-test-keys`.
    pub const PRODUCTION: Self = Self { memory_kib: 64 * 1024, iterations: 3, parallelism: 1 };

    /// 256 KiB, one pass: fast enough for tests. Tests only.
    #[cfg(feature = "insecure-test-keys")]
    pub const INSECURE_TEST: Self = Self { memory_kib: 256, iterations: 1, parallelism: 1 };

    fn check(&self, field: &str) -> Result<()> {
        let weakest = if cfg!(feature = "insecure-test-keys") {
            Self { memory_kib: 8, iterations: 1, parallelism: 1 }
        } else {
            Self::PRODUCTION
        };
        if self.parallelism == 0 || self.parallelism > MAX_PARALLELISM {
            return Err(CryptoError::out_of_range(
                format!("{field}.parallelism"),
                format!("{} is not in 1..={MAX_PARALLELISM}", self.parallelism),
            ));
        }
        let min_memory = weakest.memory_kib.max(8 * self.parallelism);
        if self.memory_kib < min_memory || self.memory_kib > MAX_MEMORY_KIB {
            return Err(CryptoError::out_of_range(
                format!("{field}.memory_kib"),
                format!("{} is not in {min_memory}..={MAX_MEMORY_KIB}", self.memory_kib),
            ));
        }
        if self.iterations < weakest.iterations || self.iterations > MAX_ITERATIONS {
            return Err(CryptoError::out_of_range(
                format!("{field}.iterations"),
                format!("{} is not in {}..={MAX_ITERATIONS}", self.iterations, weakest.iterations),
            ));
        }
        Ok(())
    }

    fn derive_key(&self, passphrase: &Passphrase, salt: &[u8]) -> Result<Zeroizing<[u8; KEY_LEN]>> {
        let params = Params::new(self.memory_kib, self.iterations, self.parallelism, Some(KEY_LEN))
            .map_err(|e| CryptoError::InvalidParameter(format!("share_file.kdf: {e}")))?;
        let block_count = params.block_count();
        let argon = Argon2::new(Algorithm::Argon2id, Version::V0x13, params);
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        // Own the working memory so that it can be overwritten afterwards: it is derived from the passphrase.
        let mut blocks = vec![Block::default(); block_count];
        let outcome =
            argon.hash_password_into_with_memory(passphrase.expose().as_bytes(), salt, &mut key[..], &mut blocks);
        blocks.iter_mut().for_each(|b| *b = Block::default());
        std::hint::black_box(&mut blocks);
        outcome.map_err(|e| CryptoError::InvalidParameter(format!("share_file.kdf: {e}")))?;
        Ok(key)
    }
}

impl Default for KdfParams {
    fn default() -> Self {
        Self::PRODUCTION
    }
}

/// One trustee's share, encrypted under their passphrase. See the module documentation for the format.
#[derive(Clone, PartialEq, Eq)]
pub struct ShareFile {
    trustee: TrusteeIndex,
    key_fingerprint: [u8; 32],
    kdf: KdfParams,
    salt: [u8; SALT_LEN],
    nonce: [u8; NONCE_LEN],
    ciphertext: Vec<u8>,
}

#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct KdfRepr {
    algorithm: String,
    version: u32,
    memory_kib: u32,
    iterations: u32,
    parallelism: u32,
    salt: String,
}

#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct AeadRepr {
    algorithm: String,
    nonce: String,
}

#[derive(serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Repr {
    version: u32,
    trustee: TrusteeIndex,
    public_key_fingerprint: String,
    kdf: KdfRepr,
    aead: AeadRepr,
    ciphertext: String,
}

/// Fixed-length lowercase hex.
fn decode_fixed<const N: usize>(field: &str, s: &str) -> Result<[u8; N]> {
    let bytes = decode_hex(field, s)?;
    <[u8; N]>::try_from(bytes.as_slice())
        .map_err(|_| CryptoError::malformed(field, format!("{} bytes, expected {N}", bytes.len())))
}

fn decode_hex(field: &str, s: &str) -> Result<Vec<u8>> {
    if !s.len().is_multiple_of(2) || !s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return Err(CryptoError::malformed(field, "not lowercase hexadecimal of even length"));
    }
    hex::decode(s).map_err(|e| CryptoError::malformed(field, e.to_string()))
}

impl ShareFile {
    /// Encrypts `share` under `passphrase` with fresh salt and nonce from `rng`.
    pub fn seal<R: CryptoRng + ?Sized>(
        share: &KeyShare,
        public: &ThresholdPublicKey,
        passphrase: &Passphrase,
        kdf: KdfParams,
        rng: &mut R,
    ) -> Result<Self> {
        share.check_binding(public)?;
        kdf.check("share_file.kdf")?;
        let mut salt = [0u8; SALT_LEN];
        let mut nonce = [0u8; NONCE_LEN];
        rng.fill_bytes(&mut salt);
        rng.fill_bytes(&mut nonce);
        let mut file = Self {
            trustee: share.index(),
            key_fingerprint: public.fingerprint(),
            kdf,
            salt,
            nonce,
            ciphertext: Vec::new(),
        };
        let key = kdf.derive_key(passphrase, &salt)?;
        let plaintext = share_plaintext(share, share_len(public));
        let aad = file.associated_data(&public.fingerprint());
        file.ciphertext = XChaCha20Poly1305::new((&*key).into())
            .encrypt(XNonce::from_slice(&nonce), Payload { msg: &plaintext, aad: &aad })
            .map_err(|_| CryptoError::InvalidParameter("share file: encryption failed".to_owned()))?;
        Ok(file)
    }

    /// Decrypts the share and checks it against `public` ([`KeyShare::check_against`]). A wrong passphrase, a
    /// file for another key and any modified byte all give [`CryptoError::ShareFileDecryption`].
    pub fn open(&self, passphrase: &Passphrase, public: &ThresholdPublicKey) -> Result<KeyShare> {
        let key = self.kdf.derive_key(passphrase, &self.salt)?;
        let aad = self.associated_data(&public.fingerprint());
        let plaintext = XChaCha20Poly1305::new((&*key).into())
            .decrypt(XNonce::from_slice(&self.nonce), Payload { msg: &self.ciphertext, aad: &aad })
            .map(Zeroizing::new)
            .map_err(|_| CryptoError::ShareFileDecryption)?;
        // Authenticated under the caller's fingerprint; a differing stored copy can only be a modification.
        if self.key_fingerprint != public.fingerprint() || plaintext.len() != share_len(public) {
            return Err(CryptoError::ShareFileDecryption);
        }
        let share = KeyShare::new(self.trustee, public.fingerprint(), arith::from_bytes(&plaintext));
        share.check_against(public)?;
        Ok(share)
    }

    pub fn trustee(&self) -> TrusteeIndex {
        self.trustee
    }

    /// The fingerprint the file claims (authenticated only by [`ShareFile::open`]).
    pub fn key_fingerprint(&self) -> [u8; 32] {
        self.key_fingerprint
    }

    pub fn kdf(&self) -> KdfParams {
        self.kdf
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    pub fn from_json(json: &str) -> Result<Self> {
        serde_json::from_str(json).map_err(|e| CryptoError::malformed("share_file", e.to_string()))
    }

    /// SHA-256 transcript `urna/v1/share-file` over: file version, trustee index, threshold public key
    /// fingerprint, `"argon2id"`, Argon2 version (19), memory KiB, iterations, parallelism, salt,
    /// `"xchacha20poly1305"`.
    fn associated_data(&self, key_fingerprint: &[u8; 32]) -> [u8; 32] {
        let mut t = Transcript::new("share-file");
        t.append_u64(u64::from(FILE_VERSION));
        t.append_u64(u64::from(self.trustee.get()));
        t.append_bytes(key_fingerprint);
        t.append_str(KDF_ALGORITHM);
        t.append_u64(u64::from(ARGON2_VERSION));
        t.append_u64(u64::from(self.kdf.memory_kib));
        t.append_u64(u64::from(self.kdf.iterations));
        t.append_u64(u64::from(self.kdf.parallelism));
        t.append_bytes(&self.salt);
        t.append_str(AEAD_ALGORITHM);
        t.finalize()
    }

    fn from_repr(r: Repr) -> Result<Self> {
        if r.version != FILE_VERSION {
            return Err(CryptoError::malformed(
                "share_file.version",
                format!("version {} is not {FILE_VERSION}", r.version),
            ));
        }
        let key_fingerprint = decode_digest("share_file.public_key_fingerprint", &r.public_key_fingerprint)?;
        if r.kdf.algorithm != KDF_ALGORITHM {
            return Err(CryptoError::malformed(
                "share_file.kdf.algorithm",
                format!("{:?} is not {KDF_ALGORITHM:?}", r.kdf.algorithm),
            ));
        }
        if r.kdf.version != ARGON2_VERSION {
            return Err(CryptoError::malformed(
                "share_file.kdf.version",
                format!("{} is not {ARGON2_VERSION}", r.kdf.version),
            ));
        }
        let kdf =
            KdfParams { memory_kib: r.kdf.memory_kib, iterations: r.kdf.iterations, parallelism: r.kdf.parallelism };
        kdf.check("share_file.kdf")?;
        let salt = decode_fixed::<SALT_LEN>("share_file.kdf.salt", &r.kdf.salt)?;
        if r.aead.algorithm != AEAD_ALGORITHM {
            return Err(CryptoError::malformed(
                "share_file.aead.algorithm",
                format!("{:?} is not {AEAD_ALGORITHM:?}", r.aead.algorithm),
            ));
        }
        let nonce = decode_fixed::<NONCE_LEN>("share_file.aead.nonce", &r.aead.nonce)?;
        if r.ciphertext.len() > 2 * MAX_CIPHERTEXT_LEN {
            return Err(CryptoError::out_of_range(
                "share_file.ciphertext",
                format!("longer than {MAX_CIPHERTEXT_LEN} bytes"),
            ));
        }
        let ciphertext = decode_hex("share_file.ciphertext", &r.ciphertext)?;
        if ciphertext.len() <= TAG_LEN {
            return Err(CryptoError::out_of_range("share_file.ciphertext", "shorter than the authentication tag"));
        }
        Ok(Self { trustee: r.trustee, key_fingerprint, kdf, salt, nonce, ciphertext })
    }
}

/// `s_i` as big-endian bytes left-padded to `len`; both buffers are zeroed when dropped.
fn share_plaintext(share: &KeyShare, len: usize) -> Zeroizing<Vec<u8>> {
    let raw = Zeroizing::new(arith::to_bytes(&share.secret));
    // Allocated once at full size, so no reallocation leaves an unzeroed copy behind.
    let mut out = Zeroizing::new(Vec::with_capacity(len.max(raw.len())));
    out.resize(len.saturating_sub(raw.len()), 0u8);
    out.extend_from_slice(&raw);
    out
}

/// The share's plaintext length: the byte length of `n²` (shares are below `n·m < n²`), fixed so that the
/// ciphertext length does not depend on the share's value.
fn share_len(public: &ThresholdPublicKey) -> usize {
    public.paillier().n_squared().significant_bits().div_ceil(8) as usize
}

impl serde::Serialize for ShareFile {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        Repr {
            version: FILE_VERSION,
            trustee: self.trustee,
            public_key_fingerprint: hex::encode(self.key_fingerprint),
            kdf: KdfRepr {
                algorithm: KDF_ALGORITHM.to_owned(),
                version: ARGON2_VERSION,
                memory_kib: self.kdf.memory_kib,
                iterations: self.kdf.iterations,
                parallelism: self.kdf.parallelism,
                salt: hex::encode(self.salt),
            },
            aead: AeadRepr { algorithm: AEAD_ALGORITHM.to_owned(), nonce: hex::encode(self.nonce) },
            ciphertext: hex::encode(&self.ciphertext),
        }
        .serialize(s)
    }
}

impl<'de> serde::Deserialize<'de> for ShareFile {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        Self::from_repr(Repr::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

impl std::fmt::Debug for ShareFile {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "ShareFile(trustee {}, key {})", self.trustee, hex::encode(&self.key_fingerprint[..8]))
    }
}
