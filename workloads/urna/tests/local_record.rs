//! `urna local` end to end on the university example with the committed 3072-bit fixture ceremony and a
//! scripted set of ballots, then `urna verify record` on the exported record as it is (valid) and after each
//! kind of tampering (each detected, naming the check that failed); and on the municipal example, whose
//! booth ballots travel from simulated booths over the MQTT broker and the bridge.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::Value;

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../crypto/tests/fixtures/ceremony-3072");
const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/university");
const VOTES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/university-votes.csv");
const MUNICIPAL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/municipal");
const MUNICIPAL_VOTES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/municipal-votes.csv");
const VOTING_KEY: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../crypto/tests/fixtures/voting-right-3072.pem");

fn urna(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_urna"))
        .args(args)
        .env("URNA_TRUSTEE_1_PASSPHRASE", "trustee-1")
        .env("URNA_TRUSTEE_2_PASSPHRASE", "trustee-2")
        .env("URNA_TRUSTEE_3_PASSPHRASE", "trustee-3")
        .output()
        .expect("run urna")
}

/// One local election for the whole file: its record directory and its JSON summary.
fn election() -> &'static (PathBuf, Value) {
    static RUN: OnceLock<(PathBuf, Value)> = OnceLock::new();
    RUN.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir").keep();
        let record = dir.join("record");
        let data = dir.join("data");
        let out = urna(&[
            "local",
            EXAMPLE,
            "--ceremony",
            FIXTURE,
            "--voting-key",
            VOTING_KEY,
            "--votes",
            VOTES,
            "--record",
            record.to_str().expect("utf-8 path"),
            "--data",
            data.to_str().expect("utf-8 path"),
            "--json",
        ]);
        assert!(out.status.success(), "urna local failed: {}", String::from_utf8_lossy(&out.stderr));
        let summary: Value = serde_json::from_slice(&out.stdout).expect("JSON summary");
        (record, summary)
    })
}

fn votes(summary: &Value, contest: &str) -> Vec<(String, u64)> {
    let total =
        summary["totals"].as_array().expect("totals").iter().find(|t| t["contestId"] == contest).expect("contest");
    total["counts"]
        .as_array()
        .expect("counts")
        .iter()
        .map(|c| (c["choice"].as_str().expect("choice").to_owned(), c["votes"].as_u64().expect("votes")))
        .collect()
}

#[test]
fn local_election_counts_exactly_the_scripted_ballots() {
    let (_, summary) = election();
    assert_eq!(summary["ballots"]["cast"], 5);
    let rector = votes(summary, "rector");
    let expected = [("candidatura-a", 2), ("candidatura-b", 1), ("blank", 1), ("null", 1)];
    assert_eq!(rector, expected.map(|(c, v)| (c.to_owned(), v)).to_vec());
    let claustre = votes(summary, "claustre-pdi");
    let expected = [("opt-1", 3), ("opt-2", 1), ("opt-3", 1), ("opt-4", 1), ("opt-5", 0), ("opt-6", 1)];
    assert_eq!(claustre, expected.map(|(c, v)| (c.to_owned(), v)).to_vec());
    let verification = &summary["verification"];
    assert_eq!(verification["ballots"], 5);
    assert_eq!(verification["trusteesUsed"], serde_json::json!([1, 2, 3]));
    assert_eq!(verification["rightsIssued"], 5);
}

