//! Mesa actas end to end, with real processes on loopback: `urna audit`, `urna vote` (booth modality with a
//! mesas file carrying the members' keys), and the members' own `urna mesa keygen` and `urna mesa acta
//! draft|sign|submit|verify`. Each of the four actas is signed by the members and accepted once, its event is
//! in the audit log (checked by inclusion proof under a signed checkpoint), a resubmission answers as the
//! first time, and forged, under-signed, foreign, wrong-mesa, conflicting and mis-counted actas are refused
//! with their codes while nothing accepted changes.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use urna_ballot::Selection;
use urna_booth::ballot::BallotMachine;
use urna_vote::acta::SignedActa;
use urna_vote::client::VoterClient;
use urna_vote::wire::BoothBallot;

const URNA: &str = env!("CARGO_BIN_EXE_urna");
const ELECTION: &str = "acta-proc";
const CONSOLE_1: &str = "console-town-1";
const CONSOLE_2: &str = "console-town-2";
const BRIDGE: &str = "bridge-secret";
const ADMIN: &str = "let-me-close";

/// Runs `urna ARGS` to completion off the async threads.
async fn urna<I, S>(args: I) -> Output
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let args: Vec<std::ffi::OsString> = args.into_iter().map(|a| a.as_ref().to_owned()).collect();
    tokio::task::spawn_blocking(move || Command::new(URNA).args(&args).stdin(Stdio::null()).output().unwrap())
        .await
        .unwrap()
}

/// `urna ARGS`, which must succeed; its stdout.
async fn ok<I, S>(args: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let out = urna(args).await;
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "urna failed: {stderr}\n{stdout}");
    stdout.into_owned()
}

/// `urna ARGS`, which must fail naming `code`.
async fn refused<I, S>(args: I, code: &str)
where
    I: IntoIterator<Item = S>,
    S: AsRef<std::ffi::OsStr>,
{
    let out = urna(args).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "expected {code}, but it succeeded: {}", String::from_utf8_lossy(&out.stdout));
    assert!(stderr.contains(code), "expected {code}: {stderr}");
}

/// A member key from `urna mesa keygen`: (file, public key hex).
async fn keygen(dir: &Path, name: &str) -> (PathBuf, String) {
    let path = dir.join(format!("{name}.key"));
    let out = ok(["mesa", "keygen", "--out"].map(str::to_owned).into_iter().chain([path.display().to_string()])).await;
    let public = out.trim().strip_prefix("public key: ").unwrap().to_owned();
    (path, public)
}

