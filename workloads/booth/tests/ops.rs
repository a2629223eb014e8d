//! The operations centre over real HTTP on 127.0.0.1, with the real broker and real booths: the fleet state
//! kept and served (and kept across a restart of the monitor), alerts routed to the officers of their
//! district (desk, live events and webhook) and to no other, SOS as a critical alert, and officers' device
//! actions through the existing channels (MQTT commands, the broker's blocklist API), each checked
//! (authentication, region, known device, known alert) and recorded with who and when, in the monitor's store
//! and as `officer-action` events of a real audit log.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use urna_booth::alerting::{Monitor, MonitorConfig};
use urna_booth::ops::routing::token_sha256;
use urna_booth::ops::state::ActionRecord;
use urna_booth::ops::{BrokerAdmin, OpsConfig};
use urna_booth::rules::{FleetRules, GeofenceSpec, MesaRules, Officer};
use urna_testkit::{Request, webhook};

use common::{FLEET, Net, fast_backoff};

type Error = Box<dyn std::error::Error + Send + Sync>;
type Res = Result<(), Error>;

async fn eventually(what: &str, mut f: impl AsyncFnMut() -> Result<bool, Error>) -> Res {
    for _ in 0..400 {
        if f().await? {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(format!("never happened: {what}").into())
}

/// One HTTP/1.1 request over a fresh connection: (status, JSON body or Null).
async fn call(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Result<(u16, Value), Error> {
    let r = Request::new(method, path)
        .bearer(token)
        .header("Content-Type", "application/json")
        .body(body.map(|b| b.to_string()).unwrap_or_default())
        .send_async(addr)
        .await?;
    Ok((r.status, r.json()))
}

fn rules(officers: Vec<Officer>) -> FleetRules {
    let fence = GeofenceSpec { lat: 19.43, lon: -99.13, radius_m: 300.0 };
    let mesa = |m: &str, d: &str| MesaRules {
        mesa: m.into(),
        district: Some(d.into()),
        geofence: Some(fence),
        opens_ms: None,
        closes_ms: None,
        census: None,
    };
    FleetRules {
        devices: [("c-1", "mc", "centro"), ("c-2", "mc", "centro"), ("n-1", "mn", "norte")]
            .into_iter()
            .map(|(d, m, dist)| (d.to_owned(), mesa(m, dist)))
            .collect(),
        offline_after_ms: 600_000,
        votes_per_hour_limit: 1e9,
        vote_rate_z: Some(1e9),
        flap_connects: Some(1000),
        flap_window_ms: Some(1),
        auth_failures: Some(50),
        auth_failure_window_ms: Some(60_000),
        officers,
    }
}

fn rules_of(v: &Value) -> Vec<(String, String)> {
    v.as_array()
        .into_iter()
        .flatten()
        .map(|a| (a["device"].as_str().unwrap_or("").to_owned(), a["rule"].as_str().unwrap_or("").to_owned()))
        .collect()
}

async fn desk(addr: SocketAddr, token: &str) -> Result<Value, Error> {
    Ok(call(addr, "GET", "/v1/ops/desk", Some(token), None).await?.1["alerts"].clone())
}

async fn device(addr: SocketAddr, token: &str, id: &str) -> Result<Value, Error> {
    let (_, fleet) = call(addr, "GET", "/v1/ops/fleet", Some(token), None).await?;
    Ok(fleet["devices"].as_array().into_iter().flatten().find(|d| d["id"] == id).cloned().unwrap_or(Value::Null))
}

/// Reads a server-sent events stream until `want` appears in it.
async fn sse_until(addr: SocketAddr, token: &str, want: &str, trigger: impl AsyncFnOnce() -> Res) -> Res {
    let mut s = TcpStream::connect(addr).await?;
    s.write_all(format!("GET /v1/ops/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {token}\r\n\r\n").as_bytes())
        .await?;
    let mut text = String::new();
    let mut chunk = [0u8; 8192];
    let n = tokio::time::timeout(Duration::from_secs(5), s.read(&mut chunk)).await??;
    text.push_str(&String::from_utf8_lossy(&chunk[..n]));
    assert!(text.contains("text/event-stream"), "{text}");
    trigger().await?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while !text.contains(want) {
        let n = tokio::time::timeout_at(deadline, s.read(&mut chunk))
            .await
            .map_err(|_| format!("no {want:?} in {text}"))??;
        if n == 0 {
            return Err("event stream closed".into());
        }
        text.push_str(&String::from_utf8_lossy(&chunk[..n]));
    }
    Ok(())
}

#[tokio::test]
async fn officers_see_their_region_and_act_through_the_fleet_channels() -> Res {
    let net = Net::new().map_err(|e| e.to_string())?;
    let broker = net.broker("127.0.0.1:0".parse()?).await.map_err(|e| e.to_string())?;
    let (centro_hook, centro_got) = webhook().await?;
    let (norte_hook, norte_got) = webhook().await?;
    let officer = |id: &str, d: &str, hook: &str| Officer {
        id: id.into(),
        name: format!("Oficial {d}"),
        districts: vec![d.into()],
        webhook: Some(hook.into()),
        token_sha256: token_sha256(&format!("token-{id}")),
    };
    let rules = rules(vec![officer("oc", "centro", &centro_hook), officer("on", "norte", &norte_hook)]);
    let (tc, tn) = ("token-oc", "token-on");
    let dir = tempfile::tempdir()?;
    let config = || -> Result<MonitorConfig, Error> {
        Ok(MonitorConfig {
            fleet: FLEET.into(),
            client_id: "urna-bridge-monitor".into(),
            endpoints: vec![net.endpoint("urna-bridge", broker.mqtt_addr).map_err(|e| e.to_string())?],
            rules: rules.clone(),
            webhook: None,
            webhook_roots: urna_booth::sink::WebhookRoots::System,
            listen: "127.0.0.1:0".parse()?,
            tick: Duration::from_millis(200),
            backoff: fast_backoff(),
        })
    };
    // The election's audit log, as `urna audit` serves it, guarded by the election's internal token.
    let internal = urna_auth::Token::generate()?;
    let mut log_config = urna_audit::LogConfig::new("urna.test/ops");
    log_config.batch_wait = Duration::from_millis(20);
    let log = urna_audit::AuditLog::open(&dir.path().join("log.redb"), urna_audit::LogKey::generate()?, log_config)?;
    let log_listener = TcpListener::bind("127.0.0.1:0").await?;
    let log_addr = log_listener.local_addr()?;
    let (log_stop, log_stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(log.serve(log_listener, urna_auth::ServiceAuth::Token(internal.clone()), async move {
        let _ = log_stopped.await;
    }));
    let ops = OpsConfig {
        store: dir.path().join("ops.redb"),
        brokers: vec![BrokerAdmin { url: format!("http://{}", broker.status_addr), token: None }],
        flush: Duration::from_millis(100),
        tiles: None,
        audit: Some(urna_audit::AuditClient::new(&format!("http://{log_addr}")).with_token(internal.clone())),
    };
    let monitor = Monitor::start_full(config()?, None, Some(ops.clone())).await?;
    let addr = monitor.addr;

    let booth = |id: &str| -> Result<urna_booth::Booth, Error> {
        let mut cfg =
            urna_booth::BoothConfig::new(FLEET, id, net.endpoint(id, broker.mqtt_addr).map_err(|e| e.to_string())?);
        cfg.heartbeat = Duration::from_millis(200);
        cfg.gps = Duration::from_secs(3600);
        cfg.position = (19.4301, -99.1301);
        cfg.backoff = fast_backoff();
        Ok(urna_booth::Booth::start(cfg, &dir.path().join(format!("{id}.redb")))?)
    };
    let (c1, c2, n1) = (booth("c-1")?, booth("c-2")?, booth("n-1")?);

    // Authentication: no token, a wrong token.
    assert_eq!(call(addr, "GET", "/v1/ops/fleet", None, None).await?.0, 401);
    assert_eq!(call(addr, "GET", "/v1/ops/desk", Some("token-x"), None).await?.0, 401);
    assert_eq!(call(addr, "POST", "/v1/ops/devices/c-1/lock", None, None).await?.0, 401);
    let (_, me) = call(addr, "GET", "/v1/ops/me", Some(tn), None).await?;
    assert_eq!((me["id"].as_str(), me["districts"].clone()), (Some("on"), json!(["norte"])));

    eventually("every booth online on the map, with its position and heartbeat", async || {
        let (status, fleet) = call(addr, "GET", "/v1/ops/fleet", Some(tn), None).await?;
        assert_eq!(status, 200);
        let devices = fleet["devices"].as_array().cloned().unwrap_or_default();
        Ok(devices.len() == 3
            && devices.iter().all(|d| {
                d["state"] == "online" && d["position"]["lat"].is_number() && d["health"]["pending"].is_number()
            }))
    })
    .await?;
    let (_, fleet) = call(addr, "GET", "/v1/ops/fleet", Some(tc), None).await?;
    assert_eq!(fleet["mesas"].as_array().map(Vec::len), Some(2), "{fleet}");
    assert_eq!(fleet["mesas"][0]["geofence"]["radiusM"], 300.0);

    // c-1 is moved 2 km: alerting on the map, on centro's desk and webhook; not norte's.
    c1.move_to(19.45, -99.13)?;
    eventually("the geofence alert on centro's desk", async || {
        Ok(rules_of(&desk(addr, tc).await?) == [("c-1".to_owned(), "outside_geofence".to_owned())])
    })
    .await?;
    assert_eq!(desk(addr, tn).await?, json!([]));
    eventually("c-1 red on the map", async || Ok(device(addr, tn, "c-1").await?["state"] == "alerting")).await?;
    let geofence_id = desk(addr, tc).await?[0]["id"].as_u64().ok_or("no id")?;
    assert_eq!(desk(addr, tc).await?[0]["priority"], "high");

    // n-1 presses SOS, seen live by norte's dashboard (server-sent events) and at norte's webhook.
    sse_until(addr, tn, "\"rule\":\"sos\"", async || {
        n1.sos("booth captured")?;
        Ok(())
    })
    .await?;
    eventually("the SOS on norte's desk, critical", async || {
        let d = desk(addr, tn).await?;
        Ok(rules_of(&d) == [("n-1".to_owned(), "sos".to_owned())]
            && d[0]["priority"] == "critical"
            && d[0]["evidence"]["reason"] == "booth captured")
    })
    .await?;
    eventually("each webhook got its region's alert", async || {
        let c = centro_got.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let n = norte_got.lock().unwrap_or_else(|e| e.into_inner()).clone();
        Ok(c.len() == 1 && n.len() == 1)
    })
    .await?;
    let c = centro_got.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let n = norte_got.lock().unwrap_or_else(|e| e.into_inner()).clone();
    assert_eq!(
        (c[0]["device"].as_str(), c[0]["district"].as_str(), c[0]["id"].as_u64()),
        (Some("c-1"), Some("centro"), Some(geofence_id))
    );
    assert_eq!((n[0]["rule"].as_str(), n[0]["priority"].as_str()), (Some("sos"), Some("critical")));
    assert!(!desk(addr, tc).await?.to_string().contains("n-1"), "centro never sees norte's SOS");

    // Handling alerts: only by the region's officers, only alerts that exist, a note to resolve.
    let path = |id: u64, a: &str| format!("/v1/ops/alerts/{id}/{a}");
    assert_eq!(call(addr, "POST", &path(geofence_id, "acknowledge"), Some(tn), None).await?.0, 403);
    assert_eq!(call(addr, "POST", &path(999, "acknowledge"), Some(tc), None).await?.0, 404);
    assert_eq!(call(addr, "POST", &path(geofence_id, "reboot"), Some(tc), None).await?.0, 404);
    assert_eq!(call(addr, "POST", &path(geofence_id, "resolve"), Some(tc), Some(json!({ "note": "" }))).await?.0, 400);
    let (status, acked) = call(addr, "POST", &path(geofence_id, "acknowledge"), Some(tc), None).await?;
    assert_eq!((status, acked["alert"]["status"].as_str()), (200, Some("acknowledged")));
    let (status, _) =
        call(addr, "POST", &path(geofence_id, "escalate"), Some(tc), Some(json!({ "note": "police notified" })))
            .await?;
    assert_eq!(status, 200);

    // Lock: refused for another region and an unknown device; then the booth stops taking ballots.
    assert_eq!(call(addr, "POST", "/v1/ops/devices/c-2/lock", Some(tn), None).await?.0, 403);
    assert_eq!(call(addr, "POST", "/v1/ops/devices/zz-9/lock", Some(tc), None).await?.0, 404);
    assert_eq!(call(addr, "POST", "/v1/ops/devices/c-2/explode", Some(tc), None).await?.0, 404);
    assert!(c2.accepting().is_ok());
    let (status, act) =
        call(addr, "POST", "/v1/ops/devices/c-2/lock", Some(tc), Some(json!({ "note": "queue dispute" }))).await?;
    assert_eq!(
        (status, act["action"]["officer"].as_str(), act["action"]["action"].as_str()),
        (200, Some("oc"), Some("lock"))
    );
    eventually("c-2 locked", async || Ok(c2.accepting().is_err())).await?;
    assert!(matches!(c2.cast_ballot(json!({})), Err(urna_booth::Error::Refused("locked"))));
    eventually("c-2 locked on the map", async || Ok(device(addr, tc, "c-2").await?["state"] == "locked")).await?;
    assert_eq!(call(addr, "POST", "/v1/ops/devices/c-2/unlock", Some(tc), None).await?.0, 200);
    eventually("c-2 takes ballots again", async || Ok(c2.accepting().is_ok())).await?;

    // Block through the broker's blocklist API, then unblock: the booth comes back and is told.
    assert_eq!(call(addr, "POST", "/v1/ops/devices/c-2/block", Some(tc), None).await?.0, 200);
    assert!(broker.blocklist.is_blocked("c-2"));
    eventually("c-2 blocked", async || Ok(c2.status()?.blocked)).await?;
    assert_eq!(call(addr, "POST", "/v1/ops/devices/c-2/unblock", Some(tc), None).await?.0, 200);
    assert!(!broker.blocklist.is_blocked("c-2"));
    eventually("c-2 unblocked after reconnecting", async || Ok(!c2.status()?.blocked && c2.status()?.connected))
        .await?;

    // Request position: a fresh fix arrives.
    let before = device(addr, tn, "n-1").await?["position"]["atMs"].as_u64().unwrap_or(0);
    assert_eq!(call(addr, "POST", "/v1/ops/devices/n-1/position", Some(tn), None).await?.0, 200);
    eventually("a new fix from n-1", async || {
        Ok(device(addr, tn, "n-1").await?["position"]["atMs"].as_u64().unwrap_or(0) > before)
    })
    .await?;

    // Every action recorded with who and when, in the officer's region only.
    let (_, actions) = call(addr, "GET", "/v1/ops/actions", Some(tc), None).await?;
    let done: Vec<(String, String)> = actions["actions"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|a| (a["officer"].as_str().unwrap_or("").to_owned(), a["action"].as_str().unwrap_or("").to_owned()))
        .collect();
    let expect: Vec<(String, String)> = ["acknowledge", "escalate", "lock", "unlock", "block", "unblock"]
        .iter()
        .map(|a| ("oc".to_owned(), (*a).to_owned()))
        .collect();
    assert_eq!(done, expect);
    assert!(actions["actions"][0]["atMs"].as_u64().is_some_and(|t| t > 0));
    assert_logged(addr, &[tc, tn], log_addr, 7).await?;

    // The monitor restarts: the same desk, handling, record and numbering.
    c1.stop().await;
    c2.stop().await;
    n1.stop().await;
    monitor.stop().await;
    let monitor = Monitor::start_full(config()?, None, Some(ops)).await?;
    let addr = monitor.addr;
    let d = desk(addr, tc).await?;
    assert_eq!(
        (d[0]["id"].as_u64(), d[0]["status"].as_str(), d[0]["escalated"].as_bool()),
        (Some(geofence_id), Some("acknowledged"), Some(true))
    );
    assert_eq!(d[0]["history"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        call(addr, "GET", "/v1/ops/actions", Some(tc), None).await?.1["actions"].as_array().map(Vec::len),
        Some(6)
    );
    let c1 = device(addr, tc, "c-1").await?;
    assert_eq!((c1["position"]["lat"].as_f64(), c1["state"].as_str()), (Some(19.45), Some("alerting")));
    let (status, resolved) =
        call(addr, "POST", &path(geofence_id, "resolve"), Some(tc), Some(json!({ "note": "machine returned" })))
            .await?;
    assert_eq!((status, resolved["alert"]["status"].as_str()), (200, Some("resolved")));
    assert_eq!(call(addr, "POST", &path(geofence_id, "acknowledge"), Some(tc), None).await?.0, 409);
    assert_logged(addr, &[tc, tn], log_addr, 8).await?;
    // Voting is over and the log closed: an action is still taken and recorded, just not in the log.
    assert_eq!(call(log_addr, "POST", "/v1/close", Some(internal.expose()), None).await?.0, 200);
    assert_eq!(call(addr, "POST", "/v1/ops/devices/c-1/lock", Some(tc), None).await?.0, 200);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let (_, body) = call(addr, "GET", "/v1/ops/actions", Some(tc), None).await?;
    let last = body["actions"].as_array().and_then(|a| a.last()).cloned().unwrap_or_default();
    assert_eq!((last["action"].as_str(), last["logIndex"].is_null()), (Some("lock"), true), "{last}");
    assert_eq!(call(log_addr, "GET", "/v1/status", None, None).await?.1["treeSize"], 8);
    monitor.stop().await;
    broker.shutdown().await;
    let _ = log_stop.send(());
    Ok(())
}

/// Every one of the `n` actions the officers see (each their own region's) is, at its `logIndex`, an
/// `officer-action` event of the log naming its officer, action and target, with the digest of the record as
/// served; the log holds nothing else.
async fn assert_logged(addr: SocketAddr, tokens: &[&str], log: SocketAddr, n: usize) -> Res {
    let mut actions = std::collections::BTreeMap::new();
    eventually("every officer action in the audit log", async || {
        for token in tokens {
            let (_, body) = call(addr, "GET", "/v1/ops/actions", Some(token), None).await?;
            for a in serde_json::from_value::<Vec<ActionRecord>>(body["actions"].clone())? {
                actions.insert(a.seq, a);
            }
        }
        Ok(actions.len() == n && actions.values().all(|a| a.log_index.is_some()))
    })
    .await?;
    let (status, entries) = call(log, "GET", &format!("/v1/entries?start=0&end={n}"), None, None).await?;
    assert_eq!(status, 200, "{entries}");
    let entries = entries["entries"].as_array().cloned().unwrap_or_default();
    let (_, status) = call(log, "GET", "/v1/status", None, None).await?;
    assert_eq!((entries.len(), status["treeSize"].as_u64()), (n, Some(n as u64)), "one event per action, none twice");
    for a in actions.values() {
        let e = &entries[usize::try_from(a.log_index.unwrap_or(u64::MAX))?]["entry"];
        assert_eq!(e["kind"], "officer-action");
        assert_eq!(e["detail"], format!("officer {} {} {}", a.officer, a.action, a.target));
        assert_eq!(e["digest"], hex::encode(a.digest()));
    }
    Ok(())
}
