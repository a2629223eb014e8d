//! The seed's hard cases (`urna_ballot::testkit`) and a small-key election around them (shared by the test files).
#![allow(dead_code)]

use std::sync::LazyLock;

use urna_ballot::BallotCodec;
pub use urna_ballot::testkit::hard_cases as manifest;
use urna_crypto::paillier::{KeySize, PublicKey, SecretKey, generate_keypair};

pub static KEYS: LazyLock<(PublicKey, SecretKey)> =
    LazyLock::new(|| generate_keypair(KeySize::InsecureTest1024, &mut urna_crypto::os_rng()).expect("keygen"));

pub fn codec() -> BallotCodec {
    BallotCodec::new(manifest(), KEYS.0.clone()).expect("codec")
}
