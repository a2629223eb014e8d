//! Fleet monitor rules as pure functions: each takes the facts and its configuration and returns an alert
//! or nothing. [`crate::fleet`] feeds them; [`crate::alerting`] sends what they raise to the feed, the
//! metrics, a webhook and Kubernetes Events.

use serde::Serialize;

use crate::rules::GeofenceSpec;

/// Every rule name an [`Alert`] can carry. Metrics label alerts with these alone (a fixed set: a label
/// never carries a device id).
pub const RULES: [&str; 8] = [
    "offline",
    "outside_geofence",
    "vote_rate",
    "outside_hours",
    "auth_failure_burst",
    "reconnect_flapping",
    "turnout_above_census",
    "sos",
];

/// One alert: which device, mesa and district, which rule and how urgent, the evidence that fired it, and
/// when. `id` is the monitor's alert number (from 1, kept across restarts by the operations store); 0 until
/// the monitor numbers it.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    pub id: u64,
    pub device: String,
    pub mesa: String,
    /// The district of the device's Mesa (empty when the rules do not say): what routes it to officers.
    pub district: String,
    pub rule: &'static str,
    pub priority: Priority,
    pub evidence: serde_json::Value,
    pub at_ms: u64,
}

/// How urgent an alert is, for the order of an officer's desk: an SOS before everything.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    Normal,
    High,
    Critical,
}

/// A rule's priority: a person in danger (SOS) is critical; a machine that moved, a ballot-box count
/// above its census or someone trying certificates are high; the rest (offline, rates, hours, flapping)
/// normal.
pub fn priority(rule: &str) -> Priority {
    match rule {
        "sos" => Priority::Critical,
        "outside_geofence" | "turnout_above_census" | "auth_failure_burst" => Priority::High,
        _ => Priority::Normal,
    }
}

/// Who and when an evaluation is about.
#[derive(Debug, Clone, Copy)]
pub struct Subject<'a> {
    pub device: &'a str,
    pub mesa: &'a str,
    pub district: &'a str,
    pub now_ms: u64,
}

impl Subject<'_> {
    fn alert(&self, rule: &'static str, evidence: serde_json::Value) -> Alert {
        Alert {
            id: 0,
            device: self.device.to_owned(),
            mesa: self.mesa.to_owned(),
            district: self.district.to_owned(),
            rule,
            priority: priority(rule),
            evidence,
            at_ms: self.now_ms,
        }
    }
}

/// Device silent (no heartbeat) for longer than `max_silence_ms`.
pub fn offline(s: Subject<'_>, last_seen_ms: u64, max_silence_ms: u64) -> Option<Alert> {
    let silent = s.now_ms.saturating_sub(last_seen_ms);
    (silent > max_silence_ms)
        .then(|| s.alert("offline", serde_json::json!({ "silentMs": silent, "limitMs": max_silence_ms })))
}

/// Great-circle distance in metres (haversine; ample for geofences of a few km).
pub fn distance_m(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (la1, lo1, la2, lo2) = (a.0.to_radians(), a.1.to_radians(), b.0.to_radians(), b.1.to_radians());
    let h = ((la2 - la1) / 2.0).sin().powi(2) + la1.cos() * la2.cos() * ((lo2 - lo1) / 2.0).sin().powi(2);
    2.0 * 6_371_000.0 * h.sqrt().asin()
}

/// Position outside the mesa's geofence (a machine that moved).
pub fn outside_geofence(s: Subject<'_>, position: (f64, f64), fence: GeofenceSpec) -> Option<Alert> {
    let d = distance_m(position, (fence.lat, fence.lon));
    (d > fence.radius_m).then(|| {
        s.alert(
            "outside_geofence",
            serde_json::json!({ "lat": position.0, "lon": position.1, "distanceM": d.round(), "radiusM": fence.radius_m }),
        )
    })
}

fn median(v: &mut [f64]) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let m = v.len() / 2;
    Some(if v.len().is_multiple_of(2) { (v[m - 1] + v[m]) / 2.0 } else { v[m] })
}

