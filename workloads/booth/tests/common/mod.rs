//! The fleet the booth tests run on 127.0.0.1: a fleet CA, brokers with its server certificate, and
//! certificates for booths and backends.

#![allow(dead_code)] // each test file uses part of it

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use urna_booth::rules::{FleetRules, GeofenceSpec, MesaRules};
use urna_booth::{Backoff, Booth, BoothConfig, Collector, CollectorConfig, Endpoint};
use urna_broker::pki::FleetCa;
use urna_broker::{AdminAuth, Broker, BrokerConfig};

pub const FLEET: &str = "f";

pub struct Net {
    pub ca: FleetCa,
    tls: Arc<rustls::ServerConfig>,
}

impl Net {
    pub fn new() -> Result<Self, Box<dyn std::error::Error>> {
        let ca = FleetCa::new(FLEET)?;
        let server = ca.server(&["localhost"])?;
        let tls = server.server_tls()?;
        Ok(Self { ca, tls })
    }

    pub async fn broker(&self, listen: SocketAddr) -> Result<Broker, Box<dyn std::error::Error>> {
        let mut config = BrokerConfig::new(FLEET, self.tls.clone(), AdminAuth::InsecureNoAuth);
        config.listen = listen;
        Ok(Broker::start(config).await?)
    }

    pub fn endpoint(&self, id: &str, addr: SocketAddr) -> Result<Endpoint, Box<dyn std::error::Error>> {
        let c = self.ca.client(id)?;
        let tls = c.client_tls()?;
        Ok(Endpoint { addr, server_name: "localhost".into(), tls })
    }

    pub fn booth(&self, device: &str, addr: SocketAddr, store: &Path) -> Result<Booth, Box<dyn std::error::Error>> {
        let mut cfg = BoothConfig::new(FLEET, device, self.endpoint(device, addr)?);
        cfg.heartbeat = Duration::from_millis(200);
        cfg.gps = Duration::from_millis(300);
        cfg.backoff = fast_backoff();
        cfg.resend_after = Duration::from_millis(700);
        Ok(Booth::start(cfg, store)?)
    }

    pub fn collector(&self, addr: SocketAddr, store: &Path) -> Result<Collector, Box<dyn std::error::Error>> {
        let cfg = CollectorConfig {
            fleet: FLEET.into(),
            client_id: "urna-bridge-0".into(),
            group: "bridge".into(),
            endpoints: vec![self.endpoint("urna-bridge", addr)?],
            backoff: fast_backoff(),
        };
        Ok(Collector::start(cfg, store)?)
    }
}

pub fn fast_backoff() -> Backoff {
    Backoff { min: Duration::from_millis(50), max: Duration::from_millis(500) }
}

/// Monitor rules for `(device, mesa)` pairs, each mesa fenced at `fence`, where only the geofence, SOS and
/// authentication bursts can fire in a test's few seconds (no offline, vote-rate or flapping alerts).
pub fn geofence_rules(devices: &[(&str, &str)], fence: GeofenceSpec) -> FleetRules {
    let mesa = |m: &str| MesaRules {
        mesa: m.into(),
        district: None,
        geofence: Some(fence),
        opens_ms: None,
        closes_ms: None,
        census: None,
    };
    FleetRules {
        devices: devices.iter().map(|(d, m)| ((*d).to_owned(), mesa(m))).collect(),
        offline_after_ms: 600_000,
        votes_per_hour_limit: 1e9,
        vote_rate_z: Some(1e9),
        flap_connects: Some(1000),
        flap_window_ms: Some(1),
        auth_failures: Some(5),
        auth_failure_window_ms: Some(60_000),
        officers: Vec::new(),
    }
}
