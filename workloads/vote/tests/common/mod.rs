//! Shared test harness: a small election, test-size keys, fake tally shard and audit log servers on
//! loopback (until the real `urna-tally`/`urna-audit` servers are available to tests), and a running vote
//! service with a census of voters whose credentials the tests know.
#![allow(dead_code, clippy::unwrap_used)]

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, Mutex};
use std::time::Duration;
use urna_audit::wire::{AppendRequest, AppendResponse};

use axum::extract::{Query, State};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use urna_crypto::blind::{BlindKeySize, BlindSigningKey};
use urna_crypto::paillier::{KeySize, PublicKey, generate_keypair};
use urna_status::error::ErrorBody;
use urna_tally::wire::{ItemResult, ItemStatus, SubmitRequest, SubmitResponse};
use urna_testkit::Request;
use urna_testkit::http::split_url;
use urna_vote::client::{Election, Voter, VoterClient};
use urna_vote::credential::{hash_credential, insecure_fast_params};
use urna_vote::{RetryPolicy, ShardMap, VoteConfig, VoteService};

pub static PAILLIER: LazyLock<PublicKey> =
    LazyLock::new(|| generate_keypair(KeySize::InsecureTest1024, &mut urna_crypto::os_rng()).expect("keygen").0);

pub static BLIND_PEM: LazyLock<String> = LazyLock::new(blind_key_pem);

pub fn blind_key_pem() -> String {
    let k = BlindSigningKey::generate_safe(BlindKeySize::InsecureTest1024, &mut urna_crypto::os_rng()).expect("keygen");
    k.to_pkcs8_pem().expect("pem").to_string()
}

pub fn signing_key() -> BlindSigningKey {
    BlindSigningKey::from_pkcs8_pem(&BLIND_PEM).expect("pem")
}

/// `city` with `north` and `south`; `mayor` (single choice) everywhere, `council` (1–2 of 4) in `north`.
pub use urna_ballot::testkit::city as manifest;

// ---------------------------------------------------------------- fake shard

#[derive(Default)]
pub struct FakeShard {
    /// (anonId, contestId) → sequence
    pub records: Mutex<HashMap<(String, String), u64>>,
    pub requests: AtomicUsize,
    /// Answer 503 to this many requests first.
    pub fail_next: AtomicUsize,
    /// Answer 503 to everything while set.
    pub down: AtomicBool,
}

/// Speaks the tally's own wire ([`urna_tally::wire`]): a body the real shard would refuse is refused here.
async fn shard_contests(
    State(s): State<Arc<FakeShard>>,
    Json(body): Json<SubmitRequest>,
) -> Result<Json<SubmitResponse>, (http::StatusCode, Json<ErrorBody>)> {
    s.requests.fetch_add(1, Ordering::SeqCst);
    if s.down.load(Ordering::SeqCst)
        || s.fail_next.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1)).is_ok()
    {
        return Err((http::StatusCode::SERVICE_UNAVAILABLE, Json(ErrorBody::new("unavailable", "down"))));
    }
    let mut records = s.records.lock().unwrap();
    let mut out = Vec::new();
    for item in body.items {
        let key = (item.anon_id, item.contest.contest_id);
        let next = records.len() as u64 + 1;
        match records.get(&key) {
            Some(seq) => out.push(ItemResult { status: ItemStatus::Duplicate, sequence: Some(*seq), reason: None }),
            None => {
                records.insert(key, next);
                out.push(ItemResult { status: ItemStatus::Accepted, sequence: Some(next), reason: None });
            }
        }
    }
    Ok(Json(SubmitResponse { items: out }))
}

// ---------------------------------------------------------------- fake audit log

#[derive(Default)]
pub struct FakeAudit {
    pub entries: Mutex<Vec<String>>,
    /// The checkpointed size (tests move it forward).
    pub checkpoint: AtomicUsize,
}

/// `POST /v1/entries`, in the log's own wire bodies: ballots only, each at the next index.
async fn audit_entries(State(s): State<Arc<FakeAudit>>, Json(body): Json<AppendRequest>) -> Json<AppendResponse> {
    let mut entries = s.entries.lock().unwrap();
    let (mut indices, mut leaf_hashes) = (Vec::new(), Vec::new());
    for e in body.entries {
        let urna_audit::LogEntry::Ballot { anon_id } = &e else { panic!("the vote service appends ballots: {e:?}") };
        indices.push(entries.len() as u64);
        leaf_hashes.push(hex::encode(e.leaf_hash()));
        entries.push(hex::encode(anon_id));
    }
    Json(AppendResponse { indices, leaf_hashes })
}

fn leaves(s: &FakeAudit) -> Vec<urna_audit::Hash> {
    s.entries
        .lock()
        .unwrap()
        .iter()
        .map(|a| {
            let mut id = [0u8; 32];
            hex::decode_to_slice(a, &mut id).unwrap();
            urna_audit::LogEntry::Ballot { anon_id: id }.leaf_hash()
        })
        .collect()
}

async fn audit_checkpoint(State(s): State<Arc<FakeAudit>>) -> Json<Value> {
    let size = s.checkpoint.load(Ordering::SeqCst);
    let leaves = leaves(&s);
    Json(json!({ "size": size, "root": hex::encode(urna_audit::root(&leaves[..size.min(leaves.len())])) }))
}

/// Only single-leaf trees have proofs here (empty ones); the real log is exercised in real_services.rs.
async fn audit_inclusion(Query(q): Query<HashMap<String, u64>>) -> Json<Value> {
    Json(json!({ "index": q.get("index"), "size": q.get("size"), "proof": [] }))
}

