//! What the operations centre knows of the fleet, as pure state: each device's last position, heartbeat,
//! health fields, lock and block state and ballots; every alert with its handling (acknowledged, resolved,
//! escalated, by whom and when, with notes); turnout per district over time; and every officer action.
//! [`crate::ops::store`] keeps it durably, [`crate::ops::api`] serves it. No I/O here: the caller passes the
//! time, so scenarios are unit tests.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use crate::heard::Heard;
use crate::monitor::{Alert, Priority};
use crate::ops::routing::officers_for;
use crate::rules::{FleetRules, Officer};

/// A device's last reported position.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Position {
    pub lat: f64,
    pub lon: f64,
    pub at_ms: u64,
}

/// One device as the map shows it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeviceView {
    pub id: String,
    pub mesa: String,
    pub district: String,
    pub last_seen_ms: Option<u64>,
    pub last_heartbeat_ms: Option<u64>,
    pub position: Option<Position>,
    /// The fields of the last heartbeat (pending messages, battery, ... whatever the booth reports).
    #[serde(default)]
    pub health: serde_json::Value,
    /// Connected as the booth last said (`state`; its will says `online: false` when the link drops).
    pub connected: bool,
    /// Lock and block as the booth last reported them.
    pub locked: bool,
    pub blocked: bool,
    /// What an officer last asked for: re-sent when the booth reports something else (a command sent while
    /// it was offline).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub want_locked: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub want_blocked: Option<bool>,
    pub ballots: u64,
    /// Rules with an alert not yet resolved.
    #[serde(default)]
    pub alerting: BTreeSet<String>,
    /// The map colour: `alerting`, `blocked`, `locked`, `offline` or `online` ([`DeviceView::state`]).
    #[serde(default)]
    pub state: String,
}

impl DeviceView {
    /// The one state the map colours a booth by, most urgent first: an unresolved alert, then blocked,
    /// locked, offline (not heard from within `offline_after_ms`, or disconnected), online.
    pub fn state(&self, now_ms: u64, offline_after_ms: u64) -> &'static str {
        let heard = self.last_seen_ms.is_some_and(|t| now_ms.saturating_sub(t) <= offline_after_ms);
        if !self.alerting.is_empty() {
            "alerting"
        } else if self.blocked || self.want_blocked == Some(true) {
            "blocked"
        } else if self.locked {
            "locked"
        } else if !heard || !self.connected {
            "offline"
        } else {
            "online"
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum AlertStatus {
    Open,
    Acknowledged,
    Resolved,
}

/// One step in an alert's handling.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Note {
    pub officer: String,
    pub action: String,
    pub at_ms: u64,
    #[serde(default)]
    pub note: String,
}

/// An alert with its handling, as the desk shows it and the store keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertRecord {
    pub id: u64,
    pub device: String,
    pub mesa: String,
    pub district: String,
    pub rule: String,
    pub priority: Priority,
    pub evidence: serde_json::Value,
    pub at_ms: u64,
    pub status: AlertStatus,
    pub escalated: bool,
    /// The officers it was routed to (those of its district when it was raised).
    pub officers: Vec<String>,
    pub history: Vec<Note>,
}

/// What an officer does to an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AlertAction {
    Acknowledge,
    Resolve,
    Escalate,
}

impl AlertAction {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "acknowledge" => Some(Self::Acknowledge),
            "resolve" => Some(Self::Resolve),
            "escalate" => Some(Self::Escalate),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Acknowledge => "acknowledge",
            Self::Resolve => "resolve",
            Self::Escalate => "escalate",
        }
    }
}

/// What an officer does to a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeviceAction {
    Lock,
    Unlock,
    Block,
    Unblock,
    /// Ask the booth for a GPS fix now.
    Position,
}

impl DeviceAction {
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "lock" => Some(Self::Lock),
            "unlock" => Some(Self::Unlock),
            "block" => Some(Self::Block),
            "unblock" => Some(Self::Unblock),
            "position" => Some(Self::Position),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Lock => "lock",
            Self::Unlock => "unlock",
            Self::Block => "block",
            Self::Unblock => "unblock",
            Self::Position => "position",
        }
    }
}

