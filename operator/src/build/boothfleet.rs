//! A BoothFleet's children: broker configuration, Deployment and Service, and its certificates (cert-manager
//! Certificates when an Issuer is named, otherwise Secrets the controller fills from the fleet CA).

use std::collections::{BTreeMap, BTreeSet};

use k8s_openapi::api::apps::v1::{Deployment, DeploymentSpec};
use k8s_openapi::api::core::v1::{
    ConfigMap, ConfigMapVolumeSource, ContainerPort, PodSpec, PodTemplateSpec, SecretVolumeSource, Service,
    ServicePort, ServiceSpec, Volume, VolumeMount,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use kube::ResourceExt;
use serde_json::json;

use super::pod;
use super::{Child, Defaults};
use crate::crd::BoothFleet;
use crate::crd::boothfleet::Device;
use crate::error::Result;
use crate::meta::{self, LABEL_DEVICE, LABEL_FLEET, MAX_WORKLOAD_NAME};
use crate::pki::CertKind;
use crate::workload::{self, BROKER_CONFIG_DIR, HTTP_PORT, HTTP_PORT_NAME, TLS_DIR};

pub const BROKER: &str = "broker";
const MQTT_PORT_NAME: &str = "mqtts";

pub fn broker_name(fleet: &str) -> String {
    meta::child_name(&[fleet, BROKER], MAX_WORKLOAD_NAME)
}
pub fn ca_secret(fleet: &str) -> String {
    format!("{fleet}-ca")
}
pub fn broker_tls_secret(fleet: &str) -> String {
    format!("{fleet}-broker-tls")
}
pub fn device_secret(fleet: &str, device: &str) -> String {
    meta::child_name(&[fleet, "device", device], 253)
}

/// A certificate Secret the controller must make exist (created once, never rewritten).
#[derive(Debug, Clone, PartialEq)]
pub struct CertSecret {
    pub meta: ObjectMeta,
    pub kind: CertKind,
}

/// Everything the fleet needs.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetPlan {
    pub children: Vec<Child>,
    /// Empty when cert-manager issues the certificates.
    pub secrets: Vec<CertSecret>,
    pub devices: Vec<Device>,
    pub blocked: BTreeSet<String>,
}

pub fn build(f: &BoothFleet, defaults: &Defaults) -> Result<FleetPlan> {
    let name = f.name_any();
    let ns = f.namespace().unwrap_or_default();
    let election = &f.spec.election;
    let bname = broker_name(&name);
    let devices = f.spec.device_list();
    let blocked: BTreeSet<String> = f.spec.blocked_devices.iter().cloned().collect();
    let mut labels = meta::labels(BROKER, &bname, election);
    labels.insert(LABEL_FLEET.into(), name.clone());

    let config = json!({
        "fleet": name,
        "election": election,
        "devices": devices,
        "blockedDevices": blocked,
        "telemetry": f.spec.telemetry,
        "defaultGeofence": f.spec.default_geofence,
        "anomalyRules": f.spec.anomaly_rules,
        "alerts": f.spec.alerts,
    });
    let cm = ConfigMap {
        metadata: meta::child_meta(f, bname.clone(), labels.clone()),
        data: Some(BTreeMap::from([("broker.json".into(), serde_json::to_string_pretty(&config)?)])),
        ..Default::default()
    };

    let dns = vec![
        bname.clone(),
        format!("{bname}.{ns}"),
        format!("{bname}.{ns}.svc"),
        format!("{bname}.{ns}.svc.cluster.local"),
    ];
    let mut children = vec![Child::new(&cm)?, Child::new(&broker_deployment(f, &bname, &labels, defaults))?];
    children.push(Child::new(&broker_service(f, &bname, &labels))?);

    let secret_meta = |secret: String, device: Option<&str>| {
        let mut l = labels.clone();
        if let Some(d) = device {
            l.insert(LABEL_DEVICE.into(), d.into());
        }
        meta::child_meta(f, secret, l)
    };
    let mut wanted = vec![(secret_meta(broker_tls_secret(&name), None), CertKind::Server(dns))];
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
            let mut s = vec![CertSecret { meta: secret_meta(ca_secret(&name), None), kind: CertKind::Ca }];
            s.extend(wanted.into_iter().map(|(meta, kind)| CertSecret { meta, kind }));
            s
        }
    };
    Ok(FleetPlan { children, secrets, devices, blocked })
}

fn broker_deployment(
    f: &BoothFleet,
    bname: &str,
    labels: &BTreeMap<String, String>,
    defaults: &Defaults,
) -> Deployment {
    let name = f.name_any();
    let image = defaults.image.clone();
    let mut c = pod::container(
        BROKER,
        &image,
        workload::broker_args(&name, f.spec.broker.port),
        f.spec.broker.overrides.resources.clone(),
    );
    c.ports.get_or_insert_default().push(ContainerPort {
        name: Some(MQTT_PORT_NAME.into()),
        container_port: f.spec.broker.port,
        ..Default::default()
    });
    c.volume_mounts = Some(vec![
        VolumeMount {
            name: "config".into(),
            mount_path: BROKER_CONFIG_DIR.into(),
            read_only: Some(true),
            ..Default::default()
        },
        VolumeMount { name: "tls".into(), mount_path: TLS_DIR.into(), read_only: Some(true), ..Default::default() },
    ]);
    Deployment {
        metadata: meta::child_meta(f, bname.into(), labels.clone()),
        spec: Some(DeploymentSpec {
            replicas: Some(f.spec.broker.overrides.replicas.unwrap_or(f.spec.broker.replicas)),
            selector: LabelSelector { match_labels: Some(meta::selector(BROKER, bname)), ..Default::default() },
            template: PodTemplateSpec {
                metadata: Some(ObjectMeta { labels: Some(labels.clone()), ..Default::default() }),
                spec: Some(PodSpec {
                    containers: vec![c],
                    volumes: Some(vec![
                        Volume {
                            name: "config".into(),
                            config_map: Some(ConfigMapVolumeSource { name: bname.into(), ..Default::default() }),
                            ..Default::default()
                        },
                        Volume {
                            name: "tls".into(),
                            secret: Some(SecretVolumeSource {
                                secret_name: Some(broker_tls_secret(&name)),
                                ..Default::default()
                            }),
                            ..Default::default()
                        },
                    ]),
                    security_context: Some(pod::pod_security()),
                    automount_service_account_token: Some(false),
                    ..Default::default()
                }),
            },
            ..Default::default()
        }),
        ..Default::default()
    }
}

fn broker_service(f: &BoothFleet, bname: &str, labels: &BTreeMap<String, String>) -> Service {
    Service {
        metadata: meta::child_meta(f, bname.into(), labels.clone()),
        spec: Some(ServiceSpec {
            type_: Some(f.spec.broker.service_type.as_str().into()),
            selector: Some(meta::selector(BROKER, bname)),
            ports: Some(vec![
                ServicePort {
                    name: Some(MQTT_PORT_NAME.into()),
                    port: f.spec.broker.port,
                    target_port: Some(IntOrString::String(MQTT_PORT_NAME.into())),
                    ..Default::default()
                },
                ServicePort {
                    name: Some(HTTP_PORT_NAME.into()),
                    port: HTTP_PORT,
                    target_port: Some(IntOrString::String(HTTP_PORT_NAME.into())),
                    ..Default::default()
                },
            ]),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A cert-manager `Certificate` (cert-manager.io/v1) writing the same Secret the fleet CA would.
fn certificate(m: ObjectMeta, kind: &CertKind, issuer: &str, issuer_kind: &str) -> serde_json::Value {
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
