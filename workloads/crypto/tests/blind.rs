//! RFC 9474 blind signatures: the four Appendix A test vectors, round trips at 3072 and 4096 bits, rejection
//! of wrong signatures, unlinkability of blinded messages, strict decoders, and decoders never panicking.

use proptest::prelude::*;
use std::sync::LazyLock;
use urna_crypto::CryptoError;
use urna_crypto::blind::hazmat;
use urna_crypto::blind::{
    BlindKeySize, BlindSignature, BlindSigningKey, BlindVerifyingKey, BlindedMessage, BlindingSecret, PreparedMessage,
    Signature, Variant,
};

/// 3072-bit key generation takes seconds: one key per test binary, plus a second one for "another key".
static KEY: LazyLock<BlindSigningKey> =
    LazyLock::new(|| BlindSigningKey::generate(BlindKeySize::Bits3072, &mut urna_crypto::os_rng()).expect("keygen"));
static OTHER_KEY: LazyLock<BlindSigningKey> =
    LazyLock::new(|| BlindSigningKey::generate(BlindKeySize::Bits3072, &mut urna_crypto::os_rng()).expect("keygen"));

fn vk() -> &'static BlindVerifyingKey {
    KEY.verifying_key()
}

/// Prepare, blind, sign, finalize, with fresh randomness.
fn sign(key: &BlindSigningKey, msg: &[u8]) -> (PreparedMessage, Signature) {
    let mut rng = urna_crypto::os_rng();
    let vk = key.verifying_key();
    let prepared = vk.prepare(msg, &mut rng);
    let (blinded, secret) = vk.blind(&prepared, &mut rng).expect("blind");
    let blind_sig = key.blind_sign(&blinded).expect("blind_sign");
    let sig = vk.finalize(&prepared, &blind_sig, &secret).expect("finalize");
    (prepared, sig)
}

fn field_of(err: &CryptoError) -> &str {
    match err {
        CryptoError::Malformed { field, .. }
        | CryptoError::OutOfRange { field, .. }
        | CryptoError::InvalidKey { field, .. } => field,
        other => panic!("expected an error naming a field, got {other:?}"),
    }
}

// ---- RFC 9474 Appendix A ----

#[derive(serde::Deserialize)]
struct VectorFile {
    vectors: Vec<Vector>,
}

#[derive(serde::Deserialize)]
struct Vector {
    name: String,
    p: String,
    q: String,
    e: String,
    msg: String,
    msg_prefix: String,
    input_msg: String,
    salt: String,
    salt_len: usize,
    is_randomized: bool,
    encoded_msg: Option<String>,
    inv: String,
    blinded_msg: String,
    blind_sig: String,
    sig: String,
}

fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s).expect("vector hex")
}

