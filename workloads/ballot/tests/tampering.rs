//! Ballots moved, replayed or altered are rejected; a wrong count is caught when decoding.

mod common;

use common::{KEYS, codec};
use urna_ballot::{BallotCodec, EncryptedBallot, Selection};
use urna_crypto::paillier::{Plaintext, RandomnessPool};

fn ballot(codec: &BallotCodec, style: &str, pick: &str) -> EncryptedBallot {
    let mut sels = vec![
        (
            "president",
            Selection::from_ids(&urna_ballot::testkit::mexico_president(), &[pick], None).expect("selection"),
        ),
        ("board", Selection::from_ids(&urna_ballot::testkit::board(), &["o4"], None).expect("selection")),
    ];
    if style == "chiapas" {
        sels.push((
            "governor",
            Selection::from_ids(&urna_ballot::testkit::chiapas_governor(), &["p13"], None).expect("selection"),
        ));
    }
    let pool = RandomnessPool::new(codec.public_key().clone());
    codec.encrypt_ballot(style, &sels, &pool, &mut urna_crypto::os_rng()).expect("encrypt")
}

#[test]
fn replays_across_elections_styles_and_contests_fail() {
    let codec = codec();
    let b = ballot(&codec, "jalisco", "mc");
    let mut rng = urna_crypto::os_rng();
    codec.verify_ballot(&b, &mut rng).expect("valid");

    // Another election with the same contests and key.
    let mut other = common::manifest();
    other.election_id = "mx-2030".into();
    let other_codec = BallotCodec::new(other, KEYS.0.clone()).expect("codec");
    let mut moved = b.clone();
    moved.election_id = "mx-2030".into();
    moved.manifest_hash = other_codec.manifest_hash();
    assert!(other_codec.verify_ballot(&moved, &mut rng).is_err(), "proofs replayed in another election");

    // Another ballot style carrying the same contests ("mx" has president and board too).
    let mut restyled = b.clone();
    restyled.ballot_style = "mx".into();
    assert!(codec.verify_ballot(&restyled, &mut rng).is_err(), "proofs replayed under another ballot style");

    // The president ciphertext and proof presented as the board contest.
    let mut swapped = b.clone();
    swapped.contests[1] = swapped.contests[0].clone();
    swapped.contests[1].contest_id = "board".into();
    assert!(codec.verify_ballot(&swapped, &mut rng).is_err());

    // A contest missing, or duplicated.
    let mut short = b.clone();
    short.contests.pop();
    assert!(codec.verify_ballot(&short, &mut rng).is_err());
}

#[test]
fn contests_verified_in_one_batch_report_each_bad_one() {
    let codec = codec();
    let good = ballot(&codec, "jalisco", "pan");
    let other = ballot(&codec, "jalisco", "pri");
    let mut bad = good.contests[0].clone();
    bad.ciphertexts[0] = other.contests[0].ciphertexts[0].clone();
    let items = [
        ("jalisco", &good.contests[0]),
        ("jalisco", &bad),
        ("jalisco", &other.contests[1]),
        ("chiapas", &good.contests[1]),
    ];
    let results = codec.verify_contests(&items, &mut urna_crypto::os_rng());
    let ok: Vec<bool> = results.iter().map(Result::is_ok).collect();
    assert_eq!(ok, [true, false, true, false], "{results:?}");
}

#[test]
fn ballot_hash_changes_with_any_field() {
    let codec = codec();
    let b = ballot(&codec, "jalisco", "pan");
    let h = b.hash();
    let mut json = serde_json::to_value(&b).expect("json");
    json["contests"][0]["proofs"][0]["challenges"][0] = serde_json::Value::String("01".into());
    let changed: EncryptedBallot = serde_json::from_value(json).expect("decode");
    assert_ne!(changed.hash(), h);
    let round: EncryptedBallot = serde_json::from_str(&serde_json::to_string(&b).expect("json")).expect("decode");
    assert_eq!(round.hash(), h);
}

#[test]
fn a_wrong_ballot_count_fails_the_counter_check() {
    let codec = codec();
    let b = ballot(&codec, "jalisco", "pan");
    let total = KEYS.1.decrypt(&b.contests[0].ciphertexts[0]).expect("decrypt");
    assert!(codec.decode_totals("president", std::slice::from_ref(&total), 1).is_ok());
    assert!(codec.decode_totals("president", std::slice::from_ref(&total), 2).is_err());
    assert!(codec.decode_totals("president", &[Plaintext::from_u64(3)], 1).is_err());
}
