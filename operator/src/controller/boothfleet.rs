//! BoothFleet controller: fleet ConfigMap, broker shards (StatefulSet and Services each), collector and
//! monitor; certificates (cert-manager, or Secrets issued once from the fleet CA); device counts and
//! per-shard readiness in status. Reads the namespace's Mesas (districts, geofences, windows, census) and
//! the fleet's Election (district tree, default windows).

use std::sync::Arc;

use k8s_openapi::api::apps::v1::StatefulSet;
use kube::api::{Api, ListParams};
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::{Resource, ResourceExt};
use serde_json::json;
use tracing::info;

use super::Context;
use super::conditions::{self, Desired};
use super::reconcile::{Outcome, Reconciler};
use super::secrets::{CreateOnce, SecretData};
use crate::build::boothfleet::{self as build, FleetInputs, FleetPlan};
use crate::crd::boothfleet::BrokerShardStatus;
use crate::crd::{BoothFleet, Election, Mesa};
use crate::error::Result;
use crate::meta::LABEL_FLEET;
use crate::pki::{self, CertKind};
use crate::schedule::RESYNC;
use crate::workloads::Endpoint;

pub const KIND: &str = "BoothFleet";

pub async fn reconcile(f: Arc<BoothFleet>, ctx: Arc<Context>) -> Result<Action> {
    super::reconcile::reconcile(f, ctx).await
}

impl Reconciler for BoothFleet {
    const KIND: &'static str = KIND;

    async fn apply(&self, api: &Api<BoothFleet>, ctx: &Context, ns: &str) -> Result<Outcome> {
        apply(api, self, ctx, ns).await
    }

    async fn write_invalid(&self, api: &Api<BoothFleet>, ctx: &Context, conds: &[Desired]) -> Result<()> {
        write(api, self, ctx, conds, None, &[], kept_devices(self)).await
    }
}

async fn apply(api: &Api<BoothFleet>, f: &BoothFleet, ctx: &Context, ns: &str) -> Result<Outcome> {
    let election = Api::<Election>::namespaced(ctx.client.clone(), ns).get_opt(&f.spec.election).await?;
    let mesas = Api::<Mesa>::namespaced(ctx.client.clone(), ns).list(&ListParams::default()).await?.items;
    let mesas: Vec<Mesa> = mesas.into_iter().filter(|m| m.spec.election == f.spec.election).collect();
    let inputs = FleetInputs { mesas: &mesas, election: election.as_ref() };
    let plan = crate::validate::boothfleet(f)
        .and_then(|()| election.as_ref().map_or(Ok(()), |e| crate::validate::boothfleet_shards(f, e)))
        .and_then(|()| build::build(f, inputs, &ctx.defaults));
    let plan = match plan {
        Ok(p) => p,
        Err(err @ crate::Error::InvalidSpec(_)) => return Ok(Outcome::Invalid(err)),
        Err(err) => return Err(err),
    };
    let owner = format!("{KIND}/{ns}/{}", f.name_any());
    super::apply::apply_all(&ctx.client, &ctx.applied, ns, &owner, &plan.children).await?;
    ensure_admin_token(ctx, ns, &plan).await?;
    let issued = ensure_secrets(f, ctx, ns, &plan).await?;
    if issued > 0 {
        ctx.event(
            f,
            EventType::Normal,
            "CertificatesIssued",
            "Issue",
            format!("{issued} certificates issued by the fleet CA"),
        )
        .await;
    }
    let desired = f.spec.broker.overrides.replicas.unwrap_or(f.spec.broker.replicas);
    let sts: Api<StatefulSet> = Api::namespaced(ctx.client.clone(), ns);
    let mut shards = Vec::with_capacity(plan.shards.len());
    for s in &plan.shards {
        let ready = sts.get_opt(&s.broker).await?.and_then(|d| d.status).and_then(|st| st.ready_replicas).unwrap_or(0);
        shards.push(shard_status(s, ready, desired));
    }
    let mut unanswered = Vec::new();
    let devices = observe(f, ctx, ns, desired, &mut shards, &mut unanswered).await?;
    let all = shards.iter().all(|s| s.broker_ready);
    let ready_shards = shards.iter().filter(|s| s.broker_ready).count();
    let msg = format!("{ready_shards}/{} broker shards ready ({desired} replicas each)", shards.len());
    let mut conds = conditions::standard(all, &msg, None);
    if let Some((reason, msg)) = crate::observe::degraded(&unanswered) {
        conditions::degrade(&mut conds, reason, msg);
    }
    write(api, f, ctx, &conds, Some(&plan), &shards, devices).await?;
    let phase = election.as_ref().map(Election::phase);
    Ok(Outcome::Done(Action::requeue(super::observe::requeue(ctx, phase, RESYNC))))
}

type Devices = (Option<u32>, Option<u32>, Option<u32>);

/// `(devicesOnline, devicesOffline, activeAlerts)` as last written.
fn kept_devices(f: &BoothFleet) -> Devices {
    let st = f.status.clone().unwrap_or_default();
    (st.devices_online, st.devices_offline, st.active_alerts)
}