#[test]
fn rfc9474_test_vectors() {
    let file: VectorFile =
        serde_json::from_str(include_str!("vectors/rfc9474.json")).expect("tests/vectors/rfc9474.json");
    assert_eq!(file.vectors.len(), 4);
    for v in &file.vectors {
        let variant: Variant = serde_json::from_value(serde_json::Value::String(v.name.clone())).expect("variant name");
        assert_eq!(variant.name(), v.name);
        assert_eq!(variant.salt_len(), v.salt_len, "{}", v.name);
        assert_eq!(variant.is_randomized(), v.is_randomized, "{}", v.name);

        let sk = hazmat::signing_key_from_primes(&unhex(&v.p), &unhex(&v.q), &unhex(&v.e)).expect("vector key");
        let vk = sk.verifying_key().with_variant(variant);
        assert_eq!(vk.modulus_bits(), 4096);

        let prepared = if v.is_randomized {
            let prefix: [u8; 32] = unhex(&v.msg_prefix).try_into().expect("32-byte prefix");
            hazmat::prepare_with_fixed_prefix(&prefix, &unhex(&v.msg))
        } else {
            assert!(v.msg_prefix.is_empty());
            PreparedMessage::from_bytes(unhex(&v.msg))
        };
        assert_eq!(hex::encode(prepared.as_bytes()), v.input_msg, "{}: input_msg", v.name);

        let salt = unhex(&v.salt);
        if let Some(encoded) = &v.encoded_msg {
            let ours = hazmat::encode_with_fixed_salt(&vk, &prepared, &salt).expect("encode");
            assert_eq!(hex::encode(ours), *encoded, "{}: encoded_msg", v.name);
        }
        let (blinded, secret) =
            hazmat::blind_with_fixed_randomness(&vk, &prepared, &salt, &unhex(&v.inv)).expect("blind");
        assert_eq!(blinded.to_hex(), v.blinded_msg, "{}: blinded_msg", v.name);

        let blind_sig = sk.blind_sign(&blinded).expect("blind_sign");
        assert_eq!(blind_sig.to_hex(), v.blind_sig, "{}: blind_sig", v.name);

        let sig = vk.finalize(&prepared, &blind_sig, &secret).expect("finalize");
        assert_eq!(sig.to_hex(), v.sig, "{}: sig", v.name);

        let decoded = Signature::from_hex(&vk, &v.sig).expect("vector signature decodes");
        vk.verify(&prepared, &decoded).expect("vector signature verifies");

        // The same signature under a variant with the other salt length does not verify.
        let other = match variant {
            Variant::Sha384PssRandomized => Variant::Sha384PssZeroRandomized,
            Variant::Sha384PssZeroRandomized => Variant::Sha384PssRandomized,
            Variant::Sha384PssDeterministic => Variant::Sha384PssZeroDeterministic,
            Variant::Sha384PssZeroDeterministic => Variant::Sha384PssDeterministic,
        };
        assert!(vk.with_variant(other).verify(&prepared, &decoded).is_err(), "{}: salt length ignored", v.name);
    }
}

/// Interoperability the other way round: OpenSSL's public key PEM decodes, and a plain RSASSA-PSS signature
/// made by OpenSSL verifies (a blind signature is an ordinary PSS signature once finalized). The generated key
/// also went the other way during development: `openssl pkey -check` accepted our PKCS#8 and `openssl dgst
/// -verify` our signatures.
#[test]
fn openssl_signature_verifies() {
    #[derive(serde::Deserialize)]
    struct Fixture {
        public_key_pem: String,
        message_hex: String,
        signature_hex: String,
    }
    let f: Fixture = serde_json::from_str(include_str!("vectors/openssl-pss.json")).expect("fixture");
    let vk = BlindVerifyingKey::from_pem(&f.public_key_pem).expect("OpenSSL SPKI");
    assert_eq!(vk.modulus_bits(), 3072);
    assert_eq!(vk.to_pem().expect("pem"), f.public_key_pem, "same PEM as OpenSSL writes");
    let msg = PreparedMessage::from_bytes(unhex(&f.message_hex));
    let sig = Signature::from_hex(&vk, &f.signature_hex).expect("signature");
    vk.verify(&msg, &sig).expect("OpenSSL's PSS signature verifies");
    assert!(vk.with_variant(Variant::Sha384PssZeroRandomized).verify(&msg, &sig).is_err());
}

// ---- Round trips ----

#[test]
fn round_trip_3072_with_default_variant() {
    let vk = vk();
    assert_eq!(vk.modulus_bits(), 3072);
    assert_eq!(vk.modulus_len(), 384);
    assert_eq!(vk.variant(), Variant::Sha384PssRandomized);
    let (prepared, sig) = sign(&KEY, b"voting right #1");
    assert_eq!(prepared.as_bytes().len(), 32 + 15);
    assert_eq!(prepared.message_after_prefix(), Some(&b"voting right #1"[..]));
    assert_eq!(sig.as_bytes().len(), 384);
    vk.verify(&prepared, &sig).expect("verifies");
}

#[test]
fn round_trip_4096() {
    let sk = BlindSigningKey::generate(BlindKeySize::Bits4096, &mut urna_crypto::os_rng()).expect("keygen");
    assert_eq!(sk.verifying_key().modulus_bits(), 4096);
    let (prepared, sig) = sign(&sk, b"4096");
    sk.verifying_key().verify(&prepared, &sig).expect("verifies");
}

