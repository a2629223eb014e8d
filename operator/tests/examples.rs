//! Every example parses into the typed resources, validates (including the ballot crate's
//! `validate_manifest`), and builds exactly the manifests in the committed snapshots.

mod common;

use common::{EXAMPLES, example};
use kube::ResourceExt;
use urna_operator::build::{self, Defaults};

/// Gives every resource a uid so the snapshots show the owner references a cluster would get.
fn with_uid<K: kube::Resource>(mut k: K) -> K {
    k.meta_mut().uid = Some("00000000-0000-4000-8000-000000000000".into());
    k
}

#[test]
fn examples_load_and_validate() {
    for name in EXAMPLES {
        let set = example(name);
        set.validate().unwrap_or_else(|e| panic!("examples/{name}: {e}"));
        assert_eq!(set.elections.len(), 1, "{name}");
        for e in &set.elections {
            urna_ballot::validate_manifest(&e.manifest()).unwrap_or_else(|err| panic!("{name}: {err}"));
        }
    }
}

#[test]
fn university_is_svt_style() {
    let set = example("university");
    let e = &set.elections[0];
    assert_eq!(set.mesas.len(), 1);
    assert_eq!(e.spec.modalities.len(), 1);
    assert!(e.spec.contests.iter().any(|c| c.kind == urna_ballot::ContestKind::MultiChoice));
    assert_eq!(build::election::tally_shards(e).len(), 1);
}

#[test]
fn municipal_has_three_districts_four_mesas_and_forty_booths() {
    let set = example("municipal");
    let e = &set.elections[0];
    assert_eq!(e.spec.districts.len(), 3);
    assert_eq!(set.mesas.len(), 4);
    assert_eq!(set.fleets.len(), 1);
    assert_eq!(set.fleets[0].spec.device_list().len(), 40);
    assert_eq!(build::election::tally_shards(e).len(), 6);
    let plan = build::boothfleet::build(&set.fleets[0], &Defaults::default()).expect("fleet builds");
    // One CA, one broker certificate, 39 devices (one is blocked).
    assert_eq!(plan.secrets.len(), 41);
}

#[test]
fn federal_has_64_shards_and_coalitions() {
    let set = example("federal");
    let e = &set.elections[0];
    assert_eq!(e.spec.districts.len(), 33);
    let shards = build::election::tally_shards(e);
    assert_eq!(shards.len(), 64);
    let president = e.spec.contests.iter().find(|c| c.id == "president").expect("president contest");
    assert_eq!(president.parties.len(), 7);
    assert_eq!(president.coalitions.len(), 2);
    assert!(president.write_in && president.null);
    assert!(e.spec.contests.iter().any(|c| c.id.starts_with("senate-")));
    assert!(e.spec.contests.iter().any(|c| c.id.starts_with("governor-")));
    let names: std::collections::BTreeSet<_> = shards.iter().map(|s| s.name_any()).collect();
    assert_eq!(names.len(), 64, "shard names are distinct");
    assert!(names.iter().all(|n| n.len() <= 52));
}

#[test]
fn snapshots_of_built_manifests() {
    let defaults = Defaults { image: "ghcr.io/urna-dev/urna:test".into() };
    for name in EXAMPLES {
        let set = example(name);
        for e in &set.elections {
            let e = with_uid(e.clone());
            let children = build::election::build(&e, &defaults).expect("election builds");
            insta::assert_yaml_snapshot!(format!("{name}-election-{}", e.name_any()), children);
            // One generated shard's own children (they all share one shape).
            if let Some(shard) = build::election::tally_shards(&e).into_iter().next() {
                let shard = with_uid(shard);
                let sc = build::tallyshard::build(&shard, &e, &defaults).expect("shard builds");
                insta::assert_yaml_snapshot!(format!("{name}-tallyshard-{}", shard.name_any()), sc);
            }
        }
        for m in &set.mesas {
            let m = with_uid(m.clone());
            let e = set.elections.iter().find(|e| e.name_any() == m.spec.election).expect("mesa's election");
            let window = urna_operator::validate::mesa_window(&m, e);
            let children = build::mesa::build(&m, window.as_ref()).expect("mesa builds");
            insta::assert_yaml_snapshot!(format!("{name}-mesa-{}", m.name_any()), children);
        }
        for f in &set.fleets {
            let f = with_uid(f.clone());
            let plan = build::boothfleet::build(&f, &defaults).expect("fleet builds");
            let secrets: Vec<_> = plan.secrets.iter().map(|s| (s.meta.name.clone(), format!("{:?}", s.kind))).collect();
            insta::assert_yaml_snapshot!(format!("{name}-boothfleet-{}", f.name_any()), (plan.children, secrets));
        }
    }
}

#[test]
fn cert_manager_issuer_yields_certificates_instead_of_secrets() {
    let mut f = example("municipal").fleets[0].clone();
    f.spec.broker.issuer =
        Some(urna_operator::crd::boothfleet::IssuerRef { name: "booth-ca".into(), kind: "ClusterIssuer".into() });
    let plan = build::boothfleet::build(&f, &Defaults::default()).expect("fleet builds");
    assert!(plan.secrets.is_empty());
    let certs: Vec<_> = plan.children.iter().filter(|c| c.kind == "Certificate").collect();
    assert_eq!(certs.len(), 1 + 39);
    assert_eq!(certs[0].api_version, "cert-manager.io/v1");
    assert_eq!(certs[1].body["spec"]["issuerRef"]["kind"], "ClusterIssuer");
}

#[test]
fn building_is_deterministic_and_fast() {
    let e = example("federal").elections[0].clone();
    let a = build::election::build(&e, &Defaults::default()).expect("builds");
    let start = std::time::Instant::now();
    let b = build::election::build(&e, &Defaults::default()).expect("builds");
    let took = start.elapsed();
    assert_eq!(a, b);
    // The budget is 50 ms in release (benches/build.rs); debug test builds get headroom.
    assert!(took.as_millis() < 500, "federal build took {took:?}");
}
