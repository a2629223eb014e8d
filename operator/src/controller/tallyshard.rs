//! TallyShard controller: the single-writer StatefulSet and its headless Service; the phase comes from the
//! StatefulSet's readiness and what the tally workload reports (sealed, failure).

use std::sync::Arc;

use k8s_openapi::api::apps::v1::StatefulSet;
use kube::api::Api;
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::{Resource, ResourceExt};
use serde_json::json;

use super::Context;
use super::conditions::{self, Desired};
use super::reconcile::{Outcome, Reconciler};
use crate::crd::tallyshard::ShardPhase;
use crate::crd::{Election, TallyShard};
use crate::error::Result;
use crate::observe::ShardFields;
use crate::schedule::RESYNC;
use crate::workloads::Endpoint;

pub const KIND: &str = "TallyShard";

pub async fn reconcile(s: Arc<TallyShard>, ctx: Arc<Context>) -> Result<Action> {
    super::reconcile::reconcile(s, ctx).await
}

impl Reconciler for TallyShard {
    const KIND: &'static str = KIND;

    async fn apply(&self, api: &Api<TallyShard>, ctx: &Context, ns: &str) -> Result<Outcome> {
        apply(api, self, ctx, ns).await
    }

    async fn write_invalid(&self, api: &Api<TallyShard>, ctx: &Context, conds: &[Desired]) -> Result<()> {
        write(api, self, ctx, ShardPhase::Pending, conds, "0/1", None).await
    }
}

async fn apply(api: &Api<TallyShard>, s: &TallyShard, ctx: &Context, ns: &str) -> Result<Outcome> {
    let election = Api::<Election>::namespaced(ctx.client.clone(), ns).get_opt(&s.spec.election).await?;
    if let Err(err) = crate::validate::tallyshard(s, election.as_ref()) {
        return Ok(Outcome::Invalid(err));
    }
    // The workload's arguments come from the Election (ballot styles, closing instant): wait for it.
    let Some(election) = election else {
        let msg = format!("Election {} not found", s.spec.election);
        let conds = conditions::standard(false, "", Some(("ElectionNotFound", msg)));
        write(api, s, ctx, ShardPhase::Pending, &conds, "0/1", None).await?;
        return Ok(Outcome::Done(Action::requeue(std::time::Duration::from_secs(30))));
    };
    let children = crate::build::tallyshard::build(s, &election, &ctx.defaults)?;
    let owner = format!("{KIND}/{ns}/{}", s.name_any());
    super::apply::apply_all(&ctx.client, &ctx.applied, ns, &owner, &children).await?;

    let sts = Api::<StatefulSet>::namespaced(ctx.client.clone(), ns)
        .get_opt(&crate::build::tallyshard::workload_name(&s.name_any()))
        .await?;
    let ready = sts.and_then(|x| x.status).is_some_and(|st| st.ready_replicas.unwrap_or(0) >= 1);
    let st = s.status.clone().unwrap_or_default();
    // The shard's own answer (asked only once its pod is ready); the last values when it gives none.
    let name = s.name_any();
    let (url, polled) = super::observe::ask(ctx, &Endpoint::shard(ns, &name), ready).await;
    let mut unanswered = Vec::new();
    let fields = crate::observe::shard(&name, &s.spec.election, &url, polled, &st, &mut unanswered);
    let phase = match (&fields.failure, fields.sealed.unwrap_or(false), ready) {
        (Some(_), _, _) => ShardPhase::Failed,
        (None, true, _) => ShardPhase::Sealed,
        (None, false, true) => ShardPhase::Running,
        (None, false, false) => ShardPhase::Pending,
    };
    let degraded = fields.failure.clone().map(|f| ("ShardFailed", f));
    let mut conds = conditions::standard(ready, if ready { "tally workload ready" } else { "" }, degraded);
    if let Some((reason, msg)) = crate::observe::degraded(&unanswered) {
        conditions::degrade(&mut conds, reason, msg);
    }
    write(api, s, ctx, phase, &conds, if ready { "1/1" } else { "0/1" }, Some(&fields)).await?;
    if st.phase != Some(phase) {
        let type_ = if phase == ShardPhase::Failed { EventType::Warning } else { EventType::Normal };
        ctx.event(s, type_, &format!("{phase:?}"), "Transition", format!("shard is {phase:?}")).await;
    }
    Ok(Outcome::Done(Action::requeue(super::observe::requeue(ctx, Some(election.phase()), RESYNC))))
}

async fn write(
    api: &Api<TallyShard>,
    s: &TallyShard,
    ctx: &Context,
    phase: ShardPhase,
    desired: &[Desired],
    ready: &str,
    observed: Option<&ShardFields>,
) -> Result<()> {
    let current = s.status.clone().unwrap_or_default();
    let conds = conditions::merge(&current.conditions, desired, s.meta().generation, ctx.now());
    // Without a fresh observation (an invalid spec, no Election) the observed fields stay as they are.
    let kept;
    let f = match observed {
        Some(f) => f,
        None => {
            kept = ShardFields::last(&current);
            &kept
        }
    };
    let owned = json!({
        "phase": phase,
        "observedGeneration": s.meta().generation,
        "conditions": conds,
        "ready": ready,
        "ballotsAccepted": f.ballots_accepted,
        "ballotsRejected": f.ballots_rejected,
        "lastSequence": f.last_sequence,
        "totalsDigest": f.totals_digest,
        "logHead": f.log_head,
        "sealed": f.sealed,
        "failure": f.failure,
    });
    super::status::apply(api, &s.name_any(), s.status.as_ref(), owned).await?;
    Ok(())
}
