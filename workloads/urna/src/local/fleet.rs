//! The booth fleet of a local election, as the cluster runs it: a fleet CA issuing each booth its client
//! certificate, `urna broker` (rumqttd behind the mutual-TLS front) on 127.0.0.1, one simulated booth per
//! device on its own durable outbox, the collector and the bridge into the booth vote service. A booth voter
//! is admitted at their Mesa's console (HTTP, the console token), then votes on one of that Mesa's booths,
//! which encrypts and proves the ballot on the device and publishes it over MQTT.
//!
//! The fleet monitor runs too, as the operations centre (docs/ops.md): the operator's rules for the fleet,
//! each booth placed inside its Mesa's geofence, a fresh token per regional officer (printed by
//! `urna local --serve` with the dashboard's URL).

use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use urna_audit::AuditClient;
use urna_ballot::{ElectionManifest, Selection};
use urna_booth::alerting::{Monitor, MonitorConfig};
use urna_booth::ballot::BallotMachine;
use urna_booth::bridge::drained;
use urna_booth::ops::{BrokerAdmin, OpsConfig};
use urna_booth::rules::{FleetRules, GeofenceSpec};
use urna_booth::{Backoff, Booth, BoothConfig, Bridge, BridgeConfig, Collector, CollectorConfig, Endpoint};
use urna_broker::{AdminAuth, Broker, BrokerConfig};
use urna_crypto::paillier::PublicKey;
use urna_pki::FleetCa;
use urna_vote::client::VoterClient;
use urna_vote::credential::generate_credential;
use urna_vote::mesa_file::{Mesa, token_sha256};

use super::plan::{FleetPlan, MesaPlan};

/// A regional officer of the fleet and the token generated for this run.
pub struct OfficerLogin {
    pub id: String,
    pub name: String,
    pub districts: Vec<String>,
    pub token: String,
}

/// A Mesa's console sign-in for this run: the mesa id and the console token generated for it.
pub struct MesaLogin {
    pub id: String,
    pub district: String,
    pub token: String,
}

/// The monitor's rules for a local run, from the operator's: voting hours dropped (a local election opens
/// at once, `--opens-at` aside, whatever day the resources name), officers' webhooks dropped (the example's
/// hosts are not this machine's), and each officer's declared token digest replaced by a fresh token's.
fn local_rules(plan: &FleetPlan) -> (FleetRules, Vec<OfficerLogin>) {
    let mut rules = plan.rules.clone();
    for d in rules.devices.values_mut() {
        d.opens_ms = None;
        d.closes_ms = None;
    }
    let mut rng = urna_crypto::os_rng();
    let mut logins = Vec::new();
    for o in &mut rules.officers {
        let token = generate_credential(&mut rng);
        o.token_sha256 = urna_booth::ops::routing::token_sha256(&token);
        o.webhook = None;
        logins.push(OfficerLogin { id: o.id.clone(), name: o.name.clone(), districts: o.districts.clone(), token });
    }
    (rules, logins)
}

/// Where booth `index` of its Mesa stands: on a small circle around the geofence's centre, well inside it.
fn position_in(fence: &GeofenceSpec, index: usize, of: usize) -> (f64, f64) {
    let angle = std::f64::consts::TAU * index as f64 / of.max(1) as f64;
    let r = fence.radius_m * 0.4;
    let dlat = r * angle.sin() / 111_320.0;
    let dlon = r * angle.cos() / (111_320.0 * fence.lat.to_radians().cos().max(0.01));
    (fence.lat + dlat, fence.lon + dlon)
}

/// The secrets the booth vote service checks: each Mesa's console token and the bridge's token.
pub struct Authority {
    pub mesas: Vec<Mesa>,
    consoles: HashMap<String, String>,
    pub bridge_token: String,
}

impl Authority {
    pub fn generate(fleet: &FleetPlan) -> Self {
        let mut rng = urna_crypto::os_rng();
        let mut consoles = HashMap::new();
        let mut mesas = Vec::new();
        for m in &fleet.mesas {
            let token = generate_credential(&mut rng);
            mesas.push(Mesa {
                id: m.id.clone(),
                district: m.district.clone(),
                token_sha256: token_sha256(&token),
                booths: m.booths.clone(),
                members: vec![],
            });
            consoles.insert(m.id.clone(), token);
        }
        Self { mesas, consoles, bridge_token: generate_credential(&mut rng) }
    }
}