pub async fn spawn(router: Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, router).await.unwrap();
    });
    addr
}

// ---------------------------------------------------------------- the vote service under test

pub struct Harness {
    pub url: String,
    pub client: VoterClient,
    pub election: Election,
    pub voters: Vec<(Voter, String)>,
    pub shard: Arc<FakeShard>,
    pub audit: Arc<FakeAudit>,
    pub dir: tempfile::TempDir,
    pub admin_token: String,
}

pub struct Options {
    pub voters: usize,
    pub rate_per_second: f64,
    pub opens_at: Option<jiff::Timestamp>,
    pub closes_at: Option<jiff::Timestamp>,
    pub max_ballot_bytes: usize,
    pub partition: urna_vote::Partition,
    /// `booth` serves these mesas with the bridge token [`BRIDGE_TOKEN`].
    pub modality: &'static str,
    pub mesas: Vec<urna_vote::mesa_file::Mesa>,
}

pub const BRIDGE_TOKEN: &str = "bridge-secret";

impl Default for Options {
    fn default() -> Self {
        Self {
            voters: 4,
            rate_per_second: 0.0,
            opens_at: None,
            closes_at: None,
            max_ballot_bytes: 8 << 20,
            partition: Default::default(),
            modality: "remote",
            mesas: Vec::new(),
        }
    }
}

/// Voter `i`: id = SHA-256-like fixed hex, credential `cred-i`, district north (even) or south (odd).
pub fn voter(i: usize) -> (Voter, String) {
    let voter_id = format!("{:064x}", 0xabc0_0000u64 + i as u64 * 7919);
    let district = if i.is_multiple_of(2) { "north" } else { "south" };
    (Voter { voter_id, credential: format!("cred-{i}") }, district.to_owned())
}

pub fn census_csv(n: usize) -> String {
    let mut rng = urna_crypto::os_rng();
    let mut out = String::from("voterIdHash,district,credentialHash\n");
    for i in 0..n {
        let (v, d) = voter(i);
        let h = hash_credential(&v.credential, Some(insecure_fast_params()), &mut rng).unwrap();
        out.push_str(&format!("{},{},{}\n", v.voter_id, d, urna_vote::census::csv_field(&h)));
    }
    out
}

pub async fn start(opts: Options) -> Harness {
    let shard = Arc::new(FakeShard::default());
    let audit = Arc::new(FakeAudit::default());
    let shard_addr = spawn(Router::new().route("/v1/contests", post(shard_contests)).with_state(shard.clone())).await;
    let audit_addr = spawn(
        Router::new()
            .route("/v1/entries", post(audit_entries))
            .route("/v1/checkpoint", get(audit_checkpoint))
            .route("/v1/proof/inclusion", get(audit_inclusion))
            .with_state(audit.clone()),
    )
    .await;
    let dir = tempfile::tempdir().unwrap();
    let mut shards = ShardMap::new();
    shards.parse_entry(&format!("city:{}=http://{shard_addr}", opts.modality)).unwrap();
    let admin_token = "admin-secret".to_owned();
    let mut config = VoteConfig::new(
        manifest(),
        PAILLIER.clone(),
        signing_key(),
        dir.path().join("data"),
        shards,
        format!("http://{audit_addr}"),
    );
    config.admin_token = Some(admin_token.clone());
    config.opens_at = opts.opens_at;
    config.closes_at = opts.closes_at;
    config.limits.rate_per_second = opts.rate_per_second;
    config.limits.rate_burst = 3.0;
    config.limits.max_ballot_bytes = opts.max_ballot_bytes;
    config.partition = opts.partition;
    config.modality = opts.modality.parse().unwrap();
    config.mesas = urna_vote::mesa::MesaRegistry::new(opts.mesas, &manifest()).unwrap();
    config.bridge_token = Some(BRIDGE_TOKEN.to_owned());
    config.retry = RetryPolicy {
        attempts: 4,
        initial_backoff: Duration::from_millis(20),
        max_backoff: Duration::from_millis(100),
        request_timeout: Duration::from_secs(10),
    };
    let service = VoteService::open(config).unwrap();
    service.import_census(census_csv(opts.voters).as_bytes()).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(service.serve(listener, std::future::pending()));
    let client = VoterClient::new(&url);
    let election = Election::fetch(&client).await.unwrap();
    let voters = (0..opts.voters).map(voter).collect();
    Harness { url, client, election, voters, shard, audit, dir, admin_token }
}

impl Harness {
    pub fn audit_entries(&self) -> Vec<String> {
        self.audit.entries.lock().unwrap().clone()
    }

    pub fn shard_records(&self) -> HashSet<(String, String)> {
        self.shard.records.lock().unwrap().keys().cloned().collect()
    }

    /// A raw request: (status, JSON body).
    pub async fn raw(&self, method: &str, path: &str, bearer: Option<&str>, body: Option<Vec<u8>>) -> (u16, Value) {
        raw(&format!("{}{}", self.url, path), method, bearer, body).await
    }
}

/// A raw HTTP/1.1 request over a fresh TCP connection (no client library between the test and the server):
/// (status, the body as JSON, else as a string).
pub async fn raw(url: &str, method: &str, bearer: Option<&str>, body: Option<Vec<u8>>) -> (u16, Value) {
    let (host, path) = split_url(url).unwrap();
    let r = Request::new(method, path).bearer(bearer).body(body.unwrap_or_default()).send_async(host).await.unwrap();
    (r.status, serde_json::from_slice(&r.body).unwrap_or_else(|_| Value::String(r.text())))
}
