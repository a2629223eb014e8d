//! Paillier at an insecure test size: correctness, homomorphism, and input checks.

use proptest::prelude::*;
use std::sync::LazyLock;
use urna_crypto::paillier::{Ciphertext, KeySize, Plaintext, PublicKey, RandomnessPool, SecretKey, generate_keypair};

static KEYS: LazyLock<(PublicKey, SecretKey)> =
    LazyLock::new(|| generate_keypair(KeySize::InsecureTest1024, &mut urna_crypto::os_rng()).expect("key generation"));

fn decrypt(c: &Ciphertext) -> u64 {
    KEYS.1.decrypt(c).expect("decrypt").to_u64().expect("small plaintext")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(24))]

    #[test]
    fn encryption_round_trips(m in any::<u64>()) {
        let (c, _) = KEYS.0.encrypt(&Plaintext::from_u64(m), &mut urna_crypto::os_rng()).expect("encrypt");
        prop_assert_eq!(decrypt(&c), m);
    }

    #[test]
    fn addition_and_scalar_are_homomorphic(a in 0u64..1 << 40, b in 0u64..1 << 40, k in 0u64..1 << 16) {
        let pk = &KEYS.0;
        let mut rng = urna_crypto::os_rng();
        let (ca, _) = pk.encrypt(&Plaintext::from_u64(a), &mut rng).expect("encrypt");
        let (cb, _) = pk.encrypt(&Plaintext::from_u64(b), &mut rng).expect("encrypt");
        prop_assert_eq!(decrypt(&pk.add(&ca, &cb)), a + b);
        prop_assert_eq!(decrypt(&pk.scalar_mul(&ca, &Plaintext::from_u64(k))), a * k);
        let fresh = pk.rerandomize(&ca, &mut rng);
        prop_assert_ne!(&fresh, &ca);
        prop_assert_eq!(decrypt(&fresh), a);
        prop_assert_eq!(decrypt(&pk.add_all(&Ciphertext::identity(), [&ca, &cb, &ca])), 2 * a + b);
    }
}

#[test]
fn pool_nonces_encrypt_correctly() {
    let pool = RandomnessPool::new(KEYS.0.clone());
    pool.fill(4);
    assert_eq!(pool.len(), 4);
    let mut rng = urna_crypto::os_rng();
    for m in 0..6u64 {
        let nonce = pool.take(&mut rng);
        let c = KEYS.0.encrypt_with(&Plaintext::from_u64(m), &nonce).expect("encrypt");
        assert_eq!(decrypt(&c), m);
    }
    assert!(pool.is_empty());
}

#[test]
fn out_of_range_inputs_are_refused() {
    let pk = &KEYS.0;
    let n = pk.modulus_hex();
    let n_ct = Ciphertext::from_hex("c", &n).expect("hex");
    assert!(pk.check_ciphertext("c", &n_ct).is_err(), "c = n shares a factor with n");
    assert!(pk.check_ciphertext("c", &Ciphertext::from_hex("c", "00").expect("hex")).is_err());
    assert!(pk.encrypt(&Plaintext::from_be_bytes(&hex::decode(&n).expect("hex")), &mut urna_crypto::os_rng()).is_err());
}

#[test]
fn keys_decode_strictly() {
    let json = serde_json::to_string(&KEYS.0).expect("json");
    let back: PublicKey = serde_json::from_str(&json).expect("decode");
    assert_eq!(back, KEYS.0);
    for bad in [r#"{"n":"10"}"#, r#"{"n":"0f"}"#, r#"{"m":"0f"}"#, r#"{"n":"XYZ"}"#, "[]"] {
        assert!(serde_json::from_str::<PublicKey>(bad).is_err(), "{bad} accepted");
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn decoders_never_panic_on_arbitrary_input(s in ".{0,120}", bytes in prop::collection::vec(any::<u8>(), 0..200)) {
        let _ = serde_json::from_str::<PublicKey>(&s);
        let _ = serde_json::from_str::<Ciphertext>(&s);
        let _ = serde_json::from_str::<Plaintext>(&s);
        let _ = PublicKey::from_modulus_hex(&s);
        let _ = Ciphertext::from_hex("c", &s);
        let h = hex::encode(&bytes);
        if let Ok(c) = Ciphertext::from_hex("c", &h) {
            let _ = KEYS.0.check_ciphertext("c", &c);
            let _ = KEYS.1.decrypt(&c);
        }
        let _ = PublicKey::from_modulus_hex(&h);
    }
}
