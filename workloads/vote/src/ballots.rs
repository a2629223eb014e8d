//! The ballot store (`DATA/ballots.redb`): accepted ballot packages and their progress to the shard and the
//! audit log. It holds no voter data and the rights path never opens it (crate docs).
//!
//! Tables:
//! - `signatures`: SHA-256(signature) → AnonID: "one ballot per signature";
//! - `ballots`: AnonID → `{package, forwarded, logIndex}` (JSON);
//! - `pending`: AnonIDs not yet acknowledged by both their shard and the audit log (resumed at start-up);
//! - `booth`: (device, sequence) → AnonID: a booth message is recorded once however often it is bridged;
//! - `mesaBallots`: mesa id → booth ballots recorded (never more than the voters admitted there);
//! - `ciphertexts`: weeding key of every ciphertext of every recorded ballot → its AnonID
//!   ([`urna_ballot::weeding`]): a ballot repeating one is a copy and is refused, in the transaction that
//!   would record it;
//! - `actas`: (mesa id, acta kind) → the accepted signed acta and its progress to the audit log (JSON,
//!   [`crate::actas::StoredActa`]): one per kind, never replaced;
//! - `meta`: `binding` (as for the voter store) and `closedAt`.

use std::path::Path;

use redb::{Database, Durability, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::acta::ActaKind;
use crate::actas::{ActaRecorded, StoredActa};
use crate::error::VoteError;
use crate::rights::StoreBinding;
use crate::wire::BallotPackage;
use urna_ballot::AnonId;

const SIGNATURES: TableDefinition<[u8; 32], [u8; 32]> = TableDefinition::new("signatures");
const BALLOTS: TableDefinition<[u8; 32], &[u8]> = TableDefinition::new("ballots");
const PENDING: TableDefinition<[u8; 32], ()> = TableDefinition::new("pending");
const BOOTH: TableDefinition<(&str, u64), [u8; 32]> = TableDefinition::new("booth");
const MESA_BALLOTS: TableDefinition<&str, u64> = TableDefinition::new("mesaBallots");
const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
const CIPHERTEXTS: TableDefinition<[u8; 32], [u8; 32]> = TableDefinition::new("ciphertexts");
const ACTAS: TableDefinition<(&str, &str), &[u8]> = TableDefinition::new("actas");

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BallotRecord {
    pub anon_id: AnonId,
    pub package: BallotPackage,
    /// Every contest acknowledged (accepted or duplicate) by the shard.
    pub forwarded: bool,
    /// The audit log's leaf index, once appended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_index: Option<u64>,
}

pub enum Recorded {
    New(BallotRecord),
    /// The identical package (same AnonID) was recorded before.
    Existing(BallotRecord),
    /// The signature was used for another ballot.
    SignatureUsed,
    /// A ciphertext of the ballot is already in the box (in this AnonID's ballot): a copied ballot.
    CiphertextReused(AnonId),
}

/// Where a booth ballot's message came from: the device the broker authenticated and its sequence number.
#[derive(Debug, Clone, Copy)]
pub struct BoothOrigin<'a> {
    pub device: &'a str,
    pub seq: u64,
    pub mesa: &'a str,
}

pub enum BoothRecorded {
    New(BallotRecord),
    /// This (device, sequence) was recorded before, as this AnonID.
    Existing(AnonId),
    /// The mesa has no admitted voter left for another booth ballot.
    NotAdmitted,
    /// A ciphertext of the ballot is already in the box (in this AnonID's ballot): a copied ballot.
    CiphertextReused(AnonId),
}

