//! Election controller: finalizer → validate → build → apply → observe → status, requeued for the next
//! opening or closing instant.

use std::sync::Arc;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, ListParams};
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::runtime::finalizer::{self, Event as Finalizer};
use kube::{Resource, ResourceExt};
use serde_json::json;
use tracing::{Instrument, info, info_span};

use super::conditions::{self, Desired};
use super::{Context, namespace, reconciled, tokens};
use crate::build::election as build;
use crate::build::{Child, booth_vote};
use crate::crd::election::{AuditLogHead, KeyFingerprints, ModalityCounters, ShardSummary, ShardingPolicy};
use crate::crd::{BoothFleet, Election, ElectionPhase, Mesa, TallyShard};
use crate::error::{Error, Result};
use crate::meta::{self, FINALIZER};
use crate::schedule::{self, ElectionObservation};

pub const KIND: &str = "Election";

pub async fn reconcile(e: Arc<Election>, ctx: Arc<Context>) -> Result<Action> {
    let span = info_span!("reconcile", kind = KIND, object = %meta::key(e.as_ref()));
    async move {
        let _timer = ctx.metrics.start(KIND);
        let ns = namespace(e.as_ref())?;
        let api: Api<Election> = Api::namespaced(ctx.client.clone(), &ns);
        if meta::is_paused(e.as_ref()) && e.meta().deletion_timestamp.is_none() {
            return super::status::paused(&api, e.as_ref(), &ctx).await;
        }
        let result = if e.meta().deletion_timestamp.is_some()
            && e.finalizers().iter().any(|f| f == FINALIZER)
            && let Some(why) = e.deletion_refusal()
        {
            // A refused deletion must not freeze the election: phases, status and repair of its workloads go
            // on exactly as before (the finalizer helper would run only cleanup), with a Warning saying why
            // the Election is still there.
            let result = apply(&api, &e, &ctx).await;
            refuse(&e, &ctx, &why).await;
            result
        } else {
            finalizer::finalizer(&api, FINALIZER, e.clone(), |event| async {
                match event {
                    Finalizer::Apply(e) => apply(&api, &e, &ctx).await,
                    Finalizer::Cleanup(e) => cleanup(&e, &ctx).await,
                }
            })
            .await
            .map_err(|err| match err {
                finalizer::Error::ApplyFailed(inner) | finalizer::Error::CleanupFailed(inner) => inner,
                other => Error::Finalizer(other.to_string()),
            })
        };
        match result {
            Ok(action) => {
                reconciled(&ctx, e.as_ref());
                Ok(action)
            }
            Err(err) => {
                super::status::report_api_error(&api, e.as_ref(), &ctx, &err).await;
                Err(err)
            }
        }
    }
    .instrument(span)
    .await
}

