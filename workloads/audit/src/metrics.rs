//! Prometheus metrics (OpenMetrics text at `GET /metrics`). Labels carry entry types only: never an id.

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq, EncodeLabelValue)]
pub enum EntryType {
    Ballot,
    Event,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EntryLabels {
    pub r#type: EntryType,
}

pub struct Metrics {
    registry: Registry,
    /// New leaves appended, by entry type.
    pub entries: Family<EntryLabels, Counter>,
    /// Appends answered with an existing leaf (a retried entry).
    pub duplicates: Counter,
    pub checkpoints: Counter,
    pub tree_size: Gauge,
    /// From an append request's arrival to its durable acknowledgement.
    pub append_latency: Histogram,
    /// Entries per committed batch.
    pub batch_size: Histogram,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

impl Metrics {
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("urna_audit");
        let entries = Family::<EntryLabels, Counter>::default();
        let duplicates = Counter::default();
        let checkpoints = Counter::default();
        let tree_size = Gauge::default();
        // 0.5 ms .. ~16 s: a synced commit is milliseconds, a batch wait up to the checkpoint interval.
        let append_latency = Histogram::new(exponential_buckets(0.0005, 2.0, 16));
        let batch_size = Histogram::new(exponential_buckets(1.0, 2.0, 12));
        registry.register("entries", "Leaves appended to the log, by entry type", entries.clone());
        registry.register("duplicate_appends", "Appends answered with an existing leaf", duplicates.clone());
        registry.register("checkpoints", "Signed checkpoints issued", checkpoints.clone());
        registry.register("tree_size", "Leaves in the log", tree_size.clone());
        registry.register(
            "append_latency_seconds",
            "Time from an append request to its durable acknowledgement",
            append_latency.clone(),
        );
        registry.register("batch_entries", "Entries per committed batch", batch_size.clone());
        Self { registry, entries, duplicates, checkpoints, tree_size, append_latency, batch_size }
    }

    pub fn encode(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}
