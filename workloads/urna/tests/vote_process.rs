//! `urna vote` as a process: the real binary serving on loopback, with a real tally shard and audit log
//! in the test process, driven by the simulated voter client; and `urna vote import-census` reporting a bad
//! census line.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

mod support;

use std::path::Path;
use std::process::Command;

use urna_ballot::{Contest, ElectionManifest};
use urna_crypto::blind::{BlindKeySize, BlindSigningKey};
use urna_crypto::paillier::{KeySize, generate_keypair};
use urna_vote::client::{Election, Voter, VoterClient, cast};
use urna_vote::credential::{hash_credential, insecure_fast_params};

use support::{Killed, spawn_listening};

const URNA: &str = env!("CARGO_BIN_EXE_urna");

fn manifest() -> ElectionManifest {
    let mut m = ElectionManifest::single_district(
        "proc-2026",
        "town",
        vec![Contest::single_choice("mayor", &["town"], &["a", "b"], false)],
    );
    m.slot_bits = 16;
    m
}

fn voter(i: usize) -> Voter {
    Voter { voter_id: format!("{:064x}", 1000 + i), credential: format!("secret-{i}") }
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

/// A vote service's surroundings: keys, manifest, census of `voters`, and a real shard and audit log served
/// from this process.
struct Setup {
    /// Holds the keys, census and every store until the test ends.
    _dir: tempfile::TempDir,
    args: Vec<String>,
    shard_url: String,
}

async fn setup(voters: usize) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = urna_crypto::os_rng();
    let (pk, _sk) = generate_keypair(KeySize::InsecureTest1024, &mut rng).unwrap();
    let blind = BlindSigningKey::generate_safe(BlindKeySize::InsecureTest1024, &mut rng).unwrap();
    let manifest = manifest();
    let manifest_path = write(dir.path(), "manifest.json", &serde_json::to_string(&manifest).unwrap());
    let pk_path = write(dir.path(), "public.json", &serde_json::to_string(&pk).unwrap());
    let sk_path = write(dir.path(), "signing.pem", &blind.to_pkcs8_pem().unwrap());
    let token_path = write(dir.path(), "admin.token", "let-me-close\n");
    let mut census = String::from("voterIdHash,district,credentialHash\n");
    for i in 0..voters {
        let v = voter(i);
        let h = hash_credential(&v.credential, Some(insecure_fast_params()), &mut rng).unwrap();
        census.push_str(&format!("{},town,{}\n", v.voter_id, urna_vote::census::csv_field(&h)));
    }
    let census_path = write(dir.path(), "census.csv", &census);

    // The real shard and audit log, in this process.
    let shard_url = support::shard(
        &dir.path().join("shard"),
        "town-remote",
        &["town"],
        urna_tally::Modality::Remote,
        &manifest,
        &pk,
    )
    .await;
    let audit_url = support::audit_log(&dir.path().join("audit.redb"), "audit.test/proc").await;

    let data = dir.path().join("data").display().to_string();
    let args = [
        "vote",
        "--manifest",
        &manifest_path,
        "--public-key",
        &pk_path,
        "--signing-key",
        &sk_path,
        "--data",
        &data,
        "--census",
        &census_path,
        "--listen",
        "127.0.0.1:0",
        "--shard",
        &format!("town:remote={shard_url}"),
        "--audit",
        &audit_url,
        "--admin-token-file",
        &token_path,
        "--rate-limit",
        "0",
    ]
    .map(str::to_owned)
    .to_vec();
    Setup { _dir: dir, args, shard_url }
}

