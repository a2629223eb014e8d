//! `urna publish`: PREP's publisher. Every `--interval` seconds (the Election's `publicationIntervalSeconds`)
//! it reads the capture service's state, writes the next signed, chained snapshot directory
//! (`urna_record::snapshot`) and appends its digest to the audit log as a `snapshot` event.
//!
//! Ordering: snapshot N+1 is not written until snapshot N's event is in the log, so the log holds every
//! published snapshot, in order; a log that does not answer delays publication rather than letting
//! snapshots out unlogged. On start the newest snapshot's event is appended again (the log answers an entry
//! it holds with its existing index), which covers a crash between writing and logging.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail, ensure};
use http::Method;
use urna_audit::AuditClient;
use urna_audit::LogKey;
use urna_http::ServiceClient;
use urna_record::events::snapshot as event;
use urna_record::snapshot::{self, ActasFile, GENESIS};

const LONG_ABOUT: &str = "\
PREP's publisher (docs/record.md, \"PREP\"). Every --interval seconds it reads the capture state
(GET /v1/captures on --capture, with the publisher's token) and writes OUT/NNNNNN/: the signed snapshot
(snapshot.json), the manifest, actas.json, results.json and the CSVs, each file's SHA-256 in the signed body,
chained to the snapshot before; then OUT/latest.json. With --audit, each snapshot's digest is appended to the
audit log as a `snapshot` event before the next snapshot is written. Snapshots are static files: serve or
mirror OUT as they are. Check them with `urna verify snapshots OUT`.

Create the key first with `urna publish keygen --out FILE` (it prints the public key to pin), or let
--create-key create it on the first start (as the operator's site pod does).";

#[derive(Debug, clap::Args)]
#[command(about = "PREP publisher: signed, chained snapshots of the preliminary results", long_about = LONG_ABOUT)]
pub struct Args {
    #[command(subcommand)]
    command: Option<PublishCommand>,
    /// The capture service's base URL.
    #[arg(long, env = "URNA_PUBLISH_CAPTURE")]
    capture: Option<String>,
    /// File holding a publisher token of the capture service.
    #[arg(long, env = "URNA_PUBLISH_TOKEN_FILE")]
    token_file: Option<PathBuf>,
    /// The election manifest (JSON or YAML).
    #[arg(long, env = "URNA_PUBLISH_MANIFEST")]
    manifest: Option<PathBuf>,
    /// The publisher's Ed25519 key file (from `urna publish keygen`).
    #[arg(long, env = "URNA_PUBLISH_KEY")]
    key: Option<PathBuf>,
    /// Create the key file (as `keygen` does) when it does not exist yet. In a cluster the key lives on the
    /// publisher's own volume beside the snapshots it signs (a mounted Secret is group-readable, which the key
    /// loader refuses), so the pod creates it on its first start and keeps it after; its public key is in
    /// every snapshot and in the log line below.
    #[arg(long)]
    create_key: bool,
    /// The snapshots' directory.
    #[arg(long, env = "URNA_PUBLISH_OUT")]
    out: Option<PathBuf>,
    /// Seconds between snapshots (the Election's publicationIntervalSeconds).
    #[arg(long, default_value_t = 300, env = "URNA_PUBLISH_INTERVAL")]
    interval: u64,
    /// The audit log's base URL: each snapshot's digest is appended as a `snapshot` event.
    #[arg(long, env = "URNA_PUBLISH_AUDIT")]
    audit: Option<String>,
    /// File holding the election's internal token for the audit log's POST /v1/entries.
    #[arg(long, env = "URNA_PUBLISH_AUDIT_TOKEN_FILE")]
    audit_token_file: Option<PathBuf>,
    /// Stop after writing (and logging) this many snapshots in this run; without it, run until SIGTERM.
    #[arg(long)]
    snapshots: Option<u64>,
}

#[derive(Debug, clap::Subcommand)]
enum PublishCommand {
    /// Create the publisher's Ed25519 key file and print its public key.
    Keygen {
        #[arg(long)]
        out: PathBuf,
    },
}

pub fn run(args: Args) -> Result<()> {
    if let Some(PublishCommand::Keygen { out }) = &args.command {
        let key = LogKey::generate().context("generating the publisher key")?;
        key.write_new(out).with_context(|| format!("writing {}", out.display()))?;
        println!("public key: {}", hex::encode(key.public_key()));
        return Ok(());
    }
    let (Some(capture), Some(token_file), Some(manifest), Some(key), Some(out)) =
        (&args.capture, &args.token_file, &args.manifest, &args.key, &args.out)
    else {
        bail!("--capture, --token-file, --manifest, --key and --out are required");
    };
    ensure!(args.interval >= 1, "--interval must be at least 1 second");
    let manifest = super::vote::read_manifest(manifest)?;
    if args.create_key && !key.exists() {
        if let Some(dir) = key.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        let new = LogKey::generate().context("generating the publisher key")?;
        new.write_new(key).with_context(|| format!("writing {}", key.display()))?;
    }
    let key = LogKey::load(key).with_context(|| format!("loading the publisher key {}", key.display()))?;
    let token = super::token::from_file_or_env(Some(token_file), "URNA_PUBLISH_TOKEN")?
        .context("the publisher token is required")?;
    let capture = ServiceClient::new(capture.as_str()).with_token(token);
    let audit = match &args.audit {
        Some(url) => {
            let t = super::token::from_file_or_env(args.audit_token_file.as_deref(), "URNA_INTERNAL_TOKEN")?;
            let c = AuditClient::new(url);
            Some(match t {
                Some(t) => c.with_token(t),
                None => c,
            })
        }
        None => None,
    };
    tracing::info!(public_key = %hex::encode(key.public_key()), "publisher key loaded");
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting tokio")?;
    runtime.block_on(publish_loop(&args, &manifest, &key, &capture, audit.as_ref(), out))
}

async fn fetch(capture: &ServiceClient) -> Result<ActasFile> {
    let (status, bytes) =
        capture.raw(Method::GET, "/v1/captures", None).await.map_err(|e| anyhow::anyhow!("{}", e.message))?;
    ensure!(status.is_success(), "GET /v1/captures: {status}: {}", String::from_utf8_lossy(&bytes));
    serde_json::from_slice(&bytes).context("GET /v1/captures: not an actas.json")
}

async fn publish_loop(
    args: &Args,
    manifest: &urna_ballot::ElectionManifest,
    key: &LogKey,
    capture: &ServiceClient,
    audit: Option<&AuditClient>,
    out: &Path,
) -> Result<()> {
    let mut last = snapshot::last(out)?;
    if let (Some(audit), Some((seq, digest))) = (audit, last) {
        let index = crate::log_events::append(audit, &[event(seq, digest)]).await?[0];
        tracing::info!(sequence = seq, index, "the newest snapshot's event is in the log");
    }
    let shutdown = super::signal::shutdown();
    tokio::pin!(shutdown);
    let mut written = 0u64;
    let mut ticks = tokio::time::interval(Duration::from_secs(args.interval));
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            () = &mut shutdown => return Ok(()),
            _ = ticks.tick() => {}
        }
        let actas = match fetch(capture).await {
            Ok(a) => a,
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "the capture service did not answer; next interval");
                continue;
            }
        };
        let (sequence, previous) = last.map(|(s, d)| (s + 1, d)).unwrap_or((1, GENESIS));
        let started = std::time::Instant::now();
        let snap =
            snapshot::build(manifest, &actas, sequence, jiff::Timestamp::now(), previous, key.public_key(), |m| {
                key.sign(m)
            })
            .context("building the snapshot")?;
        let dir = tokio::task::block_in_place(|| snapshot::write(out, &snap))?;
        let progress = snap.signed.body.actas;
        tracing::info!(
            sequence,
            dir = %dir.display(),
            digest = %hex::encode(snap.digest),
            expected = progress.expected,
            counted = progress.counted,
            disputed = progress.disputed,
            ms = started.elapsed().as_millis() as u64,
            "snapshot written"
        );
        if let Some(audit) = audit {
            let entries = [event(sequence, snap.digest)];
            let index = tokio::select! {
                () = &mut shutdown => return Ok(()),
                r = crate::log_events::append(audit, &entries) => r?[0],
            };
            tracing::info!(sequence, index, "snapshot event logged");
        }
        println!("{}", serde_json::json!({"snapshot": sequence, "digest": hex::encode(snap.digest)}));
        last = Some((sequence, snap.digest));
        written += 1;
        if args.snapshots.is_some_and(|n| written >= n) {
            return Ok(());
        }
    }
}
