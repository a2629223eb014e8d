//! The log's single writer: buffers ballot appends into batches, shuffles each batch, commits it durably,
//! signs checkpoints, and only then answers each append with its leaf index.
//!
//! Why batches are shuffled: leaf order would otherwise be arrival order, and arrival order joined with a
//! voter's visible moment of voting (a booth, a timestamped request) would link the voter to a ballot id.
//! Inside a batch the order is a uniform permutation drawn from a CSPRNG freshly seeded from the OS, so the
//! log reveals only which batch a ballot arrived in. A batch closes when it holds `batch_size` ballots, or
//! `batch_wait` after its first ballot, or when the checkpoint timer fires; larger batches and longer
//! waits hide more and answer later. Events (open, close, actas...) are not shuffled: their order is part of
//! the record. An event closes the pending ballot batch and is appended right after it.
//!
//! Checkpoints are signed in the same transaction as: every full batch, every event, the checkpoint timer
//! (when the size changed since the last checkpoint) and close (the final one, marked `closed`).

use std::sync::Arc;
use std::sync::mpsc::{Receiver, RecvTimeoutError, SyncSender, TrySendError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use rand::SeedableRng;
use rand::seq::SliceRandom;
use tokio::sync::oneshot;

use crate::entry::LogEntry;
use crate::key::LogKey;
use crate::metrics::{EntryLabels, EntryType, Metrics};
use crate::store::{CheckpointRequest, Store, StoreError, StoredCheckpoint};

#[derive(Debug, Clone)]
pub struct LogConfig {
    /// The log's name, signed into every checkpoint (C2SP origin).
    pub origin: String,
    /// Ballots per batch; a full batch is committed, shuffled, and checkpointed at once.
    pub batch_size: usize,
    /// The longest a partial batch waits for more ballots before it is committed.
    pub batch_wait: Duration,
    /// How often a checkpoint is signed when the log grew since the last one.
    pub checkpoint_interval: Duration,
    /// Appends waiting for the writer beyond this are refused (HTTP 503) instead of queueing unboundedly.
    pub queue_capacity: usize,
    /// The witnesses whose cosignatures the log keeps; empty: any witness's, up to
    /// [`crate::server::MAX_COSIGNATURES`] per checkpoint.
    pub witnesses: Vec<crate::witness::TrustedWitness>,
}

impl LogConfig {
    pub fn new(origin: impl Into<String>) -> Self {
        Self {
            origin: origin.into(),
            batch_size: 64,
            batch_wait: Duration::from_secs(1),
            checkpoint_interval: Duration::from_secs(30),
            queue_capacity: 65_536,
            witnesses: Vec::new(),
        }
    }
}

#[derive(Debug, Clone, thiserror::Error)]
pub enum AppendError {
    #[error("the log is closed; it accepts no more entries")]
    Closed,
    #[error("the log's append queue is full; retry later")]
    Busy,
    #[error("the log writer has stopped")]
    Stopped,
    #[error("storage failed: {0}")]
    Storage(String),
}

type Reply<T> = oneshot::Sender<Result<T, AppendError>>;

enum Request {
    Append { entry: LogEntry, reply: Reply<u64> },
    Close { reply: Reply<StoredCheckpoint> },
}

/// A handle to the writer thread; cloning it is cheap. The thread ends (after committing what it holds)
/// when every handle is dropped.
#[derive(Clone)]
pub struct Sequencer {
    tx: SyncSender<Request>,
}

impl std::fmt::Debug for Sequencer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sequencer").finish_non_exhaustive()
    }
}

fn unix_now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