/// One officer action, kept for the record: who, when, what, on which device or alert.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActionRecord {
    pub seq: u64,
    pub at_ms: u64,
    pub officer: String,
    pub action: String,
    /// `device:<id>` or `alert:<id>`.
    pub target: String,
    pub district: String,
    #[serde(default)]
    pub note: String,
    /// Where the election's audit log holds it (an `officer-action` event), once appended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_index: Option<u64>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OpsError {
    #[error("no device {0} in this fleet")]
    UnknownDevice(String),
    #[error("no alert {0}")]
    UnknownAlert(u64),
    #[error("{officer} is not an officer of district {district:?}")]
    NotYourRegion { officer: String, district: String },
    #[error("alert {0} is already resolved")]
    Resolved(u64),
    #[error("a note is required to {0}")]
    NoteRequired(&'static str),
    #[error("a note holds at most {NOTE_MAX} bytes")]
    NoteTooLong,
}

/// The longest note an officer may leave.
pub const NOTE_MAX: usize = 2000;

/// Minutes of turnout kept per district (a day and a half of voting).
const TURNOUT_BUCKETS: usize = 2160;
const MINUTE_MS: u64 = 60_000;

/// A change worth telling the dashboards about.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum Change {
    Device(DeviceView),
    Alert(AlertRecord),
    Action(ActionRecord),
}

#[derive(Debug, Default)]
pub struct OpsState {
    pub devices: BTreeMap<String, DeviceView>,
    pub alerts: BTreeMap<u64, AlertRecord>,
    pub actions: Vec<ActionRecord>,
    /// District → minute (Unix ms of its start) → ballots seen in it.
    pub turnout: BTreeMap<String, BTreeMap<u64, u64>>,
    /// Devices changed since the last [`OpsState::take_dirty`].
    dirty: BTreeSet<String>,
    turnout_dirty: bool,
}

impl OpsState {
    /// Every device the rules list, with its Mesa and district, before anything is heard from it.
    pub fn seeded(rules: &FleetRules) -> Self {
        let mut s = Self::default();
        s.reconcile_rules(rules);
        s
    }

    /// Adds devices the rules list and the state lacks (a restart with a larger fleet), and refreshes
    /// every device's Mesa and district from the rules.
    pub fn reconcile_rules(&mut self, rules: &FleetRules) {
        for (id, r) in &rules.devices {
            let d =
                self.devices.entry(id.clone()).or_insert_with(|| DeviceView { id: id.clone(), ..Default::default() });
            d.mesa = r.mesa.clone();
            d.district = r.district.clone().unwrap_or_default();
        }
    }

    pub fn next_alert_id(&self) -> u64 {
        self.alerts.last_key_value().map_or(1, |(k, _)| k + 1)
    }

    fn next_action_seq(&self) -> u64 {
        self.actions.last().map_or(1, |a| a.seq + 1)
    }

    /// A message from a booth (a resent envelope is a sign of life, not a new ballot). Returns the commands
    /// to re-send to the device (a lock or block an officer asked for that the booth does not report yet).
    /// Unlisted devices are not shown (the alert rules still judge them).
    pub fn observe(&mut self, device: &str, msg: &Heard, now_ms: u64) -> Vec<DeviceAction> {
        let Some(d) = self.devices.get_mut(device) else { return Vec::new() };
        d.last_seen_ms = Some(now_ms);
        let mut resend = Vec::new();
        match msg.channel {
            "heartbeat" => {
                d.last_heartbeat_ms = Some(now_ms);
                d.connected = true;
                if let Ok(v) = serde_json::from_slice::<serde_json::Value>(msg.payload) {
                    d.health = v;
                }
            }
            "state" => {
                if let Ok(v) = serde_json::from_slice::<serde_json::Value>(msg.payload) {
                    d.connected = v["online"] == true;
                    if d.connected {
                        d.locked = v["locked"] == true;
                        d.blocked = v["blocked"] == true;
                        if d.want_locked.is_some_and(|w| w != d.locked) {
                            resend.push(if d.locked { DeviceAction::Unlock } else { DeviceAction::Lock });
                        }
                        if d.want_blocked.is_some_and(|w| w != d.blocked) {
                            resend.push(if d.blocked { DeviceAction::Unblock } else { DeviceAction::Block });
                        }
                    }
                }
            }
            _ => {
                d.connected = true;
                if let Some(env) = &msg.fresh {
                    match env.kind.as_str() {
                        "gps" => {
                            if let (Some(lat), Some(lon)) = (env.body["lat"].as_f64(), env.body["lon"].as_f64())
                                && lat.is_finite()
                                && lon.is_finite()
                            {
                                d.position = Some(Position { lat, lon, at_ms: env.at_ms });
                            }
                        }
                        "ballot" => {
                            d.ballots += 1;
                            let district = d.district.clone();
                            let minute = env.at_ms - env.at_ms % MINUTE_MS;
                            let series = self.turnout.entry(district).or_default();
                            *series.entry(minute).or_default() += 1;
                            while series.len() > TURNOUT_BUCKETS {
                                series.pop_first();
                            }
                            self.turnout_dirty = true;
                        }
                        _ => {}
                    }
                }
            }
        }
        self.dirty.insert(device.to_owned());
        resend
    }

