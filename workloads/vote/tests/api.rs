//! The HTTP surface: structured errors, body limits, rate limits, authentication failures, partitions,
//! upstream outages and retries, and the operational endpoints.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

mod common;

use std::sync::atomic::Ordering;

use common::{Options, start};
use serde_json::json;
use urna_vote::client::{cast, random_selections, sign_ballot};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn structured_errors_name_the_field() {
    let h = start(Options::default()).await;
    let (status, body) =
        h.raw("POST", "/v1/sessions", None, Some(b"{\"voterId\": 5, \"credential\": \"x\"}".to_vec())).await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["code"], "malformed");
    assert_eq!(body["error"]["field"], "voterId");
    let (status, body) = h.raw("POST", "/v1/sessions", None, Some(b"not json".to_vec())).await;
    assert_eq!((status, body["error"]["code"].as_str()), (400, Some("malformed")));
    let (_, body) = h
        .raw("POST", "/v1/sessions", None, Some(json!({"voterId": "ab", "credential": "x"}).to_string().into_bytes()))
        .await;
    assert_eq!(body["error"]["field"], "voterId");
    // A malformed ballot package: the path goes down to the field.
    let (status, body) = h
        .raw(
            "POST",
            "/v1/ballots",
            None,
            Some(json!({"ballot": {"electionId": 1}, "preparedMessage": "", "signature": ""}).to_string().into_bytes()),
        )
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["error"]["field"], "ballot.electionId");
    let (status, body) = h.raw("GET", "/v1/nothing", None, None).await;
    assert_eq!((status, body["error"]["code"].as_str()), (404, Some("not_found")));
    let (status, body) = h.raw("GET", "/v1/receipts/zz", None, None).await;
    assert_eq!((status, body["error"]["field"].as_str()), (400, Some("anonId")));
    let (status, _) = h.raw("GET", &format!("/v1/receipts/{}", "0".repeat(64)), None, None).await;
    assert_eq!(status, 404);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn authentication_failures() {
    let h = start(Options::default()).await;
    let (voter, _) = h.voters[0].clone();
    let err = h.client.authenticate(&voter.voter_id, "wrong").await.unwrap_err();
    assert_eq!(err.code(), Some("invalid_credentials"));
    let err = h.client.authenticate(&"f".repeat(64), "cred-0").await.unwrap_err();
    assert_eq!(err.code(), Some("invalid_credentials"), "unknown voters look like wrong credentials");
    let (status, body) = h.raw("POST", "/v1/rights", None, Some(b"{}".to_vec())).await;
    assert_eq!((status, body["error"]["code"].as_str()), (401, Some("unauthorized")));
    let (status, _) = h.raw("POST", "/v1/rights", Some("not-a-token"), Some(b"{}".to_vec())).await;
    assert_eq!(status, 401);
    // A valid session with a blinded message of the wrong size.
    let token = h.client.authenticate(&voter.voter_id, &voter.credential).await.unwrap().token;
    let (status, body) =
        h.raw("POST", "/v1/rights", Some(&token), Some(json!({"blindedMessage": "00"}).to_string().into_bytes())).await;
    assert_eq!((status, body["error"]["field"].as_str()), (400, Some("blindedMessage")), "{body}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn body_size_limits() {
    let h = start(Options { max_ballot_bytes: 64 << 10, ..Options::default() }).await;
    let big = vec![b' '; 32 << 10];
    let (status, body) = h.raw("POST", "/v1/sessions", None, Some(big.clone())).await;
    assert_eq!((status, body["error"]["code"].as_str()), (413, Some("too_large")));
    // 32 KiB is fine for a ballot (it is not valid JSON, which is the next error)...
    let (status, _) = h.raw("POST", "/v1/ballots", None, Some(big)).await;
    assert_eq!(status, 400);
    // ...128 KiB is not.
    let (status, body) = h.raw("POST", "/v1/ballots", None, Some(vec![b' '; 128 << 10])).await;
    assert_eq!((status, body["error"]["code"].as_str()), (413, Some("too_large")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn per_client_rate_limit() {
    let h = start(Options { rate_per_second: 0.5, ..Options::default() }).await;
    let mut codes = Vec::new();
    for _ in 0..5 {
        codes.push(h.raw("GET", "/v1/election", None, None).await.0);
    }
    // A burst of 3, one of which the harness spent fetching the election.
    assert_eq!(codes, vec![200, 200, 429, 429, 429]);
    let (_, body) = h.raw("GET", "/v1/status", None, None).await;
    assert_eq!(body["error"]["code"], "rate_limited");
    // Health and metrics are not limited.
    assert_eq!(h.raw("GET", "/healthz", None, None).await.0, 200);
    let metrics = h.raw("GET", "/metrics", None, None).await.1;
    assert!(metrics.as_str().unwrap().contains("urna_vote_rate_limited_total"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operational_endpoints() {
    let h = start(Options::default()).await;
    assert_eq!(h.raw("GET", "/healthz", None, None).await.0, 200);
    assert_eq!(h.raw("GET", "/readyz", None, None).await.0, 200);
    let (status, doc) = h.raw("GET", "/openapi.json", None, None).await;
    assert_eq!(status, 200);
    assert_eq!(doc["openapi"], "3.1.0");
    for (method, path) in urna_vote::openapi::ROUTES {
        assert!(doc["paths"][path][method].is_object(), "{method} {path}");
    }
    let (voter, _) = h.voters[0].clone();
    cast(&h.client, &h.election, &voter, None).await.unwrap();
    let metrics = h.raw("GET", "/metrics", None, None).await.1;
    let metrics = metrics.as_str().unwrap().to_owned();
    for needle in [
        "urna_vote_http_requests_total{route=\"/v1/ballots\",method=\"POST\",status=\"201\"} 1",
        "urna_vote_http_requests_total{route=\"/v1/sessions\",method=\"POST\",status=\"200\"} 1",
        "urna_vote_rights_issued_total 1",
        "urna_vote_ballots_total{outcome=\"accepted\",reason=\"ok\"} 1",
        "urna_vote_ballots_pending 0",
    ] {
        assert!(metrics.contains(needle), "missing {needle} in\n{metrics}");
    }
    // The double envelope, in the metrics: no voter id and no AnonID anywhere.
    assert!(!metrics.contains(&voter.voter_id));
    for a in h.audit_entries() {
        assert!(!metrics.contains(&a));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shard_outage_retries_then_resumes() {
    let h = start(Options::default()).await;
    // Two failures: the built-in retries absorb them.
    h.shard.fail_next.store(2, Ordering::SeqCst);
    let (v0, _) = h.voters[0].clone();
    let c = cast(&h.client, &h.election, &v0, None).await.unwrap();
    assert_eq!(c.receipt.log_index, 0);
    assert!(h.shard.requests.load(Ordering::SeqCst) >= 3);

    // A long outage: the ballot is recorded (the right is used) but pending; resubmitting the identical
    // package once the shard is back completes it, without a second audit entry.
    h.shard.down.store(true, Ordering::SeqCst);
    let (v1, d1) = h.voters[1].clone();
    let token = h.client.authenticate(&v1.voter_id, &v1.credential).await.unwrap().token;
    let sel = random_selections(&h.election.codec, &d1, &mut urna_crypto::os_rng()).unwrap();
    let ballot = h.election.encrypt(&d1, sel).await.unwrap();
    let package = sign_ballot(&h.client, &h.election, &v1.voter_id, &token, ballot).await.unwrap();
    let err = h.client.submit(&package).await.unwrap_err();
    assert_eq!(err.code(), Some("unavailable"), "{err}");
    let (_, status) = h.raw("GET", "/v1/status", None, None).await;
    assert_eq!(status["ballotsPending"], 1);
    h.shard.down.store(false, Ordering::SeqCst);
    let receipt = h.client.submit(&package).await.unwrap();
    assert_eq!(receipt.log_index, 1);
    assert_eq!(h.audit_entries().len(), 2);
    let (_, status) = h.raw("GET", "/v1/status", None, None).await;
    assert_eq!(status["ballotsPending"], 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn partitions_send_voters_to_their_replica() {
    let h = start(Options { partition: "0/2".parse().unwrap(), voters: 8, ..Options::default() }).await;
    let mut served = 0;
    for (v, _) in &h.voters {
        let id = urna_vote::wire::parse_voter_id(&v.voter_id).unwrap();
        let owner = urna_vote::Partition::of_voter(&id, 2);
        match h.client.authenticate(&v.voter_id, &v.credential).await {
            Ok(_) => {
                assert_eq!(owner, 0);
                served += 1;
            }
            Err(urna_vote::ClientError::Api { code, partition, .. }) => {
                assert_eq!((code.as_str(), partition), ("wrong_partition", Some(1)));
                assert_eq!(owner, 1);
            }
            Err(e) => panic!("{e}"),
        }
    }
    let (_, status) = h.raw("GET", "/v1/status", None, None).await;
    assert_eq!(status["census"], served, "only this partition's voters were imported");

    // Its own prefix (what the voter app sends through a cluster's Ingress) reaches the same routes; another
    // partition's prefix is not served here.
    let (v, _) = h
        .voters
        .iter()
        .find(|(v, _)| urna_vote::Partition::of_voter(&urna_vote::wire::parse_voter_id(&v.voter_id).unwrap(), 2) == 0)
        .expect("a voter of partition 0");
    let body = serde_json::to_vec(&json!({ "voterId": v.voter_id, "credential": v.credential })).unwrap();
    let prefix = urna_vote::Partition::path_prefix(0);
    let (code, session) = h.raw("POST", &format!("{prefix}/v1/sessions"), None, Some(body.clone())).await;
    assert_eq!(code, 200, "{session}");
    assert!(session["token"].is_string(), "{session}");
    for route in urna_vote::Partition::ROUTES {
        let (code, _) = h.raw("POST", &format!("{prefix}{route}"), None, Some(b"{}".to_vec())).await;
        assert_ne!(code, 404, "{prefix}{route} is served");
    }
    let other = urna_vote::Partition::path_prefix(1);
    let (code, _) = h.raw("POST", &format!("{other}/v1/sessions"), None, Some(body)).await;
    assert_eq!(code, 404, "another partition's prefix is not a route here");
}
