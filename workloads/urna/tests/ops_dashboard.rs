//! The operations dashboard (web/ops) end to end in real headless Chromium: a real broker with mutual TLS on
//! 127.0.0.1, 40 simulated booths in four Mesas of three districts (the municipal example's geofences), and
//! the fleet monitor as the operations centre serving the dashboard. web/ops/e2e/ops.mjs (playwright-core,
//! Debian's /usr/bin/chromium) signs in as the centro officer and sees every booth on the map; this test pushes
//! a centro booth out of its geofence and presses another's SOS: the booth turns red, both alerts reach the
//! centro officer's desk live and webhook, and neither reaches the norte officer's desk or webhook. The
//! officer acknowledges the SOS, resolves the geofence alert with a note, locks a booth (this test checks the
//! booth then refuses ballots) and unlocks it (and it takes them again).
//!
//! Needs node, web/node_modules (`npm ci` in web/) and Chromium; without them the test is skipped, loudly, and
//! under CI (`CI` set) it fails. URNA_SCREENSHOTS=docs/img/ops retakes the documentation's screenshots.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};
use urna_booth::alerting::{Monitor, MonitorConfig};
use urna_booth::ops::routing::token_sha256;
use urna_booth::ops::{BrokerAdmin, OpsConfig};
use urna_booth::rules::{FleetRules, GeofenceSpec, MesaRules, Officer};
use urna_booth::{Backoff, Booth, BoothConfig, Endpoint};
use urna_broker::{AdminAuth, Broker, BrokerConfig};
use urna_pki::FleetCa;
use urna_testkit::webhook;

mod browser;
use browser::{WEB, browser_tools};

const FLEET: &str = "ciudad-booths";

type Error = Box<dyn std::error::Error + Send + Sync>;

/// The municipal example's Mesas: (mesa, district, geofence centre), 10 booths each.
const MESAS: [(&str, &str, f64, f64); 4] = [
    ("mesa-centro-1", "centro", 19.4300, -99.1300),
    ("mesa-centro-2", "centro", 19.4400, -99.1400),
    ("mesa-norte-1", "norte", 19.4500, -99.1500),
    ("mesa-sur-1", "sur", 19.4600, -99.1600),
];

