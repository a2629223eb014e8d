//! Batched threshold decryption at the production size (|n| = 3072) on the committed fixture ceremony
//! (`tests/fixtures/ceremony-3072`: 3 of 5, production KDF, passphrases `trustee-<i>`), with a request of two
//! groups and three ciphertexts so that it stays fast: every trustee answers with one proof, any three
//! combine, and each kind of bad answer is refused naming the trustee and, for a wrong partial, the item.

use std::sync::LazyLock;

use serde_json::Value;
use urna_crypto::CryptoError;
use urna_crypto::paillier::{Ciphertext, Plaintext};
use urna_crypto::threshold::{
    CeremonyTranscript, DecryptionContext, DecryptionGroup, DecryptionRequest, KdfParams, KeyShare, PartialDecryptions,
    Passphrase, ShareFile, ThresholdPublicKey, TrusteeIndex, WrongPartials, combine, decrypt, verify_decryption,
};

fn read(name: &str) -> String {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/ceremony-3072");
    std::fs::read_to_string(dir.join(name)).expect(name)
}

struct Fixture {
    public: ThresholdPublicKey,
    shares: Vec<KeyShare>,
    contexts: [DecryptionContext; 2],
    plaintexts: [Vec<Plaintext>; 2],
    ciphertexts: [Vec<Ciphertext>; 2],
}

static FIXTURE: LazyLock<Fixture> = LazyLock::new(|| {
    let public = ThresholdPublicKey::from_json(&read("public.json")).expect("public key");
    let shares = (1..=5)
        .map(|i| {
            let file = ShareFile::from_json(&read(&format!("trustee-{i}.share.json"))).expect("share file");
            assert_eq!(file.kdf(), KdfParams::PRODUCTION);
            file.open(&Passphrase::new(format!("trustee-{i}")).expect("passphrase"), &public).expect("open")
        })
        .collect();
    let mut rng = urna_crypto::os_rng();
    let plaintexts = [
        vec![Plaintext::from_slots(20, &[12, 0, 7, 19]).expect("slots"), Plaintext::from_u64(0)],
        vec![Plaintext::from_u64(123_456_789)],
    ];
    let ciphertexts = plaintexts
        .clone()
        .map(|group| group.iter().map(|m| public.paillier().encrypt(m, &mut rng).expect("encrypt").0).collect());
    let contexts = [
        DecryptionContext::new("fixture", [1; 32], "tally/shard-0/district-1/president"),
        DecryptionContext::new("fixture", [1; 32], "tally/shard-0/district-1/senate"),
    ];
    Fixture { public, shares, contexts, plaintexts, ciphertexts }
});

fn request() -> DecryptionRequest<'static> {
    let f = &*FIXTURE;
    DecryptionRequest::new(
        (0..2).map(|g| DecryptionGroup { context: &f.contexts[g], ciphertexts: &f.ciphertexts[g] }).collect(),
    )
}

/// Every trustee's honest answer to [`request`], computed once.
static ANSWERS: LazyLock<Vec<PartialDecryptions>> = LazyLock::new(|| {
    let f = &*FIXTURE;
    f.shares
        .iter()
        .map(|s| s.partial_decrypt(&f.public, &request(), &mut urna_crypto::os_rng()).expect("answer"))
        .collect()
});

fn idx(list: &[u32]) -> Vec<TrusteeIndex> {
    list.iter().map(|&i| TrusteeIndex::new(i).expect("index")).collect()
}

fn tamper(p: &PartialDecryptions, edit: impl FnOnce(&mut Value)) -> PartialDecryptions {
    let mut v = serde_json::to_value(p).expect("json");
    edit(&mut v);
    serde_json::from_value(v).expect("still decodes")
}

fn expected() -> Vec<Vec<Plaintext>> {
    FIXTURE.plaintexts.to_vec()
}

#[test]
fn fixture_transcript_verifies() {
    let f = &*FIXTURE;
    assert_eq!(f.public.paillier().modulus_bits(), 3072);
    assert_eq!((f.public.threshold(), f.public.trustees()), (3, 5));
    CeremonyTranscript::from_json(&read("transcript.json")).expect("transcript").verify(&f.public).expect("verifies");
}

#[test]
fn every_three_of_five_decrypt_the_whole_request() {
    let f = &*FIXTURE;
    let request = request();
    let verified: Vec<_> =
        ANSWERS.iter().map(|a| verify_decryption(&f.public, &request, a).expect("valid answer")).collect();
    for (a, b, c) in [(0, 1, 2), (0, 2, 4), (1, 3, 4), (4, 3, 0)] {
        let chosen = [verified[a].clone(), verified[b].clone(), verified[c].clone()];
        assert_eq!(combine(&f.public, &request, &chosen).expect("combine"), expected(), "{a} {b} {c}");
    }
    let out = decrypt(&f.public, &request, &ANSWERS[1..]);
    assert_eq!(out.plaintexts.expect("decrypt"), expected());
    assert_eq!(out.used, idx(&[2, 3, 4]));
    assert!(out.rejected.is_empty());
}

