//! A tally shard: configuration, opening (with recovery), and running it behind its HTTP API.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::{mpsc, oneshot};
use tracing::{info, warn};
use urna_auth::ServiceAuth;
use urna_ballot::{BallotCodec, ElectionManifest};
use urna_crypto::paillier::PublicKey;

use crate::batcher::{self, Msg, Stage2};
use crate::error::{Result, TallyError};
use crate::ledger::{Ledger, Recovery};
use crate::record::{Modality, ShardIdentity};
use crate::state::Shared;
use crate::store::Store;
use crate::wire::ShardStatus;

#[derive(Debug, Clone)]
pub struct ShardConfig {
    /// The TallyShard's name (bound into the log's genesis hash).
    pub name: String,
    /// The ballot styles (district ids) this shard holds.
    pub districts: Vec<String>,
    pub modality: Modality,
    pub data_dir: PathBuf,
    /// Most contests per verification batch.
    pub batch_max: usize,
    /// How long a batch waits for more items after its first.
    pub batch_wait: Duration,
    /// A checkpoint of the totals every this many records (bounds the replay at start).
    pub checkpoint_every: u64,
    /// Re-derive the totals from the first record at start (instead of from the last checkpoint).
    pub verify_on_start: bool,
    /// Verify every contest's proofs again here before logging it. Off by default: the vote service verified
    /// them before forwarding, and a contest injected by anything holding the internal token is caught by the
    /// record's verification whether or not its proofs hold (docs/architecture.md, step 4).
    pub verify_proofs: bool,
    /// Refuse contests arriving before this instant (the modality's `opensAt`).
    pub opens_at: Option<jiff::Timestamp>,
    /// Seal automatically at this instant; refuse contests arriving after it.
    pub closes_at: Option<jiff::Timestamp>,
    /// Largest accepted request body, bytes.
    pub body_limit: usize,
    /// Most items per request.
    pub max_items: usize,
}

impl ShardConfig {
    pub fn new(
        name: impl Into<String>,
        districts: Vec<String>,
        modality: Modality,
        data_dir: impl Into<PathBuf>,
    ) -> Self {
        Self {
            name: name.into(),
            districts,
            modality,
            data_dir: data_dir.into(),
            batch_max: 64,
            batch_wait: Duration::from_millis(2),
            checkpoint_every: 256,
            verify_on_start: false,
            verify_proofs: false,
            opens_at: None,
            closes_at: None,
            // A 3072-bit contest with a large coalition can take a megabyte of proofs.
            body_limit: 64 << 20,
            max_items: 1024,
        }
    }
}

impl ShardConfig {
    /// The modality's window: contests are accepted from `opens_at` until `closes_at` (and the seal).
    pub fn window(&self) -> urna_status::Window {
        urna_status::Window::new(self.opens_at, self.closes_at)
    }
}

/// Reads an `ElectionManifest` from JSON or YAML (by extension; anything else is tried as JSON, then YAML).
pub fn load_manifest(path: &Path) -> Result<ElectionManifest> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| TallyError::Io { context: format!("reading {}", path.display()), source })?;
    let yaml = matches!(path.extension().and_then(|e| e.to_str()), Some("yaml" | "yml"));
    let parsed = if yaml {
        serde_yaml::from_str(&text).map_err(|e| e.to_string())
    } else {
        serde_json::from_str(&text).map_err(|e| e.to_string()).or_else(|json_err| {
            serde_yaml::from_str(&text).map_err(|yaml_err| format!("as JSON: {json_err}; as YAML: {yaml_err}"))
        })
    };
    parsed.map_err(|e| TallyError::Config(format!("{}: not an election manifest: {e}", path.display())))
}

/// Reads a Paillier public key (`{"n": "<hex>"}`).
pub fn load_public_key(path: &Path) -> Result<PublicKey> {
    let text = std::fs::read_to_string(path)
        .map_err(|source| TallyError::Io { context: format!("reading {}", path.display()), source })?;
    serde_json::from_str(&text)
        .map_err(|e| TallyError::Config(format!("{}: not a Paillier public key: {e}", path.display())))
}

/// An opened shard: state recovered and checked, not yet serving.
pub struct Shard {
    shared: Arc<Shared>,
    ledger: Ledger,
    recovery: Recovery,
}

