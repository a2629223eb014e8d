//! `urna bench submit`: ballots accepted per server core on a real ballot, through the real services.
//!
//! The example's election (default: the federal one, Mexico 2024) runs as it does in a cluster, each
//! workload its own process on 127.0.0.1: the audit log, the remote modality's tally shards and the remote
//! vote service. Voters are synthesized as `urna local` does; their ballots are encrypted and proved and
//! their rights obtained beforehand (the client's and the registrar's cost, timed apart). Then the prepared
//! packages are submitted in phases:
//!
//! 1. `saturation`: closed loop, `--concurrency` submissions in flight: the saturating throughput;
//! 2. `bad-input`: the same with `--invalid-percent` of ballots carrying a proof that does not hold
//!    (each must be refused with `invalid_ballot` and every other accepted);
//! 3. one open-loop phase per `--levels` fraction of the saturating throughput: arrivals at a fixed rate,
//!    latency from each ballot's scheduled arrival to its receipt (so a slow server is not excused by
//!    having delayed the next arrivals).
//!
//! 4. `flood` (`--flood K`): the honest closed loop again while a second client, from another loopback
//!    address (127.0.0.2), keeps K requests in flight with a package that must be refused: the vote
//!    service's per-IP rate limit (`--rate-limit`) refuses most of them before reading their body, and the
//!    honest throughput is compared with the saturation phase's.
//!
//! With `--curve 1,2,4`, the scale-out curve follows: for every P and S in the list, fresh services with P
//! vote partitions and S shards, each its own process, and the saturation phase's ballots submitted again
//! (the same signatures are new to fresh services), to show where throughput stops growing.
//!
//! Per phase: accepted ballots/s and per server core, p50/p99 latency to receipt, and the CPU seconds per
//! accepted ballot of each process (`/proc/<pid>/stat`, user + system). In the same run, the physical
//! limit: the CPU time of batch-verifying the proofs of `--limit-ballots` of these ballots at once, plus one
//! voting-right signature verification, per ballot.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail, ensure};
use serde_json::{Value, json};
use urna_crypto::blind::{BlindKeySize, BlindSigningKey};
use urna_crypto::paillier::{KeySize, PublicKey, generate_keypair};
use urna_tally::Modality;
use urna_vote::client::{Election, VoterClient, sign_ballot};
use urna_vote::right_keys::RightKeys;
use urna_vote::wire::BallotPackage;

use super::procs::{Service, own_cpu};
use crate::local::census::{Voter, census_csv, random_selections, synthesize};
use crate::local::plan::{LocalPlan, plan};

#[derive(Debug, clap::Args)]
#[command(about = "Ballots accepted per server core through the real vote service, shards and audit log")]
pub struct Args {
    /// Directory of YAML resources holding the election.
    #[arg(long, default_value = "examples/federal")]
    example: PathBuf,
    /// The Election to run when the directory holds several.
    #[arg(long)]
    election: Option<String>,
    /// Ballots submitted in each phase.
    #[arg(long, default_value_t = 64)]
    ballots: usize,
    /// Submissions in flight in the closed-loop phases.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Offered load of the open-loop phases, as fractions of the measured saturating throughput.
    #[arg(long, value_delimiter = ',', default_value = "0.5,0.8")]
    levels: Vec<f64>,
    /// Percentage of invalid ballots in the bad-input phase (0: no such phase).
    #[arg(long, default_value_t = 1.0)]
    invalid_percent: f64,
    /// Tally shard processes; the remote modality's districts are spread over them.
    #[arg(long, default_value_t = 1)]
    shards: usize,
    /// Vote service processes (partitions `I/P`); a ballot goes to the partition of its signature.
    #[arg(long, default_value_t = 1)]
    partitions: usize,
    /// The scale-out curve after the phases: saturating throughput for P vote partitions × S shards, every P
    /// and S in this list (empty: no curve).
    #[arg(long, value_delimiter = ',')]
    curve: Vec<usize>,
    /// After the phases, the saturation phase again on fresh processes whose shards verify every proof a
    /// second time (`urna tally --verify-proofs`), to show that check's cost beside the default.
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set)]
    reverify_phase: bool,
    /// Requests in flight from the flooding client in the flood phase (0: no such phase).
    #[arg(long, default_value_t = 8)]
    flood: usize,
    /// The vote service's rate limit per client IP, requests/s (0: none); the honest clients share
    /// 127.0.0.1, so keep it above their total rate.
    #[arg(long, default_value_t = 100.0)]
    rate_limit: f64,
    /// The rate limit's burst.
    #[arg(long, default_value_t = 200.0)]
    rate_burst: f64,
    /// Ballots verified as one batch to measure the physical limit.
    #[arg(long, default_value_t = 64)]
    limit_ballots: usize,
    /// The vote service's micro-batch: most ballots (1 verifies each ballot alone).
    #[arg(long, default_value_t = urna_vote::Batching::default().max)]
    batch_max: usize,
    /// The vote service's micro-batch: longest wait, ms.
    #[arg(long, default_value_t = urna_vote::Batching::default().wait.as_millis() as u64)]
    batch_wait_ms: u64,
    /// The audit log's batch wait, ms.
    #[arg(long, default_value_t = 5)]
    audit_batch_wait_ms: u64,
    /// A Paillier public key (`public.json` of a ceremony) instead of a fresh 3072-bit key.
    #[arg(long, value_name = "FILE")]
    public_key: Option<PathBuf>,
    /// A voting-right signing key (PKCS#8 PEM of safe primes) instead of a fresh 3072-bit one.
    #[arg(long, value_name = "FILE")]
    voting_key: Option<PathBuf>,
    /// Working directory (services' data and logs); default: a temporary directory removed at exit.
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// Print the report as JSON on stdout.
    #[arg(long)]
    json: bool,
}

