//! A BoothFleet's children: the fleet ConfigMap (blocklist, monitor rules, shard map), one broker StatefulSet
//! with its Services per shard, the collector and the monitor, and the certificates (cert-manager
//! Certificates when an Issuer is named, otherwise Secrets the controller fills from the fleet CA).
//!
//! Pure: the fleet, its Mesas and its Election in, objects out. The Mesas give each device its district
//! (shard assignment), geofence, window and census (monitor rules).

mod broker;
mod certificates;
mod collector;
mod monitor;
mod rules;
mod shards;

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::core::v1::{
    ConfigMap, ConfigMapVolumeSource, KeyToPath, SecretVolumeSource, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use kube::ResourceExt;
use serde_json::{Value, json};

pub use self::monitor::{monitor_events, monitor_rbac, monitor_sinks};
pub use self::rules::monitor_rules;
pub use self::shards::{assign_shards, device_mesas};
use super::{Child, Defaults};
use super::{booth_vote, pod};
use crate::crd::BoothFleet;
use crate::crd::boothfleet::Device;
use crate::crd::{Election, Mesa};
use crate::error::Result;
use crate::meta::{self, LABEL_DEVICE, LABEL_FLEET, MAX_WORKLOAD_NAME};
use crate::pki::CertKind;
use crate::workload::{
    self, BLOCKLIST_FILE, BackendArgs, FLEET_CONFIG_DIR, FLEET_FILE, HTTP_PORT, MonitorOps, RULES_FILE, TLS_DIR,
};

pub const BROKER: &str = "broker";
pub const COLLECTOR: &str = "collector";
pub const MONITOR: &str = "monitor";
const TLS_VOLUME: &str = "tls";
const FLEET_VOLUME: &str = "fleet";

/// The broker workload (StatefulSet and client Service) of shard `shard`; `None` is the single shard of a
/// fleet that declares none, named as before shards existed.
pub fn broker_name(fleet: &str, shard: Option<&str>) -> String {
    match shard {
        None => meta::child_name(&[fleet, BROKER], MAX_WORKLOAD_NAME),
        Some(s) => meta::child_name(&[fleet, BROKER, s], MAX_WORKLOAD_NAME),
    }
}
/// The ClusterIP Service of one broker replica (`<broker>-<i>`, selecting that pod by its StatefulSet pod
/// name). Every replica is a separate rumqttd, so backends address them one by one; a ClusterIP outlives
/// pod restarts, which matters because `urna booth collect|monitor` resolve `--broker` once at start.
pub fn broker_replica_service(broker: &str, ordinal: i32) -> String {
    format!("{broker}-{ordinal}")
}
pub fn fleet_config_name(fleet: &str) -> String {
    meta::child_name(&[fleet, "fleet"], 253)
}
pub fn collector_name(fleet: &str) -> String {
    meta::child_name(&[fleet, COLLECTOR], MAX_WORKLOAD_NAME)
}
pub fn monitor_name(fleet: &str) -> String {
    meta::child_name(&[fleet, MONITOR], MAX_WORKLOAD_NAME)
}
pub fn ca_secret(fleet: &str) -> String {
    format!("{fleet}-ca")
}
/// A shard's server certificate (`<fleet>-broker-tls` for the single default shard, as before shards).
pub fn broker_tls_secret(broker: &str) -> String {
    format!("{broker}-tls")
}
/// The broker's admin token the operator generates when `spec.broker.adminToken` names none (key
/// [`TOKEN_KEY`]): the broker refuses to start with its blocklist API open.
pub fn broker_admin_token_secret(fleet: &str) -> String {
    format!("{fleet}-broker-admin-token")
}
/// The backends' client certificate (CN [`workload::BACKEND_CN`]), shared by collector and monitor.
pub fn backend_tls_secret(fleet: &str) -> String {
    format!("{fleet}-backend-tls")
}
pub fn device_secret(fleet: &str, device: &str) -> String {
    meta::child_name(&[fleet, "device", device], 253)
}
/// The name every broker certificate carries besides its own Service names, so one `--server-name` lets a
/// backend verify every shard (it is the single shard's real Service name when no shards are declared).
pub fn fleet_server_name(fleet: &str, ns: &str) -> String {
    format!("{}.{ns}.svc", broker_name(fleet, None))
}

/// A certificate Secret the controller must make exist (created once, never rewritten).
#[derive(Debug, Clone, PartialEq)]
pub struct CertSecret {
    pub meta: ObjectMeta,
    pub kind: CertKind,
}

/// One broker shard and the devices it serves.
#[derive(Debug, Clone, PartialEq)]
pub struct ShardPlan {
    /// `None`: the fleet declares no shards.
    pub shard: Option<String>,
    /// Its StatefulSet and client Service.
    pub broker: String,
    pub devices: Vec<Device>,
}

/// Everything the fleet needs.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetPlan {
    pub children: Vec<Child>,
    /// Empty when cert-manager issues the certificates.
    pub secrets: Vec<CertSecret>,
    pub devices: Vec<Device>,
    pub blocked: BTreeSet<String>,
    pub shards: Vec<ShardPlan>,
    /// The admin token Secret to create once when the fleet names none (`spec.broker.adminToken`).
    pub admin_token_secret: Option<ObjectMeta>,
}

