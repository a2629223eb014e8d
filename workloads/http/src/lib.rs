//! The JSON-over-HTTP/1.1 client every Urna service and tool calls another's API with (the vote service
//! forwarding to shards and the log, the simulated voter, the shard and log clients, the monitor appending
//! officers' actions): hyper-util's pooled client, a timeout on each call, a bound on the answer's size, and
//! one reading of an error answer ([`urna_status::error::ErrorBody`]). Plain HTTP: inside a cluster, transport
//! security is the service mesh's business.
//!
//! What a status means (retry, refuse, done) is the caller's: [`HttpClient::send`] returns any status as `Ok`.

use std::net::IpAddr;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde::Serialize;
use serde::de::DeserializeOwned;
use urna_auth::Token;
use urna_status::error::ErrorBody;

/// Largest answer read by default: receipts, checkpoints and pages of records are far smaller; this bounds a
/// misbehaving peer.
pub const MAX_RESPONSE_BYTES: usize = 64 << 20;

/// How long a call may take by default, from connecting to the last byte of the answer.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// No answer: connection refused or reset, timeout, an unreadable or oversized body. Worth retrying.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportError(pub String);

impl std::fmt::Display for TransportError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TransportError {}

/// What a failed call returned: the HTTP status with the error's code and message, or (no status) a transport
/// or encoding failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallError {
    /// `None` when no answer arrived (connection refused or reset, timeout).
    pub status: Option<u16>,
    pub code: String,
    pub message: String,
}

impl CallError {
    /// Retrying may help: no answer, 429, or a 5xx.
    pub fn is_transient(&self) -> bool {
        match self.status {
            None => self.code == "transport",
            Some(s) => s == 429 || s >= 500,
        }
    }

    /// A failure before anything was sent (a body that could not be encoded, a URL that is not one).
    pub fn local(code: &str, e: impl ToString) -> Self {
        Self { status: None, code: code.into(), message: e.to_string() }
    }

    /// The error an answer with a failing `status` carries, read from its [`ErrorBody`] (or its text).
    pub fn from_answer(status: StatusCode, body: &[u8]) -> Self {
        let (code, message) = match serde_json::from_slice::<ErrorBody>(body) {
            Ok(e) => (e.error.code, e.error.message),
            Err(_) => ("http".into(), String::from_utf8_lossy(body).into_owned()),
        };
        Self { status: Some(status.as_u16()), code, message }
    }
}

impl From<TransportError> for CallError {
    fn from(e: TransportError) -> Self {
        Self { status: None, code: "transport".into(), message: e.0 }
    }
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

/// A pooled HTTP/1.1 client; cheap to clone (clones share the pool).
#[derive(Clone)]
pub struct HttpClient {
    inner: Client<HttpConnector, Full<Bytes>>,
    max_response: usize,
}

impl std::fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpClient").field("max_response", &self.max_response).finish_non_exhaustive()
    }
}

impl Default for HttpClient {
    fn default() -> Self {
        Self::new()
    }
}

impl HttpClient {
    pub fn new() -> Self {
        Self::with_local(None)
    }

    /// Connections from this local address (a benchmark's second client on loopback, seen by the server's
    /// per-IP rate limit as another peer).
    pub fn bound(local: IpAddr) -> Self {
        Self::with_local(Some(local))
    }

    fn with_local(local: Option<IpAddr>) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_local_address(local);
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(Duration::from_secs(5)));
        Self {
            inner: Client::builder(TokioExecutor::new()).pool_idle_timeout(Duration::from_secs(30)).build(connector),
            max_response: MAX_RESPONSE_BYTES,
        }
    }

    /// Sends one request (`bearer`: the token for `Authorization: Bearer`); any HTTP status is an `Ok`.
    pub async fn send(
        &self,
        method: Method,
        url: &str,
        bearer: Option<&str>,
        body: Option<Vec<u8>>,
        timeout: Duration,
    ) -> Result<(StatusCode, Bytes), TransportError> {
        let mut req = Request::builder().method(method).uri(url).header(header::ACCEPT, "application/json");
        if body.is_some() {
            req = req.header(header::CONTENT_TYPE, "application/json");
        }
        if let Some(token) = bearer {
            req = req.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let req = req
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|e| TransportError(format!("{url}: bad request: {e}")))?;
        let call = async {
            let resp = self.inner.request(req).await.map_err(|e| TransportError(format!("{url}: {e}")))?;
            let status = resp.status();
            let body = Limited::new(resp.into_body(), self.max_response)
                .collect()
                .await
                .map_err(|e| TransportError(format!("{url}: reading the body: {e}")))?
                .to_bytes();
            Ok((status, body))
        };
        tokio::time::timeout(timeout, call)
            .await
            .map_err(|_| TransportError(format!("{url}: no answer within {timeout:?}")))?
    }

    /// Sends one request and reads a successful answer as `T`; a failing status is a [`CallError`] with the
    /// server's error code.
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        url: &str,
        bearer: Option<&str>,
        body: Option<Vec<u8>>,
        timeout: Duration,
    ) -> Result<T, CallError> {
        let (status, bytes) = self.send(method, url, bearer, body, timeout).await?;
        decode(status, &bytes, url)
    }
}