pub fn run(args: Args) -> Result<()> {
    ensure!(
        args.ballots >= 1 && args.concurrency >= 1 && args.shards >= 1 && args.partitions >= 1,
        "--ballots, --concurrency, --shards, --partitions >= 1"
    );
    ensure!(args.curve.iter().all(|n| *n >= 1), "--curve counts must be >= 1");
    ensure!(args.levels.iter().all(|l| *l > 0.0), "--levels must be positive fractions");
    ensure!((0.0..100.0).contains(&args.invalid_percent), "--invalid-percent must be in [0, 100)");
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the async runtime")?;
    runtime.block_on(run_async(args))
}

/// One prepared submission; `invalid` ones carry a proof that does not hold.
struct Prepared {
    package: BallotPackage,
    invalid: bool,
}

async fn run_async(args: Args) -> Result<()> {
    let say = |line: &str| {
        if !args.json {
            eprintln!("{line}");
        }
    };
    let set = urna_operator::examples::load_dir(&args.example)
        .with_context(|| format!("reading the example {}", args.example.display()))?;
    set.validate().with_context(|| format!("validating {}", args.example.display()))?;
    let plan = plan(&set, args.election.as_deref())?;
    ensure!(plan.modalities.contains(&Modality::Remote), "election {} has no remote modality", plan.election);
    let temp = tempfile::tempdir().context("creating a temporary directory")?;
    let data = args.data.clone().unwrap_or_else(|| temp.path().to_owned());
    std::fs::create_dir_all(&data).with_context(|| format!("creating {}", data.display()))?;

    say("keys: Paillier public key and voting-right key (fresh ones take seconds to a minute)");
    let (public_key, signing_key) = keys(&args).await?;
    let bad_count = bad_count(args.ballots, args.invalid_percent);
    let phases = 1 + usize::from(bad_count > 0) + args.levels.len() + usize::from(args.flood > 0);
    let total = args.ballots * phases;
    // Remote voters only: booth ballots come through the booths and the bridge, not this front door.
    let voters: Vec<Voter> = synthesize(&plan, total, 2027)
        .into_iter()
        .map(|mut v| {
            v.modality = Modality::Remote;
            v
        })
        .collect();
    let files = Files::write(&plan, &data, &public_key, &signing_key, &voters)?;
    let topology = Topology { partitions: args.partitions, shards: args.shards, shard_verifies: false };
    let cluster = Cluster::start(&args, &plan, &files, &data.join("main"), topology)?;
    let services = &cluster.services;
    let client = VoterClient::partitioned(cluster.vote_urls.clone());
    let election = Arc::new(Election::fetch(&client).await.context("fetching the election")?);

    say(&format!("preparing {total} ballots (encryption, proofs, rights): the client's cost, timed apart"));
    let started = Instant::now();
    let invalid = invalid_flags(total, args.ballots, bad_count);
    let mut prepared = prepare(&client, &election, &voters, &invalid).await?;
    let prepare_secs = started.elapsed().as_secs_f64();

    say("physical limit: one batch verification of these ballots' proofs plus one signature each");
    let limit = physical_limit(&election, &signing_key, &prepared, args.limit_ballots).await?;

    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let mut reports = Vec::new();
    let clean: Vec<Prepared> = prepared.drain(..args.ballots).collect();
    let again: Vec<BallotPackage> = clean.iter().map(|p| p.package.clone()).collect();
    say(&format!("phase saturation: {} ballots, {} in flight", clean.len(), args.concurrency));
    let saturation = run_phase("saturation", &client, services, clean, Load::Closed(args.concurrency)).await?;
    let saturating = saturation.accepted_per_second();
    reports.push(saturation);
    if bad_count > 0 {
        let batch: Vec<Prepared> = prepared.drain(..args.ballots).collect();
        say(&format!("phase bad-input: {bad_count} invalid among {}", batch.len()));
        reports.push(run_phase("bad-input", &client, services, batch, Load::Closed(args.concurrency)).await?);
    }
    for level in &args.levels {
        let batch: Vec<Prepared> = prepared.drain(..args.ballots).collect();
        let rate = saturating * level;
        say(&format!("phase {:.0}%: {} ballots offered at {rate:.2}/s", level * 100.0, batch.len()));
        let name = format!("open-{:.0}%", level * 100.0);
        reports.push(run_phase(&name, &client, services, batch, Load::Open(rate)).await?);
    }
    let mut flood = None;
    if args.flood > 0 {
        let batch: Vec<Prepared> = prepared.drain(..args.ballots).collect();
        // An accepted package with its prepared message's last byte changed: refused whatever gets through.
        let mut junk = again.first().context("no ballot")?.clone();
        let mut bytes = junk.prepared_message.as_bytes().to_vec();
        if let Some(last) = bytes.last_mut() {
            *last ^= 1;
        }
        junk.prepared_message = urna_crypto::blind::PreparedMessage::from_bytes(bytes);
        let flooder = client.bound_to(std::net::IpAddr::from([127, 0, 0, 2]));
        say(&format!(
            "phase flood: {} ballots, {} in flight, {} flooding requests in flight",
            batch.len(),
            args.concurrency,
            args.flood
        ));
        let (report, sent) =
            flood_phase(&client, &flooder, services, batch, args.concurrency, args.flood, junk).await?;
        flood = Some(json!({
            "requestsInFlight": args.flood,
            "requests": sent.total(),
            "requestsPerSecond": sent.total() as f64 / report.seconds.max(1e-9),
            "answers": sent.codes,
            "honestThroughputOverSaturation": report.accepted_per_second() / saturating.max(1e-9),
        }));
        reports.push(report);
    }
    drop(cluster);

    if args.reverify_phase {
        let topology = Topology { shard_verifies: true, ..topology };
        let cluster = Cluster::start(&args, &plan, &files, &data.join("reverify"), topology)?;
        let client = VoterClient::partitioned(cluster.vote_urls.clone());
        let batch = again.iter().map(|package| Prepared { package: package.clone(), invalid: false }).collect();
        say(&format!(
            "phase shard-reverifies: the saturation phase's {} ballots again, shards verifying every proof too",
            again.len()
        ));
        let report = run_phase("shard-reverifies", &client, &cluster.services, batch, Load::Closed(args.concurrency));
        reports.push(report.await?);
    }

    let mut curve = Vec::new();
    for p in &args.curve {
        for s in &args.curve {
            let dir = data.join(format!("curve-p{p}-s{s}"));
            let topology = Topology { partitions: *p, shards: *s, shard_verifies: false };
            let cluster = Cluster::start(&args, &plan, &files, &dir, topology)?;
            let client = VoterClient::partitioned(cluster.vote_urls.clone());
            let batch = again.iter().map(|package| Prepared { package: package.clone(), invalid: false }).collect();
            say(&format!(
                "curve: {p} vote partitions × {s} shards, {} ballots, {} in flight",
                again.len(),
                args.concurrency
            ));
            let name = format!("P{p}×S{s}");
            let report = run_phase(&name, &client, &cluster.services, batch, Load::Closed(args.concurrency)).await?;
            let mut entry = report.to_json(cores, limit.cpu_per_ballot);
            entry["partitions"] = json!(p);
            entry["shards"] = json!(s);
            curve.push(entry);
        }
    }

    let report = json!({
        "election": plan.election,
        "cores": cores,
        "keyBits": public_key.modulus_bits(),
        "contestsPerBallot": limit.contests_per_ballot,
        "proofsPerBallot": limit.proofs_per_ballot,
        "voteBatching": { "max": args.batch_max, "waitMs": args.batch_wait_ms },
        "shardProcesses": args.shards,
        "votePartitions": args.partitions,
        "rateLimit": { "perSecond": args.rate_limit, "burst": args.rate_burst },
        "client": { "ballots": total, "seconds": prepare_secs, "secondsPerBallot": prepare_secs / total as f64 },
        "limit": limit.to_json(),
        "phases": reports.iter().map(|r| r.to_json(cores, limit.cpu_per_ballot)).collect::<Vec<_>>(),
        "flood": flood,
        "curve": curve,
    });
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", render(&report));
    }
    Ok(())
}

