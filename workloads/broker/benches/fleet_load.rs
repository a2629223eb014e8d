//! Whole-system fleet load (issue 5 item 6): N simulated booths against the urna broker and against
//! Debian's mosquitto, each broker in its own process, driven by this one load generator in the same run.
//!
//!     URNA_BENCH_DEVICES=1000,10000 cargo bench -p urna-broker --bench fleet_load
//!
//! Environment: `URNA_BENCH_DEVICES` (fleet sizes, default 1000), `URNA_BENCH_BROKERS` (default
//! `urna,mosquitto`; `rumqttd` adds plain MQTT straight to the urna broker's embedded rumqttd, connects
//! and memory only, to split the urna figure between rumqttd and the front), `URNA_BENCH_SECONDS`,
//! `URNA_BENCH_PACED_SECONDS`, `URNA_BENCH_PACED_RATE`, `URNA_BENCH_CONNECT_CONCURRENCY`,
//! `URNA_BENCH_MOSQUITTO` (the binary).
//!
//! Per broker and fleet size, one JSON line:
//! - `connectsPerSecond`: mutual-TLS connects (TCP, TLS 1.3 with client certificate, MQTT CONNECT/CONNACK)
//!   completed per second, `URNA_BENCH_CONNECT_CONCURRENCY` (default 128) in flight at once;
//! - `kibPerConnection`: the broker process's resident memory after every booth connected, minus before,
//!   per booth (for urna the front and the embedded rumqttd share that process); `rssMib*` its totals;
//! - `paced`: every booth publishes heartbeat, GPS, heartbeat, ballot in turn (QoS 1) so that the fleet
//!   offers `URNA_BENCH_PACED_RATE` messages/s (default 2,000: an election-day peak for 10,000 booths);
//!   p50/p99 latency from publish to delivery at a backend subscriber (QoS 1, `urna/bench/booth/+/+`);
//! - `saturated`: every booth publishes the same mix as fast as its PUBACKs come back (one in flight per
//!   booth) for `URNA_BENCH_SECONDS` (default 10): messages/s acknowledged to the booths
//!   (`ackedPerSecond`), messages/s delivered to the backend from the phase's start to its last delivery
//!   (`deliveredPerSecond`), latency under that load, and messages acknowledged but never delivered (`lost`);
//! - `brokerCpuSeconds`: CPU time the broker process used per phase (utime + stime), which stays
//!   comparable when the machine is shared.
//!
//! The urna broker runs as a child process of this binary (`--serve-urna`), started exactly as
//! `urna broker` starts it (`Broker::start` on a multi-threaded tokio runtime) but with no log output (as
//! mosquitto's `log_dest none`), the per-device rate limit lifted (mosquitto has none) and
//! `--max-connections` 10,100. mosquitto gets the same CA and server
//! certificate, `require_certificate true`, `use_identity_as_username true`, per-device ACL patterns,
//! `max_queued_messages` and `max_inflight_messages` set explicitly. The brokers inherit this process's
//! open-file limit; a fleet size whose sockets do not fit it is skipped and reported with the numbers (see
//! `sockets_needed`). Not a test: nothing is asserted.

use std::io::Write;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::{Semaphore, watch};
use urna_broker::client::{self, Client, Options};
use urna_broker::mqtt::{self, PacketType};
use urna_broker::pki::FleetCa;
use urna_broker::{AdminAuth, Broker, BrokerConfig, Limits, RateLimit};

type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;
type Configs = Vec<(String, Arc<rustls::ClientConfig>)>;

const FLEET: &str = "bench";
/// Queue and in-flight limits given to mosquitto explicitly (its in-flight default is 20; rumqttd's
/// `max_inflight_count` in `embedded.rs` is 100, so both get 100).
const MOSQUITTO_MAX_QUEUED: usize = 100_000;
const MOSQUITTO_MAX_INFLIGHT: usize = 100;
/// `--max-connections` of the urna broker under test: the production default (10,000 booths) plus room
/// for the backend subscriber.
const URNA_MAX_CONNECTIONS: usize = 10_100;