pub struct BallotStore {
    db: Database,
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> VoteError {
    VoteError::Corrupt(format!("{what}: {e}"))
}

pub fn signature_key(signature: &[u8]) -> [u8; 32] {
    Sha256::digest(signature).into()
}

impl BallotStore {
    pub fn open(dir: &Path, binding: &StoreBinding) -> Result<Self, VoteError> {
        let db = Database::create(dir.join("ballots.redb"))?;
        let txn = db.begin_write()?;
        {
            txn.open_table(SIGNATURES)?;
            txn.open_table(BALLOTS)?;
            txn.open_table(PENDING)?;
            txn.open_table(BOOTH)?;
            txn.open_table(MESA_BALLOTS)?;
            txn.open_table(CIPHERTEXTS)?;
            txn.open_table(ACTAS)?;
            let mut meta = txn.open_table(META)?;
            let stored = meta.get("binding")?.map(|v| v.value().to_vec());
            match stored {
                Some(bytes) => {
                    let stored: StoreBinding = serde_json::from_slice(&bytes).map_err(|e| corrupt("binding", e))?;
                    if stored != *binding {
                        return Err(VoteError::Config(format!(
                            "{} belongs to election {:?} or another signing key or partition; refusing to use it",
                            dir.join("ballots.redb").display(),
                            stored.election_id
                        )));
                    }
                }
                None => {
                    let bytes = serde_json::to_vec(binding).map_err(|e| corrupt("binding", e))?;
                    meta.insert("binding", bytes.as_slice())?;
                }
            }
        }
        txn.commit()?;
        Ok(Self { db })
    }

    /// The AnonID recorded for a signature, if any.
    pub fn by_signature(&self, sig_key: &[u8; 32]) -> Result<Option<AnonId>, VoteError> {
        let txn = self.db.begin_read()?;
        Ok(txn.open_table(SIGNATURES)?.get(sig_key)?.map(|v| AnonId(v.value())))
    }

    pub fn get(&self, anon: &AnonId) -> Result<Option<BallotRecord>, VoteError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(BALLOTS)?;
        let Some(v) = table.get(anon.0)? else {
            return Ok(None);
        };
        serde_json::from_slice(v.value()).map(Some).map_err(|e| corrupt("ballot record", e))
    }

    /// Records a verified package, atomically keyed by its signature.
    pub fn record(&self, sig_key: &[u8; 32], anon: AnonId, package: &BallotPackage) -> Result<Recorded, VoteError> {
        let mut out = self.record_batch(&[(sig_key, anon, package)])?;
        out.pop().ok_or_else(|| VoteError::Corrupt("a batch of one recorded nothing".into()))
    }

    /// Records verified packages in one transaction, so a batch costs one fsync (group commit); one outcome
    /// per package, in order, each decided as if the packages were recorded one after the other (a later
    /// twin in the batch sees the earlier one). A package that is refused writes nothing. Nothing is
    /// acknowledged before the commit returns, and a failed commit fails the whole batch.
    pub fn record_batch(&self, items: &[(&[u8; 32], AnonId, &BallotPackage)]) -> Result<Vec<Recorded>, VoteError> {
        let txn = self.db.begin_write()?;
        let mut out = Vec::with_capacity(items.len());
        for &(sig_key, anon, package) in items {
            let existing = txn.open_table(SIGNATURES)?.get(sig_key)?.map(|v| AnonId(v.value()));
            if let Some(existing) = existing {
                if existing != anon {
                    out.push(Recorded::SignatureUsed);
                    continue;
                }
                let table = txn.open_table(BALLOTS)?;
                let bytes = table.get(anon.0)?.map(|v| v.value().to_vec());
                let bytes = bytes.ok_or_else(|| VoteError::Corrupt("signature recorded without its ballot".into()))?;
                out.push(Recorded::Existing(serde_json::from_slice(&bytes).map_err(|e| corrupt("ballot record", e))?));
                continue;
            }
            if let Some(first) = Self::weed(&txn, anon, package)? {
                out.push(Recorded::CiphertextReused(first));
                continue;
            }
            txn.open_table(SIGNATURES)?.insert(sig_key, anon.0)?;
            out.push(Recorded::New(Self::insert(&txn, anon, package)?));
        }
        txn.commit()?;
        Ok(out)
    }

