//! The two-stage pipeline between the HTTP handlers and the log.
//!
//! Stage 1 (a tokio task) forms batches: it waits for one item, then takes whatever else arrives within
//! `batch_wait` up to `batch_max` items, and (with `verify_proofs`) verifies the batch's proofs with one
//! `BallotCodec::verify_contests` call on the blocking pool (the batch verifier itself spreads over rayon).
//! Under load, items pile up while a batch is being verified, so the next batch is larger and the cost per
//! proof falls: throughput grows with load instead of latency.
//!
//! Stage 2 (one OS thread, because redb commits block on fsync) owns the [`Ledger`]: it decides duplicates
//! and conflicts against the log, appends, commits, and only then answers each item. While it commits one
//! batch, stage 1 already verifies the next.
//!
//! Sealing travels through both stages like an item, so the sealed totals cover exactly the items ordered
//! before the seal and refuse every item after it.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot};
use tracing::{Instrument, debug, error, info_span};
use urna_ballot::EncryptedContest;

use crate::ledger::{Ledger, Outcome, Pending, RejectKind};
use crate::state::Shared;
use crate::wire::TotalsRecord;

pub(crate) type SealReply = oneshot::Sender<Result<TotalsRecord, String>>;

pub(crate) enum Msg {
    // Boxed: a job carries a whole contest, a seal only a channel; the queue holds thousands of them.
    Submit(Box<Job>),
    Seal(SealReply),
}

pub(crate) struct Job {
    pub pending: Pending,
    pub reply: oneshot::Sender<Reply>,
}

#[derive(Debug)]
pub(crate) enum Reply {
    Outcome(Outcome),
    /// The shard cannot record anything (a failed commit); the client should retry elsewhere or later.
    Unavailable(String),
}

pub(crate) enum Stage2 {
    Batch(Vec<Job>),
    Seal(SealReply),
}

pub(crate) async fn verify_stage(
    mut rx: mpsc::Receiver<Msg>,
    tx: mpsc::Sender<Stage2>,
    shared: Arc<Shared>,
    batch_max: usize,
    batch_wait: Duration,
) {
    let batch_max = batch_max.max(1);
    while let Some(first) = rx.recv().await {
        let mut jobs = Vec::new();
        let mut seal = None;
        match first {
            Msg::Submit(j) => jobs.push(*j),
            Msg::Seal(r) => seal = Some(r),
        }
        if seal.is_none() {
            let deadline = tokio::time::Instant::now() + batch_wait;
            while jobs.len() < batch_max {
                // `timeout_at` polls the channel before the timer, so queued items are taken even once the
                // deadline has passed.
                match tokio::time::timeout_at(deadline, rx.recv()).await {
                    Ok(Some(Msg::Submit(j))) => jobs.push(*j),
                    Ok(Some(Msg::Seal(r))) => {
                        seal = Some(r);
                        break;
                    }
                    Ok(None) | Err(_) => break,
                }
            }
        }
        if !jobs.is_empty() {
            let span = info_span!("batch", size = jobs.len());
            let Some(jobs) = verify(jobs, &shared).instrument(span).await else {
                continue;
            };
            if tx.send(Stage2::Batch(jobs)).await.is_err() {
                break;
            }
        }
        if let Some(r) = seal
            && tx.send(Stage2::Seal(r)).await.is_err()
        {
            break;
        }
    }
}

