//! Forwarding an accepted ballot: its contests to their tally shard, its AnonID to the audit log.
//!
//! Contracts (the other services' APIs, as this client speaks them):
//! - shard: `POST {shard}/v1/contests` with the tally's own bodies ([`urna_tally::wire`], the crate without
//!   its server): one result per item, in order, acknowledged only once durable. `duplicate` means an
//!   earlier attempt got through: success.
//! - audit: [`urna_audit::AuditClient`], the log's own client and wire bodies: `POST {audit}/v1/entries` with
//!   a ballot's AnonID or an acta's event → its leaf index;
//!   `GET {audit}/v1/checkpoint`; `GET {audit}/v1/proof/inclusion?index=I&size=N`.
//!
//! Both writes carry the election's internal token (`Authorization: Bearer`, [`urna_auth`]); a 401 is not
//! retried (the token is wrong until the pod is restarted with the right one) and leaves the ballot pending.
//!
//! Transport failures, timeouts, 429 and 5xx are retried with exponential backoff and jitter; other 4xx and
//! item rejections are not (retrying would not change them).

use std::time::Duration;

use http::{Method, StatusCode};
use rand_core::Rng;
use serde_json::Value;
use urna_auth::Token;
use urna_ballot::{ElectionManifest, EncryptedBallot};
use urna_status::Modality;
use urna_tally::wire::{ItemStatus, SubmitItem, SubmitRequest, SubmitResponse};

use urna_audit::AuditClient;

use crate::config::{RetryPolicy, ShardMap};
use urna_ballot::AnonId;
use urna_http::HttpClient;

