//! Shard assignment: which broker shard serves each device, from the Mesas' districts.

use std::collections::BTreeMap;

use kube::ResourceExt;
use urna_ballot::Districts;

use super::{FleetInputs, ShardPlan, broker_name};
use crate::crd::boothfleet::MAX_BOOTHS_PER_SHARD;
use crate::crd::{BoothFleet, Election, Mesa};
use crate::error::{Error, Result};

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