/// Invalid ballots among `ballots` at `percent` (at least one when the percentage is not 0).
pub fn bad_count(ballots: usize, percent: f64) -> usize {
    if percent <= 0.0 {
        return 0;
    }
    ((ballots as f64 * percent / 100.0).round() as usize).clamp(1, ballots)
}

/// Which of `total` ballots are invalid: `bad` spread evenly over the second group of `group` (the
/// bad-input phase's).
pub fn invalid_flags(total: usize, group: usize, bad: usize) -> Vec<bool> {
    let mut flags = vec![false; total];
    for k in 0..bad.min(group) {
        if let Some(f) = flags.get_mut(group + k * group / bad) {
            *f = true;
        }
    }
    flags
}

async fn keys(args: &Args) -> Result<(PublicKey, BlindSigningKey)> {
    let public_key = match &args.public_key {
        Some(p) => crate::cmd::vote::read_public_key(p)?,
        None => {
            tokio::task::spawn_blocking(|| generate_keypair(KeySize::Bits3072, &mut urna_crypto::os_rng()))
                .await
                .context("key generation task")?
                .context("generating a Paillier key")?
                .0
        }
    };
    let signing_key = match &args.voting_key {
        Some(path) => {
            let pem = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
            BlindSigningKey::from_pkcs8_pem(&pem).with_context(|| format!("{}: not a signing key", path.display()))?
        }
        None => tokio::task::spawn_blocking(|| {
            BlindSigningKey::generate_safe(BlindKeySize::default(), &mut urna_crypto::os_rng())
        })
        .await
        .context("key generation task")?
        .context("generating the voting-right key")?,
    };
    Ok((public_key, signing_key))
}