async fn apply(api: &Api<Election>, e: &Election, ctx: &Context) -> Result<Action> {
    let name = e.name_any();
    let ns = namespace(e)?;
    let now = ctx.now();
    if let Err(err) = crate::validate::election(e) {
        // A malformed Election waits for its next edit; nothing is applied from it.
        ctx.event(e, EventType::Warning, err.reason(), "Validate", err.to_string()).await;
        let conds = conditions::standard(false, "", Some((err.reason(), err.to_string())));
        write_status(api, e, ctx, e.phase(), &conds, None, &Observed::kept(e)).await?;
        return Ok(Action::await_change());
    }
    let manual =
        if e.spec.tally.sharding == ShardingPolicy::Manual { election_shards(e, ctx, &ns).await? } else { vec![] };
    // The token Secrets before the pods that mount them: the internal token (vote → tally and audit) always,
    // the bridge and console tokens with a booth vote service.
    let mesas = if booth_vote::booth_spec(e).is_some() { election_mesas(e, ctx, &ns).await? } else { vec![] };
    let mut wanted = vec![build::internal_token_secret_meta(e)];
    if booth_vote::booth_spec(e).is_some() {
        wanted.extend(booth_vote::token_secrets(e, &mesas));
    }
    let hashes = tokens::ensure(e, ctx, &ns, &wanted).await?;
    let mut children = build::build_with(e, &ctx.defaults, &manual)?;
    // A Mesa or fleet the booth vote service cannot take (an inner district, a device in two fleets) must not
    // stop the rest of the election: its children are left as last applied (the running service keeps its
    // last valid mesas file) and the Election reports Degraded until the Mesas or fleets are fixed.
    let booth_problem = match booth_children(e, ctx, &ns, &manual, &mesas, &hashes).await {
        Ok(booth) => {
            children.extend(booth);
            None
        }
        Err(err @ Error::InvalidSpec(_)) => {
            ctx.event(e, EventType::Warning, err.reason(), "Validate", err.to_string()).await;
            Some((err.reason(), err.to_string()))
        }
        Err(err) => return Err(err),
    };
    let owner = format!("{KIND}/{ns}/{name}");
    let sent = super::apply::apply_all(&ctx.client, &ctx.applied, &ns, &owner, &children).await?;
    if sent > 0 {
        info!(sent, total = children.len(), "applied children");
    }

    let mut observed = observe(e, ctx, &ns).await?;
    // Closing (docs/operator.md, "Closing"): the close, seal, export, decryption and certification steps.
    let past_close = super::closing::last_close(e).is_some_and(|c| now >= c);
    let shards = if past_close { election_shards(e, ctx, &ns).await? } else { vec![] };
    observed.closed = super::closing::reconcile(e, ctx, &ns, &shards, past_close).await?;
    let closed = &observed.closed;
    observed.obs.closing = closed.step;
    let windows: Vec<_> = e.spec.modalities.iter().map(|m| (m.opens_at.0, m.closes_at.0)).collect();
    let s = schedule::election_phase(now, &windows, &observed.obs);
    let ready_msg = format!("{} of {} workloads ready", observed.ready, observed.total);
    let degraded = observed.obs.failure.clone().map(|f| ("WorkloadFailed", f)).or(booth_problem);
    let degraded = degraded.or(closed.blocked.clone());
    let mut conds = conditions::standard(observed.obs.workloads_ready, &ready_msg, degraded);
    if let Some((reason, msg)) = crate::observe::degraded(&observed.unanswered) {
        conditions::degrade(&mut conds, reason, msg);
    }
    if let Some(why) = &observed.keys_unreadable {
        conditions::degrade(&mut conds, "KeyUnreadable", why.clone());
    }
    conds.push(super::closing::condition(closed));
    let previous = e.phase();
    let poll = closed.poll;
    write_status(api, e, ctx, s.phase, &conds, s.next, &observed).await?;
    if s.phase != previous || e.status.as_ref().and_then(|st| st.phase).is_none() {
        let type_ = if s.phase == ElectionPhase::Failed { EventType::Warning } else { EventType::Normal };
        ctx.event(e, type_, s.phase.as_str(), "Transition", format!("{} → {}", previous.as_str(), s.phase.as_str()))
            .await;
    }
    let wait = super::observe::requeue(ctx, Some(s.phase), schedule::requeue_after(now, s.next));
    Ok(Action::requeue(if poll { wait.min(ctx.poller.interval) } else { wait }))
}

/// The Election's Mesas.
async fn election_mesas(e: &Election, ctx: &Context, ns: &str) -> Result<Vec<Mesa>> {
    let name = e.name_any();
    let mesas = Api::<Mesa>::namespaced(ctx.client.clone(), ns).list(&ListParams::default()).await?.items;
    Ok(mesas.into_iter().filter(|m| m.spec.election == name).collect())
}

/// The booth vote service's children (none without `spec.vote.booth`): reads the Election's BoothFleets and
/// builds the mesas file from the console tokens' `hashes` (their Secrets exist already).
async fn booth_children(
    e: &Election,
    ctx: &Context,
    ns: &str,
    manual: &[TallyShard],
    mesas: &[Mesa],
    hashes: &std::collections::BTreeMap<String, String>,
) -> Result<Vec<Child>> {
    if booth_vote::booth_spec(e).is_none() {
        return Ok(vec![]);
    }
    let fleets = Api::<BoothFleet>::namespaced(ctx.client.clone(), ns).list(&ListParams::default()).await?.items;
    let file = booth_vote::mesas_file(e, mesas, &fleets, hashes)?;
    let generated = build::tally_shards(e);
    let routed = if e.spec.tally.sharding == ShardingPolicy::Manual { manual } else { &generated[..] };
    booth_vote::build(e, &ctx.defaults, routed, &file)
}

