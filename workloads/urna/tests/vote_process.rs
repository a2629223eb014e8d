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
use urna_testkit::Request;
use urna_testkit::http::split_url;
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
    audit_url: String,
}

async fn setup(voters: usize) -> Setup {
    setup_with(voters, None).await
}

/// [`setup`], with the audit log's batch wait (`None`: the support's short one).
async fn setup_with(voters: usize, audit_batch_wait: Option<std::time::Duration>) -> Setup {
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
    let audit_url = match audit_batch_wait {
        None => support::audit_log(&dir.path().join("audit.redb"), "audit.test/proc").await,
        Some(wait) => {
            let mut config = urna_audit::LogConfig::new("audit.test/proc");
            config.batch_size = 1024;
            config.batch_wait = wait;
            config.checkpoint_interval = std::time::Duration::from_millis(200);
            support::audit_log_with(&dir.path().join("audit.redb"), config).await
        }
    };

    let data = dir.path().join("data").display().to_string();
    let internal = support::internal_token_file(dir.path());
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
        "--internal-token-file",
        &internal,
    ]
    .map(str::to_owned)
    .to_vec();
    Setup { _dir: dir, args, shard_url, audit_url }
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
    let (addr, path) = split_url(url).unwrap();
    let r = Request::post(path).bearer(token).send_async(addr).await.unwrap();
    (r.status, r.text())
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

