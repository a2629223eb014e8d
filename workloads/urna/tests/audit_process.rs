//! `urna audit` as a real process: keygen, serve, concurrent appends over HTTP, `kill -9` in the middle of
//! the load, restart on the same data, and nothing acknowledged lost: every acknowledged entry is at its
//! acknowledged index, provably included under the new signed checkpoint, which extends the old one.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use urna_audit::checkpoint::open_checkpoint;
use urna_audit::{Hash, LogEntry, verify_consistency, verify_inclusion};
use urna_testkit::Request;

/// The election's internal token this log is started with (through the environment, as a Secret's env
/// would give it) and that every request here presents.
const TOKEN: &str = "audit-process-internal-token";

/// One HTTP/1.1 request over a fresh connection; `None` when the server is gone (refused, reset).
fn http(addr: SocketAddr, method: &str, path: &str, body: Option<&Value>) -> Option<(u16, Value)> {
    let r = Request::new(method, path)
        .bearer(TOKEN)
        .header("Content-Type", "application/json")
        .body(body.map(Value::to_string).unwrap_or_default())
        .timeout(Duration::from_secs(30))
        .send(addr)
        .ok()?;
    Some((r.status, r.json()))
}

fn hash(v: &Value) -> Hash {
    let mut h = [0u8; 32];
    hex::decode_to_slice(v.as_str().expect("hex"), &mut h).expect("hash");
    h
}

struct Audit {
    child: Child,
    addr: SocketAddr,
}

impl Audit {
    fn start(dir: &Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_urna"))
            .args(["audit", "--data"])
            .arg(dir.join("data"))
            .arg("--key")
            .arg(dir.join("log.key"))
            .args(["--listen", "127.0.0.1:0", "--origin", "urna.test/process"])
            .args(["--batch-size", "8", "--batch-wait-ms", "20", "--checkpoint-interval", "1"])
            .env("URNA_INTERNAL_TOKEN", TOKEN)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn urna audit");
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).expect("read the listening line");
        let addr = line
            .trim()
            .strip_prefix("listening on http://")
            .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
            .parse()
            .expect("address");
        Self { child, addr }
    }

    fn kill9(mut self) {
        // Child::kill is SIGKILL on Unix: no flush, no shutdown hook, exactly `kill -9`.
        self.child.kill().expect("kill -9");
        self.child.wait().expect("reap");
    }

    fn checkpoint(&self, public_key: &[u8; 32]) -> (urna_audit::Checkpoint, Value) {
        let (status, v) = http(self.addr, "GET", "/v1/checkpoint", None).expect("checkpoint");
        assert_eq!(status, 200, "{v}");
        (open_checkpoint(v["note"].as_str().expect("note"), public_key).expect("log signature verifies"), v)
    }
}

fn ballot(id: u64) -> LogEntry {
    let mut anon_id = [0u8; 32];
    anon_id[..8].copy_from_slice(&id.to_be_bytes());
    anon_id[8] = 0x5a;
    LogEntry::Ballot { anon_id }
}

