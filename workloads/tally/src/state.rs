//! What the HTTP handlers and the pipeline stages of one shard share: its configuration and identity, the
//! codec and store, the metrics, and the snapshot of the log the writer publishes after every commit.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use urna_ballot::BallotCodec;

use crate::ledger::Ledger;
use crate::metrics::Metrics;
use crate::record::ShardIdentity;
use crate::shard::ShardConfig;
use crate::store::Store;
use crate::wire::{LogHead, ShardStatus, TotalsRecord};

/// What handlers and pipeline stages share.
pub(crate) struct Shared {
    pub config: ShardConfig,
    pub identity: ShardIdentity,
    pub codec: Arc<BallotCodec>,
    pub store: Arc<Store>,
    pub metrics: Metrics,
    sealed: AtomicBool,
    /// Items that did not even decode since this process started (they never reach the log writer, so the
    /// stored rejection counter cannot count them).
    malformed: AtomicU64,
    snapshot: Mutex<Snapshot>,
}

/// The state the read endpoints show, published by the writer after every commit.
#[derive(Clone)]
struct Snapshot {
    head: LogHead,
    totals_digest: [u8; 32],
    accepted: u64,
    rejected: u64,
    duplicates: u64,
    totals: TotalsRecord,
    failure: Option<String>,
}

impl Shared {
    /// The shared state of a shard whose ledger was just recovered, its snapshot published from it.
    pub fn new(
        config: ShardConfig,
        identity: ShardIdentity,
        codec: BallotCodec,
        store: Arc<Store>,
        ledger: &Ledger,
    ) -> Self {
        let snapshot = Snapshot {
            head: ledger.head(),
            totals_digest: ledger.totals_digest(),
            accepted: 0,
            rejected: 0,
            duplicates: 0,
            totals: ledger.totals_record(),
            failure: None,
        };
        let shared = Self {
            config,
            identity,
            codec: Arc::new(codec),
            store,
            metrics: Metrics::new(),
            sealed: AtomicBool::new(false),
            malformed: AtomicU64::new(0),
            snapshot: Mutex::new(snapshot),
        };
        shared.publish(ledger);
        shared
    }

    fn lock(&self) -> MutexGuard<'_, Snapshot> {
        // The snapshot is replaced whole; a panic elsewhere cannot leave it half-written.
        self.snapshot.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn is_sealed(&self) -> bool {
        self.sealed.load(Ordering::Acquire)
    }

    pub fn failure(&self) -> Option<String> {
        self.lock().failure.clone()
    }

    pub fn publish(&self, ledger: &Ledger) {
        let (accepted, rejected, duplicates) = ledger.counts();
        let totals = ledger.totals_record();
        let sealed = totals.sealed;
        {
            let mut s = self.lock();
            s.head = ledger.head();
            s.totals_digest = ledger.totals_digest();
            s.accepted = accepted;
            s.rejected = rejected;
            s.duplicates = duplicates;
            s.totals = totals;
        }
        self.metrics.log_sequence.set(i64::try_from(accepted).unwrap_or(i64::MAX));
        if sealed {
            self.sealed.store(true, Ordering::Release);
            self.metrics.sealed.set(1);
        }
    }

    pub fn count_malformed(&self) {
        self.malformed.fetch_add(1, Ordering::Relaxed);
        self.metrics.reject(crate::ledger::RejectKind::Malformed.label());
    }

    pub fn fail(&self, reason: &str) {
        self.lock().failure = Some(reason.to_owned());
    }

    pub fn totals(&self) -> TotalsRecord {
        self.lock().totals.clone()
    }

    pub fn status(&self) -> ShardStatus {
        let s = self.lock().clone();
        ShardStatus {
            shard: self.identity.shard.clone(),
            election_id: self.identity.election_id.clone(),
            manifest_hash: self.identity.manifest_hash,
            public_key_fingerprint: self.identity.public_key_fingerprint,
            districts: self.identity.districts.clone(),
            modality: self.identity.modality,
            accepted: s.accepted,
            rejected: s.rejected + self.malformed.load(Ordering::Relaxed),
            duplicates: s.duplicates,
            log_head: s.head,
            totals_digest: s.totals_digest,
            sealed: s.totals.sealed,
            sealed_at: s.totals.sealed_at,
            window: self.config.window().status(jiff::Timestamp::now(), s.totals.sealed),
            failure: s.failure,
        }
    }
}
