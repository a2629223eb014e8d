//! The fleet monitor's I/O edges: it reads every booth message (a backend identity, plain subscription:
//! one monitor sees the whole fleet), feeds the pure [`Fleet`] state, and sends each alert to an in-memory
//! feed (`GET /v1/alerts`) and to a webhook (JSON POST, retried).

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::Client as HttpClient;
use hyper_util::rt::TokioExecutor;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tracing::{Instrument, info, info_span, warn};
use urna_broker::client::{self, Client, ClientError, Options};
use urna_broker::mqtt::{self, PacketType};

use crate::backoff::Backoff;
use crate::device::Endpoint;
use crate::fleet::{Fleet, FleetRules};
use crate::monitor::Alert;

/// Alerts kept for the feed.
const FEED_MAX: usize = 10_000;

#[derive(Clone)]
pub struct MonitorConfig {
    pub fleet: String,
    /// MQTT client id: a backend certificate's CN, or `<CN>-<suffix>`.
    pub client_id: String,
    pub endpoint: Endpoint,
    pub rules: FleetRules,
    /// Where alerts are POSTed (http:// only; keep it inside the cluster or behind a proxy).
    pub webhook: Option<String>,
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
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

impl Monitor {
    pub async fn start(cfg: MonitorConfig) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(cfg.listen).await?;
        let addr = listener.local_addr()?;
        let feed = Arc::new(Feed::default());
        let (stop, stop_rx) = watch::channel(false);
        let (tx, rx) = mpsc::channel::<Alert>(1024);
        let mut tasks = Vec::new();
        let app = Router::new()
            .route("/healthz", get(|| async { "ok" }))
            .route("/v1/alerts", get(alerts))
            .with_state(feed.clone());
        let mut s = stop_rx.clone();
        tasks.push(tokio::spawn(async move {
            let stopped = async move {
                let _ = s.changed().await;
            };
            if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(stopped).await {
                warn!(error = %e, "alert feed stopped");
            }
        }));
        if let Some(url) = cfg.webhook.clone() {
            tasks.push(tokio::spawn(webhook(url, rx)));
        }
        let span = info_span!("monitor", client_id = %cfg.client_id);
        let sink = Sink { feed: feed.clone(), webhook: cfg.webhook.is_some().then_some(tx) };
        tasks.push(tokio::spawn(run(cfg, sink, stop_rx).instrument(span)));
        Ok(Self { addr, feed, stop, tasks })
    }

    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            t.abort();
            let _ = t.await;
        }
    }
}

async fn alerts(State(feed): State<Arc<Feed>>) -> impl IntoResponse {
    let body = serde_json::json!({ "alerts": feed.all() }).to_string();
    ([(header::CONTENT_TYPE, "application/json")], body)
}

struct Sink {
    feed: Arc<Feed>,
    webhook: Option<mpsc::Sender<Alert>>,
}

impl Sink {
    fn emit(&self, alerts: Vec<Alert>) {
        for a in alerts {
            warn!(device = %a.device, mesa = %a.mesa, rule = a.rule, evidence = %a.evidence, "alert");
            if let Some(tx) = &self.webhook
                && tx.try_send(a.clone()).is_err()
            {
                warn!(rule = a.rule, "webhook queue full; alert kept in the feed only");
            }
            self.feed.push(a);
        }
    }
}

async fn run(cfg: MonitorConfig, sink: Sink, mut stop: watch::Receiver<bool>) {
    let mut fleet = Fleet::default();
    let mut attempt = 0u32;
    loop {
        tokio::select! {
            r = session(&cfg, &sink, &mut fleet, &mut attempt) => {
                let delay = cfg.backoff.delay(attempt, rand::random::<f64>());
                attempt = attempt.saturating_add(1);
                info!(error = ?r.err(), ?delay, "monitor disconnected; reconnecting");
                tokio::time::sleep(delay).await;
            }
            _ = stop.changed() => return,
        }
    }
}

async fn session(cfg: &MonitorConfig, sink: &Sink, fleet: &mut Fleet, attempt: &mut u32) -> Result<(), ClientError> {
    let e = &cfg.endpoint;
    let stream = client::connect_tls(e.addr, e.tls.clone(), &e.server_name).await?;
    let opts = Options { client_id: &cfg.client_id, keep_alive_secs: 60, clean_session: true, will: None };
    let mut c = Client::handshake(stream, &opts).await?;
    let filter = format!("urna/{}/booth/+/+", cfg.fleet);
    c.subscribe(1, &[(&filter, 0)]).await?;
    *attempt = 0;
    info!("monitor subscribed");
    let mut tick = tokio::time::interval(cfg.tick);
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
                let levels: Vec<&str> = p.topic.split('/').collect();
                if let [_, _, "booth", device, channel] = levels[..] {
                    sink.emit(fleet.observe(&cfg.rules, device, channel, &p.payload, now_ms()));
                }
            }
            _ = tick.tick() => sink.emit(fleet.tick(&cfg.rules, now_ms())),
            _ = ping.tick() => c.send(&mqtt::pingreq()).await?,
        }
    }
}

/// POSTs each alert as JSON, retrying with backoff; an alert that still fails stays in the feed.
async fn webhook(url: String, mut rx: mpsc::Receiver<Alert>) {
    let http: HttpClient<_, Full<Bytes>> = HttpClient::builder(TokioExecutor::new()).build_http();
    while let Some(alert) = rx.recv().await {
        let body = Bytes::from(serde_json::to_vec(&alert).unwrap_or_default());
        let mut delay = Duration::from_millis(200);
        for attempt in 1..=5 {
            let req = http::Request::post(url.as_str())
                .header(http::header::CONTENT_TYPE, "application/json")
                .body(Full::new(body.clone()));
            let outcome = match req {
                Ok(req) => http.request(req).await.map(|r| r.status()).map_err(|e| e.to_string()),
                Err(e) => Err(e.to_string()),
            };
            match outcome {
                Ok(s) if s.is_success() => break,
                Ok(s) => warn!(attempt, status = %s, rule = alert.rule, "webhook refused the alert"),
                Err(e) => warn!(attempt, error = %e, rule = alert.rule, "webhook unreachable"),
            }
            tokio::time::sleep(delay).await;
            delay *= 2;
        }
    }
}
