//! Durable storage in redb: entries, every complete subtree's hash, checkpoints and cosignatures.
//!
//! One write transaction per batch holds the batch's entries, the nodes they complete, the new size and (at
//! batch boundaries) the signed checkpoint; redb's commit with `Durability::Immediate` (its default, set
//! explicitly here) returns only once the data is on disk, and a crash at any instant leaves either the
//! previous commit or this one. That is what lets the log acknowledge an entry only after `commit` returns.
//!
//! Tables:
//! - `entries`: leaf index → encoded entry;
//! - `leaf_index`: leaf hash → leaf index (proofs by hash; idempotent re-appends);
//! - `nodes`: (level, index) → hash of the perfect subtree of `2^level` leaves from leaf `index << level`;
//! - `meta`: `size`, `closed`, `origin`, `public_key`;
//! - `checkpoints`: sequence number → signed note (body and the log's signature line);
//! - `checkpoint_by_body`: SHA-256 of a checkpoint body → its sequence number;
//! - `cosignatures`: (checkpoint sequence number, witness public key) → `{name, signature}` (JSON).

use std::path::Path;

use redb::{
    Database, Durability, ReadOnlyTable, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition,
    WriteTransaction,
};
use sha2::{Digest, Sha256};

use crate::checkpoint::{Checkpoint, CheckpointError, Cosignature, Note};
use crate::entry::{EntryError, LogEntry};
use crate::key::LogKey;
use crate::merkle::{Hash, NodeSource, leaf_hash, node_hash, subtree_root};
use crate::proof::{self, ProofError};

const ENTRIES: TableDefinition<u64, &[u8]> = TableDefinition::new("entries");
const LEAF_INDEX: TableDefinition<&[u8; 32], u64> = TableDefinition::new("leaf_index");
const NODES: TableDefinition<(u8, u64), &[u8; 32]> = TableDefinition::new("nodes");
const META: TableDefinition<&str, &[u8]> = TableDefinition::new("meta");
const CHECKPOINTS: TableDefinition<u64, &str> = TableDefinition::new("checkpoints");
const CHECKPOINT_BY_BODY: TableDefinition<&[u8; 32], u64> = TableDefinition::new("checkpoint_by_body");
const COSIGNATURES: TableDefinition<(u64, &[u8; 32]), &str> = TableDefinition::new("cosignatures");

const META_SIZE: &str = "size";
const META_CLOSED: &str = "closed";
const META_ORIGIN: &str = "origin";
const META_PUBLIC_KEY: &str = "public_key";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database: {0}")]
    Db(#[from] redb::Error),
    #[error("log data is corrupt: {0}")]
    Corrupt(String),
    #[error("this data directory holds log {stored:?}, not {given:?}")]
    OriginMismatch { stored: String, given: String },
    #[error("this data directory's log is signed by public key {stored}, not by the given key {given}")]
    KeyMismatch { stored: String, given: String },
    #[error("the log is closed; it accepts no more entries")]
    Closed,
    #[error("entry {position} of the batch is invalid: {source}")]
    InvalidEntry { position: usize, source: EntryError },
    #[error("requested {what} {value} is beyond the log's size {size}")]
    BeyondSize { what: &'static str, value: u64, size: u64 },
    #[error("leaf index {index} is not below tree size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    #[error("consistency proof needs from <= to, got from {from}, to {to}")]
    SizesOutOfOrder { from: u64, to: u64 },
    #[error("this log never issued that checkpoint")]
    UnknownCheckpoint,
    #[error("no entry with that leaf hash")]
    UnknownLeaf,
    #[error("this checkpoint already holds the most cosignatures a log keeps ({max})")]
    TooManyCosignatures { max: usize },
    #[error(transparent)]
    Checkpoint(#[from] CheckpointError),
}

// redb has one error type per operation; all of them fold into `redb::Error`.
macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self {
                Self::Db(e.into())
            }
        }
    )*};
}
from_redb!(
    redb::DatabaseError,
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::SetDurabilityError
);

