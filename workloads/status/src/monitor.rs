//! The fleet monitor's `GET /v1/status` (`urna booth monitor`): what the operator copies into the
//! BoothFleet's status.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MonitorStatus {
    pub fleet: String,
    /// Devices the fleet's rules list (the BoothFleet's inventory).
    pub devices_expected: u64,
    /// Devices heard from within the offline limit.
    pub devices_online: u64,
    /// Listed devices not heard from within the offline limit (never heard from included).
    pub devices_offline: u64,
    /// Devices whose connection the broker refused as blocked, in the current burst window (the monitor sees
    /// refusals through the brokers' auth-failure reports; the broker's `/v1/status` lists the blocklist).
    pub devices_blocked: u64,
    /// Conditions in an alerted episode now (offline, outside the geofence, flapping, ...).
    pub active_alerts: u64,
    /// Alerts raised since start (the feed at `GET /v1/alerts` keeps the latest).
    pub alerts_raised: u64,
    /// Brokers subscribed to, of those configured: less than all means part of the fleet is unseen.
    pub brokers_subscribed: u64,
    pub brokers: u64,
    /// The same per Mesa (the rules' `mesa` of each device), by mesa id: what the operator shows on each Mesa.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mesas: Vec<MesaDevices>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MesaDevices {
    pub mesa: String,
    /// Devices the rules assign to this Mesa.
    pub devices: u64,
    /// Of those, heard from within the offline limit.
    pub online: u64,
    /// Conditions of its devices in an alerted episode now.
    pub active_alerts: u64,
}
