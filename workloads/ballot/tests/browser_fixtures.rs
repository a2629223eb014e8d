//! Cross-implementation fixtures with the TypeScript implementation in web/crypto (docs/protocol.md §4.8), at
//! the production key size (the committed 3072-bit ceremony key):
//! - ballots and a challenge made by TypeScript are accepted here, and tampered copies refused;
//! - ballots made here (rust-ballots.json) are what the TypeScript verifier checks;
//! - both sides compute the same manifest hashes and ballot hashes on the same input.
//!
//! Regenerate the Rust side with `URNA_WRITE_FIXTURES=1 cargo test -p urna-ballot --test browser_fixtures`
//! (fixtures/browser/README.md has the TypeScript side); without it, these tests fail when a committed fixture no
//! longer matches what this code computes.

mod common;

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use urna_ballot::challenge::ChallengedBallot;
use urna_ballot::{BallotCodec, Contest, ElectionManifest, EncryptedBallot, Selection, check_challenge, manifest_hash};
use urna_crypto::paillier::{PublicKey, RandomnessPool};
use urna_crypto::threshold::ThresholdPublicKey;

fn dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/browser")
}

fn read(name: &str) -> String {
    std::fs::read_to_string(dir().join(name)).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn write_fixtures() -> bool {
    std::env::var("URNA_WRITE_FIXTURES").is_ok_and(|v| v == "1")
}

fn production_key() -> PublicKey {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../crypto/tests/fixtures/ceremony-3072/public.json");
    let text = std::fs::read_to_string(path).expect("ceremony key");
    ThresholdPublicKey::from_json(&text).expect("threshold key").paillier().clone()
}

/// The manifest the operator derives from examples/federal (`Election::manifest`).
fn federal_manifest() -> ElectionManifest {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples/federal");
    let set = urna_operator::examples::load_dir(dir).expect("examples/federal");
    set.elections.first().expect("no Election in examples/federal").manifest()
}

/// The seeds' hard cases (tests/common) plus a contest with an explicit blank vote.
fn seeds_manifest() -> ElectionManifest {
    let mut m = common::manifest();
    m.election_id = "urna-seeds".into();
    m.title = "Seed contests".into();
    m.contests.push(Contest::single_choice("consulta", &["jalisco"], &["si", "no"], false));
    m
}

fn manifest(name: &str) -> ElectionManifest {
    match name {
        "federal" => federal_manifest(),
        "seeds" => seeds_manifest(),
        other => panic!("unknown fixture manifest {other}"),
    }
}

fn codec(name: &str) -> BallotCodec {
    BallotCodec::new(manifest(name), production_key()).expect("codec")
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SelectionFixture {
    contest_id: String,
    choices: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    write_in: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BallotFixture {
    name: String,
    manifest: String,
    selections: Vec<SelectionFixture>,
    ballot_hash: String,
    ballot: Value,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct BallotsFile {
    generator: String,
    manifest_hashes: Value,
    ballots: Vec<BallotFixture>,
    anon_ids: Vec<Value>,
}

fn ballots(file: &str) -> BallotsFile {
    serde_json::from_str(&read(file)).unwrap_or_else(|e| panic!("{file}: {e}"))
}

fn ballot(v: &Value) -> EncryptedBallot {
    serde_json::from_value(v.clone()).expect("ballot JSON")
}

#[test]
fn committed_manifests_are_the_ones_derived_here_with_the_same_hashes() {
    for name in ["federal", "seeds"] {
        let file = format!("manifest-{name}.json");
        let derived = manifest(name);
        if write_fixtures() {
            let text = serde_json::to_string_pretty(&derived).expect("json") + "\n";
            std::fs::write(dir().join(&file), text).expect("write manifest");
        }
        let committed: ElectionManifest = serde_json::from_str(&read(&file)).expect("manifest JSON");
        assert_eq!(committed, derived, "{file} is stale: regenerate the fixtures");
        for language in ["ts", "rust"] {
            let hashes = ballots(&format!("{language}-ballots.json")).manifest_hashes;
            assert_eq!(hashes[name], json!(hex::encode(manifest_hash(&derived))), "{language} manifest hash of {name}");
        }
    }
}

#[test]
fn typescript_ballots_verify_here_and_hash_alike() {
    let file = ballots("ts-ballots.json");
    assert!(file.ballots.len() >= 3);
    let mut rng = urna_crypto::os_rng();
    for f in &file.ballots {
        let codec = codec(&f.manifest);
        let b = ballot(&f.ballot);
        codec.verify_ballot(&b, &mut rng).unwrap_or_else(|e| panic!("{}: {e}", f.name));
        assert_eq!(hex::encode(b.hash()), f.ballot_hash, "{}: ballot hash", f.name);
        // The JSON round-trips byte for byte (same field names, same canonical integers).
        assert_eq!(serde_json::to_value(&b).expect("json"), f.ballot, "{}: JSON form", f.name);
    }
}

/// Applies `edit` to a copy of the ballot JSON and expects the verifier to refuse the result.
fn refused(codec: &BallotCodec, original: &Value, what: &str, edit: impl FnOnce(&mut Value)) {
    let mut v = original.clone();
    edit(&mut v);
    let mut rng = urna_crypto::os_rng();
    match serde_json::from_value::<EncryptedBallot>(v) {
        Err(_) => {}
        Ok(b) => assert!(codec.verify_ballot(&b, &mut rng).is_err(), "{what}: the tampered ballot was accepted"),
    }
}

/// A different canonical hex integer of the same size: the last byte changed.
fn bump(x: &mut Value) {
    let s = x.as_str().expect("hex").to_owned();
    let (head, tail) = s.split_at(s.len() - 2);
    let last = u8::from_str_radix(tail, 16).expect("hex") ^ 0x02;
    *x = json!(format!("{head}{last:02x}"));
}

#[test]
fn tampered_typescript_ballots_are_refused() {
    let file = ballots("ts-ballots.json");
    let f = &file.ballots[0];
    let codec = codec(&f.manifest);
    refused(&codec, &f.ballot, "changed ciphertext", |v| bump(&mut v["contests"][0]["ciphertexts"][0]));
    refused(&codec, &f.ballot, "changed response", |v| bump(&mut v["contests"][1]["proofs"][0]["responses"][2][0]));
    refused(&codec, &f.ballot, "changed challenge", |v| bump(&mut v["contests"][0]["proofs"][0]["challenges"][0]));
    refused(&codec, &f.ballot, "proof moved between contests", |v| {
        let moved = v["contests"][2]["proofs"][0].clone();
        v["contests"][1]["proofs"][0] = moved;
    });
    refused(&codec, &f.ballot, "proofs swapped with another ballot's", |v| {
        v["contests"][0]["proofs"] = file.ballots[1].ballot["contests"][0]["proofs"].clone();
    });
    refused(&codec, &f.ballot, "changed ballot style", |v| v["ballotStyle"] = json!("colima"));
    refused(&codec, &f.ballot, "changed write-in proof", |v| bump(&mut v["contests"][0]["writeIn"]["proof"]["z"]));
    // The same contest moved to another style that also carries it: the proofs are bound to the style.
    let chiapas = &file.ballots[1];
    refused(&codec, &chiapas.ballot, "president moved into a jalisco ballot", |v| {
        let mut jalisco = f.ballot.clone();
        jalisco["contests"][0] = v["contests"][0].clone();
        *v = jalisco;
    });
}

fn challenge() -> (ChallengedBallot, Value) {
    let text = read("ts-challenge.json");
    (serde_json::from_str(&text).expect("challenge JSON"), serde_json::from_str(&text).expect("json"))
}

#[test]
fn typescript_challenge_checks_here() {
    let codec = codec("seeds");
    let (c, _) = challenge();
    let report = check_challenge(&codec, &c);
    assert!(report.is_valid(), "{:?}", report.problems);
    let shown: Vec<(String, String)> =
        report.contests.iter().map(|c| (c.contest_id.clone(), c.choices.join(","))).collect();
    assert_eq!(
        shown,
        [
            ("president".into(), "write-in".into()),
            ("governor".into(), "p2+p5+p9".into()),
            ("board".into(), "o0,o2,o5".into())
        ]
    );
    assert_eq!(report.contests[0].write_in.as_deref(), Some("Rosario Ibarra"));
    // A challenged ballot is a whole, valid ballot too (it just must never be cast).
    codec.verify_ballot(&c.ballot, &mut urna_crypto::os_rng()).expect("challenged ballot's proofs");
}

/// Applies `edit` to the challenge JSON; the check must fail naming `expected`.
fn challenge_differs(what: &str, expected: &str, edit: impl FnOnce(&mut Value)) {
    let codec = codec("seeds");
    let (_, mut v) = challenge();
    edit(&mut v);
    let c: ChallengedBallot = serde_json::from_value(v).expect("still well-formed");
    let report = check_challenge(&codec, &c);
    assert!(!report.is_valid(), "{what}: accepted");
    assert!(report.problems.iter().any(|p| p.contains(expected)), "{what}: {:?}", report.problems);
}

#[test]
fn challenges_that_do_not_hold_the_revealed_choice_are_invalid() {
    challenge_differs("another governor choice", "contest governor: choice ciphertext", |v| {
        v["contests"][1]["choices"] = json!(["p2+p5"]);
    });
    challenge_differs("another write-in name", "contest president: write-in ciphertext", |v| {
        v["contests"][0]["writeIn"] = json!("Rosario Ibarra de Piedra");
    });
    challenge_differs("one board option less", "contest board: choice ciphertext", |v| {
        v["contests"][2]["choices"] = json!(["o0", "o2"]);
    });
    challenge_differs("a changed nonce", "contest board: choice ciphertext 3", |v| {
        bump(&mut v["contests"][2]["nonces"][3])
    });
    challenge_differs("a changed used nonce", "contest governor: used ciphertext 0", |v| {
        bump(&mut v["contests"][1]["usedNonces"][0])
    });
    challenge_differs("another ballot hash", "ballot hash", |v| bump(&mut v["ballotHash"]));
    challenge_differs("an invalid selection", "not a valid selection", |v| v["contests"][2]["choices"] = json!([]));
    challenge_differs("a changed ciphertext", "ballot hash", |v| {
        bump(&mut v["ballot"]["contests"][2]["ciphertexts"][1])
    });
}

/// The ballots Rust makes for the TypeScript verifier.
fn rust_ballot_specs() -> Vec<(&'static str, &'static str, &'static str, Vec<SelectionFixture>)> {
    let s = |contest: &str, choices: &[&str], write_in: Option<&str>| SelectionFixture {
        contest_id: contest.into(),
        choices: choices.iter().map(|c| (*c).into()).collect(),
        write_in: write_in.map(Into::into),
    };
    vec![
        (
            "rust-federal-jalisco",
            "federal",
            "jalisco",
            vec![
                s("president", &["morena"], None),
                s("senate-jalisco", &["pvem+pt"], None),
                s("governor-jalisco", &["write-in"], Some("Juana Inés")),
            ],
        ),
        (
            "rust-seeds-chiapas-chunked",
            "seeds",
            "chiapas",
            vec![
                s("president", &["pan+prd"], None),
                s("governor", &["p11+p12"], None),
                s("board", &["o1", "o4"], None),
            ],
        ),
        (
            "rust-seeds-jalisco",
            "seeds",
            "jalisco",
            vec![s("president", &["null"], None), s("board", &["o0", "o1", "o2"], None), s("consulta", &["no"], None)],
        ),
    ]
}

fn make_rust_ballots() -> BallotsFile {
    let mut rng = urna_crypto::os_rng();
    let mut out = BallotsFile {
        generator: "URNA_WRITE_FIXTURES=1 cargo test -p urna-ballot --test browser_fixtures".into(),
        manifest_hashes: json!({
            "federal": hex::encode(manifest_hash(&federal_manifest())),
            "seeds": hex::encode(manifest_hash(&seeds_manifest())),
        }),
        ballots: Vec::new(),
        anon_ids: Vec::new(),
    };
    for (name, m, style, selections) in rust_ballot_specs() {
        let codec = codec(m);
        let sels: Vec<(&str, Selection)> = selections
            .iter()
            .map(|s| {
                let contest = &codec.contest(&s.contest_id).expect("contest").contest;
                let ids: Vec<&str> = s.choices.iter().map(String::as_str).collect();
                (s.contest_id.as_str(), Selection::from_ids(contest, &ids, s.write_in.clone()).expect("selection"))
            })
            .collect();
        let pool = RandomnessPool::new(codec.public_key().clone());
        let b = codec.encrypt_ballot(style, &sels, &pool, &mut rng).expect("encrypt");
        out.ballots.push(BallotFixture {
            name: name.into(),
            manifest: m.into(),
            selections: selections.clone(),
            ballot_hash: hex::encode(b.hash()),
            ballot: serde_json::to_value(&b).expect("json"),
        });
    }
    out
}

#[test]
fn rust_ballots_for_the_typescript_verifier_are_current() {
    if write_fixtures() {
        let file = make_rust_ballots();
        std::fs::write(dir().join("rust-ballots.json"), serde_json::to_string_pretty(&file).expect("json") + "\n")
            .expect("write rust-ballots.json");
    }
    let file = ballots("rust-ballots.json");
    let mut rng = urna_crypto::os_rng();
    assert_eq!(file.ballots.len(), rust_ballot_specs().len());
    for f in &file.ballots {
        let b = ballot(&f.ballot);
        codec(&f.manifest).verify_ballot(&b, &mut rng).unwrap_or_else(|e| panic!("{}: {e}", f.name));
        assert_eq!(hex::encode(b.hash()), f.ballot_hash, "{}: ballot hash", f.name);
    }
}