/// The TallyShards of an Election: those whose `spec.election` names it, generated or (with
/// `sharding: manual`) declared by hand, by name.
async fn election_shards(e: &Election, ctx: &Context, ns: &str) -> Result<Vec<TallyShard>> {
    let name = e.name_any();
    let api: Api<TallyShard> = Api::namespaced(ctx.client.clone(), ns);
    let mut shards: Vec<TallyShard> =
        api.list(&ListParams::default()).await?.items.into_iter().filter(|s| s.spec.election == name).collect();
    shards.sort_by_key(|s| s.name_any());
    Ok(shards)
}

#[derive(Debug, Default)]
struct Observed {
    obs: ElectionObservation,
    ready: u32,
    total: u32,
    census: Option<u64>,
    voters_voted: Option<u64>,
    ballots: Option<u64>,
    modalities: Vec<ModalityCounters>,
    shards: ShardSummary,
    audit_log_head: Option<AuditLogHead>,
    /// Workloads that gave no usable status this round.
    unanswered: Vec<crate::observe::Unanswered>,
    /// Closing's step and the status fields it owns.
    closed: super::closing::Outcome,
    /// `status.keyFingerprints` (the last written while a key is not known yet).
    key_fingerprints: Option<KeyFingerprints>,
    /// A key source that is there but unreadable (the ceremony's public.json, the signing key).
    keys_unreadable: Option<String>,
}

impl Observed {
    /// Nothing observed this time: the counters stay as last written (never reset to 0 by a spec error).
    fn kept(e: &Election) -> Self {
        let st = e.status.clone().unwrap_or_default();
        Self {
            census: st.census,
            voters_voted: st.voters_voted,
            ballots: st.ballots_recorded,
            modalities: st.modalities,
            shards: st.shards.unwrap_or_default(),
            audit_log_head: st.audit_log_head,
            closed: super::closing::Outcome::kept(e),
            key_fingerprints: st.key_fingerprints,
            ..Self::default()
        }
    }
}

async fn observe(e: &Election, ctx: &Context, ns: &str) -> Result<Observed> {
    let name = e.name_any();
    let shards = election_shards(e, ctx, ns).await?;
    let sts = Api::<StatefulSet>::namespaced(ctx.client.clone(), ns);
    let vote = sts.get_opt(&build::vote_name(&name)).await?;
    let audit = sts.get_opt(&build::audit_name(&name)).await?;
    // The booth vote service, when the Election runs one: its single replica must be ready too.
    let booth = if booth_vote::booth_spec(e).is_some() {
        let s = sts.get_opt(&booth_vote::booth_vote_name(&name)).await?;
        Some(s.and_then(|d| d.status).is_some_and(|s| s.ready_replicas.unwrap_or(0) >= 1))
    } else {
        None
    };
    // Every partition must be served: a missing one leaves its voters without a front door.
    let partitions = i32::try_from(e.spec.vote.partitions).unwrap_or(i32::MAX);
    let vote_ready = vote.and_then(|d| d.status).is_some_and(|s| s.ready_replicas.unwrap_or(0) >= partitions);
    let audit_ready = audit.and_then(|s| s.status).is_some_and(|s| s.ready_replicas.unwrap_or(0) >= 1);

    let mut o = Observed::default();
    o.shards.total = shards.len() as u32;
    for s in &shards {
        o.shards.ready += u32::from(s.is_ready());
        o.shards.sealed += u32::from(s.is_sealed());
        if let Some(f) = s.status.as_ref().and_then(|st| st.failure.as_ref()) {
            o.obs.failure = Some(format!("shard {}: {f}", s.name_any()));
        }
    }
    // What the vote services and the audit log answer (the shards' own answers are in their statuses,
    // written by the TallyShard controller).
    let last = e.status.clone().unwrap_or_default();
    let polls = super::observe::election(e, ctx, ns, vote_ready, booth, audit_ready).await;
    let kinds: Vec<_> = e.spec.modalities.iter().map(|m| m.kind).collect();
    o.modalities =
        crate::observe::modality_counters(&name, &kinds, polls.votes, &shards, &last.modalities, &mut o.unanswered);
    let served = super::observe::served(e);
    (o.census, o.voters_voted, o.ballots) =
        crate::observe::totals(&o.modalities, &served, (last.census, last.voters_voted, last.ballots_recorded));
    let audit_log = crate::fingerprints::audit_log_key(&name, &polls.audit);
    (o.key_fingerprints, o.keys_unreadable) = key_fingerprints(e, ctx, ns, audit_log, &served).await?;
    o.audit_log_head = crate::observe::audit_head(
        &name,
        &polls.audit_url,
        polls.audit,
        last.audit_log_head.as_ref(),
        &mut o.unanswered,
    );
    o.total = 2 + u32::from(booth.is_some()) + o.shards.total;
    o.ready = u32::from(vote_ready) + u32::from(audit_ready) + u32::from(booth == Some(true)) + o.shards.ready;
    o.obs.workloads_ready = o.ready == o.total;
    Ok(o)
}