#[test]
fn round_trip_every_variant_at_test_size() {
    let sk = BlindSigningKey::generate(BlindKeySize::InsecureTest1024, &mut urna_crypto::os_rng()).expect("keygen");
    assert_eq!(sk.verifying_key().modulus_bits(), 1024);
    let mut rng = urna_crypto::os_rng();
    for variant in [
        Variant::Sha384PssRandomized,
        Variant::Sha384PssZeroRandomized,
        Variant::Sha384PssDeterministic,
        Variant::Sha384PssZeroDeterministic,
    ] {
        let vk = sk.verifying_key().with_variant(variant);
        let prepared = vk.prepare(b"m", &mut rng);
        assert_eq!(prepared.as_bytes().len(), if variant.is_randomized() { 33 } else { 1 });
        let (blinded, secret) = vk.blind(&prepared, &mut rng).expect("blind");
        let sig = vk.finalize(&prepared, &sk.blind_sign(&blinded).expect("sign"), &secret).expect("finalize");
        vk.verify(&prepared, &sig).expect("verifies");
    }
}

#[test]
fn keys_and_values_survive_their_encodings() {
    let vk = vk();
    // SPKI DER, PEM and hex.
    assert_eq!(&BlindVerifyingKey::from_spki_der(vk.to_spki_der()).expect("der"), vk);
    assert_eq!(&BlindVerifyingKey::from_pem(&vk.to_pem().expect("pem")).expect("pem"), vk);
    let json = serde_json::to_string(vk).expect("json");
    assert_eq!(json, format!("\"{}\"", vk.to_hex()));
    assert_eq!(&serde_json::from_str::<BlindVerifyingKey>(&json).expect("json"), vk);

    // PKCS#8 DER and PEM reload to a key that signs for the same verifying key.
    let der = KEY.to_pkcs8_der().expect("pkcs8");
    let reloaded = BlindSigningKey::from_pkcs8_der(&der).expect("reload der");
    assert_eq!(reloaded.verifying_key(), vk);
    assert_eq!(*reloaded.to_pkcs8_der().expect("pkcs8"), *der, "PKCS#8 encoding is stable");
    let pem = KEY.to_pkcs8_pem().expect("pem");
    assert!(pem.starts_with("-----BEGIN PRIVATE KEY-----"));
    let reloaded = BlindSigningKey::from_pkcs8_pem(&pem).expect("reload pem");
    let (prepared, sig) = sign(&reloaded, b"after reload");
    vk.verify(&prepared, &sig).expect("verifies");

    // Protocol values as JSON strings.
    let mut rng = urna_crypto::os_rng();
    let (blinded, secret) = vk.blind(&prepared, &mut rng).expect("blind");
    let blinded: BlindedMessage = serde_json::from_str(&serde_json::to_string(&blinded).expect("ser")).expect("de");
    let blind_sig = KEY.blind_sign(&blinded).expect("sign");
    let blind_sig: BlindSignature = serde_json::from_str(&serde_json::to_string(&blind_sig).expect("ser")).expect("de");
    let secret = BlindingSecret::from_bytes(vk, &secret.to_bytes(vk)).expect("secret bytes");
    let prepared: PreparedMessage = serde_json::from_str(&serde_json::to_string(&prepared).expect("ser")).expect("de");
    let sig = vk.finalize(&prepared, &blind_sig, &secret).expect("finalize");
    let sig: Signature = serde_json::from_str(&serde_json::to_string(&sig).expect("ser")).expect("de");
    vk.verify(&prepared, &sig).expect("verifies");
}

// ---- Rejections ----

#[test]
fn signature_does_not_verify_for_another_message() {
    let (prepared, sig) = sign(&KEY, b"voter A");
    let mut other = prepared.as_bytes().to_vec();
    other.push(b'!');
    let err = vk().verify(&PreparedMessage::from_bytes(other), &sig).expect_err("another message");
    assert!(matches!(err, CryptoError::SignatureRejected(_)), "{err:?}");
    // Same application message, another random prefix.
    let fresh = vk().prepare(b"voter A", &mut urna_crypto::os_rng());
    assert!(vk().verify(&fresh, &sig).is_err());
}