fn env_num(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.trim().parse().ok()).unwrap_or(default)
}

fn main() -> Res<()> {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--serve-urna") {
        let dir = args.get(i + 1).ok_or("--serve-urna needs a directory")?;
        return serve_urna(Path::new(dir));
    }
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(run())
}

/// The urna broker as its own process: certificates from `dir`, addresses on stdout, exits when its
/// parent closes stdin (so it never outlives the benchmark).
fn serve_urna(dir: &Path) -> Res<()> {
    let tls = urna_broker::tls::server_config_from_dir(dir)?;
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(async move {
        let mut config = BrokerConfig::new(FLEET, tls, AdminAuth::InsecureNoAuth);
        config.limits = Limits {
            max_connections: URNA_MAX_CONNECTIONS,
            rate: RateLimit { per_second: 1e9, burst: 1e9 },
            ..Limits::default()
        };
        let broker = Broker::start(config).await?;
        let mut out = std::io::stdout().lock();
        let addrs =
            serde_json::json!({ "mqtt": broker.mqtt_addr.to_string(), "upstream": broker.upstream.to_string() });
        writeln!(out, "{addrs}")?;
        out.flush()?;
        drop(out);
        let mut stdin = BufReader::new(tokio::io::stdin());
        let mut line = String::new();
        while stdin.read_line(&mut line).await? > 0 {
            line.clear();
        }
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
    })?;
    // rumqttd's threads have no shutdown: leave at once.
    std::process::exit(0)
}

/// A field of `/proc/<pid>/status`, in KiB.
fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with(field)).and_then(|l| l.split_whitespace().nth(1)?.parse().ok()))
        .unwrap_or(0)
}

/// utime + stime of a process, in clock ticks (`/proc/<pid>/stat` fields 14 and 15).
fn cpu_ticks(pid: u32) -> u64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else { return 0 };
    // The command name (field 2) may contain spaces; the fields after its closing parenthesis do not.
    let Some((_, rest)) = stat.rsplit_once(')') else { return 0 };
    let f: Vec<&str> = rest.split_whitespace().collect();
    let n = |i: usize| f.get(i).and_then(|v| v.parse::<u64>().ok()).unwrap_or(0);
    n(11) + n(12)
}

fn clock_ticks_per_second() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok()?.trim().parse().ok())
        .unwrap_or(100.0)
}

/// Descriptors beyond the sockets: listeners, epoll, eventfds, files, the backend subscriber.
const FD_SLACK: u64 = 256;

/// Open files a process needs for `n` booths: one socket per booth in each broker's process (the urna
/// front serves devices itself, and its few links to rumqttd are in the slack), and one per booth here.
fn sockets_needed(n: usize) -> u64 {
    n as u64 + FD_SLACK
}

/// The soft limit on open files of this process (children inherit it).
fn open_files_limit() -> Option<u64> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

