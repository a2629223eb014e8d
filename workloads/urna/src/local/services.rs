//! The workloads of a local election as real listeners on 127.0.0.1: the audit log, one tally shard per plan
//! entry and one vote service per modality, each on its own data directory, exactly as `urna audit`,
//! `urna tally` and `urna vote` run them.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use urna_audit::AuditClient;
use urna_audit::witness::WitnessPolicy;
use urna_audit::{AuditLog, LogConfig, LogKey};
use urna_auth::{ServiceAuth, Token};
use urna_crypto::blind::BlindSigningKey;
use urna_crypto::paillier::PublicKey;
use urna_record::events;
use urna_tally::{Modality, RunningShard, Shard, ShardConfig, TallyClient};
use urna_vote::client::VoterClient;
use urna_vote::mesa::MesaRegistry;
use urna_vote::{ShardMap, VoteConfig, VoteService};

use super::fleet::Authority;
use super::plan::LocalPlan;

pub struct VoteEndpoint {
    pub modality: Modality,
    pub url: String,
    admin_token: String,
    stop: oneshot::Sender<()>,
}

impl VoteEndpoint {
    /// The service's admin token (`POST /v1/close`), which `--serve --json` prints for scripts.
    pub fn admin_token(&self) -> &str {
        &self.admin_token
    }
}

pub struct Services {
    /// The election's internal token: the shards and the log ask for it, the vote services present it,
    /// and closing the election uses it to seal and close.
    internal_token: Token,
    pub audit_url: String,
    /// The log's origin and key (what a witness pins).
    pub audit_log_key: urna_vote::wire::AuditLogKey,
    audit_stop: oneshot::Sender<()>,
    pub shards: Vec<(String, String, RunningShard)>,
    pub votes: Vec<VoteEndpoint>,
}

async fn loopback() -> Result<(TcpListener, String)> {
    let listener = TcpListener::bind("127.0.0.1:0").await.context("binding 127.0.0.1")?;
    let url = format!("http://{}", listener.local_addr().context("local address")?);
    Ok((listener, url))
}

/// Which modality's vote service listens on a fixed address (`--serve`), when the voting window opens, and
/// the witnesses the audit log and the vote services know.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub listen: Option<(Modality, std::net::SocketAddr)>,
    pub opens_at: Option<jiff::Timestamp>,
    /// The log keeps only these witnesses' cosignatures; the voter app's receipt check verifies them.
    pub witnesses: Option<WitnessPolicy>,
}

/// Starts every workload; `censuses` holds one census (CSV text) per modality of the plan; `booth` the Mesas
/// and tokens of the booth vote service when the election has a fleet.
pub async fn start(
    plan: &LocalPlan,
    data: &Path,
    public_key: &PublicKey,
    signing_key: &BlindSigningKey,
    censuses: &[(Modality, String)],
    booth: Option<&Authority>,
    Options { listen, opens_at, witnesses }: Options,
) -> Result<Services> {
    let manifest = &plan.manifest;
    // The same mechanism as in a cluster: one token for the election, generated here as the operator
    // generates its Secret.
    let internal_token = Token::generate().context("generating the internal token")?;
    let auth = ServiceAuth::Token(internal_token.clone());
    let mut config = LogConfig::new(format!("urna.local/{}", plan.election));
    // A short batch wait: receipts of a local run come back quickly; the shuffle still covers each batch.
    config.batch_wait = Duration::from_millis(200);
    config.checkpoint_interval = Duration::from_secs(5);
    config.witnesses = witnesses.as_ref().map(|w| w.witnesses.clone()).unwrap_or_default();
    let key = LogKey::generate().context("generating the audit log key")?;
    let audit_log_key = urna_vote::wire::AuditLogKey { origin: config.origin.clone(), public_key: key.public_key() };
    std::fs::create_dir_all(data.join("audit")).context("creating the audit data directory")?;
    let log = AuditLog::open(&data.join("audit/log.redb"), key, config).context("opening the audit log")?;
    let (listener, audit_url) = loopback().await?;
    let (audit_stop, rx) = oneshot::channel::<()>();
    tokio::spawn(log.serve(listener, auth.clone(), async move {
        let _ = rx.await;
    }));

    let mut shards = Vec::new();
    let mut map = ShardMap::new();
    for s in &plan.shards {
        let dir = data.join("tally").join(&s.name);
        let mut config = ShardConfig::new(&s.name, s.districts.clone(), s.modality, &dir);
        config.opens_at = opens_at;
        let shard = Shard::open(config, manifest.clone(), public_key.clone())
            .with_context(|| format!("opening shard {}", s.name))?;
        let (listener, url) = loopback().await?;
        let running =
            shard.start(listener, auth.clone()).await.with_context(|| format!("starting shard {}", s.name))?;
        for d in &s.districts {
            map.insert(d, s.modality, &url);
        }
        shards.push((s.name.clone(), url, running));
    }

    let mut votes = Vec::new();
    for (modality, census) in censuses {
        let signing = BlindSigningKey::from_pkcs8_pem(&signing_key.to_pkcs8_pem().context("encoding the signing key")?)
            .context("copying the signing key")?;
        let mut config = VoteConfig::new(
            manifest.clone(),
            public_key.clone(),
            signing,
            data.join("vote").join(modality.as_str()),
            map.clone(),
            audit_url.clone(),
        );
        config.modality = *modality;
        config.audit_log_key = Some(audit_log_key.clone());
        config.witnesses.clone_from(&witnesses);
        config.opens_at = opens_at;
        config.internal_token = Some(internal_token.clone());
        if let (Modality::Booth, Some(a)) = (modality, booth) {
            config.mesas = MesaRegistry::new(a.mesas.clone(), manifest).context("the example's Mesas")?;
            config.bridge_token = Some(a.bridge_token.clone());
        }
        let admin_token = urna_vote::credential::generate_credential(&mut urna_crypto::os_rng());
        config.admin_token = Some(admin_token.clone());
        // One client address sends every simulated voter's requests: no per-IP limit here.
        config.limits.rate_per_second = 0.0;
        let service = VoteService::open(config).with_context(|| format!("opening the {modality} vote service"))?;
        let report =
            service.import_census(census.as_bytes()).with_context(|| format!("importing the {modality} census"))?;
        tracing::info!(%modality, voters = report.inserted, "census imported");
        let (listener, url) = match listen {
            Some((m, addr)) if m == *modality => {
                let listener = TcpListener::bind(addr).await.with_context(|| format!("binding {addr}"))?;
                let url = format!("http://{}", listener.local_addr().context("local address")?);
                (listener, url)
            }
            _ => loopback().await?,
        };
        let (stop, rx) = oneshot::channel::<()>();
        tokio::spawn(service.serve(listener, async move {
            let _ = rx.await;
        }));
        votes.push(VoteEndpoint { modality: *modality, url, admin_token, stop });
    }
    Ok(Services { internal_token, audit_url, audit_log_key, audit_stop, shards, votes })
}

