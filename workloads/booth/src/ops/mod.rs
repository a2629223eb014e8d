//! The operations centre behind the fleet monitor: the fleet state kept durably ([`state`], [`store`]),
//! alerts routed to the regional officers of their district ([`routing`]), the officers' read API with live
//! updates and their actions on alerts and devices ([`api`]), and the dashboard that uses them
//! ([`dashboard`], `web/ops`). Device actions go through the existing channels only: lock, unlock and
//! position requests as MQTT commands on the device's `cmd/` topics (the monitor's backend identity may
//! publish there), block and unblock through the brokers' blocklist admin API (with its bearer token).

pub mod api;
pub mod audit_log;
pub mod dashboard;
pub mod routing;
pub mod state;
pub mod store;

use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::Bytes;
use tokio::sync::broadcast;
use tracing::{info, warn};

use self::state::{ActionRecord, Change, DeviceAction, OpsState};
use self::store::OpsStore;
use crate::error::Result;
use crate::heard::Heard;
use crate::monitor::Alert;
use crate::rules::{FleetRules, Officer};

/// One broker's blocklist admin API: its status address (`http://HOST:PORT`) and the admin token.
#[derive(Clone, Debug)]
pub struct BrokerAdmin {
    pub url: String,
    pub token: Option<urna_auth::Token>,
}

#[derive(Clone, Debug)]
pub struct OpsConfig {
    /// The redb file the state is kept in (created if missing).
    pub store: PathBuf,
    /// Every broker's admin API (block and unblock go to all: a device may reconnect to any replica).
    pub brokers: Vec<BrokerAdmin>,
    /// How often changed devices are stored and sent to the dashboards.
    pub flush: Duration,
    /// A map tile URL template (`https://host/{z}/{x}/{y}.png`) for the dashboard; without it the map
    /// draws the resources' geofences on a blank background.
    pub tiles: Option<String>,
    /// The election's audit log, where officers' actions are appended ([`audit_log`]); without it they are
    /// kept in the store only.
    pub audit: Option<urna_audit::AuditClient>,
}

/// A command for one device, published by every broker session of the monitor (the device is connected to
/// one of them; the others have no subscriber for it).
#[derive(Clone, Debug)]
pub struct DeviceCommand {
    pub topic: String,
    pub payload: Bytes,
}

