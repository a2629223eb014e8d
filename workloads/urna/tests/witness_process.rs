//! `urna witness` as a real process against real audit logs on 127.0.0.1: it cosigns a log that grows
//! consistently, the log keeps only its listed witnesses' cosignatures, and a second history signed with the
//! same key (a fork shown to the witness) is caught, kept as evidence, and never cosigned; the witness then
//! refuses that log for good. The record verifier's witness quorum is checked in `local_record.rs`.

mod support;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use http::Method;
use serde_json::{Value, json};
use urna_audit::witness::{TrustedWitness, WitnessState};
use urna_audit::{LogConfig, LogKey};
use urna_tally::TallyClient;

const ORIGIN: &str = "urna.test/witnessed";
const LOG_SEED: [u8; 32] = [7; 32];

/// A log signed by the one key under test, on a fresh data directory, keeping only `witnesses`' cosignatures.
async fn log(dir: &Path, witnesses: Vec<TrustedWitness>) -> String {
    let mut config = LogConfig::new(ORIGIN);
    config.checkpoint_interval = Duration::from_secs(1);
    config.witnesses = witnesses;
    support::audit_log_signed_by(&dir.join("audit.redb"), LogKey::from_seed(&LOG_SEED), config).await
}

async fn call(url: &str, method: Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let client = TallyClient::new(url).with_token(urna_auth::Token::new(support::INTERNAL_TOKEN).expect("test setup"));
    let (status, bytes) = client.raw(method, path, body.map(|b| b.to_string().into_bytes())).await.expect("test setup");
    (status.as_u16(), serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

/// Appends events with these details and waits (bounded) for a checkpoint covering them.
async fn append(url: &str, details: &[&str]) -> Value {
    let entries: Vec<Value> = details
        .iter()
        .map(|d| json!({"type": "event", "kind": "open", "digest": hex::encode([1u8; 32]), "detail": d}))
        .collect();
    let (status, v) = call(url, Method::POST, "/v1/entries", Some(json!({ "entries": entries }))).await;
    assert_eq!(status, 200, "{v}");
    let size =
        v["indices"].as_array().expect("test setup").last().expect("test setup").as_u64().expect("test setup") + 1;
    for _ in 0..100 {
        let (_, cp) = call(url, Method::GET, "/v1/checkpoint", None).await;
        if cp["size"].as_u64() == Some(size) {
            return cp;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("no checkpoint of size {size} within 10 s");
}

/// Runs `urna witness --once` against `url`; returns its exit code, stdout and stderr.
fn witness(dir: &Path, url: &str, key: &str) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_urna"))
        .args(["witness", "--once", "--log", url, "--origin", ORIGIN, "--log-key", key, "--name", "witness.test/w1"])
        .arg("--key")
        .arg(dir.join("w1.key"))
        .arg("--state")
        .arg(dir.join("w1.state.json"))
        .output()
        .expect("test setup");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code().unwrap_or(-1), text(&out.stdout), text(&out.stderr))
}

fn cosigners(cp: &Value) -> Vec<String> {
    cp["cosignatures"]
        .as_array()
        .expect("test setup")
        .iter()
        .map(|c| c["name"].as_str().expect("test setup").to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_witness_cosigns_a_consistent_log_and_catches_a_fork() {
    let dir = tempfile::tempdir().expect("test setup");
    let out = Command::new(env!("CARGO_BIN_EXE_urna"))
        .args(["witness", "keygen", "--out"])
        .arg(dir.path().join("w1.key"))
        .output()
        .expect("test setup");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let w1_key =
        String::from_utf8_lossy(&out.stdout).trim().strip_prefix("public key: ").expect("test setup").to_owned();
    let mut w1 = TrustedWitness { name: "witness.test/w1".into(), public_key: [0; 32] };
    hex::decode_to_slice(&w1_key, &mut w1.public_key).expect("test setup");
    let log_key = hex::encode(LogKey::from_seed(&LOG_SEED).public_key());

    std::fs::create_dir(dir.path().join("a")).expect("test setup");
    let a = log(&dir.path().join("a"), vec![w1.clone()]).await;
    append(&a, &["one", "two", "three"]).await;
    let (code, stdout, stderr) = tokio::task::block_in_place(|| witness(dir.path(), &a, &log_key));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("cosigned checkpoint of size 3"), "{stdout}");
    let (_, cp) = call(&a, Method::GET, "/v1/checkpoint", None).await;
    assert_eq!(cosigners(&cp), ["witness.test/w1"]);

    // The log grows: the witness checks the consistency proof from 3 to 5 and cosigns again; nothing new,
    // nothing done.
    append(&a, &["four", "five"]).await;
    let (code, stdout, stderr) = tokio::task::block_in_place(|| witness(dir.path(), &a, &log_key));
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("cosigned checkpoint of size 5"), "{stdout}");
    let (code, stdout, _) = tokio::task::block_in_place(|| witness(dir.path(), &a, &log_key));
    assert_eq!((code, stdout.as_str()), (0, ""));
    let state: WitnessState =
        WitnessState::from_json(&std::fs::read_to_string(dir.path().join("w1.state.json")).expect("test setup"))
            .expect("test setup");
    assert_eq!(state.last_size(), Some(5));

    // A stranger's valid cosignature is refused: this log keeps only its listed witnesses'.
    let stranger = LogKey::from_seed(&[9; 32]);
    let (_, cp) = call(&a, Method::GET, "/v1/checkpoint", None).await;
    let body = cp["body"].as_str().expect("test setup");
    let (status, v) = call(
        &a,
        Method::POST,
        "/v1/witness/cosign",
        Some(json!({
            "name": "stranger", "public_key": hex::encode(stranger.public_key()), "checkpoint": body,
            "signature": hex::encode(stranger.sign(body.as_bytes())),
        })),
    )
    .await;
    assert_eq!((status, v["error"]["code"].as_str()), (403, Some("unknown_witness")), "{v}");

    // The same key signs another history (a fork shown to this witness): caught, kept, not cosigned.
    std::fs::create_dir(dir.path().join("b")).expect("test setup");
    let b = log(&dir.path().join("b"), vec![]).await;
    append(&b, &["one", "two", "THREE", "four", "five", "six"]).await;
    let (code, _, stderr) = tokio::task::block_in_place(|| witness(dir.path(), &b, &log_key));
    assert_eq!(code, 3, "{stderr}");
    assert!(stderr.contains("FORK") && stderr.contains("no consistency proof"), "{stderr}");
    let (_, cp) = call(&b, Method::GET, "/v1/checkpoint", None).await;
    assert!(cosigners(&cp).is_empty());
    let state: WitnessState =
        WitnessState::from_json(&std::fs::read_to_string(dir.path().join("w1.state.json")).expect("test setup"))
            .expect("test setup");
    let fork = state.fork.expect("evidence kept");
    assert_eq!((fork.earlier.size, fork.later.size), (5, 6));

    // And never again, even for the history it cosigned before.
    append(&a, &["six"]).await;
    let (code, _, stderr) = tokio::task::block_in_place(|| witness(dir.path(), &a, &log_key));
    assert_ne!(code, 0);
    assert!(stderr.contains("cosigns nothing more"), "{stderr}");
}
