//! Appending election events to the audit log (`POST /v1/entries`, the election's internal token), for the
//! acts this binary performs: the local harness's manifest, ceremony and openings, the closing steps'
//! closings and seals, and the publisher's snapshots. The events themselves are `urna_record::events`.

use std::time::Duration;

use anyhow::{Result, bail};
use urna_audit::{AuditClient, LogEntry};

/// Appends `entries` in order, retrying while the log does not answer (the log returns the existing index
/// of an entry it already holds, so a retry never appends twice); returns their leaf indices. A refusal
/// (4xx) is an error at once.
pub async fn append(audit: &AuditClient, entries: &[LogEntry]) -> Result<Vec<u64>> {
    let mut wait = Duration::from_millis(200);
    for _ in 0..60 {
        match audit.append(entries).await {
            Ok(indices) => return Ok(indices),
            Err(e) if e.is_transient() => tracing::warn!(error = %e, "the audit log did not take the event; retrying"),
            Err(e) => bail!("the audit log refused the event: {e}"),
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(Duration::from_secs(10));
    }
    bail!("the audit log did not take the event after 60 attempts")
}