    /// The broker refused `device` as blocked: it is blocked, whatever it last said.
    pub fn observe_blocked(&mut self, device: &str) {
        if let Some(d) = self.devices.get_mut(device) {
            d.blocked = true;
            d.connected = false;
            self.dirty.insert(device.to_owned());
        }
    }

    /// Numbers an alert the rules raised and records it, routed to the officers of its district.
    pub fn raise(&mut self, mut alert: Alert, officers: &[Officer]) -> (Alert, AlertRecord) {
        alert.id = self.next_alert_id();
        let record = AlertRecord {
            id: alert.id,
            device: alert.device.clone(),
            mesa: alert.mesa.clone(),
            district: alert.district.clone(),
            rule: alert.rule.to_owned(),
            priority: alert.priority,
            evidence: alert.evidence.clone(),
            at_ms: alert.at_ms,
            status: AlertStatus::Open,
            escalated: false,
            officers: officers_for(officers, &alert.district).map(|o| o.id.clone()).collect(),
            history: Vec::new(),
        };
        if let Some(d) = self.devices.get_mut(&alert.device) {
            d.alerting.insert(record.rule.clone());
            self.dirty.insert(alert.device.clone());
        }
        self.alerts.insert(record.id, record.clone());
        (alert, record)
    }

    fn record_action(
        &mut self,
        officer: &Officer,
        action: &str,
        target: String,
        district: &str,
        note: &str,
        now_ms: u64,
    ) -> ActionRecord {
        let a = ActionRecord {
            seq: self.next_action_seq(),
            at_ms: now_ms,
            officer: officer.id.clone(),
            action: action.to_owned(),
            target,
            district: district.to_owned(),
            note: note.to_owned(),
            log_index: None,
        };
        self.actions.push(a.clone());
        a
    }

    /// An officer acknowledges, resolves (with a note) or escalates (with a note) an alert of their region.
    pub fn handle_alert(
        &mut self,
        officer: &Officer,
        id: u64,
        action: AlertAction,
        note: &str,
        now_ms: u64,
    ) -> Result<(AlertRecord, ActionRecord), OpsError> {
        let note = note.trim();
        if note.len() > NOTE_MAX {
            return Err(OpsError::NoteTooLong);
        }
        let a = self.alerts.get(&id).ok_or(OpsError::UnknownAlert(id))?;
        if !officer.covers(&a.district) {
            return Err(OpsError::NotYourRegion { officer: officer.id.clone(), district: a.district.clone() });
        }
        if a.status == AlertStatus::Resolved {
            return Err(OpsError::Resolved(id));
        }
        if note.is_empty() && matches!(action, AlertAction::Resolve | AlertAction::Escalate) {
            return Err(OpsError::NoteRequired(action.as_str()));
        }
        let (device, rule, district) = (a.device.clone(), a.rule.clone(), a.district.clone());
        let Some(a) = self.alerts.get_mut(&id) else { return Err(OpsError::UnknownAlert(id)) };
        match action {
            AlertAction::Acknowledge => a.status = AlertStatus::Acknowledged,
            AlertAction::Resolve => a.status = AlertStatus::Resolved,
            AlertAction::Escalate => a.escalated = true,
        }
        a.history.push(Note {
            officer: officer.id.clone(),
            action: action.as_str().into(),
            at_ms: now_ms,
            note: note.into(),
        });
        let record = a.clone();
        if action == AlertAction::Resolve {
            let still =
                self.alerts.values().any(|o| o.device == device && o.rule == rule && o.status != AlertStatus::Resolved);
            if !still && let Some(d) = self.devices.get_mut(&device) {
                d.alerting.remove(&rule);
                self.dirty.insert(device.clone());
            }
        }
        let act = self.record_action(officer, action.as_str(), format!("alert:{id}"), &district, note, now_ms);
        Ok((record, act))
    }

