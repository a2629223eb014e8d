//! Forwarding an accepted ballot: its contests to their tally shard, its AnonID to the audit log.
//!
//! Contracts (the other services' APIs, as this client speaks them):
//! - shard: `POST {shard}/v1/contests` with the tally's own bodies ([`urna_tally::wire`], the crate without
//!   its server): one result per item, in order, acknowledged only once durable. `duplicate` means an
//!   earlier attempt got through: success.
//! - audit: `POST {audit}/v1/entries` `{"entries": [urna_audit::LogEntry::Ballot]}` (`{"type": "ballot",
//!   "anon_id": hex}`, or an acta's `event`) → `{"indices": [i]}`;
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
use serde_json::{Value, json};
use urna_auth::Token;
use urna_ballot::{ElectionManifest, EncryptedBallot};
use urna_status::Modality;
use urna_tally::wire::{ItemStatus, SubmitItem, SubmitRequest, SubmitResponse};

use crate::config::{RetryPolicy, ShardMap};
use crate::http_client::HttpClient;
use urna_ballot::AnonId;

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
    audit: String,
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
        Self { http: HttpClient::new(), token, shards, audit: audit.trim_end_matches('/').to_owned(), retry, modality }
    }

    pub fn shard_for(&self, manifest: &ElectionManifest, district: &str) -> Result<&str, ForwardError> {
        self.shards
            .lookup(manifest, district, self.modality)
            .ok_or_else(|| ForwardError::NoShard { district: district.to_owned(), modality: self.modality })
    }

    /// Sends `body` to `url` until `judge` says done or fail, or the attempts run out. Transport errors,
    /// 429 and 5xx are retried; `judge` sees every other answer.
    async fn with_retries<T>(
        &self,
        service: &'static str,
        method: Method,
        url: &str,
        body: Option<Vec<u8>>,
        judge: impl Fn(StatusCode, &[u8]) -> Attempt<T>,
    ) -> Result<T, ForwardError> {
        let mut backoff = self.retry.initial_backoff;
        let mut last = String::new();
        for attempt in 0..self.retry.attempts.max(1) {
            if attempt > 0 {
                let jitter_ms = urna_crypto::os_rng().next_u64() % (backoff.as_millis() as u64 / 2 + 1);
                tokio::time::sleep(backoff + Duration::from_millis(jitter_ms)).await;
                backoff = (backoff * 2).min(self.retry.max_backoff);
            }
            let bearer = self.token.as_ref().map(Token::expose);
            let outcome =
                match self.http.send(method.clone(), url, bearer, body.clone(), self.retry.request_timeout).await {
                    Err(e) => Attempt::Retry(e.to_string()),
                    Ok((status, _)) if status.is_server_error() || status == StatusCode::TOO_MANY_REQUESTS => {
                        Attempt::Retry(format!("HTTP {status}"))
                    }
                    Ok((status, bytes)) if !status.is_success() => Attempt::Fail(ForwardError::Protocol {
                        service,
                        message: format!("HTTP {status}: {}", String::from_utf8_lossy(&bytes)),
                    }),
                    Ok((status, bytes)) => judge(status, &bytes),
                };
            match outcome {
                Attempt::Done(t) => return Ok(t),
                Attempt::Fail(e) => return Err(e),
                Attempt::Retry(m) => {
                    tracing::warn!(service, attempt, error = %m, "upstream call failed; retrying");
                    last = m;
                }
            }
        }
        Err(ForwardError::Unavailable { service, message: last })
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
        self.with_retries("shard", Method::POST, &url, Some(body), |_, bytes| {
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
        })
        .await
    }

    /// Appends the AnonID to the audit log; returns its leaf index.
    pub async fn append(&self, anon: &AnonId) -> Result<u64, ForwardError> {
        self.append_entry(&urna_audit::LogEntry::Ballot { anon_id: anon.0 }).await
    }

    /// Appends `entry` (a ballot, or an event such as an acta's) to the audit log; returns its leaf index. The
    /// log answers an entry it holds already with its existing index, so a retry appends nothing twice.
    pub async fn append_entry(&self, entry: &urna_audit::LogEntry) -> Result<u64, ForwardError> {
        let url = format!("{}/v1/entries", self.audit);
        // The entry as the audit log's own type serializes it, so the spelling cannot drift.
        let body = serde_json::to_vec(&json!({ "entries": [entry] }))
            .map_err(|e| ForwardError::Protocol { service: "audit", message: e.to_string() })?;
        self.with_retries("audit", Method::POST, &url, Some(body), |_, bytes| {
            match serde_json::from_slice::<Value>(bytes).ok().as_ref().and_then(find_index) {
                Some(i) => Attempt::Done(i),
                None => Attempt::Fail(ForwardError::Protocol {
                    service: "audit",
                    message: format!("no leaf index in {}", String::from_utf8_lossy(bytes)),
                }),
            }
        })
        .await
    }

    async fn get_json(&self, url: &str) -> Option<Value> {
        let timeout = self.retry.request_timeout.min(Duration::from_secs(5));
        let (status, bytes) = self.http.send(Method::GET, url, None, None, timeout).await.ok()?;
        if !status.is_success() {
            return None;
        }
        serde_json::from_slice(&bytes).ok()
    }

    /// A read-only `GET {audit}{path_and_query}` relayed as the log answers it (status and JSON body), so the
    /// voter app on this origin can fetch the log's own signed checkpoint and proofs and verify them itself.
    pub async fn audit_get(&self, path_and_query: &str) -> Result<(StatusCode, bytes::Bytes), ForwardError> {
        let timeout = self.retry.request_timeout.min(Duration::from_secs(5));
        self.http
            .send(Method::GET, &format!("{}{path_and_query}", self.audit), None, None, timeout)
            .await
            .map_err(|e| ForwardError::Unavailable { service: "audit log", message: e.to_string() })
    }

    /// The latest checkpoint and, when it covers `index`, the inclusion proof: best effort, one try each (a
    /// receipt without them is still a receipt; `GET /v1/receipts/{anonId}` fetches them later).
    pub async fn proof(&self, index: u64) -> Option<(Value, Value)> {
        let checkpoint = self.get_json(&format!("{}/v1/checkpoint", self.audit)).await?;
        let size = checkpoint_size(&checkpoint)?;
        if size <= index {
            return None;
        }
        let proof = self.get_json(&format!("{}/v1/proof/inclusion?index={index}&size={size}", self.audit)).await?;
        Some((checkpoint, proof))
    }
}

/// The leaf index in an append answer. The audit log's exact shape is its own; accepted: a number, a list
/// (first element), or an object with `leafIndex`/`index`, or a list under `indices`/`leafIndices`/
/// `entries`/`leaves`/`items`/`results`.
pub(crate) fn find_index(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64(),
        Value::Array(a) => a.first().and_then(find_index),
        Value::Object(o) => {
            for k in ["leafIndex", "leaf_index", "index"] {
                if let Some(i) = o.get(k).and_then(Value::as_u64) {
                    return Some(i);
                }
            }
            ["indices", "leafIndices", "leaf_indices", "entries", "leaves", "items", "results"]
                .iter()
                .find_map(|k| o.get(*k).and_then(find_index))
        }
        _ => None,
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

    #[test]
    fn index_shapes() {
        for v in
            [json!(3), json!([3]), json!({"indices": [3]}), json!({"entries": [{"index": 3}]}), json!({"leafIndex": 3})]
        {
            assert_eq!(find_index(&v), Some(3), "{v}");
        }
        assert_eq!(find_index(&json!({"x": 1})), None);
        assert_eq!(checkpoint_size(&json!({"checkpoint": {"treeSize": 9}})), Some(9));
    }
}
