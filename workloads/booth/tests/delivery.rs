//! Exactly-once delivery from a booth to the collector over the real broker on 127.0.0.1, through network
//! cuts, a broker restart and a booth restart; and the booth obeying lock and block commands.

mod common;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use urna_booth::message::Envelope;
use urna_booth::{Booth, BoothConfig};
use urna_broker::client::{self, Client, Options};

use common::{FLEET, Net, fast_backoff, geofence_rules};

type Res = Result<(), Box<dyn std::error::Error>>;

/// A TCP relay standing in for the network between booth and broker; `cut` drops every connection.
struct Relay {
    addr: SocketAddr,
    links: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Relay {
    async fn start(target: SocketAddr) -> Result<Self, Box<dyn std::error::Error>> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let links: Arc<Mutex<Vec<JoinHandle<()>>>> = Arc::default();
        let l = links.clone();
        tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let link = tokio::spawn(async move {
                    if let Ok(mut out) = TcpStream::connect(target).await {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut out).await;
                    }
                });
                l.lock().unwrap_or_else(|e| e.into_inner()).push(link);
            }
        });
        Ok(Self { addr, links })
    }

    fn cut(&self) {
        for link in self.links.lock().unwrap_or_else(|e| e.into_inner()).drain(..) {
            link.abort();
        }
    }
}

