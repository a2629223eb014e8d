//! `urna bench ops`: the operations centre's update latency and memory (docs/performance.md).
//!
//! Latency: a real broker with mutual TLS on 127.0.0.1, `--booths` simulated booths sending a heartbeat every
//! `--heartbeat-ms`, and the fleet monitor as the operations centre; an officer's event stream
//! (`GET /v1/ops/events`) is read, and each heartbeat's delay is the time the first device update carrying it
//! arrives minus the time the booth stamped in it (`health.atMs`): booth → broker → monitor → store →
//! dashboard stream, the batching included.
//!
//! Every booth holds a socket and an outbox file, and the broker the other end of the socket: one process
//! may hold 20,000 open files on these machines, so `--booth-processes K` runs the booths in K child
//! processes of this binary (`urna bench ops-booths`, each issuing its booths' certificates from the run's
//! CA), the broker and the monitor staying in this one.
//!
//! Memory: the monitor's state for `--devices` devices (the alert rules' and the operations centre's, both
//! fed one heartbeat and one GPS fix per device, no sockets), as the process's resident memory grows, and the
//! store's size once every device is written.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use urna_booth::alerting::{Monitor, MonitorConfig};
use urna_booth::fleet::Fleet;
use urna_booth::heard::Heard;
use urna_booth::ops::routing::token_sha256;
use urna_booth::ops::state::OpsState;
use urna_booth::ops::store::OpsStore;
use urna_booth::ops::{BrokerAdmin, OpsConfig};
use urna_booth::rules::{FleetRules, GeofenceSpec, MesaRules, Officer};
use urna_booth::{Backoff, Booth, BoothConfig, Endpoint};
use urna_broker::{AdminAuth, Broker, BrokerConfig};
use urna_pki::FleetCa;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Simulated booths on the real broker for the latency run (0 skips it).
    #[arg(long, default_value_t = 1000)]
    booths: usize,
    #[arg(long, default_value_t = 1000)]
    heartbeat_ms: u64,
    /// How long the latency run measures, after every booth is online.
    #[arg(long, default_value_t = 20)]
    seconds: u64,
    /// Child processes the booths run in (1: in this process, with the broker and the monitor).
    #[arg(long, default_value_t = 1)]
    booth_processes: usize,
    /// Fleet sizes for the memory run.
    #[arg(long, value_delimiter = ',', default_value = "10000,100000")]
    devices: Vec<usize>,
}

const TOKEN: &str = "bench-officer";
const BACKOFF: Backoff = Backoff { min: Duration::from_millis(100), max: Duration::from_secs(2) };

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

fn rules(n: usize) -> FleetRules {
    let fence = GeofenceSpec { lat: 19.43, lon: -99.13, radius_m: 50_000.0 };
    let mut r: FleetRules =
        serde_json::from_value(serde_json::json!({ "devices": {} })).unwrap_or_else(|_| unreachable!());
    for i in 0..n {
        r.devices.insert(
            format!("booth-{i}"),
            MesaRules {
                mesa: format!("mesa-{}", i / 10),
                district: Some(format!("d{}", i / 1000)),
                geofence: Some(fence),
                opens_ms: None,
                closes_ms: None,
                census: None,
            },
        );
    }
    r.offline_after_ms = 600_000;
    r.officers = vec![Officer {
        id: "bench".into(),
        name: String::new(),
        districts: (0..n.div_ceil(1000)).map(|d| format!("d{d}")).collect(),
        webhook: None,
        token_sha256: token_sha256(TOKEN),
    }];
    r
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("VmRSS:").and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
            })
        })
        .unwrap_or(0)
}

fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

pub fn run(a: Args) -> Result<()> {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the async runtime")?;
    let mut out = std::io::stdout().lock();
    if a.booths > 0 {
        let line = runtime.block_on(latency(&a))?;
        writeln!(out, "{line}")?;
    }
    for &n in &a.devices {
        writeln!(out, "{}", memory(n)?)?;
    }
    Ok(())
}

fn memory(n: usize) -> Result<serde_json::Value> {
    let before = rss_kib();
    let rules = rules(n);
    let mut fleet = Fleet::default();
    let mut ops = OpsState::seeded(&rules);
    let t = Instant::now();
    let now = now_ms();
    for (i, id) in rules.devices.keys().enumerate() {
        let hb = serde_json::json!({ "atMs": now, "pending": 0 }).to_string();
        let heard = Heard::first("heartbeat", hb.as_bytes());
        fleet.observe(&rules, id, &heard, now);
        ops.observe(id, &heard, now);
        let gps = serde_json::json!({ "device": id, "seq": i + 1, "kind": "gps", "atMs": now,
            "body": { "lat": 19.43 + (i % 100) as f64 * 1e-4, "lon": -99.13 } })
        .to_string();
        let heard = Heard::first("gps", gps.as_bytes());
        fleet.observe(&rules, id, &heard, now);
        ops.observe(id, &heard, now);
    }
    let observe_s = t.elapsed().as_secs_f64();
    let after = rss_kib();
    let dir = tempfile::tempdir()?;
    let store = OpsStore::open(&dir.path().join("ops.redb"))?;
    let (devices, _) = ops.take_dirty(now, rules.offline_after_ms);
    let t = Instant::now();
    store.save(&devices, &[], &[], None)?;
    let save_s = t.elapsed().as_secs_f64();
    let size = std::fs::metadata(dir.path().join("ops.redb")).map(|m| m.len()).unwrap_or(0);
    drop((fleet, ops, rules, devices));
    Ok(serde_json::json!({
        "memory": { "devices": n, "rssGrowthKiB": after.saturating_sub(before),
            "bytesPerDevice": (after.saturating_sub(before) * 1024) / n.max(1) as u64,
            "messagesPerSecond": (2 * n) as f64 / observe_s, "storeWriteSeconds": save_s, "storeBytes": size }
    }))
}

