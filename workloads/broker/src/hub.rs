//! Devices are served by the front itself: after the CONNECT checks a device session never opens a
//! connection of its own to rumqttd. Its publishes go up over a few shared uplink connections, and the
//! commands for every device come down one downlink subscription and are routed here by device id. rumqttd's
//! cost per connection (two 10 KiB network buffers, 200-slot queues, a task, a loopback socket pair) is then
//! paid a handful of times instead of once per booth (docs/broker.md, "Devices are served by the front").
//! Backends, which are few and need rumqttd's shared subscriptions, keep a connection each (`proxy.rs`).

use std::collections::HashMap;
use std::hash::{Hash, Hasher};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{Notify, OwnedSemaphorePermit, Semaphore, mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::timeout;
use tracing::{info, warn};

use crate::client::{Client, ClientError, Options};
use crate::error::{Error, Result};
use crate::metrics::Metrics;
use crate::mqtt::{self, PacketType};

/// Uplinks that device publishes are spread over, by device (so one device's messages keep their order).
const UPLINKS: usize = 4;
/// Publishes awaiting rumqttd's PUBACK on one uplink (packet ids are 16 bits, 0 excluded).
const PENDING_PER_UPLINK: usize = 65_000;
/// Publishes queued for one uplink; a full queue holds the device sessions back (backpressure, no loss).
const UPLINK_QUEUE: usize = 4_096;
/// Commands queued for one device session; beyond it a command is dropped and counted. Commands are
/// acknowledgements and lock/block orders, and the booth's outbox protocol recovers a lost one.
pub(crate) const COMMAND_QUEUE: usize = 32;
const LINK_KEEP_ALIVE_SECS: u16 = 60;
const LINK_PING: Duration = Duration::from_secs(20);
const RELINK_AFTER: Duration = Duration::from_millis(200);

/// A device's publish on its way into rumqttd.
pub(crate) struct Up {
    pub topic: String,
    pub payload: Bytes,
    /// 0 or 1: a device's QoS 2 travels as QoS 1, and its session finishes the QoS 2 exchange itself.
    pub qos: u8,
    /// Where to answer the device once rumqttd has the message.
    pub ack: Option<Ack>,
}

/// The answer a device session owes its device once rumqttd acknowledged the publish.
pub(crate) struct Ack {
    pub to: mpsc::UnboundedSender<Reply>,
    pub reply: Reply,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Reply {
    PubAck(u16),
    PubRec(u16),
}

/// A command for a device, as rumqttd delivered it to the downlink.
pub(crate) struct Command {
    pub topic: String,
    pub payload: Bytes,
    pub qos: u8,
}

/// A refused connection, as the fleet monitor reads it on `urna/<fleet>/broker/authn`.
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct AuthnFailure<'a> {
    /// The device the client certificate named, when the refusal came after it was read.
    device: Option<&'a str>,
    peer: String,
    reason: &'a str,
    at_ms: u64,
}

/// What a device session gets when it attaches.
pub(crate) struct Attachment {
    pub session: u64,
    pub commands: mpsc::Receiver<Arc<Command>>,
    /// Notified when a newer session of the same device takes over (MQTT 3.1.1 §3.1.4).
    pub taken_over: Arc<Notify>,
    pub uplink: mpsc::Sender<Up>,
}

struct Attached {
    session: u64,
    commands: mpsc::Sender<Arc<Command>>,
    taken_over: Arc<Notify>,
}

pub(crate) struct Hub {
    /// `urna/<fleet>/booth/`: the device id is the level after it.
    prefix: String,
    /// `urna/<fleet>/broker/authn`, where refused connections are reported for the fleet monitor.
    refusals: String,
    uplinks: Vec<mpsc::Sender<Up>>,
    devices: Mutex<HashMap<String, Attached>>,
    sessions: AtomicU64,
    /// Bumped when a link to rumqttd fails: the device sessions end, since what they had in flight on it
    /// is gone, and their booths replay from their outboxes on the next connection.
    lost: watch::Sender<u64>,
    metrics: Arc<Metrics>,
}

impl Hub {
    /// Connects the uplinks and the downlink (so the broker is ready when this returns) and keeps them
    /// connected until `stop`.
    pub(crate) async fn start(
        upstream: SocketAddr,
        fleet: &str,
        metrics: Arc<Metrics>,
        stop: watch::Receiver<bool>,
    ) -> Result<(Arc<Self>, Vec<JoinHandle<()>>)> {
        let prefix = format!("urna/{fleet}/booth/");
        let filter = format!("{prefix}+/cmd/#");
        let mut receivers = Vec::new();
        let mut uplinks = Vec::new();
        for _ in 0..UPLINKS {
            let (tx, rx) = mpsc::channel(UPLINK_QUEUE);
            uplinks.push(tx);
            receivers.push(rx);
        }
        let hub = Arc::new(Self {
            refusals: format!("urna/{fleet}/broker/authn"),
            prefix,
            uplinks,
            devices: Mutex::new(HashMap::new()),
            sessions: AtomicU64::new(0),
            lost: watch::channel(0).0,
            metrics,
        });
        let mut tasks = Vec::new();
        for rx in receivers {
            let first = open(upstream, "uplink").await.map_err(link_error)?;
            tasks.push(tokio::spawn(uplink(hub.clone(), upstream, rx, first, stop.clone())));
        }
        let first = subscribe(upstream, &filter).await.map_err(link_error)?;
        tasks.push(tokio::spawn(downlink(hub.clone(), upstream, filter, first, stop)));
        info!(uplinks = UPLINKS, "device hub linked to rumqttd");
        Ok((hub, tasks))
    }

    /// Registers a device's session, taking over from an older one of the same device.
    pub(crate) fn attach(&self, device: &str) -> Attachment {
        let session = self.sessions.fetch_add(1, Ordering::Relaxed);
        let (tx, commands) = mpsc::channel(COMMAND_QUEUE);
        let taken_over = Arc::new(Notify::new());
        let attached = Attached { session, commands: tx, taken_over: taken_over.clone() };
        if let Some(old) = self.lock().insert(device.to_owned(), attached) {
            old.taken_over.notify_one();
        }
        let mut h = std::collections::hash_map::DefaultHasher::new();
        device.hash(&mut h);
        let uplink = self.uplinks[(h.finish() % UPLINKS as u64) as usize].clone();
        Attachment { session, commands, taken_over, uplink }
    }

    /// Forgets a session, unless a newer one of the device has taken its place.
    pub(crate) fn detach(&self, device: &str, session: u64) {
        let mut devices = self.lock();
        if devices.get(device).is_some_and(|a| a.session == session) {
            devices.remove(device);
        }
    }

    pub(crate) fn lost(&self) -> watch::Receiver<u64> {
        self.lost.subscribe()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Attached>> {
        self.devices.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Hands a command to its device's session, if the device is connected (commands are not kept for
    /// absent devices: every session is a clean one).
    fn dispatch(&self, p: mqtt::Publish) {
        let Some(device) = p.topic.strip_prefix(&self.prefix).and_then(|rest| rest.split('/').next()) else {
            return;
        };
        let devices = self.lock();
        let Some(attached) = devices.get(device) else { return };
        let command = Arc::new(Command { qos: p.qos.min(1), payload: p.payload, topic: p.topic.clone() });
        if attached.commands.try_send(command).is_err() {
            self.metrics.commands_dropped.inc();
        }
    }

    /// Reports a refused connection to the fleet monitor (its authentication-failure burst rule). Only the
    /// broker publishes on this topic (no client may, acl.rs), so the monitor can trust it. Best effort: a
    /// full uplink drops the report, the metrics still count the refusal.
    pub(crate) fn report_refusal(&self, device: Option<&str>, peer: SocketAddr, reason: &str) {
        let at_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX));
        let report = AuthnFailure { device, peer: peer.ip().to_string(), reason, at_ms };
        let Ok(payload) = serde_json::to_vec(&report) else { return };
        let up = Up { topic: self.refusals.clone(), payload: payload.into(), qos: 0, ack: None };
        let _ = self.uplinks[0].try_send(up);
    }

    fn link_lost(&self) {
        self.metrics.upstream_lost.inc();
        self.lost.send_modify(|epoch| *epoch += 1);
    }
}

fn link_error(e: ClientError) -> Error {
    Error::Rumqttd(format!("linking the device hub: {e}"))
}

/// A fresh MQTT connection to rumqttd. Client ids start with `~`, which no device id can (identity.rs),
/// and are new each time: rumqttd 0.20 can wedge on a client id reused after a failed connection.
async fn open(upstream: SocketAddr, role: &str) -> std::result::Result<Client<TcpStream>, ClientError> {
    static LINKS: AtomicU64 = AtomicU64::new(0);
    let id = format!("~urna-{role}-{}", LINKS.fetch_add(1, Ordering::Relaxed));
    let tcp = TcpStream::connect(upstream).await?;
    let _ = tcp.set_nodelay(true);
    let opts = Options { client_id: &id, keep_alive_secs: LINK_KEEP_ALIVE_SECS, clean_session: true, will: None };
    Client::handshake(tcp, &opts).await
}

async fn subscribe(upstream: SocketAddr, filter: &str) -> std::result::Result<Downlink, ClientError> {
    let mut c = open(upstream, "downlink").await?;
    let (codes, early) = c.subscribe(1, &[(filter, 1)]).await?;
    if codes != [1] {
        return Err(ClientError::Refused(codes.first().copied().unwrap_or(0x80)));
    }
    Ok(Downlink { client: c, early })
}

struct Downlink {
    client: Client<TcpStream>,
    early: Vec<mqtt::Frame>,
}

/// Publishes awaiting rumqttd's PUBACK, by the packet id they were given on the uplink.
#[derive(Default)]
struct Pending {
    last: u16,
    waiting: HashMap<u16, (Option<Ack>, OwnedSemaphorePermit)>,
}

impl Pending {
    fn insert(&mut self, ack: Option<Ack>, slot: OwnedSemaphorePermit) -> u16 {
        // At most PENDING_PER_UPLINK ids are taken (the permit), so a free one is always found.
        loop {
            self.last = self.last.wrapping_add(1).max(1);
            if !self.waiting.contains_key(&self.last) {
                self.waiting.insert(self.last, (ack, slot));
                return self.last;
            }
        }
    }
}

/// Waits a moment before opening a link again; `false` if the broker stops meanwhile.
async fn relink_after_a_pause(stop: &mut watch::Receiver<bool>) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(RELINK_AFTER) => true,
        _ = stop.changed() => false,
    }
}

