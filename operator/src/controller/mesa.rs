//! Mesa controller: validate against its Election, apply the Mesa configuration, derive the phase from the
//! window and the actas its members signed.

use std::sync::Arc;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::Api;
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::{Resource, ResourceExt};
use serde_json::json;

use super::Context;
use super::conditions::{self, Desired};
use super::reconcile::{Outcome, Reconciler};
use crate::crd::common::ModalityKind;
use crate::crd::mesa::Acta;
use crate::crd::{Election, Mesa, MesaPhase};
use crate::error::Result;
use crate::schedule::{self, MesaObservation};
use crate::workloads::Endpoint;
use k8s_openapi::api::apps::v1::StatefulSet;

pub const KIND: &str = "Mesa";
/// How often to look again for a missing Election (Elections are not watched by this controller).
const MISSING_ELECTION_RETRY: std::time::Duration = std::time::Duration::from_secs(30);

pub async fn reconcile(m: Arc<Mesa>, ctx: Arc<Context>) -> Result<Action> {
    super::reconcile::reconcile(m, ctx).await
}

impl Reconciler for Mesa {
    const KIND: &'static str = KIND;

    async fn apply(&self, api: &Api<Mesa>, ctx: &Context, ns: &str) -> Result<Outcome> {
        apply(api, self, ctx, ns).await
    }

    async fn write_invalid(&self, api: &Api<Mesa>, ctx: &Context, conds: &[Desired]) -> Result<()> {
        write(api, self, ctx, phase_or_scheduled(self), conds, None, &Counts::kept(self)).await
    }
}

async fn apply(api: &Api<Mesa>, m: &Mesa, ctx: &Context, ns: &str) -> Result<Outcome> {
    let election = Api::<Election>::namespaced(ctx.client.clone(), ns).get_opt(&m.spec.election).await?;
    let Some(election) = election else {
        let msg = format!("Election {} not found", m.spec.election);
        let conds = conditions::standard(false, "", Some(("ElectionNotFound", msg.clone())));
        write(api, m, ctx, phase_or_scheduled(m), &conds, None, &Counts::kept(m)).await?;
        return Ok(Outcome::Done(Action::requeue(MISSING_ELECTION_RETRY)));
    };
    if let Err(err) = crate::validate::mesa(m, Some(&election)) {
        return Ok(Outcome::Invalid(err));
    }
    let window = crate::validate::mesa_window(m, &election);
    let children = crate::build::mesa::build(m, window.as_ref())?;
    let owner = format!("{KIND}/{ns}/{}", m.name_any());
    super::apply::apply_all(&ctx.client, &ctx.applied, ns, &owner, &children).await?;

    let now = ctx.now();
    let Some(window) = window else {
        return Ok(Outcome::Done(Action::await_change()));
    };
    let mut unanswered = Vec::new();
    let counts = observe(m, &election, ctx, ns, &mut unanswered).await?;
    let obs = MesaObservation::from_actas(&counts.actas);
    let s = schedule::mesa_phase(now, (window.opens_at.0, window.closes_at.0), obs);
    // Past opening without a constitution acta: the Mesa cannot open; say so.
    let late = s.phase == MesaPhase::Scheduled && now >= window.opens_at.0;
    let degraded =
        late.then(|| ("NotConstituted", "the window is open but no constitution acta is signed".to_string()));
    let mut conds = conditions::standard(s.phase >= MesaPhase::Constituted, "configuration applied", degraded);
    if let Some((reason, msg)) = crate::observe::degraded(&unanswered) {
        conditions::degrade(&mut conds, reason, msg);
    }
    write(api, m, ctx, s.phase, &conds, s.next, &counts).await?;
    let previous = m.status.as_ref().and_then(|st| st.phase);
    if previous != Some(s.phase) {
        let from = previous.map(MesaPhase::as_str).unwrap_or("-");
        ctx.event(m, EventType::Normal, s.phase.as_str(), "Transition", format!("{from} → {}", s.phase.as_str())).await;
    }
    let after = schedule::requeue_after(now, s.next);
    Ok(Outcome::Done(Action::requeue(super::observe::requeue(ctx, Some(election.phase()), after))))
}