#[test]
fn kill_9_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = Command::new(env!("CARGO_BIN_EXE_urna"))
        .args(["audit", "keygen", "--out"])
        .arg(dir.path().join("log.key"))
        .output()
        .expect("keygen");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let public_key = hash(&Value::String(stdout.trim().strip_prefix("public key: ").expect("public key line").into()));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.path().join("log.key")).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let audit = Audit::start(dir.path());
    let addr = audit.addr;
    let (status, v) = http(
        addr,
        "POST",
        "/v1/entries",
        Some(&json!({ "entries": [
            { "type": "event", "kind": "open", "digest": "11".repeat(32), "detail": "polls open" }
        ]})),
    )
    .expect("open event");
    assert_eq!((status, &v["indices"]), (200, &json!([0])), "{v}");
    let (before, _) = audit.checkpoint(&public_key);

    // Four clients append ballots (some singly, some in pairs) as fast as they can, recording what the
    // log acknowledged, until the server dies under them.
    let acked: Arc<Mutex<Vec<(LogEntry, u64)>>> = Arc::default();
    let next = Arc::new(AtomicU64::new(1));
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..4)
        .map(|c| {
            let (acked, next, stop) = (acked.clone(), next.clone(), stop.clone());
            std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    let n = if c % 2 == 0 { 1 } else { 2 };
                    let entries: Vec<LogEntry> = (0..n).map(|_| ballot(next.fetch_add(1, Ordering::Relaxed))).collect();
                    let body = json!({ "entries": entries });
                    match http(addr, "POST", "/v1/entries", Some(&body)) {
                        Some((200, v)) => {
                            let indices = v["indices"].as_array().expect("indices");
                            let mut acked = acked.lock().expect("lock");
                            for (e, i) in entries.into_iter().zip(indices) {
                                acked.push((e, i.as_u64().expect("index")));
                            }
                        }
                        Some((status, v)) => panic!("append refused: {status} {v}"),
                        None => return, // the server is gone
                    }
                }
            })
        })
        .collect();
    // Kill in the middle of the load, with batches pending and commits in flight, at a point that varies
    // from run to run.
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let kill_after = 100 + (nanos % 200) as usize;
    let deadline = Instant::now() + Duration::from_secs(30);
    while acked.lock().expect("lock").len() < kill_after {
        assert!(Instant::now() < deadline, "appends too slow");
        std::thread::sleep(Duration::from_millis(5));
    }
    audit.kill9();
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.join().expect("client");
    }
    let acked = std::mem::take(&mut *acked.lock().expect("lock"));
    assert!(acked.len() >= kill_after);

    // Restart on the same data: the log recovers, signs a checkpoint covering everything stored.
    let audit = Audit::start(dir.path());
    let (after, _) = audit.checkpoint(&public_key);
    assert!(after.size > acked.len() as u64, "size {} < acknowledged {}", after.size, acked.len() + 1);
    let (_, c) =
        http(audit.addr, "GET", &format!("/v1/proof/consistency?from={}&to={}", before.size, after.size), None)
            .expect("consistency");
    let proof: Vec<Hash> = c["proof"].as_array().expect("proof").iter().map(hash).collect();
    verify_consistency(before.size, after.size, &before.root, &after.root, &proof)
        .expect("the new head extends the old");

    // Each acknowledged entry sits at its acknowledged index, included under the new signed root.
    let mut seen = std::collections::HashSet::new();
    for (entry, index) in &acked {
        assert!(seen.insert(*index), "index {index} acknowledged twice");
        let leaf = entry.leaf_hash();
        let (status, p) = http(
            audit.addr,
            "GET",
            &format!("/v1/proof/inclusion?leaf_hash={}&size={}", hex::encode(leaf), after.size),
            None,
        )
        .expect("inclusion");
        assert_eq!(status, 200, "acknowledged entry at {index} lost: {p}");
        assert_eq!(p["index"].as_u64(), Some(*index));
        let proof: Vec<Hash> = p["proof"].as_array().expect("proof").iter().map(hash).collect();
        verify_inclusion(&leaf, *index, after.size, &proof, &after.root).expect("included");
    }

    // The restarted log keeps working: an append, then a final checkpoint at close.
    let (status, _) =
        http(audit.addr, "POST", "/v1/entries", Some(&json!({ "entries": [ballot(1 << 40)] }))).expect("append");
    assert_eq!(status, 200);
    let (status, v) = http(audit.addr, "POST", "/v1/close", None).expect("close");
    assert_eq!(status, 200, "{v}");
    let closed = open_checkpoint(v["note"].as_str().expect("note"), &public_key).expect("final checkpoint");
    assert!(closed.closed && closed.size == after.size + 1);
    audit.kill9();
}