async fn uplink(
    hub: Arc<Hub>,
    upstream: SocketAddr,
    mut queue: mpsc::Receiver<Up>,
    first: Client<TcpStream>,
    mut stop: watch::Receiver<bool>,
) {
    let mut next = Some(first);
    loop {
        let client = match next.take() {
            Some(c) => c,
            None => match open(upstream, "uplink").await {
                Ok(c) => c,
                Err(e) => {
                    warn!(error = %e, "device uplink to rumqttd: reconnecting");
                    if relink_after_a_pause(&mut stop).await {
                        continue;
                    }
                    return;
                }
            },
        };
        let (tcp, buf) = client.into_parts();
        let (r, w) = tcp.into_split();
        let pending = Mutex::new(Pending::default());
        let slots = Arc::new(Semaphore::new(PENDING_PER_UPLINK));
        let end = tokio::select! {
            e = write_up(w, &mut queue, &pending, &slots) => e,
            e = read_acks(r, buf, &pending) => e,
            _ = stop.changed() => return,
        };
        match end {
            Ok(()) => return,
            Err(e) => warn!(error = %e, "device uplink to rumqttd lost; device sessions end and replay"),
        }
        hub.link_lost();
        if !relink_after_a_pause(&mut stop).await {
            return;
        }
    }
}

