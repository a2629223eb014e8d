//! `urna results --record DIR`: combines the trustees' partial decryptions of a record's sealed totals, decodes
//! them (every counter slot checked) and writes `results.json`.

use std::path::PathBuf;

use anyhow::{Context, Result};
use urna_record::RecordDir;
use urna_record::model::ResultsFile;

#[derive(Debug, clap::Args)]
#[command(about = "Combine the trustees' partial decryptions of a record and write its results")]
pub struct Args {
    /// The election record (with decryption/trustee-<i>.json from at least THRESHOLD trustees; invalid answers
    /// are set aside and named, any THRESHOLD valid ones combine).
    #[arg(long, value_name = "DIR")]
    record: PathBuf,
    /// Print the results as JSON instead of tables.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> Result<()> {
    let (results, _set_aside) = urna_record::results::combine_record(&RecordDir::new(&args.record))
        .with_context(|| format!("combining the trustees' answers in {}", args.record.display()))?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&results)?);
    } else {
        print!("{}", render(&results));
    }
    Ok(())
}

/// The results as plain-text tables: per contest in all, then per district and modality.
pub fn render(results: &ResultsFile) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    for total in &results.totals {
        let _ = writeln!(out, "\n{} ({} ballots)", total.contest_id, total.ballots);
        for c in &total.counts {
            let share = if total.ballots > 0 { 100.0 * c.votes as f64 / total.ballots as f64 } else { 0.0 };
            let _ = writeln!(out, "  {:<48} {:>9} {:>6.1}%", truncate(&c.label, 48), c.votes, share);
        }
        for r in results.results.iter().filter(|r| r.contest_id == total.contest_id) {
            let votes: Vec<String> = r.counts.iter().map(|c| c.votes.to_string()).collect();
            let _ =
                writeln!(out, "    {:<14} {:<7} {:>6} ballots: {}", r.district, r.modality, r.ballots, votes.join(" "));
        }
    }
    out
}

fn truncate(s: &str, n: usize) -> String {
    if s.chars().count() <= n { s.to_owned() } else { s.chars().take(n - 1).chain(['…']).collect() }
}
