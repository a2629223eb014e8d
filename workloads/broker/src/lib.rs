//! `urna broker`: the booth fleet's MQTT broker. rumqttd is embedded on a loopback port and only reached
//! through a front this crate owns: a tokio-rustls acceptor that requires a client certificate from the
//! fleet CA, maps it to a device (or backend) identity, and enforces the client id, per-device topic
//! rights, blocks and a per-device rate limit. It serves device sessions itself, reaching rumqttd through a
//! few shared links (`hub.rs`), and proxies backends packet by packet. See docs/broker.md.

pub mod acl;
pub mod blocklist;
pub mod client;
mod device;
pub mod embedded;
mod error;
mod front;
mod hub;
pub mod identity;
pub mod metrics;
pub mod mqtt;
mod packet_io;
pub mod pending;
pub mod pki;
mod proxy;
pub mod ratelimit;
mod session;
mod status;
pub mod tls;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tracing::{info, warn};

pub use blocklist::Blocklist;
pub use error::{Error, Result};
pub use front::Limits;
pub use identity::Identity;
pub use metrics::Metrics;
pub use pending::PendingLimits;
pub use ratelimit::RateLimit;
pub use status::AdminAuth;

/// Default name of the backend identity (the ballot bridge and fleet monitor).
pub const DEFAULT_BACKEND: &str = "urna-bridge";

pub struct BrokerConfig {
    /// The fleet (BoothFleet name): the second level of every topic.
    pub fleet: String,
    /// Where devices connect (MQTT over mutual TLS).
    pub listen: SocketAddr,
    /// Status, metrics and blocklist API (plain HTTP; keep it inside the cluster).
    pub status_listen: SocketAddr,
    pub tls: Arc<rustls::ServerConfig>,
    /// Certificate CNs that are backends rather than devices.
    pub backends: Vec<String>,
    pub limits: Limits,
    /// A blocklist file, re-read every `blocklist_poll`.
    pub blocklist_file: Option<PathBuf>,
    pub blocklist_poll: Duration,
    /// How the blocklist's PUT and DELETE are guarded: a bearer token, or explicitly nothing.
    pub admin: AdminAuth,
    /// An already running rumqttd to front (tests); `None` starts an embedded one.
    pub upstream: Option<SocketAddr>,
}

impl BrokerConfig {
    /// `admin` has no default: whoever starts a broker says how its admin API is guarded.
    pub fn new(fleet: &str, tls: Arc<rustls::ServerConfig>, admin: AdminAuth) -> Self {
        Self {
            fleet: fleet.to_owned(),
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            status_listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            tls,
            backends: vec![DEFAULT_BACKEND.to_owned()],
            limits: Limits::default(),
            blocklist_file: None,
            blocklist_poll: Duration::from_secs(2),
            admin,
            upstream: None,
        }
    }
}

/// A running broker: its addresses and handles to its state.
pub struct Broker {
    pub mqtt_addr: SocketAddr,
    pub status_addr: SocketAddr,
    /// The rumqttd loopback address behind the front.
    pub upstream: SocketAddr,
    pub metrics: Arc<Metrics>,
    pub blocklist: Arc<Blocklist>,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Broker {
    pub async fn start(config: BrokerConfig) -> Result<Self> {
        if !acl::valid_level(&config.fleet) {
            return Err(Error::Config(format!("fleet name {:?} is not a valid topic level", config.fleet)));
        }
        if config.limits.pending.per_address == 0 || config.limits.pending.budget == 0 {
            return Err(Error::Config("the pending-handshake limits must be at least 1".into()));
        }
        let blocklist = Arc::new(Blocklist::default());
        if let Some(path) = &config.blocklist_file {
            let text = std::fs::read_to_string(path).map_err(|source| Error::Read { path: path.clone(), source })?;
            blocklist.set_file(blocklist::parse_file(&text));
        }
        let upstream = match config.upstream {
            Some(a) => a,
            None => embedded::start(config.limits.max_packet_bytes, config.limits.max_connections).await?,
        };
        let listener = TcpListener::bind(config.listen).await.map_err(Error::io("binding the MQTT listener"))?;
        let mqtt_addr = listener.local_addr().map_err(Error::io("MQTT listener address"))?;
        let status_listener =
            TcpListener::bind(config.status_listen).await.map_err(Error::io("binding the status listener"))?;
        let status_addr = status_listener.local_addr().map_err(Error::io("status listener address"))?;
        let metrics = Arc::new(Metrics::new());
        let (shutdown, shutdown_rx) = watch::channel(false);
        let (hub, hub_tasks) = hub::Hub::start(upstream, &config.fleet, metrics.clone(), shutdown_rx.clone()).await?;
        let shared = Arc::new(front::Shared {
            hub,
            fleet: config.fleet.clone(),
            backends: config.backends.clone(),
            acceptor: TlsAcceptor::from(config.tls.clone()),
            upstream,
            limits: config.limits,
            metrics: metrics.clone(),
            blocklist: blocklist.clone(),
            buckets: Mutex::new(HashMap::new()),
            sessions: Arc::new(Semaphore::new(config.limits.max_connections)),
            shutdown: shutdown_rx.clone(),
        });
        let mut tasks = hub_tasks;
        tasks.push(tokio::spawn(front::accept_loop(listener, shared)));
        if config.admin == AdminAuth::InsecureNoAuth {
            warn!(%status_addr, "the blocklist API is open: anyone who reaches the status port can block devices");
        }
        let status = status::State::new(&config.fleet, metrics.clone(), blocklist.clone(), upstream, &config.admin);
        tasks.push(tokio::spawn(status::serve(status_listener, status, shutdown_rx.clone())));
        if let Some(path) = config.blocklist_file.clone() {
            tasks.push(tokio::spawn(watch_blocklist(path, config.blocklist_poll, blocklist.clone(), shutdown_rx)));
        }
        info!(%mqtt_addr, %status_addr, %upstream, fleet = %config.fleet, "broker ready");
        Ok(Self { mqtt_addr, status_addr, upstream, metrics, blocklist, shutdown, tasks })
    }

    /// Stops accepting, closes every session and the status endpoint. (The embedded rumqttd has no
    /// shutdown; it stays idle until the process exits.)
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

/// Re-reads the blocklist file; a file that cannot be read keeps the last good list (and says so).
async fn watch_blocklist(path: PathBuf, every: Duration, blocklist: Arc<Blocklist>, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = stop.changed() => return,
        }
        match tokio::fs::read_to_string(&path).await {
            Ok(text) => blocklist.set_file(blocklist::parse_file(&text)),
            Err(e) => warn!(path = %path.display(), error = %e, "blocklist file unreadable; keeping the last list"),
        }
    }
}
