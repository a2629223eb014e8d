//! The front against real MQTT on 127.0.0.1: mutual TLS, identities, topic rights, blocks, rate limits,
//! stalled sockets, and an independent client (Debian's mosquitto-clients) when installed.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_rustls::client::TlsStream;
use urna_broker::client::{self, Client, ClientError, Options};
use urna_broker::mqtt::{self, PacketType};
use urna_broker::pki::{FleetCa, Issued};
use urna_broker::{AdminAuth, Broker, BrokerConfig, Limits, PendingLimits, RateLimit};
use urna_testkit::Request;

type Res = Result<(), Box<dyn std::error::Error>>;
type Conn = Client<TlsStream<TcpStream>>;

/// Generous: the machine is shared and loaded; these bound a hang, they never measure anything.
const PATIENCE: Duration = Duration::from_secs(30);
const FLEET: &str = "f";
/// The admin token the test brokers are started with.
const ADMIN: &str = "officer-token";

struct Fleet {
    ca: FleetCa,
    broker: Broker,
}

impl Fleet {
    async fn start() -> Result<Self, Box<dyn std::error::Error>> {
        Self::start_with(|_| {}).await
    }

    async fn start_with(tune: impl FnOnce(&mut BrokerConfig)) -> Result<Self, Box<dyn std::error::Error>> {
        let ca = FleetCa::new(FLEET)?;
        let server = ca.server(&["localhost"])?;
        let tls = server.server_tls()?;
        let mut config = BrokerConfig::new(FLEET, tls, AdminAuth::Token(urna_auth::Token::new(ADMIN).expect("token")));
        tune(&mut config);
        Ok(Self { ca, broker: Broker::start(config).await? })
    }

    async fn connect_as(&self, cert: &Issued, client_id: &str) -> Result<Conn, ClientError> {
        let opts = Options { client_id, keep_alive_secs: 60, clean_session: true, will: None };
        self.connect_with(cert, &opts).await
    }

    async fn connect_with(&self, cert: &Issued, opts: &Options<'_>) -> Result<Conn, ClientError> {
        let tls = cert.client_tls().map_err(|e| ClientError::Io(std::io::Error::other(e.to_string())))?;
        let stream = client::connect_tls(self.broker.mqtt_addr, tls, "localhost").await?;
        timeout(PATIENCE, Client::handshake(stream, opts))
            .await
            .map_err(|_| ClientError::Io(std::io::Error::other("CONNECT timed out")))?
    }

    async fn device(&self, id: &str) -> Result<Conn, Box<dyn std::error::Error>> {
        Ok(self.connect_as(&self.ca.client(id)?, id).await?)
    }
}

