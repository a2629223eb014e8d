//! Service configuration (the CLI in `urna vote` builds it; tests build it directly).

use std::path::PathBuf;
use std::time::Duration;

use urna_auth::Token;
use urna_ballot::{Districts, ElectionManifest};
use urna_crypto::blind::BlindSigningKey;
use urna_crypto::paillier::PublicKey;
use urna_status::Modality;

use crate::mesa::MesaRegistry;
use crate::partition::Partition;

pub struct VoteConfig {
    pub manifest: ElectionManifest,
    pub public_key: PublicKey,
    pub signing_key: BlindSigningKey,
    pub data_dir: PathBuf,
    /// The modality of every ballot this service records (it picks the shard).
    pub modality: Modality,
    pub shards: ShardMap,
    /// Base URL of the audit log (`http://host:port`).
    pub audit_url: String,
    /// The modality's window: nothing is accepted before `opens_at` nor from `closes_at` on.
    pub opens_at: Option<jiff::Timestamp>,
    pub closes_at: Option<jiff::Timestamp>,
    /// Bearer token of the admin endpoints (`POST /v1/close`); `None` disables them.
    pub admin_token: Option<String>,
    pub session_ttl: Duration,
    pub partition: Partition,
    pub limits: Limits,
    pub retry: RetryPolicy,
    /// Mesas and their booths (booth modality); empty disables admissions and booth ballots.
    pub mesas: MesaRegistry,
    /// Bearer token of `POST /v1/booth/ballots` (the broker's bridge); `None` disables it.
    pub bridge_token: Option<String>,
    /// The election's internal token, presented to the tally shards and the audit log on every write
    /// (`None`: nothing is presented, and guarded upstreams refuse the ballots with 401).
    pub internal_token: Option<Token>,
    /// How long a drain (SIGTERM) lets requests in flight finish before answering them 503 (retryable);
    /// keep it below the pod's termination grace period.
    pub drain_timeout: Duration,
    /// Concurrent CPU-heavy jobs (Argon2, proof verification, signing); default: the number of cores.
    pub cpu_jobs: usize,
    /// The audit log's origin and key, published in `GET /v1/election` for the voter app's receipt check.
    pub audit_log_key: Option<crate::wire::AuditLogKey>,
    /// The election's witnesses and their quorum, published in `GET /v1/election`: the receipt check verifies
    /// their cosignatures of the log's checkpoint.
    pub witnesses: Option<urna_audit::witness::WitnessPolicy>,
    /// Micro-batching of submitted ballots' verification and recording ([`crate::intake`]).
    pub batching: Batching,
}

impl VoteConfig {
    /// A configuration with the defaults for everything but the election, keys and places.
    pub fn new(
        manifest: ElectionManifest,
        public_key: PublicKey,
        signing_key: BlindSigningKey,
        data_dir: PathBuf,
        shards: ShardMap,
        audit_url: String,
    ) -> Self {
        Self {
            manifest,
            public_key,
            signing_key,
            data_dir,
            modality: Modality::Remote,
            shards,
            audit_url,
            opens_at: None,
            closes_at: None,
            admin_token: None,
            session_ttl: Duration::from_secs(15 * 60),
            partition: Partition::default(),
            limits: Limits::default(),
            retry: RetryPolicy::default(),
            mesas: MesaRegistry::default(),
            bridge_token: None,
            internal_token: None,
            drain_timeout: Duration::from_secs(20),
            cpu_jobs: std::thread::available_parallelism().map(|n| n.get()).unwrap_or(2),
            batching: Batching::default(),
            audit_log_key: None,
            witnesses: None,
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest `POST /v1/ballots` body (a ballot with many chunked contests at 4096 bits is a few MiB).
    pub max_ballot_bytes: usize,
    /// Largest body of every other request.
    pub max_small_body_bytes: usize,
    /// Sustained requests per second per client IP; 0 disables rate limiting.
    pub rate_per_second: f64,
    /// Burst size per client IP.
    pub rate_burst: f64,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_ballot_bytes: 8 << 20, max_small_body_bytes: 16 << 10, rate_per_second: 20.0, rate_burst: 40.0 }
    }
}

/// How concurrent submissions are gathered into one proof verification and one store commit: a batch
/// starts with the first ballot waiting and takes whatever else arrives within `wait`, up to `max` ballots.
/// Under load ballots pile up while a batch is verified, so batches grow and the cost per proof falls.
#[derive(Debug, Clone, Copy)]
pub struct Batching {
    pub max: usize,
    pub wait: Duration,
}

impl Default for Batching {
    fn default() -> Self {
        Self { max: 64, wait: Duration::from_millis(3) }
    }
}

/// Retries towards shards and the audit log: exponential backoff from `initial_backoff`, doubling up to
/// `max_backoff`, `attempts` tries in all, each bounded by `request_timeout`. Retrying is safe because shards
/// de-duplicate on (AnonID, contest) and the vote service records the audit index once it has it.
#[derive(Debug, Clone, Copy)]
pub struct RetryPolicy {
    pub attempts: u32,
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
    pub request_timeout: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            attempts: 6,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_secs(5),
            request_timeout: Duration::from_secs(30),
        }
    }
}

/// `district:modality=URL` entries. A ballot goes to the shard of its ballot style (district) and the
/// service's modality; failing that, of the nearest ancestor district that has one (a shard declared for a
/// state serves its municipalities); failing that, the `*:modality` entry.
#[derive(Debug, Clone, Default)]
pub struct ShardMap {
    entries: Vec<(String, Modality, String)>,
}

impl ShardMap {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn insert(&mut self, district: &str, modality: Modality, url: &str) {
        self.entries.retain(|(d, m, _)| !(d == district && *m == modality));
        self.entries.push((district.to_owned(), modality, url.trim_end_matches('/').to_owned()));
    }

    /// Parses one `district:modality=URL`.
    pub fn parse_entry(&mut self, s: &str) -> Result<(), String> {
        let (key, url) = s.split_once('=').ok_or_else(|| format!("shard {s:?}: expected district:modality=URL"))?;
        let (district, modality) =
            key.split_once(':').ok_or_else(|| format!("shard {s:?}: expected district:modality=URL"))?;
        let Ok(modality) = modality.parse::<Modality>() else {
            return Err(format!("shard {s:?}: modality must be remote or booth"));
        };
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            return Err(format!("shard {s:?}: URL must start with http:// or https://"));
        }
        self.insert(district, modality, url);
        Ok(())
    }

    pub fn lookup(&self, manifest: &ElectionManifest, district: &str, modality: Modality) -> Option<&str> {
        let find = |d: &str| self.entries.iter().find(|(ed, em, _)| ed == d && *em == modality).map(|e| e.2.as_str());
        Districts::new(&manifest.districts)
            .self_and_ancestors(district)
            .into_iter()
            .find_map(find)
            .or_else(|| find("*"))
    }

    /// The leaf districts of the manifest (where ballots are cast; the census refuses the others) that no
    /// shard serves for `modality` (checked at start-up).
    pub fn unserved(&self, manifest: &ElectionManifest, modality: Modality) -> Vec<String> {
        Districts::new(&manifest.districts)
            .leaves()
            .into_iter()
            .filter(|d| self.lookup(manifest, d, modality).is_none())
            .map(str::to_owned)
            .collect()
    }
}
