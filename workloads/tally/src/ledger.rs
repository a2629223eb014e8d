//! The single writer: appends verified contests to the log, folds them into the totals in log order, and seals.
//!
//! Crash consistency. One redb write transaction per batch holds the batch's records, their de-duplication
//! entries, the new `head` (sequence, hash, digest of the totals at that head) and, every `checkpoint_every`
//! records, a `checkpoint` of the totals. It is committed with `Durability::Immediate` (fsync) before any item
//! of the batch is acknowledged. So after `kill -9` at any instant the file holds either all of a batch or none
//! of it, the checkpoint always equals the fold of the records up to its sequence, and the head digest always
//! equals the fold of the whole log. On start the totals are re-derived from the log (from the checkpoint on,
//! or from the first record with `verify_full`) and compared with the stored head and checkpoint; any
//! difference refuses the start.

use std::sync::Arc;
use std::time::{Duration, Instant};

use redb::{Durability, ReadableDatabase, ReadableTable, ReadableTableMetadata};
use serde::{Deserialize, Serialize};
use urna_ballot::{BallotCodec, EncryptedContest};
use urna_crypto::paillier::PublicKey;

use crate::error::{Result, TallyError, storage};
use crate::record::{LogRecord, ShardIdentity, record_hash};
use crate::store::{CIPHERTEXTS, DEDUP, META, META_CHECKPOINT, META_HEAD, META_IDENTITY, META_SEALED, RECORDS, Store};
use crate::totals::{ContestTotals, FoldError, Totals, max_ballots};
use crate::wire::{LogHead, TotalsRecord};
use urna_ballot::AnonId;

/// The stored `head`: rewritten by every commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct HeadRecord {
    sequence: u64,
    #[serde(with = "hex::serde")]
    hash: [u8; 32],
    #[serde(with = "hex::serde")]
    totals_digest: [u8; 32],
    rejected: u64,
    duplicates: u64,
}

/// The stored `checkpoint`: the totals after record `sequence`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct CheckpointRecord {
    sequence: u64,
    #[serde(with = "hex::serde")]
    hash: [u8; 32],
    totals: Vec<ContestTotals>,
}

/// Why an item was not accepted; also the `reason` label of the rejection metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RejectKind {
    /// Not decodable, bad anonId, wrong shape.
    Malformed,
    /// Another election, modality, district or contest than this shard's.
    Scope,
    /// A validity proof failed.
    Proof,
    /// A different contest was already recorded under the same (anonId, contestId).
    Conflict,
    /// The shard is sealed or its window closed.
    Sealed,
    /// The contest already holds the most ballots its counter slots can count.
    Full,
    /// A ciphertext of the contest was already recorded (a copied ballot, docs/protocol.md §4.9).
    Copied,
}

impl RejectKind {
    pub fn label(self) -> &'static str {
        match self {
            Self::Malformed => "malformed",
            Self::Scope => "scope",
            Self::Proof => "proof",
            Self::Conflict => "conflict",
            Self::Sealed => "sealed",
            Self::Full => "full",
            Self::Copied => "copied",
        }
    }
}

/// An item on its way to the log, with the verdict of the checks done so far.
#[derive(Debug)]
pub struct Pending {
    pub anon_id: AnonId,
    pub ballot_style: String,
    pub contest: EncryptedContest,
    pub received_at: String,
    pub digest: [u8; 32],
    pub verdict: std::result::Result<(), (RejectKind, String)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Accepted { sequence: u64 },
    Duplicate { sequence: u64 },
    Rejected { kind: RejectKind, reason: String },
}

/// What a commit did, for metrics.
#[derive(Debug, Default, Clone, Copy)]
pub struct CommitStats {
    /// Time spent in `commit()` (the fsync when anything was appended).
    pub commit: Option<Duration>,
}

/// What start-up recovery did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recovery {
    /// Records re-folded.
    pub replayed: u64,
    /// The sequence the replay started after (0 for a full replay).
    pub from: u64,
    pub sequence: u64,
}