    /// Checks that `officer` may act on `device` and records the wish (lock and block are kept as wanted
    /// states until the booth reports them). The caller sends the command.
    pub fn device_action(
        &mut self,
        officer: &Officer,
        device: &str,
        action: DeviceAction,
        note: &str,
        now_ms: u64,
    ) -> Result<ActionRecord, OpsError> {
        let note = note.trim();
        if note.len() > NOTE_MAX {
            return Err(OpsError::NoteTooLong);
        }
        let d = self.devices.get_mut(device).ok_or_else(|| OpsError::UnknownDevice(device.to_owned()))?;
        if !officer.covers(&d.district) {
            return Err(OpsError::NotYourRegion { officer: officer.id.clone(), district: d.district.clone() });
        }
        match action {
            DeviceAction::Lock => d.want_locked = Some(true),
            DeviceAction::Unlock => d.want_locked = Some(false),
            DeviceAction::Block => d.want_blocked = Some(true),
            DeviceAction::Unblock => {
                d.want_blocked = Some(false);
                // The broker let it back in; the booth says so when it reconnects.
                d.blocked = false;
            }
            DeviceAction::Position => {}
        }
        let district = d.district.clone();
        self.dirty.insert(device.to_owned());
        Ok(self.record_action(officer, action.as_str(), format!("device:{device}"), &district, note, now_ms))
    }

    /// Devices changed since the last call, with their map state at `now_ms`; and whether turnout changed.
    pub fn take_dirty(&mut self, now_ms: u64, offline_after_ms: u64) -> (Vec<DeviceView>, bool) {
        let ids = std::mem::take(&mut self.dirty);
        let mut out = Vec::with_capacity(ids.len());
        for id in &ids {
            if let Some(d) = self.devices.get_mut(id) {
                d.state = d.state(now_ms, offline_after_ms).into();
                out.push(d.clone());
            }
        }
        (out, std::mem::take(&mut self.turnout_dirty))
    }

    /// Devices whose map state changed with time alone (went offline): marked dirty.
    pub fn age(&mut self, now_ms: u64, offline_after_ms: u64) {
        for d in self.devices.values() {
            if d.state != d.state(now_ms, offline_after_ms) {
                self.dirty.insert(d.id.clone());
            }
        }
    }

    /// Every device with its state now.
    pub fn devices_now(&mut self, now_ms: u64, offline_after_ms: u64) -> Vec<DeviceView> {
        self.devices
            .values_mut()
            .map(|d| {
                d.state = d.state(now_ms, offline_after_ms).into();
                d.clone()
            })
            .collect()
    }

