//! The HTTP client of an audit log: the one way Urna's services and tools append events and read the log's
//! API. It makes one attempt per call; how often and how long to retry is each caller's policy (a ballot's
//! AnonID is retried for seconds and then left pending, an officer's action until the log answers, an
//! election event until the operator gives up).

use std::time::Duration;

use bytes::Bytes;
use http::{Method, StatusCode};
use serde::de::DeserializeOwned;
use urna_auth::Token;
use urna_http::{CallError, HttpClient, ServiceClient};

use crate::entry::LogEntry;
use crate::wire::{AppendRequest, AppendResponse, CosignRequest, LOG_CLOSED};

#[derive(Clone, Debug)]
pub struct AuditClient {
    api: ServiceClient,
}

impl AuditClient {
    /// `base` is `http://host:port` (a trailing slash is dropped).
    pub fn new(base: &str) -> Self {
        Self { api: ServiceClient::new(base) }
    }

    /// A client sharing `http`'s connection pool.
    pub fn with_http(base: &str, http: HttpClient) -> Self {
        Self { api: ServiceClient::with_http(base, http) }
    }

    /// This client, presenting the election's internal token, which appends and the close require.
    #[must_use]
    pub fn with_token(self, token: Token) -> Self {
        Self { api: self.api.with_token(token) }
    }

    /// The longest one call may take.
    #[must_use]
    pub fn with_timeout(self, timeout: Duration) -> Self {
        Self { api: self.api.with_timeout(timeout) }
    }

    pub fn base(&self) -> &str {
        self.api.base()
    }

    /// Appends `entries` (at most [`crate::wire::MAX_ENTRIES_PER_REQUEST`]) and returns their leaf indices, in
    /// order, once the log holds them durably. An entry the log already holds answers with its existing index,
    /// so retrying a call whose answer was lost appends nothing twice.
    pub async fn append(&self, entries: &[LogEntry]) -> Result<Vec<u64>, CallError> {
        let request = AppendRequest { entries: entries.to_vec() };
        let answer: AppendResponse = self.api.send_json(Method::POST, "/v1/entries", &request).await?;
        if answer.indices.len() != entries.len() {
            return Err(CallError {
                status: Some(StatusCode::OK.as_u16()),
                code: "decode".into(),
                message: format!("{} indices for {} entries", answer.indices.len(), entries.len()),
            });
        }
        Ok(answer.indices)
    }

    /// Sends a witness's cosignature; answers the checkpoint with every cosignature it now carries.
    pub async fn cosign(&self, request: &CosignRequest) -> Result<serde_json::Value, CallError> {
        self.api.send_json(Method::POST, "/v1/witness/cosign", request).await
    }

    /// One call, its successful answer read as `T`.
    pub async fn call<T: DeserializeOwned>(&self, method: Method, path: &str) -> Result<T, CallError> {
        self.api.call(method, path, None).await
    }

    /// One call, answered as the log answers it (any status), for relaying and for the close.
    pub async fn raw(&self, method: Method, path: &str) -> Result<(StatusCode, Bytes), CallError> {
        self.api.raw(method, path, None).await
    }
}

/// The log refused because it has written its closing checkpoint: nothing more will be appended, ever.
pub fn is_closed(e: &CallError) -> bool {
    e.status == Some(StatusCode::CONFLICT.as_u16()) && e.code == LOG_CLOSED
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_closed_log_is_told_from_other_refusals() {
        let closed = CallError { status: Some(409), code: LOG_CLOSED.into(), message: "closed".into() };
        assert!(is_closed(&closed));
        let other = CallError { status: Some(409), code: "too_many_cosignatures".into(), message: String::new() };
        assert!(!is_closed(&other));
        assert!(!is_closed(&CallError { status: None, code: "transport".into(), message: String::new() }));
    }
}