#[test]
fn municipal_booth_ballots_cross_the_broker_and_count_beside_remote_ones() {
    let out = urna(&[
        "local",
        MUNICIPAL,
        "--ceremony",
        FIXTURE,
        "--voting-key",
        VOTING_KEY,
        "--votes",
        MUNICIPAL_VOTES,
        "--json",
    ]);
    assert!(out.status.success(), "urna local failed: {}", String::from_utf8_lossy(&out.stderr));
    let summary: Value = serde_json::from_slice(&out.stdout).expect("JSON summary");
    assert_eq!(summary["ballots"]["byModality"], serde_json::json!([["booth", 4], ["remote", 2]]));
    let mayor = votes(&summary, "mayor");
    assert_eq!(&mayor[..3], &[("pv".to_owned(), 3), ("pc".to_owned(), 1), ("ps".to_owned(), 2)]);
    assert_eq!(&votes(&summary, "transit-referendum")[..2], &[("si".to_owned(), 4), ("no".to_owned(), 2)]);
    assert_eq!(
        votes(&summary, "council-centro"),
        vec![("centro-1".to_owned(), 2), ("centro-2".to_owned(), 1), ("centro-3".to_owned(), 1)]
    );
    // Per modality: the booth shards hold exactly the four booth ballots.
    let booth_mayor: u64 = summary["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter(|r| r["contest"] == "mayor" && r["modality"] == "booth")
        .map(|r| r["ballots"].as_u64().expect("ballots"))
        .sum();
    assert_eq!(booth_mayor, 4);
    // Booth ballots carry a voting right like remote ones, and the rights are the admissions.
    assert_eq!(summary["verification"]["ballots"], 6);
    assert_eq!(summary["verification"]["rightsIssued"], 6);
}

#[test]
fn untouched_record_verifies() {
    let (record, _) = election();
    let out = urna(&["verify", "record", record.to_str().expect("utf-8 path")]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("record VALID"), "{stdout}");
    // Without a trust file the verifier says what it did not establish.
    assert!(stdout.contains("CONSISTENCY ONLY: no --trust file was given"), "{stdout}");
}

/// Another run of the same election (same ceremony, voting-right key and ballots): its record is consistent,
/// but its audit log signed under a key of its own, as a record rebuilt and re-signed would be.
fn rerun() -> &'static PathBuf {
    static RUN: OnceLock<PathBuf> = OnceLock::new();
    RUN.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir").keep();
        let record = dir.join("record");
        let out = urna(&[
            "local",
            EXAMPLE,
            "--ceremony",
            FIXTURE,
            "--voting-key",
            VOTING_KEY,
            "--votes",
            VOTES,
            "--record",
            record.to_str().expect("utf-8 path"),
            "--json",
        ]);
        assert!(out.status.success(), "urna local failed: {}", String::from_utf8_lossy(&out.stderr));
        record
    })
}

/// `urna record fingerprints` of the first election's record, in a file.
fn trust_file(dir: &Path) -> PathBuf {
    let (record, _) = election();
    let path = dir.join("trust.json");
    let out = urna(&[
        "record",
        "fingerprints",
        record.to_str().expect("utf-8 path"),
        "--out",
        path.to_str().expect("utf-8 path"),
    ]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    path
}

fn verify_with_trust(record: &Path, trust: &Path) -> Output {
    urna(&["verify", "record", record.to_str().expect("utf-8 path"), "--trust", trust.to_str().expect("utf-8 path")])
}

#[test]
fn the_record_verifies_under_its_published_fingerprints() {
    let (record, _) = election();
    let dir = tempfile::tempdir().expect("tempdir");
    let trust = trust_file(dir.path());
    let out = verify_with_trust(record, &trust);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("record VALID") && stdout.contains("under the trusted keys"), "{stdout}");
    assert!(!stdout.contains("CONSISTENCY ONLY"), "{stdout}");
    let out = urna(&[
        "verify",
        "record",
        record.to_str().expect("utf-8 path"),
        "--trust",
        trust.to_str().expect("utf-8 path"),
        "--json",
    ]);
    let summary: Value = serde_json::from_slice(&out.stdout).expect("summary JSON");
    assert_eq!(summary["keysPinned"], true);
}

#[test]
fn a_record_re_signed_under_other_keys_is_refused_with_trust() {
    let dir = tempfile::tempdir().expect("tempdir");
    let trust = trust_file(dir.path());
    let other = rerun();
    // Alone, the other record is perfectly consistent: that is the attack.
    let out = urna(&["verify", "record", other.to_str().expect("utf-8 path")]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let out = verify_with_trust(other, &trust);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("record INVALID: trust: the audit log key"), "{stderr}");
}