fn write(dir: &Path, name: &str, text: &str) -> Result<String> {
    let path = dir.join(name);
    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    Ok(path.display().to_string())
}

/// The files every configuration's services read, written once (the census's credential hashes are the
/// slow part).
struct Files {
    manifest: String,
    public: String,
    signing: String,
    token: String,
    census: String,
}

impl Files {
    fn write(
        plan: &LocalPlan,
        data: &Path,
        public_key: &PublicKey,
        signing_key: &BlindSigningKey,
        voters: &[Voter],
    ) -> Result<Self> {
        let token = urna_auth::Token::generate().context("generating the internal token")?;
        Ok(Self {
            manifest: write(data, "manifest.json", &serde_json::to_string(&plan.manifest)?)?,
            public: write(data, "public.json", &serde_json::to_string(public_key)?)?,
            signing: write(data, "signing.pem", &signing_key.to_pkcs8_pem().context("encoding the signing key")?)?,
            token: write(data, "internal.token", token.expose())?,
            census: write(data, "census.csv", &census_csv(voters, Modality::Remote)?)?,
        })
    }
}

/// How many processes of each kind a configuration runs, and whether its shards verify proofs again.
#[derive(Clone, Copy)]
struct Topology {
    partitions: usize,
    shards: usize,
    shard_verifies: bool,
}

/// One configuration's processes: the audit log, the remote shards and the vote partitions (last), killed
/// when dropped.
struct Cluster {
    services: Vec<Service>,
    /// Partition `i`'s address at index `i`.
    vote_urls: Vec<String>,
}

