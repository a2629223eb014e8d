//! Mesa controller: validate against its Election, apply the Mesa configuration, derive the phase from the
//! window and the actas its members signed.

use std::sync::Arc;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::Api;
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::{Resource, ResourceExt};
use serde_json::json;
use tracing::{Instrument, info_span};

use super::conditions::{self, Desired};
use super::{Context, namespace, reconciled};
use crate::crd::mesa::ActaKind;
use crate::crd::{Election, Mesa, MesaPhase};
use crate::error::Result;
use crate::meta;
use crate::schedule::{self, MesaObservation};

pub const KIND: &str = "Mesa";
/// How often to look again for a missing Election (Elections are not watched by this controller).
const MISSING_ELECTION_RETRY: std::time::Duration = std::time::Duration::from_secs(30);

pub async fn reconcile(m: Arc<Mesa>, ctx: Arc<Context>) -> Result<Action> {
    let span = info_span!("reconcile", kind = KIND, object = %meta::key(m.as_ref()));
    async move {
        let _timer = ctx.metrics.start(KIND);
        let ns = namespace(m.as_ref())?;
        let api: Api<Mesa> = Api::namespaced(ctx.client.clone(), &ns);
        if meta::is_paused(m.as_ref()) {
            return super::status::paused(&api, m.as_ref(), &ctx).await;
        }
        let action = match apply(&api, &m, &ctx, &ns).await {
            Ok(action) => action,
            Err(err) => {
                super::status::report_api_error(&api, m.as_ref(), &ctx, &err).await;
                return Err(err);
            }
        };
        reconciled(&ctx, m.as_ref());
        Ok(action)
    }
    .instrument(span)
    .await
}

async fn apply(api: &Api<Mesa>, m: &Mesa, ctx: &Context, ns: &str) -> Result<Action> {
    let election = Api::<Election>::namespaced(ctx.client.clone(), ns).get_opt(&m.spec.election).await?;
    let Some(election) = election else {
        let msg = format!("Election {} not found", m.spec.election);
        let conds = conditions::standard(false, "", Some(("ElectionNotFound", msg.clone())));
        write(api, m, ctx, phase_or_scheduled(m), &conds, None).await?;
        return Ok(Action::requeue(MISSING_ELECTION_RETRY));
    };
    if let Err(err) = crate::validate::mesa(m, Some(&election)) {
        ctx.event(m, EventType::Warning, err.reason(), "Validate", err.to_string()).await;
        let conds = conditions::standard(false, "", Some((err.reason(), err.to_string())));
        write(api, m, ctx, phase_or_scheduled(m), &conds, None).await?;
        return Ok(Action::await_change());
    }
    let window = crate::validate::mesa_window(m, &election);
    let children = crate::build::mesa::build(m, window.as_ref())?;
    let owner = format!("{KIND}/{ns}/{}", m.name_any());
    super::apply::apply_all(&ctx.client, &ctx.applied, ns, &owner, &children).await?;

    let now = ctx.now();
    let Some(window) = window else {
        return Ok(Action::await_change());
    };
    let transmitted = m.acta(ActaKind::Results).is_some_and(|a| a.transmitted_at.is_some());
    let obs = MesaObservation {
        constituted: m.acta(ActaKind::Constitution).is_some(),
        counted: m.acta(ActaKind::Results).is_some(),
        transmitted,
    };
    let s = schedule::mesa_phase(now, (window.opens_at.0, window.closes_at.0), obs);
    // Past opening without a constitution acta: the Mesa cannot open; say so.
    let late = s.phase == MesaPhase::Scheduled && now >= window.opens_at.0;
    let degraded =
        late.then(|| ("NotConstituted", "the window is open but no constitution acta is signed".to_string()));
    let conds = conditions::standard(s.phase >= MesaPhase::Constituted, "configuration applied", degraded);
    write(api, m, ctx, s.phase, &conds, s.next).await?;
    let previous = m.status.as_ref().and_then(|st| st.phase);
    if previous != Some(s.phase) {
        let from = previous.map(MesaPhase::as_str).unwrap_or("-");
        ctx.event(m, EventType::Normal, s.phase.as_str(), "Transition", format!("{from} → {}", s.phase.as_str())).await;
    }
    Ok(Action::requeue(schedule::requeue_after(now, s.next)))
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
) -> Result<()> {
    let current = m.status.clone().unwrap_or_default();
    let conds = conditions::merge(&current.conditions, desired, m.meta().generation, ctx.now());
    let assigned = m.spec.booths.as_ref().map(|b| b.devices.len()).unwrap_or(0);
    let owned = json!({
        "phase": phase,
        "observedGeneration": m.meta().generation,
        "conditions": conds,
        "ready": format!("{}/{}", current.booths_online.unwrap_or(0), assigned),
        "nextTransition": next.map(Time),
    });
    super::status::apply(api, &m.name_any(), m.status.as_ref(), owned).await?;
    Ok(())
}