async fn latency(a: &Args) -> Result<serde_json::Value> {
    let ca = FleetCa::new("bench").context("fleet CA")?;
    let tls = ca.server(&["localhost"])?.server_tls()?;
    let mut bc = BrokerConfig::new("bench", tls, AdminAuth::InsecureNoAuth);
    bc.listen = "127.0.0.1:0".parse()?;
    let broker = Broker::start(bc).await.context("starting the broker")?;
    let endpoint = |id: &str| -> Result<Endpoint> {
        Ok(Endpoint { addr: broker.mqtt_addr, server_name: "localhost".into(), tls: ca.client(id)?.client_tls()? })
    };
    let rules = rules(a.booths);
    let dir = tempfile::tempdir()?;
    let monitor = Monitor::start_full(
        MonitorConfig {
            fleet: "bench".into(),
            client_id: "urna-bridge-monitor".into(),
            endpoints: vec![endpoint("urna-bridge")?],
            rules: rules.clone(),
            webhook: None,
            webhook_roots: urna_booth::sink::WebhookRoots::System,
            listen: "127.0.0.1:0".parse()?,
            tick: Duration::from_secs(1),
            backoff: BACKOFF,
        },
        None,
        Some(OpsConfig {
            store: dir.path().join("ops.redb"),
            brokers: vec![BrokerAdmin { url: format!("http://{}", broker.status_addr), token: None }],
            flush: Duration::from_millis(250),
            tiles: None,
            audit: None,
        }),
    )
    .await?;
    let t0 = Instant::now();
    let mut children = Vec::new();
    let mut booths = Vec::new();
    if a.booth_processes <= 1 {
        let ids: Vec<String> = rules.devices.keys().cloned().collect();
        booths = start_booths(&ca, broker.mqtt_addr, &ids, a.heartbeat_ms, dir.path())?;
        all_online(&booths).await?;
    } else {
        let ca_dir = dir.path().join("ca");
        std::fs::create_dir_all(&ca_dir)?;
        std::fs::write(ca_dir.join("ca.pem"), &ca.own().cert_pem)?;
        std::fs::write(ca_dir.join("ca.key"), &ca.own().key_pem)?;
        let per = a.booths.div_ceil(a.booth_processes);
        for (k, first) in (0..a.booths).step_by(per).enumerate() {
            let part = dir.path().join(format!("booths-{k}"));
            std::fs::create_dir_all(&part)?;
            let args: Vec<String> = [
                "bench",
                "ops-booths",
                "--broker",
                &broker.mqtt_addr.to_string(),
                "--ca-dir",
                &ca_dir.display().to_string(),
                "--first",
                &first.to_string(),
                "--count",
                &per.min(a.booths - first).to_string(),
                "--heartbeat-ms",
                &a.heartbeat_ms.to_string(),
                "--data",
                &part.display().to_string(),
            ]
            .map(String::from)
            .to_vec();
            let log = dir.path().join(format!("booths-{k}.log"));
            // Each child answers once all of its booths are online.
            let online = |line: &str| {
                serde_json::from_str::<serde_json::Value>(line).ok()?["online"].as_u64().map(|n| n.to_string())
            };
            children.push(tokio::task::block_in_place(|| {
                super::procs::Service::spawn_until(&format!("booths {k}"), &args, &log, online)
            })?);
        }
    }
    let connect_s = t0.elapsed().as_secs_f64();
    let (delays, repeats) = read_events(monitor.addr, Duration::from_secs(a.seconds)).await?;
    let mut sorted = delays.clone();
    sorted.sort_unstable();
    let rss = rss_kib();
    for b in booths {
        b.stop().await;
    }
    drop(children);
    monitor.stop().await;
    broker.shutdown().await;
    Ok(serde_json::json!({
        "latency": { "booths": a.booths, "boothProcesses": a.booth_processes.max(1), "heartbeatMs": a.heartbeat_ms,
            "connectSeconds": connect_s,
            "heartbeats": sorted.len(), "heartbeatsPerSecond": sorted.len() as f64 / a.seconds as f64,
            "repeatedUpdates": repeats,
            "p50Ms": percentile(&sorted, 0.5), "p99Ms": percentile(&sorted, 0.99), "maxMs": sorted.last().copied().unwrap_or(0),
            "processRssKiB": rss }
    }))
}

