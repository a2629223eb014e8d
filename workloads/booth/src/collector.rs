//! The backend side of the booth channel: a backend identity with a shared subscription to the fleet's
//! numbered messages (ballots, SOS, GPS), keeping each device's messages exactly once in its [`Inbox`] and
//! acknowledging end to end on the device's `cmd/ack`. The vote-pipeline bridge reads ballots from here.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use tracing::{Instrument, info, info_span, warn};
use urna_broker::client::{self, Client, ClientError, Options};
use urna_broker::mqtt::{self, PacketType};

use crate::backoff::Backoff;
use crate::device::Endpoint;
use crate::error::Result;
use crate::inbox::Inbox;
use crate::message::{Envelope, Receipt};

/// Most messages held per device while waiting for an earlier one.
const EARLY_MAX: usize = 4096;

/// Messages that arrived ahead of a missing earlier one, per device, in memory. rumqttd keeps one log per
/// topic, so a booth's ballots and GPS fixes (one sequence, several topics) can arrive interleaved
/// differently from how they were sent; holding the early ones lets the gap fill without a resend. Nothing
/// here is acknowledged, so losing it (a restart) only costs a resend.
type Early = std::collections::HashMap<String, std::collections::BTreeMap<u64, Envelope>>;

/// Stores `env` if it is next, then every held message that follows it; returns the last sequence held.
fn take(inbox: &Inbox, early: &mut Early, env: Envelope) -> Result<u64> {
    let device = env.device.clone();
    let (r, mut last) = inbox.accept(&env)?;
    if r == Receipt::Gap {
        let held = early.entry(device).or_default();
        if held.len() < EARLY_MAX {
            held.insert(env.seq, env);
        } else {
            warn!(device = %env.device, seq = env.seq, last, "too many early messages; waiting for a resend");
        }
        return Ok(last);
    }
    if let Some(held) = early.get_mut(&device) {
        held.retain(|seq, _| *seq > last);
        while let Some(next) = held.remove(&(last + 1)) {
            last = inbox.accept(&next)?.1;
        }
        if held.is_empty() {
            early.remove(&device);
        }
    }
    Ok(last)
}

#[derive(Clone)]
pub struct CollectorConfig {
    pub fleet: String,
    /// MQTT client id: the backend certificate's CN, or `<CN>-<replica>`.
    pub client_id: String,
    /// Shared-subscription group prefix (`<group>-<kind>`): replicas with one prefix split the stream.
    pub group: String,
    /// One per broker shard: every shard's booths reach one inbox (device ids are unique in the fleet).
    pub endpoints: Vec<Endpoint>,
    pub backoff: Backoff,
}