impl Services {
    /// Closes the election (see [`close_election`]).
    pub async fn close(&self) -> Result<()> {
        let votes: Vec<(Modality, String, String)> =
            self.votes.iter().map(|v| (v.modality, v.url.clone(), v.admin_token.clone())).collect();
        let shards: Vec<(String, String)> = self.shards.iter().map(|(n, u, _)| (n.clone(), u.clone())).collect();
        close_election(&votes, &shards, &self.audit_url, &self.internal_token).await
    }

    /// The audit log as the operations centre appends officers' actions to it.
    pub fn audit_log(&self) -> AuditClient {
        AuditClient::new(&self.audit_url).with_token(self.internal_token.clone())
    }

    /// Appends election events to the audit log (the harness's own acts: manifest, ceremony, openings).
    pub async fn log(&self, entries: &[urna_audit::LogEntry]) -> Result<Vec<u64>> {
        crate::log_events::append(&self.audit_log(), entries).await
    }

    pub async fn stop(self) -> Result<()> {
        for v in self.votes {
            let _ = v.stop.send(());
        }
        for (name, _, running) in self.shards {
            running.stop().await.with_context(|| format!("stopping shard {name}"))?;
        }
        let _ = self.audit_stop.send(());
        Ok(())
    }
}

/// Closes an election, local or in a cluster: each modality's vote services (`modality, URL, admin token`)
/// stop accepting and every ballot they recorded reaches its shard and the log, and the modality's closing
/// is logged (`urna_record::events::close`, what its services recorded); then each shard seals and its seal
/// is logged (its totals digest), and the log writes its closing checkpoint (all with the election's
/// internal `token`).
pub async fn close_election(
    votes: &[(Modality, String, String)],
    shards: &[(String, String)],
    audit: &str,
    token: &Token,
) -> Result<()> {
    let log = AuditClient::new(audit).with_token(token.clone());
    let mut modalities: Vec<Modality> = Vec::new();
    for (m, _, _) in votes {
        if !modalities.contains(m) {
            modalities.push(*m);
        }
    }
    for modality in modalities {
        let mut closed = Vec::new();
        for (_, url, token) in votes.iter().filter(|v| v.0 == modality) {
            let client = VoterClient::new(url);
            client.close(token).await.with_context(|| format!("closing the {modality} vote service at {url}"))?;
            let mut waited = 0;
            let status = loop {
                let status = client.status(0).await.with_context(|| format!("{modality} vote service status"))?;
                if status.ballots_pending == 0 {
                    break status;
                }
                waited += 1;
                if waited > 600 {
                    bail!(
                        "{} ballots of the {modality} vote service never reached their shard",
                        status.ballots_pending
                    );
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            };
            closed.push(events::ClosedService {
                partition: status.partition,
                ballots_recorded: status.ballots_recorded,
                rights_issued: status.rights_issued,
            });
        }
        crate::log_events::append(&log, &[events::close(modality, &closed)])
            .await
            .with_context(|| format!("logging the {modality} closing"))?;
    }
    for (name, url) in shards {
        let sealed = TallyClient::new(url.as_str())
            .with_token(token.clone())
            .seal()
            .await
            .with_context(|| format!("sealing shard {name}"))?;
        crate::log_events::append(&log, &[events::shard_sealed(name, sealed.totals_digest)])
            .await
            .with_context(|| format!("logging shard {name}'s seal"))?;
    }
    let (status, body) = log.raw(http::Method::POST, "/v1/close").await.context("closing the audit log")?;
    if !status.is_success() {
        bail!("closing the audit log: {status}: {}", String::from_utf8_lossy(&body));
    }
    Ok(())
}