impl From<ProofError<StoreError>> for StoreError {
    fn from(e: ProofError<StoreError>) -> Self {
        match e {
            ProofError::IndexOutOfRange { index, size } => Self::IndexOutOfRange { index, size },
            ProofError::SizesOutOfOrder { from, to } => Self::SizesOutOfOrder { from, to },
            ProofError::Source(e) => e,
        }
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A checkpoint as stored: its sequence number, content, note and the cosignatures collected so far.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredCheckpoint {
    pub seq: u64,
    pub checkpoint: Checkpoint,
    /// The body and the log's signature.
    pub note: Note,
    pub cosignatures: Vec<Cosignature>,
}

impl StoredCheckpoint {
    /// The full signed note: the log's signature line, then every witness's.
    pub fn note_text(&self) -> String {
        let mut note = self.note.clone();
        note.signatures.extend(self.cosignatures.iter().map(Cosignature::note_signature));
        note.text()
    }
}

/// What a committed batch produced.
#[derive(Debug, Clone)]
pub struct Commit {
    /// The leaf index of each entry of the batch, in batch order (an entry already in the log keeps its
    /// first index).
    pub indices: Vec<u64>,
    /// How many entries were new (the others were already in the log).
    pub appended: usize,
    pub size: u64,
    pub root: Hash,
    pub checkpoint: Option<StoredCheckpoint>,
}

/// What a commit should sign.
pub struct CheckpointRequest<'a> {
    pub key: &'a LogKey,
    pub origin: &'a str,
    pub timestamp: u64,
    /// Seal the log: this checkpoint is the final one.
    pub close: bool,
}

pub struct Store {
    db: Database,
    public_key: [u8; 32],
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("public_key", &hex::encode(self.public_key)).finish_non_exhaustive()
    }
}

/// Nodes read from an open table (read-only or inside the write transaction).
struct Nodes<'a, T>(&'a T);

impl<T: ReadableTable<(u8, u64), &'static [u8; 32]>> NodeSource for Nodes<'_, T> {
    type Error = StoreError;

    fn node(&self, level: u8, index: u64) -> Result<Hash> {
        self.0
            .get((level, index))?
            .map(|g| *g.value())
            .ok_or_else(|| StoreError::Corrupt(format!("missing tree node at level {level}, index {index}")))
    }
}

fn read_u64(meta: &impl ReadableTable<&'static str, &'static [u8]>, key: &str) -> Result<u64> {
    match meta.get(key)? {
        None => Ok(0),
        Some(v) => {
            let bytes: [u8; 8] =
                v.value().try_into().map_err(|_| StoreError::Corrupt(format!("meta {key} is not 8 bytes")))?;
            Ok(u64::from_be_bytes(bytes))
        }
    }
}

impl Store {
    /// Opens (or creates) the log at `path` for `origin` signed by `public_key`, refusing a directory that
    /// belongs to another log, then checks every stored hash and signature ([`Self::check`]).
    pub fn open(path: &Path, origin: &str, public_key: &[u8; 32]) -> Result<Self> {
        let db = Database::create(path)?;
        let txn = db.begin_write()?;
        {
            // Creates every table on first open, so read transactions never meet a missing one.
            txn.open_table(ENTRIES)?;
            txn.open_table(LEAF_INDEX)?;
            txn.open_table(NODES)?;
            txn.open_table(CHECKPOINTS)?;
            txn.open_table(CHECKPOINT_BY_BODY)?;
            txn.open_table(COSIGNATURES)?;
            let mut meta = txn.open_table(META)?;
            let stored_origin = meta.get(META_ORIGIN)?.map(|v| String::from_utf8_lossy(v.value()).into_owned());
            match stored_origin {
                None => {
                    meta.insert(META_ORIGIN, origin.as_bytes())?;
                    meta.insert(META_PUBLIC_KEY, public_key.as_slice())?;
                }
                Some(stored) if stored != origin => {
                    return Err(StoreError::OriginMismatch { stored, given: origin.to_owned() });
                }
                Some(_) => {
                    let stored = meta.get(META_PUBLIC_KEY)?.map(|v| v.value().to_vec()).unwrap_or_default();
                    if stored != public_key {
                        return Err(StoreError::KeyMismatch {
                            stored: hex::encode(stored),
                            given: hex::encode(public_key),
                        });
                    }
                }
            }
        }
        txn.commit()?;
        let store = Self { db, public_key: *public_key };
        store.check()?;
        Ok(store)
    }

    pub fn public_key(&self) -> [u8; 32] {
        self.public_key
    }

