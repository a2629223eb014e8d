//! The redb file of one shard (`DATA/tally.redb`): four tables, all written by the single writer
//! ([`crate::ledger::Ledger`]) and read concurrently by the HTTP handlers (redb readers never block the writer).
//!
//! - `records`: sequence (u64) → the [`crate::record::LogRecord`] as JSON bytes; append-only.
//! - `dedup`: (anonId hex, contestId) → (sequence, contest digest); what makes resubmission idempotent.
//! - `ciphertexts`: weeding key of every recorded ciphertext ([`urna_ballot::weeding`]) → (anonId hex,
//!   contestId): a contest repeating a ciphertext already recorded is a copy and is refused;
//! - `meta`: `identity`, `head` (written with every commit), `checkpoint` (every N records, in the same
//!   transaction as those records), `sealed` (the final totals record).
//!
//! redb opens the file with an exclusive lock, so a second process on the same directory fails to start instead
//! of becoming a second writer.

use std::path::{Path, PathBuf};

use redb::{Database, ReadableDatabase, ReadableTableMetadata, TableDefinition};
use serde::de::DeserializeOwned;

use crate::error::{Result, TallyError, storage};

pub(crate) const RECORDS: TableDefinition<u64, &[u8]> = TableDefinition::new("records");
pub(crate) const DEDUP: TableDefinition<(&str, &str), (u64, [u8; 32])> = TableDefinition::new("dedup");
pub(crate) const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
pub(crate) const CIPHERTEXTS: TableDefinition<[u8; 32], (&str, &str)> = TableDefinition::new("ciphertexts");

pub(crate) const META_IDENTITY: &str = "identity";
pub(crate) const META_HEAD: &str = "head";
pub(crate) const META_CHECKPOINT: &str = "checkpoint";
pub(crate) const META_SEALED: &str = "sealed";

/// A de-duplication entry: the record's sequence and its contest digest.
pub(crate) type DedupEntry = (u64, [u8; 32]);

/// The file name inside the data directory.
pub const DB_FILE: &str = "tally.redb";

pub struct Store {
    db: Database,
    path: PathBuf,
}

impl Store {
    /// Opens (or creates) `dir/tally.redb` and makes sure every table exists, so readers never see a missing one.
    pub fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir)
            .map_err(|source| TallyError::Io { context: format!("creating {}", dir.display()), source })?;
        let path = dir.join(DB_FILE);
        let db = Database::create(&path).map_err(storage("opening the database"))?;
        let txn = db.begin_write().map_err(storage("begin write"))?;
        {
            txn.open_table(RECORDS).map_err(storage("records table"))?;
            txn.open_table(DEDUP).map_err(storage("dedup table"))?;
            txn.open_table(META).map_err(storage("meta table"))?;
            txn.open_table(CIPHERTEXTS).map_err(storage("ciphertexts table"))?;
        }
        txn.commit().map_err(storage("commit"))?;
        Ok(Self { db, path })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub(crate) fn db(&self) -> &Database {
        &self.db
    }

    /// A JSON value of the `meta` table.
    pub(crate) fn meta<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>> {
        let txn = self.db.begin_read().map_err(storage("begin read"))?;
        let table = txn.open_table(META).map_err(storage("meta table"))?;
        let Some(v) = table.get(key).map_err(storage("reading meta"))? else {
            return Ok(None);
        };
        serde_json::from_slice(v.value()).map(Some).map_err(|e| TallyError::corrupt(format!("meta {key}"), e))
    }

    /// Existing de-duplication entries for `keys` (anonId hex, contestId), read from the last commit.
    pub(crate) fn dedup_lookup(&self, keys: &[(String, String)]) -> Result<Vec<Option<DedupEntry>>> {
        let txn = self.db.begin_read().map_err(storage("begin read"))?;
        let table = txn.open_table(DEDUP).map_err(storage("dedup table"))?;
        keys.iter()
            .map(|(a, c)| Ok(table.get((a.as_str(), c.as_str())).map_err(storage("reading dedup"))?.map(|v| v.value())))
            .collect()
    }

    /// Up to `limit` records from sequence `from` on, as the stored JSON bytes, and the sequence that follows
    /// the last one returned when more exist.
    pub fn records_raw(&self, from: u64, limit: usize) -> Result<(Vec<Vec<u8>>, Option<u64>)> {
        let txn = self.db.begin_read().map_err(storage("begin read"))?;
        let table = txn.open_table(RECORDS).map_err(storage("records table"))?;
        let mut out = Vec::new();
        let mut next = None;
        for row in table.range(from..).map_err(storage("reading records"))? {
            let (k, v) = row.map_err(storage("reading records"))?;
            if out.len() == limit {
                next = Some(k.value());
                break;
            }
            out.push(v.value().to_vec());
        }
        Ok((out, next))
    }

    /// Number of records in the log.
    pub fn record_count(&self) -> Result<u64> {
        let txn = self.db.begin_read().map_err(storage("begin read"))?;
        let table = txn.open_table(RECORDS).map_err(storage("records table"))?;
        table.len().map_err(storage("counting records"))
    }
}
