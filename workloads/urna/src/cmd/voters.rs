//! `urna voters`: simulated voters against a running vote service (a cluster's: the e2e suite's Job).
//! `census` draws voters with one-time credentials and writes the census the vote service imports plus the
//! voters' own file; `cast` casts their ballots through the vote service's HTTP API with the client code
//! `urna local` uses (`local::cast_voters`), so the cluster is driven exactly as the local election is.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail, ensure};
use urna_tally::Modality;
use urna_vote::client::{Election, VoterClient};

use crate::local::census::{self, Voter};

const LONG_ABOUT: &str = "\
`urna voters census --count N --districts A,B --out DIR` draws N voters spread round-robin over the leaf
districts, each with a fresh one-time credential, and writes DIR/census.csv (the vote service's census:
voterIdHash,district,credentialHash) and DIR/voters.csv (voter,district,modality,credential, mode 0600:
the credentials are secret). Voters are named voter-000000, voter-000001, ... from --first: the censuses of
two modalities must not name a voter twice.

`urna voters cast --vote URL [--vote URL...] --voters DIR/voters.csv` casts one ballot per voter, random
choices from --seed, through the vote service (one URL per partition, in partition order: election.json's
vote.urls), and prints one JSON line {\"cast\": N, \"byModality\": {...}}. It exits 1 if any ballot fails.";

#[derive(Debug, clap::Args)]
#[command(about = "Simulated voters against a running vote service: draw a census, cast ballots")]
#[command(long_about = LONG_ABOUT)]
pub struct Args {
    #[command(subcommand)]
    command: Mode,
}

#[derive(Debug, clap::Subcommand)]
enum Mode {
    /// Draw voters with one-time credentials; write census.csv and voters.csv.
    Census(CensusArgs),
    /// Cast every voter's ballot through the vote service.
    Cast(CastArgs),
    /// A whole election against running services: cast, close, export the record, decrypt with the
    /// ceremony's trustees, combine the results and verify the record (the e2e suite's Job).
    Run(Box<RunArgs>),
}

#[derive(Debug, clap::Args)]
struct RunArgs {
    #[command(flatten)]
    cast: CastArgs,
    /// The vote service's admin token (for POST /v1/close).
    #[arg(long, value_name = "FILE")]
    admin_token_file: PathBuf,
    /// The election's internal token (the `<election>-internal-token` Secret), to seal the shards and
    /// close the audit log (or env URNA_INTERNAL_TOKEN).
    #[arg(long, value_name = "FILE")]
    internal_token_file: Option<PathBuf>,
    /// A tally shard: NAME=URL (repeat for every shard).
    #[arg(long = "shard", value_name = "NAME=URL", required = true)]
    shards: Vec<String>,
    /// The audit log's base URL.
    #[arg(long, value_name = "URL")]
    audit: String,
    /// The key ceremony's directory: public.json, transcript.json and trustee-<i>.share.json with
    /// trustee-<i>.passphrase (or URNA_TRUSTEE_<i>_PASSPHRASE) for the first THRESHOLD trustees.
    #[arg(long, value_name = "DIR")]
    ceremony: PathBuf,
    /// Where to write the election record (must not exist or be empty).
    #[arg(long, value_name = "DIR")]
    record: PathBuf,
}

#[derive(Debug, clap::Args)]
struct CensusArgs {
    /// Voters to draw.
    #[arg(long)]
    count: usize,
    /// Leaf districts (comma-separated); voters are spread over them round-robin.
    #[arg(long, value_delimiter = ',', required = true)]
    districts: Vec<String>,
    /// The modality they vote in (`remote` or `booth`).
    #[arg(long, default_value = "remote")]
    modality: Modality,
    /// Number the voters from N (voter-N, ...): a census drawn for another modality must name other voters.
    #[arg(long, value_name = "N", default_value_t = 0)]
    first: usize,
    /// Output directory (created if missing; census.csv and voters.csv must not exist).
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

#[derive(Debug, clap::Args)]
struct CastArgs {
    /// The vote service: one base URL per partition, in partition order.
    #[arg(long = "vote", value_name = "URL", required = true)]
    vote: Vec<String>,
    /// voters.csv from `urna voters census`.
    #[arg(long, value_name = "FILE")]
    voters: PathBuf,
    /// Seed of the voters' random choices.
    #[arg(long, default_value_t = 2027)]
    seed: u64,
    /// Voters casting at once.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
}

pub fn run(args: Args) -> Result<()> {
    match args.command {
        Mode::Census(a) => write_census(&a),
        Mode::Cast(a) => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("starting the async runtime")?;
            let report = runtime.block_on(cast(&a))?;
            let mut out = std::io::stdout().lock();
            writeln!(out, "{report}").context("writing to stdout")
        }
        Mode::Run(a) => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("starting the async runtime")?;
            let report = runtime.block_on(run_election(&a))?;
            let mut out = std::io::stdout().lock();
            writeln!(out, "{report}").context("writing to stdout")
        }
    }
}