/// How one submission under load ended, as a client sees it.
#[derive(Debug)]
enum Outcome {
    /// 200 or 201: the receipt's AnonID and leaf index.
    Acknowledged(String, u64),
    /// 503 with Retry-After, or no answer at all (the listener closed, the connection reset): the client
    /// must send it again; nothing says it was counted.
    // Why it was refused: read through Debug in the assertions' messages, which dead-code analysis ignores.
    Retryable(#[allow(dead_code)] String),
}

/// One `POST /v1/ballots` on a fresh connection, judged: anything but an acknowledgement or a retryable
/// refusal fails the test.
async fn submit_raw(addr: &str, body: &[u8]) -> Outcome {
    let r = match Request::post("/v1/ballots").body(body).send_async(addr).await {
        Ok(r) => r,
        Err(e) if e.kind() == std::io::ErrorKind::TimedOut => panic!("no answer within 60 s"),
        Err(e) if e.kind() == std::io::ErrorKind::InvalidData => panic!("neither acknowledged nor retryable: {e}"),
        // Refused, or closed before an answer.
        Err(e) => return Outcome::Retryable(e.to_string()),
    };
    match r.status {
        200 | 201 => {
            let v: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
            Outcome::Acknowledged(v["anonId"].as_str().unwrap().to_owned(), v["logIndex"].as_u64().unwrap())
        }
        503 => {
            assert!(r.header("retry-after").is_some(), "a 503 without Retry-After: {:?}", r.headers);
            Outcome::Retryable(r.text())
        }
        _ => panic!("neither acknowledged nor retryable: {} {}", r.status, r.text()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_drains_acknowledged_ballots_recorded_refused_ones_retryable() {
    const VOTERS: usize = 24;
    const WORKERS: usize = 4;
    // A slow audit log (each append waits for its batch for up to 1.5 s) keeps ballots in flight when
    // SIGTERM comes; the drain lets them run for 1 s, so some finish and the others are refused.
    let mut setup = setup_with(VOTERS, Some(std::time::Duration::from_millis(1500))).await;
    setup.args.extend(["--drain-timeout-secs", "1"].map(str::to_owned));
    let (mut child, url) = spawn_vote(&setup).await;
    let client = VoterClient::new(&url);
    let election = Election::fetch(&client).await.unwrap();
    let mut packages = Vec::new();
    for i in 0..VOTERS {
        let session = client.authenticate(&voter(i).voter_id, &voter(i).credential).await.unwrap();
        let selections =
            urna_vote::client::random_selections(&election.codec, &session.ballot_style, &mut urna_crypto::os_rng())
                .unwrap();
        let ballot = election.encrypt(&session.ballot_style, selections).await.unwrap();
        let package = urna_vote::client::sign_ballot(&client, &election, &voter(i).voter_id, &session.token, ballot)
            .await
            .unwrap();
        packages.push(serde_json::to_vec(&package).unwrap());
    }

    // WORKERS clients each submit their share one after another; SIGTERM once the first receipt is back.
    let addr = url.strip_prefix("http://").unwrap().to_owned();
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    for w in 0..WORKERS {
        let (tx, addr, mine) = (tx.clone(), addr.clone(), packages.clone());
        tokio::spawn(async move {
            for (i, body) in mine.iter().enumerate().skip(w).step_by(WORKERS) {
                let _ = tx.send((i, submit_raw(&addr, body).await));
            }
        });
    }
    drop(tx);
    let mut outcomes: Vec<Option<Outcome>> = (0..VOTERS).map(|_| None).collect();
    let mut terminated = None;
    while let Some((i, outcome)) = rx.recv().await {
        if terminated.is_none() && matches!(outcome, Outcome::Acknowledged(..)) {
            let pid = child.0.id().to_string();
            let status = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
            assert!(status.success(), "kill -TERM {pid}");
            terminated = Some(std::time::Instant::now());
        }
        outcomes[i] = Some(outcome);
    }
    // Drained and exited 0, well within a pod's grace period.
    let exit = tokio::task::spawn_blocking(move || {
        let status = child.0.wait().unwrap();
        (status, child)
    })
    .await
    .unwrap()
    .0;
    assert!(exit.success(), "urna vote exited with {exit} after SIGTERM");
    let drained_in = terminated.unwrap().elapsed();
    assert!(drained_in < std::time::Duration::from_secs(30), "took {drained_in:?}");
    let outcomes: Vec<Outcome> = outcomes.into_iter().map(Option::unwrap).collect();
    let acknowledged: Vec<(usize, &str, u64)> = outcomes
        .iter()
        .enumerate()
        .filter_map(|(i, o)| match o {
            Outcome::Acknowledged(a, l) => Some((i, a.as_str(), *l)),
            Outcome::Retryable(_) => None,
        })
        .collect();
    let refused = VOTERS - acknowledged.len();
    assert!(refused > 0, "SIGTERM came under load, so something was refused: {outcomes:?}");

    // Restart on the same data; every voter whose ballot was refused sends it again, identical; those
    // acknowledged do too (idempotent: the same receipt).
    let (_child, url) = spawn_vote(&setup).await;
    let addr = url.strip_prefix("http://").unwrap().to_owned();
    let mut receipts = Vec::new();
    for body in &packages {
        match submit_raw(&addr, body).await {
            Outcome::Acknowledged(a, l) => receipts.push((a, l)),
            other => panic!("a resubmission after the restart: {other:?}"),
        }
    }
    for (i, anon, index) in &acknowledged {
        assert_eq!((receipts[*i].0.as_str(), receipts[*i].1), (*anon, *index), "an acknowledged ballot moved");
    }
    // Exactly one contest per ballot in the shard and one leaf per ballot in the log: none lost, none twice.
    let status = urna_tally::TallyClient::new(setup.shard_url.as_str()).status().await.unwrap();
    assert_eq!(status.accepted, VOTERS as u64);
    let mut indices: Vec<u64> = receipts.iter().map(|r| r.1).collect();
    indices.sort_unstable();
    indices.dedup();
    assert_eq!(indices, (0..VOTERS as u64).collect::<Vec<_>>(), "one leaf per ballot");
    // The log's signed head counts exactly the ballots (its timer checkpoints every 200 ms).
    let audit = setup.audit_url.strip_prefix("http://").unwrap();
    let mut size = 0;
    for _ in 0..100 {
        let (code, body) = support::http(audit, "GET", "/v1/checkpoint", None).await;
        if code == 200 {
            size = serde_json::from_str::<serde_json::Value>(&body).unwrap()["size"].as_u64().unwrap();
            if size >= VOTERS as u64 {
                break;
            }
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(size, VOTERS as u64, "one leaf per ballot, none twice");
    let client = VoterClient::new(&url);
    let vote_status = client.status(0).await.unwrap();
    assert_eq!((vote_status.ballots_recorded, vote_status.ballots_pending), (VOTERS as u64, 0));
    eprintln!(
        "SIGTERM under load: {} acknowledged, {refused} refused and resubmitted; drained in {drained_in:?}",
        acknowledged.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_bad_proof_among_concurrent_ballots_refuses_that_ballot_alone() {
    const VOTERS: usize = 9;
    const BAD: usize = 4;
    let mut setup = setup(VOTERS).await;
    // A generous batch wait, so that the concurrent submissions below share a batch (the verdicts asserted
    // hold however they are batched).
    setup.args.extend(["--batch-wait-ms", "300", "--batch-max", "64"].map(str::to_owned));
    let (_child, url) = spawn_vote(&setup).await;
    let client = VoterClient::new(&url);
    let election = Election::fetch(&client).await.unwrap();
    let mut packages = Vec::new();
    for i in 0..VOTERS {
        let session = client.authenticate(&voter(i).voter_id, &voter(i).credential).await.unwrap();
        let style = session.ballot_style.clone();
        let choose = || urna_vote::client::random_selections(&election.codec, &style, &mut urna_crypto::os_rng());
        let mut ballot = election.encrypt(&style, choose().unwrap()).await.unwrap();
        if i == BAD {
            // Another ballot's ciphertexts under this ballot's proofs; the right is valid all the same (the
            // signer never sees the ballot), so only the proof check can refuse it.
            let other = election.encrypt(&style, choose().unwrap()).await.unwrap();
            ballot.contests[0].ciphertexts = other.contests[0].ciphertexts.clone();
        }
        packages.push(
            urna_vote::client::sign_ballot(&client, &election, &voter(i).voter_id, &session.token, ballot)
                .await
                .unwrap(),
        );
    }

    let mut tasks = tokio::task::JoinSet::new();
    for (i, p) in packages.into_iter().enumerate() {
        let client = client.clone();
        tasks.spawn(async move { (i, client.submit(&p).await) });
    }
    let mut accepted = Vec::new();
    while let Some(done) = tasks.join_next().await {
        let (i, result) = done.unwrap();
        if i == BAD {
            let err = result.unwrap_err();
            assert_eq!(err.code(), Some("invalid_ballot"), "{err}");
            assert!(err.to_string().contains("mayor"), "the refusal names the failing contest: {err}");
        } else {
            accepted.push(result.unwrap_or_else(|e| panic!("honest ballot {i} refused: {e}")));
        }
    }
    assert_eq!(accepted.len(), VOTERS - 1);
    let status = urna_tally::TallyClient::new(setup.shard_url.as_str()).status().await.unwrap();
    assert_eq!(status.accepted, (VOTERS - 1) as u64);
    let vote_status = client.status(0).await.unwrap();
    assert_eq!(vote_status.ballots_recorded, (VOTERS - 1) as u64);
    // They were verified in batches: the histogram counts fewer batches than ballots whenever they shared one,
    // and in any case counts every ballot once.
    let metrics = get_body(&format!("{url}/metrics")).await;
    let sum = metrics
        .lines()
        .find_map(|l| l.strip_prefix("urna_vote_intake_batch_size_sum "))
        .and_then(|v| v.trim().parse::<f64>().ok())
        .unwrap();
    assert_eq!(sum as usize, VOTERS);
}

/// A bare HTTP/1.1 GET (the binary under test speaks plain HTTP); the body.
async fn get_body(url: &str) -> String {
    let (addr, path) = split_url(url).unwrap();
    Request::get(path).send_async(addr).await.unwrap().text()
}
