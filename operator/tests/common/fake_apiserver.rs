//! [`FakeApi`] served over HTTP on 127.0.0.1, for an operator running as a process (`urna operator` with a
//! kubeconfig pointing here): what kube's client and kube-runtime's controllers ask of an apiserver.
//!
//! - `GET /version`;
//! - LIST of any collection (every stored object under it, with the list's `resourceVersion`);
//! - WATCH (`?watch=true`): the changes after the asked `resourceVersion`, then each new one as it is stored,
//!   newline-delimited as the apiserver streams them, until `timeoutSeconds`; nothing is sent while nothing
//!   changes (no busy loop);
//! - everything else as [`FakeApi::answer`] does: GET, server-side apply with status field ownership, the
//!   status subresource, creates, Events.
//!
//! A `trigger` looks at each write once it is stored; when it names a moment, the server *freezes*: every
//! later request is refused with 503 until the test [`Server::thaw`]s it. A test kills the operator process
//! at that moment, so the kill lands exactly there and a dying process writes nothing after it.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use axum::body::Body as AxumBody;
use futures::StreamExt;
use futures::channel::mpsc::{UnboundedReceiver, UnboundedSender, unbounded};
use http::{Method, StatusCode};
use serde_json::{Value, json};

use super::fake_api::{FakeApi, Journal, Seen, in_collection, query_param};

/// Looks at a stored write; `Some(moment)` freezes the server there.
pub type Trigger = Arc<dyn Fn(&FakeApi, &Seen) -> Option<String> + Send + Sync>;

struct Shared {
    api: FakeApi,
    journal: Arc<Journal>,
    frozen: AtomicBool,
    trigger: Option<Trigger>,
    moments: UnboundedSender<String>,
}

/// The running server.
pub struct Server {
    pub url: String,
    pub api: FakeApi,
    shared: Arc<Shared>,
    /// The moments the trigger named, in order (each froze the server).
    pub moments: UnboundedReceiver<String>,
}

impl Server {
    /// Serves `api` (given a journal: resource versions and watches) on 127.0.0.1.
    pub async fn start(mut api: FakeApi, trigger: Option<Trigger>) -> Self {
        let journal = api.journal.get_or_insert_with(Arc::default).clone();
        let (moments_tx, moments) = unbounded();
        let shared = Arc::new(Shared {
            api: api.clone(),
            journal,
            frozen: AtomicBool::new(false),
            trigger,
            moments: moments_tx,
        });
        let app = axum::Router::new().fallback(handle).with_state(shared.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { url, api, shared, moments }
    }

    /// Answers requests again after a freeze.
    pub fn thaw(&self) {
        self.shared.frozen.store(false, Ordering::SeqCst);
    }

    /// A kubeconfig for this server (namespace `namespace`, no credentials: plain HTTP on loopback).
    pub fn kubeconfig(&self, namespace: &str) -> String {
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: {}\n\
             contexts:\n- name: fake\n  context:\n    cluster: fake\n    user: test\n    namespace: {namespace}\n\
             current-context: fake\nusers:\n- name: test\n  user: {{}}\n",
            self.url
        )
    }
}

fn json_response(code: StatusCode, v: &Value) -> axum::response::Response {
    axum::response::Response::builder()
        .status(code)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(AxumBody::from(serde_json::to_vec(v).expect("json")))
        .expect("response")
}

/// Whether `path` names a collection (`/api/v1/PLURAL`, `/api/v1/namespaces/NS/PLURAL`, and the same under
/// `/apis/GROUP/VERSION`), not one object.
fn is_collection(path: &str) -> bool {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let base = match segs.first() {
        Some(&"api") => 2,
        Some(&"apis") => 3,
        _ => return false,
    };
    segs.len() == base + 1 || (segs.len() == base + 3 && segs[base] == "namespaces")
}

async fn handle(
    axum::extract::State(s): axum::extract::State<Arc<Shared>>,
    req: axum::extract::Request,
) -> axum::response::Response {
    if s.frozen.load(Ordering::SeqCst) {
        return json_response(StatusCode::SERVICE_UNAVAILABLE, &json!({"kind": "Status", "code": 503}));
    }
    let (parts, body) = req.into_parts();
    let path = parts.uri.path().to_owned();
    let query = parts.uri.query().unwrap_or_default().to_owned();
    if parts.method == Method::GET {
        if path == "/version" {
            let v = json!({"major": "1", "minor": "33", "gitVersion": "v1.33.0-urna-fake", "platform": "linux/amd64"});
            return json_response(StatusCode::OK, &v);
        }
        if matches!(query_param(&query, "watch").as_deref(), Some("true" | "1")) {
            return watch(&s, &path, &query);
        }
        if is_collection(&path) {
            let version = s.journal.version();
            let items: Vec<Value> = s
                .api
                .objects
                .lock()
                .expect("lock")
                .iter()
                .filter(|(k, _)| in_collection(k, &path))
                .map(|(_, v)| v.clone())
                .collect();
            let list = json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": version.to_string()}, "items": items});
            return json_response(StatusCode::OK, &list);
        }
    }
    let bytes = match axum::body::to_bytes(body, usize::MAX).await {
        Ok(b) => b,
        Err(e) => return json_response(StatusCode::BAD_REQUEST, &json!({"message": e.to_string()})),
    };
    let seen = Seen {
        method: parts.method.clone(),
        path: path.clone(),
        query,
        content_type: parts
            .headers
            .get(http::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned(),
        body: serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    };
    let resp = s.api.answer(http::Request::from_parts(parts, kube::client::Body::from(bytes.to_vec()))).await;
    let (rparts, rbody) = resp.into_parts();
    let out = rbody.collect_bytes().await.expect("body");
    if seen.method != Method::GET
        && rparts.status.is_success()
        && let Some(moment) = s.trigger.as_ref().and_then(|t| t(&s.api, &seen))
    {
        s.frozen.store(true, Ordering::SeqCst);
        let _ = s.moments.unbounded_send(moment);
    }
    let mut resp = axum::response::Response::from_parts(rparts, AxumBody::from(out));
    resp.headers_mut().insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("application/json"));
    resp
}

/// A watch: the journal's lines for `path` after `resourceVersion`, as they come, until `timeoutSeconds`.
fn watch(s: &Shared, path: &str, query: &str) -> axum::response::Response {
    let since = query_param(query, "resourceVersion").and_then(|v| v.parse().ok()).unwrap_or(0);
    let timeout = query_param(query, "timeoutSeconds").and_then(|v| v.parse().ok()).unwrap_or(290);
    let events = s.journal.watch(path, since).map(Ok::<_, std::io::Error>);
    let until = tokio::time::sleep(Duration::from_secs(timeout));
    let stream = events.take_until(until);
    axum::response::Response::builder()
        .status(StatusCode::OK)
        .header(http::header::CONTENT_TYPE, "application/json")
        .body(AxumBody::from_stream(stream))
        .expect("response")
}