/// Starts `urna vote` and returns it with its base URL.
async fn spawn_vote(setup: &Setup) -> (Killed, String) {
    spawn_listening(&setup.args).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn urna_vote_serves_a_remote_election() {
    let setup = setup(3).await;
    let (_child, url) = spawn_vote(&setup).await;
    let shard_url = setup.shard_url.clone();
    let client = VoterClient::new(&url);
    let election = Election::fetch(&client).await.unwrap();
    for i in 0..2 {
        let c = cast(&client, &election, &voter(i), None).await.unwrap();
        assert_eq!(c.receipt.anon_id, c.anon_id);
    }
    // Second vote of voter 0: refused at the right.
    assert_eq!(cast(&client, &election, &voter(0), None).await.unwrap_err().code(), Some("right_already_issued"));
    assert_eq!(urna_tally::TallyClient::new(shard_url).status().await.unwrap().accepted, 2);

    // Close through the admin endpoint; voter 2 is then refused.
    let (status, _) = post(&format!("{url}/v1/close"), "let-me-close").await;
    assert_eq!(status, 200);
    assert_eq!(cast(&client, &election, &voter(2), None).await.unwrap_err().code(), Some("election_closed"));
}

/// A bare HTTP/1.1 POST with a bearer token (the binary under test speaks plain HTTP).
async fn post(url: &str, token: &str) -> (u16, String) {
    use std::io::{Read, Write};
    let (url, token) = (url.to_owned(), token.to_owned());
    tokio::task::spawn_blocking(move || {
        let rest = url.strip_prefix("http://").unwrap();
        let (host, path) = rest.split_at(rest.find('/').unwrap());
        let mut s = std::net::TcpStream::connect(host).unwrap();
        let req = format!(
            "POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
        );
        s.write_all(req.as_bytes()).unwrap();
        let mut out = String::new();
        s.read_to_string(&mut out).unwrap();
        (out.split_whitespace().nth(1).and_then(|c| c.parse().ok()).unwrap_or(0), out)
    })
    .await
    .unwrap()
}

#[test]
fn import_census_names_the_bad_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = urna_crypto::os_rng();
    let (pk, _) = generate_keypair(KeySize::InsecureTest512, &mut rng).unwrap();
    let blind = BlindSigningKey::generate_safe(BlindKeySize::InsecureTest1024, &mut rng).unwrap();
    let manifest_path = write(dir.path(), "manifest.json", &serde_json::to_string(&manifest()).unwrap());
    let pk_path = write(dir.path(), "public.json", &serde_json::to_string(&pk).unwrap());
    let sk_path = write(dir.path(), "signing.pem", &blind.to_pkcs8_pem().unwrap());
    let h = hash_credential("x", Some(insecure_fast_params()), &mut rng).unwrap();
    let census = format!(
        "voterIdHash,district,credentialHash\n{:064x},town,{}\n{:064x},nowhere,{}\n",
        1,
        urna_vote::census::csv_field(&h),
        2,
        urna_vote::census::csv_field(&h)
    );
    let census_path = write(dir.path(), "census.csv", &census);
    let data = dir.path().join("data").display().to_string();
    let out = Command::new(URNA)
        .args(["vote", "import-census", "--manifest", &manifest_path, "--public-key", &pk_path])
        .args(["--signing-key", &sk_path, "--data", &data, "--census", &census_path])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("census line 3, field district"), "{stderr}");
    // Fixed, the same command succeeds, and again (idempotent).
    std::fs::write(&census_path, census.replace("nowhere", "town")).unwrap();
    for _ in 0..2 {
        let out = Command::new(URNA)
            .args(["vote", "import-census", "--manifest", &manifest_path, "--public-key", &pk_path])
            .args(["--signing-key", &sk_path, "--data", &data, "--census", &census_path])
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_loses_no_acknowledged_ballot_and_counts_none_twice() {
    const VOTERS: usize = 12;
    let setup = setup(VOTERS).await;
    let (mut child, url) = spawn_vote(&setup).await;
    let client = VoterClient::new(&url);
    let election = Election::fetch(&client).await.unwrap();

    // Every voter holds a signed ballot package before the crash (the right is durable; the package is the voter's).
    let mut packages = Vec::new();
    for i in 0..VOTERS {
        let session = client.authenticate(&voter(i).voter_id, &voter(i).credential).await.unwrap();
        let selections =
            urna_vote::client::random_selections(&election.codec, &session.ballot_style, &mut urna_crypto::os_rng())
                .unwrap();
        let ballot = election.encrypt(&session.ballot_style, selections).await.unwrap();
        packages.push(
            urna_vote::client::sign_ballot(&client, &election, &voter(i).voter_id, &session.token, ballot)
                .await
                .unwrap(),
        );
    }

    // Submit all at once and kill -9 the service as soon as a few receipts came back.
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    for (i, p) in packages.iter().enumerate() {
        let (client, p, tx) = (client.clone(), p.clone(), tx.clone());
        tokio::spawn(async move {
            let _ = tx.send((i, client.submit(&p).await));
        });
    }
    drop(tx);
    let mut acknowledged = Vec::new();
    let mut answered = 0;
    while let Some((i, r)) = rx.recv().await {
        answered += 1;
        if let Ok(receipt) = r {
            acknowledged.push((i, receipt));
        }
        if acknowledged.len() >= 3 || answered == VOTERS {
            break;
        }
    }
    child.0.kill().unwrap(); // SIGKILL
    child.0.wait().unwrap();
    while let Some((i, r)) = rx.recv().await {
        if let Ok(receipt) = r {
            acknowledged.push((i, receipt));
        }
    }
    assert!(!acknowledged.is_empty());

    // Restart on the same data; every voter resubmits its package (idempotent for those already recorded).
    let (_child, url) = spawn_vote(&setup).await;
    let client = VoterClient::new(&url);
    let mut receipts = Vec::new();
    for p in &packages {
        receipts.push(client.submit(p).await.unwrap());
    }
    for (i, before) in &acknowledged {
        assert_eq!(receipts[*i].anon_id, before.anon_id);
        assert_eq!(receipts[*i].log_index, before.log_index, "an acknowledged ballot moved in the log");
    }
    // Exactly one contest per ballot in the shard and one leaf per ballot in the log.
    let status = urna_tally::TallyClient::new(setup.shard_url.as_str()).status().await.unwrap();
    assert_eq!(status.accepted, VOTERS as u64);
    let mut indices: Vec<u64> = receipts.iter().map(|r| r.log_index).collect();
    indices.sort_unstable();
    indices.dedup();
    assert_eq!(indices.len(), VOTERS);
    let vote_status = client.status(0).await.unwrap();
    assert_eq!(vote_status.ballots_recorded, VOTERS as u64);
    assert_eq!(vote_status.rights_issued, VOTERS as u64);
}
