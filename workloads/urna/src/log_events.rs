//! Appending election events to the audit log (`POST /v1/entries`, the election's internal token), for the
//! acts this binary performs: the local harness's manifest, ceremony and openings, the closing steps'
//! closings and seals, and the publisher's snapshots. The events themselves are `urna_record::events`.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use http::Method;
use urna_audit::LogEntry;
use urna_tally::TallyClient;

/// Appends `entries` in order, retrying while the log does not answer (the log returns the existing index
/// of an entry it already holds, so a retry never appends twice); returns their leaf indices. A refusal
/// (4xx) is an error at once.
pub async fn append(audit: &TallyClient, entries: &[LogEntry]) -> Result<Vec<u64>> {
    let body = serde_json::to_vec(&serde_json::json!({ "entries": entries })).context("encoding the entries")?;
    let mut wait = Duration::from_millis(200);
    for _ in 0..60 {
        match audit.raw(Method::POST, "/v1/entries", Some(body.clone())).await {
            Ok((status, bytes)) if status.is_success() => {
                let v: serde_json::Value = serde_json::from_slice(&bytes).context("the log's answer is not JSON")?;
                let indices: Option<Vec<u64>> =
                    v["indices"].as_array().map(|a| a.iter().filter_map(serde_json::Value::as_u64).collect());
                return indices.filter(|i| i.len() == entries.len()).context("the log's answer has no indices");
            }
            Ok((status, bytes)) if status.is_client_error() => {
                bail!("the audit log refused the event: {status}: {}", String::from_utf8_lossy(&bytes))
            }
            Ok((status, _)) => tracing::warn!(%status, "the audit log did not take the event; retrying"),
            Err(e) => tracing::warn!(error = %e, "the audit log is unreachable; retrying"),
        }
        tokio::time::sleep(wait).await;
        wait = (wait * 2).min(Duration::from_secs(10));
    }
    bail!("the audit log did not take the event after 60 attempts")
}
