//! rumqttd inside the process, on a loopback port only the front connects to.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::time::Duration;

use rumqttd::{Config, ConnectionSettings, RouterConfig, ServerSettings};
use tracing::{error, info};

use crate::error::{Error, Result};

/// Starts rumqttd (MQTT 3.1.1, plain TCP) on a free loopback port and returns its address once it accepts.
///
/// rumqttd binds its own listener and cannot report an ephemeral port, so a free port is found by binding
/// and releasing it first (a narrow race on a loopback port; the readiness probe below catches a loss).
/// rumqttd has no shutdown: its threads live until the process exits.
pub async fn start(max_packet_bytes: usize, max_connections: usize) -> Result<SocketAddr> {
    let addr = {
        let probe = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(Error::io("finding a loopback port"))?;
        probe.local_addr().map_err(Error::io("finding a loopback port"))?
    };
    let connections = ConnectionSettings {
        connection_timeout_ms: 10_000,
        max_payload_size: max_packet_bytes,
        max_inflight_count: 100,
        auth: None,
        external_auth: None,
        dynamic_filters: true,
    };
    let server = ServerSettings {
        name: "loopback".into(),
        listen: addr,
        tls: None,
        // rumqttd sleeps this long after every accept; the front already paces connections.
        next_connection_delay_ms: 0,
        connections,
    };
    let config = Config {
        id: 0,
        router: RouterConfig {
            max_connections: max_connections + 16,
            max_outgoing_packet_count: 200,
            max_segment_size: 100 * 1024 * 1024,
            max_segment_count: 10,
            ..RouterConfig::default()
        },
        v4: Some(HashMap::from([("loopback".to_string(), server)])),
        ..Config::default()
    };
    let mut broker = rumqttd::Broker::new(config);
    std::thread::Builder::new()
        .name("rumqttd".into())
        .spawn(move || {
            if let Err(e) = broker.start() {
                error!(error = %e, "rumqttd stopped");
            }
        })
        .map_err(Error::io("spawning rumqttd"))?;
    for _ in 0..200 {
        if probe(addr).await.is_ok() {
            info!(%addr, "embedded rumqttd accepting on loopback");
            return Ok(addr);
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    Err(Error::Rumqttd(format!("not accepting on {addr} after 5 s")))
}

/// A full MQTT round trip (CONNECT, CONNACK, DISCONNECT) to rumqttd, so readiness means it serves MQTT
/// (a bare TCP connect would also make rumqttd log an error per probe). The client id starts with `~`,
/// which no device can have (the front refuses such certificate names), so a probe never takes over a
/// device's session; and it is new for every probe, because rumqttd 0.20 can panic when a client id
/// reconnects after a connection that ended early (see session.rs).
pub async fn probe(addr: SocketAddr) -> std::result::Result<(), String> {
    use std::sync::atomic::{AtomicU64, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    static PROBES: AtomicU64 = AtomicU64::new(0);
    let id = format!("~urna-readiness-{}", PROBES.fetch_add(1, Ordering::Relaxed));
    let round_trip = async {
        let mut s = tokio::net::TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
        s.write_all(&crate::mqtt::connect(&id, 5, true, None)).await.map_err(|e| e.to_string())?;
        let mut ack = [0u8; 4];
        s.read_exact(&mut ack).await.map_err(|e| e.to_string())?;
        if ack != [0x20, 0x02, 0x00, 0x00] {
            return Err(format!("unexpected CONNACK {ack:02x?}"));
        }
        let _ = s.write_all(&crate::mqtt::disconnect()).await;
        Ok(())
    };
    tokio::time::timeout(Duration::from_secs(5), round_trip).await.map_err(|_| "no CONNACK in 5 s".to_string())?
}