#[test]
fn signature_does_not_verify_under_another_key() {
    let (prepared, sig) = sign(&KEY, b"voter B");
    let other = OTHER_KEY.verifying_key();
    assert_ne!(other, vk());
    // The signature may or may not be below the other modulus: either way it is refused.
    let err = match Signature::from_bytes(other, sig.as_bytes()) {
        Ok(sig) => other.verify(&prepared, &sig).expect_err("another key"),
        Err(err) => err,
    };
    assert!(matches!(err, CryptoError::SignatureRejected(_) | CryptoError::OutOfRange { .. }), "{err:?}");
    // A blind signature from the wrong signer is caught by Finalize.
    let mut rng = urna_crypto::os_rng();
    let (blinded, secret) = vk().blind(&prepared, &mut rng).expect("blind");
    if let Ok(blinded) = BlindedMessage::from_bytes(other, blinded.as_bytes()) {
        let wrong = OTHER_KEY.blind_sign(&blinded).expect("sign");
        if let Ok(wrong) = BlindSignature::from_bytes(vk(), wrong.as_bytes()) {
            assert!(vk().finalize(&prepared, &wrong, &secret).is_err());
        }
    }
}

#[test]
fn flipped_bytes_are_rejected() {
    let (prepared, sig) = sign(&KEY, b"voter C");
    for i in [0, 1, 100, 191, 383] {
        for bit in [0x01u8, 0x80] {
            let mut bytes = sig.as_bytes().to_vec();
            bytes[i] ^= bit;
            let rejected = match Signature::from_bytes(vk(), &bytes) {
                Ok(tampered) => vk().verify(&prepared, &tampered).is_err(),
                Err(err) => matches!(err, CryptoError::OutOfRange { .. }),
            };
            assert!(rejected, "flip of bit {bit:#x} in byte {i} accepted");
        }
    }
    // A tampered blind signature fails Finalize's verification.
    let mut rng = urna_crypto::os_rng();
    let (blinded, secret) = vk().blind(&prepared, &mut rng).expect("blind");
    let mut bytes = KEY.blind_sign(&blinded).expect("sign").as_bytes().to_vec();
    bytes[200] ^= 1;
    let tampered = BlindSignature::from_bytes(vk(), &bytes).expect("still below n");
    let err = vk().finalize(&prepared, &tampered, &secret).expect_err("tampered blind signature");
    assert!(matches!(err, CryptoError::SignatureRejected(_)), "{err:?}");
}

#[test]
fn blinding_is_fresh_every_time() {
    let mut rng = urna_crypto::os_rng();
    let prepared = vk().prepare(b"same message", &mut rng);
    let (b1, s1) = vk().blind(&prepared, &mut rng).expect("blind");
    let (b2, s2) = vk().blind(&prepared, &mut rng).expect("blind");
    assert_ne!(b1, b2, "two blindings of one message must differ");
    // Both still produce valid signatures, and with PSS's random salt the signatures differ too.
    let sig1 = vk().finalize(&prepared, &KEY.blind_sign(&b1).expect("sign"), &s1).expect("finalize");
    let sig2 = vk().finalize(&prepared, &KEY.blind_sign(&b2).expect("sign"), &s2).expect("finalize");
    assert_ne!(sig1, sig2);
    // The signer's view (b1, b2) shares nothing with the final signatures.
    assert_ne!(b1.as_bytes(), sig1.as_bytes());
    // Randomized Prepare gives two different prepared messages for one application message.
    assert_ne!(vk().prepare(b"m", &mut rng), vk().prepare(b"m", &mut rng));
}

#[test]
fn secrets_are_redacted() {
    let debug = format!("{:?}", *KEY);
    assert!(debug.contains("<redacted>"), "{debug}");
    let der = KEY.to_pkcs8_der().expect("pkcs8");
    // No 8-byte window of the private key file appears in the Debug output.
    let hex_debug = debug.to_lowercase();
    assert!(der.windows(8).skip(400).step_by(37).all(|w| !hex_debug.contains(&hex::encode(w))));
    let (_, secret) =
        vk().blind(&PreparedMessage::from_bytes(b"x".to_vec()), &mut urna_crypto::os_rng()).expect("blind");
    assert_eq!(format!("{secret:?}"), "BlindingSecret(<redacted>)");
}

// ---- Strict decoders ----

