//! The operations state on disk (redb, as the booths' outboxes and the collector's inbox): devices, alerts
//! with their handling, officer actions and turnout, so a restarted monitor shows the same map, desk and
//! record. Alerts and actions are committed before they are served or sent; device views in batches (the
//! monitor flushes changed devices a few times a second, so a flood of telemetry costs one commit per batch).
//!
//! Tables: `devices` (id → JSON [`DeviceView`]), `alerts` (id → JSON [`AlertRecord`]), `actions` (seq →
//! JSON [`ActionRecord`]), `turnout` (district → JSON minute → ballots).

use std::collections::BTreeMap;
use std::path::Path;

use redb::{Database, Durability, ReadableDatabase, ReadableTable, TableDefinition};

use crate::error::Result;
use crate::ops::state::{ActionRecord, AlertRecord, DeviceView, OpsState};

const DEVICES: TableDefinition<&str, &[u8]> = TableDefinition::new("devices");
const ALERTS: TableDefinition<u64, &[u8]> = TableDefinition::new("alerts");
const ACTIONS: TableDefinition<u64, &[u8]> = TableDefinition::new("actions");
const TURNOUT: TableDefinition<&str, &[u8]> = TableDefinition::new("turnout");

pub struct OpsStore {
    db: Database,
}

impl OpsStore {
    pub fn open(path: &Path) -> Result<Self> {
        let db = Database::create(path)?;
        let txn = db.begin_write()?;
        txn.open_table(DEVICES)?;
        txn.open_table(ALERTS)?;
        txn.open_table(ACTIONS)?;
        txn.open_table(TURNOUT)?;
        txn.commit()?;
        Ok(Self { db })
    }

    /// Everything kept, as the state it was.
    pub fn load(&self) -> Result<OpsState> {
        let txn = self.db.begin_read()?;
        let mut s = OpsState::default();
        for item in txn.open_table(DEVICES)?.iter()? {
            let (k, v) = item?;
            s.devices.insert(k.value().to_owned(), serde_json::from_slice(v.value())?);
        }
        for item in txn.open_table(ALERTS)?.iter()? {
            let (k, v) = item?;
            s.alerts.insert(k.value(), serde_json::from_slice(v.value())?);
        }
        for item in txn.open_table(ACTIONS)?.iter()? {
            let (_, v) = item?;
            s.actions.push(serde_json::from_slice(v.value())?);
        }
        for item in txn.open_table(TURNOUT)?.iter()? {
            let (k, v) = item?;
            let series: BTreeMap<u64, u64> = serde_json::from_slice(v.value())?;
            s.turnout.insert(k.value().to_owned(), series);
        }
        Ok(s)
    }

    /// One commit: changed devices, new or changed alerts, new actions, and the turnout if it changed.
    pub fn save(
        &self,
        devices: &[DeviceView],
        alerts: &[AlertRecord],
        actions: &[ActionRecord],
        turnout: Option<&BTreeMap<String, BTreeMap<u64, u64>>>,
    ) -> Result<()> {
        if devices.is_empty() && alerts.is_empty() && actions.is_empty() && turnout.is_none() {
            return Ok(());
        }
        let mut txn = self.db.begin_write()?;
        txn.set_durability(Durability::Immediate)?;
        {
            let mut t = txn.open_table(DEVICES)?;
            for d in devices {
                t.insert(d.id.as_str(), serde_json::to_vec(d)?.as_slice())?;
            }
            let mut t = txn.open_table(ALERTS)?;
            for a in alerts {
                t.insert(a.id, serde_json::to_vec(a)?.as_slice())?;
            }
            let mut t = txn.open_table(ACTIONS)?;
            for a in actions {
                t.insert(a.seq, serde_json::to_vec(a)?.as_slice())?;
            }
            if let Some(turnout) = turnout {
                let mut t = txn.open_table(TURNOUT)?;
                for (district, series) in turnout {
                    t.insert(district.as_str(), serde_json::to_vec(series)?.as_slice())?;
                }
            }
        }
        txn.commit()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::heard::Heard;
    use crate::monitor::{Alert, priority};
    use crate::ops::state::{AlertAction, AlertStatus};
    use crate::rules::Officer;

    #[test]
    fn the_state_survives_reopening() -> std::result::Result<(), Box<dyn std::error::Error>> {
        let dir = tempfile::tempdir()?;
        let path = dir.path().join("ops.redb");
        let officer = Officer {
            id: "oc".into(),
            name: String::new(),
            districts: vec!["centro".into()],
            webhook: None,
            token_sha256: String::new(),
        };
        {
            let store = OpsStore::open(&path)?;
            let mut s = OpsState::default();
            s.devices
                .insert("c-1".into(), DeviceView { id: "c-1".into(), district: "centro".into(), ..Default::default() });
            let b = serde_json::json!({ "device": "c-1", "seq": 1, "kind": "ballot", "atMs": 60_000, "body": {} });
            s.observe("c-1", &Heard::first("ballot", b.to_string().as_bytes()), 60_000);
            let alert = Alert {
                id: 0,
                device: "c-1".into(),
                mesa: "m".into(),
                district: "centro".into(),
                rule: "sos",
                priority: priority("sos"),
                evidence: serde_json::json!({ "reason": "x" }),
                at_ms: 1,
            };
            let (_, rec) = s.raise(alert, std::slice::from_ref(&officer));
            let (rec2, act) = s.handle_alert(&officer, rec.id, AlertAction::Acknowledge, "", 2)?;
            let (devices, turnout) = s.take_dirty(3, 1000);
            store.save(&devices, &[rec, rec2], &[act], turnout.then_some(&s.turnout))?;
        }
        let s = OpsStore::open(&path)?.load()?;
        assert_eq!(s.devices["c-1"].ballots, 1);
        assert!(s.devices["c-1"].alerting.contains("sos"));
        assert_eq!(s.alerts[&1].status, AlertStatus::Acknowledged);
        assert_eq!(s.next_alert_id(), 2, "numbering continues after a restart");
        assert_eq!(s.actions.len(), 1);
        assert_eq!(s.turnout["centro"][&60_000], 1);
        Ok(())
    }
}
