//! `urna local EXAMPLE_DIR`: a whole election on this machine, on the code that runs in the cluster: the
//! example's resources are read with the operator's types, the key ceremony runs (or a ceremony directory is
//! used), the audit log, the tally shards and a vote service per modality listen on 127.0.0.1, simulated
//! voters cast ballots through the real HTTP APIs, the election closes, `t` trustees decrypt the exported
//! record, the results are combined and the record is verified from its files alone.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde_json::json;
use urna_crypto::blind::{BlindKeySize, BlindSigningKey};
use urna_record::RecordDir;
use urna_record::export::{Sources, export};
use urna_tally::Modality;

use crate::cmd::bench::procs::{own_cpu, threads_cpu};
use crate::keys::load_ceremony;
use crate::local::census::{self, Voter, synthesize};
use crate::local::{
    bar, cast_all, check_empty, decrypt_and_combine, fleet, fresh_ceremony, plan, services, votes_file,
};

const LONG_ABOUT: &str = "\
Runs a whole election locally, on the same code the cluster runs: reads the example's Election (with the
operator's resource types and shard builders), runs the key ceremony, starts the audit log, one tally shard per
district x modality and a vote service per modality on 127.0.0.1, casts ballots through the real HTTP APIs
(random from --seed, or exactly those in --votes), closes, exports the election record, has THRESHOLD trustees
decrypt it, combines and prints the results, and verifies the record from its files alone.

--votes FILE.csv has the header voter,district,modality,contest,choice and one row per selection (one row
per option of a multi-choice contest); choices are the manifest's ids.

--serve keeps the election open for people: after the simulated ballots, the remote vote service (and the voter
web app it serves at /) listens on --listen, and the URL and --serve-voters test voters' ids and credentials are
printed. Vote in a browser; Ctrl-C (or SIGTERM) then closes the election and decryption and verification run
as usual, counting the browser's ballots with the others. With --json the serving line also has the vote
service's admin token, with which a script can close voting early (POST /v1/close) while the app still answers.

Booth ballots: when the example has a BoothFleet, its broker (mutual TLS, a certificate per device from a
fleet CA) and one simulated booth per device run too; a booth voter is admitted at a Mesa's console and votes
on one of its booths, which encrypts and proves the ballot and publishes it over MQTT; the collector and the
bridge record it in the booth vote service, and the booth shards tally it beside the remote ones. Without a
BoothFleet, booth voters use the booth vote service directly.

The fleet monitor runs with the booths, as the operations centre (docs/ops.md): with --serve it keeps running
with the fleet, and its dashboard's URL (--monitor-listen) and a fresh token per regional officer of the
BoothFleet are printed, with the mesa console's URL (on the booth vote service) and each Mesa's console token.

--site ADDR: once the record is verified, the public results site (`urna site`) serves it on ADDR until Ctrl-C
or SIGTERM: turnout, results per contest, district and modality, the record's files and key fingerprints, and
the receipt check for the browser's (or any) ballots. With --serve the first Ctrl-C closes the election and
the second stops the site.";

