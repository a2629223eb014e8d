//! Submission benchmark: ballots/s and latency percentiles of `POST /v1/ballots` through the vote service,
//! the real tally shard and the real audit log, all on loopback, at |n| = 3072 (the committed ceremony
//! fixture's public key; a fresh 3072-bit blind-signature key).
//!
//!     cargo bench -p urna-vote --bench submit            # URNA_BENCH_BALLOTS=200 URNA_BENCH_CONCURRENCY=8
//!
//! Voters' encryption and right issuance run first (they are the client's and the registrar's cost, timed
//! separately); then all packages are submitted with the given concurrency and each submission's latency is
//! recorded: verification of the signature and of every proof, the durable record, the shard's verification
//! and fsync, the audit log's batched append.

#![allow(clippy::unwrap_used, clippy::expect_used)] // a benchmark: a panic is the report

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::net::TcpListener;
use urna_ballot::{Contest, ContestKind, District, ElectionManifest, Party};
use urna_crypto::blind::{BlindKeySize, BlindSigningKey};
use urna_crypto::paillier::PublicKey;
use urna_vote::client::{Election, VoterClient, random_selections, sign_ballot};
use urna_vote::credential::{hash_credential, insecure_fast_params};
use urna_vote::{ShardMap, VoteConfig, VoteService};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn manifest() -> ElectionManifest {
    let party = |id: &str| Party { id: id.into(), name: id.into(), candidate: None };
    ElectionManifest {
        election_id: "bench".into(),
        title: "Benchmark".into(),
        districts: vec![District { id: "town".into(), name: "Town".into(), parent: None }],
        contests: vec![Contest {
            id: "mayor".into(),
            title: "Mayor".into(),
            kind: ContestKind::SingleChoice,
            districts: vec!["town".into()],
            parties: ["a", "b", "c", "d", "e"].iter().map(|p| party(p)).collect(),
            coalitions: vec![],
            options: vec![],
            min_selections: None,
            max_selections: None,
            write_in: false,
            blank: true,
            null: true,
        }],
        slot_bits: 20,
    }
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

fn main() {
    let ballots = env("URNA_BENCH_BALLOTS", 200);
    let concurrency = env("URNA_BENCH_CONCURRENCY", 8).max(1);
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(run(ballots, concurrency));
}

async fn run(n: usize, concurrency: usize) {
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/../crypto/tests/fixtures/ceremony-3072/public.json");
    let text = std::fs::read_to_string(fixture).expect("the 3072-bit ceremony fixture");
    let value: serde_json::Value = serde_json::from_str(&text).unwrap();
    let pk: PublicKey = serde_json::from_value(value["paillier"].clone()).unwrap();
    let mut rng = urna_crypto::os_rng();
    let blind = BlindSigningKey::generate_safe(BlindKeySize::Bits3072, &mut rng).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let manifest = manifest();

    let shard = urna_tally::Shard::open(
        urna_tally::ShardConfig::new(
            "bench",
            vec!["town".into()],
            urna_tally::Modality::Remote,
            dir.path().join("shard"),
        ),
        manifest.clone(),
        pk.clone(),
    )
    .unwrap();
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let shard_url = format!("http://{}", l.local_addr().unwrap());
    let token = urna_auth::Token::generate().unwrap();
    let auth = urna_auth::ServiceAuth::Token(token.clone());
    let _shard = shard.start(l, auth.clone()).await.unwrap();
    let mut log_config = urna_audit::LogConfig::new("audit.bench/urna");
    log_config.batch_wait = Duration::from_millis(5);
    let log =
        urna_audit::AuditLog::open(&dir.path().join("audit.redb"), urna_audit::LogKey::generate().unwrap(), log_config)
            .unwrap();
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let audit_url = format!("http://{}", l.local_addr().unwrap());
    tokio::spawn(log.serve(l, auth, std::future::pending()));

    let mut shards = ShardMap::new();
    shards.parse_entry(&format!("town:remote={shard_url}")).unwrap();
    let mut config = VoteConfig::new(manifest, pk, blind, dir.path().join("vote"), shards, audit_url);
    config.internal_token = Some(token);
    config.limits.rate_per_second = 0.0;
    let service = VoteService::open(config).unwrap();
    let mut census = String::from("voterIdHash,district,credentialHash\n");
    for i in 0..n {
        let h = hash_credential(&format!("c{i}"), Some(insecure_fast_params()), &mut rng).unwrap();
        census.push_str(&format!("{:064x},town,{}\n", i + 1, urna_vote::census::csv_field(&h)));
    }
    service.import_census(census.as_bytes()).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(service.serve(listener, std::future::pending()));
    let client = VoterClient::new(&url);
    let election = Arc::new(Election::fetch(&client).await.unwrap());

    // Phase 1: encrypt + prove, authenticate, obtain the right (not the submission's cost).
    let started = Instant::now();
    let mut packages = Vec::with_capacity(n);
    let mut right_latency = Vec::with_capacity(n);
    for i in 0..n {
        let voter_id = format!("{:064x}", i + 1);
        let session = client.authenticate(&voter_id, &format!("c{i}")).await.unwrap();
        let sel = random_selections(&election.codec, "town", &mut urna_crypto::os_rng()).unwrap();
        let ballot = election.encrypt("town", sel).await.unwrap();
        let t = Instant::now();
        packages.push(sign_ballot(&client, &election, &voter_id, &session.token, ballot).await.unwrap());
        right_latency.push(t.elapsed());
    }
    let prepare_secs = started.elapsed().as_secs_f64();

    // Phase 2: submissions, `concurrency` at a time.
    let queue = Arc::new(tokio::sync::Mutex::new(packages));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (queue, client) = (queue.clone(), client.clone());
        workers.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            loop {
                let Some(p) = queue.lock().await.pop() else {
                    break;
                };
                let t = Instant::now();
                client.submit(&p).await.unwrap();
                lat.push(t.elapsed());
            }
            lat
        }));
    }
    let mut latency = Vec::new();
    for w in workers {
        latency.extend(w.await.unwrap());
    }
    let secs = started.elapsed().as_secs_f64();
    latency.sort();
    right_latency.sort();
    println!(
        "{}",
        serde_json::json!({
            "ballots": n,
            "concurrency": concurrency,
            "keyBits": 3072,
            "submit": {
                "ballotsPerSecond": n as f64 / secs,
                "p50Ms": percentile(&latency, 0.50).as_secs_f64() * 1e3,
                "p99Ms": percentile(&latency, 0.99).as_secs_f64() * 1e3,
            },
            "right": {
                "p50Ms": percentile(&right_latency, 0.50).as_secs_f64() * 1e3,
                "p99Ms": percentile(&right_latency, 0.99).as_secs_f64() * 1e3,
            },
            "clientPrepareSeconds": prepare_secs,
        })
    );
}
