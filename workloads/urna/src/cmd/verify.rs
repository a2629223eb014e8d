//! `urna verify`: public verification from published data alone. `inclusion` and `consistency` check the
//! audit log's RFC 9162 proofs (a voter's receipt; an observer comparing two checkpoints); `record` checks a
//! whole election record (urna_record::verify).

use anyhow::{Result, anyhow};
use urna_audit::{Hash, verify_consistency, verify_inclusion};

const EXIT_CODES: &str = "\
Hashes are 64 lowercase hex characters; --proof is a comma-separated list of them, and an empty proof is
the empty string (--proof \"\").

Exit status: 0 when the proof is valid; 1 when it is not (the reason is printed on stderr); 2 when the
arguments are malformed (bad hex, missing flag).";

#[derive(Debug, clap::Args)]
#[command(about = "Verify audit-log proofs from public data alone")]
pub struct Args {
    #[command(subcommand)]
    command: VerifyCommand,
}

#[derive(Debug, clap::Subcommand)]
enum VerifyCommand {
    /// Checks that a leaf hash is leaf INDEX of the tree of SIZE leaves with root ROOT (RFC 9162 §2.1.3.2).
    #[command(after_help = EXIT_CODES)]
    Inclusion(InclusionArgs),
    /// Checks that the tree of SIZE2 leaves (ROOT2) extends the tree of SIZE1 leaves (ROOT1) (RFC 9162 §2.1.4.2).
    #[command(after_help = EXIT_CODES)]
    Consistency(ConsistencyArgs),
    /// Checks a whole election record: every signature, proof, shard log, total, partial decryption, result,
    /// audit-log checkpoint and the close-time equalities. Exit 0 when valid, 1 naming the first failure.
    Record(RecordArgs),
    /// Checks a directory of PREP snapshots (`urna publish --out DIR`): the chain, the publisher's signatures,
    /// every file's SHA-256, and that every published figure follows from the captured actas. Exit 0 when
    /// valid, 1 naming the first failing snapshot.
    Snapshots(SnapshotsArgs),
    /// Checks a Benaloh-challenged ballot: every ciphertext encodes exactly the choice the app revealed.
    Challenge(super::verify_challenge::ChallengeArgs),
}

#[derive(Debug, clap::Args)]
struct RecordArgs {
    /// The record directory (`urna local --record DIR`, `urna record export`).
    #[arg(value_name = "DIR")]
    dir: std::path::PathBuf,
    /// The election's published key fingerprints (`urna record fingerprints`): refuse the record unless its
    /// threshold, audit-log and voting-right keys are these. Without it only the record's consistency with
    /// its own keys is checked.
    #[arg(long, value_name = "FILE")]
    trust: Option<std::path::PathBuf>,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
struct SnapshotsArgs {
    /// The snapshots' directory.
    #[arg(value_name = "DIR")]
    dir: std::path::PathBuf,
    /// The publisher's Ed25519 public key (64 hex, from `urna publish keygen`): refuse snapshots signed by
    /// any other. Without it the chain is checked against the key its first snapshot names.
    #[arg(long, value_name = "HEX", value_parser = parse_hash)]
    publisher_key: Option<Hash>,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, clap::Args)]
struct InclusionArgs {
    /// The tree's root hash (from a signed checkpoint).
    #[arg(long, value_name = "HEX", value_parser = parse_hash)]
    root: Hash,
    /// The tree's size.
    #[arg(long, value_name = "N")]
    size: u64,
    /// The leaf's index.
    #[arg(long, value_name = "I")]
    index: u64,
    /// The leaf hash, SHA-256(0x00 || entry).
    #[arg(long, value_name = "HEX", value_parser = parse_hash)]
    leaf_hash: Hash,
    /// The audit path, bottom up.
    #[arg(long, value_name = "HEX[,HEX...]", value_parser = parse_proof)]
    proof: Proof,
}

#[derive(Debug, clap::Args)]
struct ConsistencyArgs {
    #[arg(long, value_name = "N")]
    size1: u64,
    #[arg(long, value_name = "M")]
    size2: u64,
    #[arg(long, value_name = "HEX", value_parser = parse_hash)]
    root1: Hash,
    #[arg(long, value_name = "HEX", value_parser = parse_hash)]
    root2: Hash,
    /// The consistency proof, as the log serves it.
    #[arg(long, value_name = "HEX[,HEX...]", value_parser = parse_proof)]
    proof: Proof,
}

/// A proof's hashes (a newtype, so clap takes the whole comma-separated list as one value).
#[derive(Debug, Clone)]
struct Proof(Vec<Hash>);

fn parse_hash(s: &str) -> Result<Hash, String> {
    let mut h = [0u8; 32];
    if s.len() != 64 || !s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return Err(format!("expected 64 lowercase hex characters, got {s:?}"));
    }
    hex::decode_to_slice(s, &mut h).map_err(|e| e.to_string())?;
    Ok(h)
}