    /// Remembers every ciphertext of `package` under `anon`, unless one is remembered already (or repeats
    /// within the ballot): then returns the AnonID holding it and the caller drops the transaction.
    fn weed(txn: &redb::WriteTransaction, anon: AnonId, package: &BallotPackage) -> Result<Option<AnonId>, VoteError> {
        let keys = package.ballot.weeding_keys();
        if urna_ballot::weeding::first_repeat(&keys).is_some() {
            return Ok(Some(anon));
        }
        let mut table = txn.open_table(CIPHERTEXTS)?;
        for k in &keys {
            if let Some(v) = table.get(k)? {
                return Ok(Some(AnonId(v.value())));
            }
        }
        for k in &keys {
            table.insert(k, anon.0)?;
        }
        Ok(None)
    }

    fn insert(txn: &redb::WriteTransaction, anon: AnonId, package: &BallotPackage) -> Result<BallotRecord, VoteError> {
        let record = BallotRecord { anon_id: anon, package: package.clone(), forwarded: false, log_index: None };
        let bytes = serde_json::to_vec(&record).map_err(|e| corrupt("ballot record", e))?;
        txn.open_table(BALLOTS)?.insert(anon.0, bytes.as_slice())?;
        txn.open_table(PENDING)?.insert(anon.0, ())?;
        Ok(record)
    }

    /// The AnonID recorded for a booth message, if any.
    pub fn booth_ballot(&self, device: &str, seq: u64) -> Result<Option<AnonId>, VoteError> {
        let txn = self.db.begin_read()?;
        Ok(txn.open_table(BOOTH)?.get((device, seq))?.map(|v| AnonId(v.value())))
    }

    /// Booth ballots recorded for `mesa`.
    pub fn mesa_ballots(&self, mesa: &str) -> Result<u64, VoteError> {
        Ok(self.db.begin_read()?.open_table(MESA_BALLOTS)?.get(mesa)?.map_or(0, |v| v.value()))
    }

    /// Records a verified booth ballot (its package signed by this service) under its origin, if the mesa
    /// has fewer booth ballots than `admitted` voters; one transaction, so a crash leaves all or nothing.
    pub fn record_booth(
        &self,
        origin: BoothOrigin<'_>,
        admitted: u64,
        sig_key: &[u8; 32],
        anon: AnonId,
        package: &BallotPackage,
    ) -> Result<BoothRecorded, VoteError> {
        let txn = self.db.begin_write()?;
        let record;
        {
            let mut booth = txn.open_table(BOOTH)?;
            if let Some(v) = booth.get((origin.device, origin.seq))? {
                return Ok(BoothRecorded::Existing(AnonId(v.value())));
            }
            let mut counts = txn.open_table(MESA_BALLOTS)?;
            let used = counts.get(origin.mesa)?.map_or(0, |v| v.value());
            if used >= admitted {
                return Ok(BoothRecorded::NotAdmitted);
            }
            if let Some(first) = Self::weed(&txn, anon, package)? {
                return Ok(BoothRecorded::CiphertextReused(first));
            }
            counts.insert(origin.mesa, used + 1)?;
            booth.insert((origin.device, origin.seq), anon.0)?;
            txn.open_table(SIGNATURES)?.insert(sig_key, anon.0)?;
            drop((booth, counts));
            record = Self::insert(&txn, anon, package)?;
        }
        txn.commit()?;
        Ok(BoothRecorded::New(record))
    }