#[test]
fn one_wrong_partial_is_named_and_the_others_combine() {
    let f = &*FIXTURE;
    let request = request();
    // Trustee 2's partial of the senate total is replaced by its partial of a president total.
    let bad = tamper(&ANSWERS[1], |v| {
        let president = v["values"][0][1].clone();
        v["values"][1][0] = president;
    });
    let err = verify_decryption(&f.public, &request, &bad).expect_err("refused");
    assert!(matches!(err, CryptoError::ProofRejected { .. }), "{err}");
    assert!(err.to_string().contains("trustee 2"), "{err}");

    let out = decrypt(&f.public, &request, &ANSWERS);
    assert!(out.rejected.is_empty());
    let list = [ANSWERS[0].clone(), bad.clone(), ANSWERS[2].clone(), ANSWERS[3].clone()];
    let out = decrypt(&f.public, &request, &list);
    assert_eq!(out.plaintexts.expect("three valid answers suffice"), expected());
    assert_eq!(out.used, idx(&[1, 3, 4]));
    assert_eq!(out.rejected.len(), 1);
    assert_eq!(out.rejected[0].trustee, idx(&[2])[0]);
    assert_eq!(out.rejected[0].wrong, Some(WrongPartials::Exactly(vec![(1, 0)])));
    assert_eq!(request.describe((1, 0)), "tally/shard-0/district-1/senate ciphertext 0");

    // Only three answers, one bad: no decryption, but the wrong partial is still found.
    let out = decrypt(&f.public, &request, &list[..3]);
    assert!(out.plaintexts.is_err());
    assert_eq!(out.rejected[0].wrong, Some(WrongPartials::AtLeast(vec![(1, 0)])));
}

#[test]
fn an_answer_to_another_request_is_refused() {
    let f = &*FIXTURE;
    let request = request();
    // The same ciphertexts under other subjects: the partials are the same numbers, the proof is not.
    let other_contexts = [
        DecryptionContext::new("fixture", [1; 32], "tally/shard-1/district-1/president"),
        DecryptionContext::new("fixture", [1; 32], "tally/shard-0/district-1/senate"),
    ];
    let other = DecryptionRequest::new(
        (0..2).map(|g| DecryptionGroup { context: &other_contexts[g], ciphertexts: &f.ciphertexts[g] }).collect(),
    );
    assert_ne!(other.digest(), request.digest());
    let lifted = f.shares[3].partial_decrypt(&f.public, &other, &mut urna_crypto::os_rng()).expect("answer");
    assert!(verify_decryption(&f.public, &other, &lifted).is_ok());
    let list = [ANSWERS[0].clone(), ANSWERS[1].clone(), ANSWERS[2].clone(), lifted];
    let out = decrypt(&f.public, &request, &list);
    assert_eq!(out.plaintexts.expect("decrypt"), expected());
    assert_eq!(out.rejected.len(), 1);
    assert_eq!(out.rejected[0].trustee, idx(&[4])[0]);
    assert_eq!(out.rejected[0].wrong, Some(WrongPartials::Exactly(vec![])), "only the proof is wrong");
}

#[test]
fn repeated_and_unknown_trustees_are_refused() {
    let f = &*FIXTURE;
    let request = request();
    let unknown = tamper(&ANSWERS[4], |v| v["trustee"] = Value::from(9));
    let list = [ANSWERS[0].clone(), ANSWERS[0].clone(), unknown, ANSWERS[2].clone(), ANSWERS[3].clone()];
    let out = decrypt(&f.public, &request, &list);
    assert_eq!(out.plaintexts.expect("decrypt"), expected());
    let reasons: Vec<(usize, u32, String)> =
        out.rejected.iter().map(|r| (r.position, r.trustee.get(), r.reason.to_string())).collect();
    assert_eq!(reasons.len(), 2, "{reasons:?}");
    assert_eq!((reasons[0].0, reasons[0].1), (1, 1));
    assert!(reasons[0].2.contains("more than once"), "{reasons:?}");
    assert_eq!((reasons[1].0, reasons[1].1), (2, 9));
    assert!(reasons[1].2.contains("partial_decryptions.trustee"), "{reasons:?}");
    assert!(out.rejected.iter().all(|r| r.wrong.is_none()));
}

#[test]
fn a_wrong_shape_is_refused_naming_the_sizes() {
    let f = &*FIXTURE;
    let bad = tamper(&ANSWERS[0], |v| {
        if let Some(group) = v["values"][0].as_array_mut() {
            group.pop();
        }
    });
    let err = verify_decryption(&f.public, &request(), &bad).expect_err("refused").to_string();
    assert!(err.contains("trustee 1") && err.contains("[1, 1]") && err.contains("[2, 1]"), "{err}");
}