fn parse_proof(s: &str) -> Result<Proof, String> {
    if s.is_empty() {
        return Ok(Proof(Vec::new()));
    }
    s.split(',')
        .enumerate()
        .map(|(i, h)| parse_hash(h).map_err(|e| format!("proof hash {i}: {e}")))
        .collect::<Result<_, _>>()
        .map(Proof)
}

pub fn run(args: Args) -> Result<()> {
    match args.command {
        VerifyCommand::Inclusion(a) => {
            verify_inclusion(&a.leaf_hash, a.index, a.size, &a.proof.0, &a.root)
                .map_err(|e| anyhow!("inclusion proof INVALID: {e}"))?;
            println!(
                "inclusion proof valid: leaf {} is in the tree of size {} with root {}",
                a.index,
                a.size,
                hex::encode(a.root)
            );
        }
        VerifyCommand::Consistency(a) => {
            verify_consistency(a.size1, a.size2, &a.root1, &a.root2, &a.proof.0)
                .map_err(|e| anyhow!("consistency proof INVALID: {e}"))?;
            println!("consistency proof valid: the tree of size {} extends the tree of size {}", a.size2, a.size1);
        }
        VerifyCommand::Challenge(a) => super::verify_challenge::run(a)?,
        VerifyCommand::Snapshots(a) => {
            let summary = urna_record::snapshot::verify_dir(&a.dir, a.publisher_key)
                .map_err(|e| anyhow!("snapshots INVALID: {e}"))?;
            if a.json {
                println!("{}", serde_json::to_string_pretty(&summary)?);
            } else {
                let p = summary.last;
                println!(
                    "snapshots VALID: {} snapshots of {} signed by {}; the last counts {} of {} actas ({} disputed)",
                    summary.snapshots, summary.election_id, summary.publisher_key, p.counted, p.expected, p.disputed
                );
                if a.publisher_key.is_none() {
                    println!("CONSISTENCY ONLY: the publisher key was not pinned (--publisher-key HEX)");
                }
            }
        }
        VerifyCommand::Record(a) => {
            let summary = check_record(&a.dir, a.trust.as_deref())?;
            if !a.json {
                print_checks(&summary);
            }
            if a.json {
                println!("{}", serde_json::to_string_pretty(&summary)?);
            } else if summary.keys_pinned {
                println!(
                    "record VALID: {} ({} ballots), under the trusted keys of {}",
                    summary.election_id,
                    summary.ballots,
                    a.trust.as_deref().map(|p| p.display().to_string()).unwrap_or_default()
                );
            } else {
                println!("record VALID: {} ({} ballots)", summary.election_id, summary.ballots);
                println!("{UNPINNED}");
            }
        }
    }
    Ok(())
}

/// What a verification without a trust file did and did not establish, said plainly.
pub const UNPINNED: &str = "CONSISTENCY ONLY: no --trust file was given, so the record was checked against its own \
keys only; a record rebuilt and re-signed under other keys would pass too. Pin the keys with --trust FILE (the \
election's published fingerprints, `urna record fingerprints`).";

/// Verifies a record (against the trust file's keys when given); the error names the first failure.
pub fn check_record(dir: &std::path::Path, trust: Option<&std::path::Path>) -> Result<urna_record::Summary> {
    let progress = |step: &str, done: u64, total: u64| tracing::debug!(step, done, total, "verifying");
    urna_record::verify_record_dir(dir, trust, &progress).map_err(|e| anyhow!("record INVALID: {e}"))
}

/// Prints each check that passed and each note, for people.
pub fn print_checks(summary: &urna_record::Summary) {
    for line in &summary.checks {
        println!("  ok  {line}");
    }
    for note in &summary.notes {
        println!("  note  {note}");
    }
}