impl Sequencer {
    /// Starts the writer. Before accepting anything it makes sure the latest checkpoint covers the whole
    /// stored log (signing one if a crash came between a commit and its checkpoint, or if the log is new).
    pub fn start(
        store: Arc<Store>,
        key: Arc<LogKey>,
        config: LogConfig,
        metrics: Arc<Metrics>,
    ) -> Result<(Self, JoinHandle<()>), StoreError> {
        let snap = store.snapshot()?;
        let latest = snap.latest_checkpoint()?;
        let (size, closed) = (snap.size(), snap.closed());
        drop(snap);
        let checkpointed_size = match latest {
            Some(cp) if cp.checkpoint.size == size => size,
            _ if closed => size,
            _ => {
                let req = CheckpointRequest { key: &key, origin: &config.origin, timestamp: unix_now(), close: false };
                store.commit(&[], Some(req))?;
                metrics.checkpoints.inc();
                size
            }
        };
        metrics.tree_size.set(i64::try_from(size).unwrap_or(i64::MAX));
        let (tx, rx) = std::sync::mpsc::sync_channel(config.queue_capacity.max(1));
        let worker = Worker {
            next_checkpoint: Instant::now() + config.checkpoint_interval,
            store,
            key,
            config,
            metrics,
            rx,
            pending: Vec::new(),
            batch_deadline: None,
            checkpointed_size,
            closed,
        };
        let handle = std::thread::Builder::new()
            .name("audit-sequencer".into())
            .spawn(move || worker.run())
            .map_err(|e| StoreError::Corrupt(format!("cannot start the writer thread: {e}")))?;
        Ok((Self { tx }, handle))
    }

    fn send(&self, req: Request) -> Result<(), AppendError> {
        self.tx.try_send(req).map_err(|e| match e {
            TrySendError::Full(_) => AppendError::Busy,
            TrySendError::Disconnected(_) => AppendError::Stopped,
        })
    }

    /// Queues an entry; the returned receiver yields its leaf index once it is durable.
    pub fn submit(&self, entry: LogEntry) -> Result<oneshot::Receiver<Result<u64, AppendError>>, AppendError> {
        let (reply, rx) = oneshot::channel();
        self.send(Request::Append { entry, reply })?;
        Ok(rx)
    }

    pub async fn append(&self, entry: LogEntry) -> Result<u64, AppendError> {
        self.submit(entry)?.await.map_err(|_| AppendError::Stopped)?
    }

    /// Commits everything pending, signs the final checkpoint and refuses appends from then on. Closing a
    /// closed log returns its final checkpoint again.
    pub async fn close(&self) -> Result<StoredCheckpoint, AppendError> {
        let (reply, rx) = oneshot::channel();
        self.send(Request::Close { reply })?;
        rx.await.map_err(|_| AppendError::Stopped)?
    }
}

struct Worker {
    store: Arc<Store>,
    key: Arc<LogKey>,
    config: LogConfig,
    metrics: Arc<Metrics>,
    rx: Receiver<Request>,
    pending: Vec<(LogEntry, Reply<u64>)>,
    batch_deadline: Option<Instant>,
    next_checkpoint: Instant,
    checkpointed_size: u64,
    closed: bool,
}

