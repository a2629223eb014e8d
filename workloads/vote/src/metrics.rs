//! Prometheus metrics (`GET /metrics`). Labels are routes, methods, status codes and fixed reason codes:
//! never a voter, a token or an AnonID (crate rule).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RequestLabels {
    pub route: String,
    pub method: String,
    pub status: u16,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ReasonLabels {
    pub reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct BallotLabels {
    /// `accepted`, `duplicate` (identical resubmission) or `rejected`.
    pub outcome: String,
    /// `ok` or the error code.
    pub reason: String,
}

pub struct Metrics {
    registry: Registry,
    pub requests: Family<RequestLabels, Counter>,
    pub rights_issued: Counter,
    pub rights_refused: Family<ReasonLabels, Counter>,
    pub ballots: Family<BallotLabels, Counter>,
    pub ballots_pending: Gauge,
    pub rate_limited: Counter,
    /// Ballots per micro-batch of verification and recording ([`crate::intake`]).
    pub intake_batch_size: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("urna_vote");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register("http_requests", "HTTP requests by route, method and status", requests.clone());
        let rights_issued = Counter::default();
        registry.register("rights_issued", "Voting rights (blind signatures) issued", rights_issued.clone());
        let rights_refused = Family::<ReasonLabels, Counter>::default();
        registry.register("rights_refused", "Right requests refused, by reason", rights_refused.clone());
        let ballots = Family::<BallotLabels, Counter>::default();
        registry.register("ballots", "Ballot submissions by outcome and reason", ballots.clone());
        let ballots_pending = Gauge::default();
        registry.register(
            "ballots_pending",
            "Accepted ballots not yet acknowledged by their shard and the audit log",
            ballots_pending.clone(),
        );
        let rate_limited = Counter::default();
        registry.register("rate_limited", "Requests refused by the per-client rate limit", rate_limited.clone());
        let intake_batch_size = Histogram::new(exponential_buckets(1.0, 2.0, 8));
        registry.register(
            "intake_batch_size",
            "Ballots verified together and recorded in one commit",
            intake_batch_size.clone(),
        );
        Self {
            registry,
            requests,
            rights_issued,
            rights_refused,
            ballots,
            ballots_pending,
            rate_limited,
            intake_batch_size,
        }
    }

    pub fn ballot(&self, outcome: &str, reason: &str) {
        self.ballots.get_or_create(&BallotLabels { outcome: outcome.into(), reason: reason.into() }).inc();
    }

    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}
