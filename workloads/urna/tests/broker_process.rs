//! `urna broker` as a process: its admin API is never open unless asked for by name, and a flood of
//! silent sockets (5,000, from many loopback addresses) neither takes the places of booths nor delays one:
//! a booth still connects with mutual TLS and gets its CONNACK within a second.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

mod support;

use std::net::SocketAddr;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use support::{Killed, http, spawn_announcing};
use tokio::net::{TcpSocket, TcpStream};
use urna_broker::client::{self, Client, Options};
use urna_broker::pki::FleetCa;

const URNA: &str = env!("CARGO_BIN_EXE_urna");
const FLEET: &str = "f";
/// The silent sockets of each flood.
const FLOOD: usize = 5_000;
/// The test's bound on a booth's connect (TCP, mutual TLS, CONNECT, CONNACK) during a flood.
const BOOTH_CONNECT: Duration = Duration::from_secs(1);
/// Sessions the flooded broker admits: fewer than the flood, as on a shard sized for its booths.
const SESSIONS: &str = "1000";
/// One flood at a time: the bound on the booth is about one broker under one flood.
static FLOODS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A fleet CA and the broker's TLS directory (`ca.crt`, `tls.crt`, `tls.key`, as the operator mounts it).
fn tls_dir(dir: &Path) -> FleetCa {
    let ca = FleetCa::new(FLEET).unwrap();
    let server = ca.server(&["localhost"]).unwrap();
    for (name, pem) in [("ca.crt", &server.ca_pem), ("tls.crt", &server.cert_pem), ("tls.key", &server.key_pem)] {
        std::fs::write(dir.join(name), pem).unwrap();
    }
    ca
}

/// `urna broker` on loopback ports chosen by the system, its status port on `status`.
fn broker_on(dir: &Path, status: &str) -> Command {
    let mut c = Command::new(URNA);
    c.args(["broker", "--fleet", FLEET, "--listen", "127.0.0.1:0", "--status-listen", status, "--tls-dir"]);
    c.arg(dir).env_remove("URNA_BROKER_ADMIN_TOKEN");
    c
}

fn broker(dir: &Path) -> Command {
    broker_on(dir, "127.0.0.1:0")
}

/// A running broker: the process, its MQTT address and its status address.
async fn start(command: Command) -> (Killed, SocketAddr, String) {
    let (child, first) = spawn_announcing(command).await;
    let mqtt = first["listening"].as_str().unwrap().parse().unwrap();
    (child, mqtt, first["status"].as_str().unwrap().to_owned())
}

/// Runs `command` to its end (it must end within 30 s).
fn run_to_end(mut command: Command) -> Output {
    let mut child = command.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("the broker started where it must refuse to");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn without_a_token_the_broker_refuses_to_start_unless_told_to_run_open_on_loopback() {
    let dir = tempfile::tempdir().unwrap();
    tls_dir(dir.path());
    let out = run_to_end(broker(dir.path()));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("--admin-token-file") && stderr.contains("URNA_BROKER_ADMIN_TOKEN"), "{stderr}");
    assert!(stderr.contains("--insecure-no-auth"), "{stderr}");

    // Open on a non-loopback status port: refused even with the flag.
    let mut open_wide = broker_on(dir.path(), "0.0.0.0:0");
    open_wide.arg("--insecure-no-auth");
    let out = run_to_end(open_wide);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("loopback"));

    // An empty token file is no token.
    let empty = dir.path().join("empty-token");
    std::fs::write(&empty, "\n").unwrap();
    let mut with_empty = broker(dir.path());
    with_empty.arg("--admin-token-file").arg(&empty);
    let out = run_to_end(with_empty);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("holds no token"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_blocklist_api_takes_the_token_from_a_file_or_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    tls_dir(dir.path());
    let token_file = dir.path().join("admin-token");
    std::fs::write(&token_file, "from-the-file\n").unwrap();
    let mut from_file = broker(dir.path());
    from_file.arg("--admin-token-file").arg(&token_file);
    let mut from_env = broker(dir.path());
    from_env.env("URNA_BROKER_ADMIN_TOKEN", "from-the-env");
    for (command, token) in [(from_file, "from-the-file"), (from_env, "from-the-env")] {
        let (_broker, _, status) = start(command).await;
        for wrong in [None, Some("guess"), Some("from-the-fil")] {
            assert_eq!(http(&status, "PUT", "/v1/blocklist/mesa-1-1", wrong).await.0, 401);
            assert_eq!(http(&status, "DELETE", "/v1/blocklist/mesa-1-1", wrong).await.0, 401);
        }
        assert!(!http(&status, "GET", "/v1/blocklist", None).await.1.contains("mesa-1-1"));
        assert_eq!(http(&status, "PUT", "/v1/blocklist/mesa-1-1", Some(token)).await.0, 200);
        assert!(http(&status, "GET", "/v1/blocklist", None).await.1.contains("mesa-1-1"));
        assert_eq!(http(&status, "DELETE", "/v1/blocklist/mesa-1-1", Some(token)).await.0, 200);
    }

    // Asked for by name, on loopback: open.
    let mut open = broker(dir.path());
    open.arg("--insecure-no-auth");
    let (_broker, _, status) = start(open).await;
    assert_eq!(http(&status, "PUT", "/v1/blocklist/mesa-1-1", None).await.0, 200);
}

