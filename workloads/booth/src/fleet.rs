//! The fleet monitor's state: what it has seen of each device, fed message by message and ticked by the
//! clock, returning the alerts the rules in [`crate::monitor`] raise. Pure (no I/O, the caller passes
//! time), so whole scenarios are unit tests. Each condition alerts once per episode: an offline device
//! alerts again only after it came back and went silent again.

use std::collections::{BTreeMap, HashSet};

use crate::heard::Heard;
use crate::monitor::{self, Alert, Subject};
use crate::rules::FleetRules;

#[derive(Debug, Default)]
struct Device {
    last_seen_ms: Option<u64>,
    ballots: u64,
    first_ballot_ms: Option<u64>,
    connects_ms: Vec<u64>,
}

#[derive(Debug, Default)]
pub struct Fleet {
    devices: BTreeMap<String, Device>,
    /// Conditions currently alerted, so each episode alerts once.
    active: HashSet<(String, &'static str)>,
    /// Refused connections within the window, by device or `peer:<address>`.
    auth_failures: BTreeMap<String, Vec<u64>>,
    /// Devices the broker last refused as blocked, and when.
    blocked: BTreeMap<String, u64>,
}

/// The fleet's devices by state, as `GET /v1/status` reports them.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeviceCounts {
    /// Devices the rules list.
    pub expected: usize,
    /// Listed devices heard from within the offline limit.
    pub online: usize,
    /// Listed devices not heard from within it (never heard from included).
    pub offline: usize,
    /// Devices the broker refused as blocked within the offline limit (a blocked booth keeps retrying, so a
    /// device still blocked is refused again well within it).
    pub blocked: usize,
}

impl Fleet {
    fn subject<'a>(rules: &'a FleetRules, device: &'a str, now_ms: u64) -> Subject<'a> {
        let rule = rules.devices.get(device);
        let mesa = rule.map_or("", |m| m.mesa.as_str());
        let district = rule.and_then(|m| m.district.as_deref()).unwrap_or("");
        Subject { device, mesa, district, now_ms }
    }

    /// Records `fired` for (device, rule) once per episode; clears the episode when the rule is silent.
    fn edge(&mut self, device: &str, rule: &'static str, fired: Option<Alert>, out: &mut Vec<Alert>) {
        let key = (device.to_owned(), rule);
        match fired {
            Some(a) => {
                if self.active.insert(key) {
                    out.push(a);
                }
            }
            None => {
                self.active.remove(&key);
            }
        }
    }

    /// Conditions currently in an alerted episode (offline, outside the geofence, flapping, ...).
    pub fn active_alerts(&self) -> usize {
        self.active.len()
    }

    /// Devices heard from at least once.
    pub fn devices_seen(&self) -> usize {
        self.devices.len()
    }

    pub fn device_counts(&self, rules: &FleetRules, now_ms: u64) -> DeviceCounts {
        let recent = |t: u64| now_ms.saturating_sub(t) <= rules.offline_after_ms;
        let expected = rules.devices.len();
        let online = rules
            .devices
            .keys()
            .filter(|id| self.devices.get(*id).and_then(|d| d.last_seen_ms).is_some_and(recent))
            .count();
        let blocked = self.blocked.values().filter(|t| recent(**t)).count();
        DeviceCounts { expected, online, offline: expected - online, blocked }
    }

    /// [`Self::device_counts`]' `expected` and `online`, and the active alerts, per Mesa, by mesa id.
    pub fn mesa_counts(&self, rules: &FleetRules, now_ms: u64) -> Vec<urna_status::monitor::MesaDevices> {
        let recent = |t: u64| now_ms.saturating_sub(t) <= rules.offline_after_ms;
        let mut by_mesa: BTreeMap<&str, urna_status::monitor::MesaDevices> = BTreeMap::new();
        for (id, r) in &rules.devices {
            let e = by_mesa.entry(r.mesa.as_str()).or_insert_with(|| urna_status::monitor::MesaDevices {
                mesa: r.mesa.clone(),
                devices: 0,
                online: 0,
                active_alerts: 0,
            });
            e.devices += 1;
            if self.devices.get(id).and_then(|d| d.last_seen_ms).is_some_and(recent) {
                e.online += 1;
            }
        }
        for (device, _rule) in &self.active {
            if let Some(e) = rules.devices.get(device).and_then(|r| by_mesa.get_mut(r.mesa.as_str())) {
                e.active_alerts += 1;
            }
        }
        by_mesa.into_values().collect()
    }

