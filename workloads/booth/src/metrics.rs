//! The fleet monitor's Prometheus metrics (`GET /metrics`, prefix `urna_monitor_`). Labels carry fixed
//! names only (a rule from [`crate::monitor::RULES`], a sink name), never a device or mesa id, so the
//! series count does not grow with the fleet.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::monitor::RULES;

type Labelled = Family<Vec<(&'static str, &'static str)>, Counter>;

/// Sink names used as labels.
pub const SINKS: [&str; 2] = ["webhook", "events"];

pub struct MonitorMetrics {
    registry: Registry,
    /// Alerts raised, by rule.
    pub alerts: Labelled,
    /// Conditions currently in an alerted episode.
    pub active_alerts: Gauge,
    /// Alerts a sink gave up on after its retries, by sink (`webhook`, `events`).
    pub delivery_failures: Labelled,
    /// Alerts not queued for a sink because its queue was full, by sink.
    pub dropped: Labelled,
    /// Devices heard from at least once since the monitor started.
    pub devices_seen: Gauge,
    /// Devices heard from within the offline limit.
    pub devices_online: Gauge,
    /// Booth messages read from the broker.
    pub messages: Counter,
    /// 1 while the monitor is subscribed to the fleet's topics.
    pub subscribed: Gauge,
}

impl Default for MonitorMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl MonitorMetrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("urna_monitor");
        let m = Self {
            registry: Registry::default(),
            alerts: Family::default(),
            active_alerts: Gauge::default(),
            delivery_failures: Family::default(),
            dropped: Family::default(),
            devices_seen: Gauge::default(),
            devices_online: Gauge::default(),
            messages: Counter::default(),
            subscribed: Gauge::default(),
        };
        // Every series exists from the start at 0, so `rate()` and absent-series alerts behave.
        for rule in RULES {
            let _ = m.alerts.get_or_create(&vec![("rule", rule)]);
        }
        for sink in SINKS {
            let _ = m.delivery_failures.get_or_create(&vec![("sink", sink)]);
            let _ = m.dropped.get_or_create(&vec![("sink", sink)]);
        }
        registry.register("alerts", "Alerts raised, by rule", m.alerts.clone());
        registry.register("active_alerts", "Conditions currently in an alerted episode", m.active_alerts.clone());
        registry.register(
            "delivery_failures",
            "Alerts a sink (webhook, Kubernetes events) gave up on after retrying",
            m.delivery_failures.clone(),
        );
        registry.register("dropped", "Alerts not queued for a sink because its queue was full", m.dropped.clone());
        registry.register("devices_seen", "Devices heard from since the monitor started", m.devices_seen.clone());
        registry.register("devices_online", "Devices heard from within the offline limit", m.devices_online.clone());
        registry.register("messages", "Booth messages read from the broker", m.messages.clone());
        registry.register("subscribed", "1 while subscribed to the fleet's topics", m.subscribed.clone());
        Self { registry, ..m }
    }

    /// Counts an alert under its rule; a name outside [`RULES`] (none today) is counted as `other`, so a
    /// label value can never come from data.
    pub fn alert(&self, rule: &str) {
        let rule = RULES.iter().find(|r| **r == rule).copied().unwrap_or("other");
        self.alerts.get_or_create(&vec![("rule", rule)]).inc();
    }

    pub fn alert_count(&self, rule: &'static str) -> u64 {
        self.alerts.get_or_create(&vec![("rule", rule)]).get()
    }

    pub fn delivery_failure(&self, sink: &'static str) {
        self.delivery_failures.get_or_create(&vec![("sink", sink)]).inc();
    }

    pub fn delivery_failure_count(&self, sink: &'static str) -> u64 {
        self.delivery_failures.get_or_create(&vec![("sink", sink)]).get()
    }

    pub fn drop_for(&self, sink: &'static str) {
        self.dropped.get_or_create(&vec![("sink", sink)]).inc();
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}
