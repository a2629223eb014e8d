//! The fleet monitor's I/O edges: it reads every booth message (a backend identity, plain subscription:
//! one monitor sees the whole fleet), feeds the pure [`Fleet`] state, and sends each alert to an in-memory
//! feed (`GET /v1/alerts`), to Prometheus metrics (`GET /metrics`) and to the configured sinks
//! ([`crate::sink`]: a webhook, Kubernetes Events). `/healthz` answers while the process serves;
//! `/readyz` only while it is subscribed to the broker; `GET /v1/status` ([`urna_status::monitor::MonitorStatus`])
//! gives the devices online, offline and blocked and the active alerts, for the operator.
//!
//! With an operations store ([`crate::ops`]) it also keeps the fleet state durably, numbers each alert and
//! routes it to the regional officers of its district (their webhooks), serves the officers' API and the
//! dashboard (`/ops/`), and carries out their device actions.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use tokio::sync::{broadcast, mpsc, watch};
use tokio::task::JoinHandle;
use tracing::{Instrument, info, info_span, warn};
use urna_broker::client::{self, Client, ClientError, Options};
use urna_broker::mqtt::{self, PacketType};
use urna_status::monitor::MonitorStatus;

use crate::backoff::Backoff;
use crate::device::Endpoint;
use crate::fleet::{DeviceCounts, Fleet};
use crate::heard::Resends;
use crate::metrics::MonitorMetrics;
use crate::monitor::Alert;
use crate::ops::{DeviceCommand, Ops, OpsConfig};
use crate::rules::{FleetRules, Officer};
use crate::sink::{self, KubeEvents, Webhook, WebhookRoots};

/// Alerts kept for the feed.
const FEED_MAX: usize = 10_000;

#[derive(Clone)]
pub struct MonitorConfig {
    pub fleet: String,
    /// MQTT client id: a backend certificate's CN, or `<CN>-<suffix>`.
    pub client_id: String,
    /// One per broker replica of every shard: each is a separate rumqttd, and the rules need the whole fleet.
    pub endpoints: Vec<Endpoint>,
    pub rules: FleetRules,
    /// Where alerts are POSTed: https:// verified against `webhook_roots`, or http:// (inside the cluster or
    /// behind a proxy).
    pub webhook: Option<String>,
    pub webhook_roots: WebhookRoots,
    pub listen: SocketAddr,
    pub tick: Duration,
    pub backoff: Backoff,
}

#[derive(Default)]
pub struct Feed {
    alerts: Mutex<VecDeque<Alert>>,
}

impl Feed {
    fn push(&self, a: Alert) {
        let mut q = self.alerts.lock().unwrap_or_else(|e| e.into_inner());
        if q.len() == FEED_MAX {
            q.pop_front();
        }
        q.push_back(a);
    }

    pub fn all(&self) -> Vec<Alert> {
        self.alerts.lock().unwrap_or_else(|e| e.into_inner()).iter().cloned().collect()
    }
}

pub struct Monitor {
    pub addr: SocketAddr,
    pub feed: Arc<Feed>,
    pub metrics: Arc<MonitorMetrics>,
    /// The operations centre, when started with an operations store.
    pub ops: Option<Arc<Ops>>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

#[derive(Clone)]
struct Http {
    feed: Arc<Feed>,
    metrics: Arc<MonitorMetrics>,
    /// Brokers to be subscribed to before the monitor is ready.
    brokers: i64,
    fleet: String,
    counts: Arc<Mutex<Snapshot>>,
}

/// What `GET /v1/status` shows of the fleet state, published by the rules task (which owns the state).
#[derive(Clone)]
struct Snapshot {
    counts: DeviceCounts,
    active_alerts: usize,
    mesas: Vec<urna_status::monitor::MesaDevices>,
}

impl Monitor {
    /// Starts the monitor with the feed, the metrics and the webhook (if configured).
    pub async fn start(cfg: MonitorConfig) -> std::io::Result<Self> {
        Self::start_with(cfg, None).await
    }

