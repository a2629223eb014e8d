//! `urna witness`: follows an audit log from outside, cosigns each checkpoint that extends the history it
//! has seen, and stops with the evidence when the log shows a fork. The decisions are `urna_audit::witness`;
//! this is the loop, the state file and the HTTP calls.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};
use http::Method;
use serde_json::Value;
use urna_audit::AuditClient;
use urna_audit::wire::CosignRequest;
use urna_audit::witness::{Verdict, WitnessState, judge};
use urna_audit::{Hash, LogKey};

const LONG_ABOUT: &str = "\
A witness of an election's audit log. Every INTERVAL seconds it fetches the log's latest checkpoint,
checks the log's signature under the pinned --log-key and --origin, asks the log for a consistency proof
from the last checkpoint it cosigned, and cosigns the new one (POST /v1/witness/cosign) only when the proof
holds. What it has cosigned is kept in --state, so a restart never forgets the history it vouched for.

A log that goes back, shows two roots for one size, or cannot prove that its new tree extends the old one
is forking: the witness writes both signed checkpoints into the state file as evidence, prints them, exits
with status 3 and never cosigns for that log again. Verifiers count the cosignatures of the witnesses they
trust (`urna verify record --trust FILE` with a `witnesses` policy).

Create the witness's key with `urna witness keygen --out FILE`.";

#[derive(Debug, clap::Args)]
#[command(about = "Witness an audit log: verify its consistency, cosign, catch forks")]
#[command(long_about = LONG_ABOUT, args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct Args {
    #[command(subcommand)]
    command: Option<WitnessCommand>,
    /// The audit log's base URL, e.g. http://audit.example.org:8080 (plain HTTP: a TLS front is not spoken
    /// yet; the log's signatures, not the transport, are what the witness relies on).
    #[arg(long, value_name = "URL", required = true)]
    log: Option<String>,
    /// The log's origin (its checkpoints' first line), as the election published it.
    #[arg(long, value_name = "NAME", required = true)]
    origin: Option<String>,
    /// The log's Ed25519 public key (64 hex characters), as the election published it.
    #[arg(long, value_name = "HEX", required = true)]
    log_key: Option<String>,
    /// This witness's name, signed into its cosignatures (e.g. witness.example.org).
    #[arg(long, value_name = "NAME", required = true)]
    name: Option<String>,
    /// This witness's Ed25519 key file (from `urna witness keygen`; readable by its owner only).
    #[arg(long, value_name = "FILE", required = true)]
    key: Option<PathBuf>,
    /// What this witness has cosigned of this log (created on the first run).
    #[arg(long, value_name = "FILE", required = true)]
    state: Option<PathBuf>,
    /// Seconds between checks.
    #[arg(long, value_name = "SECS", default_value_t = 10)]
    interval: u64,
    /// Check once and exit (0: cosigned or nothing new; 3: fork).
    #[arg(long)]
    once: bool,
}

/// The witnesses an election declares, as `urna vote` and `urna local` take them: the log keeps only their
/// cosignatures and the receipt check verifies them (published in `GET /v1/election`).
#[derive(Debug, Clone, clap::Args)]
pub struct PolicyArgs {
    /// A witness of the audit log, as NAME=HEX (its Ed25519 public key, from `urna witness keygen`);
    /// repeatable.
    #[arg(long = "witness", value_name = "NAME=HEX", requires = "witness_quorum")]
    witnesses: Vec<urna_audit::witness::TrustedWitness>,
    /// How many of the --witness witnesses must have cosigned a checkpoint.
    #[arg(long, value_name = "N", requires = "witnesses")]
    witness_quorum: Option<u32>,
}

impl PolicyArgs {
    /// The policy, `None` without witnesses; an error names a bad quorum or a witness given twice.
    pub fn policy(&self) -> Result<Option<urna_audit::witness::WitnessPolicy>> {
        self.witness_quorum
            .map(|q| urna_audit::witness::WitnessPolicy::new(q, self.witnesses.clone()))
            .transpose()
            .map_err(|e| anyhow::anyhow!("--witness-quorum: {e}"))
    }
}

#[derive(Debug, clap::Subcommand)]
enum WitnessCommand {
    /// Creates a witness key (Ed25519 from the OS CSPRNG) in FILE, mode 0600; prints its public key.
    Keygen {
        #[arg(long, value_name = "FILE")]
        out: PathBuf,
    },
}

/// The exit status of a witness that caught a fork.
pub const FORK_EXIT: i32 = 3;

