//! Partially blind RSA (draft-irtf-cfrg-partially-blind-rsa): the draft's test vectors (the same file the
//! TypeScript client checks, `web/crypto/test/vectors/pbrsa-draft.json`, plus the draft's private key to check
//! `BlindSign` too), and the voting right's binding to election, modality and ballot style under the committed
//! production-size key of safe primes.

use std::path::PathBuf;

use urna_crypto::blind::hazmat;
use urna_crypto::blind::{BlindSigningKey, PreparedMessage, voting_right_info};

/// The draft's signing key (its primes; `n` and `e` are in the vector file).
const DRAFT_P: &str = "dcd90af1be463632c0d5ea555256a20605af3db667475e190e3af12a34a3324c46a3094062c59fb4b249e0ee6afba8bee14e0276d126c99f4784b23009bf6168ff628ac1486e5ae8e23ce4d362889de4df63109cbd90ef93db5ae64372bfe1c55f832766f21e94ea3322eb2182f10a891546536ba907ad74b8d72469bea396f3";
const DRAFT_Q: &str = "f8ba5c89bd068f57234a3cf54a1c89d5b4cd0194f2633ca7c60b91a795a56fa8c8686c0e37b1c4498b851e3420d08bea29f71d195cfbd3671c6ddc49cf4c1db5b478231ea9d91377ffa98fe95685fca20ba4623212b2f2def4da5b281ed0100b651f6db32112e4017d831c0da668768afa7141d45bbc279f1e0f8735d74395b3";

#[derive(serde::Deserialize)]
struct VectorFile {
    n: String,
    e: String,
    vectors: Vec<Vector>,
}

#[derive(serde::Deserialize)]
struct Vector {
    msg: String,
    info: String,
    eprime: String,
    r: String,
    salt: String,
    blinded_msg: String,
    blinded_sig: String,
    sig: String,
}

fn unhex(s: &str) -> Vec<u8> {
    hex::decode(s).expect("hex")
}

fn fixture_key() -> BlindSigningKey {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/voting-right-3072.pem");
    let pem = std::fs::read_to_string(&path).expect("voting-right fixture");
    BlindSigningKey::from_pkcs8_pem(&pem).expect("fixture key")
}

#[test]
fn the_draft_vectors_derive_blind_sign_finalize_and_verify() {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../web/crypto/test/vectors/pbrsa-draft.json");
    let file: VectorFile = serde_json::from_str(&std::fs::read_to_string(path).expect("vectors")).expect("json");
    let sk = hazmat::signing_key_from_primes(&unhex(DRAFT_P), &unhex(DRAFT_Q), &unhex(&file.e)).expect("draft key");
    assert_eq!(sk.verifying_key().modulus_bits(), 2048);
    assert_eq!(file.n.len(), 512, "the draft's 2048-bit modulus");
    assert_eq!(file.vectors.len(), 2);
    for (i, v) in file.vectors.iter().enumerate() {
        let info = unhex(&v.info);
        let derived = sk.derive(&info).expect("derive key pair");
        let vk = derived.verifying_key();
        assert_eq!(hex::encode(vk.exponent_bytes()), v.eprime, "vector {i}: e'");
        assert_eq!(sk.verifying_key().derive(&info).expect("derive").exponent_bytes(), vk.exponent_bytes());
        // The draft's vectors are the Deterministic variant: the prepared message is the message itself.
        let msg = PreparedMessage::from_bytes(unhex(&v.msg));
        let (blinded, secret) = vk.blind_with_fixed_randomness(&msg, &unhex(&v.salt), &unhex(&v.r)).expect("blind");
        assert_eq!(hex::encode(blinded.as_bytes()), v.blinded_msg, "vector {i}: blinded_msg");
        let blind_sig = derived.blind_sign(&blinded).expect("blind sign");
        assert_eq!(hex::encode(blind_sig.as_bytes()), v.blinded_sig, "vector {i}: blinded_sig");
        let sig = vk.finalize(&msg, &blind_sig, &secret).expect("finalize");
        assert_eq!(hex::encode(sig.as_bytes()), v.sig, "vector {i}: sig");
        vk.verify(&msg, &sig).expect("verify");
        let mut other = info.clone();
        other.push(0);
        assert!(sk.verifying_key().derive(&other).expect("derive").verify(&msg, &sig).is_err(), "other metadata");
        assert!(sk.verifying_key().verify(&msg, &sig).is_err(), "the master key does not verify a derived signature");
    }
}