    /// Same, plus the Kubernetes Events sink when running in a cluster (the caller decides: see
    /// `urna booth monitor`).
    pub async fn start_with(cfg: MonitorConfig, events: Option<KubeEvents>) -> std::io::Result<Self> {
        Self::start_full(cfg, events, None).await
    }

    /// Same, plus the operations centre ([`crate::ops`]): the state kept in `ops.store`, officers' alert
    /// routing, API and dashboard, device actions.
    pub async fn start_full(
        cfg: MonitorConfig,
        events: Option<KubeEvents>,
        ops: Option<OpsConfig>,
    ) -> std::io::Result<Self> {
        let ops = match ops {
            Some(o) => Some(Ops::open(&o, &cfg.fleet, &cfg.rules).map_err(std::io::Error::other)?),
            None => None,
        };
        let listener = tokio::net::TcpListener::bind(cfg.listen).await?;
        let addr = listener.local_addr()?;
        let feed = Arc::new(Feed::default());
        let metrics = Arc::new(MonitorMetrics::new());
        let (stop, stop_rx) = watch::channel(false);
        let mut tasks = Vec::new();
        let counts = Arc::new(Mutex::new(Snapshot {
            counts: DeviceCounts {
                expected: cfg.rules.devices.len(),
                offline: cfg.rules.devices.len(),
                ..Default::default()
            },
            active_alerts: 0,
            mesas: Vec::new(),
        }));
        let mut app = Router::new()
            .route("/healthz", get(|| async { "ok" }))
            .route("/readyz", get(readyz))
            .route("/metrics", get(render_metrics))
            .route("/v1/alerts", get(alerts))
            .route("/v1/status", get(status))
            .with_state(Http {
                feed: feed.clone(),
                metrics: metrics.clone(),
                brokers: i64::try_from(cfg.endpoints.len()).unwrap_or(i64::MAX),
                fleet: cfg.fleet.clone(),
                counts: counts.clone(),
            });
        if let Some(ops) = &ops {
            app =
                app.merge(crate::ops::api::router(ops.clone())).merge(crate::ops::dashboard::router(ops.tiles.clone()));
        }
        let mut s = stop_rx.clone();
        tasks.push(tokio::spawn(async move {
            let stopped = async move {
                let _ = s.changed().await;
            };
            if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(stopped).await {
                warn!(error = %e, "alert feed stopped");
            }
        }));
        let mut sinks = Vec::new();
        if let Some(url) = cfg.webhook.clone() {
            let webhook = Webhook::new(url, &cfg.webhook_roots).map_err(std::io::Error::other)?;
            let (tx, task) = sink::spawn(webhook, metrics.clone());
            sinks.push(("webhook", tx));
            tasks.push(task);
        }
        if let Some(events) = events {
            let (tx, task) = sink::spawn(events, metrics.clone());
            sinks.push(("events", tx));
            tasks.push(task);
        }
        // Each officer with a webhook gets their district's alerts there, through a sink of their own.
        let mut officers = Vec::new();
        for o in &cfg.rules.officers {
            if let Some(url) = &o.webhook {
                let webhook = Webhook::new(url.clone(), &cfg.webhook_roots).map_err(std::io::Error::other)?;
                let (tx, task) = sink::spawn(webhook, metrics.clone());
                officers.push((o.clone(), tx));
                tasks.push(task);
            }
        }
        if let Some(o) = &ops
            && o.audit.is_some()
        {
            let run = crate::ops::audit_log::run(o.clone(), stop_rx.clone());
            tasks.push(tokio::spawn(run.instrument(info_span!("audit_log"))));
        }
        let span = info_span!("monitor", client_id = %cfg.client_id);
        let out = Outputs { feed: feed.clone(), metrics: metrics.clone(), sinks, officers, counts, ops: ops.clone() };
        let (tx, rx) = tokio::sync::mpsc::channel(4096);
        for (broker, _) in cfg.endpoints.iter().enumerate() {
            let commands = ops.as_ref().map(|o| o.commands.clone());
            let read = read(cfg.clone(), broker, tx.clone(), metrics.clone(), commands, stop_rx.clone());
            tasks.push(tokio::spawn(read.instrument(info_span!("monitor", client_id = %cfg.client_id, broker))));
        }
        tasks.push(tokio::spawn(run(cfg, out, rx, stop_rx).instrument(span)));
        Ok(Self { addr, feed, metrics, ops, stop, tasks })
    }

    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            t.abort();
            let _ = t.await;
        }
    }
}