/// What the workloads report of this Mesa.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Counts {
    admissions: Option<u64>,
    ballots_cast: Option<u64>,
    booths_online: Option<u32>,
    incidents: Option<u32>,
    actas: Vec<Acta>,
}

impl Counts {
    fn kept(m: &Mesa) -> Self {
        let st = m.status.clone().unwrap_or_default();
        Self {
            admissions: st.admissions,
            ballots_cast: st.ballots_cast,
            booths_online: st.booths_online,
            incidents: st.incidents,
            actas: st.actas,
        }
    }
}

/// What the booth vote service (when the Election runs it and its pod is ready) and the Mesa's fleet monitor
/// (when its pod is ready) report of this Mesa; each status is asked once per interval for all the Mesas.
async fn observe(
    m: &Mesa,
    e: &Election,
    ctx: &Context,
    ns: &str,
    unanswered: &mut Vec<crate::observe::Unanswered>,
) -> Result<Counts> {
    let mut counts = Counts::kept(m);
    if let Some(fleet) = m.spec.booths.as_ref().map(|b| b.fleet.as_str()) {
        let monitor = Api::<StatefulSet>::namespaced(ctx.client.clone(), ns)
            .get_opt(&crate::build::boothfleet::monitor_name(fleet))
            .await?;
        let ready = monitor.and_then(|d| d.status).is_some_and(|s| s.ready_replicas.unwrap_or(0) >= 1);
        let (url, polled) = super::observe::ask(ctx, &Endpoint::monitor(ns, fleet), ready).await;
        let answer = crate::observe::monitor(fleet, &url, polled, unanswered);
        (counts.booths_online, counts.incidents) =
            crate::observe::mesa_booths(&m.name_any(), answer.as_ref(), (counts.booths_online, counts.incidents));
    }
    if crate::build::booth_vote::booth_spec(e).is_none() {
        return Ok(counts);
    }
    let sts = Api::<StatefulSet>::namespaced(ctx.client.clone(), ns)
        .get_opt(&crate::build::booth_vote::booth_vote_name(&e.name_any()))
        .await?;
    let ready = sts.and_then(|s| s.status).is_some_and(|s| s.ready_replicas.unwrap_or(0) >= 1);
    let (url, polled) = super::observe::ask(ctx, &Endpoint::booth_vote(ns, e), ready).await;
    let poll = crate::observe::VotePoll {
        workload: format!("booth vote service {}", crate::build::booth_vote::booth_vote_name(&e.name_any())),
        url,
        modality: ModalityKind::Booth,
        partition: 0,
        partitions: 1,
        polled,
    };
    let booth = crate::observe::vote(&e.name_any(), poll, unanswered);
    (counts.admissions, counts.ballots_cast) =
        crate::observe::mesa_counts(&m.name_any(), booth.as_ref(), (counts.admissions, counts.ballots_cast));
    counts.actas = crate::observe::mesa_actas(&m.name_any(), booth.as_ref(), &counts.actas);
    Ok(counts)
}

fn phase_or_scheduled(m: &Mesa) -> MesaPhase {
    m.status.as_ref().and_then(|s| s.phase).unwrap_or(MesaPhase::Scheduled)
}

async fn write(
    api: &Api<Mesa>,
    m: &Mesa,
    ctx: &Context,
    phase: MesaPhase,
    desired: &[Desired],
    next: Option<jiff::Timestamp>,
    counts: &Counts,
) -> Result<()> {
    let current = m.status.clone().unwrap_or_default();
    let conds = conditions::merge(&current.conditions, desired, m.meta().generation, ctx.now());
    let assigned = m.spec.booths.as_ref().map(|b| b.devices.len()).unwrap_or(0);
    let owned = json!({
        "phase": phase,
        "observedGeneration": m.meta().generation,
        "conditions": conds,
        "ready": format!("{}/{}", counts.booths_online.unwrap_or(0), assigned),
        "nextTransition": next.map(Time),
        "admissions": counts.admissions,
        "ballotsCast": counts.ballots_cast,
        "boothsOnline": counts.booths_online,
        "incidents": counts.incidents,
        "actas": counts.actas,
    });
    super::status::apply(api, &m.name_any(), m.status.as_ref(), owned).await?;
    Ok(())
}
