//! Booth ballots over real HTTP on loopback: a mesa console admits voters, the bridge submits booth ballots;
//! never more booth ballots than admissions per mesa, one right per voter across remote and booth, replays
//! idempotent, and every refusal named.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

mod common;

use common::{BRIDGE_TOKEN, Harness, Options, start};
use urna_ballot::EncryptedBallot;
use urna_vote::ClientError;
use urna_vote::client::{cast, check_receipt, random_selections};
use urna_vote::mesa_file::{Mesa, token_sha256};
use urna_vote::wire::{BallotPackage, BoothBallot};

fn mesa(id: &str, district: &str, booths: &[&str]) -> Mesa {
    Mesa {
        id: id.into(),
        district: district.into(),
        token_sha256: token_sha256(&console(id)),
        booths: booths.iter().map(|b| (*b).to_owned()).collect(),
        members: vec![],
    }
}

fn console(mesa: &str) -> String {
    format!("console-{mesa}")
}

async fn booth_service(voters: usize) -> Harness {
    start(Options {
        voters,
        modality: "booth",
        mesas: vec![mesa("n1", "north", &["b1", "b2"]), mesa("s1", "south", &["b3"])],
        ..Options::default()
    })
    .await
}

async fn ballot(h: &Harness, style: &str) -> EncryptedBallot {
    let selections = random_selections(&h.election.codec, style, &mut urna_crypto::os_rng()).unwrap();
    h.election.encrypt(style, selections).await.unwrap()
}

fn booth(device: &str, seq: u64, ballot: &EncryptedBallot) -> BoothBallot {
    BoothBallot { device: device.into(), seq, ballot: ballot.clone() }
}

fn code<T: std::fmt::Debug>(r: Result<T, ClientError>) -> String {
    match r {
        Err(e) => e.code().map_or_else(|| e.to_string(), str::to_owned),
        Ok(v) => format!("accepted: {v:?}"),
    }
}