#[derive(Debug, clap::Args)]
#[command(about = "Run a whole election locally: keys, voting, close, threshold decryption, verified results")]
#[command(long_about = LONG_ABOUT)]
pub struct Args {
    /// Directory of YAML resources (e.g. examples/municipal).
    #[arg(value_name = "EXAMPLE_DIR")]
    example: PathBuf,
    /// The Election to run when the directory holds several.
    #[arg(long)]
    election: Option<String>,
    /// Number of simulated voters (random ballots), spread over districts and modalities.
    #[arg(long, default_value_t = 60, conflicts_with = "votes")]
    ballots: usize,
    /// Seed of the simulated voters' choices (the cryptography always uses the OS generator).
    #[arg(long, default_value_t = 2027)]
    seed: u64,
    /// Cast exactly these ballots (CSV: voter,district,modality,contest,choice).
    #[arg(long, value_name = "FILE.csv")]
    votes: Option<PathBuf>,
    /// Use this ceremony's keys (public.json, transcript.json, trustee-<i>.share.json) instead of a fresh
    /// ceremony; passphrases from trustee-<i>.passphrase or URNA_TRUSTEE_<i>_PASSPHRASE.
    #[arg(long, value_name = "DIR")]
    ceremony: Option<PathBuf>,
    /// Use this voting-right signing key (PKCS#8 PEM of safe primes, as `urna voting-key` writes) instead of a
    /// fresh one.
    #[arg(long, value_name = "FILE")]
    voting_key: Option<PathBuf>,
    /// Where to export the election record (must not exist or be empty); default: inside --data.
    #[arg(long, value_name = "DIR")]
    record: Option<PathBuf>,
    /// Working directory for the services' data; default: a temporary directory removed at exit.
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// Concurrent simulated voters.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Print a machine-readable summary (JSON) on stdout instead of tables.
    #[arg(long)]
    json: bool,
    /// Keep the election open for voting in a browser until Ctrl-C or SIGTERM, then close and count.
    #[arg(long)]
    serve: bool,
    /// With --serve: where the remote vote service and its voter app listen.
    #[arg(long, default_value = "127.0.0.1:8080", requires = "serve")]
    listen: std::net::SocketAddr,
    /// With --serve: test voters (in the census, not voting by themselves) whose credentials are printed.
    #[arg(long, default_value_t = 5, requires = "serve")]
    serve_voters: usize,
    /// With --serve: where the fleet monitor (the operations dashboard at /ops/ and its API) listens.
    #[arg(long, default_value = "127.0.0.1:8090", requires = "serve")]
    monitor_listen: std::net::SocketAddr,
    /// Once the record is verified, serve the public results site for it here (turnout, results, the record
    /// for download, its key fingerprints, the receipt check; docs/site.md) until Ctrl-C or SIGTERM.
    #[arg(long, value_name = "ADDR")]
    site: Option<std::net::SocketAddr>,
    /// When voting opens (RFC 3339): every vote service and shard refuses ballots before it, as in the
    /// cluster (`election_not_open`), and the simulated voters wait for it. Default: at once.
    #[arg(long, value_name = "RFC3339")]
    opens_at: Option<jiff::Timestamp>,
    // The log keeps only these witnesses' cosignatures and the voter app's receipt check verifies them; run
    // `urna witness` against the log (its URL, origin and key are in the --serve --json line) to cosign.
    #[command(flatten)]
    witnesses: super::witness::PolicyArgs,
}

pub fn run(args: Args) -> Result<()> {
    let runtime =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the async runtime")?;
    runtime.block_on(run_async(args))
}

fn say(json: bool, line: &str) {
    if !json {
        eprintln!("{line}");
    }
}