pub struct Ledger {
    store: Arc<Store>,
    pk: PublicKey,
    identity: ShardIdentity,
    totals: Totals,
    head: HeadRecord,
    last_checkpoint: u64,
    checkpoint_every: u64,
    max_ballots: u64,
    sealed: Option<TotalsRecord>,
}

impl Ledger {
    /// Opens the shard's state: writes the identity into a fresh store or checks it against an existing one,
    /// then re-derives the totals from the log and checks them (see the module documentation).
    pub fn open(
        store: Arc<Store>,
        codec: &BallotCodec,
        identity: ShardIdentity,
        checkpoint_every: u64,
        verify_full: bool,
    ) -> Result<(Self, Recovery)> {
        match store.meta::<ShardIdentity>(META_IDENTITY)? {
            Some(stored) if stored != identity => {
                return Err(TallyError::IdentityMismatch(format!(
                    "stored for shard {:?} of election {:?} (manifest {}, key {}, districts {:?}, {}), started as shard {:?} of {:?} (manifest {}, key {}, districts {:?}, {})",
                    stored.shard,
                    stored.election_id,
                    hex::encode(&stored.manifest_hash[..8]),
                    hex::encode(&stored.public_key_fingerprint[..8]),
                    stored.districts,
                    stored.modality,
                    identity.shard,
                    identity.election_id,
                    hex::encode(&identity.manifest_hash[..8]),
                    hex::encode(&identity.public_key_fingerprint[..8]),
                    identity.districts,
                    identity.modality,
                )));
            }
            Some(_) => {}
            None => {
                let bytes = serde_json::to_vec(&identity).map_err(|e| TallyError::corrupt("identity", e))?;
                let txn = store.db().begin_write().map_err(storage("begin write"))?;
                {
                    let mut meta = txn.open_table(META).map_err(storage("meta table"))?;
                    meta.insert(META_IDENTITY, bytes.as_slice()).map_err(storage("writing identity"))?;
                }
                txn.commit().map_err(storage("commit identity"))?;
            }
        }
        let pk = codec.public_key().clone();
        let max_ballots = max_ballots(identity.slot_bits);
        let initial = Totals::initial(codec, &identity.districts)?;
        let genesis = identity.genesis();
        let head: Option<HeadRecord> = store.meta(META_HEAD)?;
        let checkpoint: Option<CheckpointRecord> = store.meta(META_CHECKPOINT)?;
        let sealed: Option<TotalsRecord> = store.meta(META_SEALED)?;

        let (from, mut hash, mut totals) = match (&checkpoint, verify_full) {
            (Some(cp), false) => (cp.sequence, cp.hash, Totals::from_wire(cp.totals.clone(), &pk, &initial)?),
            _ => (0, genesis, initial.clone()),
        };
        let mut sequence = from;
        let txn = store.db().begin_read().map_err(storage("begin read"))?;
        let records = txn.open_table(RECORDS).map_err(storage("records table"))?;
        let dedup = txn.open_table(DEDUP).map_err(storage("dedup table"))?;
        for row in records.range(from + 1..).map_err(storage("reading records"))? {
            let (k, v) = row.map_err(storage("reading records"))?;
            let key = k.value();
            if key != sequence + 1 {
                return Err(TallyError::Inconsistent(format!("record {} follows record {sequence}", key)));
            }
            let rec: LogRecord =
                serde_json::from_slice(v.value()).map_err(|e| TallyError::corrupt(format!("record {key}"), e))?;
            if rec.sequence != key {
                return Err(TallyError::Inconsistent(format!("record stored at {key} says sequence {}", rec.sequence)));
            }
            hash = rec.check(&hash).map_err(TallyError::Inconsistent)?;
            let digest = crate::record::contest_digest(&rec.ballot_style, &rec.contest);
            let entry = dedup
                .get((rec.anon_id.as_str(), rec.contest_id.as_str()))
                .map_err(storage("reading dedup"))?
                .map(|g| g.value());
            if entry != Some((key, digest)) {
                return Err(TallyError::Inconsistent(format!("record {key} has no matching de-duplication entry")));
            }
            totals
                .fold(&pk, &rec.ballot_style, &rec.contest, max_ballots)
                .map_err(|e| TallyError::Inconsistent(format!("record {key} does not fold: {e:?}")))?;
            sequence = key;
            if verify_full
                && let Some(cp) = &checkpoint
                && cp.sequence == key
                && (cp.hash != hash || Totals::from_wire(cp.totals.clone(), &pk, &initial)? != totals)
            {
                return Err(TallyError::Inconsistent(format!(
                    "the checkpoint at record {key} differs from the totals re-derived from the log"
                )));
            }
        }
        let count = records.len().map_err(storage("counting records"))?;
        let dedup_count = dedup.len().map_err(storage("counting dedup"))?;
        drop((records, dedup, txn));

        if let Some(cp) = &checkpoint
            && cp.sequence > sequence
        {
            return Err(TallyError::Inconsistent(format!(
                "checkpoint at {} beyond the log's end {sequence}",
                cp.sequence
            )));
        }
        if count != sequence || dedup_count != sequence {
            return Err(TallyError::Inconsistent(format!(
                "{count} records and {dedup_count} de-duplication entries for a log ending at {sequence}"
            )));
        }
        let digest = totals.digest(&identity, sequence, &hash);
        let head = match head {
            None if sequence == 0 => {
                HeadRecord { sequence: 0, hash, totals_digest: digest, rejected: 0, duplicates: 0 }
            }
            None => {
                return Err(TallyError::Inconsistent("records without a stored head".into()));
            }
            Some(h) => {
                if h.sequence != sequence || h.hash != hash {
                    return Err(TallyError::Inconsistent(format!(
                        "stored head is record {} ({}), the log ends at {sequence} ({})",
                        h.sequence,
                        hex::encode(h.hash),
                        hex::encode(hash)
                    )));
                }
                if h.totals_digest != digest {
                    return Err(TallyError::Inconsistent(format!(
                        "stored totals digest {} differs from the re-derived {}",
                        hex::encode(h.totals_digest),
                        hex::encode(digest)
                    )));
                }
                h
            }
        };
        if let Some(s) = &sealed
            && (s.log_head.sequence != sequence
                || s.log_head.hash != hash
                || s.totals_digest != digest
                || s.contests != totals.to_wire())
        {
            return Err(TallyError::Inconsistent(
                "the sealed totals differ from the totals re-derived from the log".into(),
            ));
        }
        let recovery = Recovery { replayed: sequence - from, from, sequence };
        let last_checkpoint = checkpoint.map_or(0, |c| c.sequence);
        Ok((
            Self {
                store,
                pk,
                identity,
                totals,
                head,
                last_checkpoint,
                checkpoint_every: checkpoint_every.max(1),
                max_ballots,
                sealed,
            },
            recovery,
        ))
    }

