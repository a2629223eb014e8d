//! `urna tally`: one tally shard (one per TallyShard resource), the single writer of its encrypted totals.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use urna_tally::{Modality, Shard, ShardConfig};

const LONG_ABOUT: &str = "\
Runs one tally shard: accepts encrypted contests of its districts and modality over HTTP (with
--verify-proofs it verifies their proofs again, in batches), appends each accepted contest to a durable
hash-chained log in DATA/tally.redb (synced before the acknowledgement), de-duplicates on (anonId, contest), folds the log into the encrypted totals,
and seals them at POST /v1/seal or at --closes-at; contests before --opens-at are refused.

On start the totals are re-derived from the log (from the last checkpoint, or from the first record with
--verify-on-start) and checked against the stored ones; the shard refuses to start if they differ.

Once listening it prints one JSON line on stdout: {\"listening\":\"ADDR\"} (useful with --listen HOST:0).

Endpoints: POST /v1/contests, GET /v1/status, GET /v1/totals, GET /v1/records?from=&limit=, POST /v1/seal,
GET /metrics, GET /healthz, GET /readyz. POST /v1/contests and POST /v1/seal need the election's internal
token (Authorization: Bearer TOKEN) from --internal-token-file or URNA_INTERNAL_TOKEN, and are refused with
401 otherwise; without a token the shard does not start, unless --insecure-no-auth (loopback --listen only)
says to leave them open.";

#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum ModalityArg {
    Remote,
    Booth,
}

#[derive(Debug, clap::Args)]
#[command(about = "Run a tally shard: durable log, de-duplication, encrypted totals, sealing")]
#[command(long_about = LONG_ABOUT)]
pub struct Args {
    /// The shard's name (its TallyShard resource); bound into the log.
    #[arg(long, env = "URNA_TALLY_SHARD")]
    shard: String,
    /// The election manifest (JSON or YAML).
    #[arg(long, value_name = "FILE", env = "URNA_TALLY_MANIFEST")]
    manifest: PathBuf,
    /// The election's Paillier public key (JSON `{"n": "<hex>"}`).
    #[arg(long, value_name = "FILE", env = "URNA_TALLY_PUBLIC_KEY")]
    public_key: PathBuf,
    /// The districts (ballot styles) this shard holds, comma-separated.
    #[arg(long, value_delimiter = ',', required = true, env = "URNA_TALLY_DISTRICTS")]
    districts: Vec<String>,
    #[arg(long, value_enum, env = "URNA_TALLY_MODALITY")]
    modality: ModalityArg,
    /// Data directory (created if missing); holds tally.redb.
    #[arg(long, value_name = "DIR", env = "URNA_TALLY_DATA")]
    data: PathBuf,
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080", env = "URNA_TALLY_LISTEN")]
    listen: SocketAddr,
    /// Refuse contests arriving before this instant (RFC 3339): the modality's opensAt.
    #[arg(long, value_name = "RFC3339", env = "URNA_TALLY_OPENS_AT")]
    opens_at: Option<String>,
    /// Seal automatically at this instant (RFC 3339, e.g. 2024-06-02T18:00:00-06:00).
    #[arg(long, value_name = "RFC3339", env = "URNA_TALLY_CLOSES_AT")]
    closes_at: Option<String>,
    /// Most contests verified in one batch.
    #[arg(long, default_value_t = 64)]
    batch_max: usize,
    /// Milliseconds a batch waits for more contests after its first.
    #[arg(long, default_value_t = 2)]
    batch_wait_ms: u64,
    /// Store a checkpoint of the totals every N records (bounds the replay at start).
    #[arg(long, default_value_t = 256)]
    checkpoint_every: u64,
    /// Re-derive the totals from the first record at start instead of from the last checkpoint.
    #[arg(long)]
    verify_on_start: bool,
    /// Verify every contest's proofs again before logging it (the vote service already did, and the record's
    /// verification re-checks them all; this costs about as much CPU as the vote service's own check).
    #[arg(long)]
    verify_proofs: bool,
    /// File holding the election's internal token for POST /v1/contests and /v1/seal (or env
    /// URNA_INTERNAL_TOKEN).
    #[arg(long, value_name = "FILE")]
    internal_token_file: Option<PathBuf>,
    /// Serve POST /v1/contests and /v1/seal without a token (tests only; needs a loopback --listen).
    #[arg(long)]
    insecure_no_auth: bool,
}

pub fn run(args: Args) -> Result<()> {
    let modality = match args.modality {
        ModalityArg::Remote => Modality::Remote,
        ModalityArg::Booth => Modality::Booth,
    };
    let mut config = ShardConfig::new(&args.shard, args.districts.clone(), modality, &args.data);
    if args.batch_max == 0 {
        bail!("--batch-max must be at least 1");
    }
    config.batch_max = args.batch_max;
    config.batch_wait = Duration::from_millis(args.batch_wait_ms);
    config.checkpoint_every = args.checkpoint_every.max(1);
    config.verify_on_start = args.verify_on_start;
    config.verify_proofs = args.verify_proofs;
    if let Some(at) = &args.opens_at {
        config.opens_at = Some(urna_tally::shard::parse_instant(at).with_context(|| format!("--opens-at {at:?}"))?);
    }
    if let Some(at) = &args.closes_at {
        config.closes_at = Some(urna_tally::shard::parse_instant(at).with_context(|| format!("--closes-at {at:?}"))?);
    }
    let auth = super::token::internal_server_auth(
        args.internal_token_file.as_deref(),
        args.insecure_no_auth,
        args.listen,
        "the shard's writes (POST /v1/contests, /v1/seal)",
    )?;
    let manifest = urna_tally::load_manifest(&args.manifest).context("loading --manifest")?;
    let pk = urna_tally::load_public_key(&args.public_key).context("loading --public-key")?;

    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the async runtime")?;
    runtime.block_on(async move {
        let shard = Shard::open(config, manifest, pk)
            .with_context(|| format!("opening shard {:?} in {}", args.shard, args.data.display()))?;
        let listener = tokio::net::TcpListener::bind(args.listen)
            .await
            .with_context(|| format!("listening on {}", args.listen))?;
        let running = shard.start(listener, auth).await.context("starting the shard")?;
        let mut out = std::io::stdout().lock();
        writeln!(out, "{}", serde_json::json!({ "listening": running.addr.to_string() }))
            .and_then(|()| out.flush())
            .context("writing to stdout")?;
        drop(out);
        super::signal::shutdown().await;
        tracing::info!("shutting down");
        running.stop().await.context("stopping the shard")
    })
}