async fn alerts(State(http): State<Http>) -> impl IntoResponse {
    let body = serde_json::json!({ "alerts": http.feed.all() }).to_string();
    ([(header::CONTENT_TYPE, "application/json")], body)
}

async fn status(State(http): State<Http>) -> impl IntoResponse {
    let snap = http.counts.lock().unwrap_or_else(|e| e.into_inner()).clone();
    let n = |x: usize| u64::try_from(x).unwrap_or(u64::MAX);
    let alerts_raised =
        crate::monitor::RULES.iter().map(|rule| http.metrics.alerts.get_or_create(&vec![("rule", *rule)]).get()).sum();
    let body = MonitorStatus {
        fleet: http.fleet.clone(),
        devices_expected: n(snap.counts.expected),
        devices_online: n(snap.counts.online),
        devices_offline: n(snap.counts.offline),
        devices_blocked: n(snap.counts.blocked),
        active_alerts: n(snap.active_alerts),
        alerts_raised,
        brokers_subscribed: u64::try_from(http.metrics.subscribed.get()).unwrap_or(0),
        brokers: u64::try_from(http.brokers).unwrap_or(0),
        mesas: snap.mesas,
    };
    match serde_json::to_string(&body) {
        Ok(text) => (StatusCode::OK, [(header::CONTENT_TYPE, "application/json")], text),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(header::CONTENT_TYPE, "application/json")],
            serde_json::json!({ "error": { "code": "internal", "message": e.to_string() } }).to_string(),
        ),
    }
}

async fn render_metrics(State(http): State<Http>) -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/openmetrics-text; version=1.0.0; charset=utf-8")], http.metrics.render())
}

/// Ready while subscribed to every broker: a monitor that cannot reach one sees nothing of its booths and must
/// say so.
async fn readyz(State(http): State<Http>) -> impl IntoResponse {
    if http.metrics.subscribed.get() >= http.brokers {
        (StatusCode::OK, "ready")
    } else {
        (StatusCode::SERVICE_UNAVAILABLE, "not subscribed to the broker")
    }
}

/// Where each alert goes: the feed and the metrics always, each sink through its own queue.
struct Outputs {
    feed: Arc<Feed>,
    metrics: Arc<MonitorMetrics>,
    sinks: Vec<(&'static str, mpsc::Sender<Alert>)>,
    /// Officers with a webhook: each gets the alerts of their districts.
    officers: Vec<(Officer, mpsc::Sender<Alert>)>,
    counts: Arc<Mutex<Snapshot>>,
    ops: Option<Arc<Ops>>,
}

impl Outputs {
    fn emit(&self, alerts: Vec<Alert>) {
        // Numbered and stored first, so every other output names the alert the desk shows.
        let alerts = match &self.ops {
            Some(ops) => ops.on_alerts(alerts),
            None => alerts,
        };
        for a in alerts {
            for (o, tx) in &self.officers {
                if o.covers(&a.district) && tx.try_send(a.clone()).is_err() {
                    self.metrics.drop_for("webhook");
                    warn!(officer = %o.id, rule = a.rule, "officer webhook queue full; alert kept on the desk");
                }
            }
            warn!(device = %a.device, mesa = %a.mesa, rule = a.rule, evidence = %a.evidence, "alert");
            self.metrics.alert(a.rule);
            for (name, tx) in &self.sinks {
                if tx.try_send(a.clone()).is_err() {
                    self.metrics.drop_for(name);
                    warn!(sink = name, rule = a.rule, "sink queue full; alert kept in the feed only");
                }
            }
            self.feed.push(a);
        }
    }

