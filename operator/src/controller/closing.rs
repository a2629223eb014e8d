//! The closing executor: observes what [`crate::closing::plan`] reads (the workloads' `GET /v1/status`, the
//! export Job, the record volume, the Election's status), performs the plan's acts and returns what the
//! Election's status shows. Holds no state between reconciles: an operator killed anywhere in here and
//! restarted observes again and carries on (docs/operator.md, "Closing").

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::batch::v1::Job;
use k8s_openapi::api::core::v1::PersistentVolumeClaim;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::ResourceExt;
use kube::api::{Api, PostParams};
use kube::runtime::events::EventType;
use sha2::{Digest, Sha256};
use urna_status::audit::AuditStatus;
use urna_status::decryption::{DecryptionStatus, RecordVerification};
use urna_status::tally::ShardStatus;
use urna_status::vote::VoteStatus;

use super::Context;
use super::conditions::Desired;
use crate::build::{Child, booth_vote, record};
use crate::closing::{
    self, Act, AuditView, DecryptionView, JobState, Observed, Plan, Seen, ShardView, Step, Verification, VoteView,
};
use crate::crd::election::{DecryptionSummary, ResultsRef};
use crate::crd::{Election, TallyShard};
use crate::error::{Error, Result};
use crate::workload::HTTP_PORT;
use crate::workloads::{CallError, Endpoint};

/// The condition type that says where closing stands (reason: the step).
pub const CLOSING: &str = "Closing";

/// What the Election's status shows of closing after this reconcile.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    pub step: Option<Step>,
    pub message: String,
    pub blocked: Option<(&'static str, String)>,
    pub poll: bool,
    pub record_exported_at: Option<Time>,
    pub results: Option<ResultsRef>,
    pub certified_at: Option<Time>,
    pub decryption: Option<DecryptionSummary>,
}

impl Outcome {
    /// Before the last closing (or without an observation): what an earlier reconcile wrote, carried as is.
    pub fn kept(e: &Election) -> Self {
        let st = e.status.clone().unwrap_or_default();
        Self {
            record_exported_at: st.record_exported_at,
            results: st.results,
            certified_at: st.certified_at,
            decryption: st.decryption,
            ..Self::default()
        }
    }
}