    /// A consistent read-only view of the log as of now.
    pub fn snapshot(&self) -> Result<Snapshot> {
        let txn = self.db.begin_read()?;
        let meta = txn.open_table(META)?;
        Ok(Snapshot {
            size: read_u64(&meta, META_SIZE)?,
            closed: read_u64(&meta, META_CLOSED)? != 0,
            entries: txn.open_table(ENTRIES)?,
            leaf_index: txn.open_table(LEAF_INDEX)?,
            nodes: txn.open_table(NODES)?,
            checkpoints: txn.open_table(CHECKPOINTS)?,
            checkpoint_by_body: txn.open_table(CHECKPOINT_BY_BODY)?,
            cosignatures: txn.open_table(COSIGNATURES)?,
        })
    }

    fn begin_write(&self) -> Result<WriteTransaction> {
        let mut txn = self.db.begin_write()?;
        // The default already, but the log's promise depends on it: commit returns after fsync.
        txn.set_durability(Durability::Immediate)?;
        Ok(txn)
    }

    /// Appends `entries` in the given order and optionally signs a checkpoint of the result, all in one
    /// durable transaction. Entries already in the log (same leaf hash) are not appended again; their
    /// existing index is returned, so a client's retry after a lost reply is harmless.
    pub fn commit(&self, entries: &[LogEntry], checkpoint: Option<CheckpointRequest<'_>>) -> Result<Commit> {
        for (position, e) in entries.iter().enumerate() {
            e.validate().map_err(|source| StoreError::InvalidEntry { position, source })?;
        }
        let txn = self.begin_write()?;
        let commit = {
            let mut meta = txn.open_table(META)?;
            if read_u64(&meta, META_CLOSED)? != 0 {
                return Err(StoreError::Closed);
            }
            let mut size = read_u64(&meta, META_SIZE)?;
            let mut entries_t = txn.open_table(ENTRIES)?;
            let mut leaf_index = txn.open_table(LEAF_INDEX)?;
            let mut nodes = txn.open_table(NODES)?;
            let mut indices = Vec::with_capacity(entries.len());
            let mut appended = 0;
            for entry in entries {
                let bytes = entry.encode();
                let leaf = leaf_hash(&bytes);
                if let Some(existing) = leaf_index.get(&leaf)? {
                    indices.push(existing.value());
                    continue;
                }
                let index = size;
                entries_t.insert(index, bytes.as_slice())?;
                leaf_index.insert(&leaf, index)?;
                nodes.insert((0, index), &leaf)?;
                // Complete every subtree this leaf closes: while the node is a right child, hash it with
                // its left sibling into the parent.
                let (mut level, mut i, mut hash) = (0u8, index, leaf);
                while i & 1 == 1 {
                    let left = Nodes(&nodes).node(level, i - 1)?;
                    hash = node_hash(&left, &hash);
                    level += 1;
                    i >>= 1;
                    nodes.insert((level, i), &hash)?;
                }
                size += 1;
                appended += 1;
                indices.push(index);
            }
            meta.insert(META_SIZE, size.to_be_bytes().as_slice())?;
            let root = subtree_root(&Nodes(&nodes), 0, size)?;
            let checkpoint = match checkpoint {
                None => None,
                Some(req) => {
                    if req.close {
                        meta.insert(META_CLOSED, 1u64.to_be_bytes().as_slice())?;
                    }
                    let cp = Checkpoint {
                        origin: req.origin.to_owned(),
                        size,
                        root,
                        timestamp: req.timestamp,
                        closed: req.close,
                    };
                    let note = req.key.sign_checkpoint(&cp);
                    let mut checkpoints = txn.open_table(CHECKPOINTS)?;
                    let seq = checkpoints.last()?.map_or(0, |(k, _)| k.value() + 1);
                    checkpoints.insert(seq, note.text().as_str())?;
                    let body_hash: Hash = Sha256::digest(note.body.as_bytes()).into();
                    txn.open_table(CHECKPOINT_BY_BODY)?.insert(&body_hash, seq)?;
                    Some(StoredCheckpoint { seq, checkpoint: cp, note, cosignatures: Vec::new() })
                }
            };
            Commit { indices, appended, size, root, checkpoint }
        };
        txn.commit()?;
        Ok(commit)
    }

