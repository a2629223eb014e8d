//! The controller tests' fake apiserver: an in-memory store that answers kube's requests, records them, and
//! models server-side apply's field ownership on the status subresource. Used in process by `controller.rs`
//! (kube's mock service, [`FakeApi::client`]) and over HTTP on 127.0.0.1 by `operator_process.rs`
//! ([`super::fake_apiserver`]).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use http::{Method, Request, Response, StatusCode};
use kube::Client;
use kube::client::Body;
use serde_json::{Value, json};

/// One request as the apiserver saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: Method,
    pub path: String,
    pub query: String,
    pub content_type: String,
    pub body: Value,
}

impl Seen {
    pub fn is_apply(&self) -> bool {
        self.method == Method::PATCH && self.content_type == "application/apply-patch+yaml"
    }
    pub fn is_event(&self) -> bool {
        self.path.starts_with("/apis/events.k8s.io/")
    }
    pub fn is_write(&self) -> bool {
        !self.is_event() && matches!(self.method, Method::PATCH | Method::POST | Method::PUT | Method::DELETE)
    }
}

/// A tiny in-memory apiserver: GET returns what was stored (404 otherwise), LIST filters by path prefix,
/// PATCH/POST store and echo the body. Optionally fails every apply with 500.
#[derive(Clone, Default)]
pub struct FakeApi {
    pub seen: Arc<Mutex<Vec<Seen>>>,
    pub objects: Arc<Mutex<BTreeMap<String, Value>>>,
    pub fail_applies: bool,
    /// Refuse every child apply (not status) with this code, reason and message, as an apiserver's RBAC,
    /// schema validation or an admission webhook does.
    pub refuse_applies: Option<(u16, &'static str, &'static str)>,
    /// Writes still answered; once 0, every write fails with 503 and nothing is stored: the operator's
    /// process is gone from the apiserver's point of view (the closing tests' "killed" operator).
    pub writes_left: Arc<Mutex<Option<usize>>>,
    /// Resource versions and watch events, for the HTTP server ([`super::fake_apiserver`]); `None` in process,
    /// where no watch runs.
    pub journal: Option<Arc<Journal>>,
}

/// Every change to the store, numbered (the objects' `metadata.resourceVersion`), and the open watches: what a
/// watching operator process needs to see its own writes and the test's, as from a real apiserver.
#[derive(Default)]
pub struct Journal(Mutex<JournalState>);

#[derive(Default)]
struct JournalState {
    version: u64,
    /// `(resourceVersion, object path, watch event line)`.
    history: Vec<(u64, String, bytes::Bytes)>,
    /// `(collection path, where its events go)`.
    watchers: Vec<(String, futures::channel::mpsc::UnboundedSender<bytes::Bytes>)>,
}

impl Journal {
    /// Numbers `v` (stored at `path`, new or not) and sends it to the watches of its collection.
    fn record(&self, path: &str, v: &mut Value, new: bool) {
        let mut j = self.0.lock().expect("lock");
        j.version += 1;
        v["metadata"]["resourceVersion"] = json!(j.version.to_string());
        let event = json!({"type": if new { "ADDED" } else { "MODIFIED" }, "object": v});
        let mut line = serde_json::to_vec(&event).expect("json");
        line.push(b'\n');
        let line = bytes::Bytes::from(line);
        let version = j.version;
        j.history.push((version, path.to_owned(), line.clone()));
        j.watchers.retain(|(coll, tx)| !in_collection(path, coll) || tx.unbounded_send(line.clone()).is_ok());
    }

    /// The current resource version (a list's).
    pub fn version(&self) -> u64 {
        self.0.lock().expect("lock").version
    }

    /// A watch of `collection` from after resource version `since`: the changes since then, then each new one.
    pub fn watch(&self, collection: &str, since: u64) -> futures::channel::mpsc::UnboundedReceiver<bytes::Bytes> {
        let (tx, rx) = futures::channel::mpsc::unbounded();
        let mut j = self.0.lock().expect("lock");
        for (_, _, line) in j.history.iter().filter(|(v, path, _)| *v > since && in_collection(path, collection)) {
            let _ = tx.unbounded_send(line.clone());
        }
        j.watchers.push((collection.to_owned(), tx));
        rx
    }
}