impl Cluster {
    fn start(
        args: &Args,
        plan: &LocalPlan,
        files: &Files,
        data: &Path,
        Topology { partitions, shards, shard_verifies }: Topology,
    ) -> Result<Self> {
        std::fs::create_dir_all(data).with_context(|| format!("creating {}", data.display()))?;
        let s = |p: &Path| p.display().to_string();
        let mut services = Vec::new();
        let audit = [
            "audit",
            "--data",
            &s(&data.join("audit")),
            "--key",
            &s(&data.join("audit.key")),
            "--create-key",
            "--listen",
            "127.0.0.1:0",
            "--batch-wait-ms",
            &args.audit_batch_wait_ms.to_string(),
            "--internal-token-file",
            &files.token,
        ]
        .map(str::to_owned);
        services.push(Service::spawn("audit", &audit, &data.join("audit.log"))?);
        let audit_url = services[0].url.clone();

        let districts: Vec<String> = plan
            .shards
            .iter()
            .filter(|p| p.modality == Modality::Remote)
            .flat_map(|p| p.districts.iter().cloned())
            .collect();
        let mut shard_entries = Vec::new();
        for (i, chunk) in districts.chunks(districts.len().div_ceil(shards).max(1)).enumerate() {
            let name = format!("remote-{i}");
            let mut shard: Vec<String> = [
                "tally",
                "--shard",
                &name,
                "--manifest",
                &files.manifest,
                "--public-key",
                &files.public,
                "--districts",
                &chunk.join(","),
                "--modality",
                "remote",
                "--data",
                &s(&data.join("tally").join(&name)),
                "--listen",
                "127.0.0.1:0",
                "--internal-token-file",
                &files.token,
            ]
            .map(str::to_owned)
            .into();
            if shard_verifies {
                shard.push("--verify-proofs".into());
            }
            let service = Service::spawn(&format!("tally {name}"), &shard, &data.join(format!("{name}.log")))?;
            shard_entries.extend(chunk.iter().map(|d| format!("{d}:remote={}", service.url)));
            services.push(service);
        }

        let mut vote_urls = Vec::new();
        for i in 0..partitions {
            let mut vote: Vec<String> = [
                "vote",
                "--manifest",
                &files.manifest,
                "--public-key",
                &files.public,
                "--signing-key",
                &files.signing,
                "--data",
                &s(&data.join(format!("vote-{i}"))),
                "--census",
                &files.census,
                "--partition",
                &format!("{i}/{partitions}"),
                "--listen",
                "127.0.0.1:0",
                "--audit",
                &audit_url,
                "--rate-limit",
                &args.rate_limit.to_string(),
                "--rate-burst",
                &args.rate_burst.to_string(),
                "--internal-token-file",
                &files.token,
                "--batch-max",
                &args.batch_max.to_string(),
                "--batch-wait-ms",
                &args.batch_wait_ms.to_string(),
            ]
            .map(str::to_owned)
            .to_vec();
            for e in &shard_entries {
                vote.extend(["--shard".to_owned(), e.clone()]);
            }
            let name = if partitions == 1 { "vote".to_owned() } else { format!("vote {i}/{partitions}") };
            let service = Service::spawn(&name, &vote, &data.join(format!("vote-{i}.log")))?;
            vote_urls.push(service.url.clone());
            services.push(service);
        }
        Ok(Self { services, vote_urls })
    }
}

/// Encrypts, proves and obtains the right of every voter's ballot, as many at once as there are cores; the
/// ballots whose `invalid` flag is set carry a proof that does not hold.
async fn prepare(
    client: &VoterClient,
    election: &Arc<Election>,
    voters: &[Voter],
    invalid: &[bool],
) -> Result<Vec<Prepared>> {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let limit = Arc::new(tokio::sync::Semaphore::new(cores));
    let mut tasks = tokio::task::JoinSet::new();
    for (i, voter) in voters.iter().enumerate() {
        let (client, election, voter, limit) = (client.clone(), election.clone(), voter.clone(), limit.clone());
        let invalid = invalid.get(i).copied().unwrap_or(false);
        tasks.spawn(async move {
            let _permit = limit.acquire_owned().await.map_err(|e| anyhow::anyhow!("{e}"))?;
            let selections = random_selections(&election, &voter.district, 2027, i)?;
            let mut ballot = election.encrypt(&voter.district, selections.clone()).await?;
            if invalid {
                // Another ballot's ciphertexts under this ballot's proofs: the proofs no longer hold, and the
                // voter still gets a valid right for it (the signer never sees ballots).
                let other = election.encrypt(&voter.district, selections).await?;
                ballot.contests[0].ciphertexts = other.contests[0].ciphertexts.clone();
            }
            let v = voter.census_voter();
            let session = client.authenticate(&v.voter_id, &v.credential).await?;
            let package = sign_ballot(&client, &election, &v.voter_id, &session.token, ballot).await?;
            Ok::<_, anyhow::Error>((i, Prepared { package, invalid }))
        });
    }
    let mut out: Vec<Option<Prepared>> = (0..voters.len()).map(|_| None).collect();
    while let Some(done) = tasks.join_next().await {
        let (i, p) = done.context("preparation task")??;
        out[i] = Some(p);
    }
    out.into_iter().map(|p| p.context("a ballot was not prepared")).collect()
}

struct Limit {
    ballots: usize,
    contests_per_ballot: f64,
    proofs_per_ballot: f64,
    verify_cpu_per_ballot: f64,
    signature_cpu: f64,
    cpu_per_ballot: f64,
}

impl Limit {
    fn to_json(&self) -> Value {
        json!({
            "ballotsInBatch": self.ballots,
            "batchVerifyCpuSecondsPerBallot": self.verify_cpu_per_ballot,
            "signatureVerifyCpuSeconds": self.signature_cpu,
            "cpuSecondsPerBallot": self.cpu_per_ballot,
            "ballotsPerCoreSecond": 1.0 / self.cpu_per_ballot,
        })
    }
}

