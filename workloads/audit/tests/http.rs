//! The HTTP API over real loopback sockets: appends, signed checkpoints, proofs from the server checked with
//! the pure verifiers, the checkpoint timer, batch shuffling, close, witness cosigning, restart, errors.

mod common;

use std::time::Duration;

use common::{Server, ballot, config, get, hash, hashes, post, request, request_as};
use serde_json::{Value, json};
use urna_audit::checkpoint::{Note, open_checkpoint};
use urna_audit::{Checkpoint, LogEntry, LogKey, leaf_hash, verify_consistency, verify_inclusion};

const LOG_SEED: [u8; 32] = [7; 32];

fn checkpoint(s: &Server) -> (Checkpoint, Value) {
    let (status, v) = get(s.addr, "/v1/checkpoint");
    assert_eq!(status, 200, "{v}");
    let cp = open_checkpoint(v["note"].as_str().expect("note"), &s.public_key).expect("log signature verifies");
    assert_eq!(cp.size, v["size"].as_u64().expect("size"));
    assert_eq!(hex::encode(cp.root), v["root"].as_str().expect("root"));
    (cp, v)
}

fn append(s: &Server, entries: Vec<Value>) -> Vec<u64> {
    let (status, v) = post(s.addr, "/v1/entries", &json!({ "entries": entries }));
    assert_eq!(status, 200, "{v}");
    v["indices"].as_array().expect("indices").iter().map(|i| i.as_u64().expect("index")).collect()
}

fn event(kind: &str, detail: &str) -> Value {
    json!({ "type": "event", "kind": kind, "digest": "ab".repeat(32), "detail": detail })
}

#[test]
fn append_checkpoint_and_verify_proofs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = Server::start(dir.path(), LOG_SEED, config(4, 20, 60_000));
    let (first, _) = checkpoint(&s);
    assert_eq!(first.size, 0, "a new log starts with a signed empty checkpoint");

    // An event closes the batch and is checkpointed at once.
    assert_eq!(append(&s, vec![event("open", "polls open")]), vec![0]);
    let (cp1, _) = checkpoint(&s);
    assert_eq!(cp1.size, 1);

    // Ten ballots in one request: two full batches of 4 (checkpointed) and a partial one (after 20 ms).
    let indices = append(&s, (0..10).map(ballot).collect());
    let mut sorted = indices.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (1..11).collect::<Vec<_>>());
    // The partial batch is durable and indexed, but only a full batch or an event signs a checkpoint...
    let indices2 = append(&s, vec![event("acta", "mesa 1")]);
    assert_eq!(indices2, vec![11]);
    let (cp2, _) = checkpoint(&s);
    assert_eq!(cp2.size, 12);

    // The entries endpoint serves the canonical bytes: their leaf hashes are what the tree holds.
    let (status, v) = get(s.addr, "/v1/entries?start=0&end=12");
    assert_eq!(status, 200, "{v}");
    let entries = v["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 12);
    for (i, e) in entries.iter().enumerate() {
        let encoded = hex::decode(e["encoded"].as_str().expect("encoded")).expect("hex");
        assert_eq!(hex::encode(leaf_hash(&encoded)), e["leaf_hash"].as_str().expect("leaf"));
        let decoded: LogEntry = serde_json::from_value(e["entry"].clone()).expect("entry");
        assert_eq!(decoded.encode(), encoded, "entry {i}");
    }

    // Every leaf's inclusion proof, at the default size (the latest checkpoint) and by leaf hash.
    for (i, e) in entries.iter().enumerate() {
        let (status, p) = get(s.addr, &format!("/v1/proof/inclusion?index={i}"));
        assert_eq!(status, 200, "{p}");
        assert_eq!(p["size"], 12);
        let leaf = hash(&e["leaf_hash"]);
        verify_inclusion(&leaf, i as u64, cp2.size, &hashes(&p["proof"]), &cp2.root).expect("inclusion verifies");
        let (status, q) =
            get(s.addr, &format!("/v1/proof/inclusion?leaf_hash={}&size=1", e["leaf_hash"].as_str().expect("h")));
        if i == 0 {
            assert_eq!(status, 200, "{q}");
            verify_inclusion(&leaf, 0, 1, &hashes(&q["proof"]), &cp1.root).expect("inclusion at size 1");
        } else {
            assert_eq!(status, 400, "leaf {i} is not in the tree of size 1: {q}");
        }
    }
    // A proof against the wrong root fails.
    let (_, p) = get(s.addr, "/v1/proof/inclusion?index=3&size=12");
    let leaf = hash(&entries[3]["leaf_hash"]);
    assert!(verify_inclusion(&leaf, 3, 12, &hashes(&p["proof"]), &cp1.root).is_err());

    // Consistency between every pair of checkpointed sizes.
    for (a, ra) in [(0, first.root), (1, cp1.root), (12, cp2.root)] {
        let (status, c) = get(s.addr, &format!("/v1/proof/consistency?from={a}&to=12"));
        assert_eq!(status, 200, "{c}");
        verify_consistency(a, 12, &ra, &cp2.root, &hashes(&c["proof"])).expect("consistency verifies");
    }
    let (_, c) = get(s.addr, "/v1/proof/consistency?from=1");
    assert_eq!(c["to"], 12, "`to` defaults to the latest checkpoint");
}

