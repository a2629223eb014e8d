//! The voter's path through real HTTP on loopback: happy path, idempotence, one right per voter (sequential
//! and concurrent), one ballot per signature.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

mod common;

use std::sync::atomic::Ordering;

use common::{Options, start};
use urna_crypto::blind::PreparedMessage;
use urna_vote::client::{cast, check_receipt, random_selections, sign_ballot};
use urna_vote::wire::RightRequest;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn happy_path_authenticate_right_submit_receipt() {
    let h = start(Options::default()).await;
    let (voter, district) = h.voters[0].clone();
    let cast = cast(&h.client, &h.election, &voter, None).await.unwrap();

    assert_eq!(cast.receipt.anon_id, cast.anon_id);
    assert_eq!(cast.receipt.log_index, 0);
    assert_eq!(h.audit_entries(), vec![cast.anon_id.to_hex()]);
    // Every contest of the style reached the shard under the ballot's AnonID.
    let style = h.election.codec.style_contests(&district).unwrap();
    let records = h.shard_records();
    assert_eq!(records.len(), style.len());
    for c in style {
        assert!(records.contains(&(cast.anon_id.to_hex(), c.contest.id.clone())));
    }
    // No checkpoint covers the ballot yet: no proof. Once one does, the receipt endpoint adds it.
    assert!(cast.receipt.inclusion_proof.is_none());
    h.audit.checkpoint.store(1, Ordering::SeqCst);
    let later = h.client.receipt(&cast.anon_id, &cast.package.signature).await.unwrap();
    assert_eq!(later.log_index, 0);
    assert!(later.checkpoint.is_some() && later.inclusion_proof.is_some());
    check_receipt(&cast.package, &later).unwrap();
    // A receipt whose proof is for another root does not check.
    let mut forged = later.clone();
    forged.checkpoint = Some(serde_json::json!({ "size": 1, "root": "11".repeat(32) }));
    assert!(check_receipt(&cast.package, &forged).is_err());

    let (status, body) = h.raw("GET", "/v1/status", None, None).await;
    assert_eq!(status, 200);
    assert_eq!(body["rightsIssued"], 1);
    assert_eq!(body["ballotsRecorded"], 1);
    assert_eq!(body["ballotsPending"], 0);
    assert_eq!(body["census"], 4);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn identical_resubmission_is_idempotent() {
    let h = start(Options::default()).await;
    let (voter, _) = h.voters[1].clone();
    let first = cast(&h.client, &h.election, &voter, None).await.unwrap();
    for _ in 0..3 {
        let again = h.client.submit(&first.package).await.unwrap();
        assert_eq!(again.anon_id, first.anon_id);
        assert_eq!(again.log_index, first.receipt.log_index);
    }
    // Concurrent identical submissions too.
    let tasks: Vec<_> = (0..6)
        .map(|_| {
            let (c, p) = (h.client.clone(), first.package.clone());
            tokio::spawn(async move { c.submit(&p).await })
        })
        .collect();
    for t in tasks {
        assert_eq!(t.await.unwrap().unwrap().anon_id, first.anon_id);
    }
    assert_eq!(h.audit_entries().len(), 1, "one audit entry for one ballot");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_right_per_voter_sequential() {
    let h = start(Options::default()).await;
    let (voter, district) = h.voters[0].clone();
    let key = &h.election.info.blind_key;
    let mut rng = urna_crypto::os_rng();
    let session = h.client.authenticate(&voter.voter_id, &voter.credential).await.unwrap();
    assert!(!session.right_issued);
    assert_eq!(session.ballot_style, district);

    let (blinded, _secret) = key.blind(&key.prepare(&[1; 32], &mut rng), &mut rng).unwrap();
    let req = RightRequest { blinded_message: blinded };
    let first = h.client.request_right(&voter.voter_id, &session.token, &req).await.unwrap();
    // An identical retry (lost response) gets the same blind signature, even from a new session.
    let again = h.client.request_right(&voter.voter_id, &session.token, &req).await.unwrap();
    assert_eq!(first, again);
    let session2 = h.client.authenticate(&voter.voter_id, &voter.credential).await.unwrap();
    assert!(session2.right_issued);
    assert_eq!(h.client.request_right(&voter.voter_id, &session2.token, &req).await.unwrap(), first);

    // Another blinded message: refused.
    let (other, _) = key.blind(&key.prepare(&[2; 32], &mut rng), &mut rng).unwrap();
    let err = h
        .client
        .request_right(&voter.voter_id, &session2.token, &RightRequest { blinded_message: other })
        .await
        .unwrap_err();
    assert_eq!(err.code(), Some("right_already_issued"));

    // So a full second vote fails at the right.
    let err = cast(&h.client, &h.election, &voter, None).await.unwrap_err();
    assert_eq!(err.code(), Some("right_already_issued"));
    let metrics = h.raw("GET", "/metrics", None, None).await.1;
    let metrics = metrics.as_str().unwrap();
    assert!(metrics.contains("urna_vote_rights_issued_total 1"), "{metrics}");
    assert!(metrics.contains("urna_vote_rights_refused_total{reason=\"right_already_issued\"} 2"), "{metrics}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_right_per_voter_concurrent() {
    let h = start(Options::default()).await;
    let (voter, _) = h.voters[2].clone();
    let key = h.election.info.blind_key.clone();
    let mut rng = urna_crypto::os_rng();
    // Several sessions of the same voter, many different blinded messages, all at once.
    let mut tokens = Vec::new();
    for _ in 0..4 {
        tokens.push(h.client.authenticate(&voter.voter_id, &voter.credential).await.unwrap().token);
    }
    let mut tasks = Vec::new();
    for i in 0..32u8 {
        let (blinded, _) = key.blind(&key.prepare(&[i; 32], &mut rng), &mut rng).unwrap();
        let (c, id, token) = (h.client.clone(), voter.voter_id.clone(), tokens[usize::from(i) % 4].clone());
        tasks.push(tokio::spawn(async move {
            c.request_right(&id, &token, &RightRequest { blinded_message: blinded }).await
        }));
    }
    let mut ok = 0;
    for t in tasks {
        match t.await.unwrap() {
            Ok(_) => ok += 1,
            Err(e) => assert_eq!(e.code(), Some("right_already_issued"), "{e}"),
        }
    }
    assert_eq!(ok, 1, "exactly one blind signature released");
    let (_, status) = h.raw("GET", "/v1/status", None, None).await;
    assert_eq!(status["rightsIssued"], 1);

    // The same blinded message many times at once, for a fresh voter: all get the one signature.
    let (voter, _) = h.voters[3].clone();
    let token = h.client.authenticate(&voter.voter_id, &voter.credential).await.unwrap().token;
    let (blinded, _) = key.blind(&key.prepare(&[9; 32], &mut rng), &mut rng).unwrap();
    let tasks: Vec<_> = (0..16)
        .map(|_| {
            let (c, id, token, b) = (h.client.clone(), voter.voter_id.clone(), token.clone(), blinded.clone());
            tokio::spawn(async move { c.request_right(&id, &token, &RightRequest { blinded_message: b }).await })
        })
        .collect();
    let mut sigs = Vec::new();
    for t in tasks {
        sigs.push(t.await.unwrap().unwrap());
    }
    assert!(sigs.windows(2).all(|w| w[0] == w[1]));
    let (_, status) = h.raw("GET", "/v1/status", None, None).await;
    assert_eq!(status["rightsIssued"], 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_double_voting_with_one_right() {
    // A voter who obtained one right tries to cast two different ballots with it, concurrently: one ballot
    // is accepted; the other is refused (its prepared message does not match it, or the signature is used).
    let h = start(Options::default()).await;
    let (voter, district) = h.voters[0].clone();
    let session = h.client.authenticate(&voter.voter_id, &voter.credential).await.unwrap();
    let sel = random_selections(&h.election.codec, &district, &mut urna_crypto::os_rng()).unwrap();
    let ballot_a = h.election.encrypt(&district, sel.clone()).await.unwrap();
    let ballot_b = h.election.encrypt(&district, sel).await.unwrap();
    let package = sign_ballot(&h.client, &h.election, &voter.voter_id, &session.token, ballot_a).await.unwrap();
    let mut forged = package.clone();
    forged.ballot = ballot_b;
    let mut tasks = Vec::new();
    for i in 0..8 {
        let (c, p) = (h.client.clone(), if i % 2 == 0 { package.clone() } else { forged.clone() });
        tasks.push(tokio::spawn(async move { (i % 2 == 0, c.submit(&p).await) }));
    }
    for t in tasks {
        match t.await.unwrap() {
            (true, r) => {
                check_receipt(&package, &r.unwrap()).unwrap();
            }
            (false, r) => {
                let code = r.unwrap_err().code().map(str::to_owned);
                assert!(matches!(code.as_deref(), Some("signature_used" | "prepared_message_mismatch")), "{code:?}");
            }
        }
    }
    assert_eq!(h.audit_entries().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_signature_serves_one_ballot() {
    // Reuse: the right's signature with a second, different ballot whose prepared message is rebuilt to
    // match it (so only the signature check and the signature's prior use can stop it).
    let h = start(Options::default()).await;
    let (voter, district) = h.voters[1].clone();
    let first = cast(&h.client, &h.election, &voter, None).await.unwrap();
    let sel = random_selections(&h.election.codec, &district, &mut urna_crypto::os_rng()).unwrap();
    let other = h.election.encrypt(&district, sel).await.unwrap();
    let mut reused = first.package.clone();
    let mut prepared = first.package.prepared_message.as_bytes()[..32].to_vec();
    prepared.extend_from_slice(&other.hash());
    reused.ballot = other;
    reused.prepared_message = PreparedMessage::from_bytes(prepared);
    let err = h.client.submit(&reused).await.unwrap_err();
    assert_eq!(err.code(), Some("signature_used"));
    assert_eq!(h.audit_entries().len(), 1);
}
