//! The booth's durable outgoing queue (redb, every commit synced): a message is on disk with its
//! per-booth sequence number before `push` returns, and leaves only when the receiver has acknowledged
//! it end to end (not at the broker's PUBACK: rumqttd keeps nothing across a restart).
//!
//! Tables: `outbox` (sequence → encoded message), `meta` (`next_seq`, `locked`, `blocked`).

use std::path::Path;

use redb::{Database, Durability, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};

use crate::error::Result;
use crate::message::Envelope;

const OUTBOX: TableDefinition<u64, &[u8]> = TableDefinition::new("outbox");
const META: TableDefinition<&str, u64> = TableDefinition::new("meta");

pub struct Outbox {
    db: Database,
}

impl Outbox {
    pub fn open(path: &Path) -> Result<Self> {
        let db = Database::create(path)?;
        let txn = db.begin_write()?;
        txn.open_table(OUTBOX)?;
        txn.open_table(META)?;
        txn.commit()?;
        Ok(Self { db })
    }

    /// Numbers the message with the next sequence and stores it durably; returns the sequence.
    pub fn push(&self, device: &str, kind: &str, at_ms: u64, body: serde_json::Value) -> Result<u64> {
        let mut txn = self.db.begin_write()?;
        txn.set_durability(Durability::Immediate)?;
        let seq = {
            let mut meta = txn.open_table(META)?;
            let seq = meta.get("next_seq")?.map_or(1, |v| v.value());
            meta.insert("next_seq", seq + 1)?;
            let env = Envelope { device: device.to_owned(), seq, kind: kind.to_owned(), at_ms, body };
            txn.open_table(OUTBOX)?.insert(seq, serde_json::to_vec(&env)?.as_slice())?;
            seq
        };
        txn.commit()?;
        Ok(seq)
    }

    /// Up to `limit` unacknowledged messages with a sequence above `after`, in order.
    pub fn pending_after(&self, after: u64, limit: usize) -> Result<Vec<Envelope>> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(OUTBOX)?;
        let mut out = Vec::new();
        for item in table.range(after.saturating_add(1)..)?.take(limit) {
            let (_, v) = item?;
            out.push(serde_json::from_slice(v.value())?);
        }
        Ok(out)
    }

    /// Drops every message up to and including `seq` (the receiver's cumulative acknowledgement).
    pub fn ack_through(&self, seq: u64) -> Result<usize> {
        let mut txn = self.db.begin_write()?;
        txn.set_durability(Durability::Immediate)?;
        let removed = {
            let mut table = txn.open_table(OUTBOX)?;
            let mut removed = 0;
            for item in table.extract_from_if(..=seq, |_, _| true)? {
                item?;
                removed += 1;
            }
            removed
        };
        txn.commit()?;
        Ok(removed)
    }

    pub fn len(&self) -> Result<u64> {
        Ok(self.db.begin_read()?.open_table(OUTBOX)?.len()?)
    }

    pub fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }

    /// A persisted flag (lock and block outlive a restart of the booth).
    pub fn flag(&self, name: &str) -> Result<bool> {
        Ok(self.db.begin_read()?.open_table(META)?.get(name)?.is_some_and(|v| v.value() != 0))
    }

    pub fn set_flag(&self, name: &str, on: bool) -> Result<()> {
        let mut txn = self.db.begin_write()?;
        txn.set_durability(Durability::Immediate)?;
        txn.open_table(META)?.insert(name, u64::from(on))?;
        txn.commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequences_survive_reopening_and_acks_are_cumulative() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("outbox.redb");
        {
            let o = Outbox::open(&path)?;
            for i in 0..5 {
                assert_eq!(o.push("d", "ballot", 0, serde_json::json!(i))?, i + 1);
            }
            assert_eq!(o.ack_through(2)?, 2);
        }
        let o = Outbox::open(&path)?;
        let seqs: Vec<u64> = o.pending_after(0, 100)?.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, vec![3, 4, 5]);
        assert_eq!(o.push("d", "sos", 0, serde_json::json!(null))?, 6, "numbering continues after a restart");
        assert_eq!(o.pending_after(4, 1)?.first().map(|e| e.seq), Some(5));
        assert_eq!(o.ack_through(10)?, 4);
        assert!(o.is_empty()?);
        o.set_flag("locked", true)?;
        assert!(o.flag("locked")? && !o.flag("blocked")?);
        Ok(())
    }
}