impl Worker {
    fn run(mut self) {
        loop {
            let deadline = self.batch_deadline.map_or(self.next_checkpoint, |d| d.min(self.next_checkpoint));
            match self.rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                Ok(req) => self.handle(req),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => {
                    // Commit what was accepted; nobody waits for the answers any more, but a client that
                    // retries will find its entries.
                    self.flush(None, false, false);
                    return;
                }
            }
            let now = Instant::now();
            if now >= self.next_checkpoint {
                self.next_checkpoint = now + self.config.checkpoint_interval;
                self.flush(None, true, false);
            } else if self.batch_deadline.is_some_and(|d| now >= d) {
                self.flush(None, false, false);
            }
        }
    }

    fn handle(&mut self, req: Request) {
        match req {
            Request::Append { reply, .. } if self.closed => {
                let _ = reply.send(Err(AppendError::Closed));
            }
            Request::Append { entry: entry @ LogEntry::Ballot { .. }, reply } => {
                if self.pending.is_empty() {
                    self.batch_deadline = Some(Instant::now() + self.config.batch_wait);
                }
                self.pending.push((entry, reply));
                if self.pending.len() >= self.config.batch_size {
                    self.flush(None, true, false);
                }
            }
            Request::Append { entry, reply } => {
                self.flush(Some((entry, reply)), true, false);
            }
            Request::Close { reply } => {
                let result = if self.closed {
                    self.store
                        .snapshot()
                        .and_then(|s| s.latest_checkpoint())
                        .map_err(|e| AppendError::Storage(e.to_string()))
                        .and_then(|cp| cp.ok_or_else(|| AppendError::Storage("no checkpoint".into())))
                } else {
                    self.flush(None, true, true).ok_or_else(|| AppendError::Storage("close failed".into()))
                };
                let _ = reply.send(result);
            }
        }
    }

    /// Commits the pending ballots (shuffled), then `event` if any, signing a checkpoint if `sign` (and
    /// there is something new to sign, or `close`). Answers every waiting append.
    fn flush(&mut self, event: Option<(LogEntry, Reply<u64>)>, sign: bool, close: bool) -> Option<StoredCheckpoint> {
        self.batch_deadline = None;
        let mut batch = std::mem::take(&mut self.pending);
        if let Err(e) = shuffle(&mut batch) {
            // Committing in arrival order would leak it; refuse the batch instead.
            tracing::error!(error = %e, "OS random number generator failed; batch refused");
            for (_, reply) in batch {
                let _ = reply.send(Err(AppendError::Storage("no randomness for the batch shuffle".into())));
            }
            if let Some((_, reply)) = event {
                let _ = reply.send(Err(AppendError::Storage("no randomness for the batch shuffle".into())));
            }
            return None;
        }
        batch.extend(event);
        let grew = !batch.is_empty();
        let sign = close || (sign && (grew || self.store_size() != Some(self.checkpointed_size)));
        if !grew && !sign {
            return None;
        }
        let entries: Vec<LogEntry> = batch.iter().map(|(e, _)| e.clone()).collect();
        let req = sign.then(|| CheckpointRequest {
            key: &self.key,
            origin: &self.config.origin,
            timestamp: unix_now(),
            close,
        });
        let span = tracing::info_span!("commit", entries = entries.len(), sign, close);
        let _guard = span.enter();
        match self.store.commit(&entries, req) {
            Ok(commit) => {
                let mut checkpoint = commit.checkpoint;
                if let Some(cp) = &mut checkpoint {
                    self.checkpointed_size = cp.checkpoint.size;
                    self.metrics.checkpoints.inc();
                    tracing::info!(size = cp.checkpoint.size, closed = cp.checkpoint.closed, "checkpoint signed");
                }
                let new = commit.appended;
                for ((entry, reply), index) in batch.into_iter().zip(commit.indices) {
                    let r#type = if entry.is_ballot() { EntryType::Ballot } else { EntryType::Event };
                    if index + (new as u64) < commit.size {
                        // Its index lies before this commit's new leaves: it was already in the log.
                        self.metrics.duplicates.inc();
                    } else {
                        self.metrics.entries.get_or_create(&EntryLabels { r#type }).inc();
                    }
                    let _ = reply.send(Ok(index));
                }
                self.metrics.batch_size.observe(entries.len() as f64);
                self.metrics.tree_size.set(i64::try_from(commit.size).unwrap_or(i64::MAX));
                if close {
                    self.closed = true;
                }
                checkpoint
            }
            Err(e) => {
                let err = match e {
                    StoreError::Closed => {
                        self.closed = true;
                        AppendError::Closed
                    }
                    e => {
                        tracing::error!(error = %e, "commit failed; batch not acknowledged");
                        AppendError::Storage(e.to_string())
                    }
                };
                for (_, reply) in batch {
                    let _ = reply.send(Err(err.clone()));
                }
                None
            }
        }
    }

    fn store_size(&self) -> Option<u64> {
        self.store.snapshot().ok().map(|s| s.size())
    }
}

/// Fisher-Yates with ChaCha12 seeded from the OS CSPRNG, fresh per batch.
fn shuffle<T>(batch: &mut [T]) -> Result<(), String> {
    if batch.len() < 2 {
        return Ok(());
    }
    let mut seed = zeroize::Zeroizing::new([0u8; 32]);
    rand::TryRng::try_fill_bytes(&mut rand::rngs::SysRng, seed.as_mut()).map_err(|e| e.to_string())?;
    let mut rng = rand::rngs::StdRng::from_seed(*seed);
    batch.shuffle(&mut rng);
    Ok(())
}
