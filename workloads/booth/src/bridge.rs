//! The vote-pipeline bridge: booth ballots held in the collector's [`Inbox`] go to the vote service's
//! `POST /v1/booth/ballots`, device by device in sequence order, each marked done only after the vote
//! service answered for it, so a crash anywhere means a resubmission, which the vote service answers with
//! the first receipt: nothing lost, nothing counted twice.
//!
//! The device id sent is the one the broker authenticated: the collector keeps an envelope only when the
//! device it names is the one in its topic, and the broker confines each certificate to its own topics.
//! Nothing about the voter is in a booth message; the vote service authorizes the ballot by its mesa's
//! admissions (`urna_vote::mesa`).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{Notify, watch};
use tokio::task::JoinHandle;
use tracing::{Instrument, info_span, warn};
use urna_vote::ClientError;
use urna_vote::client::VoterClient;
use urna_vote::wire::BoothBallot;

use crate::error::Result;
use crate::inbox::Inbox;
use crate::message::Envelope;

/// What happened to one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Recorded (now or before), or not a ballot: done.
    Done,
    /// Refused for good (an invalid ballot, a device in no mesa, ...): done, and the reason kept.
    Rejected(String),
    /// Not now (no admitted voter yet, the vote service unreachable or misconfigured): try again later,
    /// and nothing after it from this device meanwhile.
    Later(String),
}

/// The decision for a vote-service answer: its error, if any (a pure function, tested below).
pub fn outcome(error: Option<&ClientError>) -> Outcome {
    let Some(e) = error else {
        return Outcome::Done;
    };
    match e {
        ClientError::Api { code, .. } => match code.as_str() {
            "unknown_device" | "wrong_ballot_style" | "invalid_ballot" | "sequence_reused" | "malformed"
            | "too_large" | "election_closed" => Outcome::Rejected(code.clone()),
            // not_admitted, unavailable, rate_limited, and the configuration errors (a wrong or missing
            // bridge token, no mesas): a ballot is never dropped because the pipeline is not ready.
            _ => Outcome::Later(code.clone()),
        },
        other => Outcome::Later(other.to_string()),
    }
}

#[derive(Clone)]
pub struct BridgeConfig {
    pub vote: VoterClient,
    pub token: String,
    /// Devices bridged at once (each ballot costs the vote service a proof verification).
    pub concurrency: usize,
    /// Wait before retrying a device whose last answer was "later".
    pub retry: Duration,
}

pub struct Bridge {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl Bridge {
    /// Starts bridging `inbox`; `wake` is notified by the collector whenever it keeps a message.
    pub fn start(config: BridgeConfig, inbox: Arc<Inbox>, wake: Arc<Notify>) -> Self {
        let (stop, stop_rx) = watch::channel(false);
        let task = tokio::spawn(run(config, inbox, wake, stop_rx).instrument(info_span!("bridge")));
        Self { stop, task }
    }

    pub async fn stop(self) {
        let _ = self.stop.send(true);
        let _ = self.task.await;
    }
}

async fn run(cfg: BridgeConfig, inbox: Arc<Inbox>, wake: Arc<Notify>, mut stop: watch::Receiver<bool>) {
    let limit = Arc::new(tokio::sync::Semaphore::new(cfg.concurrency.max(1)));
    loop {
        let behind = match inbox.unbridged() {
            Ok(b) => b,
            Err(e) => {
                warn!(error = %e, "reading the inbox failed");
                Vec::new()
            }
        };
        let mut tasks = tokio::task::JoinSet::new();
        for (device, done, last) in behind {
            let (cfg, inbox, limit) = (cfg.clone(), inbox.clone(), limit.clone());
            tasks.spawn(async move {
                let _permit = limit.acquire_owned().await;
                drain(&cfg, &inbox, &device, done, last).await
            });
        }
        let mut stalled = false;
        while let Some(r) = tasks.join_next().await {
            stalled |= !matches!(r, Ok(true));
        }
        let pause = if stalled { cfg.retry } else { Duration::from_secs(5) };
        tokio::select! {
            _ = wake.notified() , if !stalled => {}
            _ = tokio::time::sleep(pause) => {}
            _ = stop.changed() => return,
        }
    }
}

/// Bridges one device's messages `done+1..=last` in order; false if it had to stop early.
async fn drain(cfg: &BridgeConfig, inbox: &Inbox, device: &str, done: u64, last: u64) -> bool {
    for seq in done + 1..=last {
        let env = match inbox.message(device, seq) {
            Ok(Some(env)) => env,
            other => {
                warn!(device, seq, result = ?other.err(), "a held message is missing from the inbox");
                return false;
            }
        };
        let outcome = submit(cfg, &env).await;
        let rejected = match &outcome {
            Outcome::Done => None,
            Outcome::Rejected(reason) => {
                warn!(device, seq, reason, "the vote service refused this booth ballot for good");
                Some(reason.as_str())
            }
            Outcome::Later(reason) => {
                tracing::debug!(device, seq, reason, "booth ballot not bridged yet");
                return false;
            }
        };
        if let Err(e) = inbox.mark_bridged(device, seq, rejected) {
            warn!(device, seq, error = %e, "recording bridge progress failed; the ballot will be resubmitted");
            return false;
        }
    }
    true
}

async fn submit(cfg: &BridgeConfig, env: &Envelope) -> Outcome {
    if env.kind != "ballot" {
        return Outcome::Done;
    }
    let ballot = match serde_json::from_value(env.body["ballot"].clone()) {
        Ok(b) => b,
        Err(e) => return Outcome::Rejected(format!("malformed ballot: {e}")),
    };
    let req = BoothBallot { device: env.device.clone(), seq: env.seq, ballot };
    outcome(cfg.vote.submit_booth(&cfg.token, &req).await.err().as_ref())
}

/// Waits until the bridge has nothing left (for a close: every held ballot recorded or refused).
pub async fn drained(inbox: &Inbox, timeout: Duration) -> Result<bool> {
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if inbox.bridge_backlog()? == 0 {
            return Ok(true);
        }
        if tokio::time::Instant::now() >= deadline {
            return Ok(false);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16, code: &str) -> ClientError {
        ClientError::Api { status, code: code.into(), message: String::new(), field: None, partition: None }
    }

    #[test]
    fn only_ballot_faults_drop_a_ballot() {
        assert_eq!(outcome(None), Outcome::Done);
        for code in ["invalid_ballot", "unknown_device", "wrong_ballot_style", "sequence_reused", "election_closed"] {
            assert_eq!(outcome(Some(&api(422, code))), Outcome::Rejected(code.into()), "{code}");
        }
        for code in ["not_admitted", "unavailable", "rate_limited", "unauthorized", "bridge_disabled", "booth_disabled"]
        {
            assert_eq!(outcome(Some(&api(409, code))), Outcome::Later(code.into()), "{code}");
        }
        assert!(matches!(outcome(Some(&ClientError::Transport("refused".into()))), Outcome::Later(_)));
    }
}