    /// Records a witness's cosignature of a checkpoint this log issued (`body` is the checkpoint's body, as
    /// the witness signed it). Allowed after close: witnesses cosign the final checkpoint then.
    /// Keeps `cosignature` of the checkpoint with `body`, unless the checkpoint already holds `max` others
    /// (a witness's repeat replaces its own: idempotent).
    pub fn add_cosignature(&self, body: &str, cosignature: &Cosignature, max: usize) -> Result<StoredCheckpoint> {
        cosignature.verify(body)?;
        let body_hash: Hash = Sha256::digest(body.as_bytes()).into();
        let txn = self.begin_write()?;
        let seq = {
            let seq = txn
                .open_table(CHECKPOINT_BY_BODY)?
                .get(&body_hash)?
                .map(|g| g.value())
                .ok_or(StoreError::UnknownCheckpoint)?;
            let value = serde_json::json!({
                "name": cosignature.name,
                "signature": hex::encode(cosignature.signature),
            })
            .to_string();
            let mut table = txn.open_table(COSIGNATURES)?;
            if table.get((seq, &cosignature.public_key))?.is_none() {
                let held = table.range((seq, &[0u8; 32])..=(seq, &[0xffu8; 32]))?.count();
                if held >= max {
                    return Err(StoreError::TooManyCosignatures { max });
                }
            }
            table.insert((seq, &cosignature.public_key), value.as_str())?;
            seq
        };
        txn.commit()?;
        self.snapshot()?.checkpoint(seq)?.ok_or(StoreError::UnknownCheckpoint)
    }

    /// Re-derives everything derivable and compares: each leaf hash from its entry, each node from its
    /// children, the leaf-hash index, and each checkpoint's root and signature. Run at every open, so a log
    /// never serves from a store that disagrees with itself.
    pub fn check(&self) -> Result<()> {
        let snap = self.snapshot()?;
        let size = snap.size;
        let corrupt = |m: String| Err(StoreError::Corrupt(m));
        if snap.entries.len()? != size {
            return corrupt(format!("{} entries stored for size {size}", snap.entries.len()?));
        }
        if snap.leaf_index.len()? != size {
            return corrupt(format!("{} leaf-index rows for size {size}", snap.leaf_index.len()?));
        }
        for row in snap.entries.iter()? {
            let (index, bytes) = row?;
            let index = index.value();
            LogEntry::decode(bytes.value())
                .map_err(|e| StoreError::Corrupt(format!("entry {index} does not decode: {e}")))?;
            let leaf = leaf_hash(bytes.value());
            if Nodes(&snap.nodes).node(0, index)? != leaf {
                return corrupt(format!("leaf node {index} does not hash its entry"));
            }
            if snap.leaf_index.get(&leaf)?.map(|g| g.value()) != Some(index) {
                return corrupt(format!("leaf-index row of entry {index} is wrong"));
            }
        }
        for row in snap.nodes.iter()? {
            let (key, hash) = row?;
            let (level, index) = key.value();
            let width = 1u64.checked_shl(u32::from(level)).unwrap_or(u64::MAX);
            if index.saturating_add(1).saturating_mul(width) > size {
                return corrupt(format!("node at level {level}, index {index} lies beyond size {size}"));
            }
            if level > 0 {
                let nodes = Nodes(&snap.nodes);
                let expected = node_hash(&nodes.node(level - 1, 2 * index)?, &nodes.node(level - 1, 2 * index + 1)?);
                if *hash.value() != expected {
                    return corrupt(format!("node at level {level}, index {index} does not hash its children"));
                }
            }
        }
        let mut last_size = 0;
        for row in snap.checkpoints.iter()? {
            let (seq, _) = row?;
            let Some(stored) = snap.checkpoint(seq.value())? else {
                continue;
            };
            stored.note.verify(&stored.checkpoint.origin, &self.public_key)?;
            let cp = &stored.checkpoint;
            if cp.size > size || cp.size < last_size || snap.root(cp.size)? != cp.root {
                return corrupt(format!("checkpoint {} (size {}) does not match the tree", stored.seq, cp.size));
            }
            for c in &stored.cosignatures {
                c.verify(&stored.note.body)?;
            }
            last_size = cp.size;
        }
        Ok(())
    }
}

/// A read-only view of the log at one instant; all reads through it agree with each other.
pub struct Snapshot {
    size: u64,
    closed: bool,
    entries: ReadOnlyTable<u64, &'static [u8]>,
    leaf_index: ReadOnlyTable<&'static [u8; 32], u64>,
    nodes: ReadOnlyTable<(u8, u64), &'static [u8; 32]>,
    checkpoints: ReadOnlyTable<u64, &'static str>,
    checkpoint_by_body: ReadOnlyTable<&'static [u8; 32], u64>,
    cosignatures: ReadOnlyTable<(u64, &'static [u8; 32]), &'static str>,
}

impl Snapshot {
    pub fn size(&self) -> u64 {
        self.size
    }