/// The CPU time this process spends batch-verifying `n` valid prepared ballots' proofs at once, and
/// verifying one voting right, per ballot.
async fn physical_limit(
    election: &Arc<Election>,
    signing_key: &BlindSigningKey,
    prepared: &[Prepared],
    n: usize,
) -> Result<Limit> {
    let sample: Vec<BallotPackage> =
        prepared.iter().filter(|p| !p.invalid).take(n.max(1)).map(|p| p.package.clone()).collect();
    ensure!(!sample.is_empty(), "no valid ballot to measure the limit on");
    let rights = RightKeys::derive(signing_key, election.codec.manifest(), Modality::Remote)?;
    let codec = election.codec.clone();
    tokio::task::spawn_blocking(move || {
        let ballots: Vec<&urna_ballot::EncryptedBallot> = sample.iter().map(|p| &p.ballot).collect();
        let k = ballots.len() as f64;
        let contests = ballots.iter().map(|b| b.contests.len()).sum::<usize>() as f64 / k;
        let proofs = ballots
            .iter()
            .flat_map(|b| &b.contests)
            .map(|c| c.proofs.len() + usize::from(c.write_in.is_some()))
            .sum::<usize>() as f64
            / k;
        let before = own_cpu()?;
        let verdicts = codec.verify_ballots(&ballots, &mut urna_crypto::os_rng());
        let verify = own_cpu()?.saturating_sub(before).as_secs_f64();
        if let Some(Err(e)) = verdicts.into_iter().find(Result::is_err) {
            bail!("a prepared ballot does not verify: {e}");
        }
        // Enough signatures that the clock's 10 ms ticks do not matter.
        const SIGNATURES: usize = 256;
        let before = own_cpu()?;
        for p in sample.iter().cycle().take(SIGNATURES) {
            let verifier = rights.verifier(&p.ballot.ballot_style).context("no right key for the ballot's style")?;
            verifier.verify(&p.prepared_message, &p.signature).context("a prepared right does not verify")?;
        }
        let signature = own_cpu()?.saturating_sub(before).as_secs_f64() / SIGNATURES as f64;
        Ok(Limit {
            ballots: sample.len(),
            contests_per_ballot: contests,
            proofs_per_ballot: proofs,
            verify_cpu_per_ballot: verify / k,
            signature_cpu: signature,
            cpu_per_ballot: verify / k + signature,
        })
    })
    .await
    .context("limit task")?
}

enum Load {
    /// This many submissions in flight.
    Closed(usize),
    /// Arrivals at this rate (ballots/s), whatever the answers.
    Open(f64),
}

struct PhaseReport {
    name: String,
    offered: usize,
    offered_rate: Option<f64>,
    accepted: usize,
    /// Refusals by error code.
    refused: BTreeMap<String, usize>,
    /// Invalid ballots accepted, valid ones refused: must both be 0.
    wrong: usize,
    seconds: f64,
    latencies: Vec<Duration>,
    /// CPU seconds of each process over the phase.
    cpu: Vec<(String, f64)>,
}

impl PhaseReport {
    fn accepted_per_second(&self) -> f64 {
        self.accepted as f64 / self.seconds.max(1e-9)
    }

    fn to_json(&self, cores: usize, limit: f64) -> Value {
        let per_ballot = |cpu: f64| if self.accepted == 0 { f64::NAN } else { cpu / self.accepted as f64 };
        let server: f64 = self.cpu.iter().map(|(_, c)| c).sum();
        json!({
            "phase": self.name,
            "offered": self.offered,
            "offeredPerSecond": self.offered_rate,
            "accepted": self.accepted,
            "refused": self.refused,
            "wrongVerdicts": self.wrong,
            "seconds": self.seconds,
            "acceptedPerSecond": self.accepted_per_second(),
            "acceptedPerSecondPerCore": self.accepted_per_second() / cores as f64,
            "p50Ms": percentile(&self.latencies, 0.50).as_secs_f64() * 1e3,
            "p99Ms": percentile(&self.latencies, 0.99).as_secs_f64() * 1e3,
            "cpuSecondsPerBallot": self.cpu.iter().map(|(n, c)| (n.clone(), json!(per_ballot(*c)))).collect::<serde_json::Map<_, _>>(),
            "serverCpuSecondsPerBallot": per_ballot(server),
            "serverCpuPerBallotOverLimit": per_ballot(server) / limit,
        })
    }
}

/// The `p` quantile of `latencies` (sorted here); zero when empty.
pub fn percentile(latencies: &[Duration], p: f64) -> Duration {
    let mut sorted = latencies.to_vec();
    sorted.sort();
    match sorted.len() {
        0 => Duration::ZERO,
        n => sorted[(((n - 1) as f64) * p).round() as usize],
    }
}

