//! Protocol parameters: key sizes and the four RFC 9474 variants.

/// SHA-384 output length: `hLen` of RFC 8017, and the PSS salt length of the `PSS` variants.
pub(crate) const HASH_LEN: usize = 48;

/// Length of the random prefix `PrepareRandomize` puts in front of the message (RFC 9474 §4.1).
pub const PREFIX_LEN: usize = 32;

/// The public exponent of every key Urna generates (F4). Decoders accept other odd exponents in
/// `(2^16, 2^32)`, the FIPS 186-5 lower bound and a cap that bounds the cost of a public operation.
pub(crate) const PUBLIC_EXPONENT: u32 = 65_537;

/// Largest modulus any decoder accepts. Urna generates 3072 or 4096 bits; refusing larger keys bounds the
/// work an attacker-supplied key can cause a verifier.
pub(crate) const MAX_MODULUS_BITS: u32 = 4096;

/// Blind-signature modulus sizes. As for Paillier ([`crate::paillier::KeySize`]), the insecure sizes exist
/// only with the crate feature `insecure-test-keys`; without it every decoder refuses moduli below 3072 bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
pub enum BlindKeySize {
    /// |n| = 3072 (128-bit security), the default.
    #[default]
    Bits3072,
    /// |n| = 4096.
    Bits4096,
    /// |n| = 1024, the smallest size that fits EMSA-PSS with SHA-384 and a 48-byte salt. Tests only.
    #[cfg(feature = "insecure-test-keys")]
    InsecureTest1024,
    /// |n| = 2048. Tests only.
    #[cfg(feature = "insecure-test-keys")]
    InsecureTest2048,
}

impl BlindKeySize {
    pub fn modulus_bits(self) -> u32 {
        match self {
            Self::Bits3072 => 3072,
            Self::Bits4096 => 4096,
            #[cfg(feature = "insecure-test-keys")]
            Self::InsecureTest1024 => 1024,
            #[cfg(feature = "insecure-test-keys")]
            Self::InsecureTest2048 => 2048,
        }
    }

    /// The smallest modulus any decoder accepts in this build.
    pub fn minimum_accepted_bits() -> u32 {
        if cfg!(feature = "insecure-test-keys") { 1024 } else { 3072 }
    }
}

/// The RFC 9474 variants, all over SHA-384 with MGF1-SHA-384 (RFC 9474 §5).
///
/// The variant is a protocol constant, not part of the key encoding: a [`super::BlindVerifyingKey`] decodes
/// with the default, and [`super::BlindVerifyingKey::with_variant`] selects another (the test vectors use all
/// four). Serde names are the RFC's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
pub enum Variant {
    /// RSABSSA-SHA384-PSS-Randomized: 48-byte PSS salt and a 32-byte random message prefix. The variant RFC
    /// 9474 recommends and the one Urna uses: the prefix keeps the signed message unpredictable to the signer
    /// even when the application message is not.
    #[default]
    #[serde(rename = "RSABSSA-SHA384-PSS-Randomized")]
    Sha384PssRandomized,
    /// RSABSSA-SHA384-PSSZERO-Randomized: no salt, random prefix.
    #[serde(rename = "RSABSSA-SHA384-PSSZERO-Randomized")]
    Sha384PssZeroRandomized,
    /// RSABSSA-SHA384-PSS-Deterministic: 48-byte salt, message signed as is.
    #[serde(rename = "RSABSSA-SHA384-PSS-Deterministic")]
    Sha384PssDeterministic,
    /// RSABSSA-SHA384-PSSZERO-Deterministic: no salt, message signed as is.
    #[serde(rename = "RSABSSA-SHA384-PSSZERO-Deterministic")]
    Sha384PssZeroDeterministic,
}

impl Variant {
    /// The RFC 9474 name of the variant.
    pub fn name(self) -> &'static str {
        match self {
            Self::Sha384PssRandomized => "RSABSSA-SHA384-PSS-Randomized",
            Self::Sha384PssZeroRandomized => "RSABSSA-SHA384-PSSZERO-Randomized",
            Self::Sha384PssDeterministic => "RSABSSA-SHA384-PSS-Deterministic",
            Self::Sha384PssZeroDeterministic => "RSABSSA-SHA384-PSSZERO-Deterministic",
        }
    }

    /// The EMSA-PSS salt length in bytes: `hLen` for PSS, zero for PSSZERO.
    pub fn salt_len(self) -> usize {
        match self {
            Self::Sha384PssRandomized | Self::Sha384PssDeterministic => HASH_LEN,
            Self::Sha384PssZeroRandomized | Self::Sha384PssZeroDeterministic => 0,
        }
    }

    /// Whether `Prepare` adds a random prefix (`PrepareRandomize`) or is the identity (`PrepareIdentity`).
    pub fn is_randomized(self) -> bool {
        matches!(self, Self::Sha384PssRandomized | Self::Sha384PssZeroRandomized)
    }
}

impl std::fmt::Display for Variant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
