//! The broker shards: one StatefulSet per shard, its client Service and a Service per replica.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{StatefulSet, StatefulSetSpec};
use k8s_openapi::api::core::v1::{
    Container, ContainerPort, EnvVar, EnvVarSource, PodSpec, PodTemplateSpec, SecretKeySelector, Service, ServicePort,
    ServiceSpec, Volume,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::ResourceExt;

use super::{BROKER, Defaults, broker_admin_token_secret, broker_replica_service, broker_tls_secret};
use super::{fleet_volume, mounts, tls_volume};
use crate::build::pod;
use crate::crd::BoothFleet;
use crate::meta;
use crate::workload::{self, BLOCKLIST_FILE, BROKER_ADMIN_TOKEN_ENV, BrokerArgs, HTTP_PORT, HTTP_PORT_NAME, TOKEN_KEY};

const MQTT_PORT_NAME: &str = "mqtts";
/// The label the StatefulSet controller puts on each pod with its name.
const STS_POD_NAME_LABEL: &str = "statefulset.kubernetes.io/pod-name";

/// The brokers' admin token in [`BROKER_ADMIN_TOKEN_ENV`], for the brokers and the monitor that calls them:
/// the fleet's own token Secret, else the one the operator generates, so the admin API is never open.
pub(super) fn broker_admin_token_env(f: &BoothFleet) -> EnvVar {
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

fn pod_spec(containers: Vec<Container>, volumes: Vec<Volume>) -> PodSpec {
    PodSpec {
        containers,
        volumes: Some(volumes),
        security_context: Some(pod::pod_security()),
        automount_service_account_token: Some(false),
        ..Default::default()
    }
}

/// One broker shard: a StatefulSet so each replica has a stable name the backends can address (see
/// [`broker_replica_service`]). The broker keeps nothing on disk (booths and collector hold the durable
/// copies), so there is no volume claim, and replicas start in parallel.
pub(super) fn broker_statefulset(
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

/// The MQTT port (`mqtt_port`, the fleet's `spec.broker.port`) and the status port, by their container ports' names.
fn broker_ports(mqtt_port: i32) -> Vec<ServicePort> {
    vec![
        ServicePort {
            name: Some(MQTT_PORT_NAME.into()),
            port: mqtt_port,
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
pub(super) fn broker_service(f: &BoothFleet, broker: &str, labels: &BTreeMap<String, String>) -> Service {
    Service {
        metadata: meta::child_meta(f, broker.into(), labels.clone()),
        spec: Some(ServiceSpec {
            type_: Some(f.spec.broker.service_type.as_str().into()),
            selector: Some(meta::selector(BROKER, broker)),
            ports: Some(broker_ports(f.spec.broker.port)),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// One replica's own Service (see [`broker_replica_service`]), for the backends: MQTT for the collector and
/// monitor, and the status port, where the operator reads the replica's connections and the monitor sends
/// officers' blocks to this replica's blocklist.
pub(super) fn broker_replica(f: &BoothFleet, broker: &str, ordinal: i32, labels: &BTreeMap<String, String>) -> Service {
    let name = broker_replica_service(broker, ordinal);
    Service {
        metadata: meta::child_meta(f, name.clone(), labels.clone()),
        spec: Some(ServiceSpec {
            selector: Some(BTreeMap::from([(STS_POD_NAME_LABEL.into(), name)])),
            ports: Some(broker_ports(f.spec.broker.port)),
            ..Default::default()
        }),
        ..Default::default()
    }
}