/// What the fleet reads from other resources: the Mesas of its namespace and its Election (absent when not
/// created yet; windows then come from the Mesas alone and districts cover only themselves).
#[derive(Debug, Clone, Copy, Default)]
pub struct FleetInputs<'a> {
    pub mesas: &'a [Mesa],
    pub election: Option<&'a Election>,
}

pub fn build(f: &BoothFleet, inputs: FleetInputs<'_>, defaults: &Defaults) -> Result<FleetPlan> {
    let name = f.name_any();
    let ns = f.namespace().unwrap_or_default();
    let election = &f.spec.election;
    let devices = f.spec.device_list();
    let blocked: BTreeSet<String> = f.spec.blocked_devices.iter().cloned().collect();
    let shards = assign_shards(f, inputs)?;
    let fleet_labels = |component: &str, instance: &str| {
        let mut l = meta::labels(component, instance, election);
        l.insert(LABEL_FLEET.into(), name.clone());
        l
    };

    // The shard map: which broker each device connects to (what booth provisioning needs).
    let shard_map: Vec<Value> = shards
        .iter()
        .map(|s| {
            json!({
                "shard": s.shard,
                "broker": format!("{}.{ns}.svc:{}", s.broker, f.spec.broker.port),
                "devices": s.devices.iter().map(|d| &d.id).collect::<Vec<_>>(),
            })
        })
        .collect();
    let fleet_json = json!({ "fleet": name, "election": election, "shards": shard_map });
    let config_name = fleet_config_name(&name);
    let rules = serde_json::to_string_pretty(&monitor_rules(f, inputs))?;
    let cm = ConfigMap {
        metadata: meta::child_meta(f, config_name.clone(), fleet_labels("fleet", &config_name)),
        data: Some(BTreeMap::from([
            (BLOCKLIST_FILE.into(), rules::blocklist(&name, &blocked)),
            (RULES_FILE.into(), rules.clone()),
            (FLEET_FILE.into(), serde_json::to_string_pretty(&fleet_json)?),
        ])),
        ..Default::default()
    };
    let mut children = vec![Child::new(&cm)?];
    let replicas = f.spec.broker.overrides.replicas.unwrap_or(f.spec.broker.replicas);
    let server_name = fleet_server_name(&name, &ns);
    let mut wanted = Vec::new();
    let mut brokers = Vec::new();
    let mut broker_admin = Vec::new();
    for s in &shards {
        let labels = fleet_labels(BROKER, &s.broker);
        children.push(Child::new(&broker::broker_statefulset(f, &s.broker, &labels, replicas, defaults))?);
        children.push(Child::new(&broker::broker_service(f, &s.broker, &labels))?);
        for i in 0..replicas {
            children.push(Child::new(&broker::broker_replica(f, &s.broker, i, &labels))?);
        }
        let b = &s.broker;
        let mut dns =
            vec![b.clone(), format!("{b}.{ns}"), format!("{b}.{ns}.svc"), format!("{b}.{ns}.svc.cluster.local")];
        if !dns.contains(&server_name) {
            dns.push(server_name.clone());
        }
        wanted.push((meta::child_meta(f, broker_tls_secret(b), labels.clone()), CertKind::Server(dns)));
        for i in 0..replicas {
            let replica = broker_replica_service(b, i);
            brokers.push(format!("{replica}.{ns}.svc:{}", f.spec.broker.port));
            broker_admin.push(format!("http://{replica}.{ns}.svc:{HTTP_PORT}"));
        }
    }
    let backend = BackendArgs { fleet: name.clone(), brokers, server_name };
    // The bridge needs the Election's booth vote service; without it (no Election yet, or no
    // `spec.vote.booth`) the collector keeps booth ballots and bridges nothing.
    let bridge = inputs.election.filter(|e| booth_vote::booth_spec(e).is_some()).map(|e| collector::Bridge {
        vote: booth_vote::booth_vote_url(e),
        token_secret: booth_vote::bridge_token_secret(&e.name_any()),
    });
    children.push(Child::new(&collector::collector(f, &backend, bridge.as_ref(), &fleet_labels, defaults))?);
    if let Some((sa, role, binding)) = monitor_rbac(f, &fleet_labels(MONITOR, &monitor_name(&name))) {
        children.push(Child::new(&sa)?);
        children.push(Child::new(&role)?);
        children.push(Child::new(&binding)?);
    }
    let audit = workload::service_url(&super::election::audit_name(election), f.namespace().as_deref());
    let ops = MonitorOps { broker_admin, audit, tiles: f.spec.monitor.tiles.clone() };
    let (monitor, monitor_svc) = monitor::monitor(f, &backend, &ops, &rules, &fleet_labels, defaults);
    children.push(Child::new(&monitor)?);
    children.push(Child::new(&monitor_svc)?);
    if let Some(ingress) = monitor::monitor_ingress(f, fleet_labels(MONITOR, &monitor_name(&name))) {
        children.push(Child::new(&ingress)?);
    }

    let secret_meta = |secret: String, device: Option<&str>| {
        let mut l = fleet_labels(BROKER, &broker_name(&name, None));
        if let Some(d) = device {
            l.insert(LABEL_DEVICE.into(), d.into());
        }
        meta::child_meta(f, secret, l)
    };
    wanted.push((secret_meta(backend_tls_secret(&name), None), CertKind::Device(workload::BACKEND_CN.into())));
    for d in devices.iter().filter(|d| !blocked.contains(&d.id)) {
        wanted.push((secret_meta(device_secret(&name, &d.id), Some(&d.id)), CertKind::Device(d.id.clone())));
    }
    let secrets = certificates::issue(f, wanted, secret_meta(ca_secret(&name), None), &mut children)?;
    let admin_token_secret = f.spec.broker.admin_token.is_none().then(|| {
        let secret = broker_admin_token_secret(&name);
        meta::child_meta(f, secret.clone(), fleet_labels(BROKER, &secret))
    });
    Ok(FleetPlan { children, secrets, devices, blocked, shards, admin_token_secret })
}

/// A Secret with `ca.crt`, `tls.crt` and `tls.key` as a volume, readable by the pod's group only.
fn tls_volume(secret: String) -> Volume {
    Volume {
        name: TLS_VOLUME.into(),
        secret: Some(SecretVolumeSource { secret_name: Some(secret), default_mode: Some(0o440), ..Default::default() }),
        ..Default::default()
    }
}

/// The fleet ConfigMap with only `keys` projected. Mounted as a directory (not `subPath`) so the kubelet's
/// updates reach the running pod: the broker re-reads its blocklist when it changes.
fn fleet_volume(fleet: &str, keys: &[&str]) -> Volume {
    Volume {
        name: FLEET_VOLUME.into(),
        config_map: Some(ConfigMapVolumeSource {
            name: fleet_config_name(fleet),
            items: Some(
                keys.iter().map(|k| KeyToPath { key: (*k).into(), path: (*k).into(), ..Default::default() }).collect(),
            ),
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn mounts() -> Vec<VolumeMount> {
    vec![pod::read_only_mount(TLS_VOLUME, TLS_DIR), pod::read_only_mount(FLEET_VOLUME, FLEET_CONFIG_DIR)]
}
