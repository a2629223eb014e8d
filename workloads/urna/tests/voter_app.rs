//! The voter web app end to end in real headless Chromium: `urna local examples/federal --serve` (committed
//! 3072-bit fixture ceremony, no simulated ballots) keeps the election open; web/app/e2e/voter.mjs
//! (playwright-core driving Debian's /usr/bin/chromium) signs voters in, is refused a wrong credential and a
//! second voting right, marks coalitions and a write-in, challenges a ballot and checks it on a second device,
//! casts, and checks each receipt against the audit log in the browser; a fourth voter encrypts a ballot while
//! voting is open, voting closes (`POST /v1/close` with the admin token `--serve --json` prints), and her
//! Cast is refused with the app's message, nothing recorded. Then this test checks the challenged
//! ballot with `urna verify challenge`, closes the election (SIGINT), and requires the published results to
//! count exactly the browser's ballots, and `urna verify record` to accept the record. Two real `urna witness`
//! processes cosign the log's checkpoints (`urna local --witness ... --witness-quorum 2`), and the receipt
//! check verifies their cosignatures in the browser.
//!
//! Needs node, web/node_modules (`npm ci` in web/) and Chromium. Without them the test is skipped, loudly;
//! under CI (`CI` set) it fails instead, since `.ci/run` installs them.

use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

mod browser;
use browser::{WEB, browser_tools};

const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../crypto/tests/fixtures/ceremony-3072");
const FEDERAL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/federal");

/// Kills the election (or a witness) if the test fails half-way.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn urna(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_urna")).args(args).output().expect("run urna")
}

fn counts(summary: &Value, contest: &str) -> Vec<(String, u64)> {
    let total = summary["totals"]
        .as_array()
        .expect("totals")
        .iter()
        .find(|t| t["contestId"] == contest)
        .unwrap_or_else(|| panic!("no totals for {contest}"));
    total["counts"]
        .as_array()
        .expect("counts")
        .iter()
        .map(|c| (c["choice"].as_str().expect("choice").to_owned(), c["votes"].as_u64().expect("votes")))
        .filter(|(_, v)| *v > 0)
        .collect()
}

