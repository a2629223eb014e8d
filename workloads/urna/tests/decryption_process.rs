//! `urna decryption serve` and `urna trustee decrypt --election URL` as processes over real HTTP on 127.0.0.1:
//! a record exported by `urna local` (the committed 3072-bit fixture ceremony) without its partials, three
//! trustees answering from their own share files, bad answers refused with a reason and nothing stored, the
//! service killed with SIGKILL mid-way and restarted with nothing accepted lost, and the results it writes
//! equal to `urna results` on the same files and to the local run's.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};
use support::spawn_listening;
use urna_status::decryption::RecordVerification;
use urna_tally::TallyClient;

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../crypto/tests/fixtures/ceremony-3072");
const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/university");
const VOTES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/university-votes.csv");

fn urna(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_urna"))
        .args(args)
        .env("URNA_TRUSTEE_1_PASSPHRASE", "trustee-1")
        .env("URNA_TRUSTEE_2_PASSPHRASE", "trustee-2")
        .env("URNA_TRUSTEE_3_PASSPHRASE", "trustee-3")
        .output()
        .unwrap()
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn read(path: &Path) -> Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// `urna trustee decrypt --election URL` for trustee `i` of the fixture ceremony.
fn trustee(url: &str, i: u32, passphrases: &Path) -> Output {
    let pass = passphrases.join(format!("p{i}"));
    std::fs::write(&pass, format!("trustee-{i}\n")).unwrap();
    let share = PathBuf::from(FIXTURE).join(format!("trustee-{i}.share.json"));
    urna(&["trustee", "decrypt", "--election", url, "--share", s(&share), "--passphrase-file", s(&pass)])
}

async fn post(url: &str, body: &Value) -> (u16, Value) {
    let (status, body) = TallyClient::new(url)
        .raw(http::Method::POST, "/v1/decryption/partials", Some(serde_json::to_vec(body).unwrap()))
        .await
        .unwrap();
    (status.as_u16(), serde_json::from_slice(&body).unwrap_or(Value::Null))
}

async fn status(url: &str) -> urna_status::decryption::DecryptionStatus {
    let (code, body) = TallyClient::new(url).raw(http::Method::GET, "/v1/status", None).await.unwrap();
    assert_eq!(code, 200);
    serde_json::from_slice(&body).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn trustees_answer_over_http_bad_answers_are_refused_and_results_match_urna_results() {
    let dir = tempfile::tempdir().unwrap();
    let local = dir.path().join("local");
    let out = urna(&[
        "local",
        EXAMPLE,
        "--ceremony",
        FIXTURE,
        "--votes",
        VOTES,
        "--record",
        s(&local),
        "--data",
        s(&dir.path().join("data")),
        "--json",
    ]);
    assert!(out.status.success(), "urna local: {}", String::from_utf8_lossy(&out.stderr));
    // The service's record: the exported one before any trustee answered.
    let record = dir.path().join("record");
    copy_dir(&local, &record);
    for i in 1..=3 {
        std::fs::remove_file(record.join(format!("decryption/trustee-{i}.json"))).unwrap();
    }
    std::fs::remove_file(record.join("results.json")).unwrap();
    let passphrases = dir.path().join("passphrases");
    std::fs::create_dir_all(&passphrases).unwrap();

    let serve = ["decryption", "serve", "--record", s(&record), "--listen", "127.0.0.1:0"];
    let (service, url) = spawn_listening(serve).await;
    let st = status(&url).await;
    assert_eq!((st.trustees, st.threshold, st.accepted.clone(), st.results.clone()), (5, 3, vec![], None));
    let request = std::fs::read(record.join("decryption/request.json")).unwrap();
    let (code, served) = TallyClient::new(&url).raw(http::Method::GET, "/v1/decryption/request", None).await.unwrap();
    assert_eq!((code.as_u16(), served.as_ref()), (200, request.as_slice()), "the request's exact bytes");

    // Trustee 1 answers; answering again (fresh proof, same partials) is the same 200.
    let first = trustee(&url, 1, &passphrases);
    assert!(first.status.success(), "{}", String::from_utf8_lossy(&first.stderr));
    let again = trustee(&url, 1, &passphrases);
    assert!(again.status.success(), "{}", String::from_utf8_lossy(&again.stderr));
    assert_eq!(first.stdout, again.stdout);
    let reply: Value = serde_json::from_slice(&first.stdout).unwrap();
    assert_eq!((reply["trustee"].clone(), reply["status"].clone()), (json!(1), json!("accepted")));
    let stored = read(&record.join("decryption/trustee-1.json"));

    // Bad answers, built from the local run's valid ones: each refused with its reason, nothing stored.
    let answer = |i: u32| read(&local.join(format!("decryption/trustee-{i}.json")));
    let mut wrong_proof = answer(3);
    let response = wrong_proof["partials"]["proof"]["response"].as_str().unwrap().to_owned();
    let flipped = if response.ends_with('1') { "2" } else { "1" };
    wrong_proof["partials"]["proof"]["response"] = json!(format!("{}{flipped}", &response[..response.len() - 1]));
    let (code, body) = post(&url, &wrong_proof).await;
    assert_eq!((code, body["error"]["code"].as_str()), (422, Some("invalid_proof")), "{body}");
    assert!(body["error"]["message"].as_str().unwrap().contains("trustee 3"), "{body}");
    let mut unknown = answer(2);
    unknown["partials"]["trustee"] = json!(7);
    let (code, body) = post(&url, &unknown).await;
    assert_eq!((code, body["error"]["code"].as_str()), (422, Some("unknown_trustee")), "{body}");
    let mut other = answer(2);
    other["requestHash"] = json!("ab".repeat(32));
    let (code, body) = post(&url, &other).await;
    assert_eq!((code, body["error"]["code"].as_str()), (422, Some("other_request")), "{body}");
    let mut conflicting = answer(1);
    conflicting["partials"]["values"][0][0] = answer(2)["partials"]["values"][0][0].clone();
    let (code, body) = post(&url, &conflicting).await;
    assert_eq!((code, body["error"]["code"].as_str()), (409, Some("conflicting_answer")), "{body}");
    let (code, body) = post(&url, &json!({ "partials": "nope" })).await;
    assert_eq!((code, body["error"]["code"].as_str()), (400, Some("malformed")), "{body}");
    // The local run's own answer for trustee 1: the same partials under its proof, so the same 200.
    let (code, body) = post(&url, &answer(1)).await;
    assert_eq!((code, body["status"].as_str()), (200, Some("accepted")), "{body}");
    assert_eq!(read(&record.join("decryption/trustee-1.json")), stored, "the first stored answer stands");
    assert!(!record.join("decryption/trustee-3.json").exists());
    let st = status(&url).await;
    assert_eq!((st.accepted.clone(), st.refused), (vec![1], 4));
    // The latest refusal the operator turns into an Event: the conflicting second answer of trustee 1.
    assert!(st.last_refusal.as_deref().is_some_and(|r| r.starts_with("trustee 1: conflicting_answer: ")), "{st:?}");
    assert_eq!(st.verification, None, "nothing to verify before the results");

    // Trustee 2 answers, then the service is killed (SIGKILL) and restarted on the same record.
    let second = trustee(&url, 2, &passphrases);
    assert!(second.status.success(), "{}", String::from_utf8_lossy(&second.stderr));
    drop(service);
    let (_service, url) = spawn_listening(serve).await;
    let st = status(&url).await;
    assert_eq!((st.accepted.clone(), st.results.clone()), (vec![1, 2], None), "nothing accepted was lost");

    // The third answer completes the threshold: results written and reported.
    let third = trustee(&url, 3, &passphrases);
    assert!(third.status.success(), "{}", String::from_utf8_lossy(&third.stderr));
    let st = status(&url).await;
    let results = st.results.expect("results once t answers are stored");
    let expected: u64 = read(&local.join("results.json"))["totals"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["ballots"].as_u64().unwrap())
        .sum();
    assert_eq!((results.trustees_used, results.ballots), (vec![1, 2, 3], expected));
    let written = std::fs::read(record.join("results.json")).unwrap();
    assert_eq!(results.digest, <[u8; 32]>::from(<sha2::Sha256 as sha2::Digest>::digest(&written)));
    let (code, served) = TallyClient::new(&url).raw(http::Method::GET, "/v1/results", None).await.unwrap();
    assert_eq!((code.as_u16(), served.as_ref()), (200, written.as_slice()));

    // The same results as the local run's, and as `urna results` recomputes them from the stored answers.
    let ours: Value = serde_json::from_slice(&written).unwrap();
    assert_eq!(ours, read(&local.join("results.json")));
    let out = urna(&["results", "--record", s(&record), "--json"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(serde_json::from_slice::<Value>(&out.stdout).unwrap(), ours);
    let out = urna(&["verify", "record", s(&record), "--json"]);
    assert!(out.status.success(), "the record verifies: {}", String::from_utf8_lossy(&out.stderr));
    let summary: Value = serde_json::from_slice(&out.stdout).unwrap();
    // The service verified the finished record itself, as `urna verify record` just did (what the operator
    // waits for before it publishes). It reports `running` until then; the loop ends on the first other state.
    let verified = loop {
        match status(&url).await.verification {
            Some(RecordVerification::Running) => tokio::time::sleep(std::time::Duration::from_millis(200)).await,
            other => break other,
        }
    };
    let ballots = summary["ballots"].as_u64().unwrap();
    assert_eq!(verified, Some(RecordVerification::Valid { ballots }), "the service verifies the record it finished");
}
