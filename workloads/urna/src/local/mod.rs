//! The local election harness shared by `urna local` (everything on 127.0.0.1) and `urna voters` (a cluster's
//! running services): the plan read from the example's resources with the operator's own builders
//! ([`plan`]), the simulated electorate and its censuses ([`census`], [`votes_file`]), the services started
//! in this process ([`services`]), the booth fleet over mutual TLS ([`fleet`]), casting ballots through the
//! real HTTP APIs, and the count after the close. The subcommands in `cmd/` parse arguments and print.

pub mod census;
pub mod fleet;
pub mod plan;
pub mod services;
pub mod votes_file;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use indicatif::{ProgressBar, ProgressStyle};
use urna_crypto::threshold::{CeremonyParams, KeyShare, ceremony};
use urna_record::RecordDir;
use urna_record::model::ResultsFile;
use urna_tally::Modality;
use urna_vote::client::{Election, VoterClient, cast};

use self::census::Voter;
use self::plan::LocalPlan;
use crate::keys::Keys;

/// Refuses a record directory that exists and is not empty (a record is written once).
pub fn check_empty(dir: &Path) -> Result<()> {
    if dir.exists() && std::fs::read_dir(dir).map(|mut d| d.next().is_some()).unwrap_or(true) {
        bail!("{} exists and is not empty; choose another directory for the record", dir.display());
    }
    Ok(())
}

/// A progress bar on stderr, or a hidden one.
pub fn bar(hidden: bool, len: u64, msg: &'static str) -> ProgressBar {
    if hidden {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    let style = ProgressStyle::with_template("{msg:>20} [{bar:40}] {pos}/{len} {per_sec} eta {eta}")
        .map(|s| s.progress_chars("=> "))
        .unwrap_or_else(|_| ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_message(msg);
    bar
}

/// A fresh key ceremony for the plan's trustees; the first `t` shares are kept.
pub async fn fresh_ceremony(plan: &LocalPlan) -> Result<Keys> {
    let params = CeremonyParams {
        trustees: plan.trustees,
        threshold: plan.threshold,
        election_id: plan.election.clone(),
        ..CeremonyParams::default_for(plan.election.clone())
    };
    let out = tokio::task::spawn_blocking(move || ceremony(&params, &mut urna_crypto::os_rng()))
        .await
        .context("ceremony task")?
        .context("key ceremony")?;
    let t = out.public.threshold() as usize;
    Ok(Keys { public: out.public, transcript: out.transcript, shares: out.shares.into_iter().take(t).collect() })
}

/// The count after the close: each share answers the exported record's decryption request (`on_answer` after
/// each), then the answers combine into `results.json`.
pub async fn decrypt_and_combine(record: &Path, shares: Vec<KeyShare>, on_answer: impl Fn()) -> Result<ResultsFile> {
    for share in shares {
        let dir = RecordDir::new(record);
        tokio::task::spawn_blocking(move || urna_record::decryption::decrypt_record(&dir, &share))
            .await
            .context("decryption task")??;
        on_answer();
    }
    let dir: PathBuf = record.to_owned();
    let (results, _set_aside) =
        tokio::task::spawn_blocking(move || urna_record::results::combine_record(&RecordDir::new(&dir)))
            .await
            .context("combining task")?
            .with_context(|| format!("combining the trustees' answers in {}", record.display()))?;
    Ok(results)
}

/// Ballots cast, in all and per modality.
pub struct CastReport {
    pub cast: u64,
    pub by_modality: Vec<(Modality, u64)>,
}

/// Casts every voter's ballot through the local vote services (`votes`: each modality's URL; `booths` for
/// booth voters of a district with a Mesa). It owns its inputs, so `urna local` can run the simulated voters on
/// a runtime of their own and tell their CPU time from the services'.
pub async fn cast_all(
    votes: Vec<(Modality, String)>,
    booths: Option<Arc<fleet::LocalFleet>>,
    voters: Vec<Voter>,
    modalities: Vec<Modality>,
    concurrency: usize,
    seed: u64,
    quiet: bool,
) -> Result<CastReport> {
    let mut elections = Vec::new();
    for (modality, url) in votes {
        let client = VoterClient::new(&url);
        let election = Election::fetch(&client).await.with_context(|| format!("{modality} vote service"))?;
        elections.push((modality, client, Arc::new(election)));
    }
    cast_voters(&elections, booths, &voters, &modalities, concurrency, seed, quiet).await
}

/// Casts every voter's ballot through the vote service of its modality (`elections`: each modality's client
/// and the election it serves), `concurrency` at a time: random choices from `seed` unless the voter has
/// its own; booth voters of a district with a Mesa vote on `booths` when given. Shared by `urna local` and
/// `urna voters cast` (against a cluster's vote service).
pub async fn cast_voters(
    elections: &[(Modality, VoterClient, Arc<Election>)],
    booths: Option<Arc<fleet::LocalFleet>>,
    voters: &[Voter],
    modalities: &[Modality],
    concurrency: usize,
    seed: u64,
    quiet: bool,
) -> Result<CastReport> {
    let bar = Arc::new(bar(quiet, voters.len() as u64, "casting ballots"));
    let limit = Arc::new(tokio::sync::Semaphore::new(concurrency.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    for (i, voter) in voters.iter().enumerate() {
        let Some((_, client, election)) = elections.iter().find(|(m, _, _)| *m == voter.modality) else {
            bail!("no vote service for modality {}", voter.modality);
        };
        let (client, election, voter, bar, limit) =
            (client.clone(), election.clone(), voter.clone(), bar.clone(), limit.clone());
        let selections = match &voter.selections {
            Some(s) => s.clone(),
            None => census::random_selections(&election, &voter.district, seed, i)?,
        };
        let booth = booths.clone().filter(|b| voter.modality == Modality::Booth && b.serves(&voter.district));
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await.map_err(|e| anyhow::anyhow!("{e}"))?;
            match booth {
                Some(fleet) => fleet.vote(i, &voter.voter_id(), &voter.district, selections).await,
                None => cast(&client, &election, &voter.census_voter(), Some(selections))
                    .await
                    .map(|_| ())
                    .map_err(Into::into),
            }
            .with_context(|| format!("voter {}", voter.name))?;
            bar.inc(1);
            Ok::<_, anyhow::Error>(voter.modality)
        });
    }
    let mut by_modality: Vec<(Modality, u64)> = modalities.iter().map(|m| (*m, 0)).collect();
    let mut cast_count = 0;
    while let Some(done) = tasks.join_next().await {
        let modality = done.context("voter task")??;
        cast_count += 1;
        if let Some(e) = by_modality.iter_mut().find(|(m, _)| *m == modality) {
            e.1 += 1;
        }
    }
    bar.finish_and_clear();
    Ok(CastReport { cast: cast_count, by_modality })
}