/// Writes queued publishes, as many as are waiting in one write; pings when idle. `Ok` when the hub is gone.
async fn write_up(
    mut w: OwnedWriteHalf,
    queue: &mut mpsc::Receiver<Up>,
    pending: &Mutex<Pending>,
    slots: &Arc<Semaphore>,
) -> std::io::Result<()> {
    let mut out = Vec::new();
    loop {
        let first = match timeout(LINK_PING, queue.recv()).await {
            Err(_) => {
                w.write_all(&mqtt::pingreq()).await?;
                continue;
            }
            Ok(None) => return Ok(()),
            Ok(Some(up)) => up,
        };
        out.clear();
        let mut next = Some(first);
        while let Some(up) = next.take() {
            let pkid = if up.qos > 0 {
                let slot = slots.clone().acquire_owned().await.map_err(std::io::Error::other)?;
                Some(pending.lock().unwrap_or_else(|e| e.into_inner()).insert(up.ack, slot))
            } else {
                None
            };
            out.extend_from_slice(&mqtt::publish(&up.topic, up.qos, pkid, &up.payload));
            if out.len() < 64 * 1024 {
                next = queue.try_recv().ok();
            }
        }
        w.write_all(&out).await?;
    }
}

/// Reads rumqttd's PUBACKs and passes each on to the device session that is owed it.
async fn read_acks(mut r: OwnedReadHalf, mut buf: BytesMut, pending: &Mutex<Pending>) -> std::io::Result<()> {
    loop {
        while let Some(f) = mqtt::next_frame(&mut buf, usize::MAX).map_err(std::io::Error::other)? {
            if f.packet_type() != PacketType::PubAck {
                continue;
            }
            let pkid = mqtt::parse_pkid(&f).map_err(std::io::Error::other)?;
            let done = pending.lock().unwrap_or_else(|e| e.into_inner()).waiting.remove(&pkid);
            if let Some((Some(ack), _slot)) = done {
                // A session that has ended no longer needs its answer.
                let _ = ack.to.send(ack.reply);
            }
        }
        if r.read_buf(&mut buf).await? == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
    }
}