pub struct Collector {
    pub inbox: Arc<Inbox>,
    /// Notified whenever a message is kept (the bridge waits on it).
    pub wake: Arc<Notify>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Collector {
    pub fn start(config: CollectorConfig, store: &std::path::Path) -> Result<Self> {
        let inbox = Arc::new(Inbox::open(store)?);
        let wake = Arc::new(Notify::new());
        let (stop, stop_rx) = watch::channel(false);
        let tasks = (0..config.endpoints.len())
            .map(|shard| {
                let span = info_span!("collector", client_id = %config.client_id, shard);
                let run = run(config.clone(), shard, inbox.clone(), wake.clone(), stop_rx.clone());
                tokio::spawn(run.instrument(span))
            })
            .collect();
        Ok(Self { inbox, wake, stop, tasks })
    }

    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

async fn run(
    cfg: CollectorConfig,
    shard: usize,
    inbox: Arc<Inbox>,
    wake: Arc<Notify>,
    mut stop: watch::Receiver<bool>,
) {
    let mut attempt = 0u32;
    loop {
        tokio::select! {
            r = session(&cfg, &cfg.endpoints[shard], &inbox, &wake, &mut attempt) => {
                let delay = cfg.backoff.delay(attempt, rand::random::<f64>());
                attempt = attempt.saturating_add(1);
                info!(error = ?r.err(), ?delay, "collector disconnected; reconnecting");
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
    cfg: &CollectorConfig,
    e: &Endpoint,
    inbox: &Inbox,
    wake: &Notify,
    attempt: &mut u32,
) -> Result<(), ClientError> {
    let stream = client::connect_tls(e.addr, e.tls.clone(), &e.server_name).await?;
    let opts = Options { client_id: &cfg.client_id, keep_alive_secs: 60, clean_session: true, will: None };
    let mut c = Client::handshake(stream, &opts).await?;
    let filters: Vec<String> = ["ballot", "sos", "gps"]
        .iter()
        // One group name per filter: rumqttd 0.20 keys a shared group by its name alone, with one cursor,
        // so two filters in one group skip each other's messages.
        .map(|k| format!("$share/{}-{k}/urna/{}/booth/+/{k}", cfg.group, cfg.fleet))
        .collect();
    let refs: Vec<(&str, u8)> = filters.iter().map(|f| (f.as_str(), 1)).collect();
    let (codes, _) = c.subscribe(1, &refs).await?;
    if codes.contains(&mqtt::SUBACK_FAILURE) {
        warn!(?codes, "subscription refused");
    }
    *attempt = 0;
    info!("collector subscribed");
    let mut pkid: u16 = 1;
    let mut early = Early::default();
    let mut ping = tokio::time::interval(Duration::from_secs(20));
    loop {
        let f = tokio::select! {
            f = c.read() => f?,
            _ = ping.tick() => {
                c.send(&mqtt::pingreq()).await?;
                continue;
            }
        };
        if f.packet_type() != PacketType::Publish {
            continue;
        }
        let p = mqtt::parse_publish(&f)?;
        // The topic was checked by the broker against the sender's certificate; the payload was not.
        let topic_device = p.topic.split('/').nth(3).unwrap_or_default().to_owned();
        let ack_last = match serde_json::from_slice::<Envelope>(&p.payload) {
            Ok(env) if env.device == topic_device => match take(inbox, &mut early, env) {
                Ok(last) => {
                    // A stored permit if the bridge is busy: it looks again when done.
                    wake.notify_one();
                    Some(last)
                }
                Err(e) => {
                    // Not stored, not acknowledged: the booth resends.
                    warn!(error = %e, "inbox write failed");
                    None
                }
            },
            Ok(env) => {
                warn!(topic = %p.topic, claimed = %env.device, "envelope names another device; dropped");
                None
            }
            Err(e) => {
                warn!(topic = %p.topic, error = %e, "not an envelope; dropped");
                None
            }
        };
        // PUBACK only after the inbox commit, so the broker's copy is not released before ours is durable.
        if let Some(id) = p.pkid {
            c.send(&mqtt::puback(id)).await?;
        }
        if let Some(last) = ack_last {
            pkid = pkid.wrapping_add(1).max(1);
            let topic = format!("urna/{}/booth/{topic_device}/cmd/ack", cfg.fleet);
            c.send(&mqtt::publish(&topic, 1, Some(pkid), serde_json::json!({ "seq": last }).to_string().as_bytes()))
                .await?;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(seq: u64, kind: &str) -> Envelope {
        Envelope { device: "d".into(), seq, kind: kind.into(), at_ms: 0, body: serde_json::json!(seq) }
    }

    #[test]
    fn messages_interleaved_across_topics_fill_their_gap_without_a_resend() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let inbox = Inbox::open(&dir.path().join("inbox.redb"))?;
        let mut early = Early::default();
        // Ballots 1, 3, 4 on one topic overtook GPS fix 2 on another.
        assert_eq!(take(&inbox, &mut early, env(1, "ballot"))?, 1);
        assert_eq!(take(&inbox, &mut early, env(3, "ballot"))?, 1);
        assert_eq!(take(&inbox, &mut early, env(4, "ballot"))?, 1);
        assert_eq!(take(&inbox, &mut early, env(2, "gps"))?, 4);
        assert!(early.is_empty());
        // A replay of everything changes nothing.
        for s in 1..=4 {
            assert_eq!(take(&inbox, &mut early, env(s, "ballot"))?, 4);
        }
        let seqs: Vec<u64> = inbox.received("d")?.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, vec![1, 2, 3, 4]);
        assert_eq!(inbox.received("d")?[1].kind, "gps");
        Ok(())
    }
}