/// Robust z-score of `x` against `population`: 0.6745 (x − median) / MAD; `None` when MAD is 0.
pub fn robust_z(x: f64, population: &[f64]) -> Option<f64> {
    let mut p = population.to_vec();
    let med = median(&mut p)?;
    let mut dev: Vec<f64> = p.iter().map(|v| (v - med).abs()).collect();
    let mad = median(&mut dev)?;
    (mad > 0.0).then(|| 0.6745 * (x - med) / mad)
}

/// Votes per hour of a booth above an absolute limit, or far above the fleet's (robust z-score).
pub fn vote_rate(s: Subject<'_>, rate: f64, fleet_rates: &[f64], limit: f64, z_max: f64) -> Option<Alert> {
    let z = robust_z(rate, fleet_rates);
    let far = z.is_some_and(|z| z > z_max);
    (rate > limit || far).then(|| {
        s.alert("vote_rate", serde_json::json!({ "perHour": rate, "limit": limit, "robustZ": z, "zMax": z_max }))
    })
}

/// A vote outside the mesa's hours `[opens_ms, closes_ms)`.
pub fn outside_hours(s: Subject<'_>, vote_at_ms: u64, opens_ms: u64, closes_ms: u64) -> Option<Alert> {
    (vote_at_ms < opens_ms || vote_at_ms >= closes_ms).then(|| {
        s.alert(
            "outside_hours",
            serde_json::json!({ "voteAtMs": vote_at_ms, "opensMs": opens_ms, "closesMs": closes_ms }),
        )
    })
}

/// Events (times in ms) within the last `window_ms` reaching `threshold`: shared by the burst rules.
fn burst(now_ms: u64, events: &[u64], window_ms: u64, threshold: usize) -> Option<usize> {
    let n = events.iter().filter(|t| **t <= now_ms && now_ms - **t <= window_ms).count();
    (n >= threshold).then_some(n)
}

/// A burst of authentication failures for a device (someone trying certificates or client ids).
pub fn auth_failure_burst(s: Subject<'_>, failures_ms: &[u64], window_ms: u64, threshold: usize) -> Option<Alert> {
    burst(s.now_ms, failures_ms, window_ms, threshold)
        .map(|n| s.alert("auth_failure_burst", serde_json::json!({ "failures": n, "windowMs": window_ms })))
}

/// Reconnect flapping: many connects in a short window (a failing link, or a device being swapped).
pub fn reconnect_flapping(s: Subject<'_>, connects_ms: &[u64], window_ms: u64, threshold: usize) -> Option<Alert> {
    burst(s.now_ms, connects_ms, window_ms, threshold)
        .map(|n| s.alert("reconnect_flapping", serde_json::json!({ "connects": n, "windowMs": window_ms })))
}

/// More ballots at a mesa than voters in its census.
pub fn turnout_above_census(s: Subject<'_>, ballots: u64, census: u64) -> Option<Alert> {
    (ballots > census)
        .then(|| s.alert("turnout_above_census", serde_json::json!({ "ballots": ballots, "census": census })))
}