/// Cast, close, export, decrypt, combine, verify; fails unless the record holds exactly the ballots cast
/// and verifies.
async fn run_election(a: &RunArgs) -> Result<serde_json::Value> {
    // Keys first: a wrong passphrase should fail before any ballot is cast.
    let dir = a.ceremony.clone();
    let keys =
        tokio::task::spawn_blocking(move || crate::keys::load_ceremony(&dir)).await.context("ceremony task")??;
    crate::local::check_empty(&a.record)?;
    let token = std::fs::read_to_string(&a.admin_token_file)
        .with_context(|| format!("reading {}", a.admin_token_file.display()))?
        .trim()
        .to_owned();
    let internal = super::token::from_file_or_env(a.internal_token_file.as_deref(), super::token::INTERNAL_TOKEN_ENV)?
        .context("sealing the shards and closing the log need --internal-token-file or URNA_INTERNAL_TOKEN")?;
    let shards = a.shards.iter().map(|s| super::record::pair(s, "--shard")).collect::<Result<Vec<_>>>()?;
    let cast_report = cast(&a.cast).await?;
    let cast_count = cast_report["cast"].as_u64().unwrap_or(0);
    let modality: Modality = cast_report["byModality"]
        .as_object()
        .and_then(|m| m.keys().next())
        .map(|m| m.parse::<Modality>())
        .transpose()
        .map_err(anyhow::Error::msg)?
        .unwrap_or(Modality::Remote);
    let votes: Vec<(Modality, String, String)> =
        a.cast.vote.iter().map(|u| (modality, u.clone(), token.clone())).collect();
    crate::local::services::close_election(&votes, &shards, &a.audit, &internal).await?;
    let record = urna_record::RecordDir::new(&a.record);
    let sources = urna_record::export::Sources {
        vote: a.cast.vote.iter().map(|u| (modality, u.clone())).collect(),
        shards,
        audit: a.audit.clone(),
        public: keys.public.clone(),
        transcript: keys.transcript.clone(),
    };
    let exported = urna_record::export::export(&record, &sources).await.context("exporting the election record")?;
    ensure!(exported.ballots == cast_count, "the record holds {} ballots, {cast_count} were cast", exported.ballots);
    let results = crate::local::decrypt_and_combine(&a.record, keys.shares, || ()).await?;
    let dir = a.record.clone();
    let summary = tokio::task::spawn_blocking(move || super::verify::check_record(&dir, None))
        .await
        .context("verification task")??;
    Ok(serde_json::json!({
        "cast": cast_count,
        "recorded": exported.ballots,
        "trustees": results.trustees,
        "totals": results.totals,
        "verification": summary,
        "record": a.record,
    }))
}

const VOTERS_HEADER: &str = "voter,district,modality,credential";

