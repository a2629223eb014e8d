//! A TallyShard's children: one single-writer StatefulSet with its PVC, and a headless Service.

use kube::ResourceExt;

use super::pod;
use super::{Child, Defaults};
use crate::build::election::{TALLY, manifest_name};
use crate::crd::TallyShard;
use crate::error::Result;
use crate::meta::{self, LABEL_SHARD, MAX_WORKLOAD_NAME};
use crate::workload;

pub fn workload_name(shard: &str) -> String {
    meta::child_name(&[shard], MAX_WORKLOAD_NAME)
}

pub fn build(s: &TallyShard, defaults: &Defaults) -> Result<Vec<Child>> {
    let name = s.name_any();
    let wname = workload_name(&name);
    let election = &s.spec.election;
    let image = s
        .spec
        .image
        .clone()
        .unwrap_or_else(|| defaults.image.clone());
    let mut labels = meta::labels(TALLY, &wname, election);
    labels.insert(LABEL_SHARD.into(), name.clone());
    let c = pod::container(
        TALLY,
        &image,
        workload::tally_args(&name, election),
        s.spec.resources.clone(),
    );
    let sts = pod::single_writer(
        meta::child_meta(s, wname.clone(), labels.clone()),
        meta::selector(TALLY, &wname),
        c,
        &s.spec.storage,
        &manifest_name(election),
    );
    let svc = pod::http_service(
        meta::child_meta(s, wname.clone(), labels),
        meta::selector(TALLY, &wname),
        true,
    );
    Ok(vec![Child::new(&sts)?, Child::new(&svc)?])
}