/// Whether the object at `path` is in `collection` (`.../namespaces/NS/PLURAL`, or all namespaces' `.../PLURAL`).
pub fn in_collection(path: &str, collection: &str) -> bool {
    let Some((dir, _)) = path.rsplit_once('/') else { return false };
    if dir == collection {
        return true;
    }
    let Some((prefix, plural)) = collection.rsplit_once('/') else { return false };
    dir.strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix("/namespaces/"))
        .and_then(|rest| rest.split_once('/'))
        .is_some_and(|(ns, p)| !ns.is_empty() && p == plural)
}

impl FakeApi {
    pub fn client(&self) -> Client {
        let (svc, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
        let me = self.clone();
        tokio::spawn(async move {
            let mut handle = Box::pin(handle);
            while let Some((req, send)) = handle.next_request().await {
                let resp = me.answer(req).await;
                send.send_response(resp);
            }
        });
        Client::new(svc, "default")
    }

    pub fn put(&self, path: &str, mut v: Value) {
        let mut objects = self.objects.lock().expect("lock");
        if let Some(journal) = &self.journal {
            journal.record(path, &mut v, !objects.contains_key(path));
        }
        objects.insert(path.into(), v);
    }

    pub fn get(&self, path: &str) -> Value {
        self.objects.lock().expect("lock").get(path).cloned().unwrap_or(Value::Null)
    }

    pub async fn answer(&self, req: Request<Body>) -> Response<Body> {
        let method = req.method().clone();
        let path = req.uri().path().to_owned();
        let query = req.uri().query().unwrap_or_default().to_owned();
        let content_type =
            req.headers().get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_owned();
        if method != Method::GET
            && let Some(left) = self.writes_left.lock().expect("lock").as_mut()
        {
            if *left == 0 {
                return Response::builder().status(503).body(Body::from(b"killed".to_vec())).expect("resp");
            }
            *left -= 1;
        }
        let bytes = req.into_body().collect_bytes().await.expect("body");
        let body: Value =
            if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).unwrap_or(Value::Null) };
        self.seen.lock().expect("lock").push(Seen {
            method: method.clone(),
            path: path.clone(),
            query: query.clone(),
            content_type: content_type.clone(),
            body: body.clone(),
        });
        let ok = |v: &Value| {
            Response::builder().status(200).body(Body::from(serde_json::to_vec(v).expect("json"))).expect("resp")
        };
        let status = |code: u16, reason: &str| {
            let s = json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": reason, "code": code, "message": reason});
            Response::builder()
                .status(StatusCode::from_u16(code).expect("code"))
                .body(Body::from(serde_json::to_vec(&s).expect("json")))
                .expect("resp")
        };
        let objects = self.objects.lock().expect("lock").clone();
        match method {
            Method::GET => {
                if let Some(v) = objects.get(&path) {
                    return ok(v);
                }
                // A list: everything stored under the collection path.
                let items: Vec<Value> = objects
                    .iter()
                    .filter(|(k, _)| k.rsplit_once('/').is_some_and(|(dir, _)| dir == path))
                    .map(|(_, v)| v.clone())
                    .collect();
                if ["tallyshards", "secrets", "mesas", "boothfleets"].iter().any(|c| path.ends_with(c)) {
                    return ok(
                        &json!({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": "1"}, "items": items}),
                    );
                }
                status(404, "NotFound")
            }
            Method::PATCH if content_type == "application/apply-patch+yaml" && self.fail_applies => {
                status(500, "InternalError")
            }
            Method::PATCH
                if content_type == "application/apply-patch+yaml"
                    && !path.ends_with("/status")
                    && self.refuse_applies.is_some() =>
            {
                let (code, reason, message) = self.refuse_applies.unwrap_or_default();
                let s = json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": reason, "code": code, "message": message});
                Response::builder()
                    .status(StatusCode::from_u16(code).expect("code"))
                    .body(Body::from(serde_json::to_vec(&s).expect("json")))
                    .expect("resp")
            }
            Method::PATCH | Method::POST | Method::PUT => {
                let mut v = body;
                if path.ends_with("/status") {
                    let obj = path.trim_end_matches("/status").to_owned();
                    let mut stored = objects.get(&obj).cloned().unwrap_or(json!({}));
                    if content_type == "application/apply-patch+yaml" {
                        let manager = query_param(&query, "fieldManager").unwrap_or_default();
                        let force = query_param(&query, "force").as_deref() == Some("true");
                        let applied = v["status"].as_object().cloned().unwrap_or_default();
                        if let Err(conflict) = apply_status(&mut stored, &manager, force, &applied) {
                            return status(409, &conflict);
                        }
                    } else {
                        stored["status"] = v["status"].clone();
                    }
                    self.put(&obj, stored.clone());
                    return ok(&stored);
                }
                if content_type == "application/json-patch+json" {
                    v = objects.get(&path).cloned().unwrap_or(json!({}));
                }
                if v["metadata"]["name"].is_null() {
                    v["metadata"]["name"] = json!("event");
                }
                if method == Method::POST && !path.starts_with("/apis/events.k8s.io/") {
                    // A create: the object now exists under its collection.
                    let name = v["metadata"]["name"].as_str().unwrap_or_default().to_owned();
                    self.put(&format!("{path}/{name}"), v.clone());
                }
                if content_type == "application/apply-patch+yaml" {
                    // Server-side apply creates or updates: keep it (without status) for later reads.
                    let mut stored = objects.get(&path).cloned().unwrap_or(json!({}));
                    let status = stored["status"].take();
                    stored = v.clone();
                    if !status.is_null() {
                        stored["status"] = status;
                    }
                    self.put(&path, stored);
                }
                ok(&v)
            }
            _ => status(405, "MethodNotAllowed"),
        }
    }

    pub fn take(&self) -> Vec<Seen> {
        std::mem::take(&mut *self.seen.lock().expect("lock"))
    }
}

pub fn query_param(query: &str, name: &str) -> Option<String> {
    query.split('&').find_map(|kv| kv.strip_prefix(name)?.strip_prefix('=')).map(str::to_owned)
}

/// Server-side apply of a status subresource as the apiserver does it, at the granularity of status's
/// top-level fields (lists atomic, as in these CRDs): the manager's set of owned fields becomes exactly the
/// fields it applied; a field it owned before and no longer applies is removed unless another manager owns it
/// too; applying a value over another manager's different value is a conflict, unless forced, which takes
/// the field over. Ownership is kept in `metadata.managedFields` as `FieldsV1`, where the controllers read it.
pub fn apply_status(
    stored: &mut Value,
    manager: &str,
    force: bool,
    applied: &serde_json::Map<String, Value>,
) -> Result<(), String> {
    let fields_of = |entry: &Value| -> Vec<String> {
        entry["fieldsV1"]["f:status"]
            .as_object()
            .map(|m| m.keys().filter_map(|k| k.strip_prefix("f:")).map(str::to_owned).collect())
            .unwrap_or_default()
    };
    let is_status = |e: &Value| e["subresource"] == "status";
    let mut managed: Vec<Value> = stored["metadata"]["managedFields"].as_array().cloned().unwrap_or_default();
    let mine = |e: &Value| is_status(e) && e["manager"] == manager && e["operation"] == "Apply";
    let previous: Vec<String> = managed.iter().filter(|e| mine(e)).flat_map(fields_of).collect();
    let mut status = stored["status"].as_object().cloned().unwrap_or_default();
    for entry in managed.iter_mut().filter(|e| is_status(e) && !mine(e)) {
        let mut theirs = fields_of(entry);
        for (k, v) in applied {
            if theirs.contains(k) && status.get(k) != Some(v) {
                if !force {
                    return Err(format!("conflict: status.{k} is owned by {}", entry["manager"]));
                }
                theirs.retain(|f| f != k);
            }
        }
        entry["fieldsV1"] = fields_v1(&theirs);
    }
    let others: Vec<String> = managed.iter().filter(|e| is_status(e) && !mine(e)).flat_map(fields_of).collect();
    for gone in previous.iter().filter(|f| !applied.contains_key(*f) && !others.contains(f)) {
        status.remove(gone);
    }
    for (k, v) in applied {
        status.insert(k.clone(), v.clone());
    }
    managed.retain(|e| !mine(e));
    managed.push(json!({
        "manager": manager, "operation": "Apply", "subresource": "status", "fieldsType": "FieldsV1",
        "fieldsV1": fields_v1(&applied.keys().cloned().collect::<Vec<_>>()),
    }));
    stored["metadata"]["managedFields"] = Value::Array(managed);
    stored["status"] = Value::Object(status);
    Ok(())
}

pub fn fields_v1(fields: &[String]) -> Value {
    let inner: serde_json::Map<String, Value> = fields.iter().map(|f| (format!("f:{f}"), json!({}))).collect();
    json!({ "f:status": inner })
}