pub struct LocalFleet {
    broker: Broker,
    monitor: Monitor,
    /// The operations dashboard's address (`http://ADDR/ops/`) and the officers who may sign in.
    pub monitor_addr: std::net::SocketAddr,
    pub officers: Vec<OfficerLogin>,
    collector: Collector,
    bridge: Bridge,
    booths: HashMap<String, Booth>,
    /// Mesas by district, for assigning booth voters.
    mesas: HashMap<String, Vec<MesaPlan>>,
    machines: HashMap<String, BallotMachine>,
    consoles: HashMap<String, String>,
    vote: VoterClient,
    /// The booth vote service's base URL, which serves the mesa console at `/mesa/`.
    vote_url: String,
}

/// The election services the fleet's backends call: the booth vote service (the bridge) and the audit log
/// (officers' actions).
pub struct Upstream<'a> {
    pub vote: &'a str,
    pub audit: AuditClient,
}

fn endpoint(ca: &FleetCa, id: &str, broker: &Broker) -> Result<Endpoint> {
    let c = ca.client(id).with_context(|| format!("issuing the certificate of {id}"))?;
    let tls = c.client_tls().with_context(|| format!("loading the certificate of {id}"))?;
    Ok(Endpoint { addr: broker.mqtt_addr, server_name: "localhost".into(), tls })
}

impl LocalFleet {
    pub async fn start(
        plan: &FleetPlan,
        authority: &Authority,
        manifest: &ElectionManifest,
        public_key: &PublicKey,
        upstream: Upstream<'_>,
        data: &Path,
        monitor_listen: std::net::SocketAddr,
    ) -> Result<Self> {
        let ca = FleetCa::new(&plan.name).context("creating the fleet CA")?;
        let server = ca.server(&["localhost"]).context("issuing the broker certificate")?;
        let tls = server.server_tls().context("loading the broker certificate")?;
        // Guarded like a deployed broker's, though nothing here uses it: the status port is on loopback,
        // but other users of the machine reach loopback too.
        let admin_token = urna_auth::Token::generate().context("generating the broker admin token")?;
        let admin = AdminAuth::Token(admin_token.clone());
        let broker = Broker::start(BrokerConfig::new(&plan.name, tls, admin)).await.context("starting the broker")?;
        let backoff = Backoff { min: Duration::from_millis(50), max: Duration::from_secs(2) };

        std::fs::create_dir_all(data.join("collector")).context("creating the collector's data directory")?;
        let collector = Collector::start(
            CollectorConfig {
                fleet: plan.name.clone(),
                client_id: urna_broker::DEFAULT_BACKEND.into(),
                group: "bridge".into(),
                endpoints: vec![endpoint(&ca, urna_broker::DEFAULT_BACKEND, &broker)?],
                backoff,
            },
            &data.join("collector/inbox.redb"),
        )
        .context("starting the collector")?;
        let vote = VoterClient::new(upstream.vote);
        let bridge = Bridge::start(
            BridgeConfig {
                vote: vote.clone(),
                token: authority.bridge_token.clone(),
                concurrency: 4,
                retry: Duration::from_millis(200),
            },
            collector.inbox.clone(),
            collector.wake.clone(),
        );

        let (rules, officers) = local_rules(plan);
        std::fs::create_dir_all(data.join("monitor")).context("creating the monitor's data directory")?;
        let monitor = Monitor::start_full(
            MonitorConfig {
                fleet: plan.name.clone(),
                client_id: format!("{}-monitor", urna_broker::DEFAULT_BACKEND),
                endpoints: vec![endpoint(&ca, urna_broker::DEFAULT_BACKEND, &broker)?],
                rules: rules.clone(),
                webhook: None,
                webhook_roots: urna_booth::sink::WebhookRoots::System,
                listen: monitor_listen,
                tick: Duration::from_secs(1),
                backoff,
            },
            None,
            Some(OpsConfig {
                store: data.join("monitor/ops.redb"),
                brokers: vec![BrokerAdmin { url: format!("http://{}", broker.status_addr), token: Some(admin_token) }],
                flush: Duration::from_millis(250),
                tiles: None,
                audit: Some(upstream.audit),
            }),
        )
        .await
        .with_context(|| format!("starting the fleet monitor on {monitor_listen}"))?;
        let monitor_addr = monitor.addr;

        let mut booths = HashMap::new();
        let mut machines = HashMap::new();
        let mut mesas: HashMap<String, Vec<MesaPlan>> = HashMap::new();
        for m in &plan.mesas {
            if !machines.contains_key(&m.district) {
                let machine = BallotMachine::new(manifest.clone(), public_key.clone(), &m.district)
                    .with_context(|| format!("loading the election on mesa {}'s booths", m.id))?;
                machines.insert(m.district.clone(), machine);
            }
            for (i, device) in m.booths.iter().enumerate() {
                let dir = data.join("booths").join(device);
                std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
                let mut config = BoothConfig::new(&plan.name, device, endpoint(&ca, device, &broker)?);
                config.backoff = backoff;
                if let Some(fence) = rules.devices.get(device).and_then(|r| r.geofence.as_ref()) {
                    config.position = position_in(fence, i, m.booths.len());
                }
                config.resend_after = Duration::from_secs(2);
                let booth = Booth::start(config, &dir.join("booth.redb"))
                    .with_context(|| format!("starting booth {device}"))?;
                booths.insert(device.clone(), booth);
            }
            mesas.entry(m.district.clone()).or_default().push(MesaPlan {
                id: m.id.clone(),
                district: m.district.clone(),
                booths: m.booths.clone(),
            });
        }
        Ok(Self {
            broker,
            monitor,
            monitor_addr,
            officers,
            collector,
            bridge,
            booths,
            mesas,
            machines,
            consoles: authority.consoles.clone(),
            vote,
            vote_url: upstream.vote.trim_end_matches('/').to_owned(),
        })
    }