/// Observes, plans, acts. `past_close`: the clock is at or past the last modality's `closesAt`.
pub async fn reconcile(
    e: &Election,
    ctx: &Context,
    ns: &str,
    shards: &[TallyShard],
    past_close: bool,
) -> Result<Outcome> {
    let mut out = Outcome::kept(e);
    let persisted = out.record_exported_at.is_some() || out.results.is_some() || out.certified_at.is_some();
    if !past_close && !persisted {
        out.step = Some(Step::Voting);
        return Ok(out);
    }
    let name = e.name_any();
    let observed = observe(e, ctx, ns, shards, past_close, &out).await?;
    if let Some(Seen::Answered(d)) = &observed.decryption {
        out.decryption = Some(DecryptionSummary {
            trustees: d.trustees,
            threshold: d.threshold,
            accepted: d.accepted.clone(),
            refused: d.refused,
        });
    }
    let first = closing::plan(&observed);
    let mut after = observed.clone();
    let mut failures = Vec::new();
    let image = e.spec.image.clone().unwrap_or_else(|| ctx.defaults.image.clone());
    let owner = format!("{}/{ns}/{name}", super::election::KIND);
    if first.serve_decryption {
        let (deployment, service) = record::decryption_service(e, &image);
        let children = vec![Child::new(&deployment)?, Child::new(&service)?];
        super::apply::apply_all(&ctx.client, &ctx.applied, ns, &owner, &children).await?;
    }
    let now = ctx.now();
    for act in &first.acts {
        match act {
            Act::Seal(shard) => {
                if let Err(err) = post(ctx, ns, &name, &Endpoint::shard(ns, shard), "/v1/seal").await {
                    failures.push(format!("sealing {shard}: {err}"));
                }
            }
            Act::CloseLog => {
                let ep = Endpoint::new(ns, crate::build::election::audit_name(&name), HTTP_PORT);
                if let Err(err) = post(ctx, ns, &name, &ep, "/v1/close").await {
                    failures.push(format!("closing the audit log: {err}"));
                }
            }
            Act::CreateRecordVolume => {
                create_if_absent(
                    &Api::<PersistentVolumeClaim>::namespaced(ctx.client.clone(), ns),
                    &record::record_volume(e),
                )
                .await?;
            }
            Act::CreateExportJob => {
                let Some(job) = record::export_job(e, &image, shards) else { continue };
                if create_if_absent(&Api::<Job>::namespaced(ctx.client.clone(), ns), &job).await? {
                    let note = format!("Job {} exports the election record", job.name_any());
                    ctx.event(e, EventType::Normal, "RecordExportStarted", "Close", note).await;
                }
            }
            Act::MarkExported => {
                after.record_exported = true;
                out.record_exported_at = Some(Time(now));
                let note = format!("the election record is on the volume {}", record::record_volume_name(&name));
                ctx.event(e, EventType::Normal, "RecordExported", "Close", note).await;
            }
            Act::PublishResults { digest } => match publish(e, ctx, ns, &owner, digest).await {
                Ok(r) => {
                    after.results_published = Some(r.digest.clone());
                    let note = format!(
                        "results verified and published in ConfigMap {} (sha256 {})",
                        record::results_config_map_name(&name),
                        r.digest
                    );
                    out.results = Some(r);
                    ctx.event(e, EventType::Normal, "ResultsPublished", "Close", note).await;
                }
                Err(err) => failures.push(format!("publishing the results: {err}")),
            },
            Act::ReportRefusals { total, new, last } => {
                after.refusals_reported = *total;
                let note = format!(
                    "the decryption service refused {new} partial decryption(s) ({total} since it started){}",
                    last.as_ref().map(|l| format!("; latest: {l}")).unwrap_or_default()
                );
                ctx.event(e, EventType::Warning, "PartialRefused", "Decrypt", note).await;
            }
            Act::Certify => {
                after.certified = true;
                out.certified_at = Some(Time(now));
                ctx.event(e, EventType::Normal, "Certified", "Certify", "the authority certified the results").await;
            }
        }
    }
    // Where the election stands once these acts are done (the acts this second plan names wait for the next
    // reconcile, after a fresh observation).
    let next: Plan = closing::plan(&after);
    out.step = Some(next.step);
    out.message = next.message.clone();
    out.blocked = next.blocked.clone();
    out.poll = next.poll || !next.acts.is_empty() || !failures.is_empty();
    if !failures.is_empty() {
        out.message = format!("{}; retrying: {}", out.message, failures.join("; "));
    }
    let previous = observed.shown;
    if previous != Some(next.step) {
        let note = format!("{} → {}: {}", previous.map_or("Open", Step::as_str), next.step.as_str(), next.message);
        ctx.event(e, EventType::Normal, next.step.as_str(), "Close", note).await;
    }
    if let Some((reason, msg)) = &next.blocked {
        ctx.event(e, EventType::Warning, reason, "Close", msg.clone()).await;
    }
    Ok(out)
}

/// The step the Election's status shows: its `Closing` condition's reason.
fn shown_step(e: &Election) -> Option<Step> {
    let st = e.status.as_ref()?;
    Step::parse(&st.conditions.iter().find(|c| c.type_ == CLOSING)?.reason)
}

