//! A Mesa's child: the configuration its booths and console read (members' public keys, booths, window).

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::ConfigMap;
use kube::ResourceExt;
use serde_json::json;

use super::Child;
use crate::crd::Mesa;
use crate::crd::common::Window;
use crate::error::Result;
use crate::meta;

pub fn config_name(mesa: &str) -> String {
    format!("{mesa}-mesa")
}

/// `window` is the Mesa's effective window (its own, or the Election's booth window).
pub fn build(m: &Mesa, window: Option<&Window>) -> Result<Vec<Child>> {
    let name = m.name_any();
    let config = json!({
        "mesa": name,
        "election": m.spec.election,
        "district": m.spec.district,
        "location": m.spec.location,
        "members": m.spec.members,
        "booths": m.spec.booths,
        "window": window,
    });
    let cm = ConfigMap {
        metadata: meta::child_meta(m, config_name(&name), meta::labels("mesa", &name, &m.spec.election)),
        data: Some(BTreeMap::from([("mesa.json".into(), serde_json::to_string_pretty(&config)?)])),
        ..Default::default()
    };
    Ok(vec![Child::new(&cm)?])
}
