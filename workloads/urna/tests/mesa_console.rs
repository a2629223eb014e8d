//! The mesa console (web/console) end to end in real headless Chromium: a real `urna vote` process (booth
//! modality, a mesas file with the members' Ed25519 keys from `urna mesa keygen`) on 127.0.0.1 serving the
//! console at /mesa/, an in-process tally shard and audit log. web/console/e2e/console.mjs (playwright-core,
//! Debian's /usr/bin/chromium) is refused with a wrong console token and shows why, signs in, admits a voter
//! (and is told why another is refused), constitutes the mesa (two members sign in the browser with their key
//! files; a key that is not the chosen member's is caught), sees the booth ballots this test casts through the
//! bridge appear, and after the admin closes voting, closes the mesa with the participants and audit codes
//! actas, then drafts the results acta from the contest and choices of the district's ballot (figures the service
//! would refuse are refused on the page first: more votes than ballots, a booth count that is not the booths',
//! more paper ballots than voters admitted) and two members sign and submit it. The actas the browser signed
//! are then verified with `urna mesa acta verify`.
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
    // The ballot's titles and names as an election authority writes them (the console shows them as given).
    let mut manifest = e.manifest.clone();
    let contest = &mut manifest.contests[0];
    contest.title = "Alcaldía de Centro".into();
    contest.parties[0].name = "Partido Verde".into();
    contest.parties[0].candidate = Some("Ana Ruiz".into());
    contest.parties[1].name = "Movimiento Azul".into();
    support::write(d, "manifest.json", &serde_json::to_string(&manifest).unwrap());
    let pk = e.public_key.clone();
    let voter = |i: usize| e.voters[i].clone();
    let internal = support::internal_token_file(d);
    let audit_url = support::audit_log(&d.join("audit"), "urna.test/console").await;
    let shard_url =
        support::shard(&d.join("shard"), "centro-booth", &["centro"], urna_tally::Modality::Booth, &manifest, &pk)
            .await;

    let (ana, ana_pk) = keygen(d, "ana");
    let (bea, bea_pk) = keygen(d, "bea");
    let (_, ciro_pk) = keygen(d, "ciro");
    let hash = hex::encode(urna_vote::mesa_file::token_sha256(CONSOLE));
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
    // The results form: the contest's choices in the numbering's order, the booth ballots pre-filled, and the
    // refusals the service would make, made on the page, in Spanish.
    assert_eq!(result["resultsChoices"], json!(["a", "b", "blank", "null"]), "{result}");
    assert_eq!(result["resultsLegend"], "Alcaldía de Centro", "{result}");
    assert_eq!(
        result["resultsLabels"],
        json!(["Partido Verde (Ana Ruiz)", "Movimiento Azul", "En blanco", "Nulo"]),
        "{result}"
    );
    assert_eq!(result["ballotsPrefilled"], "1", "{result}");
    assert!(
        result["tooMany"].as_str().is_some_and(|t| t.contains("2 votos") && t.contains("como máximo 1")),
        "{result}"
    );
    assert!(result["boothMismatch"].as_str().is_some_and(|t| t.contains("registraron 1")), "{result}");
    assert!(result["paperOver"].as_str().is_some_and(|t| t.contains("votantes admitidos")), "{result}");
    assert!(result["summary"].as_str().is_some_and(|t| t.contains("Ballots counted: 1")), "{result}");
    assert!(result["resultsDone"].as_str().is_some_and(|t| t.contains("ana, bea")), "{result}");
    assert_eq!(result["errors"], json!([]), "the page logged errors");

    // What the service accepted: four actas signed in the browser by ana and bea, which the CLI verifies.
    let facts = client.mesa_actas("centro-1", CONSOLE).await.unwrap();
    let mut kinds: Vec<&str> = facts.actas.iter().map(|a| a.kind.as_str()).collect();
    kinds.sort_unstable();
    assert_eq!(kinds, ["auditCodes", "constitution", "participants", "results"]);
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
    for kind in ["constitution", "participants", "auditCodes", "results"] {
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
    let results: Value =
        serde_json::from_str(&support::http(addr, "GET", "/v1/mesas/centro-1/actas/results", None).await.1).unwrap();
    let counts = json!([{ "choice": "a", "votes": 1 }, { "choice": "b", "votes": 0 },
        { "choice": "blank", "votes": 0 }, { "choice": "null", "votes": 0 }]);
    assert_eq!(
        results["document"]["body"],
        json!({ "kind": "results", "source": "booths", "ballots": 1, "contests": [{ "contest": "alcaldia", "counts": counts }] })
    );
}

/// The results acta web/console/test/acta.test.ts checks the console against, written by `urna_vote::acta`: its
/// canonical encoding, digest, signing message and two members' Ed25519 signatures (deterministic), so the
/// browser's bytes are compared with Rust's. `URNA_FIXTURES=1` rewrites the file; otherwise it must match.
#[test]
fn the_console_results_fixture_is_what_urna_vote_writes() {
    use urna_vote::acta::{
        ActaBody, ActaDocument, ChoiceVotes, ContestCount, CountSource, SignedActa, signing_message,
    };
    let counts = |contest: &str, votes: &[(&str, u64)]| ContestCount {
        contest: contest.into(),
        counts: votes.iter().map(|(choice, votes)| ChoiceVotes { choice: (*choice).into(), votes: *votes }).collect(),
    };
    let body = ActaBody::Results {
        source: CountSource::Paper,
        ballots: 412,
        contests: vec![
            counts(
                "alcaldia",
                &[("verde", 150), ("azul", 120), ("verde+azul", 9), ("write-in", 3), ("blank", 20), ("null", 110)],
            ),
            counts("consulta", &[("si", 300), ("no", 0)]),
        ],
    };
    // A mesa id with a quote and non-ASCII letters: the JSON escapes and the UTF-8 lengths must agree too.
    let doc = ActaDocument::new("municipal-2027", "centro-1 \"ñandú\"", "2027-06-06T20:15:00Z".parse().unwrap(), body);
    doc.check().unwrap();
    let mut acta = SignedActa::unsigned(doc.clone());
    for (member, seed) in [("bea", 2u8), ("ana", 1u8)] {
        let key = urna_audit::LogKey::from_seed(&[seed; 32]);
        acta.sign_with(member, |m| key.sign(m));
    }
    let digest = doc.digest();
    let fixture = json!({
        "about": "written by workloads/urna/tests/mesa_console.rs (urna_vote::acta); URNA_FIXTURES=1 rewrites it",
        "seeds": { "ana": hex::encode([1u8; 32]), "bea": hex::encode([2u8; 32]) },
        "acta": acta,
        "canonical": String::from_utf8(doc.canonical()).unwrap(),
        "sha256": hex::encode(digest),
        "signingMessage": hex::encode(signing_message(&doc.election_id, &doc.mesa, doc.kind(), &digest)),
    });
    let text = format!("{}\n", serde_json::to_string_pretty(&fixture).unwrap());
    let path = Path::new(WEB).join("console/test/fixtures/results-acta.json");
    if std::env::var_os("URNA_FIXTURES").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &text).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(committed == text, "{} is not what urna_vote::acta writes: rerun with URNA_FIXTURES=1", path.display());
}