fn write_census(a: &CensusArgs) -> Result<()> {
    ensure!(a.count > 0, "--count must be at least 1");
    if let Some(bad) = a.districts.iter().find(|d| d.is_empty() || d.contains([',', '"', '\n'])) {
        bail!("--districts: {bad:?} is not a district id");
    }
    let voters: Vec<Voter> = (0..a.count)
        .map(|i| {
            let district = a.districts[i % a.districts.len()].clone();
            Voter::new(format!("voter-{:06}", a.first + i), district, a.modality, None)
        })
        .collect();
    std::fs::create_dir_all(&a.out).with_context(|| format!("creating {}", a.out.display()))?;
    let census = census::census_csv(&voters, a.modality)?;
    let mut list = format!("{VOTERS_HEADER}\n");
    for v in &voters {
        list.push_str(&format!("{},{},{},{}\n", v.name, v.district, v.modality, v.credential()));
    }
    create(&a.out.join("census.csv"), census.as_bytes(), 0o644)?;
    create(&a.out.join("voters.csv"), list.as_bytes(), 0o600)
}

/// Writes a new file (refusing to overwrite one) with `mode`.
fn create(path: &Path, bytes: &[u8], mode: u32) -> Result<()> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(bytes).and_then(|()| f.sync_all()).with_context(|| format!("writing {}", path.display()))
}

/// voters.csv: `voter,district,modality,credential`, header first.
fn read_voters(path: &Path) -> Result<Vec<Voter>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let mut lines = text.lines().enumerate();
    match lines.next() {
        Some((_, h)) if h.trim() == VOTERS_HEADER => {}
        _ => bail!("{}: expected the header {VOTERS_HEADER}", path.display()),
    }
    let mut out = Vec::new();
    for (i, line) in lines.filter(|(_, l)| !l.trim().is_empty()) {
        let f: Vec<&str> = line.trim().split(',').collect();
        let [name, district, modality, credential] = f[..] else {
            bail!("{}:{}: expected 4 fields", path.display(), i + 1);
        };
        let modality: Modality = modality.parse().map_err(|e| anyhow::anyhow!("{}:{}: {e}", path.display(), i + 1))?;
        out.push(Voter::with_credential(name.into(), district.into(), modality, credential.into()));
    }
    ensure!(!out.is_empty(), "{}: no voters", path.display());
    Ok(out)
}

async fn cast(a: &CastArgs) -> Result<serde_json::Value> {
    let voters = read_voters(&a.voters)?;
    let client = VoterClient::partitioned(a.vote.clone());
    let election = Arc::new(Election::fetch(&client).await.context("fetching the election from the vote service")?);
    let mut modalities: Vec<Modality> = voters.iter().map(|v| v.modality).collect();
    modalities.sort_by_key(|m| m.to_string());
    modalities.dedup();
    ensure!(modalities.len() == 1, "voters.csv mixes modalities {modalities:?}: one vote service serves one");
    let elections = [(modalities[0], client, election)];
    let report = crate::local::cast_voters(&elections, None, &voters, &modalities, a.concurrency, a.seed, true).await?;
    let by: serde_json::Map<String, serde_json::Value> =
        report.by_modality.iter().map(|(m, n)| (m.to_string(), (*n).into())).collect();
    Ok(serde_json::json!({ "cast": report.cast, "byModality": by }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn census_and_voters_files_round_trip() -> Result<()> {
        let dir = tempfile::tempdir()?;
        let out = dir.path().join("v");
        let a = CensusArgs {
            count: 5,
            districts: vec!["centro".into(), "norte".into()],
            modality: Modality::Remote,
            first: 0,
            out: out.clone(),
        };
        write_census(&a)?;
        let voters = read_voters(&out.join("voters.csv"))?;
        assert_eq!(voters.len(), 5);
        assert_eq!(voters[1].district, "norte");
        let census = std::fs::read_to_string(out.join("census.csv"))?;
        assert!(census.starts_with("voterIdHash,district,credentialHash\n"));
        assert!(census.contains(&voters[0].voter_id()));
        assert!(!census.contains(voters[0].credential()), "the census holds hashes, not credentials");
        assert!(write_census(&a).is_err(), "never overwrites");
        // Another modality's census, numbered on: no voter in both.
        let booth = CensusArgs { modality: Modality::Booth, first: 5, out: dir.path().join("b"), ..a };
        write_census(&booth)?;
        let booth_voters = read_voters(&booth.out.join("voters.csv"))?;
        assert_eq!(booth_voters[0].name, "voter-000005");
        assert!(booth_voters.iter().all(|b| voters.iter().all(|v| v.voter_id() != b.voter_id())));
        Ok(())
    }
}
