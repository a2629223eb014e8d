//! `urna bench snapshot`: how long the PREP publisher takes to build, write and verify one snapshot for an
//! election of N mesas (docs/performance.md, "PREP snapshots"): the example's manifest, N mesas spread over
//! its leaf districts, every mesa counted by two agreeing captures (the largest snapshot: every figure
//! published). Against the seed's bar: a snapshot every 5 minutes.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::{Context, Result};
use serde_json::json;
use urna_ballot::{choices::choices, contests_for_district};
use urna_record::capture::{CaptureRef, ChoiceVotes, ContestCount, SheetFigures, decide};
use urna_record::snapshot::{self, ACTAS_FORMAT, ActasFile, GENESIS, MesaSheet};

#[derive(Debug, clap::Args)]
#[command(about = "Time to build, write and verify one PREP snapshot of N counted mesas")]
pub struct Args {
    /// The example whose Election gives the manifest.
    #[arg(long, default_value = "examples/federal")]
    example: PathBuf,
    /// Mesas (Mexico's 2024 federal election had about 170,000 casillas).
    #[arg(long, default_value_t = 170_000)]
    mesas: usize,
    /// Where to write the snapshot (default: a temporary directory).
    #[arg(long)]
    out: Option<PathBuf>,
}

/// One counted sheet: `ballots` spread over each contest's choices, varied by mesa.
fn sheet(manifest: &urna_ballot::ElectionManifest, district: &str, i: usize) -> SheetFigures {
    let ballots = 150 + (i * 37 % 250) as u64;
    let contests = contests_for_district(manifest, district)
        .into_iter()
        .map(|c| {
            let numbering = choices(c);
            let k = numbering.len().max(1) as u64;
            let counts = numbering
                .iter()
                .enumerate()
                .map(|(j, ch)| {
                    let share = ballots / k + u64::from(((i + j) as u64 % k) < ballots % k);
                    ChoiceVotes { choice: ch.id.clone(), votes: share }
                })
                .collect();
            ContestCount { contest: c.id.clone(), counts }
        })
        .collect();
    SheetFigures { voted: ballots, ballots, contests }
}

pub fn run(a: Args) -> Result<()> {
    let set = urna_operator::examples::load_dir(&a.example)
        .with_context(|| format!("reading the example {}", a.example.display()))?;
    let plan = crate::local::plan::plan(&set, None)?;
    let manifest = &plan.manifest;
    let t = Instant::now();
    let mut mesas: Vec<MesaSheet> = (0..a.mesas)
        .map(|i| {
            let district = &plan.districts[i % plan.districts.len()];
            let figures = sheet(manifest, district, i);
            let capture = |who: &str| CaptureRef {
                capturist: who.into(),
                captured_at: "2024-06-02T20:00:00Z".into(),
                photo_sha256: hex::encode((i as u64).to_be_bytes()).repeat(4),
                figures_sha256: hex::encode(figures.digest()),
            };
            let captures = vec![capture("cap-1"), capture("cap-2")];
            MesaSheet {
                mesa: format!("m{i:07}"),
                district: district.clone(),
                status: decide(&captures).0,
                captures,
                figures: Some(figures),
            }
        })
        .collect();
    mesas.sort_by(|x, y| x.mesa.cmp(&y.mesa));
    let actas = ActasFile { format: ACTAS_FORMAT.into(), election_id: manifest.election_id.clone(), mesas };
    let prepare = t.elapsed().as_secs_f64();

    let key = urna_audit::LogKey::generate().context("generating a key")?;
    let temp = tempfile::tempdir().context("creating a temporary directory")?;
    let out = a.out.clone().unwrap_or_else(|| temp.path().to_owned());
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    let t = Instant::now();
    let snap =
        snapshot::build(manifest, &actas, 1, jiff::Timestamp::now(), GENESIS, key.public_key(), |m| key.sign(m))?;
    let build = t.elapsed().as_secs_f64();
    let t = Instant::now();
    snapshot::write(&out, &snap)?;
    let write = t.elapsed().as_secs_f64();
    let t = Instant::now();
    let summary = snapshot::verify_dir(&out, Some(key.public_key())).map_err(|e| anyhow::anyhow!("{e}"))?;
    let verify = t.elapsed().as_secs_f64();
    let bytes: u64 = snap.signed.body.files.iter().map(|f| f.bytes).sum();
    let files: serde_json::Map<String, serde_json::Value> =
        snap.signed.body.files.iter().map(|f| (f.path.clone(), json!(f.bytes))).collect();
    println!(
        "{}",
        serde_json::to_string_pretty(&json!({
            "example": a.example, "mesas": a.mesas, "districts": plan.districts.len(),
            "counted": summary.last.counted, "bytes": bytes, "files": files,
            "seconds": {"prepare": prepare, "build": build, "write": write, "verify": verify,
                        "publish": build + write},
            "intervalSeconds": 300,
        }))?
    );
    Ok(())
}
