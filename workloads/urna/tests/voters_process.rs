//! `urna voters census` and `urna voters run` as processes against a real `urna vote` process, with a real
//! tally shard and audit log on loopback: the path the e2e suite's Job takes in the cluster (cast, close,
//! export, 3-of-5 decryption with the committed fixture ceremony, verification).

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

mod support;

use std::path::Path;
use std::process::Command;

use urna_crypto::blind::{BlindKeySize, BlindSigningKey};
use urna_crypto::threshold::ThresholdPublicKey;

use support::spawn_listening;

const URNA: &str = env!("CARGO_BIN_EXE_urna");
const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../crypto/tests/fixtures/ceremony-3072");
const EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../examples/university");

fn urna(args: &[&str]) -> std::process::Output {
    Command::new(URNA)
        .args(args)
        .env("URNA_TRUSTEE_1_PASSPHRASE", "trustee-1")
        .env("URNA_TRUSTEE_2_PASSPHRASE", "trustee-2")
        .env("URNA_TRUSTEE_3_PASSPHRASE", "trustee-3")
        .output()
        .unwrap()
}

fn path(p: &Path) -> &str {
    p.to_str().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn voters_run_drives_a_running_election_to_a_verified_record() {
    let dir = tempfile::tempdir().unwrap();
    let set = urna_operator::examples::load_dir(EXAMPLE).unwrap();
    let manifest = set.elections[0].manifest();
    let public =
        ThresholdPublicKey::from_json(&std::fs::read_to_string(format!("{FIXTURE}/public.json")).unwrap()).unwrap();

    // The census, as the e2e script makes it.
    let voters_dir = dir.path().join("voters");
    let out = urna(&["voters", "census", "--count", "3", "--districts", "uji", "--out", path(&voters_dir)]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));

    // The shard and the audit log, in this process.
    let shard_name = "uji-claustre-2027-remote";
    let shard_url = support::shard(
        &dir.path().join("shard"),
        shard_name,
        &["uji"],
        urna_tally::Modality::Remote,
        &manifest,
        public.paillier(),
    )
    .await;
    let audit_url = support::audit_log(&dir.path().join("audit.redb"), "audit.test/voters").await;

    // `urna vote`, the real binary.
    let blind = BlindSigningKey::generate_safe(BlindKeySize::InsecureTest1024, &mut urna_crypto::os_rng()).unwrap();
    let write = |name: &str, text: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        p
    };
    let manifest_path = write("manifest.json", &serde_json::to_string(&manifest).unwrap());
    let signing = write("signing.pem", &blind.to_pkcs8_pem().unwrap());
    let token = write("admin.token", "close-it\n");
    let data = dir.path().join("data");
    let census = voters_dir.join("census.csv");
    let internal = support::internal_token_file(dir.path());
    let vote_args = [
        "vote",
        "--manifest",
        path(&manifest_path),
        "--public-key",
        &format!("{FIXTURE}/public.json"),
        "--signing-key",
        path(&signing),
        "--data",
        path(&data),
        "--census",
        path(&census),
        "--listen",
        "127.0.0.1:0",
        "--shard",
        &format!("uji:remote={shard_url}"),
        "--audit",
        &audit_url,
        "--admin-token-file",
        path(&token),
        "--internal-token-file",
        &internal,
    ];
    let (vote, vote_url) = spawn_listening(vote_args).await;

    let record = dir.path().join("record");
    let voters_file = voters_dir.join("voters.csv");
    let shard_arg = format!("{shard_name}={shard_url}");
    let args = [
        "voters",
        "run",
        "--vote",
        &vote_url,
        "--voters",
        path(&voters_file),
        "--admin-token-file",
        path(&token),
        "--internal-token-file",
        &internal,
        "--shard",
        &shard_arg,
        "--audit",
        &audit_url,
        "--ceremony",
        FIXTURE,
        "--record",
        path(&record),
    ]
    .map(str::to_owned);
    let out = tokio::task::spawn_blocking(move || urna(&args.each_ref().map(String::as_str))).await.unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    let summary: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap()).unwrap();
    assert_eq!(summary["cast"], 3);
    assert_eq!(summary["recorded"], 3);
    assert_eq!(summary["trustees"], serde_json::json!([1, 2, 3]));
    // The record verifies again from its files alone, with the standalone verifier.
    let out = urna(&["verify", "record", path(&record)]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));

    // `urna record export --idempotent`, as the operator's export Job runs it (a pod retried after a crash):
    // a staging directory left by a killed attempt is replaced, the record appears whole under its name, and
    // a second run finds it complete and leaves it alone.
    let exported = dir.path().join("exported");
    let partial = dir.path().join("exported.partial");
    std::fs::create_dir_all(partial.join("shards")).unwrap();
    std::fs::write(partial.join("ballots.jsonl"), "half a record\n").unwrap();
    let vote_arg = format!("remote={vote_url}");
    let export = [
        "record",
        "export",
        "--vote",
        &vote_arg,
        "--shard",
        &shard_arg,
        "--audit",
        &audit_url,
        "--ceremony",
        FIXTURE,
        "--out",
        path(&exported),
        "--idempotent",
    ]
    .map(str::to_owned);
    let run_export = |args: [String; 13]| async move {
        tokio::task::spawn_blocking(move || urna(&args.each_ref().map(String::as_str))).await.unwrap()
    };
    let out = run_export(export.clone()).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(!partial.exists(), "the staging directory became the record");
    assert!(exported.join("record.json").exists());
    let ballots = std::fs::read(exported.join("ballots.jsonl")).unwrap();
    assert_eq!(ballots, std::fs::read(record.join("ballots.jsonl")).unwrap(), "the same ballots as voters run's");
    let index = std::fs::read(exported.join("record.json")).unwrap();
    let out = run_export(export).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("alreadyExported"));
    assert_eq!(std::fs::read(exported.join("record.json")).unwrap(), index, "a complete record is left alone");
    drop(vote);
}