/// Waits for a condition the broker reaches asynchronously (a counter, a closed session).
async fn eventually(what: &str, mut f: impl FnMut() -> bool) -> Res {
    for _ in 0..600 {
        if f() {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(format!("never happened: {what}").into())
}

/// Reads until the broker closes the connection (or errors), failing if it stays open.
async fn closed_by_broker(c: &mut Conn) -> Res {
    match timeout(PATIENCE, async {
        loop {
            if c.read().await.is_err() {
                return;
            }
        }
    })
    .await
    {
        Ok(()) => Ok(()),
        Err(_) => Err("connection stayed open".into()),
    }
}

/// The next PUBLISH (acknowledged if QoS 1): topic and payload.
async fn next_publish(c: &mut Conn) -> Result<(String, Vec<u8>), Box<dyn std::error::Error>> {
    timeout(PATIENCE, async {
        loop {
            let f = c.read().await?;
            if f.packet_type() == PacketType::Publish {
                let p = mqtt::parse_publish(&f)?;
                if let Some(id) = p.pkid {
                    c.send(&mqtt::puback(id)).await?;
                }
                return Ok((p.topic, p.payload.to_vec()));
            }
        }
    })
    .await
    .map_err(|_| "no PUBLISH arrived")?
}

async fn http(addr: SocketAddr, method: &str, path: &str) -> Result<(u16, String), Box<dyn std::error::Error>> {
    http_as(addr, method, path, None).await
}

/// An HTTP request, with `Authorization: Bearer <token>` when a token is given.
async fn http_as(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
) -> Result<(u16, String), Box<dyn std::error::Error>> {
    let r = Request::new(method, path).bearer(token).timeout(PATIENCE).send_async(addr).await?;
    Ok((r.status, r.text()))
}

#[tokio::test]
async fn device_publishes_to_backend_shared_subscription_and_receives_its_commands() -> Res {
    let fleet = Fleet::start().await?;
    // The backend identity is the CN `urna-bridge`; replicas use client ids `urna-bridge-<n>`.
    let mut backend = fleet.connect_as(&fleet.ca.client("urna-bridge")?, "urna-bridge-0").await?;
    let (codes, _) = backend.subscribe(1, &[("$share/bridge/urna/f/booth/+/ballot", 1)]).await?;
    assert_eq!(codes, vec![1]);

    let mut device = fleet.device("mesa-1-1").await?;
    let (codes, _) = device.subscribe(1, &[("urna/f/booth/mesa-1-1/cmd/#", 1)]).await?;
    assert_eq!(codes, vec![1]);
    device.publish_acked("urna/f/booth/mesa-1-1/ballot", 7, b"sealed ballot").await?;
    assert_eq!(next_publish(&mut backend).await?, ("urna/f/booth/mesa-1-1/ballot".into(), b"sealed ballot".to_vec()));

    backend.publish_acked("urna/f/booth/mesa-1-1/cmd/lock", 2, b"{}").await?;
    assert_eq!(next_publish(&mut device).await?.0, "urna/f/booth/mesa-1-1/cmd/lock");

    let m = &fleet.broker.metrics;
    assert_eq!(m.connects.get(), 2);
    assert_eq!(m.connections.get(), 2);
    let metrics = http(fleet.broker.status_addr, "GET", "/metrics").await?.1;
    assert!(metrics.contains("urna_broker_connects_total 2"), "{metrics}");
    assert!(metrics.contains("urna_broker_messages_total{direction=\"in\"} 2"), "{metrics}");
    assert_eq!(http(fleet.broker.status_addr, "GET", "/healthz").await?.0, 200);
    assert_eq!(http(fleet.broker.status_addr, "GET", "/readyz").await?.0, 200);
    Ok(())
}

#[tokio::test]
async fn client_without_certificate_is_refused() -> Res {
    let fleet = Fleet::start().await?;
    let roots = urna_broker::tls::roots(fleet.ca.ca_pem().as_bytes())?;
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth();
    // With TLS 1.3 the client may finish its side before the server refuses; the refusal then surfaces
    // on the CONNECT exchange. Either way no session may be established.
    let refused = match client::connect_tls(fleet.broker.mqtt_addr, Arc::new(config), "localhost").await {
        Err(_) => true,
        Ok(stream) => {
            let opts = Options { client_id: "mesa-1-1", keep_alive_secs: 60, clean_session: true, will: None };
            timeout(PATIENCE, Client::handshake(stream, &opts)).await?.is_err()
        }
    };
    assert!(refused);
    eventually("authn failure counted", || fleet.broker.metrics.authn_count("tls") == 1).await?;
    assert_eq!(fleet.broker.metrics.connects.get(), 0);
    Ok(())
}

#[tokio::test]
async fn certificate_from_another_ca_is_refused() -> Res {
    let fleet = Fleet::start().await?;
    let rogue = FleetCa::new(FLEET)?.client("mesa-1-1")?;
    // The rogue certificate with the real CA as trust anchor for the server.
    let cert = Issued { ca_pem: fleet.ca.ca_pem().to_owned(), ..rogue };
    assert!(fleet.connect_as(&cert, "mesa-1-1").await.is_err());
    eventually("authn failure counted", || fleet.broker.metrics.authn_count("tls") == 1).await?;
    assert_eq!(fleet.broker.metrics.connects.get(), 0);
    Ok(())
}

#[tokio::test]
async fn client_id_must_be_the_certificate_device() -> Res {
    let fleet = Fleet::start().await?;
    let cert = fleet.ca.client("mesa-1-1")?;
    match fleet.connect_as(&cert, "mesa-1-2").await {
        Err(ClientError::Refused(code)) => assert_eq!(code, mqtt::connack_code::IDENTIFIER_REJECTED),
        other => return Err(format!("expected a refusal, got {:?}", other.map(|_| ())).into()),
    }
    assert_eq!(fleet.broker.metrics.authn_count("client_id"), 1);
    // A backend certificate does not let a client pose as a device either.
    let backend = fleet.ca.client("urna-bridge")?;
    assert!(matches!(fleet.connect_as(&backend, "mesa-1-1").await, Err(ClientError::Refused(2))));
    Ok(())
}

#[tokio::test]
async fn blocked_device_is_kicked_at_once_and_refused_until_unblocked() -> Res {
    let fleet = Fleet::start().await?;
    let mut device = fleet.device("mesa-1-1").await?;
    let mut other = fleet.device("mesa-1-2").await?;
    let status = fleet.broker.status_addr;

    // Without the admin token, or with another, nothing changes.
    for token in [None, Some("guess")] {
        let (code, body) = http_as(status, "PUT", "/v1/blocklist/mesa-1-1", token).await?;
        assert_eq!(code, 401, "{body}");
    }
    device.publish_acked("urna/f/booth/mesa-1-1/heartbeat", 1, b"{}").await?;
    assert!(!http(status, "GET", "/v1/blocklist").await?.1.contains("mesa-1-1"));

    let (code, body) = http_as(status, "PUT", "/v1/blocklist/mesa-1-1", Some(ADMIN)).await?;
    assert_eq!(code, 200, "{body}");
    closed_by_broker(&mut device).await?;
    assert_eq!(fleet.broker.metrics.kicked.get(), 1);
    // Only the blocked device went away.
    other.publish_acked("urna/f/booth/mesa-1-2/heartbeat", 1, b"{}").await?;

    match fleet.device("mesa-1-1").await {
        Err(e) => assert!(matches!(e.downcast_ref::<ClientError>(), Some(ClientError::Refused(5))), "{e}"),
        Ok(_) => return Err("blocked device connected".into()),
    }
    assert_eq!(fleet.broker.metrics.authn_count("blocked"), 1);
    assert!(http(status, "GET", "/v1/blocklist").await?.1.contains("mesa-1-1"));

    assert_eq!(http(status, "DELETE", "/v1/blocklist/mesa-1-1").await?.0, 401);
    assert_eq!(http_as(status, "DELETE", "/v1/blocklist/mesa-1-1", Some(ADMIN)).await?.0, 200);
    fleet.device("mesa-1-1").await?.publish_acked("urna/f/booth/mesa-1-1/heartbeat", 1, b"{}").await?;
    Ok(())
}

#[tokio::test]
async fn blocklist_file_refuses_and_kicks_when_it_changes() -> Res {
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("blocked");
    std::fs::write(&path, "# none yet\n")?;
    let file = path.clone();
    let fleet = Fleet::start_with(move |c| {
        c.blocklist_file = Some(file);
        c.blocklist_poll = Duration::from_millis(100);
    })
    .await?;
    let mut device = fleet.device("mesa-3-1").await?;
    std::fs::write(&path, "mesa-3-1 # seized\n")?;
    closed_by_broker(&mut device).await?;
    assert!(fleet.device("mesa-3-1").await.is_err());
    Ok(())
}

#[tokio::test]
async fn publishing_outside_own_topics_disconnects() -> Res {
    let fleet = Fleet::start().await?;
    let mut device = fleet.device("mesa-1-1").await?;
    device.send(&mqtt::publish("urna/f/booth/mesa-1-2/ballot", 1, Some(1), b"forged")).await?;
    closed_by_broker(&mut device).await?;
    assert_eq!(fleet.broker.metrics.authz_count("not_own_topic"), 1);

    let mut device = fleet.device("mesa-1-1").await?;
    device.send(&mqtt::publish("urna/f/booth/mesa-1-1/cmd/unlock", 0, None, b"self-issued")).await?;
    closed_by_broker(&mut device).await?;
    assert_eq!(fleet.broker.metrics.authz_count("not_own_topic"), 2);
    Ok(())
}

#[tokio::test]
async fn subscribing_outside_own_commands_is_refused_in_the_suback() -> Res {
    let fleet = Fleet::start().await?;
    let mut device = fleet.device("mesa-1-1").await?;
    let (codes, _) = device.subscribe(3, &[("urna/f/booth/+/ballot", 1)]).await?;
    assert_eq!(codes, vec![mqtt::SUBACK_FAILURE]);
    let (codes, _) = device.subscribe(4, &[("urna/f/booth/mesa-1-1/cmd/#", 1), ("#", 0)]).await?;
    assert_eq!(codes, vec![mqtt::SUBACK_FAILURE, mqtt::SUBACK_FAILURE]);
    assert_eq!(fleet.broker.metrics.authz_count("not_own_topic"), 2);
    // The session goes on, and the refused filters deliver nothing.
    let mut peer = fleet.device("mesa-1-2").await?;
    peer.publish_acked("urna/f/booth/mesa-1-2/ballot", 1, b"x").await?;
    device.publish_acked("urna/f/booth/mesa-1-1/heartbeat", 5, b"{}").await?;
    let (codes, _) = device.subscribe(6, &[("urna/f/booth/mesa-1-1/cmd/#", 1)]).await?;
    assert_eq!(codes, vec![1]);
    Ok(())
}

#[tokio::test]
async fn idle_and_half_handshaken_sockets_do_not_delay_a_device() -> Res {
    // A handshake timeout far beyond the test: the device must get through while the stalled sockets are
    // still pending, which only concurrent handshakes allow.
    let fleet =
        Fleet::start_with(|c| c.limits = Limits { handshake_timeout: Duration::from_secs(600), ..c.limits }).await?;
    let mut stalled = Vec::new();
    for i in 0..8 {
        let mut s = TcpStream::connect(fleet.broker.mqtt_addr).await?;
        if i % 2 == 1 {
            // The start of a TLS record header, then silence.
            s.write_all(&[0x16, 0x03, 0x01]).await?;
        }
        stalled.push(s);
    }
    let mut device = fleet.device("mesa-1-1").await?;
    device.publish_acked("urna/f/booth/mesa-1-1/heartbeat", 1, b"{}").await?;
    assert_eq!(fleet.broker.metrics.handshake_timeouts.get(), 0, "the stalled sockets are still pending");
    drop(stalled);
    Ok(())
}

/// A TCP connection from `source` (any 127/8 address on Linux loopback) that never says anything.
async fn silent_from(source: [u8; 4], to: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind(SocketAddr::from((source, 0)))?;
    socket.connect(to).await
}

/// Whether the broker has closed `s` (end of stream or reset), waiting at most `wait`.
async fn is_closed(s: &mut TcpStream, wait: Duration) -> bool {
    let mut buf = [0u8; 1];
    matches!(timeout(wait, s.read(&mut buf)).await, Ok(Ok(0) | Err(_)))
}

#[tokio::test]
async fn pending_connections_are_capped_per_address_and_the_oldest_shed_when_the_budget_is_full() -> Res {
    let fleet = Fleet::start_with(|c| {
        c.limits = Limits {
            handshake_timeout: Duration::from_secs(600),
            pending: PendingLimits { per_address: 4, budget: 8 },
            ..c.limits
        }
    })
    .await?;
    let (m, to) = (&fleet.broker.metrics, fleet.broker.mqtt_addr);
    // Six silent sockets from each of two addresses: four of each pending, two of each closed at once.
    let mut a = Vec::new();
    let mut b = Vec::new();
    for _ in 0..6 {
        a.push(silent_from([127, 0, 0, 11], to).await?);
    }
    for _ in 0..6 {
        b.push(silent_from([127, 0, 0, 12], to).await?);
    }
    eventually("four refused", || m.handshake_refused_count("per_address") == 4).await?;
    assert_eq!((m.pending_handshakes.get(), m.handshakes_shed.get()), (8, 0));
    for s in a[4..].iter_mut().chain(&mut b[4..]) {
        assert!(is_closed(s, PATIENCE).await, "a socket beyond its address's cap stayed open");
    }
    // The budget is full: two sockets from a third address shed the two oldest, the first two of `a`.
    let mut c = vec![silent_from([127, 0, 0, 13], to).await?, silent_from([127, 0, 0, 13], to).await?];
    eventually("two shed", || m.handshakes_shed.get() == 2).await?;
    assert!(is_closed(&mut a[0], PATIENCE).await && is_closed(&mut a[1], PATIENCE).await);
    let short = Duration::from_millis(200);
    for s in a[2..4].iter_mut().chain(&mut b[..4]).chain(&mut c) {
        assert!(!is_closed(s, short).await, "a newer pending socket was shed");
    }
    // A device still gets in (shedding the next oldest), and once admitted holds no pending place.
    let mut device = fleet.device("mesa-1-1").await?;
    device.publish_acked("urna/f/booth/mesa-1-1/heartbeat", 1, b"{}").await?;
    assert!(is_closed(&mut a[2], PATIENCE).await);
    assert_eq!((m.handshakes_shed.get(), m.pending_handshakes.get()), (3, 7));
    let metrics = http(fleet.broker.status_addr, "GET", "/metrics").await?.1;
    for line in [
        "urna_broker_handshakes_shed_total 3",
        "urna_broker_pending_handshakes 7",
        "urna_broker_handshakes_refused_total{reason=\"per_address\"} 4",
    ] {
        assert!(metrics.contains(line), "{line} missing from\n{metrics}");
    }
    Ok(())
}

#[tokio::test]
async fn stalled_handshakes_time_out_and_are_counted() -> Res {
    let fleet =
        Fleet::start_with(|c| c.limits = Limits { handshake_timeout: Duration::from_millis(300), ..c.limits }).await?;
    let mut idle = TcpStream::connect(fleet.broker.mqtt_addr).await?;
    let mut buf = [0u8; 16];
    // The front closes the socket: read returns end of stream (or a reset).
    let n = timeout(PATIENCE, idle.read(&mut buf)).await?.unwrap_or(0);
    assert_eq!(n, 0);
    eventually("handshake timeout counted", || fleet.broker.metrics.handshake_timeouts.get() == 1).await
}

#[tokio::test]
async fn flooding_device_is_held_to_its_rate_without_losing_messages() -> Res {
    // Refill so slow that no scheduling delay on a loaded machine can keep the bucket from running dry.
    let rate = RateLimit { per_second: 4.0, burst: 3.0 };
    let fleet = Fleet::start_with(|c| c.limits = Limits { rate, ..c.limits }).await?;
    let mut backend = fleet.connect_as(&fleet.ca.client("urna-bridge")?, "urna-bridge").await?;
    backend.subscribe(1, &[("urna/f/booth/+/gps", 1)]).await?;
    let mut device = fleet.device("mesa-1-1").await?;
    for i in 1..=8u16 {
        device.publish_acked("urna/f/booth/mesa-1-1/gps", i, &i.to_be_bytes()).await?;
    }
    for i in 1..=8u16 {
        assert_eq!(next_publish(&mut backend).await?.1, i.to_be_bytes().to_vec());
    }
    assert!(fleet.broker.metrics.rate_limited.get() > 0);
    Ok(())
}

#[tokio::test]
async fn will_on_another_device_topic_is_refused() -> Res {
    let fleet = Fleet::start().await?;
    let cert = fleet.ca.client("mesa-1-1")?;
    let tls = cert.client_tls()?;
    let stream = client::connect_tls(fleet.broker.mqtt_addr, tls, "localhost").await?;
    let opts = Options {
        client_id: "mesa-1-1",
        keep_alive_secs: 60,
        clean_session: true,
        will: Some(("urna/f/booth/mesa-1-2/sos", b"fake sos", 1)),
    };
    assert!(matches!(Client::handshake(stream, &opts).await, Err(ClientError::Refused(5))));
    Ok(())
}

/// Debian's mosquitto clients (package mosquitto-clients) against the front, with the same certificates.
#[tokio::test]
async fn mosquitto_clients_are_served_and_confined() -> Res {
    let found = std::process::Command::new("mosquitto_pub").arg("--help").output().is_ok();
    if !found {
        println!(
            "SKIP mosquitto_clients_are_served_and_confined: mosquitto_pub not installed (apt-get install mosquitto-clients)"
        );
        return Ok(());
    }
    let fleet = Fleet::start().await?;
    let dir = tempfile::tempdir()?;
    let write = |name: &str, cert: &Issued| -> Result<Vec<String>, std::io::Error> {
        let (c, k, a) =
            (dir.path().join(format!("{name}.crt")), dir.path().join(format!("{name}.key")), dir.path().join("ca.crt"));
        std::fs::write(&c, &cert.cert_pem)?;
        std::fs::write(&k, &cert.key_pem)?;
        std::fs::write(&a, &cert.ca_pem)?;
        let p = |p: std::path::PathBuf| p.display().to_string();
        Ok(vec!["--cafile".into(), p(a), "--cert".into(), p(c), "--key".into(), p(k)])
    };
    let port = fleet.broker.mqtt_addr.port().to_string();
    let common = ["-h", "localhost", "-p", port.as_str(), "-V", "mqttv311"];
    let device = write("mesa-7-1", &fleet.ca.client("mesa-7-1")?)?;
    let backend = write("bridge", &fleet.ca.client("urna-bridge")?)?;

    let mut sub = tokio::process::Command::new("mosquitto_sub")
        .args(common)
        .args(&backend)
        .args(["-i", "urna-bridge", "-q", "1", "-t", "urna/f/booth/+/ballot", "-C", "1", "-v", "-W", "60"])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()?;
    // The subscriber may not be subscribed yet: publish until it has received one message.
    let mut received = None;
    for _ in 0..60 {
        let publish = tokio::process::Command::new("mosquitto_pub")
            .args(common)
            .args(&device)
            .args(["-i", "mesa-7-1", "-q", "1", "-t", "urna/f/booth/mesa-7-1/ballot", "-m", "from-mosquitto"])
            .output()
            .await?;
        assert!(publish.status.success(), "{}", String::from_utf8_lossy(&publish.stderr));
        if let Ok(status) = timeout(Duration::from_millis(500), sub.wait()).await {
            received = Some(status?);
            break;
        }
    }
    let status = received.ok_or("mosquitto_sub never received the message")?;
    assert!(status.success());
    let mut out = String::new();
    if let Some(mut so) = sub.stdout.take() {
        so.read_to_string(&mut out).await?;
    }
    assert_eq!(out.trim(), "urna/f/booth/mesa-7-1/ballot from-mosquitto");

    // The same independent client is confined to its own topics and its own client id.
    let forged = tokio::process::Command::new("mosquitto_pub")
        .args(common)
        .args(&device)
        .args(["-i", "mesa-7-2", "-q", "1", "-t", "urna/f/booth/mesa-7-1/ballot", "-m", "x"])
        .output()
        .await?;
    assert!(!forged.status.success());
    assert!(fleet.broker.metrics.authn_count("client_id") >= 1);
    Ok(())
}

/// rumqttd 0.20 panics its server thread (for good: a poisoned mutex) when a client id connects again
/// after a connection that failed while being set up, as the first readiness probe did with a fixed
/// invalid client id. Repeated readiness probes and devices hanging up right after their CONNECT must
/// leave the broker serving.
#[tokio::test]
async fn readiness_probes_and_devices_hanging_up_after_connect_do_not_break_the_broker() -> Res {
    let fleet = Fleet::start().await?;
    let cert = fleet.ca.client("mesa-1-1")?;
    let tls = cert.client_tls()?;
    for _ in 0..5 {
        let mut s = client::connect_tls(fleet.broker.mqtt_addr, tls.clone(), "localhost").await?;
        s.write_all(&mqtt::connect("mesa-1-1", 60, true, None)).await?;
        drop(s);
    }
    for _ in 0..3 {
        assert_eq!(http(fleet.broker.status_addr, "GET", "/readyz").await?.0, 200);
    }
    fleet.device("mesa-1-1").await?.publish_acked("urna/f/booth/mesa-1-1/heartbeat", 1, b"{}").await?;
    fleet.device("mesa-1-2").await?.publish_acked("urna/f/booth/mesa-1-2/heartbeat", 1, b"{}").await?;
    assert_eq!(http(fleet.broker.status_addr, "GET", "/readyz").await?.0, 200);
    Ok(())
}

/// The next packet, within patience.
async fn next_packet(c: &mut Conn) -> Result<mqtt::Frame, Box<dyn std::error::Error>> {
    Ok(timeout(PATIENCE, c.read()).await.map_err(|_| "no packet arrived")??)
}

/// A PINGREQ round trip: everything the broker sent before its PINGRESP, in order.
async fn before_pong(c: &mut Conn) -> Result<Vec<mqtt::Frame>, Box<dyn std::error::Error>> {
    c.send(&mqtt::pingreq()).await?;
    let mut before = Vec::new();
    loop {
        let f = next_packet(c).await?;
        if f.packet_type() == PacketType::PingResp {
            return Ok(before);
        }
        before.push(f);
    }
}

async fn backend(fleet: &Fleet, filter: &str) -> Result<Conn, Box<dyn std::error::Error>> {
    let mut b = fleet.connect_as(&fleet.ca.client("urna-bridge")?, "urna-bridge-0").await?;
    let (codes, _) = b.subscribe(1, &[(filter, 1)]).await?;
    assert_eq!(codes, vec![1]);
    Ok(b)
}

#[tokio::test]
async fn the_front_serves_a_device_session_itself_pings_subscriptions_and_qos2_exactly_once() -> Res {
    let fleet = Fleet::start().await?;
    let mut backend = backend(&fleet, "urna/f/booth/+/+").await?;
    let mut device = fleet.device("mesa-1-1").await?;
    assert!(before_pong(&mut device).await?.is_empty());

    // Two overlapping filters: a command matching both is delivered once, at the highest granted QoS.
    let (codes, _) =
        device.subscribe(1, &[("urna/f/booth/mesa-1-1/cmd/+", 1), ("urna/f/booth/mesa-1-1/cmd/lock", 2)]).await?;
    assert_eq!(codes, vec![1, 1], "QoS 2 is granted as 1: commands travel at QoS 1 at most");
    backend.publish_acked("urna/f/booth/mesa-1-1/cmd/lock", 2, b"{}").await?;
    let lock = next_packet(&mut device).await?;
    let p = mqtt::parse_publish(&lock)?;
    assert_eq!((p.topic.as_str(), p.qos), ("urna/f/booth/mesa-1-1/cmd/lock", 1));
    device.send(&mqtt::puback(p.pkid.ok_or("QoS 1 without packet id")?)).await?;
    assert!(before_pong(&mut device).await?.is_empty(), "delivered twice");

    // After UNSUBSCRIBE nothing more arrives.
    device.send(&mqtt::unsubscribe(3, &["urna/f/booth/mesa-1-1/cmd/+", "urna/f/booth/mesa-1-1/cmd/lock"])).await?;
    let unsuback = next_packet(&mut device).await?;
    assert_eq!((unsuback.packet_type(), mqtt::parse_pkid(&unsuback)?), (PacketType::UnsubAck, 3));
    backend.publish_acked("urna/f/booth/mesa-1-1/cmd/unlock", 3, b"{}").await?;
    assert!(before_pong(&mut device).await?.is_empty(), "delivered after UNSUBSCRIBE");

    // QoS 2 from the device: PUBREC, a resent duplicate is answered but not passed on, PUBREL -> PUBCOMP.
    let ballot = mqtt::publish("urna/f/booth/mesa-1-1/ballot", 2, Some(5), b"b1");
    device.send(&ballot).await?;
    let rec = next_packet(&mut device).await?;
    assert_eq!((rec.packet_type(), mqtt::parse_pkid(&rec)?), (PacketType::PubRec, 5));
    let mut dup = ballot.clone();
    dup[0] |= 0x08;
    device.send(&dup).await?;
    let rec = next_packet(&mut device).await?;
    assert_eq!((rec.packet_type(), mqtt::parse_pkid(&rec)?), (PacketType::PubRec, 5));
    device.send(&mqtt::pubrel(5)).await?;
    let comp = next_packet(&mut device).await?;
    assert_eq!((comp.packet_type(), mqtt::parse_pkid(&comp)?), (PacketType::PubComp, 5));
    device.publish_acked("urna/f/booth/mesa-1-1/gps", 6, b"after").await?;
    assert_eq!(next_publish(&mut backend).await?, ("urna/f/booth/mesa-1-1/ballot".into(), b"b1".to_vec()));
    assert_eq!(next_publish(&mut backend).await?, ("urna/f/booth/mesa-1-1/gps".into(), b"after".to_vec()));
    assert!(before_pong(&mut backend).await?.is_empty(), "the QoS 2 ballot was passed on twice");
    Ok(())
}

#[tokio::test]
async fn a_newer_connection_of_a_device_takes_over_and_wills_follow_mqtt_rules() -> Res {
    let fleet = Fleet::start().await?;
    let mut backend = backend(&fleet, "urna/f/booth/+/state").await?;
    let cert = fleet.ca.client("mesa-1-1")?;
    let state = "urna/f/booth/mesa-1-1/state";
    let opts =
        Options { client_id: "mesa-1-1", keep_alive_secs: 60, clean_session: true, will: Some((state, b"gone", 1)) };

    let mut first = fleet.connect_with(&cert, &opts).await?;
    let mut second = fleet.connect_with(&cert, &opts).await?;
    closed_by_broker(&mut first).await?;
    // The takeover published no will: the next state the backend sees is the new session's own.
    second.publish_acked(state, 1, b"online").await?;
    assert_eq!(next_publish(&mut backend).await?, (state.into(), b"online".to_vec()));

    // A connection dropped without DISCONNECT publishes the will...
    drop(second);
    assert_eq!(next_publish(&mut backend).await?, (state.into(), b"gone".to_vec()));
    // ...a clean DISCONNECT does not.
    let third = fleet.connect_with(&cert, &opts).await?;
    third.disconnect().await?;
    let mut fourth = fleet.connect_with(&cert, &opts).await?;
    fourth.publish_acked(state, 2, b"online again").await?;
    assert_eq!(next_publish(&mut backend).await?, (state.into(), b"online again".to_vec()));
    eventually("one open device session", || fleet.broker.metrics.connections.get() == 2).await
}

#[tokio::test]
async fn a_silent_device_is_closed_after_its_keep_alive_and_its_will_published() -> Res {
    let fleet = Fleet::start().await?;
    let mut backend = backend(&fleet, "urna/f/booth/+/state").await?;
    let state = "urna/f/booth/mesa-1-1/state";
    let opts =
        Options { client_id: "mesa-1-1", keep_alive_secs: 1, clean_session: true, will: Some((state, b"silent", 0)) };
    let mut device = fleet.connect_with(&fleet.ca.client("mesa-1-1")?, &opts).await?;
    // Pings keep it open past its keep-alive...
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(700)).await;
        assert!(before_pong(&mut device).await?.is_empty());
    }
    // ...silence closes it after one and a half periods.
    closed_by_broker(&mut device).await?;
    assert_eq!(next_publish(&mut backend).await?, (state.into(), b"silent".to_vec()));
    Ok(())
}

