//! The vote service against the real tally shard (`urna-tally`) and the real audit log (`urna-audit`), all
//! on loopback: ballots reach the shard's durable log, AnonIDs the transparency log, and receipts carry
//! inclusion proofs that verify against the log's signed checkpoint.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

mod common;

use std::time::Duration;

use tokio::net::TcpListener;
use urna_audit::{AuditLog, LogConfig, LogKey};
use urna_tally::{Modality, Shard, ShardConfig, TallyClient};
use urna_vote::client::{Election, VoterClient, cast, check_receipt};
use urna_vote::{ShardMap, VoteConfig, VoteService};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ballots_reach_the_real_shard_and_log() {
    let dir = tempfile::tempdir().unwrap();
    let manifest = common::manifest();
    let pk = common::PAILLIER.clone();

    let shard_config = ShardConfig::new(
        "test-remote",
        vec!["north".into(), "south".into()],
        Modality::Remote,
        dir.path().join("shard"),
    );
    let shard = Shard::open(shard_config, manifest.clone(), pk.clone()).unwrap();
    let shard_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let shard_url = format!("http://{}", shard_listener.local_addr().unwrap());
    // One internal token for the election: the shard and the log ask for it, the vote service presents it.
    let token = urna_auth::Token::generate().unwrap();
    let auth = urna_auth::ServiceAuth::Token(token.clone());
    let _running = shard.start(shard_listener, auth.clone()).await.unwrap();

    let mut log_config = LogConfig::new("audit.test/urna");
    log_config.batch_wait = Duration::from_millis(20);
    log_config.checkpoint_interval = Duration::from_millis(50);
    let log_key = LogKey::generate().unwrap();
    let verifier_key = log_key.verifier_key("audit.test/urna");
    let log = AuditLog::open(&dir.path().join("audit.redb"), log_key, log_config).unwrap();
    let audit_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let audit_url = format!("http://{}", audit_listener.local_addr().unwrap());
    tokio::spawn(log.serve(audit_listener, auth, std::future::pending()));

    let mut shards = ShardMap::new();
    shards.parse_entry(&format!("city:remote={shard_url}")).unwrap();
    let mut config =
        VoteConfig::new(manifest, pk, common::signing_key(), dir.path().join("vote"), shards, audit_url.clone());
    config.audit_log_key = Some(urna_vote::wire::AuditLogKey::from_verifier_key(&verifier_key).unwrap());
    config.internal_token = Some(token);
    let service = VoteService::open(config).unwrap();
    service.import_census(common::census_csv(4).as_bytes()).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(service.serve(listener, std::future::pending()));

    let client = VoterClient::new(&url);
    let election = Election::fetch(&client).await.unwrap();
    let mut casts = Vec::new();
    for i in 0..4 {
        let (voter, _) = common::voter(i);
        casts.push(cast(&client, &election, &voter, None).await.unwrap());
    }
    // The shard holds every contest of every ballot: 2 for north voters (mayor, council), 1 for south.
    let tally = TallyClient::new(shard_url);
    let status = tally.status().await.unwrap();
    assert_eq!(status.accepted, 2 * 2 + 2);
    // An identical resubmission changes nothing anywhere.
    client.submit(&casts[0].package).await.unwrap();
    assert_eq!(tally.status().await.unwrap().accepted, 6);

    // Once the log has checkpointed, receipts carry inclusion proofs that verify.
    let mut verified = 0;
    for _ in 0..100 {
        verified = 0;
        for c in &casts {
            let r = client.receipt(&c.anon_id, &c.package.signature).await.unwrap();
            if r.inclusion_proof.is_some() {
                check_receipt(&c.package, &r).unwrap();
                verified += 1;
            }
        }
        if verified == casts.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(verified, casts.len());

    // The voter app's receipt check reads the log through this origin: the relay answers as the log does.
    let info = common::raw(&format!("{url}/v1/election"), "GET", None, None).await.1;
    assert_eq!(info["auditLog"]["origin"], "audit.test/urna");
    let (status, relayed) = common::raw(&format!("{url}/audit/v1/checkpoint"), "GET", None, None).await;
    assert_eq!(status, 200);
    assert_eq!(relayed["log_public_key"], info["auditLog"]["publicKey"]);
    let size = relayed["size"].as_u64().unwrap();
    let leaf = urna_audit::LogEntry::Ballot { anon_id: casts[0].anon_id.0 }.leaf_hash();
    let q = format!("leaf_hash={}&size={size}", hex::encode(leaf));
    let (status, proof) = common::raw(&format!("{url}/audit/v1/proof/inclusion?{q}"), "GET", None, None).await;
    let (_, direct) = common::raw(&format!("{audit_url}/v1/proof/inclusion?{q}"), "GET", None, None).await;
    assert_eq!((status, &proof), (200, &direct));
    let unknown = format!("{url}/audit/v1/proof/inclusion?leaf_hash={}&size={size}", "ab".repeat(32));
    let (status, body) = common::raw(&unknown, "GET", None, None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("unknown_leaf")));
    let (status, _) = common::raw(&format!("{url}/audit/v1/proof/inclusion?leaf_hash=../x"), "GET", None, None).await;
    assert_eq!(status, 400);
}
