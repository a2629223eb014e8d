//! `urna verify challenge FILE`: checks a Benaloh-challenged ballot (docs/protocol.md §4.7) against the
//! election's manifest and public key, from another device than the one that encrypted it.

use std::path::{Path, PathBuf};

use anyhow::{Result, anyhow};
use urna_ballot::{BallotCodec, ChallengedBallot, ElectionManifest, check_challenge};
use urna_crypto::paillier::PublicKey;
use urna_crypto::threshold::ThresholdPublicKey;

const EXIT_CODES: &str = "\
Exit status: 0 when every ciphertext encodes exactly the revealed choice; 1 when not (each difference is
printed on stderr); 2 when a file is unreadable or not of the documented form.";

#[derive(Debug, clap::Args)]
#[command(after_help = EXIT_CODES)]
pub struct ChallengeArgs {
    /// The challenged ballot the voter app published (JSON).
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// The election manifest (JSON; a record's manifest.json).
    #[arg(long, value_name = "FILE")]
    manifest: PathBuf,
    /// The election public key: the threshold key (a record's keys/threshold-public.json) or {"n": hex}.
    #[arg(long, value_name = "FILE")]
    public_key: PathBuf,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

/// Exit status 2 with the reason: the input is not something this command can check.
fn malformed(path: &Path, reason: impl std::fmt::Display) -> ! {
    eprintln!("challenge MALFORMED: {}: {reason}", path.display());
    std::process::exit(2)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| malformed(path, e))
}

fn public_key(path: &Path) -> PublicKey {
    let text = read(path);
    match ThresholdPublicKey::from_json(&text) {
        Ok(key) => key.paillier().clone(),
        Err(_) => serde_json::from_str(&text).unwrap_or_else(|e| malformed(path, e)),
    }
}

pub fn run(a: ChallengeArgs) -> Result<()> {
    let manifest: ElectionManifest =
        serde_json::from_str(&read(&a.manifest)).unwrap_or_else(|e| malformed(&a.manifest, e));
    let codec = BallotCodec::new(manifest, public_key(&a.public_key)).unwrap_or_else(|e| malformed(&a.manifest, e));
    let challenge: ChallengedBallot = serde_json::from_str(&read(&a.file)).unwrap_or_else(|e| malformed(&a.file, e));
    if challenge.version != urna_ballot::challenge::CHALLENGE_VERSION {
        malformed(
            &a.file,
            format!("version {} (this urna reads {})", challenge.version, urna_ballot::challenge::CHALLENGE_VERSION),
        );
    }
    let report = check_challenge(&codec, &challenge);
    if a.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    }
    if !report.is_valid() {
        for p in &report.problems {
            eprintln!("  differs  {p}");
        }
        return Err(anyhow!(
            "challenge INVALID: the ballot does not hold what the app revealed ({} differences)",
            report.problems.len()
        ));
    }
    if !a.json {
        println!("challenge VALID: ballot {} (style {}) holds", hex::encode(report.ballot_hash), report.ballot_style);
        for c in &report.contests {
            let name = c.write_in.as_ref().map(|n| format!(" {n:?}")).unwrap_or_default();
            println!("  {}: {}{name}", c.contest_id, c.choices.join(", "));
        }
    }
    Ok(())
}