#[test]
fn timer_checkpoints_partial_batches() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = Server::start(dir.path(), LOG_SEED, config(64, 10, 300));
    let indices = append(&s, (0..3).map(ballot).collect());
    assert_eq!(indices.len(), 3);
    // Durable now (answered), signed within the timer interval.
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (cp, _) = checkpoint(&s);
        if cp.size == 3 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "no timer checkpoint");
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn batches_are_shuffled_and_appends_idempotent() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = Server::start(dir.path(), LOG_SEED, config(64, 1000, 60_000));
    let ballots: Vec<Value> = (100..164).map(ballot).collect();
    let indices = append(&s, ballots.clone());
    let mut sorted = indices.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, (0..64).collect::<Vec<_>>());
    // The identity order has probability 1/64!.
    assert_ne!(indices, sorted, "log order must not be arrival order");
    // A retried append returns the same indices and adds nothing.
    let again = append(&s, ballots[..5].to_vec());
    assert_eq!(again, indices[..5]);
    let (cp, _) = checkpoint(&s);
    assert_eq!(cp.size, 64);
}

#[test]
fn close_seals_the_log() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = Server::start(dir.path(), LOG_SEED, config(8, 1000, 60_000));
    append(&s, (0..3).map(ballot).collect());
    append(&s, vec![event("close", "polls closed")]);
    let (status, v) = post(s.addr, "/v1/close", &json!({}));
    assert_eq!(status, 200, "{v}");
    let cp = open_checkpoint(v["note"].as_str().expect("note"), &s.public_key).expect("verifies");
    assert!(cp.closed && cp.size == 4, "{cp:?}");
    let final_body = v["body"].clone();
    assert!(final_body.as_str().expect("body").ends_with("closed\n"));

    let (status, v) = post(s.addr, "/v1/entries", &json!({ "entries": [ballot(99)] }));
    assert_eq!(status, 409, "{v}");
    assert_eq!(v["error"]["code"], "log_closed");
    // Closing again answers with the same final checkpoint.
    let (status, again) = post(s.addr, "/v1/close", &json!({}));
    assert_eq!(status, 200);
    assert_eq!(again["body"], final_body);
    let (latest, _) = checkpoint(&s);
    assert_eq!(latest, cp);

    // Restart: still closed, same head.
    drop(s);
    let s = Server::start(dir.path(), LOG_SEED, config(8, 1000, 60_000));
    let (after, _) = checkpoint(&s);
    assert_eq!(after, cp);
    let (status, _) = post(s.addr, "/v1/entries", &json!({ "entries": [ballot(100)] }));
    assert_eq!(status, 409);
}