    /// Progress marks are written without an fsync of their own (`Durability::None`): the next ballot's
    /// durable commit carries them to disk. Losing one in a crash only repeats an idempotent step (the shard
    /// answers `duplicate`, the audit log returns the entry's existing index), while the ballot itself was
    /// recorded durably before anything was forwarded.
    fn update(&self, anon: &AnonId, f: impl FnOnce(&mut BallotRecord)) -> Result<BallotRecord, VoteError> {
        let mut txn = self.db.begin_write()?;
        txn.set_durability(Durability::None)?;
        let record;
        {
            let mut table = txn.open_table(BALLOTS)?;
            let bytes = table.get(anon.0)?.map(|v| v.value().to_vec());
            let Some(bytes) = bytes else {
                return Err(VoteError::Corrupt("update of an unknown ballot".into()));
            };
            let mut r: BallotRecord = serde_json::from_slice(&bytes).map_err(|e| corrupt("ballot record", e))?;
            f(&mut r);
            let bytes = serde_json::to_vec(&r).map_err(|e| corrupt("ballot record", e))?;
            table.insert(anon.0, bytes.as_slice())?;
            if r.forwarded && r.log_index.is_some() {
                txn.open_table(PENDING)?.remove(anon.0)?;
            }
            record = r;
        }
        txn.commit()?;
        Ok(record)
    }

    pub fn mark_forwarded(&self, anon: &AnonId) -> Result<BallotRecord, VoteError> {
        self.update(anon, |r| r.forwarded = true)
    }

    pub fn mark_logged(&self, anon: &AnonId, index: u64) -> Result<BallotRecord, VoteError> {
        self.update(anon, |r| r.log_index = Some(index))
    }

