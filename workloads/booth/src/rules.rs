//! The fleet monitor's rules file (`urna booth monitor --rules FILE`, `rules.json` in the BoothFleet's
//! ConfigMap): per device its Mesa's rules, the fleet's thresholds and its regional officers. Defined once
//! here, outside the `server` feature, for the operator that writes it and the monitor that reads it.
//!
//! Fields are declared in alphabetical order of their JSON names: the operator wrote this file as sorted
//! JSON objects before these types existed, and its hash is in the monitor pod's template, so another order
//! would roll it. A threshold the BoothFleet leaves unset is omitted, and the monitor's default applies.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The whole file. Written by the operator (`build::boothfleet::monitor_rules`) and, adapted to a local
/// run, by `urna local`; read by the fleet monitor (`urna booth monitor --rules`, `crate::fleet::Fleet`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FleetRules {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_failure_window_ms: Option<u64>,
    /// Connections the broker refused for one device (or one address, when no certificate named a device)
    /// within `authFailureWindowMs` that count as a burst.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_failures: Option<u32>,
    /// Device id → its mesa's rules.
    pub devices: BTreeMap<String, MesaRules>,
    /// Connects of one device within `flapWindowMs` that count as flapping.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flap_connects: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flap_window_ms: Option<u64>,
    /// Regional officers: who sees and handles the alerts of which districts (`crate::ops::routing`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub officers: Vec<Officer>,
    #[serde(default = "default_offline_ms")]
    pub offline_after_ms: u64,
    /// Robust z-score above which a booth's vote rate alerts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vote_rate_z: Option<f64>,
    /// Votes per hour above which a booth alerts whatever the fleet does.
    #[serde(default = "default_vote_limit")]
    pub votes_per_hour_limit: f64,
}

fn default_offline_ms() -> u64 {
    120_000
}

fn default_vote_limit() -> f64 {
    120.0
}

/// The thresholds the file may leave out, with the monitor's defaults.
impl FleetRules {
    pub fn auth_failure_window_ms(&self) -> u64 {
        self.auth_failure_window_ms.unwrap_or(60_000)
    }

    pub fn auth_failures(&self) -> usize {
        self.auth_failures.map_or(5, |n| n as usize)
    }

    pub fn flap_connects(&self) -> usize {
        self.flap_connects.map_or(5, |n| n as usize)
    }

    pub fn flap_window_ms(&self) -> u64 {
        self.flap_window_ms.unwrap_or(300_000)
    }

    pub fn vote_rate_z(&self) -> f64 {
        self.vote_rate_z.unwrap_or(5.0)
    }
}

/// One device's rules, from its Mesa and BoothFleet. Written by the operator (absent fields: the Mesa or
/// fleet does not say); read by the fleet monitor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MesaRules {
    /// Voters in the mesa's census.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub census: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closes_ms: Option<u64>,
    /// The Mesa's district: where its alerts are routed (the officers declared for it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub district: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub geofence: Option<GeofenceSpec>,
    pub mesa: String,
    /// Voting hours, Unix milliseconds `[opensMs, closesMs)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opens_ms: Option<u64>,
}

/// Where a device must stay. Written by the operator (the Mesa's geofence, else the fleet's default); read
/// by the fleet monitor, which also shows it on the operations dashboard.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GeofenceSpec {
    pub lat: f64,
    pub lon: f64,
    pub radius_m: f64,
}

/// One regional officer (`officers` in the rules). Written by the operator from the BoothFleet's
/// `spec.officers` (and by `urna local` with fresh tokens); read by the fleet monitor, which routes alerts
/// and checks officers' requests with it (`crate::ops::routing`). The token's digest is public, like a Mesa
/// member's public key: the token stays with the officer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Officer {
    /// The districts whose alerts and devices this officer handles (a Mesa's `district`).
    pub districts: Vec<String>,
    pub id: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// SHA-256 (hex) of the officer's bearer token.
    #[serde(default)]
    pub token_sha256: String,
    /// Where this officer's alerts are POSTed (https://, or http:// inside the cluster).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<String>,
}

impl Officer {
    /// Whether `district` is one of this officer's. An alert or device without a district (a refused
    /// connection from an unknown address) belongs to no region, so no officer acts on it.
    pub fn covers(&self, district: &str) -> bool {
        !district.is_empty() && self.districts.iter().any(|d| d == district)
    }
}
