//! Micro-batched verification and group commit of submitted ballots.
//!
//! Verifying a ballot alone costs about one and a half raw exponentiations per contest whatever its size,
//! because the batch verifier's single `^n` exponentiation dominates; verified together, N ballots share
//! that exponentiation (docs/performance.md). So the ballot box hands every ballot that passed the cheap
//! checks (partition, signature, prepared message) to one intake thread, which:
//!
//! 1. waits for a first ballot, then takes whatever else arrives within [`Batching::wait`] (a few ms), up
//!    to [`Batching::max`] ballots; under load ballots pile up while a batch is verified, so the next batch
//!    is larger and the cost per ballot falls instead of the latency growing;
//! 2. verifies every proof of every ballot of the batch in one [`BallotCodec::verify_ballots`] call: when
//!    the batch equation fails the verifier bisects down to the failing proofs, so a bad ballot is refused
//!    alone with its reason and the honest ballots of its batch are accepted;
//! 3. records the verified ballots in one store transaction ([`BallotStore::record_batch`]): one fsync per
//!    batch, and no submitter is answered before that commit returned.
//!
//! The thread is the only place ballots are verified and recorded, so there is no lock around either; it
//! ends when the ballot box is dropped (its channel closes).

use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::Instant;

use tokio::sync::{Semaphore, oneshot};
use urna_ballot::BallotCodec;

use crate::ballot_box::invalid;
use crate::ballots::{BallotStore, Recorded};
use crate::config::Batching;
use crate::error::{ApiError, VoteError};
use crate::metrics::Metrics;
use crate::wire::BallotPackage;
use urna_ballot::AnonId;

/// Ballots queued at most, per batch the intake may take at once: beyond this, submitters wait before
/// queueing (backpressure on the HTTP handlers, not an unbounded queue).
const QUEUE_BATCHES: usize = 4;

struct Job {
    package: Arc<BallotPackage>,
    sig_key: [u8; 32],
    anon: AnonId,
    reply: oneshot::Sender<Result<Recorded, ApiError>>,
}

pub(crate) struct Intake {
    /// `None` only while dropping: closing the channel ends the thread.
    tx: Option<Sender<Job>>,
    room: Arc<Semaphore>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Intake {
    /// Waits for the thread to finish its batch and release the ballot store: a service dropped and opened
    /// again on the same directory must find the database closed (redb refuses a second open).
    fn drop(&mut self) {
        drop(self.tx.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Intake {
    /// Starts the intake thread.
    pub(crate) fn start(
        codec: Arc<BallotCodec>,
        store: Arc<BallotStore>,
        metrics: Arc<Metrics>,
        batching: Batching,
    ) -> Result<Self, VoteError> {
        let (tx, rx) = std::sync::mpsc::channel();
        let batching = Batching { max: batching.max.max(1), wait: batching.wait };
        let thread = std::thread::Builder::new()
            .name("ballot-intake".into())
            .spawn(move || run(&rx, &codec, &store, &metrics, batching))?;
        Ok(Self { tx: Some(tx), room: Arc::new(Semaphore::new(batching.max * QUEUE_BATCHES)), thread: Some(thread) })
    }

    /// Verifies and records one ballot with whatever else is submitted meanwhile. `invalid_ballot` (422)
    /// names the ballot's failing contest; every other outcome is the store's.
    pub(crate) async fn submit(
        &self,
        package: Arc<BallotPackage>,
        sig_key: [u8; 32],
        anon: AnonId,
    ) -> Result<Recorded, ApiError> {
        let _room = self.room.clone().acquire_owned().await.map_err(|_| ApiError::internal())?;
        let (reply, answer) = oneshot::channel();
        let tx = self.tx.as_ref().ok_or_else(ApiError::internal)?;
        tx.send(Job { package, sig_key, anon, reply }).map_err(|_| ApiError::internal())?;
        answer.await.map_err(|_| ApiError::internal())?
    }
}

fn run(rx: &Receiver<Job>, codec: &BallotCodec, store: &BallotStore, metrics: &Metrics, batching: Batching) {
    while let Ok(first) = rx.recv() {
        let mut jobs = vec![first];
        let deadline = Instant::now() + batching.wait;
        while jobs.len() < batching.max {
            // Past the deadline, still take what is already queued: it costs no wait.
            let next = match deadline.checked_duration_since(Instant::now()) {
                Some(left) => rx.recv_timeout(left),
                None => rx.try_recv().map_err(|_| RecvTimeoutError::Timeout),
            };
            match next {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }
        metrics.intake_batch_size.observe(jobs.len() as f64);
        let verdicts = verify(codec, &jobs);
        let outcomes = record(store, &jobs, &verdicts);
        for (job, outcome) in jobs.into_iter().zip(outcomes) {
            // A submitter that went away still had its ballot decided: it can ask for the receipt.
            let _ = job.reply.send(outcome);
        }
    }
}

fn verify(codec: &BallotCodec, jobs: &[Job]) -> Vec<Result<(), ApiError>> {
    let ballots: Vec<&urna_ballot::EncryptedBallot> = jobs.iter().map(|j| &j.package.ballot).collect();
    codec
        .verify_ballots(&ballots, &mut urna_crypto::os_rng())
        .into_iter()
        .map(|r| r.map_err(|e| invalid("invalid_ballot", "ballot", e.to_string())))
        .collect()
}

/// Records the verified ballots of a batch in one commit; the refused keep their verdict.
fn record(store: &BallotStore, jobs: &[Job], verdicts: &[Result<(), ApiError>]) -> Vec<Result<Recorded, ApiError>> {
    let valid: Vec<(&[u8; 32], AnonId, &BallotPackage)> = jobs
        .iter()
        .zip(verdicts)
        .filter(|(_, v)| v.is_ok())
        .map(|(j, _)| (&j.sig_key, j.anon, j.package.as_ref()))
        .collect();
    let mut recorded =
        if valid.is_empty() { Ok(Vec::new().into_iter()) } else { store.record_batch(&valid).map(Vec::into_iter) };
    verdicts
        .iter()
        .map(|v| match (v, &mut recorded) {
            (Err(e), _) => Err(e.clone()),
            (Ok(()), Ok(outcomes)) => outcomes.next().ok_or_else(ApiError::internal),
            (Ok(()), Err(e)) => {
                tracing::error!(error = %e, "recording a batch of ballots failed; none of it is acknowledged");
                Err(ApiError::internal())
            }
        })
        .collect()
}