/// What the plan reads. Workloads the plan no longer needs (the vote services, shards and log once the record
/// is exported) are not asked.
async fn observe(
    e: &Election,
    ctx: &Context,
    ns: &str,
    shards: &[TallyShard],
    past_close: bool,
    kept: &Outcome,
) -> Result<Observed> {
    let name = e.name_any();
    let mut o = Observed {
        past_close,
        votes: vec![],
        shards: vec![],
        audit: Seen::Unreachable("not asked".into()),
        witness_quorum: e.spec.audit.witnesses.as_ref().map_or(0, |w| w.quorum),
        ceremony: e.spec.record.ceremony.is_some(),
        record_volume: false,
        export: JobState::Absent,
        decryption: None,
        record_exported: kept.record_exported_at.is_some(),
        results_published: kept.results.as_ref().map(|r| r.digest.clone()),
        refusals_reported: kept.decryption.as_ref().map_or(0, |d| d.refused),
        certify_requested: crate::meta::certify_requested(e),
        close_without_actas: crate::meta::close_without_actas(e),
        certified: kept.certified_at.is_some(),
        shown: shown_step(e),
    };
    if o.certified || o.results_published.is_some() {
        return Ok(o);
    }
    if o.record_exported {
        let deployed = Api::<Deployment>::namespaced(ctx.client.clone(), ns)
            .get_opt(&record::decryption_name(&name))
            .await?
            .is_some();
        if deployed {
            let ep = Endpoint::new(ns, record::decryption_name(&name), HTTP_PORT);
            o.decryption = Some(match ctx.poller.status::<DecryptionStatus>(&ep).await {
                Ok(s) => Seen::Answered(decryption_view(&s)),
                Err(err) => Seen::Unreachable(format!("{}: {err}", ep.service)),
            });
        }
        return Ok(o);
    }
    if !past_close {
        return Ok(o);
    }
    let mut votes: Vec<Endpoint> = (0..e.spec.vote.partitions).map(|i| Endpoint::vote_partition(ns, e, i)).collect();
    if booth_vote::booth_spec(e).is_some() {
        votes.push(Endpoint::booth_vote(ns, e));
    }
    for ep in &votes {
        o.votes.push(match ctx.poller.status::<VoteStatus>(ep).await {
            Ok(s) => Seen::Answered(VoteView {
                name: ep.service.clone(),
                closed: s.closed,
                pending: s.ballots_pending,
                awaiting_results: awaiting_results(&s),
            }),
            Err(err) => Seen::Unreachable(format!("{}: {err}", ep.service)),
        });
    }
    for s in shards {
        let ep = Endpoint::shard(ns, &s.name_any());
        o.shards.push(match ctx.poller.status::<ShardStatus>(&ep).await {
            Ok(st) => Seen::Answered(ShardView { name: s.name_any(), sealed: st.sealed, failure: st.failure }),
            Err(err) => Seen::Unreachable(format!("{}: {err}", s.name_any())),
        });
    }
    let audit = Endpoint::audit(ns, e);
    o.audit = match ctx.poller.status::<AuditStatus>(&audit).await {
        Ok(a) => Seen::Answered(AuditView {
            closed: a.closed,
            cosignatures: a.checkpoint.filter(|c| c.closing).map_or(0, |c| c.cosignatures),
        }),
        Err(err) => Seen::Unreachable(format!("{}: {err}", audit.service)),
    };
    o.record_volume = Api::<PersistentVolumeClaim>::namespaced(ctx.client.clone(), ns)
        .get_opt(&record::record_volume_name(&name))
        .await?
        .is_some();
    let job = Api::<Job>::namespaced(ctx.client.clone(), ns).get_opt(&record::export_job_name(&name)).await?;
    o.export = job.map_or(JobState::Absent, |j| job_state(&j));
    Ok(o)
}

fn decryption_view(s: &DecryptionStatus) -> DecryptionView {
    DecryptionView {
        trustees: s.trustees,
        threshold: s.threshold,
        accepted: s.accepted.clone(),
        refused: s.refused,
        last_refusal: s.last_refusal.clone(),
        results_digest: s.results.as_ref().map(|r| hex::encode(r.digest)),
        verification: match &s.verification {
            None | Some(RecordVerification::Running) => Verification::Pending,
            Some(RecordVerification::Valid { .. }) => Verification::Valid,
            Some(RecordVerification::Invalid { reason }) => Verification::Invalid(reason.clone()),
        },
    }
}

/// A Job's state from its status: succeeded once a pod completed, failed once the Job controller gave up
/// (its `Failed` condition, with reason and message).
pub fn job_state(job: &Job) -> JobState {
    let Some(st) = &job.status else { return JobState::Running };
    if st.succeeded.unwrap_or(0) > 0 {
        return JobState::Succeeded;
    }
    let failed = st.conditions.iter().flatten().find(|c| c.type_ == "Failed" && c.status == "True");
    match failed {
        Some(c) => JobState::Failed(format!(
            "{}{}",
            c.reason.clone().unwrap_or_else(|| "Failed".into()),
            c.message.as_ref().map(|m| format!(": {m}")).unwrap_or_default()
        )),
        None => JobState::Running,
    }
}