    /// Gauges derived from the fleet state. The cheap ones after every message; `online` walks every
    /// device, so only on the clock tick (`with_online`).
    fn gauges(&self, fleet: &Fleet, rules: &FleetRules, now_ms: u64, with_online: bool) {
        let m = &self.metrics;
        let n = |x: usize| i64::try_from(x).unwrap_or(i64::MAX);
        m.active_alerts.set(n(fleet.active_alerts()));
        m.devices_seen.set(n(fleet.devices_seen()));
        if with_online {
            m.devices_online.set(n(fleet.devices_online(rules, now_ms)));
            let snap = Snapshot {
                counts: fleet.device_counts(rules, now_ms),
                active_alerts: fleet.active_alerts(),
                mesas: fleet.mesa_counts(rules, now_ms),
            };
            *self.counts.lock().unwrap_or_else(|e| e.into_inner()) = snap;
        }
    }
}

/// Counts one subscribed broker in the `subscribed` gauge (and so readiness) until the session ends, however it ends.
struct Subscribed<'a>(&'a prometheus_client::metrics::gauge::Gauge);

impl<'a> Subscribed<'a> {
    fn new(gauge: &'a prometheus_client::metrics::gauge::Gauge) -> Self {
        gauge.inc();
        Self(gauge)
    }
}

impl Drop for Subscribed<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
}

/// One message, as a broker session hands it to the rules.
enum Telemetry {
    /// `urna/<fleet>/booth/<device>/<channel>`.
    Booth { device: String, channel: String, payload: bytes::Bytes },
    /// `urna/<fleet>/broker/authn`: a connection the broker refused, for a device or `peer:<address>`, and why.
    AuthnFailure { who: String, reason: String },
}

/// The broker's report of a refused connection (urna_broker's `hub::AuthnFailure`).
#[derive(serde::Deserialize)]
struct AuthnReport {
    device: Option<String>,
    peer: String,
    #[serde(default)]
    reason: String,
}

impl Telemetry {
    fn from_topic(topic: &str, payload: bytes::Bytes) -> Option<Self> {
        match topic.split('/').collect::<Vec<_>>()[..] {
            [_, _, "booth", device, channel] => {
                Some(Self::Booth { device: device.to_owned(), channel: channel.to_owned(), payload })
            }
            [_, _, "broker", "authn"] => {
                let r: AuthnReport = serde_json::from_slice(&payload).ok()?;
                Some(Self::AuthnFailure {
                    who: r.device.unwrap_or_else(|| format!("peer:{}", r.peer)),
                    reason: r.reason,
                })
            }
            _ => None,
        }
    }
}

/// The rules over the whole fleet: every broker's telemetry, in one state, with the clock tick.
async fn run(
    cfg: MonitorConfig,
    sink: Outputs,
    mut rx: tokio::sync::mpsc::Receiver<Telemetry>,
    mut stop: watch::Receiver<bool>,
) {
    let mut fleet = Fleet::default();
    let mut resends = Resends::default();
    let mut tick = tokio::time::interval(cfg.tick);
    let mut flush = tokio::time::interval(sink.ops.as_ref().map_or(Duration::from_secs(3600), |o| o.flush));
    loop {
        tokio::select! {
            Some(t) = rx.recv() => {
                let now = now_ms();
                sink.metrics.messages.inc();
                let alerts = match t {
                    Telemetry::Booth { device, channel, payload } => {
                        let heard = resends.hear(&device, &channel, &payload);
                        if let Some(ops) = &sink.ops {
                            ops.on_telemetry(&device, &heard, now);
                        }
                        fleet.observe(&cfg.rules, &device, &heard, now)
                    }
                    Telemetry::AuthnFailure { who, reason } => {
                        if let Some(ops) = &sink.ops
                            && reason == "blocked"
                        {
                            ops.on_blocked(&who);
                        }
                        fleet.observe_refusal(&cfg.rules, &who, &reason, now)
                    }
                };
                sink.emit(alerts);
                sink.gauges(&fleet, &cfg.rules, now, false);
            }
            _ = tick.tick() => {
                let now = now_ms();
                sink.emit(fleet.tick(&cfg.rules, now));
                sink.gauges(&fleet, &cfg.rules, now, true);
                if let Some(ops) = &sink.ops {
                    ops.flush(now, true);
                }
            }
            // Changed devices go to the store and the dashboards in batches: a flood of telemetry from one
            // booth costs one commit and one update per batch.
            _ = flush.tick(), if sink.ops.is_some() => {
                if let Some(ops) = &sink.ops {
                    ops.flush(now_ms(), false);
                }
            }
            _ = stop.changed() => return,
        }
    }
}