/// A trust file with a witness policy: refused while the closing checkpoint lacks the quorum's cosignatures,
/// accepted once a trusted witness's valid cosignature is on it, and a stranger's or a forged one never counts.
#[test]
fn a_witness_quorum_in_the_trust_file_is_required_of_the_closing_checkpoint() {
    use urna_audit::{LogKey, Note};
    let dir = tempfile::tempdir().expect("tempdir");
    let trust = trust_file(dir.path());
    let (w1, stranger) = (LogKey::from_seed(&[41; 32]), LogKey::from_seed(&[42; 32]));
    let mut v: Value = serde_json::from_slice(&std::fs::read(&trust).expect("read")).expect("json");
    v["witnesses"] = serde_json::json!({"quorum": 1, "witnesses": [
        {"name": "witness.test/w1", "publicKey": hex::encode(w1.public_key())},
    ]});
    std::fs::write(&trust, v.to_string()).expect("write");

    let copy = record_copy();
    let checkpoints = copy.path().join("audit/checkpoints.jsonl");
    let original = lines(&checkpoints);
    // Adds a cosignature line by `key` under `name` (signing `signed`) to the closing checkpoint.
    let cosign = |name: &str, key: &LogKey, signed: Option<&str>| {
        let mut rows = original.clone();
        let last = rows.last_mut().expect("a checkpoint");
        let mut row: Value = serde_json::from_str(last).expect("row");
        let mut note = Note::parse(row["note"].as_str().expect("note")).expect("note");
        let c = urna_audit::Cosignature {
            name: name.into(),
            public_key: key.public_key(),
            signature: key.sign(signed.unwrap_or(&note.body).as_bytes()),
        };
        note.signatures.push(c.note_signature());
        row["note"] = Value::String(note.text());
        *last = row.to_string();
        write_lines(&checkpoints, &rows);
    };
    let refused = |expected: &str| {
        let out = verify_with_trust(copy.path(), &trust);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        assert!(stderr.contains("record INVALID: trust: ") && stderr.contains(expected), "{stderr}");
    };
    refused("0 of the 1 required witness cosignatures (missing or invalid: witness.test/w1)");
    cosign("witness.test/w1", &stranger, None);
    refused("0 of the 1 required");
    cosign("witness.test/w1", &w1, Some("another body\n"));
    refused("0 of the 1 required");
    cosign("witness.test/w1", &w1, None);
    let out = verify_with_trust(copy.path(), &trust);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("witnessed: the closing checkpoint is cosigned by 1 of 1 trusted witnesses"), "{stdout}");
}

/// A change made to a trust file.
type Change = fn(&mut Value);

#[test]
fn every_pinned_key_is_compared() {
    let (record, _) = election();
    let dir = tempfile::tempdir().expect("tempdir");
    let trust = trust_file(dir.path());
    let original: Value = serde_json::from_slice(&std::fs::read(&trust).expect("read")).expect("json");
    let cases: [(&str, Change, &str); 4] = [
        ("threshold", |v| v["thresholdKey"] = Value::String("11".repeat(32)), "the threshold key"),
        (
            "voting right",
            |v| v["votingRightKeys"][0]["fingerprint"] = Value::String("22".repeat(32)),
            "voting-right key",
        ),
        ("manifest", |v| v["manifestHash"] = Value::String("33".repeat(32)), "the manifest hash"),
        ("log origin", |v| v["auditLog"]["origin"] = Value::String("elsewhere".into()), "the audit log key"),
    ];
    for (what, change, expected) in cases {
        let mut v = original.clone();
        change(&mut v);
        std::fs::write(&trust, v.to_string()).expect("write");
        let out = verify_with_trust(record, &trust);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{what}: {stderr}");
        assert!(stderr.contains("record INVALID: trust: ") && stderr.contains(expected), "{what}: {stderr}");
    }
}

#[test]
fn a_copied_ballot_in_the_record_is_detected() {
    // Ballot 2 replaced by ballot 1's ballot under ballot 2's prefix, with its AnonID recomputed and the file
    // re-sorted: everything but the weeding (and the signature, checked after it) still holds.
    let stderr = detected(
        |r| {
            use urna_vote::wire::PublishedBallot;
            let path = r.join("ballots.jsonl");
            let mut ballots: Vec<PublishedBallot> =
                lines(&path).iter().map(|l| serde_json::from_str(l).expect("json")).collect();
            let copied = ballots[0].package.ballot.clone();
            let b = &mut ballots[1];
            let hash = copied.hash();
            let mut prepared = b.package.prepared_message.as_bytes()[..32].to_vec();
            prepared.extend_from_slice(&hash);
            b.package.prepared_message = urna_crypto::blind::PreparedMessage::from_bytes(prepared);
            b.package.ballot = copied;
            b.anon_id = urna_ballot::anon_id(&hash, &b.package.prepared_message, &b.package.signature);
            ballots.sort_by_key(|b| b.anon_id);
            let out: Vec<String> = ballots.iter().map(|b| serde_json::to_string(b).expect("json")).collect();
            write_lines(&path, &out);
        },
        "ballots",
    );
    assert!(stderr.contains("a copied ballot was accepted"), "{stderr}");
}

