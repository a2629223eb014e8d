//! The mesa console (web/console) end to end in real headless Chromium: a real `urna vote` process (booth
//! modality, a mesas file with the members' Ed25519 keys from `urna mesa keygen`) on 127.0.0.1 serving the
//! console at /mesa/, an in-process tally shard and audit log. web/console/e2e/console.mjs (playwright-core,
//! Debian's /usr/bin/chromium) is refused with a wrong console token and shows why, signs in, admits a voter
//! (and is told why another is refused), constitutes the mesa (two members sign in the browser with their key
//! files; a key that is not the chosen member's is caught), sees the booth ballots this test casts through the
//! bridge appear, and after the admin closes voting, closes the mesa with the participants and audit codes
//! actas. The actas the browser signed are then verified with `urna mesa acta verify`.
//!
//! Needs node, web/node_modules (`npm ci` in web/) and Chromium; without them the test is skipped, loudly, and
//! under CI (`CI` set) it fails. URNA_SCREENSHOTS=docs/img/console retakes the documentation's screenshots.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

mod browser;
mod support;

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use urna_ballot::Selection;
use urna_booth::ballot::BallotMachine;
use urna_vote::client::VoterClient;
use urna_vote::wire::BoothBallot;

use browser::{WEB, browser_tools};

const URNA: &str = env!("CARGO_BIN_EXE_urna");
const ELECTION: &str = "console-proc";
const CONSOLE: &str = "console-centro-1";
const BRIDGE: &str = "bridge-secret";
const ADMIN: &str = "let-me-close";

fn s(p: &Path) -> String {
    p.display().to_string()
}

/// `urna ARGS`, which must succeed; its stdout.
fn urna(args: &[&str]) -> String {
    let out = Command::new(URNA).args(args).stdin(Stdio::null()).output().unwrap();
    let (stdout, stderr) = (String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "urna {args:?} failed: {stderr}\n{stdout}");
    stdout.into_owned()
}