#[test]
fn value_decoders_name_the_field() {
    let k = vk().modulus_len();
    let good = "11".repeat(k);
    for (name, decode) in [
        ("blind.signature", (|s| Signature::from_hex(vk(), s).map(|_| ())) as fn(&str) -> Result<(), CryptoError>),
        ("blind.blinded_message", |s| BlindedMessage::from_hex(vk(), s).map(|_| ())),
        ("blind.blind_signature", |s| BlindSignature::from_hex(vk(), s).map(|_| ())),
    ] {
        assert!(decode(&good).is_ok());
        for (bad, kind) in [
            (good.to_uppercase().replace('1', "A"), "malformed"),
            (format!("{good}0"), "malformed"),
            (format!("{}zz", &good[2..]), "malformed"),
            (good[2..].to_owned(), "malformed"),
            (format!("{good}11"), "malformed"),
            (String::new(), "malformed"),
            ("ff".repeat(k), "range"),
        ] {
            let err = decode(&bad).expect_err("bad value accepted");
            assert_eq!(field_of(&err), name, "{err}");
            match kind {
                "malformed" => assert!(matches!(err, CryptoError::Malformed { .. }), "{err:?}"),
                _ => assert!(matches!(err, CryptoError::OutOfRange { .. }), "{err:?}"),
            }
        }
    }
    // serde checks syntax and plausible length; the operation checks the rest, still naming the field.
    let unchecked: BlindedMessage = serde_json::from_str(&format!("\"{}\"", "ff".repeat(k))).expect("plausible");
    let err = KEY.blind_sign(&unchecked).expect_err("blinded message >= n");
    assert_eq!(field_of(&err), "blind.blinded_message");
    assert!(matches!(err, CryptoError::OutOfRange { .. }));
    let err = serde_json::from_str::<Signature>("\"ABCD\"").expect_err("short, uppercase").to_string();
    assert!(err.contains("blind.signature"), "{err}");
    let err = serde_json::from_str::<PreparedMessage>("\"0g\"").expect_err("bad hex").to_string();
    assert!(err.contains("blind.prepared_message"), "{err}");
    let err = BlindingSecret::from_bytes(vk(), &vec![0u8; k]).expect_err("zero is not a unit");
    assert_eq!(field_of(&err), "blind.blinding_secret");
}

#[test]
fn key_decoders_are_strict() {
    let vk = vk();
    let der = vk.to_spki_der();
    let field = |r: Result<BlindVerifyingKey, CryptoError>| field_of(&r.expect_err("accepted")).to_owned();
    assert_eq!(field(BlindVerifyingKey::from_spki_der(&der[..der.len() - 1])), "blind.verifying_key");
    let mut trailing = der.to_vec();
    trailing.push(0);
    assert_eq!(field(BlindVerifyingKey::from_spki_der(&trailing)), "blind.verifying_key");
    assert_eq!(field(BlindVerifyingKey::from_hex(&vk.to_hex().to_uppercase())), "blind.verifying_key");
    assert_eq!(field(BlindVerifyingKey::from_spki_der(&[])), "blind.verifying_key");
    // A private key where a public one is expected, and the other way round.
    let pkcs8 = KEY.to_pkcs8_der().expect("pkcs8");
    assert_eq!(field(BlindVerifyingKey::from_spki_der(&pkcs8)), "blind.verifying_key");
    let err = BlindSigningKey::from_pkcs8_pem(&vk.to_pem().expect("pem")).expect_err("public PEM as private");
    assert_eq!(field_of(&err), "blind.signing_key");
    let err = BlindSigningKey::from_pkcs8_der(der).expect_err("SPKI as PKCS#8");
    assert_eq!(field_of(&err), "blind.signing_key");

    // Keys that parse but are unusable.
    let small = hazmat::signing_key_from_primes(&[61], &[53], &[1, 0, 1]).expect_err("tiny modulus");
    assert!(matches!(small, CryptoError::InvalidKey { .. }), "{small:?}");
    let pem = KEY.to_pkcs8_pem().expect("pem");
    let truncated = BlindSigningKey::from_pkcs8_der(&pkcs8[..pkcs8.len() / 2]).expect_err("truncated");
    assert_eq!(field_of(&truncated), "blind.signing_key");
    assert!(BlindSigningKey::from_pkcs8_pem(&pem.replace("PRIVATE KEY", "RSA PRIVATE KEY")).is_err());
    let mut trailing = pkcs8.to_vec();
    trailing.push(0);
    assert_eq!(field_of(&BlindSigningKey::from_pkcs8_der(&trailing).expect_err("trailing byte")), "blind.signing_key");
    // Every single-byte corruption in the key material is caught (by DER, by the key checks or by primality).
    for i in (30..pkcs8.len()).step_by(97) {
        let mut bad = pkcs8.to_vec();
        bad[i] ^= 0x04;
        assert!(BlindSigningKey::from_pkcs8_der(&bad).is_err(), "corruption at byte {i} accepted");
    }
}