/// docs/record.md names every file the export, the trustees and `urna results` write, under its own name.
#[test]
fn docs_record_md_names_every_file_of_the_record() {
    let (record, _) = election();
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/record.md")).expect("doc");
    let mut stack = vec![record.clone()];
    let mut seen = 0;
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read_dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let rel = path.strip_prefix(record).expect("inside").to_string_lossy().replace('\\', "/");
            let shard = shard_dir(record).file_name().expect("name").to_string_lossy().into_owned();
            let generic = rel.replace(&format!("shards/{shard}/"), "shards/<shard>/");
            let generic = (1..=5).fold(generic, |g, i| g.replace(&format!("trustee-{i}.json"), "trustee-<i>.json"));
            assert!(doc.contains(&format!("`{generic}`")), "docs/record.md does not name {rel} (as `{generic}`)");
            seen += 1;
        }
    }
    assert!(seen >= 12, "{seen} files");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read_dir") {
        let entry = entry.expect("entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).expect("copy");
        }
    }
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path).expect("read").lines().map(str::to_owned).collect()
}

fn write_lines(path: &Path, lines: &[String]) {
    std::fs::write(path, lines.iter().map(|l| format!("{l}\n")).collect::<String>()).expect("write");
}

fn shard_dir(record: &Path) -> PathBuf {
    std::fs::read_dir(record.join("shards")).expect("shards").next().expect("a shard").expect("entry").path()
}

/// A private copy of the election's record.
fn record_copy() -> tempfile::TempDir {
    let (record, _) = election();
    let copy = tempfile::tempdir().expect("tempdir");
    copy_dir(record, copy.path());
    copy
}

/// Copies the record, applies `tamper`, and checks that verification fails naming `check`; returns stderr.
fn detected(tamper: impl FnOnce(&Path), check: &str) -> String {
    let copy = record_copy();
    tamper(copy.path());
    let out = urna(&["verify", "record", copy.path().to_str().expect("utf-8 path")]);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(out.status.code(), Some(1), "tampering not detected: {stderr}");
    assert!(stderr.contains(&format!("record INVALID: {check}:")), "expected a {check} failure, got: {stderr}");
    stderr
}

#[test]
fn an_added_ballot_is_detected() {
    detected(
        |r| {
            let mut l = lines(&r.join("ballots.jsonl"));
            l.push(l[0].clone());
            write_lines(&r.join("ballots.jsonl"), &l);
        },
        "ballots",
    );
}

#[test]
fn a_dropped_ballot_is_detected() {
    detected(
        |r| {
            let mut l = lines(&r.join("ballots.jsonl"));
            l.remove(2);
            write_lines(&r.join("ballots.jsonl"), &l);
        },
        "shards",
    );
}

#[test]
fn a_modified_ballot_is_detected() {
    detected(
        |r| {
            let mut l = lines(&r.join("ballots.jsonl"));
            let mut v: Value = serde_json::from_str(&l[1]).expect("json");
            let c = &mut v["package"]["ballot"]["contests"][0]["ciphertexts"][0];
            let mut s = c.as_str().expect("hex").to_owned();
            let last = if s.ends_with('0') { "1" } else { "0" };
            s.replace_range(s.len() - 1.., last);
            *c = Value::String(s);
            l[1] = v.to_string();
            write_lines(&r.join("ballots.jsonl"), &l);
        },
        "ballots",
    );
}

#[test]
fn an_altered_total_is_detected() {
    detected(
        |r| {
            let path = shard_dir(r).join("totals.json");
            let mut v: Value = serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("json");
            let contests = v["contests"].as_array_mut().expect("contests");
            let swapped = contests[0]["ciphertexts"][0].clone();
            contests[0]["ciphertexts"][0] = contests[1]["ciphertexts"][0].clone();
            contests[1]["ciphertexts"][0] = swapped;
            std::fs::write(&path, v.to_string()).expect("write");
        },
        "shards",
    );
}

#[test]
fn a_truncated_shard_log_is_detected() {
    detected(
        |r| {
            let path = shard_dir(r).join("records.jsonl");
            let mut l = lines(&path);
            l.pop();
            write_lines(&path, &l);
        },
        "shards",
    );
}

#[test]
fn a_truncated_audit_log_is_detected() {
    detected(
        |r| {
            let path = r.join("audit/entries.jsonl");
            let mut l = lines(&path);
            l.pop();
            write_lines(&path, &l);
        },
        "audit log",
    );
}

#[test]
fn a_forked_audit_log_is_detected() {
    // The same entries in another order, renumbered: every leaf hash still matches its entry, but the tree is
    // another one, so the signed checkpoints no longer match it.
    detected(
        |r| {
            let path = r.join("audit/entries.jsonl");
            let mut rows: Vec<Value> = lines(&path).iter().map(|l| serde_json::from_str(l).expect("json")).collect();
            rows.swap(0, 1);
            for (i, row) in rows.iter_mut().enumerate() {
                row["index"] = Value::from(i);
            }
            write_lines(&path, &rows.iter().map(Value::to_string).collect::<Vec<_>>());
        },
        "audit log",
    );
}