    pub fn closed(&self) -> bool {
        self.closed
    }

    fn check_size(&self, what: &'static str, value: u64) -> Result<()> {
        if value > self.size {
            return Err(StoreError::BeyondSize { what, value, size: self.size });
        }
        Ok(())
    }

    /// The root of the tree at `size` (at most the current size).
    pub fn root(&self, size: u64) -> Result<Hash> {
        self.check_size("tree size", size)?;
        subtree_root(&Nodes(&self.nodes), 0, size)
    }

    pub fn inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>> {
        self.check_size("tree size", size)?;
        Ok(proof::inclusion_proof(&Nodes(&self.nodes), index, size)?)
    }

    pub fn consistency_proof(&self, from: u64, to: u64) -> Result<Vec<Hash>> {
        self.check_size("tree size", to)?;
        Ok(proof::consistency_proof(&Nodes(&self.nodes), from, to)?)
    }

    pub fn leaf_hash(&self, index: u64) -> Result<Hash> {
        if index >= self.size {
            return Err(StoreError::IndexOutOfRange { index, size: self.size });
        }
        Nodes(&self.nodes).node(0, index)
    }

    pub fn index_of(&self, leaf: &Hash) -> Result<Option<u64>> {
        Ok(self.leaf_index.get(leaf)?.map(|g| g.value()))
    }

    /// Entries `[start, end)` (with `end` at most the size), decoded, with their leaf hashes.
    pub fn entries(&self, start: u64, end: u64) -> Result<Vec<(u64, LogEntry, Hash)>> {
        self.check_size("end", end)?;
        let mut out = Vec::new();
        for row in self.entries.range(start..end)? {
            let (index, bytes) = row?;
            let index = index.value();
            let entry = LogEntry::decode(bytes.value())
                .map_err(|e| StoreError::Corrupt(format!("entry {index} does not decode: {e}")))?;
            out.push((index, entry, leaf_hash(bytes.value())));
        }
        Ok(out)
    }

    pub fn checkpoint(&self, seq: u64) -> Result<Option<StoredCheckpoint>> {
        let Some(text) = self.checkpoints.get(seq)? else {
            return Ok(None);
        };
        let note = Note::parse(text.value())?;
        let checkpoint = Checkpoint::parse(&note.body)?;
        let mut cosignatures = Vec::new();
        for row in self.cosignatures.range((seq, &[0u8; 32])..=(seq, &[0xffu8; 32]))? {
            let (key, value) = row?;
            let (_, public_key) = key.value();
            let bad = || StoreError::Corrupt(format!("cosignature row of checkpoint {seq} is malformed"));
            let v: serde_json::Value = serde_json::from_str(value.value()).map_err(|_| bad())?;
            let name = v["name"].as_str().ok_or_else(bad)?.to_owned();
            let mut signature = [0u8; 64];
            hex::decode_to_slice(v["signature"].as_str().ok_or_else(bad)?, &mut signature).map_err(|_| bad())?;
            cosignatures.push(Cosignature { name, public_key: *public_key, signature });
        }
        Ok(Some(StoredCheckpoint { seq, checkpoint, note, cosignatures }))
    }

    /// Up to `limit` checkpoints from sequence number `from` on, in order.
    pub fn checkpoints(&self, from: u64, limit: usize) -> Result<Vec<StoredCheckpoint>> {
        let mut out = Vec::new();
        for row in self.checkpoints.range(from..)?.take(limit) {
            let (seq, _) = row?;
            if let Some(cp) = self.checkpoint(seq.value())? {
                out.push(cp);
            }
        }
        Ok(out)
    }

    pub fn latest_checkpoint(&self) -> Result<Option<StoredCheckpoint>> {
        match self.checkpoints.last()? {
            None => Ok(None),
            Some((seq, _)) => self.checkpoint(seq.value()),
        }
    }

    /// The checkpoint whose body is exactly `body`, if this log issued it.
    pub fn checkpoint_by_body(&self, body: &str) -> Result<Option<StoredCheckpoint>> {
        let hash: Hash = Sha256::digest(body.as_bytes()).into();
        match self.checkpoint_by_body.get(&hash)? {
            None => Ok(None),
            Some(seq) => self.checkpoint(seq.value()),
        }
    }
}
