//! Test support: requests over a real TCP socket (`urna_testkit`), and a running log on 127.0.0.1:0.

#![allow(dead_code)]

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use urna_audit::{AuditLog, LogConfig, LogKey};
use urna_testkit::Request;

/// The internal token every test server is started with, and that [`request`] presents.
pub const TOKEN: &str = "audit-test-internal-token";

/// Sends one request (`Connection: close`) with the internal token and returns the status and the body.
pub fn request(addr: SocketAddr, method: &str, path: &str, body: Option<&[u8]>) -> (u16, Vec<u8>) {
    request_as(addr, method, path, body, Some(TOKEN))
}

/// [`request`], presenting `token` (or none).
pub fn request_as(
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Option<&[u8]>,
    token: Option<&str>,
) -> (u16, Vec<u8>) {
    let r = Request::new(method, path)
        .bearer(token)
        .header("Content-Type", "application/json")
        .body(body.unwrap_or_default())
        .send(addr)
        .expect("request");
    (r.status, r.body)
}

pub fn get(addr: SocketAddr, path: &str) -> (u16, Value) {
    let (status, body) = request(addr, "GET", path, None);
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

pub fn post(addr: SocketAddr, path: &str, body: &Value) -> (u16, Value) {
    let (status, body) = request(addr, "POST", path, Some(body.to_string().as_bytes()));
    (status, serde_json::from_slice(&body).unwrap_or(Value::Null))
}

pub fn hash(v: &Value) -> [u8; 32] {
    let mut h = [0u8; 32];
    hex::decode_to_slice(v.as_str().expect("hex string"), &mut h).expect("hash hex");
    h
}

pub fn hashes(v: &Value) -> Vec<[u8; 32]> {
    v.as_array().expect("array").iter().map(hash).collect()
}

pub fn ballot(i: u64) -> Value {
    let mut id = [0u8; 32];
    id[..8].copy_from_slice(&i.to_be_bytes());
    id[31] = 0xb1;
    serde_json::json!({ "type": "ballot", "anon_id": hex::encode(id) })
}

/// A log served on a fresh loopback port, on its own runtime; dropping it stops the server.
pub struct Server {
    pub addr: SocketAddr,
    pub public_key: [u8; 32],
    runtime: Option<tokio::runtime::Runtime>,
}

impl Server {
    pub fn start(dir: &Path, key_seed: [u8; 32], config: LogConfig) -> Self {
        // A previous server on the same directory may still be finishing its writer thread (it holds the
        // database until its last commit); wait for it.
        let mut tries = 0;
        let log = loop {
            match AuditLog::open(&dir.join("audit.redb"), LogKey::from_seed(&key_seed), config.clone()) {
                Ok(log) => break log,
                Err(e) if tries < 100 && e.to_string().contains("already open") => {
                    tries += 1;
                    std::thread::sleep(Duration::from_millis(50));
                }
                Err(e) => panic!("open log: {e}"),
            }
        };
        let public_key = log.public_key();
        let runtime =
            tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
        let listener = runtime.block_on(tokio::net::TcpListener::bind("127.0.0.1:0")).expect("bind");
        let addr = listener.local_addr().expect("addr");
        let auth = urna_auth::ServiceAuth::Token(urna_auth::Token::new(TOKEN).expect("token"));
        runtime.spawn(log.serve(listener, auth, std::future::pending()));
        Self { addr, public_key, runtime: Some(runtime) }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            rt.shutdown_timeout(Duration::from_secs(5));
        }
    }
}

pub fn config(batch_size: usize, batch_wait_ms: u64, checkpoint_ms: u64) -> LogConfig {
    let mut c = LogConfig::new("urna.test/audit");
    c.batch_size = batch_size;
    c.batch_wait = Duration::from_millis(batch_wait_ms);
    c.checkpoint_interval = Duration::from_millis(checkpoint_ms);
    c
}
