//! Attacks on the ballot box through real HTTP: invalid proofs, forged signatures, signatures of another
//! election's key, prepared messages that do not match, ballots after the close.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

mod common;

use common::{Options, start};
use urna_crypto::blind::{BlindKeySize, BlindSigningKey, PreparedMessage, Signature};
use urna_vote::client::{cast, random_selections, sign_ballot};
use urna_vote::wire::BallotPackage;

async fn ballot_for(h: &common::Harness, district: &str) -> urna_ballot::EncryptedBallot {
    let sel = random_selections(&h.election.codec, district, &mut urna_crypto::os_rng()).unwrap();
    h.election.encrypt(district, sel).await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn invalid_proofs_are_rejected_and_leave_nothing_behind() {
    let h = start(Options::default()).await;
    let (voter, district) = h.voters[0].clone();
    // A ballot whose first contest carries another ballot's ciphertexts: its proofs no longer hold. The
    // voter's client gets a perfectly valid signature on it (the signer never sees ballots).
    let mut bad = ballot_for(&h, &district).await;
    let other = ballot_for(&h, &district).await;
    bad.contests[0].ciphertexts = other.contests[0].ciphertexts.clone();
    let token = h.client.authenticate(&voter.voter_id, &voter.credential).await.unwrap().token;
    let package = sign_ballot(&h.client, &h.election, &voter.voter_id, &token, bad).await.unwrap();
    let err = h.client.submit(&package).await.unwrap_err();
    assert_eq!(err.code(), Some("invalid_ballot"), "{err}");
    // A contest missing from the ballot.
    let (voter2, district2) = h.voters[2].clone();
    let mut short = ballot_for(&h, &district2).await;
    short.contests.pop();
    let token = h.client.authenticate(&voter2.voter_id, &voter2.credential).await.unwrap().token;
    let package = sign_ballot(&h.client, &h.election, &voter2.voter_id, &token, short).await.unwrap();
    assert_eq!(h.client.submit(&package).await.unwrap_err().code(), Some("invalid_ballot"));

    assert!(h.audit_entries().is_empty());
    assert!(h.shard_records().is_empty());
    let metrics = h.raw("GET", "/metrics", None, None).await.1;
    assert!(
        metrics.as_str().unwrap().contains("urna_vote_ballots_total{outcome=\"rejected\",reason=\"invalid_ballot\"} 2")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forged_and_cross_election_signatures_are_rejected() {
    let h = start(Options::default()).await;
    let (voter, district) = h.voters[0].clone();
    let ballot = ballot_for(&h, &district).await;
    let key = &h.election.info.blind_key;
    let mut rng = urna_crypto::os_rng();
    let prepared = key.prepare(&ballot.hash(), &mut rng);

    // Random bytes of the right length.
    let mut bytes = vec![0u8; key.modulus_len()];
    rand_core::Rng::fill_bytes(&mut rng, &mut bytes);
    bytes[0] &= 0x3f; // below n
    let forged = BallotPackage {
        ballot: ballot.clone(),
        prepared_message: prepared.clone(),
        signature: Signature::from_bytes(key, &bytes).unwrap(),
    };
    let err = h.client.submit(&forged).await.unwrap_err();
    assert_eq!(err.code(), Some("invalid_signature"));

    // A genuine RFC 9474 signature, under another election's (another registrar's) key.
    let foreign = BlindSigningKey::generate(BlindKeySize::InsecureTest1024, &mut rng).unwrap();
    let fk = foreign.verifying_key();
    let (blinded, secret) = fk.blind(&prepared, &mut rng).unwrap();
    let sig = fk.finalize(&prepared, &foreign.blind_sign(&blinded).unwrap(), &secret).unwrap();
    fk.verify(&prepared, &sig).unwrap();
    let cross = BallotPackage { ballot: ballot.clone(), prepared_message: prepared.clone(), signature: sig };
    let err = h.client.submit(&cross).await.unwrap_err();
    assert_eq!(err.code(), Some("invalid_signature"));

    // A ballot of another election (other manifest id) with a valid right of this one.
    let mut alien = ballot.clone();
    alien.election_id = "other-election".into();
    let token = h.client.authenticate(&voter.voter_id, &voter.credential).await.unwrap().token;
    let package = sign_ballot(&h.client, &h.election, &voter.voter_id, &token, alien).await.unwrap();
    assert_eq!(h.client.submit(&package).await.unwrap_err().code(), Some("invalid_ballot"));
    assert!(h.audit_entries().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prepared_message_must_be_prefix_and_ballot_hash() {
    let h = start(Options::default()).await;
    let (voter, district) = h.voters[0].clone();
    let token = h.client.authenticate(&voter.voter_id, &voter.credential).await.unwrap().token;
    let ballot = ballot_for(&h, &district).await;
    let mut package = sign_ballot(&h.client, &h.election, &voter.voter_id, &token, ballot).await.unwrap();
    // Without the prefix (the signature no longer matters: the structure is checked first).
    package.prepared_message = PreparedMessage::from_bytes(package.ballot.hash().to_vec());
    let err = h.client.submit(&package).await.unwrap_err();
    assert_eq!(err.code(), Some("prepared_message_mismatch"));
    assert!(matches!(err, urna_vote::ClientError::Api { field: Some(ref f), .. } if f == "preparedMessage"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ballots_after_close_are_refused_but_receipts_stay() {
    let h = start(Options::default()).await;
    let (voter, _) = h.voters[0].clone();
    let before = cast(&h.client, &h.election, &voter, None).await.unwrap();
    // A second voter gets a right before the close and submits after it.
    let (late, late_district) = h.voters[1].clone();
    let token = h.client.authenticate(&late.voter_id, &late.credential).await.unwrap().token;
    let ballot = ballot_for(&h, &late_district).await;
    let late_package = sign_ballot(&h.client, &h.election, &late.voter_id, &token, ballot).await.unwrap();

    // Closing needs the admin token.
    let (status, body) = h.raw("POST", "/v1/close", Some("wrong"), None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("unauthorized")));
    let (status, body) = h.raw("POST", "/v1/close", Some(&h.admin_token), None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["closed"], true);

    let err = h.client.submit(&late_package).await.unwrap_err();
    assert_eq!(err.code(), Some("election_closed"));
    let (v3, _) = h.voters[2].clone();
    assert_eq!(h.client.authenticate(&v3.voter_id, &v3.credential).await.unwrap_err().code(), Some("election_closed"));
    // The ballot accepted before the close: its identical resubmission still gets its receipt.
    let again = h.client.submit(&before.package).await.unwrap();
    assert_eq!(again.anon_id, before.anon_id);
    assert!(h.client.election().await.unwrap().closed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closes_at_in_the_past_means_closed() {
    let h = start(Options {
        closes_at: Some(jiff::Timestamp::now() - jiff::SignedDuration::from_secs(1)),
        ..Options::default()
    })
    .await;
    let (voter, _) = h.voters[0].clone();
    let err = cast(&h.client, &h.election, &voter, None).await.unwrap_err();
    assert_eq!(err.code(), Some("election_closed"));
    assert!(h.election.info.closed);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nothing_is_accepted_before_opens_at_and_the_refusal_names_the_opening() {
    // Far enough ahead that no slow start reaches it.
    let opens = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(3600);
    let h = start(Options { opens_at: Some(opens), ..Options::default() }).await;
    let (voter, _) = h.voters[0].clone();
    let err = cast(&h.client, &h.election, &voter, None).await.unwrap_err();
    assert_eq!(err.code(), Some("election_not_open"));
    assert!(err.to_string().contains(&opens.to_string()), "{err}");
    assert_eq!(h.election.info.opens_at.as_deref(), Some(opens.to_string().as_str()));
    assert!(!h.election.info.closed, "not open yet is not closed");
    let (status, body) = h.raw("GET", "/v1/status", None, None).await;
    assert_eq!(status, 200);
    assert_eq!(body["window"]["state"], "notYetOpen", "{body}");
    assert_eq!((body["rightsIssued"].as_u64(), body["ballotsRecorded"].as_u64()), (Some(0), Some(0)));

    // Once the window has opened, the same voter votes.
    let opened = jiff::Timestamp::now() - jiff::SignedDuration::from_secs(1);
    let h = start(Options { opens_at: Some(opened), ..Options::default() }).await;
    cast(&h.client, &h.election, &h.voters[0].0, None).await.unwrap();
    let (_, body) = h.raw("GET", "/v1/status", None, None).await;
    assert_eq!(body["window"]["state"], "open", "{body}");
    assert_eq!((body["ballotsRecorded"].as_u64(), body["votersVoted"].as_u64()), (Some(1), Some(1)));
}