/// A member key from `urna mesa keygen`: (file, public key hex).
fn keygen(dir: &Path, name: &str) -> (PathBuf, String) {
    let path = dir.join(format!("{name}.key"));
    let out = urna(&["mesa", "keygen", "--out", &s(&path)]);
    (path, out.trim().strip_prefix("public key: ").unwrap().to_owned())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mesa_members_admit_constitute_and_close_in_the_console() {
    let chromium = match browser_tools() {
        Ok(c) => c,
        Err(why) if std::env::var_os("CI").is_none() => {
            eprintln!("SKIPPED mesa_console: {why}");
            return;
        }
        Err(why) => panic!("{why}"),
    };
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let e = support::BoothElection::write(d, ELECTION, "centro", "alcaldia", 7000);
    let (manifest, pk) = (e.manifest.clone(), e.public_key.clone());
    let voter = |i: usize| e.voters[i].clone();
    let internal = support::internal_token_file(d);
    let audit_url = support::audit_log(&d.join("audit"), "urna.test/console").await;
    let shard_url =
        support::shard(&d.join("shard"), "centro-booth", &["centro"], urna_tally::Modality::Booth, &manifest, &pk)
            .await;

    let (ana, ana_pk) = keygen(d, "ana");
    let (bea, bea_pk) = keygen(d, "bea");
    let (_, ciro_pk) = keygen(d, "ciro");
    let hash = hex::encode(urna_vote::mesa::token_sha256(CONSOLE));
    let mesas = json!({ "mesas": [
        { "id": "centro-1", "district": "centro", "tokenSha256": hash, "booths": ["centro-1-b1", "centro-1-b2"],
          "members": [
            { "id": "ana", "role": "president", "publicKey": ana_pk },
            { "id": "bea", "role": "secretary", "publicKey": bea_pk },
            { "id": "ciro", "role": "observer", "publicKey": ciro_pk },
        ]},
    ]});
    let mesas_path = support::write(d, "mesas.json", &mesas.to_string());
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
        &format!("centro:booth={shard_url}"),
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
    let machine = BallotMachine::new(manifest.clone(), pk.clone(), "centro").unwrap();

    let shots = match std::env::var("URNA_SCREENSHOTS") {
        Ok(s) => Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).join(s),
        Err(_) => d.join("shots"),
    };
    let input = json!({
        "url": format!("{vote_url}/mesa/"),
        "mesa": "centro-1",
        "token": CONSOLE,
        "voter": voter(0),
        "stranger": format!("{:064x}", 99),
        "keys": { "ana": s(&ana), "bea": s(&bea) },
        "shots": shots,
    });
    let mut node = Command::new("node")
        .arg(Path::new(WEB).join("console/e2e/console.mjs"))
        .current_dir(Path::new(WEB).join("console"))
        .env("CONSOLE_E2E", input.to_string())
        .env("CHROMIUM", &chromium)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap();
    let mut stdin = node.stdin.take().unwrap();
    let stdout = node.stdout.take().unwrap();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let mut result = Value::Null;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(300);
    loop {
        let line = tokio::time::timeout_at(deadline, rx.recv()).await.expect("the browser script timed out");
        let Some(line) = line else { break };
        eprintln!("console.mjs: {line}");
        match line.as_str() {
            // The admitted voter votes at booth b2: the bridge brings the booth's ballot.
            "step cast" => {
                let ballot = machine.encrypt(&[("alcaldia", Selection::Single { choice: 1, write_in: None })]).unwrap();
                client
                    .submit_booth(BRIDGE, &BoothBallot { device: "centro-1-b2".into(), seq: 1, ballot })
                    .await
                    .unwrap();
                writeln!(stdin, "go").unwrap();
            }
            "step close" => {
                client.close(ADMIN).await.unwrap();
                writeln!(stdin, "go").unwrap();
            }
            l if l.starts_with("result ") => result = serde_json::from_str(&l["result ".len()..]).unwrap(),
            _ => {}
        }
    }
    let status = tokio::task::spawn_blocking(move || node.wait()).await.unwrap().unwrap();
    assert!(status.success(), "console.mjs failed: {status}");
    eprintln!("{result:#}");

    // What the page showed.
    assert!(result["badToken"].as_str().is_some_and(|t| t.contains("token de consola")), "{result}");
    assert!(result["admitted"].as_str().is_some_and(|t| t.contains("Admitido")), "{result}");
    assert!(result["again"].as_str().is_some_and(|t| t.contains("ya fue admitido")), "{result}");
    assert!(result["stranger"].as_str().is_some_and(|t| t.contains("no vota en el distrito")), "{result}");
    assert!(result["wrongKey"].as_str().is_some_and(|t| t.contains("bea")), "{result}");
    assert_eq!(result["ballotsShown"], "1", "{result}");
    assert_eq!(result["b2Shown"], "1", "{result}");
    assert!(result["notClosed"].as_str().is_some_and(|t| !t.is_empty()), "{result}");
    assert_eq!(result["errors"], json!([]), "the page logged errors");

    // What the service accepted: three actas signed in the browser by ana and bea, which the CLI verifies.
    let facts = client.mesa_actas("centro-1", CONSOLE).await.unwrap();
    let kinds: Vec<&str> = facts.actas.iter().map(|a| a.kind.as_str()).collect();
    assert_eq!(kinds, ["constitution", "participants", "auditCodes"]);
    assert!(facts.actas.iter().all(|a| a.signers == ["ana", "bea"]));
    assert_eq!((facts.admissions, facts.booth_ballots), (1, 1));
    // What the console API adds for the page: the district, the members with their keys, ballots per booth.
    assert_eq!(facts.district, "centro");
    let members: Vec<(&str, String)> =
        facts.members.iter().map(|m| (m.id.as_str(), hex::encode(m.public_key))).collect();
    assert_eq!(members, [("ana", ana_pk.clone()), ("bea", bea_pk.clone()), ("ciro", ciro_pk.clone())]);
    let booths: Vec<(&str, u64)> = facts.booths.iter().map(|b| (b.id.as_str(), b.ballots)).collect();
    assert_eq!(booths, [("centro-1-b1", 0), ("centro-1-b2", 1)]);
    let addr = vote_url.trim_start_matches("http://");
    for kind in ["constitution", "participants", "auditCodes"] {
        let (code, body) = support::http(addr, "GET", &format!("/v1/mesas/centro-1/actas/{kind}"), None).await;
        assert_eq!(code, 200, "{body}");
        let file = support::write(d, &format!("{kind}.json"), &body);
        let out =
            urna(&["mesa", "acta", "verify", "--acta", &s(&file), "--mesas", &s(&mesas_path), "--election", ELECTION]);
        assert!(out.contains("signed by ana, bea"), "{out}");
    }
    let constitution: Value =
        serde_json::from_str(&support::http(addr, "GET", "/v1/mesas/centro-1/actas/constitution", None).await.1)
            .unwrap();
    assert_eq!(constitution["document"]["body"]["membersPresent"], json!(["ana", "bea", "ciro"]));
}
