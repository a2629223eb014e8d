//! `urna vote`: the vote service (urna_vote), and `urna vote import-census` to load a census offline.

use std::fs::File;
use std::io::BufReader;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use urna_ballot::ElectionManifest;
use urna_crypto::blind::BlindSigningKey;
use urna_crypto::paillier::PublicKey;
use urna_vote::mesa::MesaRegistry;
use urna_vote::{Partition, ShardMap, VoteConfig, VoteService};

const LONG_ABOUT: &str = "\
Serves the vote front door for remote voters and mesa consoles:

  POST /v1/sessions   authenticate with the voter's one-time credential (Argon2id hash in the census)
  POST /v1/rights     the voting right: one RFC 9474 blind signature per voter, recorded durably
  POST /v1/ballots    anonymous ballot submission: signature and every proof verified, forwarded to the
                      ballot style's tally shard, AnonID appended to the audit log, receipt returned
  GET  /v1/election, /v1/status, /v1/receipts/{anonId}, /openapi.json, /metrics, /healthz, /readyz
  GET  /              the voter web app (embedded): sign in, mark, encrypt and prove in the browser, cast
                      or challenge, check the receipt
  GET  /audit/v1/checkpoint, /audit/v1/proof/inclusion   the audit log's answers, relayed for the app
  POST /v1/close      (admin token) stop accepting rights and ballots

Voter status (DATA/voters.redb) and ballots (DATA/ballots.redb) are kept in separate stores; no log line,
metric or error carries a voter identity together with a ballot. The census (--census, CSV or JSON Lines:
voterIdHash,district,credentialHash) is imported idempotently at start-up.

Shards and the audit log guard their writes with the election's internal token: the service presents the
one in --internal-token-file (or URNA_INTERNAL_TOKEN) on every forward, and does not start without it unless
--insecure-no-auth says to present none (tests against open upstreams only).

On SIGTERM or SIGINT the service drains: it takes no new connection or request, lets those in flight finish
for up to --drain-timeout-secs, answers the rest 503 with Retry-After (an identical resubmission completes a
ballot, never counts it twice), and exits 0.

Replicas: run one per partition with --partition I/P, each with its own DATA; voters and ballots of other
partitions are answered 421 wrong_partition.";

#[derive(Debug, clap::Args)]
#[command(about = "The vote service: voter authentication, voting rights, anonymous ballot submission")]
#[command(long_about = LONG_ABOUT, args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct Args {
    #[command(subcommand)]
    command: Option<VoteCommand>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Debug, clap::Subcommand)]
enum VoteCommand {
    /// Imports a census into DATA without serving (the service must not be running on DATA).
    ImportCensus(ImportArgs),
}

#[derive(Debug, clap::Args)]
struct Election {
    /// The election manifest (ElectionManifest, JSON or YAML).
    #[arg(long, value_name = "FILE")]
    manifest: PathBuf,
    /// The Paillier public key: `{"n": HEX}`, or the ceremony's public.json (its `paillier` field).
    #[arg(long, value_name = "FILE")]
    public_key: PathBuf,
    /// The voting-right signing key: RFC 9474 RSA key, unencrypted PKCS#8 PEM.
    #[arg(long, value_name = "FILE")]
    signing_key: PathBuf,
    /// Data directory (voters.redb, ballots.redb).
    #[arg(long, value_name = "DIR")]
    data: PathBuf,
    /// This replica's partition, INDEX/COUNT.
    #[arg(long, default_value = "0/1")]
    partition: Partition,
}