/// Appends and the close need the election's internal token: without it, or with another, the log neither
/// grows nor closes; its reads answer anyone.
#[test]
fn writes_need_the_internal_token_and_reads_stay_open() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = Server::start(dir.path(), LOG_SEED, config(1, 1000, 60_000));
    append(&s, vec![ballot(1)]);
    let body = json!({ "entries": [ballot(2)] }).to_string();
    for token in [None, Some("not-the-token")] {
        for path in ["/v1/entries", "/v1/close"] {
            let (status, out) = request_as(s.addr, "POST", path, Some(body.as_bytes()), token);
            assert_eq!(status, 401, "{path} with {token:?}");
            let v: Value = serde_json::from_slice(&out).expect("json error");
            assert_eq!(v["error"]["code"], "unauthorized");
        }
        for path in ["/v1/checkpoint", "/v1/entries?start=0&end=1", "/v1/proof/inclusion?index=0", "/healthz"] {
            assert_eq!(request_as(s.addr, "GET", path, None, token).0, 200, "{path}");
        }
    }
    let (cp, _) = checkpoint(&s);
    assert!(cp.size == 1 && !cp.closed, "{cp:?}");
}

#[test]
fn witness_cosigning_flow() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = Server::start(dir.path(), LOG_SEED, config(4, 1000, 60_000));
    let witness = LogKey::from_seed(&[42; 32]);
    let name = "witness.example/w1";
    let cosign = |body: &str, key: &LogKey| {
        post(
            s.addr,
            "/v1/witness/cosign",
            &json!({
                "name": name,
                "public_key": hex::encode(key.public_key()),
                "checkpoint": body,
                "signature": hex::encode(key.sign(body.as_bytes())),
            }),
        )
    };

    append(&s, (0..4).map(ballot).collect());
    let (cp1, v1) = checkpoint(&s);
    let body1 = v1["body"].as_str().expect("body").to_owned();
    let (status, v) = cosign(&body1, &witness);
    assert_eq!(status, 200, "{v}");
    assert_eq!(v["cosignatures"][0]["name"], name);
    // The served note carries both signatures; each verifies under its own key.
    let (_, served) = checkpoint(&s);
    let note = Note::parse(served["note"].as_str().expect("note")).expect("note");
    assert_eq!(note.signatures.len(), 2);
    note.verify(name, &witness.public_key()).expect("witness signature");
    note.verify("urna.test/audit", &s.public_key).expect("log signature");

    // The log grows; the witness checks consistency from what it signed before cosigning again.
    append(&s, (4..8).map(ballot).collect());
    let (cp2, v2) = checkpoint(&s);
    let (_, c) = get(s.addr, &format!("/v1/proof/consistency?from={}&to={}", cp1.size, cp2.size));
    verify_consistency(cp1.size, cp2.size, &cp1.root, &cp2.root, &hashes(&c["proof"])).expect("consistent");
    let body2 = v2["body"].as_str().expect("body");
    assert_eq!(cosign(body2, &witness).0, 200);

    // Refusals: a signature by another key, a checkpoint the log never issued, malformed fields.
    let other = LogKey::from_seed(&[43; 32]);
    let bad = post(
        s.addr,
        "/v1/witness/cosign",
        &json!({
            "name": name, "public_key": hex::encode(witness.public_key()),
            "checkpoint": body2, "signature": hex::encode(other.sign(body2.as_bytes())),
        }),
    );
    assert_eq!(bad.0, 400, "{}", bad.1);
    assert_eq!(bad.1["error"]["code"], "bad_cosignature");
    let forged = body2.replace(&format!("\n{}\n", cp2.size), "\n999\n");
    let (status, v) = cosign(&forged, &witness);
    assert_eq!(status, 404, "{v}");
    assert_eq!(v["error"]["code"], "unknown_checkpoint");
    let (status, v) = post(
        s.addr,
        "/v1/witness/cosign",
        &json!({ "name": "a b", "public_key": "00", "checkpoint": "", "signature": "" }),
    );
    assert_eq!(status, 400, "{v}");
}