    pub fn identity(&self) -> &ShardIdentity {
        &self.identity
    }

    pub fn head(&self) -> LogHead {
        LogHead { sequence: self.head.sequence, hash: self.head.hash }
    }

    pub fn totals_digest(&self) -> [u8; 32] {
        self.head.totals_digest
    }

    pub fn counts(&self) -> (u64, u64, u64) {
        (self.head.sequence, self.head.rejected, self.head.duplicates)
    }

    pub fn sealed(&self) -> Option<&TotalsRecord> {
        self.sealed.as_ref()
    }

    /// The current totals as a (provisional unless sealed) totals record.
    pub fn totals_record(&self) -> TotalsRecord {
        if let Some(s) = &self.sealed {
            return s.clone();
        }
        self.record(None)
    }

    fn record(&self, sealed_at: Option<String>) -> TotalsRecord {
        TotalsRecord {
            shard: self.identity.shard.clone(),
            election_id: self.identity.election_id.clone(),
            manifest_hash: self.identity.manifest_hash,
            public_key_fingerprint: self.identity.public_key_fingerprint,
            districts: self.identity.districts.clone(),
            modality: self.identity.modality,
            sealed: sealed_at.is_some(),
            sealed_at,
            log_head: self.head(),
            totals_digest: self.head.totals_digest,
            contests: self.totals.to_wire(),
        }
    }

