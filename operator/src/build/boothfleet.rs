//! A BoothFleet's children: the fleet ConfigMap (blocklist, monitor rules, shard map), one broker StatefulSet
//! with its Services per shard, the collector and the monitor, and the certificates (cert-manager
//! Certificates when an Issuer is named, otherwise Secrets the controller fills from the fleet CA).
//!
//! Pure: the fleet, its Mesas and its Election in, objects out. The Mesas give each device its district
//! (shard assignment), geofence, window and census (monitor rules).

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::apps::v1::{StatefulSet, StatefulSetSpec};
use k8s_openapi::api::core::v1::{
    ConfigMap, ConfigMapVolumeSource, Container, ContainerPort, EnvVar, EnvVarSource, HTTPGetAction, KeyToPath,
    ObjectFieldSelector, PodSpec, PodTemplateSpec, Probe, SecretKeySelector, SecretVolumeSource, Service,
    ServiceAccount, ServicePort, ServiceSpec, Volume, VolumeMount,
};
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::api::rbac::v1::{PolicyRule, Role, RoleBinding, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::ResourceExt;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use urna_ballot::Districts;

use super::{Child, Defaults};
use super::{booth_vote, pod};
use crate::crd::boothfleet::{Device, MAX_BOOTHS_PER_SHARD};
use crate::crd::{BoothFleet, Election, Mesa};
use crate::error::{Error, Result};
use crate::meta::{self, LABEL_DEVICE, LABEL_FLEET, MAX_WORKLOAD_NAME};
use crate::pki::CertKind;
use crate::workload::{
    self, BLOCKLIST_FILE, BRIDGE_TOKEN_DIR, BROKER_ADMIN_TOKEN_ENV, BackendArgs, BrokerArgs, FLEET_CONFIG_DIR,
    FLEET_FILE, HTTP_PORT, HTTP_PORT_NAME, MonitorOps, MonitorSinks, RULES_FILE, TLS_DIR, TOKEN_KEY, WEBHOOK_CA_DIR,
};

pub const BROKER: &str = "broker";
pub const COLLECTOR: &str = "collector";
pub const MONITOR: &str = "monitor";
const MQTT_PORT_NAME: &str = "mqtts";
const TLS_VOLUME: &str = "tls";
const FLEET_VOLUME: &str = "fleet";
/// The label the StatefulSet controller puts on each pod with its name.
const RULES_HASH_ANNOTATION: &str = "urna.dev/rules-hash";
const STS_POD_NAME_LABEL: &str = "statefulset.kubernetes.io/pod-name";

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

/// Device id → its Mesa: a Mesa of this fleet that lists the device in `booths.devices` wins over the
/// device's own `mesa` (the Mesa resource is where the assignment is made on election day).
pub fn device_mesas(f: &BoothFleet, mesas: &[Mesa]) -> BTreeMap<String, String> {
    let name = f.name_any();
    let mut out: BTreeMap<String, String> =
        f.spec.device_list().into_iter().filter_map(|d| d.mesa.map(|m| (d.id, m))).collect();
    for m in mesas {
        let Some(b) = m.spec.booths.as_ref().filter(|b| b.fleet == name) else { continue };
        for d in &b.devices {
            out.insert(d.clone(), m.name_any());
        }
    }
    out
}

/// `district` and its ancestors in the Election's tree (itself only without the Election).
fn district_and_ancestors<'a>(district: &'a str, e: Option<&'a Election>) -> Vec<&'a str> {
    e.map_or_else(|| vec![district], |e| Districts::new(&e.spec.districts).self_and_ancestors(district))
}

/// Assigns every device to a broker shard, deterministically from the specs alone: a device goes to the
/// first shard (in declaration order) listing its Mesa's district or an ancestor of it; a shard without
/// districts takes every device not matched before it. Refused (InvalidSpec): a device no shard takes
/// (its Mesa unknown or its district unlisted, and no catch-all shard), or a shard above
/// [`MAX_BOOTHS_PER_SHARD`].
pub fn assign_shards(f: &BoothFleet, inputs: FleetInputs<'_>) -> Result<Vec<ShardPlan>> {
    let name = f.name_any();
    let devices = f.spec.device_list();
    let mut shards: Vec<ShardPlan> =
        if f.spec.broker.shards.is_empty() {
            vec![ShardPlan { shard: None, broker: broker_name(&name, None), devices }]
        } else {
            let mesa_of = device_mesas(f, inputs.mesas);
            let district_of: BTreeMap<String, &str> =
                inputs.mesas.iter().map(|m| (m.name_any(), m.spec.district.as_str())).collect();
            let mut out: Vec<ShardPlan> = f
                .spec
                .broker
                .shards
                .iter()
                .map(|s| ShardPlan {
                    shard: Some(s.name.clone()),
                    broker: broker_name(&name, Some(&s.name)),
                    devices: vec![],
                })
                .collect();
            let mut unassigned = Vec::new();
            for d in devices {
                let chain = mesa_of
                    .get(&d.id)
                    .and_then(|m| district_of.get(m))
                    .map(|district| district_and_ancestors(district, inputs.election))
                    .unwrap_or_default();
                let pick =
                    f.spec.broker.shards.iter().position(|s| {
                        s.districts.is_empty() || s.districts.iter().any(|x| chain.contains(&x.as_str()))
                    });
                match pick {
                    Some(i) => out[i].devices.push(d),
                    None => unassigned.push(d.id),
                }
            }
            if !unassigned.is_empty() {
                let shown: Vec<_> = unassigned.iter().take(5).collect();
                return Err(Error::InvalidSpec(format!(
                    "spec.broker.shards: {} devices match no shard (their Mesa's district is in no shard's districts, \
                 or the Mesa does not exist) and no shard without districts takes them: {shown:?}",
                    unassigned.len()
                )));
            }
            out
        };
    for s in &mut shards {
        if s.devices.len() > MAX_BOOTHS_PER_SHARD {
            return Err(Error::InvalidSpec(format!(
                "spec.broker.shards: shard {} has {} devices, above the {MAX_BOOTHS_PER_SHARD} booths a broker \
                 shard serves; split its districts over more shards",
                s.broker,
                s.devices.len()
            )));
        }
    }
    Ok(shards)
}

fn millis(t: &k8s_openapi::apimachinery::pkg::apis::meta::v1::Time) -> Option<u64> {
    u64::try_from(t.0.as_millisecond()).ok()
}

/// The fleet monitor's rules (`urna booth monitor --rules`, `urna_booth::fleet::FleetRules`): per unblocked
/// device its Mesa, geofence (the Mesa's, else the fleet default; none when `anomalyRules.geofence` is off),
/// window (the Mesa's effective window, Unix ms) and census (the Mesa's `registeredVoters`), and the fleet
/// thresholds. Thresholds the BoothFleet leaves unset are omitted so the monitor's defaults apply.
pub fn monitor_rules(f: &BoothFleet, inputs: FleetInputs<'_>) -> Value {
    let r = &f.spec.anomaly_rules;
    let blocked: BTreeSet<&str> = f.spec.blocked_devices.iter().map(String::as_str).collect();
    let mesa_of = device_mesas(f, inputs.mesas);
    let geofence = |g: &crate::crd::common::Geofence| json!({ "lat": g.latitude, "lon": g.longitude, "radiusM": f64::from(g.radius_meters) });
    let mut devices = serde_json::Map::new();
    for d in f.spec.device_list() {
        if blocked.contains(d.id.as_str()) {
            continue;
        }
        let mesa_name = mesa_of.get(&d.id).cloned().unwrap_or_default();
        let mesa = inputs.mesas.iter().find(|m| m.name_any() == mesa_name);
        let mut rules = serde_json::Map::new();
        rules.insert("mesa".into(), json!(mesa_name));
        // Routes the device's alerts to the officers of its district.
        if let Some(m) = mesa {
            rules.insert("district".into(), json!(m.spec.district));
        }
        if r.geofence {
            let g = mesa.and_then(|m| m.spec.location.geofence.as_ref()).or(f.spec.default_geofence.as_ref());
            if let Some(g) = g {
                rules.insert("geofence".into(), geofence(g));
            }
        }
        let window = mesa.and_then(|m| match inputs.election {
            Some(e) => crate::validate::mesa_window(m, e),
            None => m.spec.window.clone(),
        });
        if let Some(w) = window {
            if let Some(ms) = millis(&w.opens_at) {
                rules.insert("opensMs".into(), json!(ms));
            }
            if let Some(ms) = millis(&w.closes_at) {
                rules.insert("closesMs".into(), json!(ms));
            }
        }
        if let Some(n) = mesa.and_then(|m| m.spec.registered_voters) {
            rules.insert("census".into(), json!(n));
        }
        devices.insert(d.id, Value::Object(rules));
    }
    let mut out = json!({
        "devices": devices,
        "offlineAfterMs": u64::from(r.offline_after_seconds) * 1000,
        "votesPerHourLimit": f64::from(r.max_ballots_per_minute) * 60.0,
    });
    if let Some(z) = r.vote_rate_z {
        out["voteRateZ"] = json!(z);
    }
    if let Some(n) = r.flap_connects {
        out["flapConnects"] = json!(n);
    }
    if let Some(s) = r.flap_window_seconds {
        out["flapWindowMs"] = json!(u64::from(s) * 1000);
    }
    if !f.spec.officers.is_empty() {
        out["officers"] = json!(f.spec.officers);
    }
    out
}

/// `urna broker --blocklist`: one id per line, `#` comments.
fn blocklist(fleet: &str, blocked: &BTreeSet<String>) -> String {
    let mut s = format!("# Blocked devices of BoothFleet {fleet} (spec.blockedDevices), written by the operator.\n");
    for d in blocked {
        s.push_str(d);
        s.push('\n');
    }
    s
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
            (BLOCKLIST_FILE.into(), blocklist(&name, &blocked)),
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
        children.push(Child::new(&broker_statefulset(f, &s.broker, &labels, replicas, defaults))?);
        children.push(Child::new(&broker_service(f, &s.broker, &labels))?);
        for i in 0..replicas {
            children.push(Child::new(&broker_replica(f, &s.broker, i, &labels))?);
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
    let bridge = inputs.election.filter(|e| booth_vote::booth_spec(e).is_some()).map(|e| Bridge {
        vote: booth_vote::booth_vote_url(e),
        token_secret: booth_vote::bridge_token_secret(&e.name_any()),
    });
    children.push(Child::new(&collector(f, &backend, bridge.as_ref(), &fleet_labels, defaults))?);
    if let Some((sa, role, binding)) = monitor_rbac(f, &fleet_labels(MONITOR, &monitor_name(&name))) {
        children.push(Child::new(&sa)?);
        children.push(Child::new(&role)?);
        children.push(Child::new(&binding)?);
    }
    let audit = workload::service_url(&super::election::audit_name(election), f.namespace().as_deref());
    let ops = MonitorOps { broker_admin, audit, tiles: f.spec.monitor.tiles.clone() };
    let (monitor, monitor_svc) = monitor(f, &backend, &ops, &rules, &fleet_labels, defaults);
    children.push(Child::new(&monitor)?);
    children.push(Child::new(&monitor_svc)?);
    if let Some(ingress) = monitor_ingress(f, fleet_labels(MONITOR, &monitor_name(&name))) {
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
    let secrets = match &f.spec.broker.issuer {
        Some(issuer) => {
            for (m, kind) in wanted {
                children.push(Child::from_value(certificate(m, &kind, &issuer.name, &issuer.kind))?);
            }
            vec![]
        }
        None => {
            // The CA Secret has no owner: deleting the BoothFleet (or re-creating it) must not take the CA
            // with it, or every certificate already provisioned on a voting machine would stop verifying.
            // It is deleted by hand, if ever.
            let mut ca = secret_meta(ca_secret(&name), None);
            ca.owner_references = None;
            let mut s = vec![CertSecret { meta: ca, kind: CertKind::Ca }];
            s.extend(wanted.into_iter().map(|(meta, kind)| CertSecret { meta, kind }));
            s
        }
    };
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

fn pod_spec(containers: Vec<Container>, volumes: Vec<Volume>) -> PodSpec {
    PodSpec {
        containers,
        volumes: Some(volumes),
        security_context: Some(pod::pod_security()),
        automount_service_account_token: Some(false),
        ..Default::default()
    }
}

/// The brokers' admin token in [`BROKER_ADMIN_TOKEN_ENV`], for the brokers and the monitor that calls them:
/// the fleet's own token Secret, else the one the operator generates, so the admin API is never open.
fn broker_admin_token_env(f: &BoothFleet) -> EnvVar {
    let (token_secret, token_key) = match &f.spec.broker.admin_token {
        Some(t) => (t.name.clone(), t.key.clone()),
        None => (broker_admin_token_secret(&f.name_any()), TOKEN_KEY.into()),
    };
    EnvVar {
        name: BROKER_ADMIN_TOKEN_ENV.into(),
        value_from: Some(EnvVarSource {
            secret_key_ref: Some(SecretKeySelector { name: token_secret, key: token_key, optional: Some(false) }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// One broker shard: a StatefulSet so each replica has a stable name the backends can address (see
/// [`broker_replica_service`]). The broker keeps nothing on disk (booths and collector hold the durable
/// copies), so there is no volume claim, and replicas start in parallel.
fn broker_statefulset(
    f: &BoothFleet,
    broker: &str,
    labels: &BTreeMap<String, String>,
    replicas: i32,
    defaults: &Defaults,
) -> StatefulSet {
    let name = f.name_any();
    let rate = f.spec.broker.rate_limit.as_ref().map(|r| (r.messages_per_second, r.burst));
    let args = workload::broker_args(&BrokerArgs { fleet: name.clone(), port: f.spec.broker.port, rate });
    let mut c = pod::container(BROKER, &defaults.image, args, f.spec.broker.overrides.resources.clone());
    c.ports.get_or_insert_default().push(ContainerPort {
        name: Some(MQTT_PORT_NAME.into()),
        container_port: f.spec.broker.port,
        ..Default::default()
    });
    c.env = Some(vec![broker_admin_token_env(f)]);
    c.volume_mounts = Some(mounts());
    StatefulSet {
        metadata: meta::child_meta(f, broker.into(), labels.clone()),
        spec: Some(StatefulSetSpec {
            replicas: Some(replicas),
            service_name: Some(broker.into()),
            pod_management_policy: Some("Parallel".into()),
            selector: LabelSelector { match_labels: Some(meta::selector(BROKER, broker)), ..Default::default() },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta { labels: Some(labels.clone()), ..Default::default() }),
                spec: Some(pod_spec(
                    vec![c],
                    vec![tls_volume(broker_tls_secret(broker)), fleet_volume(&name, &[BLOCKLIST_FILE])],
                )),
            },
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn broker_ports() -> Vec<ServicePort> {
    vec![
        ServicePort {
            name: Some(MQTT_PORT_NAME.into()),
            port: 0,
            target_port: Some(IntOrString::String(MQTT_PORT_NAME.into())),
            ..Default::default()
        },
        ServicePort {
            name: Some(HTTP_PORT_NAME.into()),
            port: HTTP_PORT,
            target_port: Some(IntOrString::String(HTTP_PORT_NAME.into())),
            ..Default::default()
        },
    ]
}

/// The Service booths connect to (type from the spec: usually a LoadBalancer).
fn broker_service(f: &BoothFleet, broker: &str, labels: &BTreeMap<String, String>) -> Service {
    let mut ports = broker_ports();
    ports[0].port = f.spec.broker.port;
    Service {
        metadata: meta::child_meta(f, broker.into(), labels.clone()),
        spec: Some(ServiceSpec {
            type_: Some(f.spec.broker.service_type.as_str().into()),
            selector: Some(meta::selector(BROKER, broker)),
            ports: Some(ports),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// One replica's own Service (see [`broker_replica_service`]), for the backends: MQTT for the collector and
/// monitor, and the status port, where the operator reads the replica's connections and the monitor sends
/// officers' blocks to this replica's blocklist.
fn broker_replica(f: &BoothFleet, broker: &str, ordinal: i32, labels: &BTreeMap<String, String>) -> Service {
    let name = broker_replica_service(broker, ordinal);
    let mut ports = broker_ports();
    ports[0].port = f.spec.broker.port;
    Service {
        metadata: meta::child_meta(f, name.clone(), labels.clone()),
        spec: Some(ServiceSpec {
            selector: Some(BTreeMap::from([(STS_POD_NAME_LABEL.into(), name)])),
            ports: Some(ports),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Where the collector bridges booth ballots: the Election's booth vote service and its bridge token.
struct Bridge {
    vote: String,
    token_secret: String,
}

const BRIDGE_TOKEN_VOLUME: &str = "bridge-token";

/// The collector: one writer of `DATA/inbox.redb` on a retained volume; with a [`Bridge`], it also submits
/// every booth ballot to the booth vote service. `urna booth collect` serves no HTTP, so the container has
/// no port and no probes (an HTTP probe would kill it).
fn collector(
    f: &BoothFleet,
    backend: &BackendArgs,
    bridge: Option<&Bridge>,
    labels: &dyn Fn(&str, &str) -> BTreeMap<String, String>,
    defaults: &Defaults,
) -> StatefulSet {
    let name = collector_name(&f.name_any());
    let spec = &f.spec.collector;
    let args = workload::collector_args(backend, bridge.map(|b| b.vote.as_str()));
    let mut c = pod::container(COLLECTOR, &defaults.image, args, spec.overrides.resources.clone());
    c.ports = None;
    c.readiness_probe = None;
    c.liveness_probe = None;
    let mut mounts = vec![pod::read_only_mount(TLS_VOLUME, TLS_DIR), pod::data_mount()];
    let mut volumes = vec![tls_volume(backend_tls_secret(&f.name_any()))];
    if let Some(b) = bridge {
        mounts.push(pod::read_only_mount(BRIDGE_TOKEN_VOLUME, BRIDGE_TOKEN_DIR));
        volumes.push(pod::key_volume(BRIDGE_TOKEN_VOLUME, pod::KeySource::Secret, &b.token_secret, TOKEN_KEY));
    }
    c.volume_mounts = Some(mounts);
    let meta = meta::child_meta(f, name.clone(), labels(COLLECTOR, &name));
    pod::writer_set(meta, meta::selector(COLLECTOR, &name), c, &spec.storage, volumes, 1, false)
}

/// Whether the monitor raises Kubernetes Events (`alerts.events`, on unless set to false).
pub fn monitor_events(f: &BoothFleet) -> bool {
    f.spec.alerts.as_ref().is_none_or(|a| a.events)
}

/// The monitor's sinks: Events on this BoothFleet unless `alerts.events: false`; the HTTPS webhook with its
/// private CA when set.
pub fn monitor_sinks(f: &BoothFleet) -> MonitorSinks {
    let alerts = f.spec.alerts.as_ref();
    MonitorSinks {
        events: monitor_events(f),
        fleet_object: f.namespace().map(|ns| format!("{ns}/{}", f.name_any())),
        webhook: alerts.and_then(|a| a.webhook.clone()),
        webhook_ca: alerts.filter(|a| a.webhook.is_some()).and_then(|a| a.webhook_ca.as_ref()).map(|r| r.key.clone()),
    }
}

/// The monitor's ServiceAccount, Role and RoleBinding (all `<fleet>-monitor`), when it raises Events: create
/// and patch (kube's Recorder folds repeats into a series) on events.k8s.io Events, and get on this
/// BoothFleet only (read once for its uid, which `kubectl describe` matches Events on). The operator holds
/// both permissions itself, which Kubernetes requires of whoever grants them.
pub fn monitor_rbac(f: &BoothFleet, labels: &BTreeMap<String, String>) -> Option<(ServiceAccount, Role, RoleBinding)> {
    if !monitor_events(f) {
        return None;
    }
    let name = monitor_name(&f.name_any());
    let m = meta::child_meta(f, name.clone(), labels.clone());
    let sa = ServiceAccount { metadata: m.clone(), ..Default::default() };
    let role = Role {
        metadata: m.clone(),
        rules: Some(vec![
            PolicyRule {
                api_groups: Some(vec!["events.k8s.io".into()]),
                resources: Some(vec!["events".into()]),
                verbs: vec!["create".into(), "patch".into()],
                ..Default::default()
            },
            PolicyRule {
                api_groups: Some(vec!["urna.dev".into()]),
                resources: Some(vec!["boothfleets".into()]),
                resource_names: Some(vec![f.name_any()]),
                verbs: vec!["get".into()],
                ..Default::default()
            },
        ]),
    };
    let binding = RoleBinding {
        metadata: m,
        role_ref: RoleRef { api_group: "rbac.authorization.k8s.io".into(), kind: "Role".into(), name: name.clone() },
        subjects: Some(vec![Subject {
            kind: "ServiceAccount".into(),
            name,
            namespace: f.namespace(),
            ..Default::default()
        }]),
    };
    Some((sa, role, binding))
}

/// `POD_NAMESPACE` and `POD_NAME` from the downward API (the Events' reporting instance and namespace).
fn downward_env() -> Vec<EnvVar> {
    let field = |name: &str, path: &str| EnvVar {
        name: name.into(),
        value_from: Some(EnvVarSource {
            field_ref: Some(ObjectFieldSelector { field_path: path.into(), ..Default::default() }),
            ..Default::default()
        }),
        ..Default::default()
    };
    vec![field("POD_NAMESPACE", "metadata.namespace"), field("POD_NAME", "metadata.name")]
}

const WEBHOOK_CA_VOLUME: &str = "webhook-ca";

/// The monitor: rules from the fleet ConfigMap, alert feed on the HTTP port (it serves `/healthz` only, so
/// both probes use it). It reads its rules once at start, so the pod template carries their hash: a change
/// (a Mesa moved, a threshold edited) rolls the monitor. Alerts also go to the HTTPS webhook and, unless
/// `alerts.events: false`, to Events on the BoothFleet under its own ServiceAccount ([`monitor_rbac`]); only
/// then does the pod get a service-account token. It is also the operations centre: one writer of its
/// store on a retained volume (a StatefulSet of one, as the collector), calling every broker replica's
/// blocklist API with the brokers' admin token, and appending officers' actions to the Election's audit log
/// with its internal token.
fn monitor(
    f: &BoothFleet,
    backend: &BackendArgs,
    ops: &MonitorOps,
    rules: &str,
    labels: &dyn Fn(&str, &str) -> BTreeMap<String, String>,
    defaults: &Defaults,
) -> (StatefulSet, Service) {
    let fleet = f.name_any();
    let name = monitor_name(&fleet);
    let sinks = monitor_sinks(f);
    let args = workload::monitor_args(backend, &sinks, ops);
    let mut c = pod::container(MONITOR, &defaults.image, args, f.spec.monitor.overrides.resources.clone());
    c.env = Some([downward_env(), vec![broker_admin_token_env(f)]].concat());
    let healthz = Probe {
        http_get: Some(HTTPGetAction {
            path: Some("/healthz".into()),
            port: IntOrString::String(HTTP_PORT_NAME.into()),
            ..Default::default()
        }),
        period_seconds: Some(10),
        ..Default::default()
    };
    c.readiness_probe = Some(healthz.clone());
    c.liveness_probe = Some(healthz);
    let mut mounts = [mounts(), vec![pod::data_mount(), pod::internal_token_mount()]].concat();
    let mut volumes = vec![
        tls_volume(backend_tls_secret(&fleet)),
        fleet_volume(&fleet, &[RULES_FILE]),
        pod::internal_token_volume(&f.spec.election),
    ];
    if let Some(r) = f.spec.alerts.as_ref().filter(|_| sinks.webhook_ca.is_some()).and_then(|a| a.webhook_ca.as_ref()) {
        mounts.push(pod::read_only_mount(WEBHOOK_CA_VOLUME, WEBHOOK_CA_DIR));
        volumes.push(pod::key_volume(WEBHOOK_CA_VOLUME, pod::KeySource::ConfigMap, &r.name, &r.key));
    }
    c.volume_mounts = Some(mounts);
    let l = labels(MONITOR, &name);
    // One monitor sees the whole fleet; two would alert twice.
    let mut set = pod::writer_set(
        meta::child_meta(f, name.clone(), l.clone()),
        meta::selector(MONITOR, &name),
        c,
        &f.spec.monitor.storage,
        volumes,
        1,
        false,
    );
    if let Some(template) = set.spec.as_mut().map(|s| &mut s.template) {
        let rules_hash = hex::encode(Sha256::digest(rules.as_bytes()));
        template.metadata.get_or_insert_default().annotations =
            Some(BTreeMap::from([(RULES_HASH_ANNOTATION.into(), rules_hash)]));
        if let Some(spec) = template.spec.as_mut().filter(|_| sinks.events) {
            spec.service_account_name = Some(name.clone());
            spec.automount_service_account_token = Some(true);
        }
    }
    let svc = pod::http_service(meta::child_meta(f, name.clone(), l), meta::selector(MONITOR, &name), false);
    (set, svc)
}

/// `spec.monitor.ingress`: the dashboard and the officers' API (every route of which needs an officer's
/// token), never the monitor's alert feed, probes or metrics.
fn monitor_ingress(f: &BoothFleet, labels: BTreeMap<String, String>) -> Option<Ingress> {
    let spec = f.spec.monitor.ingress.as_ref()?;
    let name = monitor_name(&f.name_any());
    let metadata = meta::child_meta(f, name.clone(), labels);
    Some(crate::build::election::ingress_to(metadata, spec, &name, &[("/ops/", "Prefix"), ("/v1/ops/", "Prefix")]))
}

/// A cert-manager `Certificate` (cert-manager.io/v1) writing the same Secret the fleet CA would.
fn certificate(m: ObjectMeta, kind: &CertKind, issuer: &str, issuer_kind: &str) -> Value {
    let secret = m.name.clone().unwrap_or_default();
    let (common_name, dns, usages) = match kind {
        CertKind::Server(dns) => {
            (dns.first().cloned().unwrap_or_default(), dns.clone(), vec!["server auth", "digital signature"])
        }
        CertKind::Device(id) => (id.clone(), vec![], vec!["client auth", "digital signature"]),
        CertKind::Ca => (secret.clone(), vec![], vec!["cert sign"]),
    };
    let mut spec = json!({
        "secretName": secret,
        "commonName": common_name,
        "usages": usages,
        "privateKey": { "algorithm": "ECDSA", "size": 256, "rotationPolicy": "Never" },
        "issuerRef": { "name": issuer, "kind": issuer_kind, "group": "cert-manager.io" },
    });
    if !dns.is_empty() {
        spec["dnsNames"] = json!(dns);
    }
    json!({ "apiVersion": "cert-manager.io/v1", "kind": "Certificate", "metadata": m, "spec": spec })
}