// ---- Decoders never panic ----

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn decoders_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..1200)) {
        let vk = vk();
        let s = lossy(&bytes);
        let hexed = hex::encode(&bytes);
        let _ = BlindVerifyingKey::from_spki_der(&bytes);
        let _ = BlindVerifyingKey::from_hex(&s);
        let _ = BlindVerifyingKey::from_hex(&hexed);
        let _ = BlindVerifyingKey::from_pem(&s);
        let _ = BlindSigningKey::from_pkcs8_der(&bytes);
        let _ = BlindSigningKey::from_pkcs8_pem(&s);
        let _ = Signature::from_bytes(vk, &bytes);
        let _ = Signature::from_hex(vk, &s);
        let _ = BlindedMessage::from_bytes(vk, &bytes);
        let _ = BlindedMessage::from_hex(vk, &hexed);
        let _ = BlindSignature::from_bytes(vk, &bytes);
        let _ = BlindingSecret::from_bytes(vk, &bytes);
        let json = serde_json::Value::String(s.clone()).to_string();
        let _ = serde_json::from_str::<BlindVerifyingKey>(&json);
        let _ = serde_json::from_str::<PreparedMessage>(&json);
        let _ = serde_json::from_str::<Signature>(&json);
        let _ = serde_json::from_str::<BlindedMessage>(&json);
        let _ = serde_json::from_str::<BlindSignature>(&json);
        let _ = serde_json::from_str::<Variant>(&json);
        let _ = serde_json::from_slice::<Signature>(&bytes);
    }

    #[test]
    fn modulus_sized_inputs_never_panic(bytes in prop::collection::vec(any::<u8>(), 384)) {
        let vk = vk();
        let prepared = PreparedMessage::from_bytes(bytes[..40].to_vec());
        if let Ok(sig) = Signature::from_bytes(vk, &bytes) {
            prop_assert!(vk.verify(&prepared, &sig).is_err());
        }
        if let Ok(blinded) = BlindedMessage::from_bytes(vk, &bytes) {
            // Any value below n is a valid thing to sign blindly.
            prop_assert!(KEY.blind_sign(&blinded).is_ok());
        }
        if let (Ok(blind_sig), Ok(secret)) =
            (BlindSignature::from_bytes(vk, &bytes), BlindingSecret::from_bytes(vk, &bytes))
        {
            prop_assert!(vk.finalize(&prepared, &blind_sig, &secret).is_err());
        }
    }

    #[test]
    fn mutated_keys_never_panic(pos in 0usize..2000, xor in 1u8.., cut in 0usize..2000) {
        let spki = vk().to_spki_der();
        let mut bad = spki.to_vec();
        let i = pos % bad.len();
        bad[i] ^= xor;
        // A flipped modulus bit may well give another valid key: only the absence of panics is checked.
        let _ = BlindVerifyingKey::from_spki_der(&bad);
        let _ = BlindVerifyingKey::from_spki_der(&spki[..cut % spki.len()]);

        let pkcs8 = KEY.to_pkcs8_der().expect("pkcs8");
        let mut bad = pkcs8.to_vec();
        let i = pos % bad.len();
        bad[i] ^= xor;
        let _ = BlindSigningKey::from_pkcs8_der(&bad);
        let _ = BlindSigningKey::from_pkcs8_der(&pkcs8[..cut % pkcs8.len()]);
    }
}
