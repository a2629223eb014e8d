//! The simulated voting machine: one task that keeps a session to the broker (reconnecting with jittered
//! exponential backoff), sends heartbeats, queues GPS fixes, ballots and SOS in the durable outbox,
//! replays the outbox in order on every (re)connect, and obeys the backend's commands.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::net::TcpStream;
use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use tokio_rustls::client::TlsStream;
use tracing::{Instrument, debug, info, info_span, warn};
use urna_broker::client::{self, Client, ClientError, Options};
use urna_broker::mqtt::{self, PacketType};

use crate::backoff::Backoff;
use crate::error::{Error, Result};
use crate::message::{Command, parse_command};
use crate::outbox::Outbox;

/// Where and as whom to connect.
#[derive(Clone)]
pub struct Endpoint {
    pub addr: SocketAddr,
    /// The name in the broker's server certificate.
    pub server_name: String,
    pub tls: Arc<rustls::ClientConfig>,
}

#[derive(Clone)]
pub struct BoothConfig {
    pub fleet: String,
    /// The device id: the CN of its certificate and its MQTT client id.
    pub device: String,
    pub endpoint: Endpoint,
    pub heartbeat: Duration,
    pub gps: Duration,
    /// Simulated position (latitude, longitude) reported by GPS fixes.
    pub position: (f64, f64),
    pub backoff: Backoff,
    pub keep_alive_secs: u16,
    /// Resend everything unacknowledged if no acknowledgement came for this long.
    pub resend_after: Duration,
}

impl BoothConfig {
    pub fn new(fleet: &str, device: &str, endpoint: Endpoint) -> Self {
        Self {
            fleet: fleet.to_owned(),
            device: device.to_owned(),
            endpoint,
            heartbeat: Duration::from_secs(10),
            gps: Duration::from_secs(60),
            position: (0.0, 0.0),
            backoff: Backoff { min: Duration::from_millis(200), max: Duration::from_secs(30) },
            keep_alive_secs: 30,
            resend_after: Duration::from_secs(5),
        }
    }

    fn topic(&self, channel: &str) -> String {
        format!("{}{channel}", urna_broker::acl::device_prefix(&self.fleet, &self.device))
    }
}

/// What the booth shows its operators.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Status {
    pub connected: bool,
    pub locked: bool,
    pub blocked: bool,
    pub pending: u64,
}

struct Inner {
    config: BoothConfig,
    outbox: Outbox,
    queued: Notify,
    locked: AtomicBool,
    blocked: AtomicBool,
    connected: AtomicBool,
    /// Where the booth is now (starts at the configured position; [`Booth::move_to`] changes it).
    position: Mutex<(f64, f64)>,
}

impl Inner {
    fn position(&self) -> (f64, f64) {
        *self.position.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Queues a GPS fix of the current position.
    fn queue_fix(&self) -> Result<u64> {
        let (lat, lon) = self.position();
        let seq =
            self.outbox.push(&self.config.device, "gps", now_ms(), serde_json::json!({ "lat": lat, "lon": lon }))?;
        self.queued.notify_one();
        Ok(seq)
    }
}

/// A running booth.
pub struct Booth {
    inner: Arc<Inner>,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

impl Booth {
    /// Opens (or creates) the outbox at `store` and starts connecting.
    pub fn start(config: BoothConfig, store: &std::path::Path) -> Result<Self> {
        let outbox = Outbox::open(store)?;
        let inner = Arc::new(Inner {
            locked: AtomicBool::new(outbox.flag("locked")?),
            blocked: AtomicBool::new(outbox.flag("blocked")?),
            connected: AtomicBool::new(false),
            position: Mutex::new(config.position),
            queued: Notify::new(),
            outbox,
            config,
        });
        let (stop, stop_rx) = watch::channel(false);
        let span = info_span!("booth", device = %inner.config.device);
        let task = tokio::spawn(run(inner.clone(), stop_rx).instrument(span));
        Ok(Self { inner, stop, task })
    }

    /// Queues a ballot (already encrypted and proved on the device) for exactly-once delivery; refused
    /// while the booth is locked or blocked. Returns its sequence number.
    pub fn cast_ballot(&self, ballot: serde_json::Value) -> Result<u64> {
        self.accepting()?;
        self.queue("ballot", ballot)
    }

    /// Refuses while the booth is locked or blocked by an officer's command.
    pub fn accepting(&self) -> Result<()> {
        if self.inner.blocked.load(Ordering::SeqCst) {
            return Err(Error::Refused("blocked"));
        }
        if self.inner.locked.load(Ordering::SeqCst) {
            return Err(Error::Refused("locked"));
        }
        Ok(())
    }