#[derive(Debug, Clone, thiserror::Error)]
pub enum ForwardError {
    #[error("no tally shard is configured for district {district:?} and modality {modality}")]
    NoShard { district: String, modality: Modality },
    /// Still failing after every retry; the ballot stays pending and is retried later.
    #[error("{service} unavailable: {message}")]
    Unavailable { service: &'static str, message: String },
    /// The shard refused a contest (a configuration mismatch: the ballot was verified here).
    #[error("shard rejected contest {contest}: {reason}")]
    Rejected { contest: String, reason: String },
    #[error("{service}: unexpected answer: {message}")]
    Protocol { service: &'static str, message: String },
}

pub struct Upstreams {
    http: HttpClient,
    /// The election's internal token, presented on every write to a shard or the log.
    token: Option<Token>,
    shards: ShardMap,
    /// Appends, each call bounded by the retry policy's request timeout.
    audit: AuditClient,
    /// Reads of checkpoints and proofs for receipts: best effort, so bounded more tightly.
    audit_reads: AuditClient,
    retry: RetryPolicy,
    modality: Modality,
}

enum Attempt<T> {
    Done(T),
    Retry(String),
    Fail(ForwardError),
}

impl Upstreams {
    pub fn new(shards: ShardMap, audit: &str, retry: RetryPolicy, modality: Modality, token: Option<Token>) -> Self {
        let http = HttpClient::new();
        let mut log = AuditClient::with_http(audit, http.clone());
        if let Some(t) = &token {
            log = log.with_token(t.clone());
        }
        Self {
            audit: log.clone().with_timeout(retry.request_timeout),
            audit_reads: log.with_timeout(retry.request_timeout.min(Duration::from_secs(5))),
            http,
            token,
            shards,
            retry,
            modality,
        }
    }

    pub fn shard_for(&self, manifest: &ElectionManifest, district: &str) -> Result<&str, ForwardError> {
        self.shards
            .lookup(manifest, district, self.modality)
            .ok_or_else(|| ForwardError::NoShard { district: district.to_owned(), modality: self.modality })
    }

    /// Runs `attempt` until it is done or failed, or the attempts run out, pausing with exponential backoff
    /// and jitter between attempts.
    async fn with_retries<T, F: Future<Output = Attempt<T>>>(
        &self,
        service: &'static str,
        attempt: impl Fn() -> F,
    ) -> Result<T, ForwardError> {
        let mut backoff = self.retry.initial_backoff;
        let mut last = String::new();
        for n in 0..self.retry.attempts.max(1) {
            if n > 0 {
                let jitter_ms = urna_crypto::os_rng().next_u64() % (backoff.as_millis() as u64 / 2 + 1);
                tokio::time::sleep(backoff + Duration::from_millis(jitter_ms)).await;
                backoff = (backoff * 2).min(self.retry.max_backoff);
            }
            match attempt().await {
                Attempt::Done(t) => return Ok(t),
                Attempt::Fail(e) => return Err(e),
                Attempt::Retry(m) => {
                    tracing::warn!(service, attempt = n, error = %m, "upstream call failed; retrying");
                    last = m;
                }
            }
        }
        Err(ForwardError::Unavailable { service, message: last })
    }

    /// One `POST` to `url`: transport errors, 429 and 5xx are worth a retry; `judge` sees every successful
    /// answer.
    async fn post<T>(
        &self,
        service: &'static str,
        url: &str,
        body: &[u8],
        judge: impl Fn(&[u8]) -> Attempt<T>,
    ) -> Attempt<T> {
        let bearer = self.token.as_ref().map(Token::expose);
        match self.http.send(Method::POST, url, bearer, Some(body.to_vec()), self.retry.request_timeout).await {
            Err(e) => Attempt::Retry(e.to_string()),
            Ok((status, _)) if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS => {
                Attempt::Retry(format!("HTTP {status}"))
            }
            Ok((status, bytes)) if !status.is_success() => Attempt::Fail(ForwardError::Protocol {
                service,
                message: format!("HTTP {status}: {}", String::from_utf8_lossy(&bytes)),
            }),
            Ok((_, bytes)) => judge(&bytes),
        }
    }

    /// Sends every contest of `ballot` to its shard; succeeds when each is accepted or a duplicate.
    pub async fn forward(
        &self,
        manifest: &ElectionManifest,
        anon: &AnonId,
        ballot: &EncryptedBallot,
    ) -> Result<(), ForwardError> {
        let url = format!("{}/v1/contests", self.shard_for(manifest, &ballot.ballot_style)?);
        let request = SubmitRequest {
            items: ballot
                .contests
                .iter()
                .map(|c| SubmitItem {
                    anon_id: anon.to_hex(),
                    ballot_style: ballot.ballot_style.clone(),
                    contest: c.clone(),
                    election_id: None,
                    modality: None,
                })
                .collect(),
        };
        let body = serde_json::to_vec(&request)
            .map_err(|e| ForwardError::Protocol { service: "shard", message: e.to_string() })?;
        let judge = |bytes: &[u8]| {
            let resp: SubmitResponse = match serde_json::from_slice(bytes) {
                Ok(r) => r,
                Err(e) => {
                    return Attempt::Fail(ForwardError::Protocol { service: "shard", message: e.to_string() });
                }
            };
            if resp.items.len() != ballot.contests.len() {
                return Attempt::Fail(ForwardError::Protocol {
                    service: "shard",
                    message: format!("{} results for {} contests", resp.items.len(), ballot.contests.len()),
                });
            }
            for (r, c) in resp.items.iter().zip(&ballot.contests) {
                if r.status == ItemStatus::Rejected {
                    return Attempt::Fail(ForwardError::Rejected {
                        contest: c.contest_id.clone(),
                        reason: r.reason.clone().unwrap_or_else(|| "rejected".to_owned()),
                    });
                }
            }
            Attempt::Done(())
        };
        self.with_retries("shard", || self.post("shard", &url, &body, judge)).await
    }

    /// Appends the AnonID to the audit log; returns its leaf index.
    pub async fn append(&self, anon: &AnonId) -> Result<u64, ForwardError> {
        self.append_entry(&urna_audit::LogEntry::Ballot { anon_id: anon.0 }).await
    }

    /// Appends `entry` (a ballot, or an event such as an acta's) to the audit log; returns its leaf index. The
    /// log answers an entry it holds already with its existing index, so a retry appends nothing twice.
    pub async fn append_entry(&self, entry: &urna_audit::LogEntry) -> Result<u64, ForwardError> {
        self.with_retries("audit", || async {
            match self.audit.append(std::slice::from_ref(entry)).await {
                Ok(indices) => Attempt::Done(indices[0]),
                Err(e) if e.is_transient() => Attempt::Retry(e.to_string()),
                Err(e) => Attempt::Fail(ForwardError::Protocol { service: "audit", message: e.to_string() }),
            }
        })
        .await
    }

    async fn get_json(&self, path_and_query: &str) -> Option<Value> {
        self.audit_reads.call(Method::GET, path_and_query).await.ok()
    }

    /// A read-only `GET {audit}{path_and_query}` relayed as the log answers it (status and JSON body), so the
    /// voter app on this origin can fetch the log's own signed checkpoint and proofs and verify them itself.
    pub async fn audit_get(&self, path_and_query: &str) -> Result<(StatusCode, bytes::Bytes), ForwardError> {
        self.audit_reads
            .raw(Method::GET, path_and_query)
            .await
            .map_err(|e| ForwardError::Unavailable { service: "audit log", message: e.to_string() })
    }

    /// The latest checkpoint and, when it covers `index`, the inclusion proof: best effort, one try each (a
    /// receipt without them is still a receipt; `GET /v1/receipts/{anonId}` fetches them later).
    pub async fn proof(&self, index: u64) -> Option<(Value, Value)> {
        let checkpoint = self.get_json("/v1/checkpoint").await?;
        let size = checkpoint_size(&checkpoint)?;
        if size <= index {
            return None;
        }
        let proof = self.get_json(&format!("/v1/proof/inclusion?index={index}&size={size}")).await?;
        Some((checkpoint, proof))
    }
}

/// The tree size of a checkpoint: `size`/`treeSize`/`tree_size`, at the top or under `checkpoint`.
pub(crate) fn checkpoint_size(v: &Value) -> Option<u64> {
    let o = v.as_object()?;
    for k in ["size", "treeSize", "tree_size"] {
        if let Some(s) = o.get(k).and_then(Value::as_u64) {
            return Some(s);
        }
    }
    o.get("checkpoint").and_then(checkpoint_size)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn checkpoint_size_shapes() {
        assert_eq!(checkpoint_size(&json!({"checkpoint": {"treeSize": 9}})), Some(9));
    }
}