/// The booths `ids`, on the broker at `broker`, each with its certificate from `ca` and its outbox in `dir`.
fn start_booths(ca: &FleetCa, broker: SocketAddr, ids: &[String], heartbeat_ms: u64, dir: &Path) -> Result<Vec<Booth>> {
    ids.iter()
        .map(|id| {
            let endpoint =
                Endpoint { addr: broker, server_name: "localhost".into(), tls: ca.client(id)?.client_tls()? };
            let mut cfg = BoothConfig::new("bench", id, endpoint);
            cfg.heartbeat = Duration::from_millis(heartbeat_ms);
            cfg.gps = Duration::from_secs(3600);
            cfg.position = (19.43, -99.13);
            cfg.backoff = BACKOFF;
            Booth::start(cfg, &dir.join(format!("{id}.redb"))).with_context(|| format!("starting booth {id}"))
        })
        .collect()
}

/// Waits until every booth is connected (at most five minutes).
async fn all_online(booths: &[Booth]) -> Result<()> {
    let t0 = Instant::now();
    loop {
        let online = booths.iter().filter(|b| b.status().map(|s| s.connected).unwrap_or(false)).count();
        if online == booths.len() {
            return Ok(());
        }
        anyhow::ensure!(t0.elapsed() < Duration::from_secs(300), "only {online} of {} booths connected", booths.len());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[derive(Debug, clap::Args)]
pub struct BoothsArgs {
    /// The broker's MQTT address.
    #[arg(long)]
    broker: SocketAddr,
    /// The run's CA (`ca.pem`, `ca.key`), from which this process issues its booths' certificates.
    #[arg(long)]
    ca_dir: PathBuf,
    /// This share's booths: `booth-FIRST` to `booth-(FIRST+COUNT-1)`.
    #[arg(long)]
    first: usize,
    #[arg(long)]
    count: usize,
    #[arg(long)]
    heartbeat_ms: u64,
    /// Where this share's outboxes are kept.
    #[arg(long)]
    data: PathBuf,
}

/// `urna bench ops-booths`: starts its share of the booths, prints `{"online": COUNT}` once all are connected,
/// and runs them until it is stopped.
pub fn booths(a: BoothsArgs) -> Result<()> {
    let read = |f: &str| std::fs::read_to_string(a.ca_dir.join(f)).with_context(|| format!("reading {f}"));
    let ca = FleetCa::from_pem("bench", &read("ca.pem")?, &read("ca.key")?)?;
    let ids: Vec<String> = (a.first..a.first + a.count).map(|i| format!("booth-{i}")).collect();
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the async runtime")?;
    runtime.block_on(async {
        let booths = start_booths(&ca, a.broker, &ids, a.heartbeat_ms, &a.data)?;
        all_online(&booths).await?;
        println!("{}", serde_json::json!({ "online": booths.len() }));
        crate::cmd::signal::shutdown().await;
        for b in booths {
            b.stop().await;
        }
        Ok(())
    })
}

/// Reads the officer's event stream for `dur`: the delay of each heartbeat, from the booth's stamp to the
/// first device update that carries it. Any message marks a device changed, and a change sends the device
/// with its last heartbeat's health, so later updates repeating a stamp say how old that heartbeat is, not
/// how long the path took: they are counted apart (`repeats`).
async fn read_events(addr: SocketAddr, dur: Duration) -> Result<(Vec<u64>, u64)> {
    let mut s = tokio::net::TcpStream::connect(addr).await?;
    s.write_all(format!("GET /v1/ops/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {TOKEN}\r\n\r\n").as_bytes())
        .await?;
    let deadline = tokio::time::Instant::now() + dur;
    let mut buf = String::new();
    let mut chunk = vec![0u8; 64 * 1024];
    let mut delays = Vec::new();
    let mut repeats = 0u64;
    let mut last_stamp: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
    // A heartbeat stamped before the reading began may reach it first as a repeat: not one to time.
    let started_ms = now_ms();
    while let Ok(n) = tokio::time::timeout_at(deadline, s.read(&mut chunk)).await {
        let n = n?;
        if n == 0 {
            break;
        }
        let at = now_ms();
        buf.push_str(&String::from_utf8_lossy(&chunk[..n]));
        while let Some(end) = buf.find("\n\n") {
            let block: String = buf.drain(..end + 2).collect();
            if let Some(data) = block.lines().find_map(|l| l.strip_prefix("data: "))
                && let Ok(v) = serde_json::from_str::<serde_json::Value>(data)
                && v["type"] == "device"
                && let Some(stamped) = v["health"]["atMs"].as_u64()
                && let Some(id) = v["id"].as_str()
            {
                if last_stamp.insert(id.to_owned(), stamped) == Some(stamped) || stamped < started_ms {
                    repeats += 1;
                } else {
                    delays.push(at.saturating_sub(stamped));
                }
            }
        }
    }
    Ok((delays, repeats))
}