async fn downlink(
    hub: Arc<Hub>,
    upstream: SocketAddr,
    filter: String,
    first: Downlink,
    mut stop: watch::Receiver<bool>,
) {
    let mut next = Some(first);
    loop {
        let link = match next.take() {
            Some(l) => l,
            None => match subscribe(upstream, &filter).await {
                Ok(l) => l,
                Err(e) => {
                    warn!(error = %e, "device downlink from rumqttd: reconnecting");
                    if relink_after_a_pause(&mut stop).await {
                        continue;
                    }
                    return;
                }
            },
        };
        tokio::select! {
            e = route_commands(&hub, link) => warn!(error = %e, "device downlink from rumqttd lost; reconnecting"),
            _ = stop.changed() => return,
        }
        hub.link_lost();
        if !relink_after_a_pause(&mut stop).await {
            return;
        }
    }
}

/// Routes every command rumqttd delivers to its device's session and acknowledges it; pings when idle.
async fn route_commands(hub: &Hub, link: Downlink) -> std::io::Error {
    let (mut tcp, mut buf) = link.client.into_parts();
    let mut frames = link.early;
    let mut acks = Vec::new();
    loop {
        loop {
            match mqtt::next_frame(&mut buf, usize::MAX) {
                Ok(Some(f)) => frames.push(f),
                Ok(None) => break,
                Err(e) => return std::io::Error::other(e),
            }
        }
        for f in frames.drain(..) {
            if f.packet_type() != PacketType::Publish {
                continue;
            }
            match mqtt::parse_publish(&f) {
                Ok(p) => {
                    if let Some(pkid) = p.pkid {
                        acks.extend_from_slice(&mqtt::puback(pkid));
                    }
                    hub.dispatch(p);
                }
                Err(e) => return std::io::Error::other(e),
            }
        }
        if !acks.is_empty() {
            if let Err(e) = tcp.write_all(&acks).await {
                return e;
            }
            acks.clear();
        }
        tokio::select! {
            n = tcp.read_buf(&mut buf) => match n {
                Ok(0) => return std::io::ErrorKind::UnexpectedEof.into(),
                Ok(_) => {}
                Err(e) => return e,
            },
            _ = tokio::time::sleep(LINK_PING) => {
                if let Err(e) = tcp.write_all(&mqtt::pingreq()).await {
                    return e;
                }
            }
        }
    }
}
