//! Tally throughput at |n| = 3072 through a real shard on loopback: ballots/s and POST latency (p50/p99),
//! batched verification (`--batch-max 64`) against one contest per batch, plus the raw verifier alone.
//!
//! `cargo bench -p urna-tally --bench throughput` (URNA_BENCH_CONTESTS, URNA_BENCH_CLIENTS to change the load).
#![allow(clippy::unwrap_used)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use urna_ballot::{BallotCodec, EncryptedContest, Selection};
use urna_crypto::paillier::{KeySize, RandomnessPool, generate_keypair};
use urna_tally::{ItemStatus, Modality, Shard, ShardConfig, SubmitItem, TallyClient};

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Mexico 2024's presidential contest: 7 parties, two 3-party coalitions, write-in, null (17 choices).
use urna_ballot::testkit::president_only as manifest;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

async fn load(pk: &urna_crypto::paillier::PublicKey, items: &Arc<Vec<SubmitItem>>, batch_max: usize, clients: usize) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = ShardConfig::new("bench", vec!["mx".into()], Modality::Remote, dir.path());
    config.batch_max = batch_max;
    // What this bench measures is the shard's batched verification.
    config.verify_proofs = true;
    let shard = Shard::open(config, manifest(), pk.clone()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    // Authenticated as in production: the token check is part of every request's cost.
    let token = urna_auth::Token::generate().unwrap();
    let running = shard.start(listener, urna_auth::ServiceAuth::Token(token.clone())).await.unwrap();
    let client = TallyClient::new(format!("http://{}", running.addr)).with_token(token);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for t in 0..clients {
        let (client, items) = (client.clone(), Arc::clone(items));
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            for item in items.iter().skip(t).step_by(clients) {
                let sent = Instant::now();
                let r = client.submit(std::slice::from_ref(item)).await.unwrap();
                latencies.push(sent.elapsed());
                assert_eq!(r.items[0].status, ItemStatus::Accepted, "{:?}", r.items[0]);
            }
            latencies
        }));
    }
    let mut latencies = Vec::new();
    for t in tasks {
        latencies.extend(t.await.unwrap());
    }
    let elapsed = started.elapsed();
    latencies.sort();
    let status = client.status().await.unwrap();
    assert_eq!(status.accepted as usize, items.len());
    println!(
        "  batch-max {batch_max:>3}, {clients} clients: {:>6.1} contests/s, POST latency p50 {:>7.1} ms, p99 {:>7.1} ms ({} contests in {:.1} s)",
        items.len() as f64 / elapsed.as_secs_f64(),
        percentile(&latencies, 0.5).as_secs_f64() * 1e3,
        percentile(&latencies, 0.99).as_secs_f64() * 1e3,
        items.len(),
        elapsed.as_secs_f64()
    );
    running.stop().await.unwrap();
}

fn main() {
    let contests = env("URNA_BENCH_CONTESTS", 128);
    let clients = env("URNA_BENCH_CLIENTS", 16);
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("tally throughput, |n| = 3072, {threads} cores, {contests} contests of 17 choices + write-in");

    let t = Instant::now();
    let (pk, _sk) = generate_keypair(KeySize::Bits3072, &mut urna_crypto::os_rng()).unwrap();
    println!("  key generation: {:.1} s", t.elapsed().as_secs_f64());
    let codec = BallotCodec::new(manifest(), pk.clone()).unwrap();

    let t = Instant::now();
    let pool = RandomnessPool::new(pk.clone());
    let per_thread = contests.div_ceil(threads);
    let items: Vec<SubmitItem> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|th| {
                let (codec, pool) = (&codec, &pool);
                s.spawn(move || {
                    let mut rng = urna_crypto::os_rng();
                    (th * per_thread..((th + 1) * per_thread).min(contests))
                        .map(|k| {
                            let sel =
                                Selection::Single { choice: k % 17, write_in: (k % 17 == 15).then(|| "Ana".into()) };
                            let b = codec.encrypt_ballot("mx", &[("president", sel)], pool, &mut rng).unwrap();
                            SubmitItem {
                                anon_id: hex::encode(b.hash()),
                                ballot_style: "mx".into(),
                                contest: b.contests[0].clone(),
                                election_id: None,
                                modality: None,
                            }
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    println!(
        "  encrypting and proving: {:.1} ms per contest ({threads} threads)",
        t.elapsed().as_secs_f64() * 1e3 * threads as f64 / contests as f64
    );

    // The verifier alone: one batch of 64 against 64 batches of one.
    let n = contests.min(64);
    let pairs: Vec<(&str, &EncryptedContest)> = items[..n].iter().map(|i| ("mx", &i.contest)).collect();
    let mut rng = urna_crypto::os_rng();
    let t = Instant::now();
    assert!(codec.verify_contests(&pairs, &mut rng).iter().all(Result::is_ok));
    let batched = t.elapsed();
    let t = Instant::now();
    for p in &pairs {
        assert!(codec.verify_contests(std::slice::from_ref(p), &mut rng)[0].is_ok());
    }
    let single = t.elapsed();
    println!(
        "  verifier alone: {n} contests in one batch {:.1} ms ({:.2} ms/contest); one by one {:.1} ms ({:.2} ms/contest): {:.1}x",
        batched.as_secs_f64() * 1e3,
        batched.as_secs_f64() * 1e3 / n as f64,
        single.as_secs_f64() * 1e3,
        single.as_secs_f64() * 1e3 / n as f64,
        single.as_secs_f64() / batched.as_secs_f64()
    );

    let items = Arc::new(items);
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
    println!("  through HTTP on loopback (one contest per POST, fsync per batch):");
    rt.block_on(load(&pk, &items, 64, clients));
    rt.block_on(load(&pk, &items, 1, clients));
    rt.block_on(load(&pk, &items, 64, 1));
}
