//! An HTTP client for a tally shard: what the vote service uses to forward contests, and what tests and the
//! benchmark drive shards with.

use bytes::Bytes;
use http::{Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::de::DeserializeOwned;
use urna_auth::Token;

use crate::error::{Result, TallyError};
use crate::wire::{ErrorBody, RecordsPage, ShardStatus, SubmitItem, SubmitResponse, TotalsRecord};

/// What a failed call returned: the HTTP status and the error code and message, or a transport error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallError {
    /// `None` when no response arrived (connection refused or reset).
    pub status: Option<u16>,
    pub code: String,
    pub message: String,
}

impl std::error::Error for CallError {}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.status {
            Some(s) => write!(f, "HTTP {s} {}: {}", self.code, self.message),
            None => write!(f, "{}: {}", self.code, self.message),
        }
    }
}

impl From<CallError> for TallyError {
    fn from(e: CallError) -> Self {
        TallyError::Client(e.to_string())
    }
}

#[derive(Clone)]
pub struct TallyClient {
    base: String,
    http: Client<HttpConnector, Full<Bytes>>,
    /// The election's internal token, sent with every request (the shard asks for it on writes only).
    token: Option<Token>,
}

impl TallyClient {
    /// `base` is `http://host:port` (no trailing slash needed).
    pub fn new(base: impl Into<String>) -> Self {
        let base = base.into().trim_end_matches('/').to_owned();
        Self { base, http: Client::builder(TokioExecutor::new()).build_http(), token: None }
    }

    /// This client, presenting `token` (needed for `submit` and `seal`).
    #[must_use]
    pub fn with_token(mut self, token: Token) -> Self {
        self.token = Some(token);
        self
    }

    pub async fn submit(&self, items: &[SubmitItem]) -> Result<SubmitResponse, CallError> {
        let body = serde_json::to_vec(&serde_json::json!({ "items": items })).map_err(|e| local("encode", e))?;
        self.call(Method::POST, "/v1/contests", Some(body)).await
    }

    pub async fn status(&self) -> Result<ShardStatus, CallError> {
        self.call(Method::GET, "/v1/status", None).await
    }

    /// The sealed totals (an error `not_sealed` before sealing).
    pub async fn totals(&self) -> Result<TotalsRecord, CallError> {
        self.call(Method::GET, "/v1/totals", None).await
    }

    pub async fn provisional_totals(&self) -> Result<TotalsRecord, CallError> {
        self.call(Method::GET, "/v1/totals?provisional=true", None).await
    }

    pub async fn seal(&self) -> Result<TotalsRecord, CallError> {
        self.call(Method::POST, "/v1/seal", None).await
    }

    pub async fn records(&self, from: u64, limit: usize) -> Result<RecordsPage, CallError> {
        self.call(Method::GET, &format!("/v1/records?from={from}&limit={limit}"), None).await
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
        let uri = format!("{}{path}", self.base);
        let mut req = Request::builder().method(method).uri(&uri);
        if body.is_some() {
            req = req.header(header::CONTENT_TYPE, "application/json");
        }
        if let Some(t) = &self.token {
            req = req.header(header::AUTHORIZATION, t.authorization());
        }
        let req = req.body(Full::new(Bytes::from(body.unwrap_or_default()))).map_err(|e| local("request", e))?;
        let resp = self.http.request(req).await.map_err(|e| CallError {
            status: None,
            code: "transport".into(),
            message: format!("{uri}: {e}"),
        })?;
        let status = resp.status();
        let bytes = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| CallError { status: Some(status.as_u16()), code: "transport".into(), message: e.to_string() })?
            .to_bytes();
        Ok((status, bytes))
    }

    async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<T, CallError> {
        let (status, bytes) = self.raw(method, path, body).await?;
        if !status.is_success() {
            let (code, message) = match serde_json::from_slice::<ErrorBody>(&bytes) {
                Ok(e) => (e.error.code, e.error.message),
                Err(_) => ("http".into(), String::from_utf8_lossy(&bytes).into_owned()),
            };
            return Err(CallError { status: Some(status.as_u16()), code, message });
        }
        serde_json::from_slice(&bytes).map_err(|e| CallError {
            status: Some(status.as_u16()),
            code: "decode".into(),
            message: format!("{path}: unexpected response: {e}"),
        })
    }
}

fn local(code: &str, e: impl ToString) -> CallError {
    CallError { status: None, code: code.into(), message: e.to_string() }
}