    /// Up to `limit` recorded ballots with an AnonID above `after`, in AnonID order (the public bulletin board).
    pub fn list(&self, after: Option<&AnonId>, limit: usize) -> Result<Vec<BallotRecord>, VoteError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(BALLOTS)?;
        let rows = match after {
            Some(a) => table.range((std::ops::Bound::Excluded(a.0), std::ops::Bound::Unbounded))?,
            None => table.range::<[u8; 32]>(..)?,
        };
        let mut out = Vec::new();
        for row in rows.take(limit) {
            let (_, v) = row?;
            out.push(serde_json::from_slice(v.value()).map_err(|e| corrupt("ballot record", e))?);
        }
        Ok(out)
    }

    /// Up to `limit` AnonIDs still pending.
    pub fn pending(&self, limit: usize) -> Result<Vec<AnonId>, VoteError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(PENDING)?;
        let mut out = Vec::new();
        for item in table.iter()?.take(limit) {
            let (k, _) = item?;
            out.push(AnonId(k.value()));
        }
        Ok(out)
    }

    pub fn counts(&self) -> Result<(u64, u64), VoteError> {
        let txn = self.db.begin_read()?;
        Ok((txn.open_table(BALLOTS)?.len()?, txn.open_table(PENDING)?.len()?))
    }

    /// The AnonIDs of the booth ballots recorded from `devices` (a mesa's booths), sorted.
    pub fn booth_anon_ids(&self, devices: &[String]) -> Result<Vec<AnonId>, VoteError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(BOOTH)?;
        let mut out = Vec::new();
        for d in devices {
            for row in table.range((d.as_str(), 0u64)..=(d.as_str(), u64::MAX))? {
                out.push(AnonId(row?.1.value()));
            }
        }
        out.sort();
        Ok(out)
    }

    /// Booth ballots recorded from each of `devices`, in that order.
    pub fn booth_ballot_counts(&self, devices: &[String]) -> Result<Vec<u64>, VoteError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(BOOTH)?;
        let mut out = Vec::with_capacity(devices.len());
        for d in devices {
            let mut n = 0u64;
            for row in table.range((d.as_str(), 0u64)..=(d.as_str(), u64::MAX))? {
                row?;
                n += 1;
            }
            out.push(n);
        }
        Ok(out)
    }

    /// The acta of `kind` accepted for `mesa`, if any.
    pub fn acta(&self, mesa: &str, kind: ActaKind) -> Result<Option<StoredActa>, VoteError> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(ACTAS)?;
        let v = table.get((mesa, kind.as_str()))?;
        v.map(|v| serde_json::from_slice(v.value()).map_err(|e| corrupt("acta", e))).transpose()
    }

    /// Every acta accepted for `mesa`, in [`ActaKind::ALL`] order.
    pub fn actas(&self, mesa: &str) -> Result<Vec<StoredActa>, VoteError> {
        let mut out = Vec::new();
        for kind in ActaKind::ALL {
            out.extend(self.acta(mesa, kind)?);
        }
        Ok(out)
    }

    /// Records `acta` as `mesa`'s acta of its kind, durably, unless one is there: then the same digest is
    /// [`ActaRecorded::Existing`] (an idempotent resubmission) and another is [`ActaRecorded::Conflict`].
    pub fn record_acta(&self, mesa: &str, acta: &StoredActa) -> Result<ActaRecorded, VoteError> {
        let kind = acta.acta.document.kind();
        let txn = self.db.begin_write()?;
        {
            let mut table = txn.open_table(ACTAS)?;
            let existing = table.get((mesa, kind.as_str()))?.map(|v| v.value().to_vec());
            if let Some(bytes) = existing {
                let first: StoredActa = serde_json::from_slice(&bytes).map_err(|e| corrupt("acta", e))?;
                return Ok(if first.sha256 == acta.sha256 {
                    ActaRecorded::Existing(first)
                } else {
                    ActaRecorded::Conflict(first)
                });
            }
            let bytes = serde_json::to_vec(acta).map_err(|e| corrupt("acta", e))?;
            table.insert((mesa, kind.as_str()), bytes.as_slice())?;
        }
        txn.commit()?;
        Ok(ActaRecorded::New)
    }

    /// Notes the audit log's leaf index of `mesa`'s acta of `kind` (durably: the Mesa's phase reads it).
    pub fn mark_acta_logged(&self, mesa: &str, kind: ActaKind, index: u64, now: &str) -> Result<StoredActa, VoteError> {
        let txn = self.db.begin_write()?;
        let stored;
        {
            let mut table = txn.open_table(ACTAS)?;
            let bytes = table.get((mesa, kind.as_str()))?.map(|v| v.value().to_vec());
            let bytes = bytes.ok_or_else(|| VoteError::Corrupt("log index of an unknown acta".into()))?;
            let mut a: StoredActa = serde_json::from_slice(&bytes).map_err(|e| corrupt("acta", e))?;
            if a.log_index.is_none() {
                a.log_index = Some(index);
                a.logged_at = Some(now.to_owned());
                let bytes = serde_json::to_vec(&a).map_err(|e| corrupt("acta", e))?;
                table.insert((mesa, kind.as_str()), bytes.as_slice())?;
            }
            stored = a;
        }
        txn.commit()?;
        Ok(stored)
    }

    /// The (mesa, kind) of every acta whose audit log index is not known yet.
    pub fn actas_unlogged(&self) -> Result<Vec<(String, ActaKind)>, VoteError> {
        let txn = self.db.begin_read()?;
        let mut out = Vec::new();
        for row in txn.open_table(ACTAS)?.iter()? {
            let (k, v) = row?;
            let a: StoredActa = serde_json::from_slice(v.value()).map_err(|e| corrupt("acta", e))?;
            if a.log_index.is_none() {
                out.push((k.value().0.to_owned(), a.acta.document.kind()));
            }
        }
        Ok(out)
    }

    pub fn closed_at(&self) -> Result<Option<String>, VoteError> {
        let txn = self.db.begin_read()?;
        let meta = txn.open_table(META)?;
        let Some(v) = meta.get("closedAt")? else {
            return Ok(None);
        };
        String::from_utf8(v.value().to_vec()).map(Some).map_err(|e| corrupt("closedAt", e))
    }

    /// Closes the ballot box durably; the first close time is kept.
    pub fn close(&self, now: &str) -> Result<String, VoteError> {
        let txn = self.db.begin_write()?;
        let at;
        {
            let mut meta = txn.open_table(META)?;
            let existing = meta.get("closedAt")?.map(|v| v.value().to_vec());
            match existing {
                Some(bytes) => at = String::from_utf8(bytes).map_err(|e| corrupt("closedAt", e))?,
                None => {
                    meta.insert("closedAt", now.as_bytes())?;
                    at = now.to_owned();
                }
            }
        }
        txn.commit()?;
        Ok(at)
    }
}
