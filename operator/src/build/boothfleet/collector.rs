//! The collector: the one writer of booth ballots, and their bridge to the booth vote service.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::StatefulSet;
use kube::ResourceExt;

use super::{COLLECTOR, Defaults, TLS_VOLUME, backend_tls_secret, collector_name, tls_volume};
use crate::build::pod;
use crate::crd::BoothFleet;
use crate::meta;
use crate::workload::{self, BRIDGE_TOKEN_DIR, BackendArgs, TLS_DIR, TOKEN_KEY};

/// Where the collector bridges booth ballots: the Election's booth vote service and its bridge token.
pub(super) struct Bridge {
    pub(super) vote: String,
    pub(super) token_secret: String,
}

const BRIDGE_TOKEN_VOLUME: &str = "bridge-token";

/// The collector: one writer of `DATA/inbox.redb` on a retained volume; with a [`Bridge`], it also submits
/// every booth ballot to the booth vote service. `urna booth collect` serves no HTTP, so the container has
/// no port and no probes (an HTTP probe would kill it).
pub(super) fn collector(
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
