//! `urna record export`: writes the election record of a closed election from its running services.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use urna_crypto::threshold::{CeremonyTranscript, ThresholdPublicKey};
use urna_record::RecordDir;
use urna_record::export::{Sources, export};
use urna_tally::Modality;

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(subcommand)]
    command: RecordCommand,
}

#[derive(Debug, clap::Subcommand)]
enum RecordCommand {
    /// Exports the record of a closed election (every shard sealed, the audit log closed) into DIR.
    Export(ExportArgs),
    /// Prints the fingerprints of a record's keys (threshold, audit log, voting rights) as a trust file for
    /// `urna verify record --trust`: run it on the record as the election authority published it.
    Fingerprints(FingerprintsArgs),
}

#[derive(Debug, clap::Args)]
struct FingerprintsArgs {
    /// The record directory.
    #[arg(value_name = "DIR")]
    dir: PathBuf,
    /// Write the trust file here instead of standard output.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
struct ExportArgs {
    /// A vote service replica: MODALITY=URL (repeat for every modality and partition).
    #[arg(long = "vote", value_name = "MODALITY=URL", required = true)]
    votes: Vec<String>,
    /// A tally shard: NAME=URL (repeat for every shard).
    #[arg(long = "shard", value_name = "NAME=URL", required = true)]
    shards: Vec<String>,
    /// The audit log's base URL.
    #[arg(long, value_name = "URL")]
    audit: String,
    /// The key ceremony's output directory (public.json and transcript.json are read; nothing secret).
    #[arg(long, value_name = "DIR")]
    ceremony: PathBuf,
    /// The record directory to write (must not exist or be empty).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
    /// Safe to run again (the operator's export Job, retried after a crash): when DIR already holds a
    /// complete record (its record.json, written last, exists) exit 0 without touching it; otherwise export
    /// into DIR.partial (emptied first, if an earlier attempt left it) and rename it to DIR at the end, so DIR
    /// never holds half a record.
    #[arg(long)]
    idempotent: bool,
}

/// `KEY=URL` from a repeated flag, both sides non-empty.
pub(crate) fn pair(s: &str, what: &str) -> Result<(String, String)> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() && !v.is_empty() => Ok((k.to_owned(), v.to_owned())),
        _ => bail!("{what} {s:?}: expected KEY=URL"),
    }
}

pub fn run(args: Args) -> Result<()> {
    let a = match args.command {
        RecordCommand::Export(a) => a,
        RecordCommand::Fingerprints(f) => return fingerprints(&f),
    };
    let target = a.out.clone();
    let out = if a.idempotent {
        if RecordDir::new(&target).index().exists() {
            println!("{}", serde_json::json!({ "alreadyExported": target.display().to_string() }));
            return Ok(());
        }
        crate::local::check_empty(&target)?;
        let staging = staging_dir(&target)?;
        if staging.exists() {
            std::fs::remove_dir_all(&staging).with_context(|| format!("removing {}", staging.display()))?;
        }
        staging
    } else {
        crate::local::check_empty(&target)?;
        target.clone()
    };
    let read = |name: &str| {
        let p = a.ceremony.join(name);
        std::fs::read_to_string(&p).with_context(|| format!("reading {}", p.display()))
    };
    let public = ThresholdPublicKey::from_json(&read("public.json")?).context("decoding public.json")?;
    let transcript = CeremonyTranscript::from_json(&read("transcript.json")?).context("decoding transcript.json")?;
    let mut vote = Vec::new();
    for v in &a.votes {
        let (m, url) = pair(v, "--vote")?;
        let m: Modality = m.parse().map_err(anyhow::Error::msg)?;
        vote.push((m, url));
    }
    let shards = a.shards.iter().map(|s| pair(s, "--shard")).collect::<Result<Vec<_>>>()?;
    let sources = Sources { vote, shards, audit: a.audit, public, transcript };
    let runtime = tokio::runtime::Runtime::new().context("starting the async runtime")?;
    let report = runtime.block_on(export(&RecordDir::new(&out), &sources))?;
    if out != target {
        if target.exists() {
            // Empty (checked above): rename needs it gone.
            std::fs::remove_dir(&target).with_context(|| format!("removing the empty {}", target.display()))?;
        }
        std::fs::rename(&out, &target)
            .with_context(|| format!("renaming {} to {}", out.display(), target.display()))?;
        sync_parent(&target)?;
    }
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}

/// `DIR.partial`, beside DIR (the same file system, so the final rename is atomic).
fn staging_dir(target: &std::path::Path) -> Result<PathBuf> {
    let name = target.file_name().with_context(|| format!("--out {} has no final component", target.display()))?;
    let mut staged = name.to_owned();
    staged.push(".partial");
    Ok(target.with_file_name(staged))
}

/// Makes the rename durable.
fn sync_parent(target: &std::path::Path) -> Result<()> {
    let parent = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => std::path::Path::new("."),
    };
    std::fs::File::open(parent).and_then(|d| d.sync_all()).with_context(|| format!("syncing {}", parent.display()))
}

fn fingerprints(args: &FingerprintsArgs) -> Result<()> {
    let trust =
        urna_record::fingerprints(&RecordDir::new(&args.dir)).map_err(|e| anyhow::anyhow!("record INVALID: {e}"))?;
    let json = serde_json::to_string_pretty(&trust)? + "\n";
    match &args.out {
        Some(path) => std::fs::write(path, json).with_context(|| format!("writing {}", path.display()))?,
        None => print!("{json}"),
    }
    Ok(())
}
