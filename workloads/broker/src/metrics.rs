//! Prometheus metrics (`GET /metrics`). Labels carry only reasons, never a device id (cardinality).

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

type Reasons = Family<Vec<(&'static str, &'static str)>, Counter>;

pub struct Metrics {
    registry: Registry,
    /// Sessions open (devices served by the front, backends proxied to rumqttd).
    pub connections: Gauge,
    /// CONNECTs accepted (rate of this is connects/s).
    pub connects: Counter,
    pub handshake_timeouts: Counter,
    /// Connections not admitted yet (TLS handshake or CONNECT to come): `pending.rs`.
    pub pending_handshakes: Gauge,
    /// Pending connections closed to make room for a newer one (the pending budget was full).
    pub handshakes_shed: Counter,
    /// Connections closed at accept, by reason (`per_address`).
    pub handshakes_refused: Reasons,
    pub authn_failures: Reasons,
    pub authz_failures: Reasons,
    /// PUBLISH packets by direction (`in` from clients, `out` to clients).
    pub messages: Family<Vec<(&'static str, &'static str)>, Counter>,
    /// Times a device's stream was held back by its rate limit.
    pub rate_limited: Counter,
    /// Live sessions closed because their device was blocked.
    pub kicked: Counter,
    /// Commands for a device dropped because its session's queue was full.
    pub commands_dropped: Counter,
    /// Times a device hub link to rumqttd failed (every device session then ends and reconnects).
    pub upstream_lost: Counter,
    /// The two `messages` series, looked up once: counting a message is then one atomic add, with no
    /// label vector allocated and no lock taken on the hot path.
    messages_in: Counter,
    messages_out: Counter,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("urna_broker");
        let m = Self {
            connections: Gauge::default(),
            connects: Counter::default(),
            handshake_timeouts: Counter::default(),
            pending_handshakes: Gauge::default(),
            handshakes_shed: Counter::default(),
            handshakes_refused: Family::default(),
            authn_failures: Family::default(),
            authz_failures: Family::default(),
            messages: Family::default(),
            rate_limited: Counter::default(),
            kicked: Counter::default(),
            commands_dropped: Counter::default(),
            upstream_lost: Counter::default(),
            registry: Registry::default(),
            messages_in: Counter::default(),
            messages_out: Counter::default(),
        };
        let messages_in = m.messages.get_or_create(&vec![("direction", "in")]).clone();
        let messages_out = m.messages.get_or_create(&vec![("direction", "out")]).clone();
        // Present at 0 from the start, so an alert on it needs no absent-series rule.
        let _ = m.handshakes_refused.get_or_create(&vec![("reason", "per_address")]);
        registry.register("connections", "MQTT sessions open through the front", m.connections.clone());
        registry.register("connects", "CONNECTs accepted", m.connects.clone());
        registry.register(
            "handshake_timeouts",
            "TLS handshakes (or CONNECTs) not completed in time",
            m.handshake_timeouts.clone(),
        );
        registry.register(
            "pending_handshakes",
            "Connections whose TLS handshake or CONNECT has not completed",
            m.pending_handshakes.clone(),
        );
        registry.register(
            "handshakes_shed",
            "Pending connections closed, oldest first, to make room when the pending budget was full",
            m.handshakes_shed.clone(),
        );
        registry.register(
            "handshakes_refused",
            "Connections closed at accept, by reason (per_address: too many pending from one address)",
            m.handshakes_refused.clone(),
        );
        registry.register("authn_failures", "Connections refused, by reason", m.authn_failures.clone());
        registry.register("authz_failures", "Publishes and subscriptions refused, by reason", m.authz_failures.clone());
        registry.register("messages", "PUBLISH packets through the front, by direction", m.messages.clone());
        registry.register(
            "rate_limited",
            "Times a device was held back by its message-rate limit",
            m.rate_limited.clone(),
        );
        registry.register("kicked", "Sessions closed because their device was blocked", m.kicked.clone());
        registry.register(
            "commands_dropped",
            "Commands for a device dropped because its session's queue was full",
            m.commands_dropped.clone(),
        );
        registry.register("upstream_lost", "Device hub links to rumqttd that failed", m.upstream_lost.clone());
        Self { registry, messages_in, messages_out, ..m }
    }

    pub fn authn_failure(&self, reason: &'static str) {
        self.authn_failures.get_or_create(&vec![("reason", reason)]).inc();
    }

    pub fn handshake_refused(&self, reason: &'static str) {
        self.handshakes_refused.get_or_create(&vec![("reason", reason)]).inc();
    }

    pub fn authz_failure(&self, reason: &'static str) {
        self.authz_failures.get_or_create(&vec![("reason", reason)]).inc();
    }

    /// Counts a PUBLISH through the front: `in` from a client, anything else `out` to one.
    pub fn message(&self, direction: &'static str) {
        if direction == "in" {
            self.messages_in.inc()
        } else {
            self.messages_out.inc()
        };
    }

    pub fn authn_count(&self, reason: &'static str) -> u64 {
        self.authn_failures.get_or_create(&vec![("reason", reason)]).get()
    }

    pub fn handshake_refused_count(&self, reason: &'static str) -> u64 {
        self.handshakes_refused.get_or_create(&vec![("reason", reason)]).get()
    }

    pub fn authz_count(&self, reason: &'static str) -> u64 {
        self.authz_failures.get_or_create(&vec![("reason", reason)]).get()
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}