/// Every device session shares a few uplinks to rumqttd: each PUBACK must still find its own device.
#[tokio::test]
async fn many_devices_publishing_at_once_each_get_every_acknowledgement() -> Res {
    let fleet = Fleet::start_with(|c| c.limits.rate = RateLimit { per_second: 10_000.0, burst: 10_000.0 }).await?;
    let mut backend = backend(&fleet, "urna/f/booth/+/+").await?;
    let devices: u16 = 200;
    let each: u16 = 20;
    let mut tasks = Vec::new();
    for d in 0..devices {
        let id = format!("mesa-{d}");
        let mut c = fleet.device(&id).await?;
        tasks.push(tokio::spawn(async move {
            for i in 0..each {
                let topic = format!("urna/f/booth/{id}/{}", if i % 4 == 3 { "ballot" } else { "heartbeat" });
                timeout(PATIENCE, c.publish_acked(&topic, i + 1, &vec![b'x'; if i % 4 == 3 { 4096 } else { 64 }]))
                    .await
                    .map_err(|_| format!("{id}: PUBACK {i} never came"))?
                    .map_err(|e| e.to_string())?;
            }
            Ok::<_, String>(())
        }));
    }
    for t in tasks {
        t.await??;
    }
    let mut received = 0;
    while received < u32::from(devices) * u32::from(each) {
        next_publish(&mut backend).await?;
        received += 1;
    }
    Ok(())
}

