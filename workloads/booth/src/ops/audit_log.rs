//! Officers' actions in the election's transparency log: each action the operations centre records is
//! appended as an `officer-action` event (`urna_record::events::officer_action`) whose digest is the SHA-256
//! of the action's record ([`ActionRecord::digest`]), so anyone holding the record `GET /v1/ops/actions` serves
//! can find it in the log, and nobody can rewrite it afterwards.
//!
//! The action is committed to the monitor's store first; this task appends what is not yet in the log, in
//! order, and keeps the index the log gave. A crash between the append and keeping the index costs nothing:
//! the log answers the existing index of an entry it already holds.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tracing::{info, warn};
use urna_audit::LogEntry;

use super::Ops;
use super::state::{ActionRecord, Change};

/// The most actions one append carries.
const BATCH: usize = 256;

impl ActionRecord {
    /// SHA-256 of the record's compact JSON as `GET /v1/ops/actions` serves it, without `logIndex`.
    pub fn digest(&self) -> [u8; 32] {
        use sha2::Digest;
        let unlogged = Self { log_index: None, ..self.clone() };
        sha2::Sha256::digest(serde_json::to_vec(&unlogged).unwrap_or_default()).into()
    }

    pub fn log_entry(&self) -> LogEntry {
        urna_record::events::officer_action(&self.officer, &self.action, &self.target, self.digest())
    }
}

/// Appends every unlogged action to the operations centre's audit log (`ops.audit`; nothing to do without
/// one), woken by each new action and retried with a growing pause while the log does not take them; ends
/// when `stop` turns true.
pub async fn run(ops: Arc<Ops>, mut stop: watch::Receiver<bool>) {
    let Some(log) = ops.audit.clone() else { return };
    let mut pause = Duration::from_millis(200);
    loop {
        let pending: Vec<ActionRecord> =
            ops.state().actions.iter().filter(|a| a.log_index.is_none()).take(BATCH).cloned().collect();
        let wait = if pending.is_empty() {
            None
        } else {
            let entries: Vec<LogEntry> = pending.iter().map(ActionRecord::log_entry).collect();
            match log.append(&entries).await {
                Ok(indices) => {
                    info!(actions = pending.len(), "officers' actions appended to the audit log");
                    ops.logged(&pending, &indices);
                    pause = Duration::from_millis(200);
                    continue;
                }
                // A closed log takes nothing more: say so once per new action rather than every few seconds.
                Err(e) if urna_audit::client::is_closed(&e) => {
                    warn!(error = %e, actions = pending.len(), "the audit log is closed; officers' actions stay in the store only");
                    None
                }
                Err(e) => {
                    warn!(error = %e, actions = pending.len(), "officers' actions not yet in the audit log; retrying");
                    pause = (pause * 2).min(Duration::from_secs(30));
                    Some(pause)
                }
            }
        };
        tokio::select! {
            _ = stop.changed() => return,
            _ = ops.logged.notified() => {}
            _ = async { tokio::time::sleep(wait.unwrap_or(Duration::from_secs(3600))).await } => {}
        }
    }
}

impl Ops {
    /// The log took `actions` at `indices`: kept in the state and the store, and sent to the dashboards.
    fn logged(&self, actions: &[ActionRecord], indices: &[u64]) {
        let updated: Vec<ActionRecord> = {
            let mut s = self.state();
            actions
                .iter()
                .zip(indices)
                .filter_map(|(a, i)| {
                    let kept = s.actions.iter_mut().find(|k| k.seq == a.seq)?;
                    kept.log_index = Some(*i);
                    Some(kept.clone())
                })
                .collect()
        };
        if let Err(e) = self.store.save(&[], &[], &updated, None) {
            warn!(error = %e, "log indices of officers' actions not stored; they will be appended again");
        }
        for a in updated {
            let _ = self.events.send(Change::Action(a));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_digest_covers_the_record_but_not_its_log_index() {
        let a = ActionRecord {
            seq: 1,
            at_ms: 5,
            officer: "oc".into(),
            action: "lock".into(),
            target: "device:c-1".into(),
            district: "centro".into(),
            note: String::new(),
            log_index: None,
        };
        let logged = ActionRecord { log_index: Some(9), ..a.clone() };
        assert_eq!(a.digest(), logged.digest());
        assert_ne!(a.digest(), ActionRecord { at_ms: 6, ..a.clone() }.digest());
        let LogEntry::Event { detail, digest, .. } = a.log_entry() else { panic!("an event") };
        assert_eq!((detail.as_str(), digest), ("officer oc lock device:c-1", a.digest()));
    }
}
