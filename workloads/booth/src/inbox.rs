//! The receiver's side of exactly-once: per device, the last sequence held and the messages themselves,
//! written in one synced redb transaction, so a message is counted once however often it is replayed,
//! across restarts of the booth, the broker or the receiver.
//!
//! Tables: `last` (device → last sequence held), `received` ((device, sequence) → envelope JSON),
//! `bridged` (device → last sequence the vote-pipeline bridge is done with) and `rejected` ((device,
//! sequence) → why the vote service refused that ballot for good).

use std::path::Path;

use redb::{Database, Durability, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};

use crate::error::Result;
use crate::message::{Envelope, Receipt, receipt};

const LAST: TableDefinition<&str, u64> = TableDefinition::new("last");
const RECEIVED: TableDefinition<(&str, u64), &[u8]> = TableDefinition::new("received");
const BRIDGED: TableDefinition<&str, u64> = TableDefinition::new("bridged");
const REJECTED: TableDefinition<(&str, u64), &str> = TableDefinition::new("rejected");

pub struct Inbox {
    db: Database,
}

impl Inbox {
    pub fn open(path: &Path) -> Result<Self> {
        let db = Database::create(path)?;
        let txn = db.begin_write()?;
        txn.open_table(LAST)?;
        txn.open_table(RECEIVED)?;
        txn.open_table(BRIDGED)?;
        txn.open_table(REJECTED)?;
        txn.commit()?;
        Ok(Self { db })
    }

    /// Keeps `env` if it is the device's next sequence; returns the decision and the last sequence held
    /// afterwards (what the acknowledgement carries).
    pub fn accept(&self, env: &Envelope) -> Result<(Receipt, u64)> {
        let mut txn = self.db.begin_write()?;
        txn.set_durability(Durability::Immediate)?;
        let out = {
            let mut last_t = txn.open_table(LAST)?;
            let last = last_t.get(env.device.as_str())?.map_or(0, |v| v.value());
            let r = receipt(last, env.seq);
            if r == Receipt::Accept {
                last_t.insert(env.device.as_str(), env.seq)?;
                txn.open_table(RECEIVED)?
                    .insert((env.device.as_str(), env.seq), serde_json::to_vec(env)?.as_slice())?;
                (r, env.seq)
            } else {
                (r, last)
            }
        };
        if out.0 == Receipt::Accept {
            txn.commit()?;
        } else {
            txn.abort()?;
        }
        Ok(out)
    }

    pub fn last(&self, device: &str) -> Result<u64> {
        Ok(self.db.begin_read()?.open_table(LAST)?.get(device)?.map_or(0, |v| v.value()))
    }

    /// Every message held for `device`, in sequence order.
    pub fn received(&self, device: &str) -> Result<Vec<Envelope>> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(RECEIVED)?;
        let mut out = Vec::new();
        for item in table.range((device, 0)..=(device, u64::MAX))? {
            let (_, v) = item?;
            out.push(serde_json::from_slice(v.value())?);
        }
        Ok(out)
    }

    /// Devices with messages the bridge has not finished, as (device, last bridged, last held).
    pub fn unbridged(&self) -> Result<Vec<(String, u64, u64)>> {
        let txn = self.db.begin_read()?;
        let bridged = txn.open_table(BRIDGED)?;
        let mut out = Vec::new();
        for item in txn.open_table(LAST)?.iter()? {
            let (device, last) = item?;
            let done = bridged.get(device.value())?.map_or(0, |v| v.value());
            if done < last.value() {
                out.push((device.value().to_owned(), done, last.value()));
            }
        }
        Ok(out)
    }

    /// Messages held but not yet bridged, over all devices.
    pub fn bridge_backlog(&self) -> Result<u64> {
        Ok(self.unbridged()?.iter().map(|(_, done, last)| last - done).sum())
    }

    /// One held message.
    pub fn message(&self, device: &str, seq: u64) -> Result<Option<Envelope>> {
        let txn = self.db.begin_read()?;
        let table = txn.open_table(RECEIVED)?;
        let Some(v) = table.get((device, seq))? else {
            return Ok(None);
        };
        Ok(Some(serde_json::from_slice(v.value())?))
    }

    /// The bridge is done with `device`'s messages up to `seq`; `rejected` records why the last one was
    /// refused for good. Only moves forward.
    pub fn mark_bridged(&self, device: &str, seq: u64, rejected: Option<&str>) -> Result<()> {
        let mut txn = self.db.begin_write()?;
        txn.set_durability(Durability::Immediate)?;
        {
            let mut bridged = txn.open_table(BRIDGED)?;
            let done = bridged.get(device)?.map_or(0, |v| v.value());
            if seq > done {
                bridged.insert(device, seq)?;
                if let Some(reason) = rejected {
                    txn.open_table(REJECTED)?.insert((device, seq), reason)?;
                }
            }
        }
        txn.commit()?;
        Ok(())
    }

    /// Ballots the vote service refused for good, as ((device, sequence), reason).
    pub fn rejected(&self) -> Result<Vec<((String, u64), String)>> {
        let txn = self.db.begin_read()?;
        let mut out = Vec::new();
        for item in txn.open_table(REJECTED)?.iter()? {
            let (k, v) = item?;
            let (device, seq) = k.value();
            out.push(((device.to_owned(), seq), v.value().to_owned()));
        }
        Ok(out)
    }

    pub fn total(&self) -> Result<u64> {
        Ok(self.db.begin_read()?.open_table(RECEIVED)?.len()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(seq: u64) -> Envelope {
        Envelope { device: "d".into(), seq, kind: "ballot".into(), at_ms: 0, body: serde_json::json!(seq) }
    }

    #[test]
    fn holds_each_sequence_once_and_in_order_across_reopening() -> Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("inbox.redb");
        {
            let i = Inbox::open(&path)?;
            assert_eq!(i.accept(&env(1))?, (Receipt::Accept, 1));
            assert_eq!(i.accept(&env(3))?, (Receipt::Gap, 1));
            assert_eq!(i.accept(&env(2))?, (Receipt::Accept, 2));
        }
        let i = Inbox::open(&path)?;
        assert_eq!(i.accept(&env(2))?, (Receipt::Duplicate, 2));
        assert_eq!(i.accept(&env(3))?, (Receipt::Accept, 3));
        assert_eq!(i.received("d")?.iter().map(|e| e.seq).collect::<Vec<_>>(), vec![1, 2, 3]);
        assert_eq!(i.total()?, 3);
        Ok(())
    }
}
