/// Modulus sizes. Production sizes are always available; the insecure ones exist only with the crate feature
/// `insecure-test-keys`, which test builds enable and release builds never do, so a small key cannot reach a
/// real election by configuration mistake: without the feature every decoder refuses moduli below 3072 bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize)]
pub enum KeySize {
    /// |n| = 3072 (128-bit security), the default, as in the 2024 Mexican election.
    #[default]
    Bits3072,
    /// |n| = 4096.
    Bits4096,
    /// |n| = 512. Tests only.
    #[cfg(feature = "insecure-test-keys")]
    InsecureTest512,
    /// |n| = 1024. Tests only.
    #[cfg(feature = "insecure-test-keys")]
    InsecureTest1024,
    /// |n| = 2048. Tests only.
    #[cfg(feature = "insecure-test-keys")]
    InsecureTest2048,
}

impl KeySize {
    pub fn modulus_bits(self) -> u32 {
        match self {
            Self::Bits3072 => 3072,
            Self::Bits4096 => 4096,
            #[cfg(feature = "insecure-test-keys")]
            Self::InsecureTest512 => 512,
            #[cfg(feature = "insecure-test-keys")]
            Self::InsecureTest1024 => 1024,
            #[cfg(feature = "insecure-test-keys")]
            Self::InsecureTest2048 => 2048,
        }
    }

    /// The smallest modulus any decoder accepts in this build.
    pub fn minimum_accepted_bits() -> u32 {
        if cfg!(feature = "insecure-test-keys") { 256 } else { 3072 }
    }
}