/// One service's API at a base URL (`http://host:port`), presenting the service token on every call when it
/// has one: what the typed clients (a shard's, the audit log's) are built on.
#[derive(Clone, Debug)]
pub struct ServiceClient {
    base: String,
    http: HttpClient,
    token: Option<Token>,
    timeout: Duration,
}

impl ServiceClient {
    /// `base` without its trailing slash; a fresh connection pool.
    pub fn new(base: &str) -> Self {
        Self::with_http(base, HttpClient::new())
    }

    /// A client sharing `http`'s connection pool.
    pub fn with_http(base: &str, http: HttpClient) -> Self {
        Self { base: base.trim_end_matches('/').to_owned(), http, token: None, timeout: DEFAULT_TIMEOUT }
    }

    #[must_use]
    pub fn with_token(mut self, token: Token) -> Self {
        self.token = Some(token);
        self
    }

    /// The longest one call may take.
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// `path` (with its query) on this service, answered as the service answers it (any status).
    pub async fn raw(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<(StatusCode, Bytes), CallError> {
        let url = format!("{}{path}", self.base);
        Ok(self.http.send(method, &url, self.token.as_ref().map(Token::expose), body, self.timeout).await?)
    }

    /// `path` on this service, its successful answer read as `T`.
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<Vec<u8>>,
    ) -> Result<T, CallError> {
        let (status, bytes) = self.raw(method, path, body).await?;
        decode(status, &bytes, path)
    }

    /// [`ServiceClient::call`] with `body` encoded as JSON.
    pub async fn send_json<B: Serialize, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: &B,
    ) -> Result<T, CallError> {
        let body = serde_json::to_vec(body).map_err(|e| CallError::local("encode", e))?;
        self.call(method, path, Some(body)).await
    }
}

/// A successful answer read as `T`, or the error a failing one carries.
pub fn decode<T: DeserializeOwned>(status: StatusCode, body: &[u8], what: &str) -> Result<T, CallError> {
    if !status.is_success() {
        return Err(CallError::from_answer(status, body));
    }
    serde_json::from_slice(body).map_err(|e| CallError {
        status: Some(status.as_u16()),
        code: "decode".into(),
        message: format!("{what}: unexpected answer: {e}"),
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn errors_read_the_shared_body_or_the_text() {
        let e = CallError::from_answer(StatusCode::CONFLICT, br#"{"error":{"code":"log_closed","message":"closed"}}"#);
        assert_eq!((e.status, e.code.as_str(), e.message.as_str()), (Some(409), "log_closed", "closed"));
        assert!(!e.is_transient());
        let e = CallError::from_answer(StatusCode::BAD_GATEWAY, b"upstream down");
        assert_eq!((e.code.as_str(), e.message.as_str()), ("http", "upstream down"));
        assert!(e.is_transient());
        assert!(CallError::from(TransportError("refused".into())).is_transient());
        assert!(!CallError::local("encode", "bad").is_transient());
        let ok: Result<Vec<u64>, _> = decode(StatusCode::OK, b"[1,2]", "x");
        assert_eq!(ok, Ok(vec![1, 2]));
        let bad: Result<Vec<u64>, _> = decode(StatusCode::OK, b"{}", "x");
        assert_eq!(bad.map_err(|e| e.code), Err("decode".to_owned()));
    }

    #[tokio::test]
    async fn a_silent_peer_is_a_timeout_and_a_closed_port_a_transport_error() {
        use tokio::net::TcpListener;
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        // Accepts and never answers.
        let held = tokio::spawn(async move {
            let mut kept = Vec::new();
            while let Ok((s, _)) = listener.accept().await {
                kept.push(s);
            }
        });
        let http = HttpClient::new();
        let url = format!("http://{addr}/v1/x");
        let e = http.send(Method::GET, &url, None, None, Duration::from_millis(200)).await;
        assert!(matches!(&e, Err(TransportError(m)) if m.contains("no answer within")), "{e:?}");
        held.abort();
        let _ = held.await;
        let e = http.send(Method::GET, &url, None, None, Duration::from_secs(5)).await;
        assert!(e.is_err());
    }
}
