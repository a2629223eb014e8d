//! The fleet ConfigMap's monitor rules and broker blocklist.

use std::collections::BTreeSet;

use kube::ResourceExt;
use serde_json::{Value, json};

use super::{FleetInputs, device_mesas};
use crate::crd::BoothFleet;

fn millis(t: &k8s_openapi::apimachinery::pkg::apis::meta::v1::Time) -> Option<u64> {
    u64::try_from(t.0.as_millisecond()).ok()
}

/// The fleet monitor's rules (`urna booth monitor --rules`, `urna_booth::fleet::FleetRules`): per unblocked
/// device its Mesa, geofence (the Mesa's, else the fleet default; none when `anomalyRules.geofence` is off),
/// window (the Mesa's effective window, Unix ms) and census (the Mesa's `registeredVoters`), and the fleet
/// thresholds. Thresholds the BoothFleet leaves unset are omitted so the monitor's defaults apply.
pub fn monitor_rules(f: &BoothFleet, inputs: FleetInputs<'_>) -> Value {
    let r = &f.spec.anomaly_rules;
    let blocked: BTreeSet<&str> = f.spec.blocked_devices.iter().map(String::as_str).collect();
    let mesa_of = device_mesas(f, inputs.mesas);
    let geofence = |g: &crate::crd::common::Geofence| json!({ "lat": g.latitude, "lon": g.longitude, "radiusM": f64::from(g.radius_meters) });
    let mut devices = serde_json::Map::new();
    for d in f.spec.device_list() {
        if blocked.contains(d.id.as_str()) {
            continue;
        }
        let mesa_name = mesa_of.get(&d.id).cloned().unwrap_or_default();
        let mesa = inputs.mesas.iter().find(|m| m.name_any() == mesa_name);
        let mut rules = serde_json::Map::new();
        rules.insert("mesa".into(), json!(mesa_name));
        // Routes the device's alerts to the officers of its district.
        if let Some(m) = mesa {
            rules.insert("district".into(), json!(m.spec.district));
        }
        if r.geofence {
            let g = mesa.and_then(|m| m.spec.location.geofence.as_ref()).or(f.spec.default_geofence.as_ref());
            if let Some(g) = g {
                rules.insert("geofence".into(), geofence(g));
            }
        }
        let window = mesa.and_then(|m| match inputs.election {
            Some(e) => crate::validate::mesa_window(m, e),
            None => m.spec.window.clone(),
        });
        if let Some(w) = window {
            if let Some(ms) = millis(&w.opens_at) {
                rules.insert("opensMs".into(), json!(ms));
            }
            if let Some(ms) = millis(&w.closes_at) {
                rules.insert("closesMs".into(), json!(ms));
            }
        }
        if let Some(n) = mesa.and_then(|m| m.spec.registered_voters) {
            rules.insert("census".into(), json!(n));
        }
        devices.insert(d.id, Value::Object(rules));
    }
    let mut out = json!({
        "devices": devices,
        "offlineAfterMs": u64::from(r.offline_after_seconds) * 1000,
        "votesPerHourLimit": f64::from(r.max_ballots_per_minute) * 60.0,
    });
    if let Some(z) = r.vote_rate_z {
        out["voteRateZ"] = json!(z);
    }
    if let Some(n) = r.flap_connects {
        out["flapConnects"] = json!(n);
    }
    if let Some(s) = r.flap_window_seconds {
        out["flapWindowMs"] = json!(u64::from(s) * 1000);
    }
    if !f.spec.officers.is_empty() {
        out["officers"] = json!(f.spec.officers);
    }
    out
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