fn s(p: &Path) -> String {
    p.display().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn members_sign_and_submit_every_acta_and_bad_ones_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let e = support::BoothElection::write(d, ELECTION, "town", "mayor", 9000);
    let (manifest, pk) = (e.manifest.clone(), e.public_key.clone());
    let voter = |i: usize| e.voters[i].clone();
    let internal = support::internal_token_file(d);

    // The audit log, a real process with its own key.
    let log_key_path = d.join("log.key");
    let out = ok(["audit".into(), "keygen".into(), "--out".into(), s(&log_key_path)]).await;
    let log_key = out.trim().strip_prefix("public key: ").unwrap().to_owned();
    let mut audit = Command::new(URNA);
    audit
        .args(["audit", "--data", &s(&d.join("audit")), "--key", &s(&log_key_path), "--listen", "127.0.0.1:0"])
        .args(["--origin", "urna.test/actas", "--batch-wait-ms", "20", "--checkpoint-interval", "1"])
        .args(["--internal-token-file", &internal]);
    let (_audit, audit_url) = {
        let mut child = support::Killed(audit.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap());
        let stdout = child.0.stdout.take().unwrap();
        let line = tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line).unwrap();
            line
        })
        .await
        .unwrap();
        let url = line.trim().strip_prefix("listening on ").unwrap_or_else(|| panic!("audit said {line:?}")).to_owned();
        (child, url)
    };
    let shard_url =
        support::shard(&d.join("shard"), "town-booth", &["town"], urna_tally::Modality::Booth, &manifest, &pk).await;

    // The members' keys, made with the members' tool, and the mesas file the operator would generate.
    let (ana, ana_pk) = keygen(d, "ana").await;
    let (bea, bea_pk) = keygen(d, "bea").await;
    let (ciro, ciro_pk) = keygen(d, "ciro").await;
    let (dora, dora_pk) = keygen(d, "dora").await;
    let (zoe, _) = keygen(d, "zoe").await; // nobody's member
    let hash = |t: &str| hex::encode(urna_vote::mesa_file::token_sha256(t));
    let mesas = json!({ "mesas": [
        { "id": "town-1", "district": "town", "tokenSha256": hash(CONSOLE_1), "booths": ["b1"], "members": [
            { "id": "ana", "role": "president", "publicKey": ana_pk },
            { "id": "bea", "role": "secretary", "publicKey": bea_pk },
            { "id": "ciro", "role": "observer", "publicKey": ciro_pk },
        ]},
        { "id": "town-2", "district": "town", "tokenSha256": hash(CONSOLE_2), "booths": ["b2"], "members": [
            { "id": "dora", "role": "president", "publicKey": dora_pk },
        ]},
    ]});
    let mesas_path = support::write(d, "mesas.json", &mesas.to_string());
    let console_1 = support::write(d, "console-1.token", CONSOLE_1);
    let console_2 = support::write(d, "console-2.token", CONSOLE_2);
    let bridge = support::write(d, "bridge.token", BRIDGE);
    let admin = support::write(d, "admin.token", ADMIN);

    let (_vote, vote_url) = support::spawn_listening([
        "vote",
        "--manifest",
        &s(&e.manifest_path),
        "--public-key",
        &s(&e.public_key_path),
        "--signing-key",
        &s(&e.signing_key_path),
        "--data",
        &s(&d.join("vote")),
        "--census",
        &s(&e.census_path),
        "--listen",
        "127.0.0.1:0",
        "--modality",
        "booth",
        "--shard",
        &format!("town:booth={shard_url}"),
        "--audit",
        &audit_url,
        "--mesas",
        &s(&mesas_path),
        "--bridge-token-file",
        &s(&bridge),
        "--admin-token-file",
        &s(&admin),
        "--internal-token-file",
        &internal,
        "--rate-limit",
        "0",
    ])
    .await;
    let client = VoterClient::new(&vote_url);
    let console = |f: &Path| ["--vote".to_owned(), vote_url.clone(), "--token-file".to_owned(), s(f)];
    let draft = |kind: &str, mesa: &str, out: &Path, extra: &[&str]| {
        let mut a: Vec<String> = ["mesa", "acta", "draft", "--kind", kind, "--election", ELECTION, "--mesa", mesa]
            .map(str::to_owned)
            .to_vec();
        a.extend(extra.iter().map(|x| (*x).to_owned()));
        a.extend(["--out".to_owned(), s(out)]);
        a
    };
    let sign = |file: &Path, member: &str, key: &Path| {
        ["mesa", "acta", "sign", "--acta", &s(file), "--member", member, "--key", &s(key)].map(str::to_owned)
    };
    let submit = |file: &Path, token: &Path| {
        let mut a = ["mesa", "acta", "submit", "--acta"].map(str::to_owned).to_vec();
        a.push(s(file));
        a.extend(console(token));
        a
    };
    let copy = |from: &Path, name: &str| {
        let to = d.join(name);
        std::fs::copy(from, &to).unwrap();
        to
    };

    // --- Constitution: drafted, signed by the president and the secretary, submitted.
    let constitution = d.join("constitution.json");
    ok(draft(
        "constitution",
        "town-1",
        &constitution,
        &["--members-present", "ana,bea,ciro", "--at", "2027-06-06T07:30:00Z"],
    ))
    .await;
    // Under-signed: the president alone (the mesa has a secretary), or the president and an observer.
    ok(sign(&constitution, "ana", &ana)).await;
    refused(submit(&constitution, &console_1), "no_quorum").await;
    let with_observer = copy(&constitution, "with-observer.json");
    ok(sign(&with_observer, "ciro", &ciro)).await;
    refused(submit(&with_observer, &console_1), "no_quorum").await;
    // Forged: "bea" signed with a key that is not hers; a stranger's signature.
    let forged = copy(&constitution, "forged.json");
    ok(sign(&forged, "bea", &zoe)).await;
    refused(submit(&forged, &console_1), "bad_signature").await;
    let stranger = copy(&constitution, "stranger.json");
    ok(sign(&stranger, "bea", &bea)).await;
    ok(sign(&stranger, "zoe", &zoe)).await;
    refused(submit(&stranger, &console_1), "unknown_signer").await;
    // Another mesa's acta, properly signed by its own president, sent to this mesa's console.
    let other = d.join("other.json");
    ok(draft("constitution", "town-2", &other, &["--members-present", "dora"])).await;
    ok(sign(&other, "dora", &dora)).await;
    let other_acta: SignedActa = serde_json::from_str(&std::fs::read_to_string(&other).unwrap()).unwrap();
    let err = client.submit_acta("town-1", CONSOLE_1, &other_acta).await.unwrap_err();
    assert_eq!(err.code(), Some("wrong_mesa"), "{err}");
    // ...and a console token that is not this mesa's.
    let err = client.submit_acta("town-2", CONSOLE_1, &other_acta).await.unwrap_err();
    assert_eq!(err.code(), Some("unauthorized"), "{err}");
    // The good one: president and secretary.
    ok(sign(&constitution, "bea", &bea)).await;
    let first: Value = serde_json::from_str(&ok(submit(&constitution, &console_1)).await).unwrap();
    assert_eq!(first["kind"], "constitution");
    assert_eq!(first["signers"], json!(["ana", "bea"]));
    assert!(first["logIndex"].is_u64(), "{first}");
    let again: Value = serde_json::from_str(&ok(submit(&constitution, &console_1)).await).unwrap();
    assert_eq!(again, first, "a resubmission answers as the first time");
    // Town-2's president alone is a quorum there (no other voting member).
    ok(submit(&other, &console_2)).await;

    // --- Voting: three voters admitted at town-1, two booth ballots recorded there.
    for i in 0..3 {
        client.admit("town-1", CONSOLE_1, &voter(i)).await.unwrap();
    }
    let machine = BallotMachine::new(manifest.clone(), pk.clone(), "town").unwrap();
    for (seq, choice) in [(1u64, 0usize), (2, 1)] {
        let ballot = machine.encrypt(&[("mayor", Selection::Single { choice, write_in: None })]).unwrap();
        client.submit_booth(BRIDGE, &BoothBallot { device: "b1".into(), seq, ballot }).await.unwrap();
    }
    // Counting before the close is refused: its figures could still move.
    let participants = d.join("participants.json");
    ok(draft("participants", "town-1", &participants, &console(&console_1).each_ref().map(String::as_str))).await;
    ok(sign(&participants, "ana", &ana)).await;
    ok(sign(&participants, "bea", &bea)).await;
    refused(submit(&participants, &console_1), "mesa_not_closed").await;
    client.close(ADMIN).await.unwrap();

    // --- After the close: participants (3 admitted), audit codes (the 2 booth ballots), results.
    let p: Value = serde_json::from_str(&ok(submit(&participants, &console_1)).await).unwrap();
    assert_eq!(p["kind"], "participants");
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&participants).unwrap()).unwrap();
    assert_eq!(doc["document"]["body"], json!({ "kind": "participants", "voted": 3 }));
    // A participants acta that says 4 voted is refused, whoever signs it.
    let inflated = d.join("inflated.json");
    ok(draft("participants", "town-1", &inflated, &["--voted", "4"])).await;
    ok(sign(&inflated, "ana", &ana)).await;
    ok(sign(&inflated, "bea", &bea)).await;
    refused(submit(&inflated, &console_1), "acta_mismatch").await;

    let codes = d.join("codes.json");
    ok(draft("audit-codes", "town-1", &codes, &console(&console_1).each_ref().map(String::as_str))).await;
    let doc: Value = serde_json::from_str(&std::fs::read_to_string(&codes).unwrap()).unwrap();
    assert_eq!(doc["document"]["body"]["codes"].as_array().unwrap().len(), 2);
    ok(sign(&codes, "ana", &ana)).await;
    ok(sign(&codes, "bea", &bea)).await;
    ok(submit(&codes, &console_1)).await;

    let counts = |a: u64, b: u64| {
        json!([{ "contest": "mayor", "counts": [
            { "choice": "a", "votes": a }, { "choice": "b", "votes": b }, { "choice": "blank", "votes": 0 }, { "choice": "null", "votes": 0 }
        ]}])
        .to_string()
    };
    let counts_ok = support::write(d, "counts.json", &counts(1, 1));
    let results = d.join("results.json");
    let mut extra = vec!["--source", "booths", "--counts"];
    let counts_arg = s(&counts_ok);
    extra.push(&counts_arg);
    let con = console(&console_1);
    extra.extend(con.iter().map(String::as_str));
    ok(draft("results", "town-1", &results, &extra)).await;
    ok(sign(&results, "ana", &ana)).await;
    ok(sign(&results, "bea", &bea)).await;
    let r: Value = serde_json::from_str(&ok(submit(&results, &console_1)).await).unwrap();
    assert!(r["logIndex"].is_u64(), "{r}");
    let r2: Value = serde_json::from_str(&ok(submit(&results, &console_1)).await).unwrap();
    assert_eq!(r2, r, "idempotent");
    // Other figures for the same kind: 409, and the first stays.
    let counts_other = support::write(d, "counts-other.json", &counts(2, 0));
    let conflicting = d.join("conflicting.json");
    let counts_arg = s(&counts_other);
    ok(draft("results", "town-1", &conflicting, &["--source", "booths", "--ballots", "2", "--counts", &counts_arg]))
        .await;
    ok(sign(&conflicting, "ana", &ana)).await;
    ok(sign(&conflicting, "bea", &bea)).await;
    refused(submit(&conflicting, &console_1), "acta_conflict").await;

    // --- The vote service's status lists the four actas of town-1, each in the log.
    let status = client.status(0).await.unwrap();
    let town1 = status.mesas.iter().find(|m| m.mesa == "town-1").unwrap();
    let kinds: Vec<&str> = town1.actas.iter().map(|a| a.kind.as_str()).collect();
    assert_eq!(kinds, ["constitution", "results", "participants", "auditCodes"]);
    assert!(town1.actas.iter().all(|a| a.log_index.is_some() && a.logged_at.is_some()));
    let results_doc: SignedActa = serde_json::from_str(&std::fs::read_to_string(&results).unwrap()).unwrap();
    let results_status = town1.actas.iter().find(|a| a.kind.as_str() == "results").unwrap();
    assert_eq!(results_status.sha256, hex::encode(results_doc.document.digest()));
    assert_eq!(results_status.signers, ["ana", "bea"]);

    // Anyone reads the accepted signed acta back (it names no voter).
    let vote_addr = vote_url.trim_start_matches("http://");
    let (code, body) = support::http(vote_addr, "GET", "/v1/mesas/town-1/actas/results", None).await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(serde_json::from_str::<SignedActa>(&body).unwrap(), results_doc);
    let (code, _) = support::http(vote_addr, "GET", "/v1/mesas/town-2/actas/results", None).await;
    assert_eq!(code, 404);

    // --- The audit log holds exactly one acta event per accepted acta (five: four here, one at town-2).
    let addr = audit_url.trim_start_matches("http://");
    let (_, status) = support::http(addr, "GET", "/v1/status", None).await;
    let size = serde_json::from_str::<Value>(&status).unwrap()["treeSize"].as_u64().unwrap();
    let (code, body) = support::http(addr, "GET", &format!("/v1/entries?start=0&end={size}"), None).await;
    assert_eq!(code, 200, "{body}");
    let entries: Value = serde_json::from_str(&body).unwrap();
    let events: Vec<&Value> = entries["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| &e["entry"])
        .filter(|e| e["type"] == "event" && e["kind"] == "acta")
        .collect();
    assert_eq!(events.len(), 5, "{events:?}");
    assert!(events.iter().any(|e| e["digest"] == results_status.sha256.as_str()));

    // --- `urna mesa acta verify`: signatures against the mesas file, and inclusion under a signed checkpoint.
    let verify = |file: &Path| {
        ["mesa", "acta", "verify", "--acta", &s(file), "--mesas", &s(&mesas_path), "--election", ELECTION]
            .map(str::to_owned)
            .to_vec()
    };
    let mut with_log = verify(&results);
    with_log.extend(["--log".to_owned(), audit_url.clone(), "--log-key".to_owned(), log_key.clone()]);
    let mut verified = String::new();
    for _ in 0..50 {
        let out = urna(&with_log).await;
        if out.status.success() {
            verified = String::from_utf8_lossy(&out.stdout).into_owned();
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await; // the next checkpoint covers it
    }
    assert!(verified.contains("signed by ana, bea"), "{verified}");
    assert!(verified.contains(&format!("in the audit log at index {}", r["logIndex"])), "{verified}");
    refused(verify(&forged), "bad_signature").await;
    refused(verify(&with_observer), "no_quorum").await;
    // The conflicting acta verifies as signed, but is in no log.
    let mut conflicting_log = verify(&conflicting);
    conflicting_log.extend(["--log".to_owned(), audit_url.clone()]);
    refused(conflicting_log, "not in the audit log").await;
}
