//! The fleet monitor's outputs beyond the feed: Prometheus metrics and probes over real HTTP on 127.0.0.1
//! (with the real broker and a real booth), and the Kubernetes Events sink against kube's mock API
//! (`tower_test::mock::pair`: the test plays the apiserver and checks every request the sink sends).

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use http::{Method, Request, Response, StatusCode};
use kube::client::Body;
use serde_json::{Value, json};
use urna_booth::alerting::{Monitor, MonitorConfig};
use urna_booth::metrics::MonitorMetrics;
use urna_booth::monitor::Alert;
use urna_booth::rules::GeofenceSpec;
use urna_booth::sink::{self, AlertSink, KubeEvents};
use urna_booth::{Booth, BoothConfig};
use urna_broker::Broker;

use common::{FLEET, Net, fast_backoff, geofence_rules};

type Res = Result<(), Box<dyn std::error::Error>>;

async fn eventually(what: &str, mut f: impl AsyncFnMut() -> Result<bool, Box<dyn std::error::Error>>) -> Res {
    for _ in 0..1200 {
        if f().await? {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(format!("never happened: {what}").into())
}

/// GET over a plain TCP connection: (status code, body).
async fn get(addr: SocketAddr, path: &str) -> Result<(u16, String), Box<dyn std::error::Error>> {
    let r = urna_testkit::Request::get(path).send_async(addr).await?;
    Ok((r.status, r.text()))
}

/// The value of one sample line (`name{labels} value`) in a Prometheus text exposition.
fn sample(body: &str, series: &str) -> Option<f64> {
    body.lines().find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.trim().parse().ok())
}

#[tokio::test]
async fn metrics_and_probes_over_http() -> Res {
    let net = Net::new()?;
    let broker = net.broker("127.0.0.1:0".parse()?).await?;
    let endpoint = |id: &str| net.endpoint(id, broker.mqtt_addr);
    // A webhook nobody listens on: every alert is a delivery failure once its retries are spent.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?;
    let fence = GeofenceSpec { lat: 19.43, lon: -99.13, radius_m: 300.0 };
    let rules = geofence_rules(&[("mesa-7-1", "mesa-7")], fence);
    let monitor = Monitor::start(MonitorConfig {
        fleet: FLEET.into(),
        client_id: "urna-bridge-monitor".into(),
        endpoints: vec![endpoint("urna-bridge")?],
        rules,
        webhook: Some(format!("http://{closed}/alerts")),
        webhook_roots: urna_booth::sink::WebhookRoots::System,
        listen: "127.0.0.1:0".parse()?,
        tick: Duration::from_millis(100),
        backoff: fast_backoff(),
    })
    .await?;
    let addr = monitor.addr;
    assert_eq!(get(addr, "/healthz").await?.0, 200);
    eventually("ready once subscribed", async || Ok(get(addr, "/readyz").await?.0 == 200)).await?;

    let dir = tempfile::tempdir()?;
    let mut cfg = BoothConfig::new(FLEET, "mesa-7-1", endpoint("mesa-7-1")?);
    cfg.gps = Duration::from_millis(100);
    cfg.heartbeat = Duration::from_millis(100);
    cfg.position = (19.45, -99.13);
    cfg.backoff = fast_backoff();
    let booth = Booth::start(cfg, &dir.path().join("b.redb"))?;

    eventually("geofence alert, device online and the webhook failure counted", async || {
        let (status, body) = get(addr, "/metrics").await?;
        assert_eq!(status, 200);
        Ok(sample(&body, r#"urna_monitor_alerts_total{rule="outside_geofence"}"#) == Some(1.0)
            && sample(&body, "urna_monitor_devices_seen") == Some(1.0)
            && sample(&body, "urna_monitor_devices_online") == Some(1.0)
            && sample(&body, "urna_monitor_active_alerts") == Some(1.0)
            && sample(&body, r#"urna_monitor_delivery_failures_total{sink="webhook"}"#) == Some(1.0))
    })
    .await?;
    let (_, body) = get(addr, "/metrics").await?;
    // Every rule has its series from the start; labels never carry a device or mesa.
    for rule in urna_booth::monitor::RULES {
        assert!(sample(&body, &format!("urna_monitor_alerts_total{{rule=\"{rule}\"}}")).is_some(), "{rule}: {body}");
    }
    assert_eq!(sample(&body, r#"urna_monitor_alerts_total{rule="sos"}"#), Some(0.0));
    assert_eq!(sample(&body, r#"urna_monitor_delivery_failures_total{sink="events"}"#), Some(0.0));
    assert!(sample(&body, "urna_monitor_messages_total").is_some_and(|n| n >= 1.0), "{body}");
    assert!(!body.contains("mesa-7"), "{body}");
    assert_eq!(monitor.metrics.alert_count("outside_geofence"), 1);

    // Without the broker the monitor sees nothing, and says so.
    booth.stop().await;
    broker.shutdown().await;
    eventually("not ready without the broker", async || Ok(get(addr, "/readyz").await?.0 == 503)).await?;
    assert_eq!(get(addr, "/healthz").await?.0, 200);
    monitor.stop().await;
    Ok(())
}

/// Two broker shards (separate rumqttd each): one monitor judges booths on both, and is ready only while it
/// is subscribed to both.
#[tokio::test]
async fn one_monitor_sees_every_broker_shard() -> Res {
    let net = Net::new()?;
    let shards = [net.broker("127.0.0.1:0".parse()?).await?, net.broker("127.0.0.1:0".parse()?).await?];
    let endpoint = |id: &str, broker: &Broker| net.endpoint(id, broker.mqtt_addr);
    let fence = GeofenceSpec { lat: 19.43, lon: -99.13, radius_m: 300.0 };
    let devices = ["mesa-1-1", "mesa-2-1"];
    let pairs: Vec<(&str, &str)> = devices.iter().map(|d| (*d, &d[..6])).collect();
    let rules = geofence_rules(&pairs, fence);
    let monitor = Monitor::start(MonitorConfig {
        fleet: FLEET.into(),
        client_id: "urna-bridge-monitor".into(),
        endpoints: vec![endpoint("urna-bridge", &shards[0])?, endpoint("urna-bridge", &shards[1])?],
        rules,
        webhook: None,
        webhook_roots: urna_booth::sink::WebhookRoots::System,
        listen: "127.0.0.1:0".parse()?,
        tick: Duration::from_millis(100),
        backoff: fast_backoff(),
    })
    .await?;
    let addr = monitor.addr;
    eventually("ready once subscribed to both shards", async || Ok(get(addr, "/readyz").await?.0 == 200)).await?;
    // One booth on each shard, both outside their geofence.
    let dir = tempfile::tempdir()?;
    let mut booths = Vec::new();
    for (device, broker) in devices.iter().zip(&shards) {
        let mut cfg = BoothConfig::new(FLEET, device, endpoint(device, broker)?);
        cfg.gps = Duration::from_millis(100);
        cfg.heartbeat = Duration::from_millis(100);
        cfg.position = (19.45, -99.13);
        cfg.backoff = fast_backoff();
        booths.push(Booth::start(cfg, &dir.path().join(format!("{device}.redb")))?);
    }
    eventually("both booths seen and both alerted", async || {
        let (_, body) = get(addr, "/metrics").await?;
        Ok(sample(&body, "urna_monitor_devices_seen") == Some(2.0)
            && sample(&body, r#"urna_monitor_alerts_total{rule="outside_geofence"}"#) == Some(2.0)
            && sample(&body, "urna_monitor_subscribed") == Some(2.0))
    })
    .await?;
    // One shard gone: half the fleet unseen, so not ready.
    let [first, second] = shards;
    for b in booths {
        b.stop().await;
    }
    second.shutdown().await;
    eventually("not ready with a shard unreachable", async || Ok(get(addr, "/readyz").await?.0 == 503)).await?;
    monitor.stop().await;
    first.shutdown().await;
    Ok(())
}

/// One request as the fake apiserver saw it.
#[derive(Debug)]
struct Seen {
    method: Method,
    path: String,
    body: Value,
}

type Handle = tower_test::mock::Handle<Request<Body>, Response<Body>>;

/// The apiserver's side of kube's mock client: takes the next request, answers `status` with `reply`
/// (or with the request's own body for a 2xx without one), and returns what was asked.
async fn answer(handle: &mut std::pin::Pin<Box<Handle>>, status: u16, reply: Option<Value>) -> Seen {
    let (req, send) = handle.next_request().await.expect("the client sent a request");
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let bytes = req.into_body().collect_bytes().await.expect("request body");
    let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let reply = reply.unwrap_or_else(|| body.clone());
    let resp = Response::builder()
        .status(StatusCode::from_u16(status).expect("status code"))
        .body(Body::from(serde_json::to_vec(&reply).expect("json")))
        .expect("response");
    send.send_response(resp);
    Seen { method, path, body }
}

fn alert(device: &str, rule: &'static str, evidence: Value) -> Alert {
    Alert {
        id: 0,
        device: device.into(),
        mesa: "mesa-4".into(),
        district: String::new(),
        rule,
        priority: urna_booth::monitor::priority(rule),
        evidence,
        at_ms: 1,
    }
}

#[tokio::test]
async fn kubernetes_events_sink_posts_a_warning_per_alert_on_the_boothfleet() -> Res {
    let (svc, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let client = kube::Client::new(svc, "default");
    let mut handle = Box::pin(handle);
    const EVENTS: &str = "/apis/events.k8s.io/v1/namespaces/ciudad/events";

    // The ApiServerVerifier: every request the sink sends, in order, checked and answered.
    let verifier = tokio::spawn(async move {
        let mut seen = Vec::new();
        // The BoothFleet is read once, for its uid.
        let fleet = json!({
            "apiVersion": "urna.dev/v1alpha1", "kind": "BoothFleet",
            "metadata": {"name": "fleet-a", "namespace": "ciudad", "uid": "b0074f1e-0000-4000-8000-000000000001"},
            "spec": {}
        });
        seen.push(answer(&mut handle, 200, Some(fleet)).await);
        // Two alerts of one rule on two devices: two events (not one series hiding the second device).
        seen.push(answer(&mut handle, 201, None).await);
        seen.push(answer(&mut handle, 201, None).await);
        // The apiserver refuses the third (RBAC): a delivery failure, nothing retried.
        let forbidden = json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Forbidden",
            "code": 403, "message": "events.events.k8s.io is forbidden"});
        seen.push(answer(&mut handle, 403, Some(forbidden)).await);
        seen
    });

    let events = KubeEvents::new(client, "ciudad", "fleet-a").await;
    assert_eq!(events.regarding().uid.as_deref(), Some("b0074f1e-0000-4000-8000-000000000001"));
    assert_eq!(events.name(), "events");
    let metrics = Arc::new(MonitorMetrics::new());
    let (tx, task) = sink::spawn(events, metrics.clone());
    tx.send(alert("mesa-4-1", "turnout_above_census", json!({"ballots": 401, "census": 400}))).await?;
    tx.send(alert("mesa-4-2", "turnout_above_census", json!({"ballots": 402, "census": 400}))).await?;
    tx.send(alert("mesa-9-1", "sos", json!({"reason": "captured"}))).await?;
    drop(tx);
    // The sink's task ends when its queue is closed and drained.
    tokio::time::timeout(Duration::from_secs(60), task).await??;
    let seen = tokio::time::timeout(Duration::from_secs(60), verifier).await??;

    assert_eq!(seen[0].method, Method::GET);
    assert_eq!(seen[0].path, "/apis/urna.dev/v1alpha1/namespaces/ciudad/boothfleets/fleet-a");
    for (s, device, ballots) in [(&seen[1], "mesa-4-1", 401), (&seen[2], "mesa-4-2", 402)] {
        assert_eq!((&s.method, s.path.as_str()), (&Method::POST, EVENTS));
        let e = &s.body;
        assert_eq!(e["type"], "Warning");
        assert_eq!(e["reason"], "turnout_above_census");
        let note = e["note"].as_str().unwrap_or_default();
        assert!(note.contains(device) && note.contains("mesa-4") && note.contains(&ballots.to_string()), "{note}");
        assert_eq!(e["regarding"]["apiVersion"], "urna.dev/v1alpha1");
        assert_eq!(e["regarding"]["kind"], "BoothFleet");
        assert_eq!(e["regarding"]["namespace"], "ciudad");
        assert_eq!(e["regarding"]["name"], "fleet-a");
        assert_eq!(e["regarding"]["uid"], "b0074f1e-0000-4000-8000-000000000001");
        assert_eq!(e["reportingController"], "urna-booth-monitor");
        assert_eq!(e["metadata"]["namespace"], "ciudad");
    }
    assert_eq!(
        (&seen[3].method, seen[3].path.as_str(), &seen[3].body["reason"]),
        (&Method::POST, EVENTS, &json!("sos"))
    );
    assert_eq!(metrics.delivery_failure_count("events"), 1);
    assert_eq!(metrics.delivery_failure_count("webhook"), 0);
    Ok(())
}

#[tokio::test]
async fn a_boothfleet_that_cannot_be_read_still_gets_events() -> Res {
    let (svc, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    let client = kube::Client::new(svc, "default");
    let mut handle = Box::pin(handle);
    let verifier = tokio::spawn(async move {
        let missing = json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound",
            "code": 404, "message": "boothfleets.urna.dev \"fleet-a\" not found"});
        let get = answer(&mut handle, 404, Some(missing)).await;
        let post = answer(&mut handle, 201, None).await;
        (get, post)
    });
    let events = KubeEvents::new(client, "ciudad", "fleet-a").await;
    assert_eq!(events.regarding().uid, None);
    events.deliver(&alert("mesa-9-1", "sos", json!({"reason": "captured"}))).await?;
    let (get, post) = tokio::time::timeout(Duration::from_secs(60), verifier).await??;
    assert_eq!(get.method, Method::GET);
    assert_eq!(post.path, "/apis/events.k8s.io/v1/namespaces/ciudad/events");
    assert_eq!(post.body["regarding"]["name"], "fleet-a");
    assert!(post.body["regarding"].get("uid").is_none_or(Value::is_null));
    Ok(())
}

/// `GET /v1/status` of the monitor (devices online, offline, blocked; alerts) and of the broker (sessions,
/// blocklist), as the operator reads them: typed by `urna-status`, over real HTTP with a real broker and booths.
#[tokio::test]
async fn status_endpoints_count_devices_online_offline_and_blocked() -> Res {
    let net = Net::new()?;
    let broker = net.broker("127.0.0.1:0".parse()?).await?;
    broker.blocklist.block("mesa-9-1");
    let endpoint = |id: &str| net.endpoint(id, broker.mqtt_addr);
    let fence = GeofenceSpec { lat: 19.43, lon: -99.13, radius_m: 300.0 };
    let rules = geofence_rules(&[("mesa-7-1", "mesa-7"), ("mesa-8-1", "mesa-8"), ("mesa-9-1", "mesa-9")], fence);
    let monitor = Monitor::start(MonitorConfig {
        fleet: FLEET.into(),
        client_id: "urna-bridge-monitor".into(),
        endpoints: vec![endpoint("urna-bridge")?],
        rules,
        webhook: None,
        webhook_roots: urna_booth::sink::WebhookRoots::System,
        listen: "127.0.0.1:0".parse()?,
        tick: Duration::from_millis(100),
        backoff: fast_backoff(),
    })
    .await?;
    let addr = monitor.addr;
    let status = async || -> Result<urna_status::monitor::MonitorStatus, Box<dyn std::error::Error>> {
        let (code, body) = get(addr, "/v1/status").await?;
        assert_eq!(code, 200, "{body}");
        Ok(serde_json::from_str(&body)?)
    };
    let before = status().await?;
    assert_eq!((before.devices_expected, before.devices_online, before.devices_offline), (3, 0, 3));
    eventually("subscribed", async || Ok(status().await?.brokers_subscribed == 1)).await?;

    let dir = tempfile::tempdir()?;
    let online = net.booth("mesa-7-1", broker.mqtt_addr, &dir.path().join("7.redb"))?;
    let blocked = net.booth("mesa-9-1", broker.mqtt_addr, &dir.path().join("9.redb"))?;
    eventually("one online, one blocked, two offline", async || {
        let s = status().await?;
        Ok((s.devices_online, s.devices_offline, s.devices_blocked) == (1, 2, 1))
    })
    .await?;
    let s = status().await?;
    assert_eq!((s.fleet.as_str(), s.brokers, s.brokers_subscribed), (FLEET, 1, 1));

    let (code, body) = get(broker.status_addr, "/v1/status").await?;
    assert_eq!(code, 200, "{body}");
    let b: urna_status::broker::BrokerStatus = serde_json::from_str(&body)?;
    assert_eq!(b.blocked, vec!["mesa-9-1".to_owned()]);
    assert!(b.connections >= 2, "the monitor and booth mesa-7-1: {b:?}");

    online.stop().await;
    blocked.stop().await;
    monitor.stop().await;
    broker.shutdown().await;
    Ok(())
}
