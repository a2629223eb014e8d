//! What `urna local` runs for an example: the election's manifest and policy and its tally shards, derived
//! with the operator's own builders so the local run and the cluster run the same blueprint.

use anyhow::{Result, bail};
use urna_ballot::ElectionManifest;
use urna_operator::build::election::{leaf_districts, tally_shards};
use urna_operator::crd::Election;
use urna_operator::examples::ExampleSet;
use urna_tally::Modality;

pub struct ShardPlan {
    pub name: String,
    /// The ballot styles it holds.
    pub districts: Vec<String>,
    pub modality: Modality,
}

/// A Mesa with booths: its voters are admitted at its console and vote on its booths.
pub struct MesaPlan {
    pub id: String,
    pub district: String,
    pub booths: Vec<String>,
}

/// The election's BoothFleet: the broker's fleet name, the Mesas with booths from it, and the fleet
/// monitor's rules as the operator writes them (devices' Mesas, districts and geofences, officers).
pub struct FleetPlan {
    pub name: String,
    pub mesas: Vec<MesaPlan>,
    pub rules: urna_booth::rules::FleetRules,
}

pub struct LocalPlan {
    pub election: String,
    pub manifest: ElectionManifest,
    pub trustees: u32,
    pub threshold: u32,
    pub modalities: Vec<Modality>,
    /// Leaf districts with at least one contest: where simulated voters live.
    pub districts: Vec<String>,
    pub shards: Vec<ShardPlan>,
    pub booths: usize,
    pub fleet: Option<FleetPlan>,
}

/// Picks the election (the only one, or the one named) and derives everything else from it.
pub fn plan(set: &ExampleSet, name: Option<&str>) -> Result<LocalPlan> {
    let election: &Election = match name {
        Some(n) => match set.elections.iter().find(|e| e.metadata.name.as_deref() == Some(n)) {
            Some(e) => e,
            None => bail!("no Election named {n:?} in the example"),
        },
        None => match set.elections.as_slice() {
            [e] => e,
            [] => bail!("the example holds no Election"),
            _ => bail!("the example holds several Elections; pick one with --election NAME"),
        },
    };
    let election_name = election.metadata.name.clone().unwrap_or_default();
    let manifest = election.manifest();
    let leaves: Vec<String> = leaf_districts(election).into_iter().map(str::to_owned).collect();
    let districts: Vec<String> =
        leaves.iter().filter(|d| !urna_ballot::contests_for_district(&manifest, d).is_empty()).cloned().collect();
    if districts.is_empty() {
        bail!("election {election_name}: no district has a contest");
    }
    let mut modalities: Vec<Modality> = election.spec.modalities.iter().map(|m| m.kind).collect();
    modalities.sort_by_key(|m| m.as_str());
    let mut shards: Vec<ShardPlan> = tally_shards(election)
        .into_iter()
        .map(|t| ShardPlan {
            name: t.metadata.name.clone().unwrap_or_default(),
            districts: match &t.spec.district {
                Some(d) => vec![d.clone()],
                None => leaves.clone(),
            },
            modality: t.spec.modality,
        })
        .collect();
    // Manual sharding: the example's own TallyShard resources.
    shards.extend(set.shards.iter().filter(|t| t.spec.election == election_name).map(|t| ShardPlan {
        name: t.metadata.name.clone().unwrap_or_default(),
        districts: match &t.spec.district {
            Some(d) => vec![d.clone()],
            None => leaves.clone(),
        },
        modality: t.spec.modality,
    }));
    for s in &mut shards {
        s.districts.sort();
        s.districts.dedup();
    }
    let booths =
        set.fleets.iter().filter(|f| f.spec.election == election_name).map(|f| f.spec.device_list().len()).sum();
    let fleet = fleet_plan(set, election)?;
    Ok(LocalPlan {
        election: election_name,
        manifest,
        trustees: election.spec.trustees.trustees,
        threshold: election.spec.trustees.threshold,
        modalities,
        districts,
        shards,
        booths,
        fleet,
    })
}

/// The election's fleet and its Mesas' booths (a Mesa's `booths.devices`, or else the fleet devices naming
/// it), as the operator assigns them.
fn fleet_plan(set: &ExampleSet, election_resource: &Election) -> Result<Option<FleetPlan>> {
    let election = election_resource.metadata.name.as_deref().unwrap_or_default();
    let fleets: Vec<_> = set.fleets.iter().filter(|f| f.spec.election == election).collect();
    let fleet = match fleets.as_slice() {
        [] => return Ok(None),
        [f] => f,
        _ => bail!("election {election} has several BoothFleets; urna local runs one"),
    };
    let name = fleet.metadata.name.clone().unwrap_or_default();
    let devices = fleet.spec.device_list();
    let mut mesas = Vec::new();
    for m in set.mesas.iter().filter(|m| m.spec.election == election) {
        let Some(assigned) = m.spec.booths.as_ref().filter(|b| b.fleet == name) else { continue };
        let id = m.metadata.name.clone().unwrap_or_default();
        let booths: Vec<String> = if assigned.devices.is_empty() {
            devices.iter().filter(|d| d.mesa.as_deref() == Some(id.as_str())).map(|d| d.id.clone()).collect()
        } else {
            assigned.devices.clone()
        };
        if !booths.is_empty() {
            mesas.push(MesaPlan { id, district: m.spec.district.clone(), booths });
        }
    }
    let election_mesas: Vec<_> = set.mesas.iter().filter(|m| m.spec.election == election).cloned().collect();
    let inputs =
        urna_operator::build::boothfleet::FleetInputs { mesas: &election_mesas, election: Some(election_resource) };
    let rules = urna_operator::build::boothfleet::monitor_rules(fleet, inputs);
    Ok(Some(FleetPlan { name, mesas, rules }))
}