pub fn run(args: Args) -> Result<()> {
    if let Some(WitnessCommand::Keygen { out }) = &args.command {
        let key = LogKey::generate().context("generating the witness key")?;
        key.write_new(out).with_context(|| format!("writing the witness key to {}", out.display()))?;
        println!("public key: {}", hex::encode(key.public_key()));
        return Ok(());
    }
    let (Some(log), Some(origin), Some(log_key), Some(name), Some(key_path), Some(state_path)) =
        (args.log, args.origin, args.log_key, args.name, args.key, args.state)
    else {
        bail!("--log, --origin, --log-key, --name, --key and --state are required");
    };
    let mut pinned = [0u8; 32];
    hex::decode_to_slice(&log_key, &mut pinned).context("--log-key must be 64 hex characters")?;
    let key = LogKey::load(&key_path).with_context(|| format!("loading the witness key {}", key_path.display()))?;
    let mut state = load_state(&state_path, &origin, pinned)?;
    let client = AuditClient::new(&log);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().context("starting tokio")?;
    loop {
        match runtime.block_on(step(&client, &state, &name, &key)) {
            Ok(Step::Cosigned(next, size)) => {
                // Remembered before anything else: a witness that cosigned must never forget it did.
                save_state(&state_path, &next)?;
                state = next;
                tracing::info!(size, "cosigned");
                println!("cosigned checkpoint of size {size}");
            }
            Ok(Step::Unchanged) => tracing::debug!("nothing new"),
            Ok(Step::Fork(next)) => {
                save_state(&state_path, &next)?;
                let fork = next.fork.as_ref().context("a fork verdict records its fork")?;
                eprintln!(
                    "FORK: log {:?} {}\n--- cosigned earlier (size {}) ---\n{}--- shown now (size {}) ---\n{}evidence kept in {}",
                    next.origin,
                    fork.reason,
                    fork.earlier.size,
                    fork.earlier.note,
                    fork.later.size,
                    fork.later.note,
                    state_path.display()
                );
                std::process::exit(FORK_EXIT);
            }
            // A log that is down or serves garbage proves nothing against it: report and try again.
            Err(e) if !args.once => tracing::warn!(error = format!("{e:#}"), "could not check the log"),
            Err(e) => return Err(e),
        }
        if args.once {
            return Ok(());
        }
        std::thread::sleep(Duration::from_secs(args.interval.max(1)));
    }
}

enum Step {
    Cosigned(WitnessState, u64),
    Unchanged,
    Fork(WitnessState),
}

/// One check: fetch, judge, and post the cosignature (idempotent on the log's side).
async fn step(client: &AuditClient, state: &WitnessState, name: &str, key: &LogKey) -> Result<Step> {
    let checkpoint = get(client, "/v1/checkpoint").await?;
    let note = checkpoint["note"].as_str().context("the log's checkpoint has no note")?;
    let size = checkpoint["size"].as_u64().context("the log's checkpoint has no size")?;
    let proof = match state.last_size() {
        Some(from) if from < size => {
            let p = get(client, &format!("/v1/proof/consistency?from={from}&to={size}")).await?;
            hashes(&p["proof"])?
        }
        _ => vec![],
    };
    match judge(state, note, &proof, name, key)? {
        Verdict::Unchanged => Ok(Step::Unchanged),
        Verdict::Fork { state } => Ok(Step::Fork(state)),
        Verdict::Cosign { state, cosignature, body } => {
            let request = CosignRequest {
                name: cosignature.name,
                public_key: hex::encode(cosignature.public_key),
                checkpoint: body.clone(),
                signature: hex::encode(cosignature.signature),
            };
            client.cosign(&request).await.map_err(|e| anyhow::anyhow!("the log refused the cosignature: {e}"))?;
            let cp = urna_audit::checkpoint::Checkpoint::parse(&body).context("the cosigned body")?;
            Ok(Step::Cosigned(state, cp.size))
        }
    }
}

async fn get(client: &AuditClient, path: &str) -> Result<Value> {
    client.call(Method::GET, path).await.map_err(|e| anyhow::anyhow!("GET {path}: {e}"))
}

fn hashes(v: &Value) -> Result<Vec<Hash>> {
    let items = v.as_array().context("the consistency proof is not a list")?;
    items
        .iter()
        .map(|h| {
            let mut out = [0u8; 32];
            hex::decode_to_slice(h.as_str().unwrap_or_default(), &mut out)
                .context("a consistency proof hash is not 64 hex characters")?;
            Ok(out)
        })
        .collect()
}

fn load_state(path: &Path, origin: &str, log_key: [u8; 32]) -> Result<WitnessState> {
    if !path.exists() {
        return Ok(WitnessState::new(origin, log_key));
    }
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let state = WitnessState::from_json(&text).with_context(|| format!("{}: not a witness state", path.display()))?;
    if state.origin != origin || state.log_public_key != log_key {
        bail!(
            "{} follows log {:?} with key {}, not {origin:?} with key {}; use another --state file",
            path.display(),
            state.origin,
            hex::encode(state.log_public_key),
            hex::encode(log_key)
        );
    }
    Ok(state)
}

fn save_state(path: &Path, state: &WitnessState) -> Result<()> {
    urna_record::files::write_json(path, state).with_context(|| format!("saving the witness state {}", path.display()))
}