async fn eventually(what: &str, mut f: impl FnMut() -> Result<bool, Box<dyn std::error::Error>>) -> Res {
    for _ in 0..1200 {
        if f()? {
            return Ok(());
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Err(format!("never happened: {what}").into())
}

/// The collector holds exactly sequences 1..=n, once each, in order; returns the ballots' bodies.
fn exactly_once(received: &[Envelope]) -> Vec<serde_json::Value> {
    let seqs: Vec<u64> = received.iter().map(|e| e.seq).collect();
    let expected: Vec<u64> = (1..=received.len() as u64).collect();
    assert_eq!(seqs, expected, "a gap or a duplicate");
    received.iter().filter(|e| e.kind == "ballot").map(|e| e.body.clone()).collect()
}

#[tokio::test]
async fn every_ballot_arrives_exactly_once_across_network_cuts_and_a_broker_restart() -> Res {
    // RUST_LOG=urna_booth=debug shows the replays and the receiver's decisions.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let net = Net::new()?;
    let dir = tempfile::tempdir()?;
    let broker = net.broker("127.0.0.1:0".parse()?).await?;
    let listen = broker.mqtt_addr;
    let relay = Relay::start(listen).await?;
    let collector = net.collector(listen, &dir.path().join("inbox.redb"))?;
    let booth = net.booth("mesa-1-1", relay.addr, &dir.path().join("booth.redb"))?;

    let mut cast = 0;
    for _ in 0..3 {
        for _ in 0..10 {
            booth.cast_ballot(serde_json::json!(cast))?;
            cast += 1;
        }
        relay.cut();
        for _ in 0..5 {
            booth.cast_ballot(serde_json::json!(cast))?;
            cast += 1;
        }
    }
    // Broker restart: the front and its sessions go, and the new broker's rumqttd starts empty (rumqttd
    // keeps nothing across a restart), on the same port. Ballots cast meanwhile wait in the outbox.
    broker.shutdown().await;
    for _ in 0..5 {
        booth.cast_ballot(serde_json::json!(cast))?;
        cast += 1;
    }
    let broker = net.broker(listen).await?;
    for _ in 0..5 {
        booth.cast_ballot(serde_json::json!(cast))?;
        cast += 1;
    }
    booth.sos("test")?;

    let inbox = collector.inbox.clone();
    eventually("booth outbox drained", || Ok(booth.status()?.pending == 0)).await?;
    let received = inbox.received("mesa-1-1")?;
    let ballots = exactly_once(&received);
    assert_eq!(ballots, (0..cast).map(|i| serde_json::json!(i)).collect::<Vec<_>>());
    assert_eq!(received.iter().filter(|e| e.kind == "sos").count(), 1);
    booth.stop().await;
    collector.stop().await;
    broker.shutdown().await;
    Ok(())
}

#[tokio::test]
async fn booth_restart_keeps_its_queue_and_its_numbering() -> Res {
    let net = Net::new()?;
    let dir = tempfile::tempdir()?;
    let store = dir.path().join("booth.redb");
    // Nothing listens here yet: the booth is offline.
    let offline = TcpListener::bind("127.0.0.1:0").await?.local_addr()?;
    let booth = net.booth("mesa-2-1", offline, &store)?;
    for i in 0..5 {
        assert_eq!(booth.cast_ballot(serde_json::json!(i))?, i + 1);
    }
    booth.sos("captured")?;
    assert_eq!(booth.status()?.pending, 6);
    booth.stop().await;

    let broker = net.broker("127.0.0.1:0".parse()?).await?;
    let collector = net.collector(broker.mqtt_addr, &dir.path().join("inbox.redb"))?;
    let booth = net.booth("mesa-2-1", broker.mqtt_addr, &store)?;
    assert_eq!(booth.cast_ballot(serde_json::json!(5))?, 7, "numbering continues after the restart");
    eventually("outbox drained", || Ok(booth.status()?.pending == 0)).await?;
    let received = collector.inbox.received("mesa-2-1")?;
    assert_eq!(exactly_once(&received), (0..6).map(|i| serde_json::json!(i)).collect::<Vec<_>>());
    assert_eq!(received.iter().filter(|e| e.kind == "sos").count(), 1);
    booth.stop().await;
    collector.stop().await;
    Ok(())
}

#[tokio::test]
async fn booth_obeys_lock_and_block_commands_and_remembers_a_block() -> Res {
    let net = Net::new()?;
    let dir = tempfile::tempdir()?;
    let store = dir.path().join("booth.redb");
    let broker = net.broker("127.0.0.1:0".parse()?).await?;
    let booth = net.booth("mesa-3-1", broker.mqtt_addr, &store)?;
    eventually("booth connected", || Ok(booth.status()?.connected)).await?;

    let officer = net.endpoint("urna-bridge", broker.mqtt_addr)?;
    let stream = client::connect_tls(officer.addr, officer.tls, "localhost").await?;
    let opts = Options { client_id: "urna-bridge-officer", keep_alive_secs: 60, clean_session: true, will: None };
    let mut officer = Client::handshake(stream, &opts).await?;
    let cmd = |c: &str| format!("urna/{FLEET}/booth/mesa-3-1/cmd/{c}");

    officer.publish_acked(&cmd("lock"), 1, b"{}").await?;
    eventually("locked", || Ok(booth.status()?.locked)).await?;
    assert!(matches!(booth.cast_ballot(serde_json::json!(1)), Err(urna_booth::Error::Refused("locked"))));
    assert!(booth.sos("still works while locked").is_ok());
    officer.publish_acked(&cmd("unlock"), 2, b"{}").await?;
    eventually("unlocked", || Ok(!booth.status()?.locked)).await?;
    booth.cast_ballot(serde_json::json!(1))?;

    officer.publish_acked(&cmd("block"), 3, b"{}").await?;
    eventually("blocked", || Ok(booth.status()?.blocked)).await?;
    booth.stop().await;
    let booth = net.booth("mesa-3-1", broker.mqtt_addr, &store)?;
    assert!(booth.status()?.blocked, "a block outlives a restart");
    assert!(matches!(booth.cast_ballot(serde_json::json!(2)), Err(urna_booth::Error::Refused("blocked"))));
    eventually("booth reconnected", || Ok(booth.status()?.connected)).await?;
    officer.publish_acked(&cmd("unblock"), 4, b"{}").await?;
    eventually("unblocked", || Ok(!booth.status()?.blocked)).await?;
    booth.cast_ballot(serde_json::json!(2))?;
    booth.stop().await;
    Ok(())
}

/// The fleet monitor on the real broker: a booth outside its geofence and an SOS raise alerts in the feed
/// and at the webhook; a booth in place raises none.
#[tokio::test]
async fn monitor_alerts_feed_and_webhook_on_geofence_sos_and_authentication_failures() -> Res {
    use urna_booth::alerting::{Monitor, MonitorConfig};
    use urna_booth::rules::GeofenceSpec;

    let net = Net::new()?;
    let dir = tempfile::tempdir()?;
    let broker = net.broker("127.0.0.1:0".parse()?).await?;

    // The webhook: records every POSTed body.
    let (hook, posted) = urna_testkit::webhook().await?;

    let fence = GeofenceSpec { lat: 19.43, lon: -99.13, radius_m: 300.0 };
    let rules = geofence_rules(&[("mesa-7-1", "mesa-7"), ("mesa-7-2", "mesa-7")], fence);
    let monitor = Monitor::start(MonitorConfig {
        fleet: FLEET.into(),
        client_id: "urna-bridge-monitor".into(),
        endpoints: vec![net.endpoint("urna-bridge", broker.mqtt_addr)?],
        rules,
        webhook: Some(hook),
        webhook_roots: urna_booth::sink::WebhookRoots::System,
        listen: "127.0.0.1:0".parse()?,
        tick: Duration::from_millis(200),
        backoff: fast_backoff(),
    })
    .await?;

    let start = |device: &str, pos: (f64, f64), store: &str| -> Result<Booth, Box<dyn std::error::Error>> {
        let mut cfg = BoothConfig::new(FLEET, device, net.endpoint(device, broker.mqtt_addr)?);
        cfg.gps = Duration::from_millis(200);
        cfg.heartbeat = Duration::from_millis(200);
        cfg.position = pos;
        cfg.backoff = fast_backoff();
        Ok(Booth::start(cfg, &dir.path().join(store))?)
    };
    let moved = start("mesa-7-1", (19.45, -99.13), "a.redb")?;
    let in_place = start("mesa-7-2", (19.4301, -99.1301), "b.redb")?;
    let fired = |alerts: &[urna_booth::monitor::Alert], rule: &str| {
        alerts.iter().any(|a| a.device == "mesa-7-1" && a.rule == rule)
    };
    // The geofence alert (GPS every 200 ms) shows the monitor is reading; the SOS, sent once, comes after.
    eventually("geofence alert", || Ok(fired(&monitor.feed.all(), "outside_geofence"))).await?;
    moved.sos("booth captured")?;
    eventually("SOS alert", || Ok(fired(&monitor.feed.all(), "sos"))).await?;
    // Someone holding mesa-7-1's certificate tries other client ids: the broker refuses each CONNECT and
    // reports it, and the fifth refusal within the window is a burst.
    let stolen = net.endpoint("mesa-7-1", broker.mqtt_addr)?;
    for k in 0..5 {
        let stream = urna_broker::client::connect_tls(stolen.addr, stolen.tls.clone(), "localhost").await?;
        let id = format!("impostor-{k}");
        let opts = urna_broker::client::Options { client_id: &id, keep_alive_secs: 5, clean_session: true, will: None };
        let refused = urna_broker::client::Client::handshake(stream, &opts).await;
        assert!(matches!(refused, Err(urna_broker::client::ClientError::Refused(2))), "attempt {k} was not refused");
    }
    eventually("authentication failure burst", || Ok(fired(&monitor.feed.all(), "auth_failure_burst"))).await?;
    let alerts = monitor.feed.all();
    assert!(alerts.iter().all(|a| a.device == "mesa-7-1" && a.mesa == "mesa-7"), "{alerts:?}");
    assert_eq!(alerts.iter().filter(|a| a.rule == "auth_failure_burst").count(), 1, "one alert per burst");
    assert_eq!(alerts.iter().filter(|a| a.rule == "outside_geofence").count(), 1, "one alert per excursion");
    eventually("alerts at the webhook", || {
        let p = posted.lock().unwrap_or_else(|e| e.into_inner());
        Ok(p.iter().any(|v| v["rule"] == "sos") && p.iter().any(|v| v["rule"] == "outside_geofence"))
    })
    .await?;

    // The feed endpoint serves the same alerts.
    let body = urna_testkit::Request::get("/v1/alerts").send_async(monitor.addr).await?.text();
    assert!(body.contains("\"rule\":\"sos\"") && body.contains("booth captured"), "{body}");

    moved.stop().await;
    in_place.stop().await;
    monitor.stop().await;
    Ok(())
}