#[test]
fn altered_results_are_detected() {
    detected(
        |r| {
            let path = r.join("results.json");
            let text = std::fs::read_to_string(&path).expect("read");
            let mut v: Value = serde_json::from_str(&text).expect("json");
            let votes = &mut v["results"][0]["counts"][0]["votes"];
            *votes = Value::from(votes.as_u64().expect("votes") + 1);
            std::fs::write(&path, v.to_string()).expect("write");
        },
        "results",
    );
}

/// Replaces one partial of trustee 2's answer (item 0, ciphertext 0) by a one-digit change of itself.
fn corrupt_trustee_2(record: &Path) {
    let path = record.join("decryption/trustee-2.json");
    let mut v: Value = serde_json::from_slice(&std::fs::read(&path).expect("read")).expect("json");
    let value = &mut v["partials"]["values"][0][0];
    let mut s = value.as_str().expect("hex").to_owned();
    let last = if s.ends_with('2') { "4" } else { "2" };
    s.replace_range(s.len() - 1.., last);
    *value = Value::String(s);
    std::fs::write(&path, v.to_string()).expect("write");
}

#[test]
fn a_corrupted_partial_decryption_is_detected() {
    // Only trustees 1-3 answered: the failure names trustee 2 and the partial.
    let stderr = detected(corrupt_trustee_2, "decryption");
    assert!(stderr.contains("trustee 2:") && stderr.contains("ciphertext 0"), "{stderr}");
}

/// With five answers of which two are bad (a wrong partial, another request's) and a stray file from an
/// unknown trustee, `urna results` combines three valid ones and names the others, and the record verifies.
#[test]
fn results_combine_any_t_valid_trustees_and_name_the_invalid_ones() {
    let (_, summary) = election();
    let copy = record_copy();
    let dir = copy.path().to_str().expect("utf-8 path");
    for i in [4, 5] {
        let pass = copy.path().join(format!("pass-{i}"));
        std::fs::write(&pass, format!("trustee-{i}\n")).expect("passphrase file");
        let share = format!("{FIXTURE}/trustee-{i}.share.json");
        let out = urna(&[
            "trustee",
            "decrypt",
            "--record",
            dir,
            "--share",
            &share,
            "--passphrase-file",
            pass.to_str().expect("utf-8 path"),
        ]);
        assert!(out.status.success(), "trustee {i}: {}", String::from_utf8_lossy(&out.stderr));
    }
    corrupt_trustee_2(copy.path());
    let five = copy.path().join("decryption/trustee-5.json");
    let mut v: Value = serde_json::from_slice(&std::fs::read(&five).expect("read")).expect("json");
    v["requestHash"] = Value::String("00".repeat(32));
    std::fs::write(&five, v.to_string()).expect("write");
    std::fs::copy(copy.path().join("decryption/trustee-1.json"), copy.path().join("decryption/trustee-9.json"))
        .expect("copy");

    let out = urna(&["results", "--record", dir, "--json"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let results: Value = serde_json::from_slice(&out.stdout).expect("results JSON");
    assert_eq!(results["trustees"], serde_json::json!([1, 3, 4]));
    assert_eq!(results["totals"], summary["totals"]);
    assert!(stderr.contains("trustee=2") && stderr.contains("wrong partial(s): tally/"), "{stderr}");
    assert!(stderr.contains("trustee=5") && stderr.contains("answers another request"), "{stderr}");
    assert!(stderr.contains("trustee=9") && stderr.contains("not one of the key's 5 trustees"), "{stderr}");

    let out = urna(&["verify", "record", dir]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("record VALID"), "{stdout}");
    assert!(stdout.contains("trustee 2:") && stdout.contains("ciphertext 0"), "{stdout}");
}

#[test]
fn the_election_events_are_in_the_log_in_a_legal_order() {
    let (_, summary) = election();
    let checks = summary["verification"]["checks"].as_array().expect("checks");
    let events = checks.iter().filter_map(Value::as_str).find(|c| c.starts_with("events:")).expect("an events check");
    // Manifest, ceremony, one opening and one closing per modality, one seal per shard: all there, in order.
    assert!(events.contains("in a legal order (manifest and ceremony before the openings"), "{events}");
}