/// Opens `per_address` silent TCP connections from each of `addresses` (127.0.x.1, 127.0.x.2, ...: any
/// 127/8 address is loopback on Linux) and keeps them.
async fn flood(to: SocketAddr, x: u8, addresses: u8, per_address: usize) -> Vec<TcpStream> {
    let mut held = Vec::with_capacity(usize::from(addresses) * per_address);
    for _ in 0..per_address {
        for a in 1..=addresses {
            let socket = TcpSocket::new_v4().unwrap();
            socket.bind(SocketAddr::from(([127, 0, x, a], 0))).unwrap();
            held.push(socket.connect(to).await.unwrap_or_else(|e| panic!("silent socket {}: {e}", held.len())));
        }
    }
    held
}

/// One value of the broker's metrics (`name` with its labels, as rendered).
async fn metric(status: &str, name: &str) -> i64 {
    let text = http(status, "GET", "/metrics", None).await.1;
    text.lines()
        .find_map(|l| l.strip_prefix(name).and_then(|v| v.strip_prefix(' ')))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("{name} not in the metrics:\n{text}"))
}

/// Pending, refused and shed: what the broker has made of the flood so far.
async fn flood_seen(status: &str) -> (i64, i64, i64) {
    (
        metric(status, "urna_broker_pending_handshakes").await,
        metric(status, "urna_broker_handshakes_refused_total{reason=\"per_address\"}").await,
        metric(status, "urna_broker_handshakes_shed_total").await,
    )
}

/// Starts a broker admitting [`SESSIONS`] sessions, floods it with silent sockets from `addresses`
/// addresses, waits until the broker has taken in every one of them, then connects a booth: mutual TLS,
/// CONNECT and CONNACK within [`BOOTH_CONNECT`], and a publish acknowledged. Returns the flood's
/// (pending, refused, shed) as the booth came.
async fn booth_through_a_flood(addresses: u8, x: u8) -> (i64, i64, i64) {
    let _one_at_a_time = FLOODS.lock().await;
    let dir = tempfile::tempdir().unwrap();
    let ca = tls_dir(dir.path());
    let mut command = broker(dir.path());
    command.args(["--insecure-no-auth", "--max-connections", SESSIONS]);
    let (_broker, mqtt, status) = start(command).await;

    let per_address = FLOOD / usize::from(addresses);
    let held = flood(mqtt, x, addresses, per_address).await;
    let total = i64::try_from(held.len()).unwrap();
    let mut seen = flood_seen(&status).await;
    for _ in 0..600 {
        if seen.0 + seen.1 + seen.2 == total {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        seen = flood_seen(&status).await;
    }
    assert_eq!(seen.0 + seen.1 + seen.2, total, "the broker did not take in the whole flood: {seen:?}");

    let tls = ca.client("mesa-1-1").unwrap().client_tls().unwrap();
    let opts = Options { client_id: "mesa-1-1", keep_alive_secs: 30, clean_session: true, will: None };
    let started = Instant::now();
    let connect = async {
        let stream = client::connect_tls(mqtt, tls, "localhost").await?;
        Client::handshake(stream, &opts).await
    };
    let mut booth = tokio::time::timeout(BOOTH_CONNECT, connect)
        .await
        .unwrap_or_else(|_| panic!("no CONNACK within {BOOTH_CONNECT:?} with the flood {seen:?} held open"))
        .unwrap();
    let took = started.elapsed();
    booth.publish_acked("urna/f/booth/mesa-1-1/heartbeat", 1, b"{}").await.unwrap();
    eprintln!("booth connected in {took:?} through {} silent sockets (pending, refused, shed: {seen:?})", held.len());
    drop(held);
    seen
}

/// 5,000 silent sockets from 10 addresses: each address keeps its 32 pending places (the default
/// `--max-pending-per-address`) and the rest are closed at accept.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_sockets_from_a_few_addresses_are_held_to_their_cap_and_a_booth_connects_within_a_second() {
    let (pending, refused, shed) = booth_through_a_flood(10, 1).await;
    assert_eq!((pending, refused, shed), (320, 5_000 - 320, 0));
}

/// 5,000 silent sockets from 200 addresses (25 each, under the per-address cap): the pending budget
/// (4,096 by default) is full, each socket beyond it closes the oldest, and a booth still connects.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn silent_sockets_from_many_addresses_fill_the_pending_budget_oldest_shed_and_a_booth_connects_within_a_second() {
    let (pending, refused, shed) = booth_through_a_flood(200, 2).await;
    assert_eq!((pending, refused, shed), (4_096, 0, 5_000 - 4_096));
}
