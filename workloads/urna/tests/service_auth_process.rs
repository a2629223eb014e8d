//! Service-to-service authentication, as an attacker inside the cluster network would meet it: the real
//! `urna tally` and `urna audit` binaries on loopback, started with the election's internal token from a
//! file. A genuine contest injected without the token, a seal without it and an audit entry without it are
//! each refused with 401 and change nothing; the same requests with the token succeed; the public reads stay
//! open. And no server starts with its writes open unless asked for by name, on loopback only.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

mod support;

use std::path::Path;
use std::process::Command;

use urna_ballot::{BallotCodec, Contest, ElectionManifest, Selection};
use urna_crypto::paillier::{KeySize, RandomnessPool, generate_keypair};
use urna_tally::{ItemStatus, SubmitItem, TallyClient};
use urna_testkit::Request;

use support::{INTERNAL_TOKEN, http, spawn_listening};

const URNA: &str = env!("CARGO_BIN_EXE_urna");

fn manifest() -> ElectionManifest {
    let mut m = ElectionManifest::single_district(
        "auth-2026",
        "town",
        vec![Contest::single_choice("mayor", &["town"], &["a", "b"], false)],
    );
    m.slot_bits = 16;
    m
}

fn path(p: &Path) -> String {
    p.display().to_string()
}

/// Writes the manifest and a test-size public key into `dir`; returns the tally arguments (without the
/// token flags) and the codec to encrypt with.
fn tally_setup(dir: &Path) -> (Vec<String>, BallotCodec) {
    let (pk, _) = generate_keypair(KeySize::InsecureTest1024, &mut urna_crypto::os_rng()).unwrap();
    std::fs::write(dir.join("manifest.json"), serde_json::to_vec(&manifest()).unwrap()).unwrap();
    std::fs::write(dir.join("public.json"), serde_json::to_vec(&pk).unwrap()).unwrap();
    let args = [
        "tally",
        "--shard",
        "town-remote",
        "--districts",
        "town",
        "--modality",
        "remote",
        "--manifest",
        &path(&dir.join("manifest.json")),
        "--public-key",
        &path(&dir.join("public.json")),
        "--data",
        &path(&dir.join("tally")),
    ]
    .map(str::to_owned)
    .to_vec();
    (args, BallotCodec::new(manifest(), pk).unwrap())
}

/// A genuine, well-formed contest of town's ballot: the shard would count it if it came with the token.
fn genuine_contest(codec: &BallotCodec) -> Vec<SubmitItem> {
    let pool = RandomnessPool::new(codec.public_key().clone());
    let ballot = codec
        .encrypt_ballot(
            "town",
            &[("mayor", Selection::Single { choice: 1, write_in: None })],
            &pool,
            &mut urna_crypto::os_rng(),
        )
        .unwrap();
    let anon = hex::encode(ballot.hash());
    ballot
        .contests
        .iter()
        .map(|c| SubmitItem {
            anon_id: anon.clone(),
            ballot_style: "town".into(),
            contest: c.clone(),
            election_id: None,
            modality: None,
        })
        .collect()
}

fn addr(url: &str) -> &str {
    url.strip_prefix("http://").unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_contest_injected_or_a_seal_without_the_internal_token_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let (mut args, codec) = tally_setup(dir.path());
    let token_file = support::internal_token_file(dir.path());
    args.extend(["--listen", "127.0.0.1:0", "--internal-token-file", &token_file].map(str::to_owned));
    let (_shard, url) = spawn_listening(&args).await;
    let items = genuine_contest(&codec);
    let body = serde_json::to_vec(&serde_json::json!({ "items": items })).unwrap();

    let anonymous = TallyClient::new(url.as_str());
    let impostor = TallyClient::new(url.as_str()).with_token(urna_auth::Token::new("guessed-token").unwrap());
    for client in [&anonymous, &impostor] {
        let (status, bytes) = client.raw(http::Method::POST, "/v1/contests", Some(body.clone())).await.unwrap();
        assert_eq!(status, 401, "an injected contest");
        let err: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(err["error"]["code"], "unauthorized", "{err}");
        let (status, _) = client.raw(http::Method::POST, "/v1/seal", None).await.unwrap();
        assert_eq!(status, 401, "a seal");
    }
    // Nothing was recorded and the shard still accepts; the public reads answer anyone.
    let status = anonymous.status().await.unwrap();
    assert_eq!((status.accepted, status.sealed), (0, false));
    for path in ["/v1/status", "/v1/records", "/v1/totals?provisional=true", "/healthz", "/readyz", "/metrics"] {
        assert_eq!(http(addr(&url), "GET", path, None).await.0, 200, "{path}");
    }

    // The vote service's requests, with the token: the contest counts once and the seal ends voting.
    let member = TallyClient::new(url.as_str()).with_token(urna_auth::Token::new(INTERNAL_TOKEN).unwrap());
    let r = member.submit(&items).await.unwrap();
    assert!(r.items.iter().all(|i| i.status == ItemStatus::Accepted), "{:?}", r.items);
    let sealed = member.seal().await.unwrap();
    assert!(sealed.sealed);
    // After the seal, the totals are public.
    assert_eq!(http(addr(&url), "GET", "/v1/totals", None).await.0, 200);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_audit_entry_or_close_without_the_internal_token_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let token_file = support::internal_token_file(dir.path());
    let data = path(&dir.path().join("audit"));
    let key = path(&dir.path().join("audit.key"));
    let mut command = Command::new(URNA);
    command.args(["audit", "--data", &data, "--key", &key, "--create-key", "--listen", "127.0.0.1:0"]);
    command.args(["--batch-size", "1", "--internal-token-file", &token_file]);
    let (mut child, listening) = spawn_plain_listening(command).await;
    let a = listening.as_str();
    let entry = serde_json::json!({ "entries": [{ "type": "ballot", "anon_id": "ab".repeat(32) }] }).to_string();

    for token in [None, Some("guessed-token")] {
        let (status, body) = post(a, "/v1/entries", token, &entry).await;
        assert_eq!(status, 401, "an audit entry with {token:?}: {body}");
        assert!(body.contains("unauthorized"), "{body}");
        assert_eq!(post(a, "/v1/close", token, "{}").await.0, 401, "a close with {token:?}");
    }
    // Nothing was appended: the log has no entry 0 to read.
    let (status, body) = http(a, "GET", "/v1/entries?start=0&end=1", None).await;
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("out_of_range"), "{body}");

    // With the token, the entry is appended.
    let (status, body) = post(a, "/v1/entries", Some(INTERNAL_TOKEN), &entry).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(http(a, "GET", "/v1/entries?start=0&end=1", None).await.0, 200);
    assert_eq!(http(a, "GET", "/v1/checkpoint", None).await.0, 200);
    child.0.kill().unwrap();
}

