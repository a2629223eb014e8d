//! A small async JSON-over-HTTP/1.1 client for the workloads (hyper-util's pooled client): `GET` a JSON
//! body with a timeout and a bounded body, `POST` JSON with the election's internal token. Plain HTTP: inside
//! a cluster, transport security is the service mesh's business (as for the vote service's own client).

use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::Serialize;
use serde::de::DeserializeOwned;
use urna_auth::Token;

/// How long one call may take, connect to last byte: a workload that answers slower is "not answering".
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(3);
/// Largest body read. Status bodies are small (the booth vote service's, listing every Mesa, is the largest:
/// about 100 bytes a Mesa); this bounds a misbehaving peer.
pub const MAX_BODY_BYTES: usize = 4 << 20;

/// Why a call gave no usable answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CallError {
    /// No answer: refused, reset, name not resolved, timeout, body cut or over the limit.
    #[error("{url}: {message}")]
    Transport { url: String, message: String },
    /// An HTTP error status, with the workload's error code (`{"error": {"code", "message"}}`) when it sent one.
    #[error("{url}: HTTP {status} {code}: {message}")]
    Status { url: String, status: u16, code: String, message: String },
    /// A success status whose body is not the JSON expected.
    #[error("{url}: unparseable body: {message}")]
    Body { url: String, message: String },
}

impl CallError {
    /// The condition reason for a workload that gave this error.
    pub fn reason(&self) -> &'static str {
        match self {
            Self::Transport { .. } => "StatusUnreachable",
            Self::Status { .. } => "StatusError",
            Self::Body { .. } => "StatusUnparseable",
        }
    }

    pub(crate) fn body(url: &str, message: impl std::fmt::Display) -> Self {
        Self::Body { url: url.to_owned(), message: message.to_string() }
    }
}

#[derive(Clone)]
pub struct WorkloadClient {
    inner: Client<HttpConnector, Full<Bytes>>,
    timeout: Duration,
    max_body: usize,
}

impl Default for WorkloadClient {
    fn default() -> Self {
        Self::new(DEFAULT_TIMEOUT)
    }
}

impl std::fmt::Debug for WorkloadClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WorkloadClient").field("timeout", &self.timeout).field("max_body", &self.max_body).finish()
    }
}

impl WorkloadClient {
    pub fn new(timeout: Duration) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(timeout));
        let inner = Client::builder(TokioExecutor::new()).pool_idle_timeout(Duration::from_secs(30)).build(connector);
        Self { inner, timeout, max_body: MAX_BODY_BYTES }
    }

    /// This client, reading at most `max` bytes of a body.
    #[must_use]
    pub fn with_max_body(mut self, max: usize) -> Self {
        self.max_body = max;
        self
    }

    /// `GET url` and parse the JSON answer as `T`.
    pub async fn get_json<T: DeserializeOwned>(&self, url: &str) -> Result<T, CallError> {
        let bytes = self.call(Method::GET, url, None, None).await?;
        serde_json::from_slice(&bytes).map_err(|e| CallError::body(url, e))
    }

    /// `GET url`: the body exactly as sent (a document whose digest is checked, such as `results.json`).
    pub async fn get_bytes(&self, url: &str) -> Result<Bytes, CallError> {
        self.call(Method::GET, url, None, None).await
    }

    /// `POST url` with `body` as JSON and `Authorization: Bearer <token>`; parse the JSON answer as `T`.
    pub async fn post_json<B: Serialize, T: DeserializeOwned>(
        &self,
        url: &str,
        token: &Token,
        body: &B,
    ) -> Result<T, CallError> {
        let body = serde_json::to_vec(body)
            .map_err(|e| CallError::Transport { url: url.to_owned(), message: format!("encoding the request: {e}") })?;
        let bytes = self.call(Method::POST, url, Some(token), Some(body)).await?;
        serde_json::from_slice(&bytes).map_err(|e| CallError::body(url, e))
    }

    /// One request; the body of a success status, or the error.
    async fn call(
        &self,
        method: Method,
        url: &str,
        token: Option<&Token>,
        body: Option<Vec<u8>>,
    ) -> Result<Bytes, CallError> {
        let transport = |message: String| CallError::Transport { url: url.to_owned(), message };
        let mut req = Request::builder().method(method).uri(url).header(header::ACCEPT, "application/json");
        if body.is_some() {
            req = req.header(header::CONTENT_TYPE, "application/json");
        }
        if let Some(t) = token {
            req = req.header(header::AUTHORIZATION, t.authorization());
        }
        let req = req.body(Full::new(Bytes::from(body.unwrap_or_default()))).map_err(|e| transport(e.to_string()))?;
        let exchange = async {
            let resp = self.inner.request(req).await.map_err(|e| transport(chain(&e)))?;
            let status = resp.status();
            let bytes = Limited::new(resp.into_body(), self.max_body)
                .collect()
                .await
                .map_err(|e| transport(format!("reading the body (at most {} bytes): {e}", self.max_body)))?
                .to_bytes();
            Ok((status, bytes))
        };
        let (status, bytes) = tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| transport(format!("no answer within {:?}", self.timeout)))??;
        if status.is_success() {
            return Ok(bytes);
        }
        let (code, message) = error_body(&bytes);
        Err(CallError::Status { url: url.to_owned(), status: status.as_u16(), code, message })
    }
}

/// The workloads' error body `{"error": {"code", "message"}}`; anything else is reported as text.
fn error_body(bytes: &[u8]) -> (String, String) {
    let v: Option<serde_json::Value> = serde_json::from_slice(bytes).ok();
    let field = |k: &str| v.as_ref().and_then(|v| v["error"][k].as_str()).map(str::to_owned);
    match (field("code"), field("message")) {
        (Some(code), message) => (code, message.unwrap_or_default()),
        _ => {
            let text = String::from_utf8_lossy(bytes);
            ("http".into(), text.chars().take(200).collect())
        }
    }
}

/// An error with its sources (hyper's "client error (Connect)" says nothing without them).
fn chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}