/// Asks the monitor (when its pod is ready) and every replica of each fully ready broker shard; fills each
/// shard's `connections` (the last value while a replica gives none) and returns the monitor's device counts.
async fn observe(
    f: &BoothFleet,
    ctx: &Context,
    ns: &str,
    replicas: i32,
    shards: &mut [BrokerShardStatus],
    unanswered: &mut Vec<crate::observe::Unanswered>,
) -> Result<Devices> {
    let fleet = f.name_any();
    let last = f.status.clone().unwrap_or_default();
    let monitor = Api::<StatefulSet>::namespaced(ctx.client.clone(), ns).get_opt(&build::monitor_name(&fleet)).await?;
    let monitor_ready = monitor.and_then(|d| d.status).is_some_and(|s| s.ready_replicas.unwrap_or(0) >= 1);
    let (url, polled) = super::observe::ask(ctx, &Endpoint::monitor(ns, &fleet), monitor_ready).await;
    let answer = crate::observe::monitor(&fleet, &url, polled, unanswered);
    let devices = crate::observe::fleet_devices(answer.as_ref(), kept_devices(f));
    for s in shards.iter_mut() {
        let (broker, ready) = (s.broker.as_str(), s.broker_ready);
        let asks = (0..replicas).map(|i| async move {
            let (url, polled) = super::observe::ask(ctx, &Endpoint::broker_replica(ns, broker, i), ready).await;
            (format!("broker {}", build::broker_replica_service(broker, i)), url, polled)
        });
        let answers = futures::future::join_all(asks).await;
        let previous = last.shards.iter().find(|p| p.name == s.name).and_then(|p| p.connections);
        s.connections = crate::observe::broker_connections(&fleet, answers, previous, unanswered);
    }
    Ok(devices)
}

/// One shard's status line: a shard is ready when every replica is (each replica serves the booths the
/// client Service sends it).
pub fn shard_status(s: &build::ShardPlan, ready: i32, desired: i32) -> BrokerShardStatus {
    BrokerShardStatus {
        name: s.shard.clone().unwrap_or_else(|| "default".into()),
        broker: s.broker.clone(),
        devices: u32::try_from(s.devices.len()).unwrap_or(u32::MAX),
        ready: format!("{ready}/{desired}"),
        broker_ready: ready >= desired,
        connections: None,
    }
}

/// Creates the broker's generated admin token Secret when the fleet names none and it does not exist yet.
/// Never rewritten: an officer may already hold the token (`kubectl get secret <fleet>-broker-admin-token`).
async fn ensure_admin_token(ctx: &Context, ns: &str, plan: &FleetPlan) -> Result<()> {
    let Some(meta) = &plan.admin_token_secret else { return Ok(()) };
    let name = meta.name.clone().unwrap_or_default();
    let mut secrets = CreateOnce::get(Api::namespaced(ctx.client.clone(), ns), &name).await?;
    let (_, created) = secrets.ensure(meta, "Opaque", crate::token::new_secret_data).await?;
    if created {
        info!(secret = %name, "created the broker admin token Secret");
    }
    Ok(())
}

/// Creates the certificate Secrets that do not exist yet. Existing ones are never rewritten: a device's key
/// stays the one provisioned on the machine.
async fn ensure_secrets(f: &BoothFleet, ctx: &Context, ns: &str, plan: &FleetPlan) -> Result<usize> {
    if plan.secrets.is_empty() {
        return Ok(0);
    }
    let name = f.name_any();
    let selector = format!("{LABEL_FLEET}={name}");
    let mut secrets = CreateOnce::list(Api::namespaced(ctx.client.clone(), ns), &selector).await?;
    // The CA comes first in the plan, so every leaf below is issued by the stored (or just created) CA.
    let mut ca: Option<SecretData> = None;
    let mut issued = 0;
    for want in &plan.secrets {
        let (data, created) = secrets
            .ensure(&want.meta, "kubernetes.io/tls", || match (&want.kind, &ca) {
                (CertKind::Ca, _) => pki::new_ca(&name),
                (kind, Some(ca)) => pki::issue(&name, ca, kind),
                (_, None) => Err(crate::Error::MissingField("fleet CA secret")),
            })
            .await?;
        if want.kind == CertKind::Ca {
            ca = Some(data);
        }
        issued += usize::from(created);
    }
    if issued > 0 {
        info!(issued, "issued certificates");
    }
    Ok(issued)
}

async fn write(
    api: &Api<BoothFleet>,
    f: &BoothFleet,
    ctx: &Context,
    desired: &[Desired],
    plan: Option<&FleetPlan>,
    shards: &[BrokerShardStatus],
    devices: Devices,
) -> Result<()> {
    let current = f.status.clone().unwrap_or_default();
    let conds = conditions::merge(&current.conditions, desired, f.meta().generation, ctx.now());
    let ready_shards = shards.iter().filter(|s| s.broker_ready).count();
    let all_ready = plan.is_some() && shards.iter().all(|s| s.broker_ready);
    let phase = if plan.is_none() {
        "Invalid"
    } else if all_ready {
        "Ready"
    } else {
        "Provisioning"
    };
    let owned = json!({
        "phase": phase,
        "observedGeneration": f.meta().generation,
        "conditions": conds,
        // Shards whose every replica is ready, of all shards.
        "ready": format!("{ready_shards}/{}", shards.len()),
        "devicesTotal": plan.map(|p| p.devices.len()),
        "devicesBlocked": plan.map(|p| p.devices.iter().filter(|d| p.blocked.contains(&d.id)).count()),
        "brokerReady": all_ready,
        "shards": shards,
        "devicesOnline": devices.0,
        "devicesOffline": devices.1,
        "activeAlerts": devices.2,
    });
    super::status::apply(api, &f.name_any(), f.status.as_ref(), owned).await?;
    Ok(())
}