/// With [`crate::ShardConfig::verify_proofs`], verifies every item that still needs it: not already
/// rejected, not already in the log (an identical resubmission was verified when first accepted; a
/// conflicting one is refused by stage 2 without a proof check), and not arriving at a sealed shard.
async fn verify(mut jobs: Vec<Job>, shared: &Arc<Shared>) -> Option<Vec<Job>> {
    let size = jobs.len();
    if !shared.config.verify_proofs {
        shared.metrics.batch_size.observe(size as f64);
        return Some(jobs);
    }
    let shared2 = Arc::clone(shared);
    let joined = tokio::task::spawn_blocking(move || {
        let shared = shared2;
        let sealed = shared.is_sealed();
        let keys: Vec<(String, String)> =
            jobs.iter().map(|j| (j.pending.anon_id.to_hex(), j.pending.contest.contest_id.clone())).collect();
        // A failed read only costs extra verification; stage 2 decides against the log itself.
        let known = shared.store.dedup_lookup(&keys).unwrap_or_else(|_| vec![None; keys.len()]);
        let todo: Vec<usize> =
            (0..jobs.len()).filter(|&i| !sealed && jobs[i].pending.verdict.is_ok() && known[i].is_none()).collect();
        let started = Instant::now();
        let results = {
            let items: Vec<(&str, &EncryptedContest)> =
                todo.iter().map(|&i| (jobs[i].pending.ballot_style.as_str(), &jobs[i].pending.contest)).collect();
            if items.is_empty() { Vec::new() } else { shared.codec.verify_contests(&items, &mut urna_crypto::os_rng()) }
        };
        let elapsed = started.elapsed();
        let verified = todo.len();
        for (i, r) in todo.into_iter().zip(results) {
            if let Err(e) = r {
                jobs[i].pending.verdict = Err((RejectKind::Proof, e.to_string()));
            }
        }
        (jobs, elapsed, verified)
    })
    .await;
    match joined {
        Ok((jobs, elapsed, verified)) => {
            shared.metrics.batch_size.observe(size as f64);
            if verified > 0 {
                shared.metrics.verify_seconds.observe(elapsed.as_secs_f64());
            }
            debug!(verified, ms = elapsed.as_millis() as u64, "batch verified");
            Some(jobs)
        }
        // The jobs (and their reply channels) are gone with the panicked task: their handlers answer 503.
        Err(e) => {
            error!(error = %e, "batch verification panicked");
            None
        }
    }
}

/// Stage 2: the only code that writes the log.
pub(crate) fn commit_stage(mut rx: mpsc::Receiver<Stage2>, mut ledger: Ledger, shared: Arc<Shared>) {
    let mut failure: Option<String> = None;
    while let Some(msg) = rx.blocking_recv() {
        match msg {
            Stage2::Batch(jobs) => {
                let _span = info_span!("commit", size = jobs.len()).entered();
                if let Some(f) = &failure {
                    for j in jobs {
                        let _ = j.reply.send(Reply::Unavailable(f.clone()));
                    }
                    continue;
                }
                let (pending, replies): (Vec<_>, Vec<_>) = jobs.into_iter().map(|j| (j.pending, j.reply)).unzip();
                match ledger.append(pending) {
                    Ok((outcomes, stats)) => {
                        if let Some(d) = stats.commit {
                            shared.metrics.commit_seconds.observe(d.as_secs_f64());
                        }
                        shared.publish(&ledger);
                        for (reply, outcome) in replies.into_iter().zip(outcomes) {
                            match &outcome {
                                Outcome::Accepted { .. } => {
                                    shared.metrics.accepted.inc();
                                }
                                Outcome::Duplicate { .. } => {
                                    shared.metrics.duplicates.inc();
                                }
                                Outcome::Rejected { kind, .. } => shared.metrics.reject(kind.label()),
                            }
                            // A client that went away still had its item decided; nothing to undo.
                            let _ = reply.send(Reply::Outcome(outcome));
                        }
                    }
                    Err(e) => {
                        // The batch may or may not be on disk; only a restart (which re-derives everything
                        // from the log) can tell, so stop accepting. Clients retry; resubmission is idempotent.
                        error!(error = %e, "log commit failed; the shard stops accepting until restarted");
                        let f = e.to_string();
                        shared.fail(&f);
                        for reply in replies {
                            let _ = reply.send(Reply::Unavailable(f.clone()));
                        }
                        failure = Some(f);
                    }
                }
            }
            Stage2::Seal(reply) => {
                if let Some(f) = &failure {
                    let _ = reply.send(Err(f.clone()));
                    continue;
                }
                match ledger.seal(jiff::Timestamp::now()) {
                    Ok(record) => {
                        shared.publish(&ledger);
                        tracing::info!(sequence = record.log_head.sequence, digest = %hex::encode(record.totals_digest), "shard sealed");
                        let _ = reply.send(Ok(record));
                    }
                    Err(e) => {
                        error!(error = %e, "sealing failed; the shard stops accepting until restarted");
                        let f = e.to_string();
                        shared.fail(&f);
                        let _ = reply.send(Err(f.clone()));
                        failure = Some(f);
                    }
                }
            }
        }
    }
}