/// `status.keyFingerprints`: fixed once settled ([`crate::fingerprints::settled`]); else from the ceremony
/// ConfigMap, the signing-key Secret and the audit log's answer, the last written while one is missing.
async fn key_fingerprints(
    e: &Election,
    ctx: &Context,
    ns: &str,
    audit_log: Option<urna_record::TrustedLogKey>,
    served: &[crate::crd::common::ModalityKind],
) -> Result<(Option<KeyFingerprints>, Option<String>)> {
    let last = e.status.as_ref().and_then(|s| s.key_fingerprints.clone());
    if crate::fingerprints::settled(e) {
        return Ok((last, None));
    }
    let threshold_public = match &e.spec.record.ceremony {
        Some(cm) => Api::<ConfigMap>::namespaced(ctx.client.clone(), ns)
            .get_opt(cm)
            .await?
            .and_then(|c| c.data?.remove(crate::fingerprints::CEREMONY_PUBLIC_KEY)),
        None => None,
    };
    let key = &e.spec.vote.signing_key;
    let signing_key = Api::<Secret>::namespaced(ctx.client.clone(), ns)
        .get_opt(&key.name)
        .await?
        .and_then(|s| s.data?.remove(&key.key))
        .and_then(|b| String::from_utf8(b.0).ok());
    let sources = crate::fingerprints::KeySources { threshold_public, signing_key, audit_log };
    Ok(match crate::fingerprints::key_fingerprints(e, &sources, served) {
        Ok(Some(fp)) => (Some(fp), None),
        Ok(None) => (last, None),
        Err(why) => (last, Some(why)),
    })
}

async fn write_status(
    api: &Api<Election>,
    e: &Election,
    ctx: &Context,
    phase: ElectionPhase,
    desired: &[Desired],
    next: Option<jiff::Timestamp>,
    o: &Observed,
) -> Result<()> {
    let current = e.status.clone().unwrap_or_default();
    let conds = conditions::merge(&current.conditions, desired, e.meta().generation, ctx.now());
    let hash = hex::encode(urna_ballot::manifest_hash(&e.manifest()));
    let owned = json!({
        "phase": phase,
        "observedGeneration": e.meta().generation,
        "conditions": conds,
        "ready": format!("{}/{}", o.ready, o.total),
        "manifestHash": hash,
        "nextTransition": next.map(Time),
        "ballotsRecorded": o.ballots,
        "modalities": o.modalities,
        "shards": o.shards,
        "census": o.census,
        "votersVoted": o.voters_voted,
        "auditLogHead": o.audit_log_head,
        "recordExportedAt": o.closed.record_exported_at,
        "results": o.closed.results,
        "certifiedAt": o.closed.certified_at,
        "decryption": o.closed.decryption,
        "keyFingerprints": o.key_fingerprints,
    });
    super::status::apply(api, &e.name_any(), e.status.as_ref(), owned).await?;
    Ok(())
}

/// The Warning a refused deletion raises; returns its note.
async fn refuse(e: &Election, ctx: &Context, why: &str) -> String {
    let note = format!(
        "{why}; the operator exports the record after the close (status.recordExportedAt), or set {}: \"true\"",
        meta::ANNOTATION_ALLOW_DELETE
    );
    ctx.event(e, EventType::Warning, "DeletionRefused", "Delete", note.clone()).await;
    note
}

/// Deletion: allowed for an Election that never held ballots, or whose record was exported, or with the
/// explicit annotation (`Election::deletion_refusal`). A refused one never gets here ([`reconcile`] keeps
/// running it); the check is repeated in case the status changed in between.
async fn cleanup(e: &Election, ctx: &Context) -> Result<Action> {
    if let Some(why) = e.deletion_refusal() {
        return Err(Error::DeletionRefused(refuse(e, ctx, &why).await));
    }
    ctx.event(e, EventType::Normal, "Deleted", "Delete", "children are garbage-collected; ballot volumes are retained")
        .await;
    ctx.applied.forget_prefix(&format!("{KIND}/{}/{}", namespace(e)?, e.name_any()));
    Ok(Action::await_change())
}