/// Voter 0 and 2 vote in north, 1 and 3 in south (common::voter).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admitted_voter_booth_ballot_becomes_a_signed_logged_ballot() {
    let h = booth_service(4).await;
    let b = ballot(&h, "north").await;
    // Before any admission the mesa has no right to spare: refused, retryable.
    assert_eq!(code(h.client.submit_booth(BRIDGE_TOKEN, &booth("b1", 1, &b)).await), "not_admitted");

    let admitted = h.client.admit("n1", &console("n1"), &h.voters[0].0.voter_id).await.unwrap();
    assert_eq!((admitted.status.as_str(), admitted.admitted), ("admitted", 1));
    let receipt = h.client.submit_booth(BRIDGE_TOKEN, &booth("b1", 1, &b)).await.unwrap();
    assert_eq!(h.audit_entries(), vec![receipt.anon_id.to_hex()]);

    // The published package is an ordinary one: its voting right verifies and the AnonID recomputes.
    let (status, page) = h.raw("GET", "/v1/ballots", None, None).await;
    assert_eq!(status, 200);
    let package: BallotPackage = serde_json::from_value(page["ballots"][0]["package"].clone()).unwrap();
    assert_eq!(package.ballot, b);
    // A booth right: partially blind, for the booth modality and the mesa's district (docs/protocol.md §5.3).
    let info = urna_crypto::blind::voting_right_info(&h.election.info.election_id, "booth", &b.ballot_style);
    let right_key = h.election.info.blind_key.derive(&info).unwrap();
    right_key.verify(&package.prepared_message, &package.signature).unwrap();
    assert!(h.election.info.blind_key.verify(&package.prepared_message, &package.signature).is_err());
    assert_eq!(check_receipt(&package, &receipt).unwrap(), receipt.anon_id);

    // A replay (the bridge restarted) returns the same receipt; a new ballot under the used sequence is refused.
    let again = h.client.submit_booth(BRIDGE_TOKEN, &booth("b1", 1, &b)).await.unwrap();
    assert_eq!((again.anon_id, again.log_index), (receipt.anon_id, receipt.log_index));
    let other = ballot(&h, "north").await;
    assert_eq!(code(h.client.submit_booth(BRIDGE_TOKEN, &booth("b1", 1, &other)).await), "sequence_reused");
    // One admission, one ballot: the next booth ballot of the mesa waits for the next admission.
    assert_eq!(code(h.client.submit_booth(BRIDGE_TOKEN, &booth("b2", 1, &other)).await), "not_admitted");

    let (_, status) = h.raw("GET", "/v1/status", None, None).await;
    assert_eq!((status["rightsIssued"].as_u64(), status["ballotsRecorded"].as_u64()), (Some(1), Some(1)));
    assert_eq!(h.audit_entries().len(), 1);
    // Per mesa: what the operator copies into each Mesa's status.
    assert_eq!(status["modality"], "booth");
    assert_eq!(status["votersVoted"], 1);
    assert_eq!(
        status["mesas"],
        serde_json::json!([
            { "mesa": "n1", "admissions": 1, "ballots": 1 },
            { "mesa": "s1", "admissions": 0, "ballots": 0 },
        ])
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_right_per_voter_across_mesas_and_remote() {
    let h = booth_service(4).await;
    let v0 = h.voters[0].0.voter_id.clone();
    h.client.admit("n1", &console("n1"), &v0).await.unwrap();
    // The console's retry is harmless; the count does not move.
    let retry = h.client.admit("n1", &console("n1"), &v0).await.unwrap();
    assert_eq!((retry.status.as_str(), retry.admitted), ("alreadyAdmitted", 1));
    // Admitted at a mesa, the voter cannot also get a remote right.
    let remote = cast(&h.client, &h.election, &h.voters[0].0, None).await;
    assert_eq!(code(remote), "right_already_issued");
    // A voter who voted with a blind-signed right cannot be admitted.
    cast(&h.client, &h.election, &h.voters[2].0, None).await.unwrap();
    assert_eq!(code(h.client.admit("n1", &console("n1"), &h.voters[2].0.voter_id).await), "right_already_issued");
    // A south voter is not in north's census; an unknown voter is answered the same way.
    assert_eq!(code(h.client.admit("n1", &console("n1"), &h.voters[1].0.voter_id).await), "not_in_mesa_census");
    assert_eq!(code(h.client.admit("n1", &console("n1"), &format!("{:064x}", 7)).await), "not_in_mesa_census");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_name_what_is_wrong() {
    let h = booth_service(4).await;
    h.client.admit("n1", &console("n1"), &h.voters[0].0.voter_id).await.unwrap();
    let north = ballot(&h, "north").await;
    let south = ballot(&h, "south").await;
    assert_eq!(code(h.client.admit("n1", &console("s1"), &h.voters[2].0.voter_id).await), "unauthorized");
    assert_eq!(code(h.client.admit("zz", &console("zz"), &h.voters[2].0.voter_id).await), "unauthorized");
    assert_eq!(code(h.client.submit_booth("wrong", &booth("b1", 1, &north)).await), "unauthorized");
    assert_eq!(code(h.client.submit_booth(BRIDGE_TOKEN, &booth("b9", 1, &north)).await), "unknown_device");
    assert_eq!(code(h.client.submit_booth(BRIDGE_TOKEN, &booth("b1", 1, &south)).await), "wrong_ballot_style");
    // Another ballot's ciphertexts under this ballot's proofs.
    let mut forged = north.clone();
    forged.contests[0].ciphertexts = ballot(&h, "north").await.contests[0].ciphertexts.clone();
    assert_eq!(code(h.client.submit_booth(BRIDGE_TOKEN, &booth("b1", 1, &forged)).await), "invalid_ballot");
    // None of that used the admission.
    h.client.submit_booth(BRIDGE_TOKEN, &booth("b1", 1, &north)).await.unwrap();

    // After the close nothing is admitted or recorded; a recorded message still gets its receipt.
    h.client.close(&h.admin_token).await.unwrap();
    assert_eq!(code(h.client.admit("n1", &console("n1"), &h.voters[2].0.voter_id).await), "election_closed");
    assert_eq!(code(h.client.submit_booth(BRIDGE_TOKEN, &booth("b2", 1, &north)).await), "election_closed");
    h.client.submit_booth(BRIDGE_TOKEN, &booth("b1", 1, &north)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_booth_ballots_never_outnumber_admissions() {
    let h = booth_service(6).await;
    for i in [0, 2] {
        h.client.admit("n1", &console("n1"), &h.voters[i].0.voter_id).await.unwrap();
    }
    let mut ballots = Vec::new();
    for _ in 0..5 {
        ballots.push(ballot(&h, "north").await);
    }
    let mut tasks = tokio::task::JoinSet::new();
    for (i, b) in ballots.into_iter().enumerate() {
        let client = h.client.clone();
        let device = if i % 2 == 0 { "b1" } else { "b2" };
        let req = booth(device, i as u64 + 1, &b);
        tasks.spawn(async move { client.submit_booth(BRIDGE_TOKEN, &req).await });
    }
    let mut accepted = 0;
    while let Some(r) = tasks.join_next().await {
        match r.unwrap() {
            Ok(_) => accepted += 1,
            Err(e) => assert_eq!(code(Err::<(), _>(e)), "not_admitted"),
        }
    }
    assert_eq!(accepted, 2);
    assert_eq!(h.audit_entries().len(), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_service_has_no_booth_routes() {
    let h = start(Options::default()).await;
    let (status, body) = h.raw("POST", "/v1/mesas/n1/admissions", Some("x"), Some(b"{}".to_vec())).await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("booth_disabled")));
}
