//! The bridge from the collector's inbox to the vote service, against a scripted vote service on 127.0.0.1:
//! it keeps each device's order, waits out outages and "not admitted yet" without skipping or dropping
//! anything, sets aside only ballots refused for good, and does nothing twice across a restart.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use http::{HeaderMap, StatusCode};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use urna_ballot::{Contest, ElectionManifest, Selection};
use urna_booth::ballot::BallotMachine;
use urna_booth::bridge::drained;
use urna_booth::inbox::Inbox;
use urna_booth::message::Envelope;
use urna_booth::{Bridge, BridgeConfig};
use urna_crypto::paillier::{KeySize, generate_keypair};
use urna_vote::client::VoterClient;

type Res = Result<(), Box<dyn std::error::Error>>;

fn manifest() -> ElectionManifest {
    ElectionManifest::single_district(
        "bridge-test",
        "d1",
        vec![Contest::single_choice("mayor", &["d1"], &["a", "b", "c"], true)],
    )
}

/// The vote service's booth endpoint, scripted: the first `outage` requests fail with 503; device `d1`'s
/// message 3 is "not admitted" until `admitted`; device `d2`'s message 1 is an invalid ballot.
#[derive(Default)]
struct Script {
    outage: Mutex<u32>,
    admitted: Mutex<bool>,
    /// Every (device, seq) answered with a receipt, in answer order, repeats included.
    recorded: Mutex<Vec<(String, u64)>>,
}

async fn booth_ballots(
    State(s): State<Arc<Script>>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    let error = |status: StatusCode, code: &str| (status, Json(json!({"error": {"code": code, "message": code}})));
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some("Bearer bridge-token") {
        return error(StatusCode::UNAUTHORIZED, "unauthorized");
    }
    {
        let mut outage = s.outage.lock().unwrap_or_else(|p| p.into_inner());
        if *outage > 0 {
            *outage -= 1;
            return error(StatusCode::SERVICE_UNAVAILABLE, "unavailable");
        }
    }
    let device = body["device"].as_str().unwrap_or_default().to_owned();
    let seq = body["seq"].as_u64().unwrap_or_default();
    if device == "d1" && seq == 3 && !*s.admitted.lock().unwrap_or_else(|p| p.into_inner()) {
        return error(StatusCode::CONFLICT, "not_admitted");
    }
    if device == "d2" && seq == 1 {
        return error(StatusCode::UNPROCESSABLE_ENTITY, "invalid_ballot");
    }
    s.recorded.lock().unwrap_or_else(|p| p.into_inner()).push((device, seq));
    let receipt = json!({"anonId": format!("{:064x}", seq), "logIndex": seq});
    (StatusCode::CREATED, Json(receipt))
}

fn envelope(device: &str, seq: u64, kind: &str, body: Value) -> Envelope {
    Envelope { device: device.into(), seq, kind: kind.into(), at_ms: 0, body }
}

fn bridge(url: &str, inbox: &Arc<Inbox>) -> Bridge {
    let config = BridgeConfig {
        vote: VoterClient::new(url),
        token: "bridge-token".into(),
        concurrency: 2,
        retry: Duration::from_millis(50),
    };
    Bridge::start(config, inbox.clone(), Arc::new(tokio::sync::Notify::new()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn order_kept_outages_waited_out_rejections_set_aside_nothing_twice() -> Res {
    let (pk, _sk) = generate_keypair(KeySize::InsecureTest1024, &mut urna_crypto::os_rng())?;
    let machine = BallotMachine::new(manifest(), pk, "d1")?;
    let ballot = |choice: usize| -> Result<Value, Box<dyn std::error::Error>> {
        let b = machine.encrypt(&[("mayor", Selection::Single { choice, write_in: None })])?;
        Ok(json!({ "ballot": b }))
    };

    let script = Arc::new(Script { outage: Mutex::new(3), ..Script::default() });
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let app = Router::new().route("/v1/booth/ballots", post(booth_ballots)).with_state(script.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });

    let dir = tempfile::tempdir()?;
    let inbox = Arc::new(Inbox::open(&dir.path().join("inbox.redb"))?);
    // d1: ballot, GPS fix, ballot (not admitted for a while), ballot; d2: invalid ballot, ballot.
    inbox.accept(&envelope("d1", 1, "ballot", ballot(0)?))?;
    inbox.accept(&envelope("d1", 2, "gps", json!({"lat": 0.0, "lon": 0.0})))?;
    inbox.accept(&envelope("d1", 3, "ballot", ballot(1)?))?;
    inbox.accept(&envelope("d1", 4, "ballot", ballot(0)?))?;
    inbox.accept(&envelope("d2", 1, "ballot", ballot(1)?))?;
    inbox.accept(&envelope("d2", 2, "ballot", ballot(0)?))?;

    let running = bridge(&url, &inbox);
    // Through the outage, d2 goes on past its refused ballot; d1 waits at message 3 and sends nothing after it.
    for _ in 0..200 {
        if script.recorded.lock().unwrap_or_else(|p| p.into_inner()).contains(&("d2".into(), 2)) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let recorded = script.recorded.lock().unwrap_or_else(|p| p.into_inner()).clone();
    assert!(recorded.contains(&("d1".into(), 1)) && recorded.contains(&("d2".into(), 2)), "{recorded:?}");
    assert!(!recorded.iter().any(|(d, s)| d == "d1" && *s >= 3), "d1 overtook its waiting ballot: {recorded:?}");
    assert_eq!(inbox.bridge_backlog()?, 2);

    // The stalled ballot admitted: the rest follows, in order.
    *script.admitted.lock().unwrap_or_else(|p| p.into_inner()) = true;
    assert!(drained(&inbox, Duration::from_secs(20)).await?);
    running.stop().await;

    let recorded = script.recorded.lock().unwrap_or_else(|p| p.into_inner()).clone();
    let mut per_device: HashMap<&str, Vec<u64>> = HashMap::new();
    for (d, s) in &recorded {
        per_device.entry(d.as_str()).or_default().push(*s);
    }
    assert_eq!(per_device["d1"], vec![1, 3, 4]);
    assert_eq!(per_device["d2"], vec![2]);
    assert_eq!(inbox.rejected()?, vec![(("d2".to_owned(), 1), "invalid_ballot".to_owned())]);

    // A restart finds nothing left to do.
    let again = bridge(&url, &inbox);
    tokio::time::sleep(Duration::from_millis(300)).await;
    again.stop().await;
    assert_eq!(script.recorded.lock().unwrap_or_else(|p| p.into_inner()).len(), recorded.len());
    Ok(())
}
