//! Prometheus metrics (`GET /metrics`, OpenMetrics text). Labels carry only low-cardinality values (the
//! rejection reason kind), never an anonId or anything from a ballot.

use prometheus_client::encoding::text::encode;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

pub struct Metrics {
    registry: Registry,
    pub accepted: Counter,
    pub duplicates: Counter,
    pub rejected: Family<Vec<(&'static str, &'static str)>, Counter>,
    /// Items per batch: logged in one commit, and verified together with `verify_proofs`.
    pub batch_size: Histogram,
    /// Wall time of one batch verification (`BallotCodec::verify_contests`).
    pub verify_seconds: Histogram,
    /// Wall time of a durable commit (dominated by fsync).
    pub commit_seconds: Histogram,
    pub log_sequence: Gauge,
    pub sealed: Gauge,
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("urna_tally");
        let accepted = Counter::default();
        let duplicates = Counter::default();
        let rejected = Family::default();
        let batch_size = Histogram::new(exponential_buckets(1.0, 2.0, 10));
        let verify_seconds = Histogram::new(exponential_buckets(0.0005, 2.0, 16));
        let commit_seconds = Histogram::new(exponential_buckets(0.0001, 2.0, 16));
        let log_sequence = Gauge::default();
        let sealed = Gauge::default();
        registry.register("contests_accepted", "Contests verified and appended to the log", accepted.clone());
        registry.register(
            "contests_duplicate",
            "Identical resubmissions answered with the original sequence",
            duplicates.clone(),
        );
        registry.register("contests_rejected", "Contests refused, by reason kind", rejected.clone());
        registry.register(
            "batch_size",
            "Contests per batch (verified together with --verify-proofs, logged in one commit)",
            batch_size.clone(),
        );
        registry.register(
            "verify_seconds",
            "Time to verify one batch of proofs (with --verify-proofs)",
            verify_seconds.clone(),
        );
        registry.register("commit_seconds", "Time of one durable log commit (fsync)", commit_seconds.clone());
        registry.register("log_sequence", "Sequence of the last log record", log_sequence.clone());
        registry.register("sealed", "1 once the shard is sealed", sealed.clone());
        Self {
            registry,
            accepted,
            duplicates,
            rejected,
            batch_size,
            verify_seconds,
            commit_seconds,
            log_sequence,
            sealed,
        }
    }

    pub fn reject(&self, kind: &'static str) {
        self.rejected.get_or_create(&vec![("reason", kind)]).inc();
    }

    pub fn render(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = encode(&mut out, &self.registry);
        out
    }
}
