//! End-to-end numbers for the broker on this machine (`cargo bench -p urna-broker`; environment
//! `URNA_BENCH_DEVICES`, default 200, and `URNA_BENCH_MESSAGES` per device, default 500): mutual-TLS
//! connects per second through the front (all devices at once), QoS 1 publish round trips per second with
//! p50/p99 latency, and resident memory per open connection (for urna client and broker share the process,
//! so it is an upper bound; for mosquitto its own process). The same load runs against Debian's mosquitto
//! when installed, with the same certificates. Prints one JSON line. Not a test: nothing is asserted.

use std::sync::Arc;
use std::time::{Duration, Instant};

use urna_broker::client::{self, Client, Options};
use urna_broker::pki::FleetCa;
use urna_broker::{AdminAuth, Broker, BrokerConfig, Limits, RateLimit};

type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

fn env(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Resident memory of a process (`self` or a pid), KiB.
fn rss_kib(pid: Option<u32>) -> u64 {
    let path = pid.map_or("/proc/self/status".to_string(), |p| format!("/proc/{p}/status"));
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmRSS:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

fn main() -> Res<()> {
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(run())
}

async fn run() -> Res<()> {
    let devices = env("URNA_BENCH_DEVICES", 200);
    let messages = env("URNA_BENCH_MESSAGES", 500);
    let ca = FleetCa::new("bench")?;
    let server = ca.server(&["localhost"])?;
    let tls = server.server_tls()?;
    let mut config = BrokerConfig::new("bench", tls, AdminAuth::InsecureNoAuth);
    config.limits = Limits { rate: RateLimit { per_second: 1e9, burst: 1e9 }, ..Limits::default() };
    let broker = Broker::start(config).await?;

    let mut configs = Vec::with_capacity(devices);
    for i in 0..devices {
        let id = format!("dev-{i}");
        let c = ca.client(&id)?;
        configs.push((id, c.client_tls()?));
    }
    let urna = measure(broker.mqtt_addr, configs.clone(), messages, None).await?;
    broker.shutdown().await;
    let mosquitto = match mosquitto(&ca, &server).await {
        Ok(Some((mut child, addr, _dir))) => {
            let m = measure(addr, configs, messages, child.id()).await;
            // Kill and reap it (a dropped child would be left a zombie).
            let _ = child.kill().await;
            Some(m?)
        }
        Ok(None) => None,
        Err(e) => {
            eprintln!("mosquitto not measured: {e}");
            None
        }
    };
    let ratio = |k: &str| mosquitto.as_ref().and_then(|m| Some(urna[k].as_f64()? / m[k].as_f64()?));
    let line = serde_json::json!({
        "urna": urna,
        "mosquitto": mosquitto,
        "ratios": {
            "connectsPerSecond": ratio("connectsPerSecond"),
            "qos1RoundTripsPerSecond": ratio("qos1RoundTripsPerSecond"),
            "p99Ms": ratio("p99Ms"),
        },
    });
    println!("{line}");
    Ok(())
}

type Configs = Vec<(String, Arc<rustls::ClientConfig>)>;

/// Debian's mosquitto with the same certificates, a per-device ACL pattern and an explicit queue limit,
/// if the binary is installed (`URNA_BENCH_MOSQUITTO`, default `mosquitto`).
async fn mosquitto(
    ca: &FleetCa,
    server: &urna_broker::pki::Issued,
) -> Res<Option<(tokio::process::Child, std::net::SocketAddr, tempfile::TempDir)>> {
    let bin = std::env::var("URNA_BENCH_MOSQUITTO").unwrap_or_else(|_| "mosquitto".into());
    if std::process::Command::new(&bin).arg("-h").output().is_err() {
        eprintln!("mosquitto not installed: measuring urna only");
        return Ok(None);
    }
    let dir = tempfile::tempdir()?;
    let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let p = |n: &str| dir.path().join(n).display().to_string();
    std::fs::write(p("ca.crt"), ca.ca_pem())?;
    std::fs::write(p("server.crt"), &server.cert_pem)?;
    std::fs::write(p("server.key"), &server.key_pem)?;
    std::fs::write(
        p("acl"),
        "pattern write urna/bench/booth/%u/heartbeat\npattern write urna/bench/booth/%u/gps\n\
         pattern write urna/bench/booth/%u/ballot\npattern read urna/bench/booth/%u/cmd/#\n",
    )?;
    let conf = format!(
        "listener {port} 127.0.0.1\ncafile {}\ncertfile {}\nkeyfile {}\nrequire_certificate true\n\
         use_identity_as_username true\nallow_anonymous false\nacl_file {}\nmax_queued_messages 1000\n\
         persistence false\nlog_dest none\n",
        p("ca.crt"),
        p("server.crt"),
        p("server.key"),
        p("acl"),
    );
    std::fs::write(p("mosquitto.conf"), conf)?;
    let child = tokio::process::Command::new(bin).arg("-c").arg(p("mosquitto.conf")).kill_on_drop(true).spawn()?;
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    for _ in 0..100 {
        if tokio::net::TcpStream::connect(addr).await.is_ok() {
            return Ok(Some((child, addr, dir)));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err("mosquitto did not start".into())
}

/// `server_pid`: the broker's process when it is not this one (its memory is then measured alone).
async fn measure(
    addr: std::net::SocketAddr,
    configs: Configs,
    messages: usize,
    server_pid: Option<u32>,
) -> Res<serde_json::Value> {
    let devices = configs.len();
    let rss_before = rss_kib(server_pid);
    let started = Instant::now();
    let mut tasks = Vec::with_capacity(devices);
    for (id, tls) in configs {
        tasks.push(tokio::spawn(async move {
            let stream = client::connect_tls(addr, tls, "localhost").await?;
            let opts = Options { client_id: &id, keep_alive_secs: 300, clean_session: true, will: None };
            let c = Client::handshake(stream, &opts).await?;
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>((id, c))
        }));
    }
    let mut clients = Vec::with_capacity(devices);
    for t in tasks {
        clients.push(t.await??);
    }
    let connect_secs = started.elapsed().as_secs_f64();
    let rss_connected = rss_kib(server_pid);

    let publishers = clients.len().min(20);
    let latencies = Arc::new(std::sync::Mutex::new(Vec::with_capacity(publishers * messages)));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (id, mut c) in clients.drain(..publishers) {
        let lat = latencies.clone();
        tasks.push(tokio::spawn(async move {
            let topic = format!("urna/bench/booth/{id}/heartbeat");
            let mut mine = Vec::with_capacity(messages);
            for i in 0..messages {
                let t = Instant::now();
                c.publish_acked(&topic, (i % 65_000) as u16 + 1, b"{\"ok\":true}").await?;
                mine.push(t.elapsed());
            }
            lat.lock().unwrap_or_else(|e| e.into_inner()).extend(mine);
            Ok::<_, Box<dyn std::error::Error + Send + Sync>>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let publish_secs = started.elapsed().as_secs_f64();
    let mut lat = latencies.lock().unwrap_or_else(|e| e.into_inner()).clone();
    lat.sort();
    let pct = |p: f64| {
        lat.get(((lat.len() as f64 * p) as usize).min(lat.len().saturating_sub(1))).copied().unwrap_or(Duration::ZERO)
    };
    let line = serde_json::json!({
        "devices": devices,
        "connectsPerSecond": (devices as f64 / connect_secs).round(),
        "kibPerConnection": (rss_connected.saturating_sub(rss_before) as f64 / devices as f64).round(),
        "publishers": publishers,
        "qos1RoundTripsPerSecond": ((publishers * messages) as f64 / publish_secs).round(),
        "p50Ms": pct(0.50).as_secs_f64() * 1e3,
        "p99Ms": pct(0.99).as_secs_f64() * 1e3,
    });
    drop(clients);
    Ok(line)
}
