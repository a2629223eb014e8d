//! A minimal JSON-over-HTTP/1.1 client (hyper-util's pooled client) for the shards, the audit log and the
//! simulated voter. Plain HTTP: inside a cluster, transport security is the service mesh's business.

use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// Largest response body read: receipts and checkpoints are small; this bounds a misbehaving peer.
const MAX_RESPONSE_BYTES: usize = 16 << 20;

#[derive(Debug, Clone)]
pub(crate) enum HttpError {
    /// No answer: connection refused or reset, timeout, unreadable body. Worth retrying.
    Transport(String),
}

impl std::fmt::Display for HttpError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Transport(m) => f.write_str(m),
        }
    }
}

#[derive(Clone)]
pub(crate) struct HttpClient {
    inner: Client<HttpConnector, Full<Bytes>>,
}

impl HttpClient {
    pub(crate) fn new() -> Self {
        Self::with_local(None)
    }

    /// Connections from this local address (a benchmark's second client on loopback, seen by the server's
    /// per-IP rate limit as another peer).
    pub(crate) fn bound(local: std::net::IpAddr) -> Self {
        Self::with_local(Some(local))
    }

    fn with_local(local: Option<std::net::IpAddr>) -> Self {
        let mut connector = HttpConnector::new();
        connector.set_local_address(local);
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(Duration::from_secs(5)));
        Self {
            inner: Client::builder(TokioExecutor::new()).pool_idle_timeout(Duration::from_secs(30)).build(connector),
        }
    }

    /// Sends one request; any HTTP status is an `Ok` (the caller decides what it means).
    pub(crate) async fn send(
        &self,
        method: Method,
        url: &str,
        bearer: Option<&str>,
        body: Option<Vec<u8>>,
        timeout: Duration,
    ) -> Result<(StatusCode, Bytes), HttpError> {
        let mut req = Request::builder().method(method).uri(url).header("accept", "application/json");
        if body.is_some() {
            req = req.header("content-type", "application/json");
        }
        if let Some(token) = bearer {
            req = req.header("authorization", format!("Bearer {token}"));
        }
        let req = req
            .body(Full::new(Bytes::from(body.unwrap_or_default())))
            .map_err(|e| HttpError::Transport(format!("bad request: {e}")))?;
        let call = async {
            let resp = self.inner.request(req).await.map_err(|e| HttpError::Transport(format!("{url}: {e}")))?;
            let status = resp.status();
            let body = Limited::new(resp.into_body(), MAX_RESPONSE_BYTES)
                .collect()
                .await
                .map_err(|e| HttpError::Transport(format!("{url}: reading the body: {e}")))?
                .to_bytes();
            Ok((status, body))
        };
        tokio::time::timeout(timeout, call)
            .await
            .map_err(|_| HttpError::Transport(format!("{url}: no answer within {timeout:?}")))?
    }
}
