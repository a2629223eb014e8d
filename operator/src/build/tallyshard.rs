//! A TallyShard's children: one single-writer StatefulSet with its PVC, and a headless Service.

use kube::ResourceExt;

use super::pod;
use super::{Child, Defaults};
use crate::build::election::{TALLY, leaves_under, manifest_name};
use crate::crd::{Election, TallyShard};
use crate::error::Result;
use crate::meta::{self, LABEL_SHARD, MAX_WORKLOAD_NAME};
use crate::workload;

pub fn workload_name(shard: &str) -> String {
    meta::child_name(&[shard], MAX_WORKLOAD_NAME)
}

/// `election` supplies the ballot styles (leaf districts) and the closing instant of the shard's modality.
pub fn build(s: &TallyShard, election: &Election, defaults: &Defaults) -> Result<Vec<Child>> {
    let name = s.name_any();
    let wname = workload_name(&name);
    let e = election;
    let election = &s.spec.election;
    let image = s.spec.image.clone().unwrap_or_else(|| defaults.image.clone());
    let mut labels = meta::labels(TALLY, &wname, election);
    labels.insert(LABEL_SHARD.into(), name.clone());
    let districts = leaves_under(e, s.spec.district.as_deref());
    let window = e
        .spec
        .modalities
        .iter()
        .find(|m| m.kind == s.spec.modality)
        .map(|m| (m.opens_at.0.to_string(), m.closes_at.0.to_string()));
    let args = workload::tally_args(&name, &districts, s.spec.modality.as_str(), window);
    let c = pod::container(TALLY, &image, args, s.spec.resources.clone());
    let sts = pod::single_writer(
        meta::child_meta(s, wname.clone(), labels.clone()),
        meta::selector(TALLY, &wname),
        c,
        &s.spec.storage,
        &manifest_name(election),
        election,
    );
    let svc = pod::http_service(meta::child_meta(s, wname.clone(), labels), meta::selector(TALLY, &wname), true);
    Ok(vec![Child::new(&sts)?, Child::new(&svc)?])
}