async fn run() -> Res<()> {
    let sizes: Vec<usize> = std::env::var("URNA_BENCH_DEVICES")
        .unwrap_or_else(|_| "1000".into())
        .split(',')
        .filter_map(|s| s.trim().parse().ok())
        .collect();
    let brokers: Vec<String> = std::env::var("URNA_BENCH_BROKERS")
        .unwrap_or_else(|_| "urna,mosquitto".into())
        .split(',')
        .map(|s| s.trim().to_owned())
        .collect();
    let largest = sizes.iter().copied().max().ok_or("URNA_BENCH_DEVICES names no fleet size")?;
    // Children inherit this process's limit. Raising the hard limit needs CAP_SYS_RESOURCE; without it
    // (containers) a fleet size that does not fit is skipped with the numbers, not attempted.
    let limit = open_files_limit().unwrap_or(1024);
    eprintln!("open-file limit (soft, inherited by the brokers): {limit}");
    let ca = FleetCa::new(FLEET)?;
    let server = ca.server(&["localhost"])?;
    let dir = tempfile::tempdir()?;
    std::fs::write(dir.path().join("ca.crt"), ca.ca_pem())?;
    std::fs::write(dir.path().join("tls.crt"), &server.cert_pem)?;
    std::fs::write(dir.path().join("tls.key"), &server.key_pem)?;
    let t = Instant::now();
    let mut devices: Configs = Vec::with_capacity(largest);
    for i in 0..largest {
        let id = format!("booth-{i:05}");
        let c = ca.client(&id)?;
        devices.push((id, c.client_tls()?));
    }
    let b = ca.client(urna_broker::DEFAULT_BACKEND)?;
    let backend = b.client_tls()?;
    eprintln!("{largest} device certificates in {:.1} s", t.elapsed().as_secs_f64());
    let uptime = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    eprintln!("load average before: {}", uptime.trim());

    let mut results = Vec::new();
    for &n in &sizes {
        let fleet = devices[..n].to_vec();
        for which in &brokers {
            let needed = sockets_needed(n);
            if needed > limit {
                let why = format!(
                    "{n} booths need {needed} open files in the {which} broker's process and here; the limit is {limit}"
                );
                eprintln!("{which}: skipped: {why}");
                let r = serde_json::json!({ "broker": which, "devices": n, "skipped": why });
                println!("{r}");
                results.push(r);
                continue;
            }
            let (mut child, addr) = match which.as_str() {
                "urna" => start_urna(dir.path(), false).await?,
                "rumqttd" => start_urna(dir.path(), true).await?,
                "mosquitto" => start_mosquitto(dir.path()).await?,
                other => return Err(format!("unknown broker {other:?}").into()),
            };
            let pid = child.id().ok_or("broker exited at once")?;
            eprintln!("{which}: {n} booths against pid {pid} on {addr}");
            let r = if which == "rumqttd" {
                rumqttd_alone(addr, pid, &fleet).await
            } else {
                measure(addr, pid, &fleet, backend.clone()).await
            };
            // Kill and reap it (a dropped child would be left a zombie).
            let _ = child.kill().await;
            let mut r = r?;
            r["broker"] = serde_json::json!(which);
            r["loadAverageAfter"] =
                serde_json::json!(std::fs::read_to_string("/proc/loadavg").unwrap_or_default().trim());
            println!("{r}");
            results.push(r);
        }
    }
    summary(&results);
    Ok(())
}

/// Ratios urna / mosquitto per fleet size, on stderr.
fn summary(results: &[serde_json::Value]) {
    let get = |r: &serde_json::Value, path: &[&str]| path.iter().try_fold(r, |v, k| v.get(k)).and_then(|v| v.as_f64());
    let sizes: std::collections::BTreeSet<u64> = results.iter().filter_map(|r| r["devices"].as_u64()).collect();
    for n in sizes {
        let of = |b: &str| results.iter().find(|r| r["devices"].as_u64() == Some(n) && r["broker"] == b);
        let (Some(u), Some(m)) = (of("urna"), of("mosquitto")) else { continue };
        let ratio = |path: &[&str]| match (get(u, path), get(m, path)) {
            (Some(a), Some(b)) if b > 0.0 => format!("{:.2}", a / b),
            _ => "-".into(),
        };
        eprintln!(
            "{n} booths, urna/mosquitto: connects/s {}, KiB/connection {}, saturated delivered msgs/s {}, \
             paced p99 {}, saturated p99 {}",
            ratio(&["connectsPerSecond"]),
            ratio(&["kibPerConnection"]),
            ratio(&["saturated", "deliveredPerSecond"]),
            ratio(&["paced", "p99Ms"]),
            ratio(&["saturated", "p99Ms"]),
        );
    }
}

