//! A tally shard through its real HTTP API on 127.0.0.1, with real files in a temporary directory.
#![allow(clippy::unwrap_used)]

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use http::{Method, StatusCode};
use redb::ReadableTable;
use urna_crypto::paillier::RandomnessPool;
use urna_tally::{ItemStatus, LogRecord, Modality, Shard};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn accepts_deduplicates_and_rejects_with_reasons() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.verify_proofs = true;
    let (shard, client) = start(cfg).await;
    let codec = codec();
    let pool = RandomnessPool::new(codec.public_key().clone());

    // A chiapas ballot: president, governor (chunked), board.
    let a = cast(&codec, &pool, "chiapas", 1);
    let a_items = items(&a.ballot);
    let r = client.submit(&a_items).await.expect("submit");
    let seqs: Vec<_> = r.items.iter().map(|i| (i.status, i.sequence)).collect();
    assert_eq!(
        seqs,
        vec![(ItemStatus::Accepted, Some(1)), (ItemStatus::Accepted, Some(2)), (ItemStatus::Accepted, Some(3))]
    );

    // The identical resubmission is answered with the original sequences.
    let r = client.submit(&a_items).await.expect("resubmit");
    let seqs: Vec<_> = r.items.iter().map(|i| (i.status, i.sequence)).collect();
    assert_eq!(
        seqs,
        vec![(ItemStatus::Duplicate, Some(1)), (ItemStatus::Duplicate, Some(2)), (ItemStatus::Duplicate, Some(3))]
    );

    // Another valid contest under A's AnonID and contest id is a conflict, not a second vote.
    let b = cast(&codec, &pool, "chiapas", 2);
    let mut conflicting = items(&b.ballot)[0].clone();
    conflicting.anon_id = a_items[0].anon_id.clone();
    let r = client.submit(&[conflicting]).await.expect("submit");
    assert_eq!(r.items[0].status, ItemStatus::Rejected);
    assert!(r.items[0].reason.as_deref().unwrap().contains("different contest"), "{:?}", r.items[0]);

    // One tampered ciphertext fails its proof; the ballot's other contests are accepted on their own.
    let c = cast(&codec, &pool, "jalisco", 3);
    let mut c_items = items(&c.ballot);
    c_items[0].contest.ciphertexts[0] = b.ballot.contests[0].ciphertexts[0].clone();
    let r = client.submit(&c_items).await.expect("submit");
    assert_eq!(r.items[0].status, ItemStatus::Rejected, "{:?}", r.items[0]);
    assert!(r.items[0].reason.as_deref().unwrap().contains("proof"), "{:?}", r.items[0]);
    assert_eq!(r.items[1].status, ItemStatus::Accepted);

    // Out of scope: a district this shard does not hold, another modality, another election, a contest that
    // is not on the ballot style given.
    let mx = cast(&codec, &pool, "mx", 4);
    let r = client.submit(&items(&mx.ballot)[..1]).await.expect("submit");
    assert!(r.items[0].reason.as_deref().unwrap().contains("not held by shard"), "{:?}", r.items[0]);
    let d = cast(&codec, &pool, "jalisco", 5);
    let mut d_items = items(&d.ballot);
    d_items[0].modality = Some(Modality::Booth);
    d_items[1].election_id = Some("another".into());
    let r = client.submit(&d_items).await.expect("submit");
    assert!(r.items[0].reason.as_deref().unwrap().contains("modality"), "{:?}", r.items[0]);
    assert!(r.items[1].reason.as_deref().unwrap().contains("election"), "{:?}", r.items[1]);
    let mut wrong_style = items(&b.ballot)[1].clone(); // governor, chiapas only
    wrong_style.ballot_style = "jalisco".into();
    let r = client.submit(&[wrong_style]).await.expect("submit");
    assert!(r.items[0].reason.as_deref().unwrap().contains("not on the ballot"), "{:?}", r.items[0]);

    // A proof made for chiapas does not hold for jalisco's president (the style is in the proof's context).
    let mut restyled = items(&b.ballot)[0].clone();
    restyled.ballot_style = "jalisco".into();
    let r = client.submit(&[restyled]).await.expect("submit");
    assert_eq!(r.items[0].status, ItemStatus::Rejected, "{:?}", r.items[0]);

    // Malformed items are rejected alone; malformed bodies get a structured error.
    let (status, body) =
        client.raw(Method::POST, "/v1/contests", Some(br#"{"items":[{"anonId":"zz"}]}"#.to_vec())).await.unwrap();
    assert_eq!(status, StatusCode::OK);
    assert!(String::from_utf8_lossy(&body).contains("items[0]"));
    let (status, body) = client.raw(Method::POST, "/v1/contests", Some(b"{".to_vec())).await.unwrap();
    assert_eq!(status, StatusCode::BAD_REQUEST);
    let err: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(err["error"]["code"], "malformed");
    let (status, _) = client.raw(Method::GET, "/v1/nothing", None).await.unwrap();
    assert_eq!(status, StatusCode::NOT_FOUND);

    let s = client.status().await.unwrap();
    assert_eq!(s.accepted, 4);
    assert_eq!(s.log_head.sequence, 4);
    assert_eq!(s.duplicates, 3);
    assert_eq!(s.rejected, 8, "{s:?}");
    let (status, metrics) = client.raw(Method::GET, "/metrics", None).await.unwrap();
    assert_eq!(status, StatusCode::OK);
    let metrics = String::from_utf8_lossy(&metrics);
    assert!(metrics.contains("urna_tally_contests_accepted_total 4"), "{metrics}");
    assert!(metrics.contains("reason=\"proof\""), "{metrics}");
    assert_eq!(client.raw(Method::GET, "/readyz", None).await.unwrap().0, StatusCode::OK);

    // Not sealed yet: trustees get no totals, but the running ones can be read as provisional.
    assert_eq!(client.totals().await.unwrap_err().code, "not_sealed");
    let provisional = client.provisional_totals().await.unwrap();
    assert!(!provisional.sealed);
    assert_eq!(provisional.totals_digest, s.totals_digest);
    shard.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_submissions_count_once_and_sealed_totals_decode() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.checkpoint_every = 7;
    let (shard, client) = start(cfg).await;
    let codec = codec();
    let pool = RandomnessPool::new(codec.public_key().clone());
    pool.fill(200);
    let casts: Vec<Cast> =
        (0..24).map(|k| cast(&codec, &pool, if k % 3 == 0 { "chiapas" } else { "jalisco" }, k)).collect();
    let casts = Arc::new(casts);

    // 12 tasks; every ballot is sent by two of them at once, one contest per request.
    let mut tasks = Vec::new();
    for t in 0..12 {
        let client = client.clone();
        let casts = Arc::clone(&casts);
        tasks.push(tokio::spawn(async move {
            let mut out = Vec::new();
            for (k, c) in casts.iter().enumerate() {
                if k % 6 != t % 6 {
                    continue;
                }
                for item in items(&c.ballot) {
                    let r = client.submit(std::slice::from_ref(&item)).await.expect("submit");
                    out.push((item.anon_id.clone(), item.contest.contest_id.clone(), r.items[0].clone()));
                }
            }
            out
        }));
    }
    let mut results = Vec::new();
    for t in tasks {
        results.extend(t.await.unwrap());
    }
    let accepted: Vec<_> = results.iter().filter(|r| r.2.status == ItemStatus::Accepted).collect();
    let duplicates: Vec<_> = results.iter().filter(|r| r.2.status == ItemStatus::Duplicate).collect();
    let contests: usize = casts.iter().map(|c| c.ballot.contests.len()).sum();
    assert_eq!(accepted.len(), contests, "each contest accepted exactly once");
    assert_eq!(duplicates.len(), contests, "each second copy is a duplicate");
    for d in &duplicates {
        let original = accepted.iter().find(|a| a.0 == d.0 && a.1 == d.1).expect("original");
        assert_eq!(original.2.sequence, d.2.sequence, "a duplicate returns the original acknowledgement");
    }

    // Seal, then refuse.
    let sealed = client.seal().await.expect("seal");
    assert!(sealed.sealed);
    assert_eq!(sealed.log_head.sequence, contests as u64);
    let again = client.seal().await.expect("seal again");
    assert_eq!(again, sealed, "sealing is idempotent");
    let late = cast(&codec, &pool, "jalisco", 99);
    let err = client.submit(&items(&late.ballot)).await.unwrap_err();
    assert_eq!((err.status, err.code.as_str()), (Some(409), "sealed"));
    let status = client.status().await.unwrap();
    assert!(status.sealed);
    assert_eq!(status.totals_digest, sealed.totals_digest);

    // The sealed totals decrypt and decode to exactly the cast votes.
    let totals = client.totals().await.expect("totals");
    assert_eq!(totals, sealed);
    let all: Vec<&Cast> = casts.iter().collect();
    assert_eq!(decrypt(&codec, &totals), expected(&all));

    // The exported log: every (AnonID, contest) once, sequences 1..=N, a hash chain from the genesis.
    let records: Vec<LogRecord> = client.all_records().await.unwrap();
    assert_eq!(records.len(), contests);
    let keys: BTreeSet<_> = records.iter().map(|r| (r.anon_id.clone(), r.contest_id.clone())).collect();
    assert_eq!(keys.len(), contests);
    let page = client.records(5, 3).await.unwrap();
    assert_eq!(page.records.iter().map(|r| r.sequence).collect::<Vec<_>>(), vec![5, 6, 7]);
    assert_eq!(page.next, Some(8));
    shard.stop().await.unwrap();
    let reopened = Shard::open(config(dir.path()), manifest(), KEYS.0.clone()).unwrap();
    let identity_genesis = {
        let s = reopened.status();
        urna_tally::ShardIdentity {
            shard: s.shard,
            election_id: s.election_id,
            manifest_hash: s.manifest_hash,
            public_key_fingerprint: s.public_key_fingerprint,
            districts: s.districts,
            modality: s.modality,
            slot_bits: 20,
        }
        .genesis()
    };
    let mut head = identity_genesis;
    for (i, r) in records.iter().enumerate() {
        assert_eq!(r.sequence, i as u64 + 1);
        head = r.check(&head).expect("chains");
    }
    assert_eq!(head, sealed.log_head.hash);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_rederives_identical_totals_and_refuses_tampering() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.checkpoint_every = 4;
    let (shard, client) = start(cfg.clone()).await;
    let codec = codec();
    let pool = RandomnessPool::new(codec.public_key().clone());
    let casts: Vec<Cast> =
        (0..5).map(|k| cast(&codec, &pool, if k % 2 == 0 { "chiapas" } else { "jalisco" }, k)).collect();
    for c in &casts {
        client.submit(&items(&c.ballot)).await.unwrap();
    }
    let before = client.status().await.unwrap();
    let totals_before = client.provisional_totals().await.unwrap();
    shard.stop().await.unwrap();

    // From the last checkpoint, and from the first record.
    for full in [false, true] {
        let mut cfg = cfg.clone();
        cfg.verify_on_start = full;
        let (shard, client) = start(cfg).await;
        let after = client.status().await.unwrap();
        assert_eq!(after.log_head, before.log_head);
        assert_eq!(after.totals_digest, before.totals_digest);
        assert_eq!((after.accepted, after.rejected), (before.accepted, before.rejected));
        assert_eq!(client.provisional_totals().await.unwrap(), totals_before);
        // Duplicates are still recognised after the restart.
        let r = client.submit(&items(&casts[0].ballot)).await.unwrap();
        assert!(r.items.iter().all(|i| i.status == ItemStatus::Duplicate));
        shard.stop().await.unwrap();
    }

    // Another shard name on the same directory is refused.
    let mut other = cfg.clone();
    other.name = "someone-else".into();
    let err = Shard::open(other, manifest(), KEYS.0.clone()).err().expect("identity mismatch");
    assert!(matches!(err, urna_tally::TallyError::IdentityMismatch(_)), "{err}");

    // A stored totals digest that the log does not re-derive refuses the start.
    tamper(dir.path(), |db| {
        let meta: redb::TableDefinition<&str, &[u8]> = redb::TableDefinition::new("meta");
        let txn = db.begin_write().unwrap();
        {
            let mut t = txn.open_table(meta).unwrap();
            let mut head: serde_json::Value = serde_json::from_slice(t.get("head").unwrap().unwrap().value()).unwrap();
            head["totalsDigest"] = serde_json::Value::String("00".repeat(32));
            t.insert("head", serde_json::to_vec(&head).unwrap().as_slice()).unwrap();
        }
        txn.commit().unwrap();
    });
    let err = Shard::open(cfg.clone(), manifest(), KEYS.0.clone()).err().expect("refused");
    assert!(err.to_string().contains("totals digest"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_modified_record_is_detected_on_full_verification() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.checkpoint_every = 2;
    let (shard, client) = start(cfg.clone()).await;
    let codec = codec();
    let pool = RandomnessPool::new(codec.public_key().clone());
    for k in 0..3 {
        client.submit(&items(&cast(&codec, &pool, "jalisco", k).ballot)).await.unwrap();
    }
    shard.stop().await.unwrap();
    // Record 1 lies before the checkpoint: only a full verification reads it.
    tamper(dir.path(), |db| {
        let records: redb::TableDefinition<u64, &[u8]> = redb::TableDefinition::new("records");
        let txn = db.begin_write().unwrap();
        {
            let mut t = txn.open_table(records).unwrap();
            let mut rec: serde_json::Value = serde_json::from_slice(t.get(1).unwrap().unwrap().value()).unwrap();
            rec["receivedAt"] = serde_json::Value::String("2000-01-01T00:00:00.000Z".into());
            t.insert(1, serde_json::to_vec(&rec).unwrap().as_slice()).unwrap();
        }
        txn.commit().unwrap();
    });
    assert!(Shard::open(cfg.clone(), manifest(), KEYS.0.clone()).is_ok(), "the checkpoint covers record 1");
    cfg.verify_on_start = true;
    let err = Shard::open(cfg, manifest(), KEYS.0.clone()).err().expect("refused");
    assert!(err.to_string().contains("record 1"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuses_beyond_what_the_counter_slots_hold() {
    let dir = tempfile::tempdir().unwrap();
    let mut m = manifest();
    m.slot_bits = 3; // at most 7 ballots per total (the board's 6 options still fit a slot)
    let codec = urna_ballot::BallotCodec::new(m.clone(), KEYS.0.clone()).unwrap();
    let pool = RandomnessPool::new(codec.public_key().clone());
    let (shard, client) = start_with(config(dir.path()), m).await;
    let mut statuses = Vec::new();
    for k in 0..8 {
        let c = cast(&codec, &pool, "jalisco", k);
        let r = client.submit(&items(&c.ballot)[1..]).await.unwrap(); // board
        statuses.push(r.items[0].clone());
    }
    assert!(statuses[..7].iter().all(|s| s.status == ItemStatus::Accepted), "{statuses:?}");
    assert_eq!(statuses[7].status, ItemStatus::Rejected);
    assert!(statuses[7].reason.as_deref().unwrap().contains("the most its counters hold"), "{statuses:?}");
    shard.stop().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seals_itself_at_the_closing_instant() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    cfg.closes_at = Some(jiff::Timestamp::now() + Duration::from_millis(1500));
    let (shard, client) = start(cfg).await;
    let codec = codec();
    let pool = RandomnessPool::new(codec.public_key().clone());
    let r = client.submit(&items(&cast(&codec, &pool, "jalisco", 1).ballot)).await.unwrap();
    assert!(r.items.iter().all(|i| i.status == ItemStatus::Accepted));
    tokio::time::sleep(Duration::from_millis(2000)).await;
    let s = client.status().await.unwrap();
    assert!(s.sealed, "{s:?}");
    let err = client.submit(&items(&cast(&codec, &pool, "jalisco", 2).ballot)).await.unwrap_err();
    assert_eq!(err.status, Some(409));
    let totals = client.totals().await.unwrap();
    assert_eq!(totals.log_head.sequence, 2);
    shard.stop().await.unwrap();
}

fn tamper(dir: &std::path::Path, f: impl FnOnce(&redb::Database)) {
    let db = redb::Database::open(dir.join(urna_tally::store::DB_FILE)).unwrap();
    f(&db);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuses_contests_before_its_window_opens_and_accepts_them_once_it_has() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = config(dir.path());
    // Far enough ahead that no slow start reaches it; the restart below moves it into the past.
    let opens = jiff::Timestamp::now() + Duration::from_secs(3600);
    cfg.opens_at = Some(opens);
    let (shard, client) = start(cfg).await;
    let codec = codec();
    let pool = RandomnessPool::new(codec.public_key().clone());
    let early = items(&cast(&codec, &pool, "jalisco", 1).ballot);

    let s = client.status().await.unwrap();
    assert_eq!(s.window.state, urna_status::WindowState::NotYetOpen, "{s:?}");
    assert_eq!(s.window.opens_at.as_deref(), Some(opens.to_string().as_str()));
    let body = serde_json::to_vec(&serde_json::json!({ "items": early })).unwrap();
    let (status, body) = client.raw(Method::POST, "/v1/contests", Some(body)).await.unwrap();
    assert_eq!(status, StatusCode::CONFLICT);
    let err: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(err["error"]["code"], "election_not_open", "{err}");
    assert!(err["error"]["message"].as_str().unwrap().contains("opens at"), "{err}");
    assert_eq!(client.status().await.unwrap().accepted, 0, "nothing recorded before the window");
    shard.stop().await.unwrap();

    // The same shard once its window has opened.
    let mut cfg = config(dir.path());
    cfg.opens_at = Some(jiff::Timestamp::now() - Duration::from_secs(1));
    let (shard, client) = start(cfg).await;
    let r = client.submit(&early).await.unwrap();
    assert!(r.items.iter().all(|i| i.status == ItemStatus::Accepted), "{r:?}");
    let s = client.status().await.unwrap();
    assert_eq!((s.window.state, s.accepted), (urna_status::WindowState::Open, 2));
    shard.stop().await.unwrap();
}

/// The writes need the election's internal token; without it, or with another, nothing is recorded and the
/// shard stays open; the reads the public needs answer anyone.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_need_the_internal_token_and_reads_stay_open() {
    let dir = tempfile::tempdir().unwrap();
    let (_shard, client) = start(config(dir.path())).await;
    let codec = codec();
    let pool = RandomnessPool::new(codec.public_key().clone());
    let a = items(&cast(&codec, &pool, "chiapas", 1).ballot);
    let body = serde_json::to_vec(&serde_json::json!({ "items": a })).unwrap();
    let base = client.status().await.unwrap();
    let anonymous = urna_tally::TallyClient::new(format!("http://{}", _shard.addr));
    let impostor = urna_tally::TallyClient::new(format!("http://{}", _shard.addr))
        .with_token(urna_auth::Token::new("not-the-token").unwrap());
    for c in [&anonymous, &impostor] {
        for path in ["/v1/contests", "/v1/seal"] {
            let (status, bytes) = c.raw(Method::POST, path, Some(body.clone())).await.unwrap();
            assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}");
            let err: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
            assert_eq!(err["error"]["code"], "unauthorized");
        }
        for path in ["/v1/status", "/v1/totals?provisional=true", "/v1/records", "/healthz", "/metrics"] {
            assert_eq!(c.raw(Method::GET, path, None).await.unwrap().0, StatusCode::OK, "{path}");
        }
    }
    let after = anonymous.status().await.unwrap();
    assert_eq!((after.accepted, after.sealed), (base.accepted, false), "nothing was recorded or sealed");
    // The same body with the token is accepted.
    assert!(client.submit(&a).await.unwrap().items.iter().all(|i| i.status == ItemStatus::Accepted));
}
