//! The monitor (operations centre): its StatefulSet and Service, its alert sinks, the RBAC for its Events,
//! and its Ingress.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{
    EnvVar, EnvVarSource, HTTPGetAction, ObjectFieldSelector, Probe, Service, ServiceAccount,
};
use k8s_openapi::api::networking::v1::Ingress;
use k8s_openapi::api::rbac::v1::{PolicyRule, Role, RoleBinding, RoleRef, Subject};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::ResourceExt;
use sha2::{Digest, Sha256};

use super::broker::broker_admin_token_env;
use super::{Defaults, MONITOR, backend_tls_secret, fleet_volume, monitor_name, mounts, tls_volume};
use crate::build::pod;
use crate::crd::BoothFleet;
use crate::meta;
use crate::workload::{self, BackendArgs, HTTP_PORT_NAME, MonitorOps, MonitorSinks, RULES_FILE, WEBHOOK_CA_DIR};

const RULES_HASH_ANNOTATION: &str = "urna.dev/rules-hash";

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
pub(super) fn monitor(
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
pub(super) fn monitor_ingress(f: &BoothFleet, labels: BTreeMap<String, String>) -> Option<Ingress> {
    let spec = f.spec.monitor.ingress.as_ref()?;
    let name = monitor_name(&f.name_any());
    let metadata = meta::child_meta(f, name.clone(), labels);
    Some(crate::build::election::ingress_to(metadata, spec, &name, &[("/ops/", "Prefix"), ("/v1/ops/", "Prefix")]))
}