/// Reads broker `broker`'s telemetry into `tx`, reconnecting with backoff.
async fn read(
    cfg: MonitorConfig,
    broker: usize,
    tx: tokio::sync::mpsc::Sender<Telemetry>,
    metrics: Arc<MonitorMetrics>,
    commands: Option<broadcast::Sender<DeviceCommand>>,
    mut stop: watch::Receiver<bool>,
) {
    let mut attempt = 0u32;
    loop {
        // Subscribed before the session: commands sent while it reconnects are not sent (the booth is
        // re-sent lock and block when it reports otherwise, see `ops::state`).
        let cmds = commands.as_ref().map(|c| c.subscribe());
        tokio::select! {
            r = session(&cfg, &cfg.endpoints[broker], &tx, &metrics, cmds, &mut attempt) => {
                let delay = cfg.backoff.delay(attempt, rand::random::<f64>());
                attempt = attempt.saturating_add(1);
                info!(error = ?r.err(), ?delay, "monitor disconnected; reconnecting");
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = stop.changed() => return,
                }
            }
            _ = stop.changed() => return,
        }
    }
}

async fn session(
    cfg: &MonitorConfig,
    e: &Endpoint,
    tx: &tokio::sync::mpsc::Sender<Telemetry>,
    metrics: &MonitorMetrics,
    mut commands: Option<broadcast::Receiver<DeviceCommand>>,
    attempt: &mut u32,
) -> Result<(), ClientError> {
    let stream = client::connect_tls(e.addr, e.tls.clone(), &e.server_name).await?;
    let opts = Options { client_id: &cfg.client_id, keep_alive_secs: 60, clean_session: true, will: None };
    let mut c = Client::handshake(stream, &opts).await?;
    let booths = format!("urna/{}/booth/+/+", cfg.fleet);
    let refusals = format!("urna/{}/broker/authn", cfg.fleet);
    c.subscribe(1, &[(&booths, 0), (&refusals, 0)]).await?;
    *attempt = 0;
    let _subscribed = Subscribed::new(&metrics.subscribed);
    info!("monitor subscribed");
    let mut ping = tokio::time::interval(Duration::from_secs(20));
    loop {
        tokio::select! {
            f = c.read() => {
                let f = f?;
                if f.packet_type() != PacketType::Publish {
                    continue;
                }
                let p = mqtt::parse_publish(&f)?;
                if let Some(id) = p.pkid {
                    c.send(&mqtt::puback(id)).await?;
                }
                if let Some(t) = Telemetry::from_topic(&p.topic, p.payload)
                    && tx.send(t).await.is_err()
                {
                    return Ok(()); // the monitor is stopping
                }
            }
            _ = ping.tick() => c.send(&mqtt::pingreq()).await?,
            cmd = next_command(&mut commands) => {
                if let Some(cmd) = cmd {
                    c.send(&mqtt::publish(&cmd.topic, 0, None, &cmd.payload)).await?;
                }
            }
        }
    }
}

/// The next officer command for the devices (`None` after falling behind: those were dropped, and the
/// booths are re-sent what they do not report), or never without an operations centre.
async fn next_command(rx: &mut Option<broadcast::Receiver<DeviceCommand>>) -> Option<DeviceCommand> {
    match rx {
        Some(rx) => match rx.recv().await {
            Ok(c) => Some(c),
            Err(broadcast::error::RecvError::Lagged(n)) => {
                warn!(missed = n, "officer commands dropped: the session fell behind");
                None
            }
            Err(broadcast::error::RecvError::Closed) => std::future::pending().await,
        },
        None => std::future::pending().await,
    }
}