fn endpoint(ca: &FleetCa, id: &str, addr: SocketAddr) -> Result<Endpoint, Error> {
    Ok(Endpoint { addr, server_name: "localhost".into(), tls: ca.client(id)?.client_tls()? })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn officers_handle_alerts_and_booths_on_the_dashboard() -> Result<(), Error> {
    let chromium = match browser_tools() {
        Ok(c) => c,
        Err(why) if std::env::var_os("CI").is_none() => {
            eprintln!("SKIPPED ops_dashboard: {why}");
            return Ok(());
        }
        Err(why) => return Err(why.into()),
    };
    let ca = FleetCa::new(FLEET)?;
    let tls = ca.server(&["localhost"])?.server_tls()?;
    let mut bc = BrokerConfig::new(FLEET, tls, AdminAuth::InsecureNoAuth);
    bc.listen = "127.0.0.1:0".parse()?;
    let broker = Broker::start(bc).await?;
    let (centro_hook, centro_got) = webhook().await?;
    let (norte_hook, norte_got) = webhook().await?;
    let officer = |id: &str, d: &str, hook: &str| Officer {
        id: id.into(),
        name: format!("Oficialía {d}"),
        districts: vec![d.into()],
        webhook: Some(hook.into()),
        token_sha256: token_sha256(&format!("token-{id}")),
    };
    let backoff = Backoff { min: Duration::from_millis(50), max: Duration::from_millis(500) };
    let mut devices = BTreeMap::new();
    for (mesa, district, lat, lon) in MESAS {
        for n in 1..=10 {
            let fence = GeofenceSpec { lat, lon, radius_m: 150.0 };
            devices.insert(
                format!("{mesa}-{n}"),
                MesaRules {
                    mesa: mesa.into(),
                    district: Some(district.into()),
                    geofence: Some(fence),
                    opens_ms: None,
                    closes_ms: None,
                    census: None,
                },
            );
        }
    }
    let rules = FleetRules {
        devices,
        offline_after_ms: 120_000,
        votes_per_hour_limit: 1e9,
        vote_rate_z: Some(1e9),
        flap_connects: Some(1000),
        flap_window_ms: Some(1),
        auth_failures: Some(50),
        auth_failure_window_ms: Some(60_000),
        officers: vec![
            officer("oficial-centro", "centro", &centro_hook),
            officer("oficial-norte", "norte", &norte_hook),
        ],
    };
    let dir = tempfile::tempdir()?;
    let monitor = Monitor::start_full(
        MonitorConfig {
            fleet: FLEET.into(),
            client_id: "urna-bridge-monitor".into(),
            endpoints: vec![endpoint(&ca, "urna-bridge", broker.mqtt_addr)?],
            rules: rules.clone(),
            webhook: None,
            webhook_roots: urna_booth::sink::WebhookRoots::System,
            listen: "127.0.0.1:0".parse()?,
            tick: Duration::from_millis(500),
            backoff,
        },
        None,
        Some(OpsConfig {
            store: dir.path().join("ops.redb"),
            brokers: vec![BrokerAdmin { url: format!("http://{}", broker.status_addr), token: None }],
            flush: Duration::from_millis(200),
            tiles: None,
            audit: None,
        }),
    )
    .await?;

    let mut booths: HashMap<String, Arc<Booth>> = HashMap::new();
    for (mesa, _, lat, lon) in MESAS {
        for n in 1..=10u32 {
            let id = format!("{mesa}-{n}");
            let mut cfg = BoothConfig::new(FLEET, &id, endpoint(&ca, &id, broker.mqtt_addr)?);
            cfg.heartbeat = Duration::from_millis(1000);
            cfg.gps = Duration::from_secs(3600);
            let a = std::f64::consts::TAU * f64::from(n) / 10.0;
            cfg.position = (lat + 0.0005 * a.sin(), lon + 0.0005 * a.cos());
            cfg.backoff = backoff;
            booths.insert(id.clone(), Arc::new(Booth::start(cfg, &dir.path().join(format!("{id}.redb")))?));
        }
    }
    let (moved, sos, lock) = ("mesa-centro-1-3", "mesa-centro-2-5", "mesa-centro-1-7");

    let shots = match std::env::var("URNA_SCREENSHOTS") {
        Ok(s) => Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../..")).join(s),
        Err(_) => dir.path().join("shots"),
    };
    let input = json!({
        "url": format!("http://{}/ops/", monitor.addr),
        "officers": { "centro": "token-oficial-centro", "norte": "token-oficial-norte" },
        "moved": moved, "sos": sos, "lock": lock,
        "shots": shots,
    });
    let mut node = Command::new("node")
        .arg(Path::new(WEB).join("ops/e2e/ops.mjs"))
        .current_dir(Path::new(WEB).join("ops"))
        .env("OPS_E2E", input.to_string())
        .env("CHROMIUM", &chromium)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()?;
    let mut stdin = node.stdin.take().ok_or("no stdin")?;
    let stdout = node.stdout.take().ok_or("no stdout")?;
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<String>();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                return;
            }
        }
    });
    let mut result = Value::Null;
    let go = |stdin: &mut std::process::ChildStdin| -> Result<(), Error> { Ok(writeln!(stdin, "go")?) };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(600);
    loop {
        let line = tokio::time::timeout_at(deadline, rx.recv()).await.map_err(|_| "the browser script timed out")?;
        let Some(line) = line else { break };
        eprintln!("ops.mjs: {line}");
        match line.as_str() {
            "step move-and-sos" => {
                booths[moved].move_to(19.4500, -99.1300)?;
                booths[sos].sos("urna retenida por personas armadas")?;
                go(&mut stdin)?;
            }
            "step locked" => {
                assert!(matches!(booths[lock].cast_ballot(json!({})), Err(urna_booth::Error::Refused("locked"))));
                assert!(booths[lock].status()?.locked);
                go(&mut stdin)?;
            }
            "step unlocked" => {
                for _ in 0..100 {
                    if booths[lock].accepting().is_ok() {
                        break;
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                assert!(booths[lock].accepting().is_ok(), "the unlocked booth takes ballots again");
                go(&mut stdin)?;
            }
            l if l.starts_with("result ") => result = serde_json::from_str(&l["result ".len()..])?,
            _ => {}
        }
    }
    let status = tokio::task::spawn_blocking(move || node.wait()).await??;
    assert!(status.success(), "ops.mjs failed: {status}");
    eprintln!("{result:#}");

    assert_eq!(result["onMap"], 40, "every booth on the map: {result}");
    assert_eq!(result["norteOnMap"], 40);
    assert!(result["badToken"].as_str().is_some_and(|t| t.contains("token")), "{result}");
    let desk: Vec<&str> = result["deskRules"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    assert_eq!(desk, ["sos", "outside_geofence"], "SOS first");
    assert!(result["redOnMap"].as_u64().is_some_and(|n| n >= 1));
    assert!(result["noteRequired"].as_str().is_some_and(|t| !t.is_empty()));
    assert!(result["resolvedHistory"].as_str().is_some_and(|t| t.contains("devuelta")));
    assert_eq!(result["norteDesk"], json!([]), "no centro alert on norte's desk");
    assert_eq!(result["errors"], json!([]), "the page logged errors");
    let centro: Vec<Value> = centro_got.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let mut rules_at_centro: Vec<&str> = centro.iter().filter_map(|a| a["rule"].as_str()).collect();
    rules_at_centro.sort_unstable();
    assert_eq!(rules_at_centro, ["outside_geofence", "sos"], "{centro:?}");
    assert!(norte_got.lock().unwrap_or_else(|e| e.into_inner()).is_empty(), "norte's webhook got centro's alerts");

    monitor.stop().await;
    for (_, b) in booths {
        if let Ok(b) = Arc::try_unwrap(b) {
            b.stop().await;
        }
    }
    broker.shutdown().await;
    Ok(())
}