    /// The mesa console's address on the booth vote service.
    pub fn console_url(&self) -> String {
        format!("{}/mesa/", self.vote_url)
    }

    /// Every Mesa's console sign-in, by mesa id.
    pub fn mesa_logins(&self) -> Vec<MesaLogin> {
        let mut logins: Vec<MesaLogin> = self
            .mesas
            .values()
            .flatten()
            .filter_map(|m| {
                let token = self.consoles.get(&m.id)?.clone();
                Some(MesaLogin { id: m.id.clone(), district: m.district.clone(), token })
            })
            .collect();
        logins.sort_by(|a, b| a.id.cmp(&b.id));
        logins
    }

    /// Whether booth voters of `district` have a Mesa with booths.
    pub fn serves(&self, district: &str) -> bool {
        self.mesas.contains_key(district)
    }

    /// Voter `index` of `district`: admitted at a Mesa of the district (round robin), then votes on one of its
    /// booths. Returns once the booth has queued the ballot durably (the bridge records it later).
    pub async fn vote(
        &self,
        index: usize,
        voter_id: &str,
        district: &str,
        selections: Vec<(String, Selection)>,
    ) -> Result<()> {
        let Some(mesas) = self.mesas.get(district) else {
            bail!("district {district} has booth voters but no Mesa with booths");
        };
        let mesa = &mesas[index % mesas.len()];
        let token = self.consoles.get(&mesa.id).context("mesa without a console token")?;
        self.vote.admit(&mesa.id, token, voter_id).await.with_context(|| format!("admission at mesa {}", mesa.id))?;
        let device = &mesa.booths[(index / mesas.len()) % mesa.booths.len()];
        let booth = self.booths.get(device).context("booth not started")?;
        let machine = self.machines.get(district).context("no ballot machine for the district")?;
        booth.vote(machine, selections).await.with_context(|| format!("voting on booth {device}"))?;
        Ok(())
    }

    /// Waits until every booth's outbox is acknowledged and the bridge has recorded every ballot; fails
    /// naming any ballot the vote service refused.
    pub async fn drain(&self, timeout: Duration) -> Result<()> {
        let deadline = tokio::time::Instant::now() + timeout;
        for (device, booth) in &self.booths {
            while booth.status().context("booth status")?.pending > 0 {
                if tokio::time::Instant::now() >= deadline {
                    bail!("booth {device} still has unacknowledged messages");
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        if !drained(&self.collector.inbox, left).await.context("reading the inbox")? {
            bail!("the bridge did not record every booth ballot in time");
        }
        let rejected = self.collector.inbox.rejected().context("reading the inbox")?;
        if let Some(((device, seq), reason)) = rejected.first() {
            bail!("{} booth ballots refused, first: {device} #{seq}: {reason}", rejected.len());
        }
        Ok(())
    }

    pub async fn stop(self) {
        for (_, booth) in self.booths {
            booth.stop().await;
        }
        self.bridge.stop().await;
        self.collector.stop().await;
        self.monitor.stop().await;
        self.broker.shutdown().await;
    }
}