async fn run_async(args: Args) -> Result<()> {
    let started = Instant::now();
    let set = urna_operator::examples::load_dir(&args.example)
        .with_context(|| format!("reading the example {}", args.example.display()))?;
    set.validate().with_context(|| format!("validating {}", args.example.display()))?;
    let plan = plan::plan(&set, args.election.as_deref())?;
    let temp = tempfile::tempdir().context("creating a temporary directory")?;
    let data = args.data.clone().unwrap_or_else(|| temp.path().to_owned());
    let record_dir = args.record.clone().unwrap_or_else(|| data.join("record"));
    check_empty(&record_dir)?;
    say(
        args.json,
        &format!(
            "election {}: {} districts, modalities {:?}, {} shards, {} booths declared, {}-of-{} trustees",
            plan.election,
            plan.districts.len(),
            plan.modalities.iter().map(|m| m.as_str()).collect::<Vec<_>>(),
            plan.shards.len(),
            plan.booths,
            plan.threshold,
            plan.trustees
        ),
    );

    // The threshold key and the voting-right key are independent safe-prime searches: run side by side, the
    // one that finds its primes first leaves the cores to the other instead of waiting its turn.
    let clock = Clock::start();
    let threshold_key = async {
        let t = Instant::now();
        let keys = match &args.ceremony {
            Some(dir) => load_ceremony(dir)?,
            None => {
                say(
                    args.json,
                    "key ceremony: generating a 3072-bit threshold key (safe primes take seconds to a minute)",
                );
                fresh_ceremony(&plan).await?
            }
        };
        Ok::<_, anyhow::Error>((keys, t.elapsed().as_secs_f64()))
    };
    let voting_key = async {
        let t = Instant::now();
        let key = match &args.voting_key {
            Some(path) => {
                let pem = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
                BlindSigningKey::from_pkcs8_pem(&pem)
                    .with_context(|| format!("{}: not a signing key", path.display()))?
            }
            None => {
                say(args.json, "voting-right key: generating a 3072-bit RSA key of safe primes");
                tokio::task::spawn_blocking(|| {
                    BlindSigningKey::generate_safe(BlindKeySize::default(), &mut urna_crypto::os_rng())
                })
                .await
                .context("key generation task")?
                .context("generating the voting-right key")?
            }
        };
        Ok::<_, anyhow::Error>((key, t.elapsed().as_secs_f64()))
    };
    let ((mut keys, ceremony_secs), (signing_key, voting_key_secs)) = tokio::try_join!(threshold_key, voting_key)?;
    let keys_time = clock.lap();
    say(
        args.json,
        &format!("keys ready in {:.1} s: threshold key {}", keys_time.wall, &keys.public.fingerprint_hex()[..16]),
    );

    let ballots = match &args.votes {
        Some(path) => census::scripted(votes_file::read(path, &plan.manifest, &plan.modalities)?),
        None => synthesize(&plan, args.ballots, args.seed),
    };
    // People voting in a browser: in the census of the remote service (the app's), never cast by the simulation.
    let web_modality = plan
        .modalities
        .iter()
        .copied()
        .find(|m| *m == Modality::Remote)
        .or_else(|| plan.modalities.first().copied())
        .unwrap_or(Modality::Remote);
    let web_voters: Vec<Voter> = if args.serve {
        (0..args.serve_voters)
            .map(|i| {
                Voter::new(
                    format!("web-voter-{}", i + 1),
                    plan.districts[i % plan.districts.len()].clone(),
                    web_modality,
                    None,
                )
            })
            .collect()
    } else {
        Vec::new()
    };
    let everyone: Vec<Voter> = ballots.iter().chain(&web_voters).cloned().collect();
    let censuses = census::censuses(&plan, &everyone)?;
    let clock = Clock::start();
    let authority = plan.fleet.as_ref().map(fleet::Authority::generate);
    let witnesses = args.witnesses.policy()?;
    let listen = args.serve.then_some((web_modality, args.listen));
    let services = services::start(
        &plan,
        &data,
        keys.public.paillier(),
        &signing_key,
        &censuses,
        authority.as_ref(),
        services::Options { listen, opens_at: args.opens_at, witnesses },
    )
    .await?;
    let booths = match (&plan.fleet, &authority, services.votes.iter().find(|v| v.modality == Modality::Booth)) {
        (Some(f), Some(a), Some(v)) => {
            let monitor_listen = if args.serve { args.monitor_listen } else { "127.0.0.1:0".parse()? };
            let fleet = fleet::LocalFleet::start(
                f,
                a,
                &plan.manifest,
                keys.public.paillier(),
                fleet::Upstream { vote: &v.url, audit: services.audit_log() },
                &data,
                monitor_listen,
            )
            .await?;
            say(
                args.json,
                &format!(
                    "booth fleet {}: broker, {} booths in {} mesas connected over mutual TLS",
                    f.name,
                    plan.booths,
                    f.mesas.len()
                ),
            );
            Some(fleet)
        }
        _ => None,
    };
    // The acts this harness performs, in the log before any ballot: the manifest and the ceremony here, each
    // modality's opening once its window opens (urna_record::events).
    let manifest_hash = urna_ballot::manifest_hash(&plan.manifest);
    services
        .log(&[
            urna_record::events::manifest(manifest_hash),
            urna_record::events::ceremony(keys.transcript.to_json().as_bytes()),
        ])
        .await
        .context("logging the manifest and the ceremony")?;
    say(
        args.json,
        &format!(
            "services listening: audit {}, {} shards, {} vote services",
            services.audit_url,
            services.shards.len(),
            services.votes.len()
        ),
    );

    let start_time = clock.lap();

    if let Some(at) = args.opens_at {
        let wait = at.duration_since(jiff::Timestamp::now());
        if wait.is_positive() {
            say(args.json, &format!("waiting until voting opens at {at}"));
            tokio::time::sleep(wait.unsigned_abs()).await;
        }
    }
    let openings: Vec<_> =
        services.votes.iter().map(|v| urna_record::events::open(manifest_hash, v.modality)).collect();
    services.log(&openings).await.context("logging the openings")?;
    // The simulated voters and booths (their encryption and proofs, which a real election's devices do) run
    // on a runtime of their own, so their CPU time is told apart from the services'.
    let clients = tokio::runtime::Builder::new_multi_thread()
        .thread_name(CLIENT_THREADS)
        // Blocking threads that exited would take their CPU time with them before it is read.
        .thread_keep_alive(Duration::from_secs(24 * 3600))
        .enable_all()
        .build()
        .context("starting the voters' runtime")?;
    let clock = Clock::start();
    let clients_cpu_before = threads_cpu(CLIENT_THREADS).ok();
    let booths = booths.map(Arc::new);
    let cast_report = clients
        .spawn(cast_all(
            services.votes.iter().map(|v| (v.modality, v.url.clone())).collect(),
            booths.clone(),
            ballots,
            plan.modalities.clone(),
            args.concurrency,
            args.seed,
            args.json,
        ))
        .await
        .context("voters task")??;
    if let Some(fleet) = &booths {
        fleet.drain(std::time::Duration::from_secs(600)).await?;
    }
    let voting_time = clock.lap();
    let clients_cpu = match (clients_cpu_before, threads_cpu(CLIENT_THREADS).ok()) {
        (Some(before), Some(after)) => Some(after.saturating_sub(before).as_secs_f64()),
        _ => None,
    };
    clients.shutdown_background();
    let voting_secs = voting_time.wall;

    if args.serve {
        serve_until_stopped(&services, web_modality, &web_voters, booths.as_deref(), args.json).await?;
    }
    // The fleet (and its monitor) stays up while serving, for the operations dashboard.
    if let Some(fleet) = booths
        && let Ok(fleet) = Arc::try_unwrap(fleet)
    {
        fleet.stop().await;
    }
    let clock = Clock::start();
    services.close().await?;
    let record = RecordDir::new(&record_dir);
    let sources = Sources {
        vote: services.votes.iter().map(|v| (v.modality, v.url.clone())).collect(),
        shards: services.shards.iter().map(|(n, u, _)| (n.clone(), u.clone())).collect(),
        audit: services.audit_url.clone(),
        public: keys.public.clone(),
        transcript: keys.transcript.clone(),
    };
    let exported = export(&record, &sources).await.context("exporting the election record")?;
    services.stop().await?;
    let close_time = clock.lap();
    say(args.json, &format!("closed; record exported to {} ({} ballots)", record_dir.display(), exported.ballots));

    let clock = Clock::start();
    let bar = bar(args.json, u64::from(keys.public.threshold()), "trustees decrypting");
    let results = decrypt_and_combine(&record_dir, std::mem::take(&mut keys.shares), || bar.inc(1)).await?;
    bar.finish_and_clear();
    let decrypt_time = clock.lap();

    let clock = Clock::start();
    let dir = record_dir.clone();
    let summary = tokio::task::spawn_blocking(move || crate::cmd::verify::check_record(&dir, None))
        .await
        .context("verification task")??;
    if !args.json {
        crate::cmd::verify::print_checks(&summary);
    }
    let verify_time = clock.lap();

    // Bound before the summary is printed, so the summary can say where the site is.
    let site = match args.site {
        Some(addr) => {
            let listener =
                tokio::net::TcpListener::bind(addr).await.with_context(|| format!("binding the site to {addr}"))?;
            let url = format!("http://{}/", listener.local_addr().context("the site's address")?);
            Some((listener, url))
        }
        None => None,
    };
    if args.json {
        let out = json!({
            "election": plan.election,
            "ballots": { "cast": cast_report.cast, "byModality": cast_report.by_modality },
            "results": results.results.iter().map(|r| json!({
                "contest": r.contest_id, "district": r.district, "modality": r.modality, "ballots": r.ballots,
                "counts": r.counts.iter().map(|c| json!({"choice": c.choice, "label": c.label, "votes": c.votes})).collect::<Vec<_>>(),
            })).collect::<Vec<_>>(),
            "totals": results.totals,
            "trustees": results.trustees,
            "verification": summary,
            "record": record_dir,
            "seconds": {
                "keys": keys_time.wall, "ceremony": ceremony_secs, "votingKey": voting_key_secs,
                "servicesStart": start_time.wall, "voting": voting_time.wall, "close": close_time.wall,
                "decryption": decrypt_time.wall, "verification": verify_time.wall,
                "total": started.elapsed().as_secs_f64(),
            },
            "cpuSeconds": {
                "keys": keys_time.cpu, "servicesStart": start_time.cpu,
                "voting": { "all": voting_time.cpu, "clients": clients_cpu,
                    "services": voting_time.cpu.zip(clients_cpu).map(|(all, c)| (all - c).max(0.0)) },
                "close": close_time.cpu, "decryption": decrypt_time.cpu, "verification": verify_time.cpu,
                "total": Clock::process_cpu(),
            },
            "site": site.as_ref().map(|(_, url)| url),
        });
        println!("{}", serde_json::to_string_pretty(&out)?);
    } else {
        print!("{}", crate::cmd::results::render(&results));
        println!(
            "\n{} ballots cast ({}), {:.1} ballots/s; decrypted by trustees {:?}; record verified ({} checks) at {}",
            cast_report.cast,
            cast_report.by_modality.iter().map(|(m, n)| format!("{m} {n}")).collect::<Vec<_>>().join(", "),
            cast_report.cast as f64 / voting_secs.max(1e-9),
            results.trustees,
            summary.checks.len(),
            record_dir.display()
        );
        let cpu = |c: Option<f64>| c.map_or_else(|| "?".to_owned(), |c| format!("{c:.1}"));
        println!(
            "{:.1} s in all: keys {:.1} s (ceremony {ceremony_secs:.1} s beside the voting-right key {voting_key_secs:.1} s), \
             services started {:.1} s, voting {:.1} s (CPU: voters {} s, services {} s), close {:.1} s, \
             decryption {:.1} s, verification {:.1} s",
            started.elapsed().as_secs_f64(),
            keys_time.wall,
            start_time.wall,
            voting_time.wall,
            cpu(clients_cpu),
            cpu(voting_time.cpu.zip(clients_cpu).map(|(all, c)| (all - c).max(0.0))),
            close_time.wall,
            decrypt_time.wall,
            verify_time.wall,
        );
        if args.record.is_none() {
            println!("(the record is removed at exit; pass --record DIR to keep it)");
        }
    }
    if let Some((listener, url)) = site {
        say(args.json, &format!("\nThe results site is at {url}; press Ctrl-C to stop it."));
        let config = crate::site::SiteConfig { record: record_dir.clone(), trust: None, snapshots: None };
        crate::site::serve(config, listener, crate::cmd::signal::shutdown()).await?;
    }
    Ok(())
}