#[derive(Debug, thiserror::Error)]
pub enum ActionError {
    #[error(transparent)]
    Refused(#[from] state::OpsError),
    #[error("store: {0}")]
    Store(#[from] crate::Error),
    #[error("broker admin API: {0}")]
    Broker(String),
}

/// Events for the dashboards; a slow one that falls this far behind is told to reload.
const EVENTS: usize = 4096;

pub struct Ops {
    fleet: String,
    pub(crate) officers: Vec<Officer>,
    offline_after_ms: u64,
    state: Mutex<OpsState>,
    store: OpsStore,
    pub(crate) events: broadcast::Sender<Change>,
    pub(crate) commands: broadcast::Sender<DeviceCommand>,
    brokers: Vec<BrokerAdmin>,
    http: urna_http::HttpClient,
    pub(crate) rules: FleetRules,
    pub flush: Duration,
    pub(crate) tiles: Option<String>,
    pub(crate) audit: Option<urna_audit::AuditClient>,
    /// Wakes the audit log task when an action is recorded.
    pub(crate) logged: Arc<tokio::sync::Notify>,
}

impl Ops {
    /// Opens the store (the state as it was at the last stop) and lists every device of the rules.
    pub fn open(cfg: &OpsConfig, fleet: &str, rules: &FleetRules) -> Result<Arc<Self>> {
        let store = OpsStore::open(&cfg.store)?;
        let mut state = store.load()?;
        state.reconcile_rules(rules);
        info!(devices = state.devices.len(), alerts = state.alerts.len(), "operations state loaded");
        Ok(Arc::new(Self {
            fleet: fleet.to_owned(),
            officers: rules.officers.clone(),
            offline_after_ms: rules.offline_after_ms,
            state: Mutex::new(state),
            store,
            events: broadcast::channel(EVENTS).0,
            commands: broadcast::channel(1024).0,
            brokers: cfg.brokers.clone(),
            http: urna_http::HttpClient::new(),
            rules: rules.clone(),
            flush: cfg.flush,
            tiles: cfg.tiles.clone(),
            audit: cfg.audit.clone(),
            logged: Arc::new(tokio::sync::Notify::new()),
        }))
    }

    pub(crate) fn state(&self) -> MutexGuard<'_, OpsState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn fleet(&self) -> &str {
        &self.fleet
    }

    pub fn offline_after_ms(&self) -> u64 {
        self.offline_after_ms
    }

    /// A booth message: kept in the state (sent on the next flush); commands the booth should have obeyed
    /// and reports it has not are sent again.
    pub fn on_telemetry(&self, device: &str, msg: &Heard, now_ms: u64) {
        let resend = self.state().observe(device, msg, now_ms);
        for action in resend {
            info!(%device, action = action.as_str(), "re-sending an officer's command the booth has not applied");
            self.publish(device, action);
        }
    }

    pub fn on_blocked(&self, device: &str) {
        self.state().observe_blocked(device);
    }

    /// Numbers and records the rules' alerts (committed before anything else sees them) and tells the
    /// dashboards. Returns them numbered, for the other outputs.
    pub fn on_alerts(&self, alerts: Vec<Alert>) -> Vec<Alert> {
        if alerts.is_empty() {
            return alerts;
        }
        let mut out = Vec::with_capacity(alerts.len());
        let mut records = Vec::with_capacity(alerts.len());
        {
            let mut s = self.state();
            for a in alerts {
                let (a, r) = s.raise(a, &self.officers);
                out.push(a);
                records.push(r);
            }
        }
        if let Err(e) = self.store.save(&[], &records, &[], None) {
            warn!(error = %e, "alerts not stored; they are still served and sent");
        }
        for r in records {
            let _ = self.events.send(Change::Alert(r));
        }
        out
    }

    /// Stores the devices changed since the last flush and sends them to the dashboards.
    pub fn flush(&self, now_ms: u64, age: bool) {
        let (devices, turnout) = {
            let mut s = self.state();
            if age {
                s.age(now_ms, self.offline_after_ms);
            }
            let (devices, turnout_changed) = s.take_dirty(now_ms, self.offline_after_ms);
            (devices, turnout_changed.then(|| s.turnout.clone()))
        };
        if let Err(e) = self.store.save(&devices, &[], &[], turnout.as_ref()) {
            warn!(error = %e, devices = devices.len(), "device state not stored");
        }
        for d in devices {
            let _ = self.events.send(Change::Device(d));
        }
    }

    fn publish(&self, device: &str, action: DeviceAction) {
        let name = match action {
            DeviceAction::Lock => "lock",
            DeviceAction::Unlock => "unlock",
            DeviceAction::Block => "block",
            DeviceAction::Unblock => "unblock",
            DeviceAction::Position => "position",
        };
        let topic = format!("{}cmd/{name}", urna_broker::acl::device_prefix(&self.fleet, device));
        let _ = self.commands.send(DeviceCommand { topic, payload: Bytes::from_static(b"{}") });
    }

    /// An officer's action on a device: checked (known device, the officer's region), recorded with who and
    /// when, then carried out. Block tells the booth first (it stops taking ballots and keeps the flag) and
    /// then has every broker refuse it; unblock lets it back in first, then tells it (and again when it
    /// reports itself still blocked after reconnecting).
    pub async fn device_action(
        &self,
        officer: &Officer,
        device: &str,
        action: DeviceAction,
        note: &str,
        now_ms: u64,
    ) -> std::result::Result<ActionRecord, ActionError> {
        let record = self.state().device_action(officer, device, action, note, now_ms)?;
        self.store.save(&[], &[], std::slice::from_ref(&record), None)?;
        self.logged.notify_one();
        tracing::warn!(target: "urna::audit", officer = %officer.id, %device, action = action.as_str(), at_ms = now_ms, "officer action");
        match action {
            DeviceAction::Block => {
                self.publish(device, action);
                // Give the command a moment to reach the booth before its session is closed.
                tokio::time::sleep(Duration::from_millis(200)).await;
                self.blocklist(device, true).await?;
            }
            DeviceAction::Unblock => {
                self.blocklist(device, false).await?;
                self.publish(device, action);
            }
            _ => self.publish(device, action),
        }
        let _ = self.events.send(Change::Action(record.clone()));
        self.flush(now_ms, false);
        Ok(record)
    }

    /// An officer's handling of an alert: checked, recorded, stored, sent to the dashboards.
    pub fn alert_action(
        &self,
        officer: &Officer,
        id: u64,
        action: state::AlertAction,
        note: &str,
        now_ms: u64,
    ) -> std::result::Result<state::AlertRecord, ActionError> {
        let (record, act) = self.state().handle_alert(officer, id, action, note, now_ms)?;
        self.store.save(&[], std::slice::from_ref(&record), std::slice::from_ref(&act), None)?;
        self.logged.notify_one();
        tracing::warn!(target: "urna::audit", officer = %officer.id, alert = id, action = action.as_str(), at_ms = now_ms, "officer action");
        let _ = self.events.send(Change::Alert(record.clone()));
        let _ = self.events.send(Change::Action(act));
        self.flush(now_ms, false);
        Ok(record)
    }

    async fn blocklist(&self, device: &str, block: bool) -> std::result::Result<(), ActionError> {
        if self.brokers.is_empty() {
            return Err(ActionError::Broker("no broker admin API configured (--broker-admin)".into()));
        }
        for b in &self.brokers {
            let url = format!("{}/v1/blocklist/{device}", b.url.trim_end_matches('/'));
            let method = if block { http::Method::PUT } else { http::Method::DELETE };
            let (status, _) = self
                .http
                .send(method, &url, b.token.as_ref().map(urna_auth::Token::expose), None, Duration::from_secs(10))
                .await
                .map_err(|e| ActionError::Broker(e.to_string()))?;
            if !status.is_success() {
                return Err(ActionError::Broker(format!("{}: status {status}", b.url)));
            }
        }
        Ok(())
    }
}