    /// Devices heard from within the offline limit.
    pub fn devices_online(&self, rules: &FleetRules, now_ms: u64) -> usize {
        self.devices
            .values()
            .filter(|d| d.last_seen_ms.is_some_and(|t| now_ms.saturating_sub(t) <= rules.offline_after_ms))
            .count()
    }

    /// A message from a booth: every copy counts as a sign of life, an envelope heard for the first time
    /// is checked by kind.
    pub fn observe(&mut self, rules: &FleetRules, device: &str, msg: &Heard, now_ms: u64) -> Vec<Alert> {
        let mut out = Vec::new();
        let s = Self::subject(rules, device, now_ms);
        let mesa = rules.devices.get(device);
        // Heard from: the broker let it in, so it is no longer blocked.
        self.blocked.remove(device);
        let d = self.devices.entry(device.to_owned()).or_default();
        d.last_seen_ms = Some(now_ms);
        let mut edges: Vec<(&'static str, Option<Alert>)> = vec![("offline", None)];
        if msg.channel == "state"
            && serde_json::from_slice::<serde_json::Value>(msg.payload).is_ok_and(|v| v["online"] == true)
        {
            d.connects_ms.push(now_ms);
            d.connects_ms.retain(|t| now_ms.saturating_sub(*t) <= rules.flap_window_ms());
            edges.push((
                "reconnect_flapping",
                monitor::reconnect_flapping(s, &d.connects_ms, rules.flap_window_ms(), rules.flap_connects()),
            ));
        }
        if let Some(env) = &msg.fresh {
            match env.kind.as_str() {
                "sos" => out.extend(monitor::sos(s, env)),
                "gps" => {
                    if let (Some(fence), Some(lat), Some(lon)) =
                        (mesa.and_then(|m| m.geofence), env.body["lat"].as_f64(), env.body["lon"].as_f64())
                    {
                        edges.push(("outside_geofence", monitor::outside_geofence(s, (lat, lon), fence)));
                    }
                }
                "ballot" => {
                    d.ballots += 1;
                    d.first_ballot_ms.get_or_insert(env.at_ms);
                    if let Some(m) = mesa
                        && let (Some(o), Some(c)) = (m.opens_ms, m.closes_ms)
                    {
                        // Every ballot cast out of hours is its own alert.
                        out.extend(monitor::outside_hours(s, env.at_ms, o, c));
                    }
                }
                _ => {}
            }
        }
        for (rule, fired) in edges {
            self.edge(device, rule, fired, &mut out);
        }
        if let Some(m) = mesa
            && let Some(census) = m.census
        {
            let ballots: u64 = rules
                .devices
                .iter()
                .filter(|(_, r)| r.mesa == m.mesa)
                .filter_map(|(id, _)| self.devices.get(id))
                .map(|d| d.ballots)
                .sum();
            let fired = monitor::turnout_above_census(s, ballots, census);
            self.edge(&m.mesa.clone(), "turnout_above_census", fired, &mut out);
        }
        out
    }

    /// A connection the broker refused (`urna/<fleet>/broker/authn`, which only the broker may publish), for
    /// `who`: the device its certificate named, else `peer:<address>`.
    pub fn observe_auth_failure(&mut self, rules: &FleetRules, who: &str, now_ms: u64) -> Vec<Alert> {
        self.observe_refusal(rules, who, "", now_ms)
    }

    /// Same, with the broker's reason: a refusal `blocked` also counts the device as blocked.
    pub fn observe_refusal(&mut self, rules: &FleetRules, who: &str, reason: &str, now_ms: u64) -> Vec<Alert> {
        if reason == "blocked" && !who.starts_with("peer:") {
            self.blocked.insert(who.to_owned(), now_ms);
        }
        let mut out = Vec::new();
        let window = rules.auth_failure_window_ms();
        let times = self.auth_failures.entry(who.to_owned()).or_default();
        times.push(now_ms);
        times.retain(|t| now_ms.saturating_sub(*t) <= window);
        let fired =
            monitor::auth_failure_burst(Self::subject(rules, who, now_ms), times, window, rules.auth_failures());
        self.edge(who, "auth_failure_burst", fired, &mut out);
        out
    }

    /// Time-driven rules: devices gone silent, vote rates against the fleet.
    pub fn tick(&mut self, rules: &FleetRules, now_ms: u64) -> Vec<Alert> {
        let mut out = Vec::new();
        // A burst's episode ends once its window has no failures left.
        let window = rules.auth_failure_window_ms();
        self.auth_failures.retain(|_, times| {
            times.retain(|t| now_ms.saturating_sub(*t) <= window);
            !times.is_empty()
        });
        let quiet: Vec<String> = self
            .active
            .iter()
            .filter(|(who, rule)| *rule == "auth_failure_burst" && !self.auth_failures.contains_key(who))
            .map(|(who, _)| who.clone())
            .collect();
        for who in quiet {
            self.active.remove(&(who, "auth_failure_burst"));
        }
        let hour = 3_600_000.0;
        let rates: Vec<(String, f64)> = self
            .devices
            .iter()
            .filter_map(|(id, d)| {
                let since = d.first_ballot_ms?;
                // At least ten minutes of voting before a rate means anything.
                let span = (now_ms.saturating_sub(since) as f64).max(600_000.0);
                Some((id.clone(), d.ballots as f64 * hour / span))
            })
            .collect();
        let fleet: Vec<f64> = rates.iter().map(|(_, r)| *r).collect();
        let silent: Vec<(String, u64)> =
            self.devices.iter().filter_map(|(id, d)| d.last_seen_ms.map(|t| (id.clone(), t))).collect();
        for (id, last) in silent {
            let fired = monitor::offline(Self::subject(rules, &id, now_ms), last, rules.offline_after_ms);
            // Only the rising edge; `observe` clears it when the device is heard again.
            if let Some(a) = fired
                && self.active.insert((id.clone(), "offline"))
            {
                out.push(a);
            }
        }
        for (id, rate) in rates {
            let fired = monitor::vote_rate(
                Self::subject(rules, &id, now_ms),
                rate,
                &fleet,
                rules.votes_per_hour_limit,
                rules.vote_rate_z(),
            );
            self.edge(&id, "vote_rate", fired, &mut out);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::heard::Resends;
    use crate::message::Envelope;
    use crate::rules::{GeofenceSpec, MesaRules};

    const MIN: u64 = 60_000;

    fn rules() -> FleetRules {
        let mut devices = BTreeMap::new();
        for i in 1..=8 {
            devices.insert(
                format!("mesa-{i}-1"),
                MesaRules {
                    mesa: format!("mesa-{i}"),
                    district: None,
                    geofence: Some(GeofenceSpec { lat: 19.43, lon: -99.13, radius_m: 300.0 }),
                    opens_ms: Some(0),
                    closes_ms: Some(600 * MIN),
                    census: Some(400),
                },
            );
        }
        FleetRules {
            devices,
            offline_after_ms: 2 * MIN,
            votes_per_hour_limit: 300.0,
            vote_rate_z: Some(5.0),
            flap_connects: Some(4),
            flap_window_ms: Some(10 * MIN),
            auth_failures: Some(5),
            auth_failure_window_ms: Some(MIN),
            officers: Vec::new(),
        }
    }

    #[test]
    fn device_counts_split_the_listed_fleet_and_count_blocked_refusals() {
        let r = rules();
        let mut f = Fleet::default();
        let t = 60 * MIN;
        hear(&mut f, &r, "mesa-1-1", "heartbeat", b"{}", t);
        hear(&mut f, &r, "mesa-2-1", "heartbeat", b"{}", t - 3 * MIN);
        hear(&mut f, &r, "unlisted-9", "heartbeat", b"{}", t);
        f.observe_refusal(&r, "mesa-3-1", "blocked", t);
        f.observe_refusal(&r, "peer:10.0.0.9", "blocked", t);
        f.observe_refusal(&r, "mesa-4-1", "unknown_certificate", t);
        assert_eq!(f.device_counts(&r, t), DeviceCounts { expected: 8, online: 1, offline: 7, blocked: 1 });
        // Per Mesa: every listed device under its Mesa, online as above; the unlisted one nowhere.
        let per_mesa = f.mesa_counts(&r, t);
        assert_eq!(per_mesa.len(), 8);
        assert_eq!((per_mesa[0].mesa.as_str(), per_mesa[0].devices, per_mesa[0].online), ("mesa-1", 1, 1));
        assert_eq!((per_mesa[1].mesa.as_str(), per_mesa[1].online), ("mesa-2", 0));
        assert_eq!(per_mesa.iter().map(|m| m.online).sum::<u64>(), 1);
        // Unblocked and heard from again: online, no longer blocked.
        hear(&mut f, &r, "mesa-3-1", "heartbeat", b"{}", t + 1);
        assert_eq!(f.device_counts(&r, t + 1), DeviceCounts { expected: 8, online: 2, offline: 6, blocked: 0 });
        // A refusal as blocked long ago no longer counts.
        f.observe_refusal(&r, "mesa-5-1", "blocked", t);
        assert_eq!(f.device_counts(&r, t + 3 * MIN).blocked, 0);
    }

    fn hear(f: &mut Fleet, r: &FleetRules, device: &str, channel: &str, payload: &[u8], now_ms: u64) -> Vec<Alert> {
        f.observe(r, device, &Heard::first(channel, payload), now_ms)
    }

    fn env(device: &str, seq: u64, kind: &str, at_ms: u64, body: serde_json::Value) -> Vec<u8> {
        serde_json::to_vec(&Envelope { device: device.into(), seq, kind: kind.into(), at_ms, body }).unwrap_or_default()
    }

    /// An ordinary hour: every booth online, in place, voting at about the same pace, in hours.
    fn normal_hour(f: &mut Fleet, r: &FleetRules, start: u64) -> Vec<Alert> {
        let mut alerts = Vec::new();
        for minute in 0..60u64 {
            let now = start + minute * MIN;
            if minute == 30 {
                // One refused connection (a booth retrying with a stale session, say) is no burst.
                alerts.extend(f.observe_auth_failure(r, "mesa-1-1", now));
            }
            for i in 1..=8u64 {
                let d = format!("mesa-{i}-1");
                alerts.extend(hear(f, r, &d, "heartbeat", b"{}", now));
                let gps = env(&d, minute * 2, "gps", now, serde_json::json!({ "lat": 19.4301, "lon": -99.1302 }));
                alerts.extend(hear(f, r, &d, "gps", &gps, now));
                if (minute + i) % 2 == 0 {
                    let b = env(&d, minute * 2 + 1, "ballot", now, serde_json::json!({}));
                    alerts.extend(hear(f, r, &d, "ballot", &b, now));
                }
            }
            alerts.extend(f.tick(r, now));
        }
        alerts
    }

    #[test]
    fn a_normal_hour_is_silent() {
        let (mut f, r) = (Fleet::default(), rules());
        assert_eq!(normal_hour(&mut f, &r, 60 * MIN), vec![]);
    }

    #[test]
    fn authentication_failure_bursts_alert_once_per_window() {
        let (mut f, r) = (Fleet::default(), rules());
        let t = 60 * MIN;
        let rules_fired = |alerts: Vec<Alert>| alerts.into_iter().map(|a| (a.device, a.rule)).collect::<Vec<_>>();
        // Someone tries mesa-7-1's certificate with other client ids, and some address tries certificates:
        // each alerts at the fifth refusal within the window, once, and again only after a quiet window.
        let mut tries = Vec::new();
        for k in 0..8 {
            tries.extend(f.observe_auth_failure(&r, "mesa-7-1", t + k * 1000));
            tries.extend(f.observe_auth_failure(&r, "peer:10.0.0.9", t + k * 1000));
        }
        assert_eq!(
            rules_fired(tries),
            vec![("mesa-7-1".into(), "auth_failure_burst"), ("peer:10.0.0.9".into(), "auth_failure_burst")]
        );
        assert!(f.tick(&r, t + 3 * MIN).iter().all(|a| a.rule != "auth_failure_burst"));
        let again: Vec<Alert> = (0..5).flat_map(|k| f.observe_auth_failure(&r, "mesa-7-1", t + 4 * MIN + k)).collect();
        assert_eq!(rules_fired(again), vec![("mesa-7-1".into(), "auth_failure_burst")]);
    }

    #[test]
    fn a_resent_envelope_alerts_and_counts_once() {
        let (mut f, r, mut resends) = (Fleet::default(), rules(), Resends::default());
        let now = 120 * MIN;
        let sos = env("mesa-2-1", 7, "sos", now, serde_json::json!({ "reason": "captured" }));
        let fired: usize =
            (0..5).map(|k| f.observe(&r, "mesa-2-1", &resends.hear("mesa-2-1", "sos", &sos), now + k).len()).sum();
        assert_eq!(fired, 1, "the outbox resends until acknowledged: one SOS, one alert");
        let ballot = env("mesa-2-1", 8, "ballot", now, serde_json::json!({}));
        for k in 0..3 {
            f.observe(&r, "mesa-2-1", &resends.hear("mesa-2-1", "ballot", &ballot), now + 10 * MIN + k);
        }
        assert_eq!(f.devices["mesa-2-1"].ballots, 1);
        assert_eq!(f.devices["mesa-2-1"].last_seen_ms, Some(now + 10 * MIN + 2), "each copy is a sign of life");
    }

    #[test]
    fn each_anomaly_alerts_once_per_episode() {
        let (mut f, r) = (Fleet::default(), rules());
        let t = 60 * MIN;
        assert_eq!(normal_hour(&mut f, &r, t), vec![]);
        let now = t + 61 * MIN;
        let rules_fired = |alerts: Vec<Alert>| alerts.into_iter().map(|a| (a.device, a.rule)).collect::<Vec<_>>();

        // mesa-1-1 moved 2 km.
        let far = env("mesa-1-1", 500, "gps", now, serde_json::json!({ "lat": 19.45, "lon": -99.13 }));
        assert_eq!(
            rules_fired(hear(&mut f, &r, "mesa-1-1", "gps", &far, now)),
            vec![("mesa-1-1".into(), "outside_geofence")]
        );
        assert_eq!(hear(&mut f, &r, "mesa-1-1", "gps", &far, now), vec![], "same excursion");

        // mesa-2-1 pressed SOS.
        let sos = env("mesa-2-1", 501, "sos", now, serde_json::json!({ "reason": "captured" }));
        assert_eq!(rules_fired(hear(&mut f, &r, "mesa-2-1", "sos", &sos, now)), vec![("mesa-2-1".into(), "sos")]);

        // mesa-3-1 votes after closing.
        let late = env("mesa-3-1", 502, "ballot", 601 * MIN, serde_json::json!({}));
        assert_eq!(
            rules_fired(hear(&mut f, &r, "mesa-3-1", "ballot", &late, now)),
            vec![("mesa-3-1".into(), "outside_hours")]
        );

        // mesa-4-1 stuffs 400 ballots: above the census of its mesa, then far above the fleet's rate.
        let mut stuffed = Vec::new();
        for k in 0..400 {
            let b = env("mesa-4-1", 1000 + k, "ballot", now, serde_json::json!({}));
            stuffed.extend(hear(&mut f, &r, "mesa-4-1", "ballot", &b, now));
        }
        assert_eq!(rules_fired(stuffed), vec![("mesa-4-1".into(), "turnout_above_census")]);
        let ticked = rules_fired(f.tick(&r, now));
        assert!(ticked.contains(&("mesa-4-1".into(), "vote_rate")), "{ticked:?}");

        // mesa-5-1 flaps.
        let mut flaps = Vec::new();
        for k in 0..4 {
            flaps.extend(hear(&mut f, &r, "mesa-5-1", "state", br#"{"online":true}"#, now + k * 1000));
        }
        assert_eq!(rules_fired(flaps), vec![("mesa-5-1".into(), "reconnect_flapping")]);

        // mesa-6-1 goes silent: one alert, however many ticks; again after it came back and left again.
        let others: Vec<String> = (1..=8).filter(|i| *i != 6).map(|i| format!("mesa-{i}-1")).collect();
        let mut offline = Vec::new();
        for k in 1..=5 {
            let at = now + k * MIN;
            for d in &others {
                hear(&mut f, &r, d, "heartbeat", b"{}", at);
            }
            offline.extend(f.tick(&r, at).into_iter().filter(|a| a.rule == "offline"));
        }
        assert_eq!(rules_fired(offline), vec![("mesa-6-1".into(), "offline")]);
        assert_eq!((f.devices_seen(), f.devices_online(&r, now + 5 * MIN)), (8, 7));
        assert!(f.active_alerts() >= 1);
        assert_eq!(hear(&mut f, &r, "mesa-6-1", "heartbeat", b"{}", now + 6 * MIN), vec![]);
        let again = f.tick(&r, now + 9 * MIN).into_iter().filter(|a| a.device == "mesa-6-1").count();
        assert_eq!(again, 1);
    }
}