    /// The alerts of `officer`'s region, most urgent and newest first; resolved ones last.
    pub fn desk(&self, officer: &Officer) -> Vec<AlertRecord> {
        let mut v: Vec<AlertRecord> = self.alerts.values().filter(|a| officer.covers(&a.district)).cloned().collect();
        v.sort_by(|a, b| {
            (a.status == AlertStatus::Resolved)
                .cmp(&(b.status == AlertStatus::Resolved))
                .then(b.priority.cmp(&a.priority))
                .then(b.id.cmp(&a.id))
        });
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::heard::Resends;
    use crate::monitor::priority;
    use crate::ops::routing::token_sha256;
    use crate::rules::MesaRules;

    fn rules() -> FleetRules {
        let mut devices = BTreeMap::new();
        for (d, m, district) in [("c-1", "mc", "centro"), ("n-1", "mn", "norte")] {
            devices.insert(
                d.to_owned(),
                MesaRules {
                    mesa: m.into(),
                    district: Some(district.into()),
                    geofence: None,
                    opens_ms: None,
                    closes_ms: None,
                    census: None,
                },
            );
        }
        serde_json::from_value::<FleetRules>(serde_json::json!({ "devices": {} }))
            .map(|mut r| {
                r.devices = devices;
                r
            })
            .unwrap_or_else(|e| panic!("{e}"))
    }

    fn officer(id: &str, district: &str) -> Officer {
        Officer {
            id: id.into(),
            name: id.into(),
            districts: vec![district.into()],
            webhook: None,
            token_sha256: token_sha256(id),
        }
    }

    fn alert(device: &str, district: &str, rule: &'static str) -> Alert {
        Alert {
            id: 0,
            device: device.into(),
            mesa: String::new(),
            district: district.into(),
            rule,
            priority: priority(rule),
            evidence: serde_json::json!({}),
            at_ms: 5,
        }
    }

    fn hear(s: &mut OpsState, device: &str, channel: &str, payload: &[u8], now_ms: u64) -> Vec<DeviceAction> {
        s.observe(device, &Heard::first(channel, payload), now_ms)
    }

    #[test]
    fn devices_keep_position_health_and_state() {
        let mut s = OpsState::seeded(&rules());
        let gps = serde_json::json!({ "device": "c-1", "seq": 1, "kind": "gps", "atMs": 7, "body": { "lat": 19.4, "lon": -99.1 } });
        hear(&mut s, "c-1", "gps", gps.to_string().as_bytes(), 10);
        hear(&mut s, "c-1", "heartbeat", br#"{"pending":3,"battery":0.8}"#, 20);
        hear(&mut s, "c-1", "state", br#"{"online":true,"locked":true,"blocked":false}"#, 30);
        hear(&mut s, "ghost", "heartbeat", b"{}", 30);
        let (dirty, _) = s.take_dirty(40, 1000);
        assert_eq!(dirty.len(), 1, "the unlisted device is not on the map");
        let d = &dirty[0];
        assert_eq!(d.position, Some(Position { lat: 19.4, lon: -99.1, at_ms: 7 }));
        assert_eq!((d.health["battery"].as_f64(), d.locked, d.state.as_str()), (Some(0.8), true, "locked"));
        assert_eq!(s.devices["n-1"].state(40, 1000), "offline", "never heard from");
        // The documented order (alerting, blocked, locked, offline, online): a lock outranks silence, and a
        // silent booth is flagged anyway by the monitor's offline alert, which outranks both.
        assert_eq!(s.devices["c-1"].state(2000, 1000), "locked", "locked, then silent");
        hear(&mut s, "c-1", "state", br#"{"online":true,"locked":false,"blocked":false}"#, 50);
        assert_eq!(s.devices["c-1"].state(60, 1000), "online");
        assert_eq!(s.devices["c-1"].state(2000, 1000), "offline", "silent too long");
        let (dirty, _) = s.take_dirty(60, 1000);
        assert_eq!(dirty.len(), 1, "unlocking changed c-1 again");
        assert!(s.take_dirty(70, 1000).0.is_empty());
    }

    #[test]
    fn alerts_are_numbered_routed_and_handled_by_their_region_only() -> Result<(), OpsError> {
        let mut s = OpsState::seeded(&rules());
        let officers = [officer("oc", "centro"), officer("on", "norte")];
        let (a, rec) = s.raise(alert("c-1", "centro", "outside_geofence"), &officers);
        assert_eq!((a.id, rec.officers.clone()), (1, vec!["oc".to_owned()]));
        let (sos, _) = s.raise(alert("c-1", "centro", "sos"), &officers);
        assert_eq!(sos.id, 2);
        assert_eq!(s.devices["c-1"].state(5, 1000), "alerting");
        assert_eq!(s.desk(&officers[0]).iter().map(|a| a.id).collect::<Vec<_>>(), [2, 1], "SOS first");
        assert!(s.desk(&officers[1]).is_empty());

        let other = s.handle_alert(&officers[1], 1, AlertAction::Acknowledge, "", 6);
        assert!(matches!(other, Err(OpsError::NotYourRegion { .. })));
        assert_eq!(s.handle_alert(&officers[0], 99, AlertAction::Acknowledge, "", 6), Err(OpsError::UnknownAlert(99)));
        assert_eq!(
            s.handle_alert(&officers[0], 1, AlertAction::Resolve, " ", 6),
            Err(OpsError::NoteRequired("resolve"))
        );
        let (acked, act) = s.handle_alert(&officers[0], 1, AlertAction::Acknowledge, "", 6)?;
        assert_eq!(
            (acked.status, act.officer.as_str(), act.target.as_str()),
            (AlertStatus::Acknowledged, "oc", "alert:1")
        );
        s.handle_alert(&officers[0], 1, AlertAction::Escalate, "needs police", 7)?;
        let (done, _) = s.handle_alert(&officers[0], 1, AlertAction::Resolve, "machine returned", 8)?;
        assert_eq!((done.status, done.escalated, done.history.len()), (AlertStatus::Resolved, true, 3));
        assert_eq!(s.handle_alert(&officers[0], 1, AlertAction::Acknowledge, "", 9), Err(OpsError::Resolved(1)));
        assert!(s.devices["c-1"].alerting.contains("sos") && !s.devices["c-1"].alerting.contains("outside_geofence"));
        assert_eq!(s.actions.len(), 3);
        Ok(())
    }

    #[test]
    fn device_actions_are_checked_and_re_sent_until_reported() -> Result<(), OpsError> {
        let mut s = OpsState::seeded(&rules());
        let oc = officer("oc", "centro");
        assert_eq!(s.device_action(&oc, "zz", DeviceAction::Lock, "", 1), Err(OpsError::UnknownDevice("zz".into())));
        assert!(matches!(s.device_action(&oc, "n-1", DeviceAction::Lock, "", 1), Err(OpsError::NotYourRegion { .. })));
        let act = s.device_action(&oc, "c-1", DeviceAction::Lock, "", 1)?;
        assert_eq!((act.action.as_str(), act.district.as_str()), ("lock", "centro"));
        // The booth was offline: when it reports itself unlocked, the lock goes again.
        let resend = hear(&mut s, "c-1", "state", br#"{"online":true,"locked":false,"blocked":false}"#, 2);
        assert_eq!(resend, vec![DeviceAction::Lock]);
        assert!(hear(&mut s, "c-1", "state", br#"{"online":true,"locked":true,"blocked":false}"#, 3).is_empty());
        Ok(())
    }

    #[test]
    fn turnout_counts_ballots_per_district_and_minute() {
        let mut s = OpsState::seeded(&rules());
        for (i, at) in [(1, 60_000), (2, 61_000), (3, 125_000)] {
            let b = serde_json::json!({ "device": "c-1", "seq": i, "kind": "ballot", "atMs": at, "body": {} });
            hear(&mut s, "c-1", "ballot", b.to_string().as_bytes(), at);
        }
        let series: Vec<(u64, u64)> = s.turnout["centro"].iter().map(|(k, v)| (*k, *v)).collect();
        assert_eq!(series, [(60_000, 2), (120_000, 1)]);
        assert_eq!(s.devices["c-1"].ballots, 3);
        assert!(s.take_dirty(0, 1).1);
    }

    #[test]
    fn a_resent_ballot_is_a_sign_of_life_not_a_new_vote() {
        let (mut s, mut resends) = (OpsState::seeded(&rules()), Resends::default());
        let b = serde_json::json!({ "device": "c-1", "seq": 1, "kind": "ballot", "atMs": 60_000, "body": {} });
        let b = b.to_string();
        for k in 0..4 {
            s.observe("c-1", &resends.hear("c-1", "ballot", b.as_bytes()), 60_000 + k);
        }
        assert_eq!(s.devices["c-1"].ballots, 1);
        assert_eq!(s.turnout["centro"].values().sum::<u64>(), 1, "the district's turnout counts it once");
        assert_eq!(s.devices["c-1"].last_seen_ms, Some(60_003));
    }
}