#[derive(Debug, clap::Args)]
struct ServeArgs {
    #[command(flatten)]
    election: Option<Election>,
    /// Census to import at start-up (CSV or JSON Lines).
    #[arg(long, value_name = "FILE")]
    census: Option<PathBuf>,
    #[arg(long, default_value = "0.0.0.0:8080")]
    listen: SocketAddr,
    /// A tally shard: DISTRICT:MODALITY=URL (repeat; `*` as district is the fallback).
    #[arg(long = "shard", value_name = "DISTRICT:MODALITY=URL")]
    shards: Vec<String>,
    /// Base URL of the audit log.
    #[arg(long, value_name = "URL")]
    audit: Option<String>,
    /// When voting opens (RFC 3339): sessions, rights, admissions and ballots before it are refused
    /// (`election_not_open`).
    #[arg(long, value_name = "RFC3339")]
    opens_at: Option<jiff::Timestamp>,
    /// The audit log's signed-note verifier key (`<origin>+<key id>+<base64 key>`, its `/v1/checkpoint`
    /// `verifier_key`): published in /v1/election so the voter app checks receipts against this key.
    #[arg(long, value_name = "VKEY")]
    audit_log_key: Option<String>,
    #[command(flatten)]
    witnesses: super::witness::PolicyArgs,
    /// When voting closes (RFC 3339).
    #[arg(long, value_name = "RFC3339")]
    closes_at: Option<jiff::Timestamp>,
    /// The modality of the ballots this service records.
    #[arg(long, default_value = "remote", value_parser = ["remote", "booth"])]
    modality: String,
    /// File holding the admin token for POST /v1/close (or env URNA_VOTE_ADMIN_TOKEN); none: no admin API.
    #[arg(long, value_name = "FILE")]
    admin_token_file: Option<PathBuf>,
    /// Mesas and their booths (JSON, see urna_vote::mesa_file; booth modality): enables mesa admissions and
    /// booth ballots from the bridge.
    #[arg(long, value_name = "FILE")]
    mesas: Option<PathBuf>,
    /// File holding the bridge token for POST /v1/booth/ballots (or env URNA_VOTE_BRIDGE_TOKEN).
    #[arg(long, value_name = "FILE")]
    bridge_token_file: Option<PathBuf>,
    /// Session lifetime in seconds.
    #[arg(long, default_value_t = 900)]
    session_ttl: u64,
    /// Requests per second per client IP (0: unlimited) and burst.
    #[arg(long, default_value_t = 20.0)]
    rate_limit: f64,
    #[arg(long, default_value_t = 40.0)]
    rate_burst: f64,
    /// Largest ballot submission, in bytes.
    #[arg(long, default_value_t = 8 << 20)]
    max_ballot_bytes: usize,
    /// File holding the election's internal token, presented to the shards and the audit log (or env
    /// URNA_INTERNAL_TOKEN).
    #[arg(long, value_name = "FILE")]
    internal_token_file: Option<PathBuf>,
    /// Present no internal token to the shards and the audit log (tests against open upstreams only).
    #[arg(long)]
    insecure_no_auth: bool,
    /// On SIGTERM or SIGINT: seconds the requests in flight may take before they are answered 503
    /// (retryable); keep it below the pod's termination grace period.
    #[arg(long, default_value_t = 20)]
    drain_timeout_secs: u64,
    /// Most ballots verified together and recorded in one commit (micro-batching of concurrent submissions).
    #[arg(long, default_value_t = urna_vote::Batching::default().max)]
    batch_max: usize,
    /// Longest a submitted ballot waits for others to join its batch, in milliseconds.
    #[arg(long, default_value_t = urna_vote::Batching::default().wait.as_millis() as u64)]
    batch_wait_ms: u64,
}

#[derive(Debug, clap::Args)]
struct ImportArgs {
    #[command(flatten)]
    election: Election,
    #[arg(long, value_name = "FILE")]
    census: PathBuf,
}

pub fn run(args: Args) -> Result<()> {
    match args.command {
        Some(VoteCommand::ImportCensus(a)) => import(a),
        None => serve(args.serve),
    }
}

pub(crate) fn read_manifest(path: &Path) -> Result<ElectionManifest> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    // YAML is a superset of JSON: one parser for both.
    serde_yaml::from_str(&text).with_context(|| format!("parsing the manifest {}", path.display()))
}

pub(crate) fn read_public_key(path: &Path) -> Result<PublicKey> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let value: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", path.display()))?;
    let key = value.get("paillier").cloned().unwrap_or(value);
    serde_json::from_value(key).with_context(|| format!("{}: not a Paillier public key", path.display()))
}

fn read_signing_key(path: &Path) -> Result<BlindSigningKey> {
    let pem = read_text(path)?;
    BlindSigningKey::from_pkcs8_pem(&pem).with_context(|| format!("{}: not a blind-signature key", path.display()))
}