fn cpu_of(services: &[Service]) -> Result<Vec<(String, Duration)>> {
    services.iter().map(|s| Ok((s.name.clone(), s.cpu()?))).collect()
}

async fn run_phase(
    name: &str,
    client: &VoterClient,
    services: &[Service],
    batch: Vec<Prepared>,
    load: Load,
) -> Result<PhaseReport> {
    let offered = batch.len();
    let before = cpu_of(services)?;
    let started = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    let offered_rate = match load {
        Load::Closed(concurrency) => {
            let queue = Arc::new(std::sync::Mutex::new(batch));
            for _ in 0..concurrency {
                let (queue, client) = (queue.clone(), client.clone());
                tasks.spawn(async move {
                    let mut out = Vec::new();
                    loop {
                        let next = queue.lock().map_err(|_| anyhow::anyhow!("queue poisoned"))?.pop();
                        let Some(p) = next else { break };
                        let t = Instant::now();
                        let result = client.submit(&p.package).await;
                        out.push((p.invalid, result, t.elapsed()));
                    }
                    Ok::<_, anyhow::Error>(out)
                });
            }
            None
        }
        Load::Open(rate) => {
            let interval = Duration::from_secs_f64(1.0 / rate.max(1e-3));
            for (i, p) in batch.into_iter().enumerate() {
                let due = started + interval * i as u32;
                let client = client.clone();
                tasks.spawn(async move {
                    tokio::time::sleep_until(due.into()).await;
                    let result = client.submit(&p.package).await;
                    Ok::<_, anyhow::Error>(vec![(p.invalid, result, due.elapsed())])
                });
            }
            Some(rate)
        }
    };
    let mut report = PhaseReport {
        name: name.to_owned(),
        offered,
        offered_rate,
        accepted: 0,
        refused: BTreeMap::new(),
        wrong: 0,
        seconds: 0.0,
        latencies: Vec::new(),
        cpu: Vec::new(),
    };
    while let Some(done) = tasks.join_next().await {
        for (invalid, result, latency) in done.context("submission task")?? {
            match result {
                Ok(_) => {
                    report.accepted += 1;
                    report.latencies.push(latency);
                    report.wrong += usize::from(invalid);
                }
                Err(e) => {
                    let code = e.code().unwrap_or("transport").to_owned();
                    report.wrong += usize::from(!(invalid && code == "invalid_ballot"));
                    if !invalid {
                        tracing::warn!(error = %e, "a valid ballot was refused");
                    }
                    *report.refused.entry(code).or_default() += 1;
                }
            }
        }
    }
    report.seconds = started.elapsed().as_secs_f64();
    let after = cpu_of(services)?;
    report.cpu =
        before.into_iter().zip(after).map(|((name, b), (_, a))| (name, a.saturating_sub(b).as_secs_f64())).collect();
    Ok(report)
}

/// What the flooding client got back, by answer (`accepted`, an error code, or `transport`).
#[derive(Default)]
struct Sent {
    codes: BTreeMap<String, usize>,
}

impl Sent {
    fn total(&self) -> usize {
        self.codes.values().sum()
    }
}

/// The honest closed loop over `batch` while `flood` tasks on `flooder` send `junk` back to back until the
/// honest loop is done.
async fn flood_phase(
    client: &VoterClient,
    flooder: &VoterClient,
    services: &[Service],
    batch: Vec<Prepared>,
    concurrency: usize,
    flood: usize,
    junk: BallotPackage,
) -> Result<(PhaseReport, Sent)> {
    let done = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let junk = Arc::new(junk);
    let mut flooders = tokio::task::JoinSet::new();
    for _ in 0..flood {
        let (flooder, done, junk) = (flooder.clone(), done.clone(), junk.clone());
        flooders.spawn(async move {
            let mut sent = BTreeMap::<String, usize>::new();
            while !done.load(std::sync::atomic::Ordering::Relaxed) {
                let code = match flooder.submit(&junk).await {
                    Ok(_) => "accepted".to_owned(),
                    Err(e) => e.code().unwrap_or("transport").to_owned(),
                };
                *sent.entry(code).or_default() += 1;
            }
            sent
        });
    }
    let report = run_phase("flood", client, services, batch, Load::Closed(concurrency)).await;
    done.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut sent = Sent::default();
    while let Some(codes) = flooders.join_next().await {
        for (code, n) in codes.context("flooding task")? {
            *sent.codes.entry(code).or_default() += n;
        }
    }
    Ok((report?, sent))
}