impl Shard {
    /// Validates the configuration against the manifest, opens the data directory and recovers the totals.
    pub fn open(mut config: ShardConfig, manifest: ElectionManifest, pk: PublicKey) -> Result<Self> {
        if config.name.is_empty() {
            return Err(TallyError::Config("the shard needs a name".into()));
        }
        config.districts.sort();
        config.districts.dedup();
        if config.districts.is_empty() {
            return Err(TallyError::Config("the shard needs at least one district".into()));
        }
        if let Some(d) = config.districts.iter().find(|d| !manifest.districts.iter().any(|m| &&m.id == d)) {
            return Err(TallyError::Config(format!("district {d:?} is not in the manifest")));
        }
        let codec = BallotCodec::new(manifest, pk)?;
        let identity = ShardIdentity {
            shard: config.name.clone(),
            election_id: codec.manifest().election_id.clone(),
            manifest_hash: codec.manifest_hash(),
            public_key_fingerprint: codec.public_key().fingerprint(),
            districts: config.districts.clone(),
            modality: config.modality,
            slot_bits: codec.manifest().slot_bits,
        };
        let store = Arc::new(Store::open(&config.data_dir)?);
        let (ledger, recovery) = Ledger::open(
            Arc::clone(&store),
            &codec,
            identity.clone(),
            config.checkpoint_every,
            config.verify_on_start,
        )?;
        info!(
            shard = %identity.shard,
            sequence = recovery.sequence,
            replayed = recovery.replayed,
            from = recovery.from,
            digest = %hex::encode(ledger.totals_digest()),
            "log recovered and totals re-derived"
        );
        let shared = Arc::new(Shared::new(config, identity, codec, store, &ledger));
        Ok(Self { shared, ledger, recovery })
    }

    pub fn recovery(&self) -> &Recovery {
        &self.recovery
    }

    pub fn status(&self) -> ShardStatus {
        self.shared.status()
    }

    /// Starts the pipeline and serves the HTTP API on `listener` until [`RunningShard::stop`].
    pub async fn start(self, listener: TcpListener, auth: ServiceAuth) -> Result<RunningShard> {
        let addr = listener
            .local_addr()
            .map_err(|source| TallyError::Io { context: "reading the listener's address".into(), source })?;
        let shared = self.shared;
        let (tx, rx) = mpsc::channel::<Msg>(4096);
        // Two batches in flight: one being verified, one being committed.
        let (tx2, rx2) = mpsc::channel::<Stage2>(2);
        let ledger = self.ledger;
        let writer_shared = Arc::clone(&shared);
        let writer = std::thread::Builder::new()
            .name(format!("tally-writer-{}", shared.identity.shard))
            .spawn(move || batcher::commit_stage(rx2, ledger, writer_shared))
            .map_err(|source| TallyError::Io { context: "starting the log writer".into(), source })?;
        let verifier = tokio::spawn(batcher::verify_stage(
            rx,
            tx2,
            Arc::clone(&shared),
            shared.config.batch_max,
            shared.config.batch_wait,
        ));
        let closer = shared.config.closes_at.map(|at| tokio::spawn(seal_at(at, tx.clone())));
        let app = crate::server::router(Arc::clone(&shared), tx, auth);
        let (stop_tx, stop_rx) = oneshot::channel::<()>();
        let server = tokio::spawn(async move {
            axum::serve(listener, app)
                .with_graceful_shutdown(async move {
                    let _ = stop_rx.await;
                })
                .await
        });
        info!(%addr, shard = %shared.identity.shard, "tally shard listening");
        Ok(RunningShard { addr, stop: Some(stop_tx), server, verifier, closer, writer: Some(writer) })
    }
}

async fn seal_at(at: jiff::Timestamp, tx: mpsc::Sender<Msg>) {
    let wait = at.duration_since(jiff::Timestamp::now());
    let wait = Duration::try_from(wait).unwrap_or(Duration::ZERO);
    tokio::time::sleep(wait).await;
    let (reply, rx) = oneshot::channel();
    if tx.send(Msg::Seal(reply)).await.is_err() {
        return;
    }
    match rx.await {
        Ok(Ok(_)) => info!("sealed at the configured closing instant"),
        Ok(Err(e)) => warn!(error = %e, "automatic sealing failed"),
        Err(_) => {}
    }
}

/// A shard serving requests.
pub struct RunningShard {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    server: tokio::task::JoinHandle<std::io::Result<()>>,
    verifier: tokio::task::JoinHandle<()>,
    closer: Option<tokio::task::JoinHandle<()>>,
    writer: Option<std::thread::JoinHandle<()>>,
}

impl RunningShard {
    /// Stops accepting connections, lets in-flight requests finish, drains the pipeline and closes the store
    /// (so the data directory can be opened again in this process).
    pub async fn stop(mut self) -> Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(c) = self.closer.take() {
            c.abort();
            let _ = c.await;
        }
        let served = (&mut self.server).await;
        // The router (and its sender) is dropped with the server: stage 1 drains and ends, then stage 2.
        let _ = (&mut self.verifier).await;
        if let Some(w) = self.writer.take() {
            let _ = tokio::task::spawn_blocking(move || w.join()).await;
        }
        match served {
            Ok(Ok(())) => Ok(()),
            Ok(Err(source)) => Err(TallyError::Io { context: "serving HTTP".into(), source }),
            Err(e) => Err(TallyError::Failed(format!("the HTTP server task ended abnormally: {e}"))),
        }
    }
}

/// Parses an RFC 3339 instant (`2024-06-02T18:00:00-06:00`, `2024-06-03T00:00:00Z`).
pub fn parse_instant(s: &str) -> Result<jiff::Timestamp> {
    s.parse().map_err(|e| TallyError::Config(format!("{s:?} is not an RFC 3339 instant: {e}")))
}
