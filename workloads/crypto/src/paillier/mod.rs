//! Paillier encryption with `g = n + 1` (PROTOCOL §1).

mod ciphertext;
mod key_size;
mod keygen;
mod plaintext;
mod pool;
mod public_key;
mod secret_key;

pub use ciphertext::Ciphertext;
pub use key_size::KeySize;
pub use keygen::{SafePrimePair, generate_keypair, generate_safe_prime_pair};
pub use plaintext::Plaintext;
pub use pool::{Nonce, PrecomputedNonce, RandomnessPool};
pub use public_key::PublicKey;
pub use secret_key::SecretKey;