/// The human-readable report.
fn render(report: &Value) -> String {
    let f = |v: &Value| v.as_f64().unwrap_or(f64::NAN);
    let mut out = String::new();
    out.push_str(&format!(
        "election {}: {} contests, {} proofs per ballot, {}-bit key, {} cores; client {:.2} s per ballot\n",
        report["election"].as_str().unwrap_or("?"),
        f(&report["contestsPerBallot"]),
        f(&report["proofsPerBallot"]),
        report["keyBits"],
        report["cores"],
        f(&report["client"]["secondsPerBallot"]),
    ));
    let limit = &report["limit"];
    out.push_str(&format!(
        "physical limit: {:.1} ms CPU per ballot (batch verification {:.1} ms + signature {:.2} ms) = {:.1} ballots per core-second\n",
        f(&limit["cpuSecondsPerBallot"]) * 1e3,
        f(&limit["batchVerifyCpuSecondsPerBallot"]) * 1e3,
        f(&limit["signatureVerifyCpuSeconds"]) * 1e3,
        f(&limit["ballotsPerCoreSecond"]),
    ));
    out.push_str(&format!(
        "{:<12} {:>8} {:>9} {:>9} {:>9} {:>9} {:>8} {:>8}  {}\n",
        "phase",
        "accepted",
        "ballots/s",
        "per core",
        "p50 ms",
        "p99 ms",
        "cpu ms",
        "÷ limit",
        "cpu ms per ballot by process"
    ));
    for p in report["phases"].as_array().into_iter().flatten() {
        let by_process: Vec<String> = p["cpuSecondsPerBallot"]
            .as_object()
            .into_iter()
            .flatten()
            .map(|(n, c)| format!("{n} {:.1}", f(c) * 1e3))
            .collect();
        out.push_str(&format!(
            "{:<12} {:>8} {:>9.2} {:>9.2} {:>9.0} {:>9.0} {:>8.1} {:>8.2}  {}\n",
            p["phase"].as_str().unwrap_or("?"),
            format!("{}/{}", p["accepted"], p["offered"]),
            f(&p["acceptedPerSecond"]),
            f(&p["acceptedPerSecondPerCore"]),
            f(&p["p50Ms"]),
            f(&p["p99Ms"]),
            f(&p["serverCpuSecondsPerBallot"]) * 1e3,
            f(&p["serverCpuPerBallotOverLimit"]),
            by_process.join(", "),
        ));
        if p["wrongVerdicts"].as_u64() != Some(0) || p["refused"].as_object().is_some_and(|r| !r.is_empty()) {
            out.push_str(&format!("             refused {}, wrong verdicts {}\n", p["refused"], p["wrongVerdicts"]));
        }
    }
    let flood = &report["flood"];
    if flood.is_object() {
        out.push_str(&format!(
            "flood: {} requests from 127.0.0.2 ({:.0}/s), answered {}; honest throughput {:.2}× saturation's\n",
            flood["requests"],
            f(&flood["requestsPerSecond"]),
            flood["answers"],
            f(&flood["honestThroughputOverSaturation"]),
        ));
    }
    for c in report["curve"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "curve {:<8} {:>8} {:>9.2} ballots/s, {:.2} per core, p50 {:.0} ms, p99 {:.0} ms, cpu {:.1} ms/ballot ({:.2}× limit)\n",
            c["phase"].as_str().unwrap_or("?"),
            format!("{}/{}", c["accepted"], c["offered"]),
            f(&c["acceptedPerSecond"]),
            f(&c["acceptedPerSecondPerCore"]),
            f(&c["p50Ms"]),
            f(&c["p99Ms"]),
            f(&c["serverCpuSecondsPerBallot"]) * 1e3,
            f(&c["serverCpuPerBallotOverLimit"]),
        ));
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_unsorted_latencies() {
        let l: Vec<Duration> = [5, 1, 4, 2, 3].iter().map(|ms| Duration::from_millis(*ms)).collect();
        assert_eq!(percentile(&l, 0.5), Duration::from_millis(3));
        assert_eq!(percentile(&l, 0.99), Duration::from_millis(5));
        assert_eq!(percentile(&[], 0.5), Duration::ZERO);
    }

    #[test]
    fn one_percent_is_at_least_one_ballot() {
        assert_eq!(bad_count(64, 1.0), 1);
        assert_eq!(bad_count(400, 1.0), 4);
        assert_eq!(bad_count(64, 0.0), 0);
        let flags = invalid_flags(12, 4, 2);
        assert_eq!(flags.iter().filter(|f| **f).count(), 2);
        assert!(flags[4] && flags[6]);
    }
}