/// A loopback relay to rumqttd whose connections the test can cut, as if rumqttd had dropped them.
async fn cuttable_relay(
    to: SocketAddr,
) -> Result<(SocketAddr, tokio::sync::watch::Sender<u32>), Box<dyn std::error::Error>> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let (cut, cuts) = tokio::sync::watch::channel(0u32);
    tokio::spawn(async move {
        while let Ok((mut inbound, _)) = listener.accept().await {
            let mut cuts = cuts.clone();
            // Only cuts after this connection opened apply to it.
            cuts.borrow_and_update();
            tokio::spawn(async move {
                let Ok(mut outbound) = TcpStream::connect(to).await else { return };
                tokio::select! {
                    _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound) => {}
                    _ = cuts.changed() => {}
                }
            });
        }
    });
    Ok((addr, cut))
}

#[tokio::test]
async fn when_the_link_to_rumqttd_fails_device_sessions_end_and_are_served_again_on_reconnect() -> Res {
    let rumqttd = urna_broker::embedded::start(256 * 1024, 100).await?;
    let (relay, cut) = cuttable_relay(rumqttd).await?;
    let fleet = Fleet::start_with(|c| c.upstream = Some(relay)).await?;
    let mut device = fleet.device("mesa-1-1").await?;
    device.publish_acked("urna/f/booth/mesa-1-1/heartbeat", 1, b"before").await?;

    cut.send_modify(|n| *n += 1);
    closed_by_broker(&mut device).await?;
    eventually("the hub counted the lost link", || fleet.broker.metrics.upstream_lost.get() >= 1).await?;

    // The hub relinks; a device connecting again is served end to end, commands included.
    let mut backend = backend(&fleet, "urna/f/booth/+/+").await?;
    let mut device = fleet.device("mesa-1-1").await?;
    let (codes, _) = device.subscribe(1, &[("urna/f/booth/mesa-1-1/cmd/#", 1)]).await?;
    assert_eq!(codes, vec![1]);
    timeout(PATIENCE, device.publish_acked("urna/f/booth/mesa-1-1/ballot", 2, b"after")).await??;
    assert_eq!(next_publish(&mut backend).await?, ("urna/f/booth/mesa-1-1/ballot".into(), b"after".to_vec()));
    let mut delivered = false;
    for pkid in 10..40 {
        // The downlink may still be relinking: commands published before it is back are not kept.
        backend.publish_acked("urna/f/booth/mesa-1-1/cmd/ack", pkid, b"{}").await?;
        if let Ok(Ok(f)) = timeout(Duration::from_millis(200), device.read()).await {
            delivered = f.packet_type() == PacketType::Publish;
            break;
        }
    }
    assert!(delivered, "no command reached the device after the relink");
    Ok(())
}