    /// Decides every item of a batch, appends the accepted ones and commits; nothing is changed in memory
    /// unless the commit succeeded. An `Err` means the store failed: the caller must stop accepting.
    pub fn append(&mut self, batch: Vec<Pending>) -> Result<(Vec<Outcome>, CommitStats)> {
        if let Some(s) = &self.sealed {
            let reason = format!("the shard was sealed at {}", s.sealed_at.as_deref().unwrap_or("?"));
            let outcomes =
                batch.iter().map(|_| Outcome::Rejected { kind: RejectKind::Sealed, reason: reason.clone() }).collect();
            return Ok((outcomes, CommitStats::default()));
        }
        let mut totals = self.totals.clone();
        let mut head = self.head.clone();
        let mut outcomes = Vec::with_capacity(batch.len());
        let mut txn = self.store.db().begin_write().map_err(storage("begin write"))?;
        {
            let mut records = txn.open_table(RECORDS).map_err(storage("records table"))?;
            let mut dedup = txn.open_table(DEDUP).map_err(storage("dedup table"))?;
            let mut meta = txn.open_table(META).map_err(storage("meta table"))?;
            let mut weeds = txn.open_table(CIPHERTEXTS).map_err(storage("ciphertexts table"))?;
            for p in batch {
                let anon_hex = p.anon_id.to_hex();
                // Reads inside the write transaction see this batch's own inserts, so two copies of one
                // contest in a batch become one record and one duplicate.
                let existing = dedup
                    .get((anon_hex.as_str(), p.contest.contest_id.as_str()))
                    .map_err(storage("reading dedup"))?
                    .map(|g| g.value());
                let outcome = match (existing, p.verdict.clone()) {
                    (Some((sequence, digest)), _) if digest == p.digest => Outcome::Duplicate { sequence },
                    (Some((sequence, _)), _) => Outcome::Rejected {
                        kind: RejectKind::Conflict,
                        reason: format!(
                            "a different contest {} was already recorded for this anonId (sequence {sequence})",
                            p.contest.contest_id
                        ),
                    },
                    (None, Err((kind, reason))) => Outcome::Rejected { kind, reason },
                    // Weeding first: a copy must not reach the totals.
                    (None, Ok(())) => match copied(&weeds, &p)?.map_or_else(
                        || {
                            totals
                                .fold(&self.pk, &p.ballot_style, &p.contest, self.max_ballots)
                                .map_err(|e| (fold_kind(&e), fold_reason(&e, &p)))
                        },
                        |reason| Err((RejectKind::Copied, reason)),
                    ) {
                        Err((kind, reason)) => Outcome::Rejected { kind, reason },
                        Ok(()) => {
                            let sequence = head.sequence + 1;
                            let hash = record_hash(&head.hash, sequence, &p.anon_id, &p.received_at, &p.digest);
                            let rec = LogRecord {
                                sequence,
                                anon_id: anon_hex.clone(),
                                contest_id: p.contest.contest_id.clone(),
                                ballot_style: p.ballot_style,
                                received_at: p.received_at,
                                contest: p.contest,
                                hash,
                            };
                            let bytes = serde_json::to_vec(&rec).map_err(|e| TallyError::corrupt("record", e))?;
                            records.insert(sequence, bytes.as_slice()).map_err(storage("appending a record"))?;
                            dedup
                                .insert((anon_hex.as_str(), rec.contest_id.as_str()), (sequence, p.digest))
                                .map_err(storage("writing dedup"))?;
                            for k in rec.contest.weeding_keys() {
                                weeds
                                    .insert(k, (anon_hex.as_str(), rec.contest_id.as_str()))
                                    .map_err(storage("writing ciphertexts"))?;
                            }
                            head.sequence = sequence;
                            head.hash = hash;
                            Outcome::Accepted { sequence }
                        }
                    },
                };
                match &outcome {
                    Outcome::Duplicate { .. } => head.duplicates += 1,
                    Outcome::Rejected { .. } => head.rejected += 1,
                    Outcome::Accepted { .. } => {}
                }
                outcomes.push(outcome);
            }
            head.totals_digest = totals.digest(&self.identity, head.sequence, &head.hash);
            let head_bytes = serde_json::to_vec(&head).map_err(|e| TallyError::corrupt("head", e))?;
            meta.insert(META_HEAD, head_bytes.as_slice()).map_err(storage("writing head"))?;
            if head.sequence >= self.last_checkpoint + self.checkpoint_every {
                let cp = CheckpointRecord { sequence: head.sequence, hash: head.hash, totals: totals.to_wire() };
                let cp_bytes = serde_json::to_vec(&cp).map_err(|e| TallyError::corrupt("checkpoint", e))?;
                meta.insert(META_CHECKPOINT, cp_bytes.as_slice()).map_err(storage("writing checkpoint"))?;
            }
        }
        let appended = head.sequence != self.head.sequence;
        if !appended {
            // Only the rejection and duplicate counters changed: no acknowledgement depends on them, so they
            // ride along with the next durable commit instead of costing an fsync of their own.
            txn.set_durability(Durability::None).map_err(|e| TallyError::Failed(e.to_string()))?;
        }
        let started = Instant::now();
        txn.commit().map_err(storage("commit"))?;
        let stats = CommitStats { commit: Some(started.elapsed()).filter(|_| appended) };
        if head.sequence >= self.last_checkpoint + self.checkpoint_every {
            self.last_checkpoint = head.sequence;
        }
        self.totals = totals;
        self.head = head;
        Ok((outcomes, stats))
    }