/// The name of the simulated voters' runtime threads (at most 15 bytes: `/proc` truncates thread names).
const CLIENT_THREADS: &str = "urna-voter";

/// Wall-clock and CPU time (this process, every thread) of one step of the run, for the summary's
/// `seconds` and `cpuSeconds`: where the time goes.
struct Clock {
    wall: Instant,
    cpu: Option<Duration>,
}

/// What a [`Clock`] read at the end of its step; `cpu` is `None` where `/proc` cannot be read.
#[derive(Debug, Clone, Copy)]
struct Lap {
    wall: f64,
    cpu: Option<f64>,
}

impl Clock {
    fn start() -> Self {
        Self { wall: Instant::now(), cpu: own_cpu().ok() }
    }

    fn lap(&self) -> Lap {
        let cpu = self.cpu.zip(own_cpu().ok()).map(|(before, now)| now.saturating_sub(before).as_secs_f64());
        Lap { wall: self.wall.elapsed().as_secs_f64(), cpu }
    }

    /// CPU seconds of the whole process so far.
    fn process_cpu() -> Option<f64> {
        own_cpu().ok().map(|c| c.as_secs_f64())
    }
}

/// Prints where to vote and the test voters' credentials, and waits for Ctrl-C or SIGTERM.
async fn serve_until_stopped(
    services: &services::Services,
    modality: Modality,
    voters: &[Voter],
    fleet: Option<&fleet::LocalFleet>,
    json: bool,
) -> Result<()> {
    let vote = services.votes.iter().find(|v| v.modality == modality).context("no vote service for the app")?;
    let url = format!("{}/", vote.url);
    let ops = fleet.map(|f| {
        json!({
            "dashboard": format!("http://{}/ops/", f.monitor_addr),
            "officers": f.officers.iter().map(|o| json!({
                "id": o.id, "name": o.name, "districts": o.districts, "token": o.token,
            })).collect::<Vec<_>>(),
        })
    });
    let console = fleet.map(|f| {
        json!({
            "url": f.console_url(),
            "mesas": f.mesa_logins().iter().map(|m| json!({
                "id": m.id, "district": m.district, "token": m.token,
            })).collect::<Vec<_>>(),
        })
    });
    if json {
        // The admin token lets a script close voting (`POST /v1/close`) while the service keeps answering,
        // as a real window's end does: the browser test's ballot after close.
        let line = json!({
            "serving": url,
            "adminToken": vote.admin_token(),
            "voters": voters.iter().map(|v| json!({
                "name": v.name, "voterId": v.voter_id(), "district": v.district, "credential": v.credential(),
            })).collect::<Vec<_>>(),
            "operations": ops,
            "console": console,
            "audit": {
                "url": services.audit_url,
                "origin": services.audit_log_key.origin,
                "publicKey": hex::encode(services.audit_log_key.public_key),
            },
        });
        println!("{line}");
    } else {
        eprintln!("\nThe election is open. Vote in a browser at {url}");
        eprintln!("Test voters ({modality}; sign in with the voter ID and the credential):");
        for v in voters {
            eprintln!("  voter ID {:<14} district {:<20} credential {}", v.name, v.district, v.credential());
        }
        if let Some(f) = fleet {
            eprintln!("\nOperations dashboard (fleet map, alert desk): http://{}/ops/", f.monitor_addr);
            eprintln!("Regional officers (sign in with the token):");
            for o in &f.officers {
                eprintln!("  {:<16} districts {:<20} token {}", o.id, o.districts.join(","), o.token);
            }
            eprintln!("\nMesa console (constitute the mesa, admit voters, sign actas): {}", f.console_url());
            eprintln!("Mesas (sign in with the mesa and its console token):");
            for m in f.mesa_logins() {
                eprintln!("  {:<16} district  {:<20} token {}", m.id, m.district, m.token);
            }
        }
        eprintln!("Press Ctrl-C to close the election, decrypt and verify the results.\n");
    }
    crate::cmd::signal::shutdown().await;
    say(json, "closing the election");
    Ok(())
}
