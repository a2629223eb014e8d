//! The four custom resources and the CRD generator.

pub mod boothfleet;
pub mod bounds;
pub mod common;
pub mod election;
pub mod mesa;
pub mod tallyshard;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::CustomResourceExt;

pub use boothfleet::{BoothFleet, BoothFleetSpec, BoothFleetStatus};
pub use election::{Election, ElectionPhase, ElectionSpec, ElectionStatus};
pub use mesa::{Mesa, MesaPhase, MesaSpec, MesaStatus};
pub use tallyshard::{TallyShard, TallyShardSpec, TallyShardStatus};

pub const GROUP: &str = "urna.dev";
pub const VERSION: &str = "v1alpha1";

/// Helm leaves CRDs with this annotation in place on uninstall: deleting a CRD deletes every Election.
const KEEP: (&str, &str) = ("helm.sh/resource-policy", "keep");

/// The CRDs as the cluster should see them: derived from the types, with every spec string and list bounded
/// (see [`bounds`]) and the Helm keep policy.
pub fn all() -> Vec<CustomResourceDefinition> {
    [Election::crd(), Mesa::crd(), BoothFleet::crd(), TallyShard::crd()].into_iter().map(finish).collect()
}

fn finish(mut crd: CustomResourceDefinition) -> CustomResourceDefinition {
    crd.metadata.annotations.get_or_insert_default().insert(KEEP.0.into(), KEEP.1.into());
    for v in &mut crd.spec.versions {
        if let Some(schema) = v.schema.as_mut().and_then(|s| s.open_api_v3_schema.as_mut()) {
            bounds::bound_spec(schema);
        }
    }
    crd
}

/// `(file name, YAML)` for each CRD, as written to `crds/` and `charts/urna/crds/`.
pub fn files() -> Result<Vec<(String, String)>, serde_yaml::Error> {
    all()
        .into_iter()
        .map(|crd| {
            let name = format!("{}.yaml", crd.metadata.name.clone().unwrap_or_default());
            let body = serde_yaml::to_string(&crd)?;
            Ok((name, format!("{HEADER}{body}")))
        })
        .collect()
}

const HEADER: &str = "# Generated from operator/src/crd by `cargo run -p urna-operator --bin crdgen`. Do not edit.\n";
