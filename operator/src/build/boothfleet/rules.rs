//! The fleet ConfigMap's monitor rules and broker blocklist.

use std::collections::{BTreeMap, BTreeSet};

use kube::ResourceExt;
use urna_booth::rules::{FleetRules, GeofenceSpec, MesaRules, Officer};

use super::{FleetInputs, device_mesas};
use crate::crd::BoothFleet;

fn millis(t: &k8s_openapi::apimachinery::pkg::apis::meta::v1::Time) -> Option<u64> {
    u64::try_from(t.0.as_millisecond()).ok()
}

/// The fleet monitor's rules (`urna booth monitor --rules`, [`urna_booth::rules`]): per unblocked device its
/// Mesa, geofence (the Mesa's, else the fleet default; none when `anomalyRules.geofence` is off), window (the
/// Mesa's effective window, Unix ms) and census (the Mesa's `registeredVoters`), and the fleet thresholds.
/// Thresholds the BoothFleet leaves unset are omitted so the monitor's defaults apply.
pub fn monitor_rules(f: &BoothFleet, inputs: FleetInputs<'_>) -> FleetRules {
    let r = &f.spec.anomaly_rules;
    let blocked: BTreeSet<&str> = f.spec.blocked_devices.iter().map(String::as_str).collect();
    let mesa_of = device_mesas(f, inputs.mesas);
    let geofence = |g: &crate::crd::common::Geofence| GeofenceSpec {
        lat: g.latitude,
        lon: g.longitude,
        radius_m: f64::from(g.radius_meters),
    };
    let mut devices = BTreeMap::new();
    for d in f.spec.device_list() {
        if blocked.contains(d.id.as_str()) {
            continue;
        }
        let mesa_name = mesa_of.get(&d.id).cloned().unwrap_or_default();
        let mesa = inputs.mesas.iter().find(|m| m.name_any() == mesa_name);
        let window = mesa.and_then(|m| match inputs.election {
            Some(e) => crate::validate::mesa_window(m, e),
            None => m.spec.window.clone(),
        });
        let fence = mesa.and_then(|m| m.spec.location.geofence.as_ref()).or(f.spec.default_geofence.as_ref());
        let rules = MesaRules {
            census: mesa.and_then(|m| m.spec.registered_voters).map(u64::from),
            closes_ms: window.as_ref().and_then(|w| millis(&w.closes_at)),
            // Routes the device's alerts to the officers of its district.
            district: mesa.map(|m| m.spec.district.clone()),
            geofence: fence.filter(|_| r.geofence).map(geofence),
            mesa: mesa_name,
            opens_ms: window.as_ref().and_then(|w| millis(&w.opens_at)),
        };
        devices.insert(d.id, rules);
    }
    let officers = f.spec.officers.iter().map(|o| Officer {
        districts: o.districts.clone(),
        id: o.id.clone(),
        name: o.name.clone(),
        token_sha256: o.token_sha256.clone(),
        webhook: o.webhook.clone(),
    });
    FleetRules {
        auth_failure_window_ms: None,
        auth_failures: None,
        devices,
        flap_connects: r.flap_connects,
        flap_window_ms: r.flap_window_seconds.map(|s| u64::from(s) * 1000),
        officers: officers.collect(),
        offline_after_ms: u64::from(r.offline_after_seconds) * 1000,
        vote_rate_z: r.vote_rate_z,
        votes_per_hour_limit: f64::from(r.max_ballots_per_minute) * 60.0,
    }
}

/// `urna broker --blocklist`: one id per line, `#` comments.
pub(super) fn blocklist(fleet: &str, blocked: &BTreeSet<String>) -> String {
    let mut s = format!("# Blocked devices of BoothFleet {fleet} (spec.blockedDevices), written by the operator.\n");
    for d in blocked {
        s.push_str(d);
        s.push('\n');
    }
    s
}
