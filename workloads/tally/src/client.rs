//! An HTTP client for a tally shard: what the vote service uses to forward contests, and what tests and the
//! benchmark drive shards with.

use bytes::Bytes;
use http::{Method, StatusCode};
use serde::de::DeserializeOwned;
use urna_auth::Token;
pub use urna_http::CallError;
use urna_http::ServiceClient;

use crate::error::TallyError;
use crate::wire::{RecordsPage, ShardStatus, SubmitItem, SubmitRequest, SubmitResponse, TotalsRecord};

impl From<CallError> for TallyError {
    fn from(e: CallError) -> Self {
        TallyError::Client(e.to_string())
    }
}

#[derive(Clone, Debug)]
pub struct TallyClient {
    api: ServiceClient,
}

impl TallyClient {
    /// `base` is `http://host:port` (no trailing slash needed).
    pub fn new(base: impl Into<String>) -> Self {
        Self { api: ServiceClient::new(&base.into()) }
    }

    /// This client, presenting the election's internal `token` (the shard asks for it on writes only:
    /// `submit` and `seal`).
    #[must_use]
    pub fn with_token(self, token: Token) -> Self {
        Self { api: self.api.with_token(token) }
    }

    pub async fn submit(&self, items: &[SubmitItem]) -> Result<SubmitResponse, CallError> {
        self.api.send_json(Method::POST, "/v1/contests", &SubmitRequest { items: items.to_vec() }).await
    }

    pub async fn status(&self) -> Result<ShardStatus, CallError> {
        self.call(Method::GET, "/v1/status").await
    }

    /// The sealed totals (an error `not_sealed` before sealing).
    pub async fn totals(&self) -> Result<TotalsRecord, CallError> {
        self.call(Method::GET, "/v1/totals").await
    }

    pub async fn provisional_totals(&self) -> Result<TotalsRecord, CallError> {
        self.call(Method::GET, "/v1/totals?provisional=true").await
    }

    pub async fn seal(&self) -> Result<TotalsRecord, CallError> {
        self.call(Method::POST, "/v1/seal").await
    }

    pub async fn records(&self, from: u64, limit: usize) -> Result<RecordsPage, CallError> {
        self.call(Method::GET, &format!("/v1/records?from={from}&limit={limit}")).await
    }

    /// Every record of the log, page by page.
    pub async fn all_records(&self) -> Result<Vec<crate::record::LogRecord>, CallError> {
        let mut out = Vec::new();
        let mut from = 1;
        loop {
            let page = self.records(from, crate::wire::MAX_RECORDS_PAGE).await?;
            out.extend(page.records);
            match page.next {
                Some(n) => from = n,
                None => return Ok(out),
            }
        }
    }

    /// A raw call: status and body, for endpoints without a typed helper (and for tests of error bodies).
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<(StatusCode, Bytes), CallError> {
        self.api.raw(method, path, body).await
    }

    async fn call<T: DeserializeOwned>(&self, method: Method, path: &str) -> Result<T, CallError> {
        self.api.call(method, path, None).await
    }
}