#[test]
fn the_committed_voting_right_key_is_production_size_and_made_of_safe_primes() {
    let key = fixture_key();
    assert_eq!(key.verifying_key().modulus_bits(), 3072);
    assert!(key.has_safe_primes());
}

#[test]
fn a_voting_right_verifies_only_for_its_election_modality_and_ballot_style() {
    let key = fixture_key();
    let mut rng = urna_crypto::os_rng();
    let info = voting_right_info("ciudad-2027", "remote", "centro");
    let derived = key.derive(&info).expect("derive");
    let vk = derived.verifying_key();
    let prepared = key.verifying_key().prepare(&[7u8; 32], &mut rng);
    let (blinded, secret) = vk.blind(&prepared, &mut rng).expect("blind");
    let sig = vk.finalize(&prepared, &derived.blind_sign(&blinded).expect("sign"), &secret).expect("finalize");
    key.verifying_key().derive(&info).expect("derive").verify(&prepared, &sig).expect("same metadata verifies");
    for (election, modality, style) in
        [("ciudad-2027", "remote", "norte"), ("ciudad-2027", "booth", "centro"), ("other", "remote", "centro")]
    {
        let other = key.verifying_key().derive(&voting_right_info(election, modality, style)).expect("derive");
        assert!(other.verify(&prepared, &sig).is_err(), "accepted for {election}/{modality}/{style}");
    }
    // The items are length-prefixed: moving a boundary changes the metadata.
    assert_ne!(voting_right_info("a", "bc", "d"), voting_right_info("ab", "c", "d"));
    assert_eq!(
        hex::encode(voting_right_info("e", "remote", "s")),
        "0000001475726e612f76312f766f74696e672d726967687400000001650000000672656d6f74650000000173"
    );
}

#[test]
fn a_key_without_safe_primes_is_recognised() {
    let key = BlindSigningKey::generate(urna_crypto::blind::BlindKeySize::InsecureTest1024, &mut urna_crypto::os_rng())
        .expect("keygen");
    // A random RSA prime p has (p-1)/2 prime with probability about 2/ln(p): negligible at 512 bits.
    assert!(!key.has_safe_primes());
    let safe =
        BlindSigningKey::generate_safe(urna_crypto::blind::BlindKeySize::InsecureTest1024, &mut urna_crypto::os_rng())
            .expect("keygen");
    assert!(safe.has_safe_primes());
    assert_eq!(safe.verifying_key().modulus_bits(), 1024);
}

/// How `tests/fixtures/voting-right-3072.pem` was made (as `urna voting-key --out FILE` makes a production key):
/// `URNA_WRITE_VOTING_RIGHT_FIXTURE=1 cargo test -p urna-crypto --test partially_blind -- --ignored`.
#[test]
#[ignore = "regenerates a committed fixture"]
fn write_the_voting_right_fixture() {
    if std::env::var_os("URNA_WRITE_VOTING_RIGHT_FIXTURE").is_none() {
        return;
    }
    let key = BlindSigningKey::generate_safe(urna_crypto::blind::BlindKeySize::Bits3072, &mut urna_crypto::os_rng())
        .expect("keygen");
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/voting-right-3072.pem");
    std::fs::write(path, key.to_pkcs8_pem().expect("pem").as_bytes()).expect("write");
}