    /// The SOS button (booth capture, forgery): queued like a ballot, so it survives a network cut.
    pub fn sos(&self, reason: &str) -> Result<u64> {
        self.queue("sos", serde_json::json!({ "reason": reason }))
    }

    /// The machine moved (or a test says it did): later fixes report `(lat, lon)`, and one is queued now.
    pub fn move_to(&self, lat: f64, lon: f64) -> Result<u64> {
        *self.inner.position.lock().unwrap_or_else(|e| e.into_inner()) = (lat, lon);
        self.inner.queue_fix()
    }

    fn queue(&self, kind: &str, body: serde_json::Value) -> Result<u64> {
        let seq = self.inner.outbox.push(&self.inner.config.device, kind, now_ms(), body)?;
        self.inner.queued.notify_one();
        Ok(seq)
    }

    pub fn status(&self) -> Result<Status> {
        Ok(Status {
            connected: self.inner.connected.load(Ordering::SeqCst),
            locked: self.inner.locked.load(Ordering::SeqCst),
            blocked: self.inner.blocked.load(Ordering::SeqCst),
            pending: self.inner.outbox.len()?,
        })
    }

    /// Stops the booth (the outbox stays on disk for the next start).
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

async fn run(inner: Arc<Inner>, mut stop: watch::Receiver<bool>) {
    let mut attempt: u32 = 0;
    loop {
        let started = Instant::now();
        let end = session(&inner, &mut stop).await;
        inner.connected.store(false, Ordering::SeqCst);
        match end {
            Ok(()) => return,
            Err(e) => {
                // A session that lasted resets the backoff; quick failures grow it.
                if started.elapsed() > inner.config.backoff.max {
                    attempt = 0;
                }
                let delay = inner.config.backoff.delay(attempt, rand::random::<f64>());
                attempt = attempt.saturating_add(1);
                info!(error = %e, ?delay, attempt, "disconnected; reconnecting");
                tokio::select! {
                    _ = tokio::time::sleep(delay) => {}
                    _ = stop.changed() => return,
                }
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
enum SessionError {
    #[error(transparent)]
    Client(#[from] ClientError),
    #[error(transparent)]
    Booth(#[from] Error),
    #[error("broker silent for longer than the keep-alive")]
    Silent,
    #[error("no acknowledgement progress after {MAX_FRUITLESS_RESENDS} resends")]
    NoProgress,
}

type Conn = Client<TlsStream<TcpStream>>;

/// Resends without any acknowledgement progress before the session is dropped and redone.
const MAX_FRUITLESS_RESENDS: u32 = 3;

/// One connection, until it fails (`Err`) or the booth is stopped (`Ok`).
async fn session(inner: &Inner, stop: &mut watch::Receiver<bool>) -> Result<(), SessionError> {
    let cfg = &inner.config;
    let stream = client::connect_tls(cfg.endpoint.addr, cfg.endpoint.tls.clone(), &cfg.endpoint.server_name).await?;
    let state_topic = cfg.topic("state");
    let opts = Options {
        client_id: &cfg.device,
        keep_alive_secs: cfg.keep_alive_secs,
        clean_session: true,
        will: Some((&state_topic, br#"{"online":false}"#, 1)),
    };
    let mut c: Conn = Client::handshake(stream, &opts).await?;
    let cmd = cfg.topic("cmd/#");
    let (codes, early) = c.subscribe(1, &[(&cmd, 1)]).await?;
    if codes != [1] {
        warn!(?codes, "command subscription refused");
    }
    for f in early {
        handle(inner, &mut c, &f).await?;
    }
    inner.connected.store(true, Ordering::SeqCst);
    info!("connected");
    c.send(&mqtt::publish(&state_topic, 0, None, &state_body(inner))).await?;

    // Everything above `sent` has not been sent in this session; replay starts from the oldest.
    let mut sent: u64 = 0;
    let mut acked_at = Instant::now();
    let mut fruitless: u32 = 0;
    let mut last_rx = Instant::now();
    let keep_alive = Duration::from_secs(u64::from(cfg.keep_alive_secs.max(1)));
    let mut heartbeat = tokio::time::interval(cfg.heartbeat);
    let mut gps = tokio::time::interval(cfg.gps);
    let mut ping = tokio::time::interval(keep_alive / 2);
    let mut resend = tokio::time::interval(cfg.resend_after);
    loop {
        sent = flush(inner, &mut c, sent).await?;
        tokio::select! {
            f = c.read() => {
                let f = f?;
                last_rx = Instant::now();
                if handle(inner, &mut c, &f).await? {
                    acked_at = Instant::now();
                    fruitless = 0;
                }
            }
            _ = inner.queued.notified() => {}
            _ = heartbeat.tick() => {
                let body = serde_json::json!({ "atMs": now_ms(), "pending": inner.outbox.len()? });
                c.send(&mqtt::publish(&cfg.topic("heartbeat"), 0, None, body.to_string().as_bytes())).await?;
            }
            _ = gps.tick() => {
                inner.queue_fix()?;
            }
            _ = ping.tick() => {
                if last_rx.elapsed() > keep_alive + keep_alive / 2 {
                    return Err(SessionError::Silent);
                }
                c.send(&mqtt::pingreq()).await?;
            }
            _ = resend.tick() => {
                // Go-back-N: nothing acknowledged for a while although messages are out, so the receiver
                // missed some (a broker restart loses what it had not delivered yet). Resend them all;
                // the receiver keeps each sequence once.
                if sent > 0 && acked_at.elapsed() >= cfg.resend_after && !inner.outbox.is_empty()? {
                    fruitless += 1;
                    // Safety net: if resending brings no progress, start over with a new connection (a
                    // fresh session in the broker) rather than resend into the same one forever.
                    if fruitless > MAX_FRUITLESS_RESENDS {
                        return Err(SessionError::NoProgress);
                    }
                    debug!(fruitless, "no acknowledgement: resending the outbox");
                    sent = 0;
                    acked_at = Instant::now();
                }
            }
            _ = stop.changed() => {
                let _ = c.disconnect().await;
                return Ok(());
            }
        }
    }
}

fn state_body(inner: &Inner) -> Vec<u8> {
    serde_json::json!({
        "online": true,
        "locked": inner.locked.load(Ordering::SeqCst),
        "blocked": inner.blocked.load(Ordering::SeqCst),
    })
    .to_string()
    .into_bytes()
}

/// Publishes outbox messages above `sent` (QoS 1, in order); returns the new high mark.
async fn flush(inner: &Inner, c: &mut Conn, mut sent: u64) -> Result<u64, SessionError> {
    loop {
        let batch = inner.outbox.pending_after(sent, 64)?;
        if batch.is_empty() {
            return Ok(sent);
        }
        for env in batch {
            let body = serde_json::to_vec(&env).map_err(Error::from)?;
            // Packet ids only need to be unique among unacknowledged publishes of this connection.
            let pkid = (env.seq % u64::from(u16::MAX)) as u16 + 1;
            c.send(&mqtt::publish(&inner.config.topic(&env.kind), 1, Some(pkid), &body)).await?;
            sent = env.seq;
        }
    }
}

/// Handles one packet from the broker; true if it acknowledged something end to end.
async fn handle(inner: &Inner, c: &mut Conn, f: &mqtt::Frame) -> Result<bool, SessionError> {
    if f.packet_type() != PacketType::Publish {
        return Ok(false);
    }
    let p = mqtt::parse_publish(f).map_err(ClientError::from)?;
    if let Some(id) = p.pkid {
        c.send(&mqtt::puback(id)).await?;
    }
    let name = p.topic.rsplit('/').next().unwrap_or_default();
    let Some(command) = parse_command(name, &p.payload) else {
        warn!(topic = %p.topic, "unknown command ignored");
        return Ok(false);
    };
    let flag = |name: &str, on: bool, atomic: &AtomicBool| -> Result<(), Error> {
        inner.outbox.set_flag(name, on)?;
        atomic.store(on, Ordering::SeqCst);
        warn!(flag = name, on, "officer command");
        Ok(())
    };
    match command {
        Command::Ack(seq) => {
            let dropped = inner.outbox.ack_through(seq)?;
            debug!(seq, dropped, "acknowledged");
            // Only progress counts: a receiver that has a gap keeps acknowledging its last sequence.
            return Ok(dropped > 0);
        }
        Command::Lock => flag("locked", true, &inner.locked)?,
        Command::Unlock => flag("locked", false, &inner.locked)?,
        Command::Block => flag("blocked", true, &inner.blocked)?,
        Command::Unblock => flag("blocked", false, &inner.blocked)?,
        Command::Position => {
            inner.queue_fix()?;
            return Ok(false);
        }
    }
    c.send(&mqtt::publish(&inner.config.topic("state"), 0, None, &state_body(inner))).await?;
    Ok(false)
}