    /// Seals the shard: from now on every contest is refused, and the final totals record is stored (durably)
    /// and returned. Sealing again returns the same record.
    pub fn seal(&mut self, at: jiff::Timestamp) -> Result<TotalsRecord> {
        if let Some(s) = &self.sealed {
            return Ok(s.clone());
        }
        let record = self.record(Some(crate::record::format_time(at)));
        let bytes = serde_json::to_vec(&record).map_err(|e| TallyError::corrupt("sealed totals", e))?;
        let txn = self.store.db().begin_write().map_err(storage("begin write"))?;
        {
            let mut meta = txn.open_table(META).map_err(storage("meta table"))?;
            meta.insert(META_SEALED, bytes.as_slice()).map_err(storage("writing sealed totals"))?;
        }
        txn.commit().map_err(storage("commit"))?;
        self.sealed = Some(record.clone());
        Ok(record)
    }
}

/// The most contests one total may hold: `2^slotBits − 1` keeps every slot below `M`.
/// Why `p` is a copy, if it is: a ciphertext repeats within it or was recorded before (reads inside the write
/// transaction see this batch's own inserts).
fn copied(weeds: &redb::Table<'_, [u8; 32], (&'static str, &'static str)>, p: &Pending) -> Result<Option<String>> {
    let keys = p.contest.weeding_keys();
    if urna_ballot::weeding::first_repeat(&keys).is_some() {
        return Ok(Some(format!("contest {} repeats one of its own ciphertexts", p.contest.contest_id)));
    }
    for k in &keys {
        if let Some(v) = weeds.get(k).map_err(storage("reading ciphertexts"))? {
            let (anon, contest) = v.value();
            return Ok(Some(format!(
                "a ciphertext of contest {} was already recorded (ballot {anon}, contest {contest}): a copied ballot",
                p.contest.contest_id
            )));
        }
    }
    Ok(None)
}

fn fold_kind(e: &FoldError) -> RejectKind {
    match e {
        FoldError::NotInShard => RejectKind::Scope,
        FoldError::Positions { .. } => RejectKind::Malformed,
        FoldError::Full { .. } => RejectKind::Full,
    }
}

fn fold_reason(e: &FoldError, p: &Pending) -> String {
    match e {
        FoldError::NotInShard => {
            format!("contest {} of ballot style {} is not held by this shard", p.contest.contest_id, p.ballot_style)
        }
        FoldError::Positions { expected, got } => {
            format!("{got} ciphertexts, the contest's layout has {expected}")
        }
        FoldError::Full { max } => {
            format!("contest {} already holds {max} ballots, the most its counters hold", p.contest.contest_id)
        }
    }
}
