//! `urna audit`: the election's transparency log (PROTOCOL §6) as an HTTP service, and `urna audit keygen`
//! for its signing key. The log itself lives in `urna-audit`; this is flags, key loading and the runtime.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, ensure};
use urna_audit::witness::TrustedWitness;
use urna_audit::{AuditLog, LogConfig, LogKey};

const LONG_ABOUT: &str = "\
Serves the election's append-only transparency log: RFC 6962 Merkle tree over ballot ids and election
events, stored in DIR/audit.redb (every append synced before it is acknowledged), Ed25519-signed
checkpoints in the C2SP tlog-checkpoint format, inclusion and consistency proofs, witness cosignatures.

Ballots are committed in batches whose order is shuffled (OS CSPRNG), so the log does not reveal
arrival order: an append is answered when its batch is committed, i.e. when BATCH_SIZE ballots have
arrived, BATCH_WAIT_MS after the batch's first ballot, or at the checkpoint timer. Events are appended
at once, in order.

Endpoints: POST /v1/entries, GET /v1/entries?start&end, GET /v1/checkpoint,
GET /v1/proof/inclusion?index=I|leaf_hash=H[&size=N], GET /v1/proof/consistency?from=M[&to=N],
POST /v1/witness/cosign (only --witness keys when any are given; at most 16 per checkpoint), POST /v1/close, GET /metrics, GET /healthz, GET /readyz. POST /v1/entries and
POST /v1/close need the election's internal token (Authorization: Bearer TOKEN) from --internal-token-file
or URNA_INTERNAL_TOKEN, and are refused with 401 otherwise; without a token the log does not start, unless
--insecure-no-auth (loopback --listen only) says to leave them open.

Prints `listening on http://ADDR` on stdout once bound (useful with --listen 127.0.0.1:0).
Create the key first with `urna audit keygen --out FILE`.";

#[derive(Debug, clap::Args)]
#[command(about = "The audit log: transparency log of ballot ids and election events")]
#[command(long_about = LONG_ABOUT, args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct Args {
    #[command(subcommand)]
    command: Option<AuditCommand>,
    /// Data directory (created if missing); holds audit.redb.
    #[arg(long, value_name = "DIR", required = true)]
    data: Option<PathBuf>,
    /// The log's Ed25519 key file (from `urna audit keygen`; must not be readable by group or others).
    #[arg(long, value_name = "FILE", required = true)]
    key: Option<PathBuf>,
    /// Address to listen on, e.g. 0.0.0.0:8080 or 127.0.0.1:0.
    #[arg(long, value_name = "ADDR", required = true)]
    listen: Option<SocketAddr>,
    /// The log's name, signed into every checkpoint; fixed for the life of the data directory.
    #[arg(long, value_name = "NAME", default_value = "urna.dev/audit")]
    origin: String,
    /// Ballots per shuffled batch; each full batch is committed and checkpointed.
    #[arg(long, value_name = "N", default_value_t = 64)]
    batch_size: usize,
    /// Seconds between timer checkpoints (signed only when the log grew).
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    checkpoint_interval: u64,
    /// Milliseconds a partial batch waits for more ballots before it is committed.
    #[arg(long, value_name = "MS", default_value_t = 1000)]
    batch_wait_ms: u64,
    /// Create the key file (as `keygen` does) when it does not exist yet. In a cluster the key lives on the
    /// log's own volume beside the data it signs, so the pod creates it on its first start and keeps it after.
    #[arg(long)]
    create_key: bool,
    /// File holding the election's internal token for POST /v1/entries and /v1/close (or env
    /// URNA_INTERNAL_TOKEN).
    #[arg(long, value_name = "FILE")]
    internal_token_file: Option<PathBuf>,
    /// Serve POST /v1/entries and /v1/close without a token (tests only; needs a loopback --listen).
    #[arg(long)]
    insecure_no_auth: bool,
    /// A witness whose cosignatures the log keeps, as NAME=HEX (its Ed25519 public key); repeatable. With
    /// none, any witness's are kept, at most 16 per checkpoint.
    #[arg(long = "witness", value_name = "NAME=HEX")]
    witnesses: Vec<TrustedWitness>,
}

#[derive(Debug, clap::Subcommand)]
enum AuditCommand {
    /// Creates a new log key (Ed25519 from the OS CSPRNG) in FILE, mode 0600; prints the public key.
    Keygen {
        /// Where to write the key; refused if the file exists.
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
}

pub fn run(args: Args) -> Result<()> {
    match args.command {
        Some(AuditCommand::Keygen { ref out }) => keygen(out),
        None => serve(args),
    }
}

fn keygen(out: &Path) -> Result<()> {
    let key = LogKey::generate().context("generating the log key")?;
    key.write_new(out).with_context(|| format!("writing the log key to {}", out.display()))?;
    println!("public key: {}", hex::encode(key.public_key()));
    Ok(())
}

fn serve(args: Args) -> Result<()> {
    let (Some(data), Some(key_path), Some(listen)) = (args.data, args.key, args.listen) else {
        anyhow::bail!("--data, --key and --listen are required");
    };
    ensure!(args.batch_size >= 1, "--batch-size must be at least 1");
    let auth = super::token::internal_server_auth(
        args.internal_token_file.as_deref(),
        args.insecure_no_auth,
        listen,
        "the log's writes (POST /v1/entries, /v1/close)",
    )?;
    ensure!(args.checkpoint_interval >= 1, "--checkpoint-interval must be at least 1 second");
    std::fs::create_dir_all(&data).with_context(|| format!("creating {}", data.display()))?;
    if args.create_key && !key_path.exists() {
        keygen(&key_path)?;
    }
    let key = LogKey::load(&key_path).with_context(|| format!("loading the log key {}", key_path.display()))?;
    let public_key = hex::encode(key.public_key());
    let mut config = LogConfig::new(args.origin.clone());
    config.batch_size = args.batch_size;
    config.batch_wait = Duration::from_millis(args.batch_wait_ms);
    config.checkpoint_interval = Duration::from_secs(args.checkpoint_interval);
    config.witnesses = args.witnesses;
    let db = data.join("audit.redb");
    let log = AuditLog::open(&db, key, config).with_context(|| format!("opening the audit log {}", db.display()))?;

    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting tokio")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(listen).await.with_context(|| format!("binding {listen}"))?;
        let addr = listener.local_addr().context("reading the bound address")?;
        tracing::info!(%addr, origin = %args.origin, %public_key, "audit log serving");
        println!("listening on http://{addr}");
        log.serve(listener, auth, super::signal::shutdown()).await.context("serving HTTP")
    })
}