#[test]
fn voters_vote_challenge_and_check_receipts_in_chromium() {
    let chromium = match browser_tools() {
        Ok(c) => c,
        Err(why) if std::env::var_os("CI").is_some() => panic!("the voter app browser test cannot run under CI: {why}"),
        Err(why) => {
            eprintln!("SKIPPED voter_app browser test: {why}");
            return;
        }
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let record = dir.path().join("record");
    let data = dir.path().join("data");
    // Two witnesses, both required: their keys made as an observer makes them.
    let witnesses: Vec<(String, std::path::PathBuf, String)> = (1..=2)
        .map(|i| {
            let key = dir.path().join(format!("witness-{i}.key"));
            let out = urna(&["witness", "keygen", "--out", key.to_str().expect("utf-8")]);
            assert!(out.status.success(), "witness keygen: {}", String::from_utf8_lossy(&out.stderr));
            let printed = String::from_utf8_lossy(&out.stdout).into_owned();
            let public = printed.trim().rsplit(' ').next().expect("public key").to_owned();
            (format!("testigo-{i}.example"), key, public)
        })
        .collect();
    let mut command = Command::new(env!("CARGO_BIN_EXE_urna"));
    command
        .args(["local", FEDERAL, "--ceremony", FIXTURE, "--ballots", "0", "--serve", "--listen", "127.0.0.1:0"])
        .args(["--serve-voters", "4", "--json", "--record", record.to_str().expect("utf-8"), "--data"])
        .arg(&data)
        .args(["--witness-quorum", "2"]);
    for (name, _, public) in &witnesses {
        command.arg("--witness").arg(format!("{name}={public}"));
    }
    let mut child = command
        .env("URNA_TRUSTEE_1_PASSPHRASE", "trustee-1")
        .env("URNA_TRUSTEE_2_PASSPHRASE", "trustee-2")
        .env("URNA_TRUSTEE_3_PASSPHRASE", "trustee-3")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start urna local --serve");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let election = KillOnDrop(child);
    let mut line = String::new();
    stdout.read_line(&mut line).expect("read the serving line");
    let serving: Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("serving line {line:?}: {e}"));
    let url = serving["serving"].as_str().expect("serving URL").to_owned();
    let voters = serving["voters"].clone();
    assert_eq!(voters.as_array().map(Vec::len), Some(4));
    let admin_token = serving["adminToken"].as_str().expect("the serving line has the admin token").to_owned();
    let audit = &serving["audit"];
    let _witnesses: Vec<KillOnDrop> = witnesses
        .iter()
        .map(|(name, key, _)| {
            let state = dir.path().join(format!("{name}.state.json"));
            let child = Command::new(env!("CARGO_BIN_EXE_urna"))
                .args(["witness", "--interval", "1", "--name", name, "--log"])
                .arg(audit["url"].as_str().expect("audit URL"))
                .arg("--origin")
                .arg(audit["origin"].as_str().expect("audit origin"))
                .arg("--log-key")
                .arg(audit["publicKey"].as_str().expect("audit key"))
                .arg("--key")
                .arg(key)
                .arg("--state")
                .arg(&state)
                .stdout(Stdio::null())
                .stderr(Stdio::inherit())
                .spawn()
                .expect("start urna witness");
            KillOnDrop(child)
        })
        .collect();

    // The app is embedded and served at / with its assets.
    let info: Value = {
        let out = Command::new("node")
            .args(["-e", "fetch(process.argv[1]).then(r => r.text()).then(t => process.stdout.write(t))"])
            .arg(format!("{url}v1/election"))
            .output()
            .expect("node fetch");
        serde_json::from_slice(&out.stdout).expect("election info")
    };
    assert!(info["auditLog"]["publicKey"].is_string(), "the election publishes the audit log key: {info}");
    assert_eq!(info["witnesses"]["quorum"], 2, "the election publishes its witnesses: {info}");
    assert_eq!(info["witnesses"]["witnesses"][1]["publicKey"].as_str(), Some(witnesses[1].2.as_str()));

    let out_dir = dir.path().join("e2e");
    std::fs::create_dir_all(&out_dir).expect("out dir");
    let started = Instant::now();
    let mut e2e = Command::new("node");
    e2e.arg(Path::new(WEB).join("app/e2e/voter.mjs"))
        .current_dir(Path::new(WEB).join("app"))
        .env("URNA_APP_URL", &url)
        .env("URNA_VOTERS", voters.to_string())
        .env("URNA_ADMIN_TOKEN", &admin_token)
        .env("OUT_DIR", &out_dir)
        .env("CHROMIUM", &chromium)
        .stderr(Stdio::inherit());
    // URNA_SCREENSHOTS=docs/img/voter-app (relative to the repository) retakes the documentation's screenshots.
    if let Ok(shots) = std::env::var("URNA_SCREENSHOTS") {
        e2e.env("SCREENSHOTS", Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).join(shots));
    }
    let e2e = e2e.output().expect("run the browser test");
    eprintln!("browser test took {:.1} s", started.elapsed().as_secs_f64());
    assert!(e2e.status.success(), "browser test failed: {}", String::from_utf8_lossy(&e2e.stdout));
    let summary: Value = serde_json::from_slice(&e2e.stdout).expect("browser summary");
    eprintln!("browser timings: {}", summary["timings"]);
    assert_eq!(summary["afterClose"]["ballotsRecorded"], 3, "the ballot after close was not recorded: {summary}");
    assert_eq!(summary["afterClose"]["rightsIssued"], 3, "nor its voting right: {summary}");

    // The challenged ballot, checked by the Rust implementation from the file the app offered.
    let manifest = dir.path().join("manifest.json");
    let public = dir.path().join("public.json");
    std::fs::write(&manifest, info["manifest"].to_string()).expect("write manifest");
    std::fs::write(&public, info["publicKey"].to_string()).expect("write key");
    let challenge = summary["challengeFile"].as_str().expect("challenge file");
    let checked = urna(&[
        "verify",
        "challenge",
        challenge,
        "--manifest",
        manifest.to_str().expect("utf-8"),
        "--public-key",
        public.to_str().expect("utf-8"),
    ]);
    assert!(checked.status.success(), "urna verify challenge: {}", String::from_utf8_lossy(&checked.stderr));

    // Close (SIGINT), then decryption and verification run; the results count exactly the browser's ballots.
    let mut election = election;
    let pid = election.0.id().to_string();
    let status = Command::new("kill").args(["-INT", &pid]).status().expect("kill -INT");
    assert!(status.success());
    let mut rest = String::new();
    let deadline = Instant::now() + Duration::from_secs(600);
    stdout.read_to_string(&mut rest).expect("read the summary");
    let exit = election.0.wait().expect("wait for urna local");
    assert!(Instant::now() < deadline);
    assert!(exit.success(), "urna local failed after close");
    let results: Value = serde_json::from_str(&rest).unwrap_or_else(|e| panic!("results {rest:?}: {e}"));
    assert_eq!(results["ballots"]["cast"], 0, "no simulated ballots");
    // The three browser ballots cast while open; the fourth voter's, refused after close, is not among them.
    assert_eq!(results["verification"]["ballots"], 3, "the three browser ballots: {}", results["verification"]);
    let president = counts(&results, "president");
    let mut expected = vec![("mc".to_owned(), 1), ("null".to_owned(), 1), ("pan+pri".to_owned(), 1)];
    expected.sort();
    let mut got = president.clone();
    got.sort();
    assert_eq!(got, expected, "president: {president:?}");
    // The write-in of voter A's senate contest is counted as a write-in.
    let a = &summary["ballots"][0];
    let senate = a["chosen"]
        .as_object()
        .and_then(|c| c.keys().find(|k| k.starts_with("senate-")).cloned())
        .expect("voter A's senate contest");
    assert!(
        counts(&results, &senate).contains(&("write-in".to_owned(), 1)),
        "{senate}: {:?}",
        counts(&results, &senate)
    );

    let verified = urna(&["verify", "record", record.to_str().expect("utf-8")]);
    assert!(verified.status.success(), "urna verify record: {}", String::from_utf8_lossy(&verified.stderr));
}