/// `POST path` with the election's internal token; the answer's body is not needed (the next status says).
async fn post(ctx: &Context, ns: &str, election: &str, ep: &Endpoint, path: &str) -> Result<(), String> {
    let token =
        super::tokens::internal_token(ctx, ns, election).await.map_err(|e| e.to_string())?.ok_or_else(|| {
            format!("the Secret {} does not exist yet", crate::build::election::internal_token_secret(election))
        })?;
    let url = ctx.poller.endpoints.url(ep, path);
    ctx.poller
        .client
        .post_json::<_, serde_json::Value>(&url, &token, &serde_json::json!({}))
        .await
        .map(|_| ())
        .map_err(|e: CallError| e.to_string())
}

/// Fetches `results.json`, checks it is the document the service reported (its SHA-256), and writes the
/// results ConfigMap.
async fn publish(e: &Election, ctx: &Context, ns: &str, owner: &str, digest: &str) -> Result<ResultsRef, String> {
    let ep = Endpoint::new(ns, record::decryption_name(&e.name_any()), HTTP_PORT);
    let url = ctx.poller.endpoints.url(&ep, "/v1/results");
    let bytes = ctx.poller.client.get_bytes(&url).await.map_err(|e| e.to_string())?;
    let got = hex::encode(Sha256::digest(&bytes));
    if got != digest {
        return Err(format!("GET {url} answered a document with sha256 {got}, not the reported {digest}"));
    }
    let text = String::from_utf8(bytes.to_vec()).map_err(|e| format!("results.json is not UTF-8: {e}"))?;
    let cm = record::results_config_map(e, &text);
    let child = Child::new(&cm).map_err(|e| e.to_string())?;
    super::apply::apply_all(&ctx.client, &ctx.applied, ns, owner, &[child]).await.map_err(|e| e.to_string())?;
    Ok(ResultsRef { digest: digest.to_owned(), config_map: Some(record::results_config_map_name(&e.name_any())) })
}

/// Creates `obj` unless it exists; returns whether it was created. Jobs and claims are created once, never
/// applied again: their specs are immutable, and the one that exists is the one that counts.
async fn create_if_absent<K>(api: &Api<K>, obj: &K) -> Result<bool>
where
    K: kube::Resource<DynamicType = ()> + Clone + serde::de::DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    if api.get_opt(&obj.name_any()).await?.is_some() {
        return Ok(false);
    }
    let pp = PostParams { field_manager: Some(crate::workload::FIELD_MANAGER.into()), ..Default::default() };
    match api.create(&pp, obj).await {
        Ok(_) => Ok(true),
        Err(kube::Error::Api(s)) if s.code == 409 => Ok(false),
        Err(err) => Err(Error::Kube(err)),
    }
}

/// The `Closing` condition: True while the election is being closed (from the last `closesAt` until the
/// results are published), its reason the step and its message what is awaited; False before (reason
/// `Voting`) and after (`Decrypted`, `Certified`).
pub fn condition(o: &Outcome) -> Desired {
    let step = o.step.unwrap_or(Step::Voting);
    let active = step > Step::Voting && step < Step::Decrypted;
    let message = if o.message.is_empty() { step.as_str().to_owned() } else { o.message.clone() };
    Desired::new(CLOSING, active, step.as_str(), message)
}

/// The last `closesAt` of the Election's modalities.
pub fn last_close(e: &Election) -> Option<Timestamp> {
    e.spec.modalities.iter().map(|m| m.closes_at.0).max()
}

/// The mesas a vote service serves without an accepted results acta.
fn awaiting_results(s: &VoteStatus) -> Vec<String> {
    s.mesas
        .iter()
        .filter(|m| !m.actas.iter().any(|a| a.kind == urna_status::vote::ActaKind::Results))
        .map(|m| m.mesa.clone())
        .collect()
}