/// `urna audit` announces itself with `listening on http://ADDR` (after `public key: ...` when it creates
/// its key), not JSON.
async fn spawn_plain_listening(mut command: Command) -> (support::Killed, String) {
    use std::io::{BufRead, BufReader};
    use std::process::Stdio;
    let mut child = support::Killed(command.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap());
    let stdout = child.0.stdout.take().unwrap();
    let addr = tokio::task::spawn_blocking(move || {
        let mut lines = BufReader::new(stdout).lines();
        loop {
            let line = lines.next().expect("urna audit ended before listening").unwrap();
            if let Some(addr) = line.trim().strip_prefix("listening on http://") {
                return addr.to_owned();
            }
        }
    })
    .await
    .unwrap();
    (child, addr)
}

/// A bare HTTP/1.1 POST with a JSON body and, when given, a bearer token.
async fn post(addr: &str, path: &str, token: Option<&str>, body: &str) -> (u16, String) {
    let r = Request::post(path)
        .bearer(token)
        .header("Content-Type", "application/json")
        .body(body)
        .timeout(std::time::Duration::from_secs(30))
        .send_async(addr)
        .await
        .unwrap();
    (r.status, r.text())
}

/// Runs `urna ARGS` to completion; returns whether it succeeded and its stderr.
fn run(args: &[String]) -> (bool, String) {
    let out = Command::new(URNA).args(args).env_remove("URNA_INTERNAL_TOKEN").output().unwrap();
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn no_server_starts_with_its_writes_open_unless_asked_on_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let (tally, _) = tally_setup(dir.path());
    let with = |base: &[String], extra: &[&str]| {
        let mut v = base.to_vec();
        v.extend(extra.iter().map(|s| (*s).to_owned()));
        v
    };
    let audit: Vec<String> = ["audit", "--data", &path(&dir.path().join("audit")), "--key"]
        .iter()
        .map(|s| (*s).to_owned())
        .chain([path(&dir.path().join("audit.key")), "--create-key".into()])
        .collect();
    for base in [&tally, &audit] {
        let (ok, err) = run(&with(base, &["--listen", "127.0.0.1:0"]));
        assert!(!ok && err.contains("--internal-token-file"), "{err}");
        let (ok, err) = run(&with(base, &["--listen", "0.0.0.0:0", "--insecure-no-auth"]));
        assert!(!ok && err.contains("loopback"), "{err}");
    }
    // The vote service presents the token upstream: without one it does not start either.
    let vote = [
        "vote",
        "--manifest",
        &path(&dir.path().join("manifest.json")),
        "--public-key",
        &path(&dir.path().join("public.json")),
        "--signing-key",
        &path(&dir.path().join("absent.pem")),
        "--data",
        &path(&dir.path().join("vote")),
        "--shard",
        "*:remote=http://127.0.0.1:9",
        "--audit",
        "http://127.0.0.1:9",
        "--listen",
        "127.0.0.1:0",
    ]
    .map(str::to_owned);
    let (ok, err) = run(&vote);
    assert!(!ok && err.contains("--internal-token-file"), "{err}");
}