/// The SOS button: a booth message of kind `sos` is an alert, with the booth's reason and sequence.
pub fn sos(s: Subject<'_>, message: &crate::message::Envelope) -> Option<Alert> {
    (message.kind == "sos")
        .then(|| s.alert("sos", serde_json::json!({ "reason": message.body.get("reason"), "seq": message.seq })))
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: Subject<'static> = Subject { device: "mesa-1-1", mesa: "mesa-1", district: "d1", now_ms: 1_000_000 };

    #[test]
    fn every_rule_name_is_listed() {
        let s = S;
        let m = crate::message::Envelope {
            device: "d".into(),
            seq: 1,
            kind: "sos".into(),
            at_ms: 0,
            body: serde_json::json!({}),
        };
        let fired = [
            offline(s, 0, 1),
            outside_geofence(s, (1.0, 1.0), GeofenceSpec { lat: 0.0, lon: 0.0, radius_m: 1.0 }),
            vote_rate(s, 2.0, &[], 1.0, 1.0),
            outside_hours(s, 0, 1, 2),
            auth_failure_burst(s, &[s.now_ms], 1, 1),
            reconnect_flapping(s, &[s.now_ms], 1, 1),
            turnout_above_census(s, 2, 1),
            sos(s, &m),
        ];
        let names: Vec<&str> = fired.iter().map(|a| a.as_ref().map_or("none", |a| a.rule)).collect();
        assert_eq!(names, RULES);
    }

    #[test]
    fn offline_fires_after_the_silence_limit_only() {
        assert_eq!(offline(S, 1_000_000 - 61_000, 60_000).map(|a| a.rule), Some("offline"));
        assert_eq!(offline(S, 1_000_000 - 59_000, 60_000), None);
    }

    #[test]
    fn geofence_fires_for_a_machine_that_moved() {
        let fence = GeofenceSpec { lat: 19.4326, lon: -99.1332, radius_m: 200.0 };
        assert!(outside_geofence(S, (19.4326, -99.1332 + 0.01), fence).is_some(), "about 1 km east");
        assert_eq!(outside_geofence(S, (19.4330, -99.1332), fence), None, "about 45 m north");
        let d = distance_m((0.0, 0.0), (1.0, 0.0));
        assert!((d - 111_195.0).abs() < 100.0, "{d}");
    }

    #[test]
    fn vote_rate_fires_on_the_limit_or_a_robust_outlier() {
        let fleet = [40.0, 42.0, 38.0, 45.0, 41.0, 39.0, 43.0];
        assert_eq!(vote_rate(S, 44.0, &fleet, 300.0, 3.5), None);
        assert_eq!(vote_rate(S, 120.0, &fleet, 300.0, 3.5).map(|a| a.rule), Some("vote_rate"), "far above the fleet");
        assert!(vote_rate(S, 301.0, &[0.0; 5], 300.0, 3.5).is_some(), "above the absolute limit (MAD 0)");
        assert_eq!(robust_z(5.0, &[5.0, 5.0, 5.0]), None);
    }

    #[test]
    fn outside_hours_fires_before_opening_and_at_closing() {
        assert!(outside_hours(S, 7_999, 8_000, 18_000).is_some());
        assert!(outside_hours(S, 18_000, 8_000, 18_000).is_some());
        assert_eq!(outside_hours(S, 12_000, 8_000, 18_000), None);
    }

    #[test]
    fn bursts_count_only_the_window() {
        let recent: Vec<u64> = (0..5).map(|i| 1_000_000 - i * 1_000).collect();
        assert!(auth_failure_burst(S, &recent, 10_000, 5).is_some());
        let old: Vec<u64> = (0..5).map(|i| 900_000 - i * 1_000).collect();
        assert_eq!(auth_failure_burst(S, &old, 10_000, 5), None);
        assert!(reconnect_flapping(S, &recent, 60_000, 5).is_some());
        assert_eq!(reconnect_flapping(S, &recent[..4], 60_000, 5), None);
    }

    #[test]
    fn turnout_and_sos() {
        assert!(turnout_above_census(S, 751, 750).is_some());
        assert_eq!(turnout_above_census(S, 750, 750), None);
        let mut m = crate::message::Envelope {
            device: "mesa-1-1".into(),
            seq: 9,
            kind: "sos".into(),
            at_ms: 0,
            body: serde_json::json!({ "reason": "booth captured" }),
        };
        let a = sos(S, &m);
        assert_eq!(
            a.as_ref().map(|a| (a.rule, a.mesa.as_str(), a.priority)),
            Some(("sos", "mesa-1", Priority::Critical))
        );
        assert_eq!(a.map(|a| a.evidence["reason"].clone()), Some(serde_json::json!("booth captured")));
        m.kind = "gps".into();
        assert_eq!(sos(S, &m), None);
    }
}