/// The urna broker's process; with `upstream`, the address of its embedded rumqttd instead of the front.
async fn start_urna(dir: &Path, upstream: bool) -> Res<(Child, SocketAddr)> {
    let exe = std::env::current_exe()?;
    let mut child = Command::new(exe)
        .arg("--serve-urna")
        .arg(dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    let out = child.stdout.take().ok_or("no stdout")?;
    let mut line = String::new();
    tokio::time::timeout(Duration::from_secs(30), BufReader::new(out).read_line(&mut line)).await??;
    let v: serde_json::Value = serde_json::from_str(&line)?;
    let which = if upstream { "upstream" } else { "mqtt" };
    let addr = v[which].as_str().ok_or("no address from the urna broker")?.parse()?;
    Ok((child, addr))
}

/// Debian's mosquitto (`URNA_BENCH_MOSQUITTO`, default `mosquitto`) with the same certificates.
async fn start_mosquitto(dir: &Path) -> Res<(Child, SocketAddr)> {
    let bin = std::env::var("URNA_BENCH_MOSQUITTO").unwrap_or_else(|_| "mosquitto".into());
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let p = |n: &str| dir.join(n).display().to_string();
    // Booths publish only under their own id and read only their commands; the backend reads the fleet.
    let acl = format!(
        "pattern write urna/{FLEET}/booth/%u/#\npattern read urna/{FLEET}/booth/%u/cmd/#\n\n\
         user {}\ntopic read urna/{FLEET}/#\ntopic write urna/{FLEET}/booth/+/cmd/#\n",
        urna_broker::DEFAULT_BACKEND
    );
    std::fs::write(p("acl"), acl)?;
    let conf = format!(
        "per_listener_settings false\nlistener {port} 127.0.0.1\ncafile {}\ncertfile {}\nkeyfile {}\n\
         require_certificate true\nuse_identity_as_username true\nallow_anonymous false\nacl_file {}\n\
         max_queued_messages {MOSQUITTO_MAX_QUEUED}\nmax_inflight_messages {MOSQUITTO_MAX_INFLIGHT}\n\
         persistence false\nlog_dest none\nuser root\n",
        p("ca.crt"),
        p("tls.crt"),
        p("tls.key"),
        p("acl"),
    );
    // `user root`: started as root, mosquitto would otherwise drop to the `mosquitto` user, which cannot
    // read the certificates in this private temporary directory (elsewhere the setting is ignored).
    std::fs::write(p("mosquitto.conf"), conf)?;
    let child = Command::new(bin).arg("-c").arg(p("mosquitto.conf")).kill_on_drop(true).spawn()?;
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return Ok((child, addr));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err("mosquitto did not start".into())
}

/// What the backend subscriber saw, per phase (0 paced, 1 saturated).
#[derive(Default)]
struct Seen {
    latencies_us: [Vec<u32>; 2],
    /// When the last message of each phase arrived (ns since the epoch).
    last_ns: [u128; 2],
}

/// Payload: send time (ns since `epoch`), phase, then padding to the message kind's size.
fn payload(epoch: Instant, phase: u8, size: usize) -> Vec<u8> {
    let ns = u64::try_from(epoch.elapsed().as_nanos()).unwrap_or(u64::MAX);
    let mut p = Vec::with_capacity(size.max(9));
    p.extend_from_slice(&ns.to_be_bytes());
    p.push(phase);
    p.resize(size.max(9), b'x');
    p
}

/// Heartbeat, GPS fix, heartbeat, ballot: topic level and payload size (a ballot with its proofs is a
/// few KiB of JSON).
const MIX: [(&str, usize); 4] = [("heartbeat", 64), ("gps", 128), ("heartbeat", 64), ("ballot", 4096)];

/// The backend: one QoS 1 subscription to every booth's messages, acknowledging each.
async fn subscriber(
    addr: SocketAddr,
    tls: Arc<rustls::ClientConfig>,
    epoch: Instant,
    counts: Arc<[AtomicU64; 2]>,
    mut stop: watch::Receiver<bool>,
) -> Res<Seen> {
    let stream = client::connect_tls(addr, tls, "localhost").await?;
    let opts =
        Options { client_id: urna_broker::DEFAULT_BACKEND, keep_alive_secs: 300, clean_session: true, will: None };
    let mut c = Client::handshake(stream, &opts).await?;
    let filter = format!("urna/{FLEET}/booth/+/+");
    let (codes, _) = c.subscribe(1, &[(&filter, 1)]).await?;
    if codes != [1] {
        return Err(format!("backend subscription refused: {codes:?}").into());
    }
    let mut seen = Seen::default();
    loop {
        let f = tokio::select! {
            f = c.read() => f?,
            _ = stop.changed() => return Ok(seen),
        };
        if f.packet_type() != PacketType::Publish {
            continue;
        }
        let p = mqtt::parse_publish(&f)?;
        if let Some(id) = p.pkid {
            c.send(&mqtt::puback(id)).await?;
        }
        let now = epoch.elapsed().as_nanos();
        if let (Some(ts), Some(&phase)) = (p.payload.get(..8), p.payload.get(8)) {
            let mut b = [0u8; 8];
            b.copy_from_slice(ts);
            let sent = u128::from(u64::from_be_bytes(b));
            let us = u32::try_from(now.saturating_sub(sent) / 1000).unwrap_or(u32::MAX);
            let phase = usize::from(phase.min(1));
            seen.latencies_us[phase].push(us);
            seen.last_ns[phase] = now;
            counts[phase].fetch_add(1, Ordering::Relaxed);
        }
    }
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    let i = ((sorted.len() as f64 * p) as usize).min(sorted.len().saturating_sub(1));
    sorted.get(i).map_or(0.0, |us| f64::from(*us) / 1000.0)
}

/// Waits until the subscriber has `target` messages of `phase`, or nothing new arrived for 5 s.
async fn drain(counts: &[AtomicU64; 2], phase: usize, target: u64) {
    let mut last = (counts[phase].load(Ordering::Relaxed), Instant::now());
    loop {
        let n = counts[phase].load(Ordering::Relaxed);
        if n >= target || last.1.elapsed() > Duration::from_secs(5) {
            return;
        }
        if n != last.0 {
            last = (n, Instant::now());
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// For the breakdown of the urna broker's memory: the same booths as plain MQTT clients (no TLS) straight
/// to the embedded rumqttd in the urna broker's process, bypassing the front. Connects and memory only.
async fn rumqttd_alone(addr: SocketAddr, pid: u32, fleet: &Configs) -> Res<serde_json::Value> {
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_before = status_kib(pid, "VmRSS:");
    let started = Instant::now();
    let mut clients = Vec::with_capacity(fleet.len());
    for (id, _) in fleet {
        let stream = tokio::net::TcpStream::connect(addr).await?;
        // rumqttd sees the front's connections exactly so: plain TCP, the booth's own client id.
        let opts = Options { client_id: id, keep_alive_secs: 600, clean_session: true, will: None };
        clients.push(Client::handshake(stream, &opts).await?);
    }
    let secs = started.elapsed().as_secs_f64();
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss = status_kib(pid, "VmRSS:");
    let n = clients.len();
    drop(clients);
    Ok(serde_json::json!({
        "devices": n,
        "note": "plain MQTT straight to the embedded rumqttd, no TLS, no front: its share of kibPerConnection",
        "connectsPerSecond": (n as f64 / secs).round(),
        "kibPerConnection": (rss.saturating_sub(rss_before) as f64 / n.max(1) as f64).round(),
    }))
}

type Conn = Client<tokio_rustls::client::TlsStream<tokio::net::TcpStream>>;

async fn measure(
    addr: SocketAddr,
    pid: u32,
    fleet: &Configs,
    backend: Arc<rustls::ClientConfig>,
) -> Res<serde_json::Value> {
    let n = fleet.len();
    let hz = clock_ticks_per_second();
    let epoch = Instant::now();
    let counts: Arc<[AtomicU64; 2]> = Arc::new([AtomicU64::new(0), AtomicU64::new(0)]);
    let (stop, stop_rx) = watch::channel(false);
    let sub = tokio::spawn(subscriber(addr, backend, epoch, counts.clone(), stop_rx));
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss_before = status_kib(pid, "VmRSS:");

    // Connect every booth, a bounded number in flight (an unbounded burst would overflow the listen
    // backlog and measure SYN retransmission timers instead of either broker).
    let concurrency = env_num("URNA_BENCH_CONNECT_CONCURRENCY", 128);
    let gate = Arc::new(Semaphore::new(concurrency));
    let cpu0 = cpu_ticks(pid);
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(n);
    for (id, tls) in fleet.iter().cloned() {
        let gate = gate.clone();
        tasks.push(tokio::spawn(async move {
            let _permit = gate.acquire_owned().await?;
            let connect = async {
                let stream = client::connect_tls(addr, tls, "localhost").await?;
                let opts = Options { client_id: &id, keep_alive_secs: 600, clean_session: true, will: None };
                Client::handshake(stream, &opts).await
            };
            let c = tokio::time::timeout(Duration::from_secs(60), connect).await??;
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>((id, c))
        }));
    }
    let mut clients: Vec<(String, Conn)> = Vec::with_capacity(n);
    let mut failed = 0usize;
    let mut first_error = None;
    for t in tasks {
        match t.await {
            Ok(Ok(c)) => clients.push(c),
            Ok(Err(e)) => {
                failed += 1;
                first_error.get_or_insert(e.to_string());
            }
            Err(e) => {
                failed += 1;
                first_error.get_or_insert(e.to_string());
            }
        }
    }
    let connect_secs = started.elapsed().as_secs_f64();
    let cpu_connect = (cpu_ticks(pid).saturating_sub(cpu0)) as f64 / hz;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_connected = status_kib(pid, "VmRSS:");
    eprintln!("  connected {} ({failed} failed) in {connect_secs:.1} s", clients.len());

    // Paced: the fleet offers `rate` messages/s in all, each booth on its own period and phase.
    let rate = env_num("URNA_BENCH_PACED_RATE", 2000).max(1) as f64;
    let paced_secs = env_num("URNA_BENCH_PACED_SECONDS", 10) as u64;
    let connected = clients.len();
    let paced_start = epoch.elapsed().as_nanos();
    let (clients, paced_acked, paced_load) = load(clients, epoch, 0, Some(rate), Duration::from_secs(paced_secs)).await;
    drain(&counts, 0, paced_acked).await;

    // Saturated: one message in flight per booth, as fast as PUBACKs return.
    let secs = env_num("URNA_BENCH_SECONDS", 10) as u64;
    let cpu1 = cpu_ticks(pid);
    let saturated_start = epoch.elapsed().as_nanos();
    let (clients, acked, load_secs) = load(clients, epoch, 1, None, Duration::from_secs(secs)).await;
    drain(&counts, 1, acked).await;
    let cpu_saturated = (cpu_ticks(pid).saturating_sub(cpu1)) as f64 / hz;
    let rss_peak = status_kib(pid, "VmHWM:");
    let dropped_during_load = connected - clients.len();
    let _ = stop.send(true);
    let mut seen = sub.await??;
    drop(clients);

    // Acknowledged per second of load; delivered per second from the phase's start to its last delivery
    // (a broker that queues for its subscriber spends longer delivering than it took to acknowledge).
    let mut phase = |i: usize, acked: u64, start_ns: u128, load_secs: f64| {
        let lat = &mut seen.latencies_us[i];
        lat.sort_unstable();
        let delivered = lat.len() as u64;
        let delivering = (seen.last_ns[i].saturating_sub(start_ns) as f64 / 1e9).max(1e-9);
        serde_json::json!({
            "acked": acked,
            "delivered": delivered,
            "lost": acked.saturating_sub(delivered),
            "ackedPerSecond": (acked as f64 / load_secs).round(),
            "deliveredPerSecond": (delivered as f64 / delivering).round(),
            "deliverySeconds": delivering,
            "p50Ms": percentile(lat, 0.50),
            "p99Ms": percentile(lat, 0.99),
            "maxMs": percentile(lat, 1.0),
        })
    };
    let paced = phase(0, paced_acked, paced_start, paced_load);
    let saturated = phase(1, acked, saturated_start, load_secs);
    Ok(serde_json::json!({
        "devices": n,
        "connected": n - failed,
        "connectFailures": failed,
        "firstConnectError": first_error,
        "connectsPerSecond": ((n - failed) as f64 / connect_secs).round(),
        "connectConcurrency": concurrency,
        "sessionsLostDuringLoad": dropped_during_load,
        "kibPerConnection": (rss_connected.saturating_sub(rss_before) as f64 / (n - failed).max(1) as f64).round(),
        "rssMibBefore": rss_before / 1024,
        "rssMibConnected": rss_connected / 1024,
        "rssMibPeak": rss_peak / 1024,
        "pacedRate": rate,
        "paced": paced,
        "saturated": saturated,
        "brokerCpuSeconds": { "connect": cpu_connect, "saturated": cpu_saturated },
    }))
}

/// Every booth publishes the mix for `length`: at `rate` messages/s for the whole fleet, or flat out.
/// Returns the clients, the PUBACKs received and the seconds the phase took.
async fn load(
    clients: Vec<(String, Conn)>,
    epoch: Instant,
    phase: u8,
    rate: Option<f64>,
    length: Duration,
) -> (Vec<(String, Conn)>, u64, f64) {
    let n = clients.len().max(1);
    let acked = Arc::new(AtomicU64::new(0));
    let start = Instant::now();
    let end = tokio::time::Instant::now() + length;
    let mut tasks = Vec::with_capacity(n);
    for (k, (id, mut c)) in clients.into_iter().enumerate() {
        let acked = acked.clone();
        tasks.push(tokio::spawn(async move {
            let topics: Vec<String> = MIX.iter().map(|(kind, _)| format!("urna/{FLEET}/booth/{id}/{kind}")).collect();
            // Each booth's period, and its offset within it, so the fleet's messages are spread evenly.
            let mut ticks = rate.map(|r| {
                let period = Duration::from_secs_f64(n as f64 / r);
                let offset = period.mul_f64(k as f64 / n as f64);
                let mut i = tokio::time::interval_at(tokio::time::Instant::now() + offset, period);
                i.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
                i
            });
            let mut i = 0usize;
            let mut ok = true;
            while ok && tokio::time::Instant::now() < end {
                if let Some(t) = ticks.as_mut() {
                    tokio::select! {
                        _ = t.tick() => {}
                        _ = tokio::time::sleep_until(end) => break,
                    }
                }
                let (_, size) = MIX[i % MIX.len()];
                let pkid = (i % 65_535) as u16 + 1;
                let body = payload(epoch, phase, size);
                ok = c.publish_acked(&topics[i % MIX.len()], pkid, &body).await.is_ok();
                if ok {
                    acked.fetch_add(1, Ordering::Relaxed);
                }
                i += 1;
            }
            ok.then_some((id, c))
        }));
    }
    let mut back = Vec::with_capacity(n);
    for t in tasks {
        if let Ok(Some(c)) = t.await {
            back.push(c);
        }
    }
    let secs = start.elapsed().as_secs_f64();
    (back, acked.load(Ordering::Relaxed), secs)
}