#[test]
fn errors_are_json_and_named() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = Server::start(dir.path(), LOG_SEED, config(4, 10, 60_000));
    type Case<'a> = (u16, &'a str, (u16, Vec<u8>));
    let cases: Vec<Case> = vec![
        (400, "invalid_body", request(s.addr, "POST", "/v1/entries", Some(b"{not json"))),
        (400, "invalid_body", request(s.addr, "POST", "/v1/entries", Some(br#"{"entries": []}"#))),
        // Well-formed JSON of the wrong shape: 422, as axum's extractor says.
        (
            422,
            "invalid_body",
            request(s.addr, "POST", "/v1/entries", Some(br#"{"entries": [{"type": "ballot", "anon_id": "zz"}]}"#)),
        ),
        (413, "body_too_large", request(s.addr, "POST", "/v1/entries", Some(&vec![b' '; 2 << 20]))),
        (400, "invalid_query", request(s.addr, "GET", "/v1/entries?start=x", None)),
        (400, "out_of_range", request(s.addr, "GET", "/v1/entries?start=0&end=5", None)),
        (400, "out_of_range", request(s.addr, "GET", "/v1/proof/inclusion?index=0&size=1", None)),
        (400, "invalid_query", request(s.addr, "GET", "/v1/proof/inclusion", None)),
        (400, "invalid_hash", request(s.addr, "GET", "/v1/proof/inclusion?leaf_hash=ABC", None)),
        (
            404,
            "unknown_leaf",
            request(s.addr, "GET", &format!("/v1/proof/inclusion?leaf_hash={}", "00".repeat(32)), None),
        ),
        (400, "out_of_range", request(s.addr, "GET", "/v1/proof/consistency?from=3&to=1", None)),
        (404, "not_found", request(s.addr, "GET", "/v2/nothing", None)),
    ];
    for (want, code, (status, body)) in cases {
        let v: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        assert_eq!(status, want, "{code}: {v}");
        assert_eq!(v["error"]["code"], code, "{v}");
        assert!(v["error"]["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    let long = "x".repeat(5000);
    let (status, v) = post(s.addr, "/v1/entries", &json!({ "entries": [event("acta", &long)] }));
    assert_eq!((status, v["error"]["code"].as_str()), (400, Some("invalid_entry")), "{v}");

    append(&s, vec![ballot(1)]);
    let (status, body) = request(s.addr, "GET", "/metrics", None);
    assert_eq!(status, 200);
    let text = String::from_utf8(body).expect("utf8");
    assert!(text.contains("urna_audit_entries_total{type=\"Ballot\"} 1"), "{text}");
    assert!(text.contains("urna_audit_append_latency_seconds_count 1"), "{text}");
    assert!(text.contains("urna_audit_checkpoints_total"), "{text}");
    assert_eq!(get(s.addr, "/healthz").0, 200);
    let (status, v) = get(s.addr, "/readyz");
    assert_eq!((status, v["size"].as_u64()), (200, Some(1)));
}

/// `GET /v1/status`: what the operator polls for the Election's `auditLogHead`, consistent with the signed
/// checkpoint, and `closed` once the closing checkpoint is written.
#[test]
fn status_reports_the_tree_the_latest_checkpoint_and_the_close() {
    let dir = tempfile::tempdir().expect("tempdir");
    let s = Server::start(dir.path(), LOG_SEED, config(4, 20, 60_000));
    append(&s, vec![event("open", "polls open")]);
    append(&s, (0..4).map(ballot).collect());
    let (cp, _) = checkpoint(&s);
    let (status, v) = get(s.addr, "/v1/status");
    assert_eq!(status, 200, "{v}");
    let st: urna_status::audit::AuditStatus = serde_json::from_value(v.clone()).expect("an AuditStatus");
    assert_eq!((st.tree_size, st.root, st.closed), (5, cp.root, false), "{v}");
    assert_eq!(st.public_key, s.public_key);
    let head = st.checkpoint.expect("a checkpoint");
    assert_eq!((head.size, head.root, head.closing), (cp.size, cp.root, false));
    let signed: jiff::Timestamp = head.signed_at.parse().expect("RFC 3339");
    assert_eq!(signed.as_second(), i64::try_from(cp.timestamp).expect("seconds"));

    let (status, _) = post(s.addr, "/v1/close", &json!({}));
    assert_eq!(status, 200);
    let (_, v) = get(s.addr, "/v1/status");
    let st: urna_status::audit::AuditStatus = serde_json::from_value(v.clone()).expect("an AuditStatus");
    assert!(st.closed, "{v}");
    assert!(st.checkpoint.expect("closing checkpoint").closing, "{v}");
}