fn read_text(path: &Path) -> Result<String> {
    std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

fn open(e: &Election, serve: Option<&ServeArgs>) -> Result<VoteService> {
    // Before anything is read: a service that could not forward a ballot must not start.
    let internal = serve.map(internal_token).transpose()?.flatten();
    let manifest = read_manifest(&e.manifest)?;
    let public_key = read_public_key(&e.public_key)?;
    let signing_key = read_signing_key(&e.signing_key)?;
    let mut shards = ShardMap::new();
    let audit = match serve {
        Some(s) => {
            for entry in &s.shards {
                shards.parse_entry(entry).map_err(anyhow::Error::msg)?;
            }
            s.audit.clone().context("--audit URL is required")?
        }
        None => {
            // Import only: nothing is contacted, but the service checks that every district has a shard.
            shards.insert("*", urna_status::Modality::Remote, "http://127.0.0.1:9");
            "http://127.0.0.1:9".into()
        }
    };
    let mut config = VoteConfig::new(manifest, public_key, signing_key, e.data.clone(), shards, audit);
    config.partition = e.partition;
    if let Some(s) = serve {
        config.admin_token = match &s.admin_token_file {
            Some(p) => Some(read_text(p)?.trim().to_owned()),
            None => std::env::var("URNA_VOTE_ADMIN_TOKEN").ok().filter(|t| !t.is_empty()),
        };
        config.bridge_token = match &s.bridge_token_file {
            Some(p) => Some(read_text(p)?.trim().to_owned()),
            None => std::env::var("URNA_VOTE_BRIDGE_TOKEN").ok().filter(|t| !t.is_empty()),
        };
        if let Some(p) = &s.mesas {
            config.mesas = MesaRegistry::load(p, &config.manifest).context("loading the mesas")?;
        }
        config.opens_at = s.opens_at;
        config.internal_token = internal;
        config.closes_at = s.closes_at;
        config.audit_log_key = s
            .audit_log_key
            .as_deref()
            .map(urna_vote::wire::AuditLogKey::from_verifier_key)
            .transpose()
            .map_err(|e| anyhow::anyhow!("--audit-log-key: {e}"))?;
        config.witnesses = s.witnesses.policy()?;
        config.modality = s.modality.parse().map_err(anyhow::Error::msg)?;
        config.session_ttl = Duration::from_secs(s.session_ttl);
        config.drain_timeout = Duration::from_secs(s.drain_timeout_secs);
        config.limits.rate_per_second = s.rate_limit;
        config.limits.rate_burst = s.rate_burst;
        config.limits.max_ballot_bytes = s.max_ballot_bytes;
        config.batching = urna_vote::Batching { max: s.batch_max, wait: Duration::from_millis(s.batch_wait_ms) };
    }
    VoteService::open(config).context("opening the vote service")
}

/// The token the service presents upstream: required, unless explicitly waived.
fn internal_token(s: &ServeArgs) -> Result<Option<urna_auth::Token>> {
    let token = super::token::from_file_or_env(s.internal_token_file.as_deref(), super::token::INTERNAL_TOKEN_ENV)?;
    match (token, s.insecure_no_auth) {
        (Some(_), true) => bail!(
            "--insecure-no-auth contradicts the internal token given (--internal-token-file or {}): give one or \
             the other",
            super::token::INTERNAL_TOKEN_ENV
        ),
        (None, false) => bail!(
            "the shards and the audit log need the election's internal token: give --internal-token-file FILE or \
             set {} (--insecure-no-auth presents none, for tests against open upstreams only)",
            super::token::INTERNAL_TOKEN_ENV
        ),
        (token, _) => Ok(token),
    }
}

fn import_file(service: &VoteService, path: &Path) -> Result<()> {
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let report =
        service.import_census(BufReader::new(file)).with_context(|| format!("importing {}", path.display()))?;
    tracing::info!(
        read = report.read,
        inserted = report.inserted,
        unchanged = report.unchanged,
        other_partition = report.other_partition,
        "census imported"
    );
    Ok(())
}

fn import(args: ImportArgs) -> Result<()> {
    let service = open(&args.election, None)?;
    import_file(&service, &args.census)?;
    println!("{}", serde_json::to_string(&serde_json::json!({ "imported": args.census }))?);
    Ok(())
}

fn serve(args: ServeArgs) -> Result<()> {
    let Some(election) = &args.election else {
        bail!("--manifest, --public-key, --signing-key and --data are required");
    };
    let service = open(election, Some(&args))?;
    if let Some(census) = &args.census {
        import_file(&service, census)?;
    }
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    runtime.block_on(async move {
        let listener =
            tokio::net::TcpListener::bind(args.listen).await.with_context(|| format!("binding {}", args.listen))?;
        let addr = listener.local_addr().context("local address")?;
        tracing::info!(%addr, "vote service listening");
        // The bound address on stdout, for supervisors and tests that pass port 0.
        println!("{}", serde_json::json!({ "listening": addr.to_string() }));
        service.serve(listener, super::signal::shutdown()).await.context("serving")?;
        tracing::info!("stopped");
        Ok(())
    })
}
