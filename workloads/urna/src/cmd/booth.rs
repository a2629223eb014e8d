//! `urna booth`: a simulated voting machine on the fleet's broker, or the collector that receives booths'
//! numbered messages exactly once.

use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use urna_booth::ballot::BallotMachine;
use urna_booth::sink::WebhookRoots;
use urna_booth::{Backoff, Booth, BoothConfig, Bridge, BridgeConfig, Collector, CollectorConfig, Endpoint};

const LONG_ABOUT: &str = "\
`urna booth device` simulates one voting machine (EVM): it connects to the broker with its certificate
(reconnecting with jittered exponential backoff), sends heartbeats and GPS fixes, and queues ballots and SOS
in a durable outbox (DATA/booth.redb) with per-booth sequence numbers, replayed in order on every reconnect
until the collector acknowledges them. It obeys lock/unlock, block/unblock and position commands (cmd/*).
--sos REASON presses its SOS button (after --sos-after-ms); --lat/--lon set where it reports itself.

`urna booth collect` is the backend side: with a backend certificate it reads the fleet's ballots, SOS and
GPS through shared subscriptions, keeps each device's messages exactly once (DATA/inbox.redb) and
acknowledges them to the booth. With --vote URL it also bridges every booth ballot, device by device in
order, to the booth vote service (POST /v1/booth/ballots with the bridge token), which records it if the
booth's Mesa has admitted a voter for it; a restart resubmits, and the vote service answers the first receipt.
--broker may repeat: one collector reads every broker shard of the fleet.

`urna booth monitor` reads every booth's telemetry with a backend certificate, applies the fleet rules
(--rules JSON: offline, geofence, vote rate, hours, census, flapping, SOS), serves alerts at
GET /v1/alerts, Prometheus metrics at GET /metrics and /healthz, /readyz, POSTs alerts to --webhook
(https:// verified against the system's CAs or --webhook-ca) and, in a cluster, raises a Warning Event per
alert on the BoothFleet (--fleet-object NAMESPACE/NAME, else POD_NAMESPACE from the downward API and
--fleet; --no-events turns this off).

With --ops-store FILE the monitor is also the operations centre (docs/ops.md): it keeps every device's
position, heartbeat, health, lock state and the alert history in FILE (redb), routes each alert to the
regional officers of its district (the rules' `officers`, each with a webhook), serves the officers' API
(/v1/ops/..., bearer token per officer, live updates as server-sent events) and the dashboard at /ops/,
and carries out officers' lock, unlock, position (MQTT commands) and block, unblock (the brokers' blocklist
API: --broker-admin URL per broker, token from --broker-admin-token-file). With --audit, every officer's
action is also appended to the election's audit log as an `officer-action` event.

--tls-dir holds ca.crt, tls.crt and tls.key (the operator's device or backend Secret).";

#[derive(Debug, clap::Args)]
#[command(about = "Simulated voting machine (EVM) on MQTT, the exactly-once collector and the fleet monitor")]
#[command(long_about = LONG_ABOUT)]
pub struct Args {
    #[command(subcommand)]
    command: Mode,
}

#[derive(Debug, clap::Subcommand)]
enum Mode {
    /// Run one simulated booth.
    Device(DeviceArgs),
    /// Run the collector (backend identity).
    Collect(CollectArgs),
    /// Run the fleet monitor (backend identity): alert feed and webhook.
    Monitor(MonitorArgs),
}

/// A broker's `HOST:PORT`: an IP address, or a DNS name such as the in-cluster Service names the operator
/// passes (`<broker>-0.<ns>.svc:8883`). Resolved once at start-up: the operator's broker Services are
/// ClusterIP Services, whose address lasts as long as the Service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BrokerAddr {
    host: String,
    port: u16,
}

impl std::str::FromStr for BrokerAddr {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if let Ok(a) = s.parse::<SocketAddr>() {
            return Ok(Self { host: a.ip().to_string(), port: a.port() });
        }
        let (host, port) = s.rsplit_once(':').ok_or_else(|| format!("{s:?}: expected HOST:PORT"))?;
        let port: u16 = port.parse().map_err(|_| format!("{s:?}: {port:?} is not a port"))?;
        let label_ok =
            |l: &str| !l.is_empty() && l.len() <= 63 && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if host.len() > 253 || !host.split('.').all(label_ok) {
            return Err(format!("{s:?}: {host:?} is neither an IP address nor a DNS name"));
        }
        Ok(Self { host: host.to_owned(), port })
    }
}

impl BrokerAddr {
    async fn resolve(&self) -> Result<SocketAddr> {
        let mut addrs = tokio::net::lookup_host((self.host.as_str(), self.port))
            .await
            .with_context(|| format!("resolving the broker {}:{}", self.host, self.port))?;
        addrs.next().with_context(|| format!("the broker {}:{} has no address", self.host, self.port))
    }
}

#[derive(Debug, clap::Args)]
struct MonitorArgs {
    #[arg(long, env = "URNA_BOOTH_FLEET")]
    fleet: String,
    /// The brokers' MQTT addresses (HOST:PORT), one per broker replica of every shard (repeat the flag or
    /// separate with commas): the rules need the whole fleet.
    #[arg(long = "broker", env = "URNA_BOOTH_BROKER", value_delimiter = ',', required = true)]
    brokers: Vec<BrokerAddr>,
    #[arg(long, default_value = "localhost", env = "URNA_BOOTH_SERVER_NAME")]
    server_name: String,
    /// Directory with ca.crt, tls.crt and tls.key (a backend certificate).
    #[arg(long, value_name = "DIR", env = "URNA_BOOTH_TLS_DIR")]
    tls_dir: PathBuf,
    /// MQTT client id: the backend certificate's CN, or CN-SUFFIX.
    #[arg(long, default_value = "urna-bridge-monitor")]
    client_id: String,
    /// Fleet rules (JSON, urna_booth::rules): each device's Mesa, district, geofence, hours and census; the
    /// fleet's thresholds and regional officers.
    #[arg(long, value_name = "FILE", env = "URNA_MONITOR_RULES")]
    rules: PathBuf,
    /// Alerts are POSTed here as JSON: https:// (verified against the system's CAs, or --webhook-ca), or
    /// http:// inside the cluster.
    #[arg(long, env = "URNA_MONITOR_WEBHOOK")]
    webhook: Option<String>,
    /// PEM file with the CA certificates that sign the webhook's certificate (a private CA); only these
    /// are trusted then.
    #[arg(long, value_name = "FILE", env = "URNA_MONITOR_WEBHOOK_CA", requires = "webhook")]
    webhook_ca: Option<PathBuf>,
    /// Do not raise Kubernetes Events (the BoothFleet's `alerts.events: false`).
    #[arg(long, env = "URNA_MONITOR_NO_EVENTS", conflicts_with = "fleet_object")]
    no_events: bool,
    /// Alert feed (GET /v1/alerts), metrics (GET /metrics) and probes (/healthz, /readyz).
    #[arg(long, default_value = "0.0.0.0:8081", env = "URNA_MONITOR_LISTEN")]
    listen: SocketAddr,
    /// The BoothFleet that Kubernetes Events are about, NAMESPACE/NAME. Default: the namespace in
    /// POD_NAMESPACE (downward API) and --fleet as the name. Events are sent only when a Kubernetes
    /// client can be configured (in a cluster).
    #[arg(long, value_name = "NAMESPACE/NAME", env = "URNA_MONITOR_FLEET_OBJECT")]
    fleet_object: Option<String>,
    /// Keep the operations state here (redb) and serve the officers' API and dashboard.
    #[arg(long, value_name = "FILE", env = "URNA_MONITOR_OPS_STORE")]
    ops_store: Option<PathBuf>,
    /// A broker's status address (http://HOST:PORT) for block and unblock; repeat for every broker replica.
    #[arg(
        long = "broker-admin",
        value_name = "URL",
        env = "URNA_MONITOR_BROKER_ADMIN",
        value_delimiter = ',',
        requires = "ops_store"
    )]
    broker_admin: Vec<String>,
    /// File holding the brokers' admin token (or env URNA_BROKER_ADMIN_TOKEN).
    #[arg(long, value_name = "FILE", requires = "ops_store")]
    broker_admin_token_file: Option<PathBuf>,
    /// Map tile URL template for the dashboard (https://HOST/{z}/{x}/{y}.png); none by default.
    #[arg(long, value_name = "URL", env = "URNA_MONITOR_TILES", requires = "ops_store")]
    tiles: Option<String>,
    /// The election's audit log (base URL): each officer's action is appended as an `officer-action` event.
    #[arg(long, value_name = "URL", env = "URNA_MONITOR_AUDIT", requires = "ops_store")]
    audit: Option<String>,
    /// File holding the election's internal token for the audit log's POST /v1/entries (or env
    /// URNA_INTERNAL_TOKEN).
    #[arg(long, value_name = "FILE", requires = "audit")]
    audit_token_file: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
struct Common {
    #[arg(long, env = "URNA_BOOTH_FLEET")]
    fleet: String,
    /// The DNS name in the broker's certificate.
    #[arg(long, default_value = "localhost", env = "URNA_BOOTH_SERVER_NAME")]
    server_name: String,
    /// Directory with ca.crt, tls.crt and tls.key.
    #[arg(long, value_name = "DIR", env = "URNA_BOOTH_TLS_DIR")]
    tls_dir: PathBuf,
    /// Data directory (created if missing).
    #[arg(long, value_name = "DIR", env = "URNA_BOOTH_DATA")]
    data: PathBuf,
}

#[derive(Debug, clap::Args)]
struct DeviceArgs {
    #[command(flatten)]
    common: Common,
    /// The broker's MQTT address (HOST:PORT).
    #[arg(long, env = "URNA_BOOTH_BROKER")]
    broker: BrokerAddr,
    /// The device id (the CN of its certificate).
    #[arg(long, env = "URNA_BOOTH_DEVICE")]
    device: String,
    #[arg(long, default_value_t = 10_000)]
    heartbeat_ms: u64,
    #[arg(long, default_value_t = 60_000)]
    gps_ms: u64,
    #[arg(long, default_value_t = 0.0, allow_hyphen_values = true)]
    lat: f64,
    #[arg(long, default_value_t = 0.0, allow_hyphen_values = true)]
    lon: f64,
    /// Cast this many ballots with random valid choices (one every --ballot-interval-ms), encrypted and
    /// proved on the device, then keep running; needs --manifest, --public-key and --ballot-style.
    #[arg(long, default_value_t = 0, requires_all = ["manifest", "public_key", "ballot_style"])]
    ballots: u64,
    /// Cast exactly these ballots instead (one every --ballot-interval-ms), then keep running: a CSV in the
    /// format of `urna local --votes` (voter,district,modality,contest,choice), of which the rows of modality
    /// `booth` and this booth's --ballot-style are cast, one ballot per voter.
    #[arg(long, value_name = "FILE", conflicts_with = "ballots", requires_all = ["manifest", "public_key", "ballot_style"])]
    votes: Option<PathBuf>,
    /// The election manifest (JSON or YAML), as loaded on the machine.
    #[arg(long, value_name = "FILE")]
    manifest: Option<PathBuf>,
    /// The election public key (public.json of the ceremony).
    #[arg(long, value_name = "FILE")]
    public_key: Option<PathBuf>,
    /// The ballot style (district) of the booth's Mesa.
    #[arg(long, value_name = "DISTRICT")]
    ballot_style: Option<String>,
    #[arg(long, default_value_t = 1_000)]
    ballot_interval_ms: u64,
    /// Press the SOS button with this reason (queued like a ballot, delivered exactly once).
    #[arg(long, value_name = "REASON")]
    sos: Option<String>,
    /// With --sos: how long after start.
    #[arg(long, default_value_t = 0, requires = "sos")]
    sos_after_ms: u64,
}

#[derive(Debug, clap::Args)]
struct CollectArgs {
    #[command(flatten)]
    common: Common,
    /// The brokers' MQTT addresses, one per broker shard (repeat the flag or separate with commas).
    #[arg(long = "broker", env = "URNA_BOOTH_BROKER", value_delimiter = ',', required = true)]
    brokers: Vec<BrokerAddr>,
    /// The booth vote service: bridge every booth ballot there (POST /v1/booth/ballots); without it the
    /// collector only keeps them.
    #[arg(long, value_name = "URL", env = "URNA_BRIDGE_VOTE")]
    vote: Option<String>,
    /// File holding the bridge token (or env URNA_BRIDGE_TOKEN); required with --vote.
    #[arg(long, value_name = "FILE")]
    bridge_token_file: Option<PathBuf>,
    /// Devices bridged concurrently.
    #[arg(long, default_value_t = 8)]
    bridge_concurrency: usize,
    /// MQTT client id: the backend certificate's CN, or CN-REPLICA.
    #[arg(long, default_value = urna_broker::DEFAULT_BACKEND)]
    client_id: String,
    /// Shared-subscription group prefix (replicas with the same prefix split the stream).
    #[arg(long, default_value = "bridge")]
    group: String,
}

async fn endpoints(brokers: &[BrokerAddr], server_name: &str, tls_dir: &Path) -> Result<Vec<Endpoint>> {
    let mut out = Vec::with_capacity(brokers.len());
    for b in brokers {
        out.push(endpoint_of(b, server_name, tls_dir).await?);
    }
    Ok(out)
}

async fn endpoint_of(broker: &BrokerAddr, server_name: &str, tls_dir: &Path) -> Result<Endpoint> {
    let broker = broker.resolve().await?;
    let read = |name: &str| -> Result<Vec<u8>> {
        let p = tls_dir.join(name);
        std::fs::read(&p).with_context(|| format!("reading {}", p.display()))
    };
    let tls = urna_broker::client::tls_config(&read("ca.crt")?, &read("tls.crt")?, &read("tls.key")?)
        .context("loading the client certificate")?;
    Ok(Endpoint { addr: broker, server_name: server_name.to_owned(), tls })
}

fn data_file(dir: &Path, name: &str) -> Result<PathBuf> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir.join(name))
}

fn backoff() -> Backoff {
    Backoff { min: Duration::from_millis(200), max: Duration::from_secs(30) }
}

pub fn run(args: Args) -> Result<()> {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the async runtime")?;
    runtime.block_on(async move {
        match args.command {
            Mode::Device(a) => device(a).await,
            Mode::Collect(a) => collect(a).await,
            Mode::Monitor(a) => monitor(a).await,
        }
    })
}

/// The ballots of `--votes` this booth casts: one per booth voter of its ballot style.
fn scripted_ballots(path: &Path, machine: &BallotMachine) -> Result<Vec<Vec<(String, urna_ballot::Selection)>>> {
    let ballots = crate::local::votes_file::read(path, machine.codec().manifest(), &[urna_tally::Modality::Booth])?;
    let mine: Vec<_> = ballots.into_iter().filter(|b| b.district == machine.style()).map(|b| b.selections).collect();
    if mine.is_empty() {
        anyhow::bail!("{}: no booth ballot of ballot style {:?}", path.display(), machine.style());
    }
    Ok(mine)
}

async fn device(a: DeviceArgs) -> Result<()> {
    let endpoint = endpoint_of(&a.broker, &a.common.server_name, &a.common.tls_dir).await?;
    let mut config = BoothConfig::new(&a.common.fleet, &a.device, endpoint);
    config.heartbeat = Duration::from_millis(a.heartbeat_ms.max(100));
    config.gps = Duration::from_millis(a.gps_ms.max(100));
    config.position = (a.lat, a.lon);
    config.backoff = backoff();
    let store = data_file(&a.common.data, "booth.redb")?;
    let booth = Booth::start(config, &store).with_context(|| format!("opening {}", store.display()))?;
    let machine = match (&a.manifest, &a.public_key, &a.ballot_style) {
        (Some(m), Some(k), Some(style)) => Some(
            BallotMachine::new(super::vote::read_manifest(m)?, super::vote::read_public_key(k)?, style)
                .context("loading the election on the booth")?,
        ),
        _ => None,
    };
    let sos = async {
        if let Some(reason) = &a.sos {
            tokio::time::sleep(Duration::from_millis(a.sos_after_ms)).await;
            match booth.sos(reason) {
                Ok(seq) => tracing::warn!(seq, %reason, "SOS raised"),
                Err(e) => tracing::warn!(error = %e, "SOS not queued"),
            }
        }
    };
    let scripted = match (&a.votes, &machine) {
        (Some(path), Some(machine)) => Some(scripted_ballots(path, machine)?),
        _ => None,
    };
    let cast = async {
        sos.await;
        if let Some(machine) = &machine {
            let count = scripted.as_ref().map_or(a.ballots, |s| s.len() as u64);
            for i in 0..count {
                let choices = match scripted.as_ref().and_then(|s| s.get(i as usize)) {
                    Some(selections) => Ok(selections.clone()),
                    None => urna_vote::client::random_selections(
                        machine.codec(),
                        machine.style(),
                        &mut urna_crypto::os_rng(),
                    ),
                };
                match choices.map_err(|e| e.to_string()) {
                    Ok(c) => match booth.vote(machine, c).await {
                        Ok(seq) => tracing::info!(seq, "ballot queued"),
                        Err(e) => tracing::warn!(error = %e, "ballot refused"),
                    },
                    Err(e) => tracing::warn!(error = %e, "no valid choices for this ballot style"),
                }
                tokio::time::sleep(Duration::from_millis(a.ballot_interval_ms)).await;
            }
        }
        std::future::pending::<()>().await;
    };
    tokio::select! {
        () = cast => {}
        () = super::signal::shutdown() => {}
    }
    let status = booth.status().context("reading the booth status")?;
    booth.stop().await;
    let mut out = std::io::stdout().lock();
    let line = serde_json::json!({ "device": a.device, "pending": status.pending, "locked": status.locked, "blocked": status.blocked });
    writeln!(out, "{line}").context("writing to stdout")
}

async fn collect(a: CollectArgs) -> Result<()> {
    let config = CollectorConfig {
        fleet: a.common.fleet.clone(),
        client_id: a.client_id,
        group: a.group,
        endpoints: endpoints(&a.brokers, &a.common.server_name, &a.common.tls_dir).await?,
        backoff: backoff(),
    };
    let store = data_file(&a.common.data, "inbox.redb")?;
    let collector = Collector::start(config, &store).with_context(|| format!("opening {}", store.display()))?;
    let bridge = match &a.vote {
        Some(url) => {
            let token = match &a.bridge_token_file {
                Some(p) => std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?,
                None => std::env::var("URNA_BRIDGE_TOKEN")
                    .context("--vote needs --bridge-token-file or URNA_BRIDGE_TOKEN")?,
            };
            let config = BridgeConfig {
                vote: urna_vote::client::VoterClient::new(url),
                token: token.trim().to_owned(),
                concurrency: a.bridge_concurrency,
                retry: Duration::from_secs(1),
            };
            Some(Bridge::start(config, collector.inbox.clone(), collector.wake.clone()))
        }
        None => None,
    };
    super::signal::shutdown().await;
    if let Some(b) = bridge {
        b.stop().await;
    }
    let total = collector.inbox.total().context("reading the inbox")?;
    let backlog = collector.inbox.bridge_backlog().context("reading the inbox")?;
    collector.stop().await;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", serde_json::json!({ "received": total, "notBridged": backlog })).context("writing to stdout")
}

/// The Kubernetes Events sink, if there is a BoothFleet to attach events to and a cluster to send them
/// to; otherwise off, said once at info with the reason. A malformed --fleet-object is an error.
async fn kube_events(flag: Option<&str>, fleet: &str) -> Result<Option<urna_booth::sink::KubeEvents>> {
    let target = match flag {
        Some(s) => match s.split_once('/') {
            Some((ns, name)) if !ns.is_empty() && !name.is_empty() && !name.contains('/') => {
                Some((ns.to_owned(), name.to_owned()))
            }
            _ => anyhow::bail!("--fleet-object must be NAMESPACE/NAME, got {s:?}"),
        },
        None => std::env::var("POD_NAMESPACE").ok().filter(|ns| !ns.is_empty()).map(|ns| (ns, fleet.to_owned())),
    };
    let Some((namespace, name)) = target else {
        tracing::info!("Kubernetes Events disabled: no BoothFleet named (--fleet-object or POD_NAMESPACE unset)");
        return Ok(None);
    };
    match kube::Client::try_default().await {
        Ok(client) => {
            tracing::info!(%namespace, %name, "alerts also raised as Kubernetes Events on the BoothFleet");
            Ok(Some(urna_booth::sink::KubeEvents::new(client, &namespace, &name).await))
        }
        Err(e) => {
            tracing::info!(error = %e, "Kubernetes Events disabled: no in-cluster (or kubeconfig) configuration");
            Ok(None)
        }
    }
}

async fn monitor(a: MonitorArgs) -> Result<()> {
    let text = std::fs::read_to_string(&a.rules).with_context(|| format!("reading {}", a.rules.display()))?;
    let rules: urna_booth::rules::FleetRules =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", a.rules.display()))?;
    let config = urna_booth::alerting::MonitorConfig {
        fleet: a.fleet,
        client_id: a.client_id,
        endpoints: endpoints(&a.brokers, &a.server_name, &a.tls_dir).await?,
        rules,
        webhook: a.webhook,
        webhook_roots: match &a.webhook_ca {
            Some(p) => WebhookRoots::Pem(std::fs::read(p).with_context(|| format!("reading {}", p.display()))?),
            None => WebhookRoots::System,
        },
        listen: a.listen,
        tick: Duration::from_secs(5),
        backoff: backoff(),
    };
    let events = if a.no_events {
        tracing::info!("Kubernetes Events disabled (--no-events)");
        None
    } else {
        kube_events(a.fleet_object.as_deref(), &config.fleet).await?
    };
    let ops = match &a.ops_store {
        Some(store) => {
            let token = match &a.broker_admin_token_file {
                Some(p) => Some(std::fs::read_to_string(p).with_context(|| format!("reading {}", p.display()))?),
                None => std::env::var("URNA_BROKER_ADMIN_TOKEN").ok(),
            };
            let token = token.map(|t| urna_auth::Token::new(&t)).transpose().context("the broker admin token")?;
            if let Some(dir) = store.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
            }
            Some(urna_booth::ops::OpsConfig {
                store: store.clone(),
                brokers: a
                    .broker_admin
                    .iter()
                    .map(|url| urna_booth::ops::BrokerAdmin { url: url.clone(), token: token.clone() })
                    .collect(),
                flush: Duration::from_millis(250),
                tiles: a.tiles.clone(),
                audit: match &a.audit {
                    Some(url) => {
                        let token = super::token::from_file_or_env(
                            a.audit_token_file.as_deref(),
                            "URNA_INTERNAL_TOKEN",
                        )?
                        .context(
                            "--audit needs the election's internal token (--audit-token-file or URNA_INTERNAL_TOKEN)",
                        )?;
                        Some(urna_audit::AuditClient::new(url).with_token(token))
                    }
                    None => None,
                },
            })
        }
        None => None,
    };
    let monitor =
        urna_booth::alerting::Monitor::start_full(config, events, ops).await.context("starting the monitor")?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", serde_json::json!({ "listening": monitor.addr.to_string() })).context("writing to stdout")?;
    drop(out);
    super::signal::shutdown().await;
    monitor.stop().await;
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::{BallotMachine, BrokerAddr, scripted_ballots};

    #[test]
    fn broker_addresses_are_ips_or_dns_names() -> anyhow::Result<()> {
        for ok in ["127.0.0.1:8883", "[::1]:8883", "ciudad-booths-broker-0.ciudad.svc:8883", "localhost:1"] {
            assert!(ok.parse::<BrokerAddr>().is_ok(), "{ok}");
        }
        for bad in ["ciudad-broker", "host:99999", "bad_host:8883", "a..b:8883", ":8883", "host:"] {
            assert!(bad.parse::<BrokerAddr>().is_err(), "{bad}");
        }
        // A DNS name resolves at start-up.
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        let a = rt.block_on("localhost:8883".parse::<BrokerAddr>().map_err(anyhow::Error::msg)?.resolve())?;
        assert!(a.ip().is_loopback() && a.port() == 8883);
        Ok(())
    }

    #[test]
    fn a_booth_casts_the_votes_files_ballots_of_its_own_ballot_style() -> anyhow::Result<()> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let set = urna_operator::examples::load_dir(root.join("examples/municipal"))?;
        let manifest = set.elections[0].manifest();
        let key = super::super::vote::read_public_key(
            &root.join("workloads/crypto/tests/fixtures/ceremony-3072/public.json"),
        )?;
        let machine = BallotMachine::new(manifest.clone(), key.clone(), "norte")?;
        let dir = tempfile::tempdir()?;
        let votes = dir.path().join("votes.csv");
        std::fs::write(
            &votes,
            "voter,district,modality,contest,choice\n\
             a,norte,booth,mayor,pv\na,norte,booth,transit-referendum,si\na,norte,booth,council-norte,norte-1\n\
             b,centro,booth,mayor,pc\nb,centro,booth,transit-referendum,no\nb,centro,booth,council-centro,centro-2\n\
             c,norte,booth,mayor,ps\nc,norte,booth,transit-referendum,no\nc,norte,booth,council-norte,norte-3\n",
        )?;
        let ballots = scripted_ballots(&votes, &machine)?;
        assert_eq!(ballots.len(), 2, "the two norte voters, not the centro one");
        let contests: Vec<Vec<&str>> =
            ballots.iter().map(|b| b.iter().map(|(contest, _)| contest.as_str()).collect()).collect();
        assert_eq!(contests, [["mayor", "transit-referendum", "council-norte"]; 2]);
        // A booth of a ballot style the file does not vote is refused, naming both.
        let sur = BallotMachine::new(manifest, key, "sur")?;
        let e = scripted_ballots(&votes, &sur).err().map(|e| format!("{e:#}")).unwrap_or_default();
        assert!(e.contains("votes.csv") && e.contains("\"sur\""), "{e}");
        Ok(())
    }
}
