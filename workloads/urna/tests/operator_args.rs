//! The operator and the workloads agree: every argument list the operator builds for the examples' pods
//! (vote, audit, tally) parses with the real `urna` subcommand definitions (`urna::cmd::*::Args`, the same
//! types the binary uses), once per replica with the kubelet's `$(VAR)` expansion; the vote service gets a
//! tally shard for every leaf district (ballot style) of its modality; and the examples' censuses are in the format the vote
//! service imports. The BoothFleet broker's arguments follow issue 5 and are not checked here.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use serde_json::Value;
use urna_operator::build::{self, Defaults};
use urna_operator::crd::Election;
use urna_operator::examples::ExampleSet;

/// The workload subcommands, with the binary's own argument types.
#[derive(Debug, Parser)]
#[command(name = "urna")]
struct Urna {
    #[command(subcommand)]
    command: Workload,
}

#[derive(Debug, Subcommand)]
enum Workload {
    Vote(Box<urna::cmd::vote::Args>),
    Tally(urna::cmd::tally::Args),
    Audit(urna::cmd::audit::Args),
}

const EXAMPLES: [&str; 3] = ["university", "municipal", "federal"];

fn example(name: &str) -> ExampleSet {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples").join(name);
    urna_operator::examples::load_dir(&dir).unwrap_or_else(|e| panic!("examples/{name}: {e}"))
}

/// One pod's container as the kubelet would start replica `ordinal`: `$(VAR)` in the arguments expanded
/// from the container's environment (literal values, and the pod-index label through the downward API).
fn expanded_args(sts: &Value, ordinal: i64) -> Vec<String> {
    let c = &sts["spec"]["template"]["spec"]["containers"][0];
    let mut env = BTreeMap::new();
    for var in c["env"].as_array().into_iter().flatten() {
        let name = var["name"].as_str().expect("env name").to_owned();
        let value = match (&var["value"], &var["valueFrom"]["fieldRef"]["fieldPath"]) {
            (Value::String(v), _) => v.clone(),
            (_, Value::String(p)) if p == "metadata.labels['apps.kubernetes.io/pod-index']" => ordinal.to_string(),
            other => panic!("{name}: unexpected env source {other:?}"),
        };
        env.insert(name, value);
    }
    let args: Vec<String> = serde_json::from_value(c["args"].clone()).expect("args");
    args.into_iter()
        .map(|a| {
            let mut a = a;
            for (k, v) in &env {
                a = a.replace(&format!("$({k})"), v);
            }
            assert!(!a.contains("$("), "unexpanded variable in {a:?}");
            a
        })
        .collect()
}

fn flag<'a>(args: &'a [String], name: &str) -> Vec<&'a str> {
    args.windows(2).filter(|w| w[0] == name).map(|w| w[1].as_str()).collect()
}

/// Every StatefulSet the operator runs for `e`: vote, audit and each generated shard's.
fn statefulsets(e: &Election) -> Vec<Value> {
    let d = Defaults::default();
    let mut out: Vec<Value> =
        build::election::build(e, &d).expect("election builds").into_iter().map(|c| c.body).collect();
    for shard in build::election::tally_shards(e) {
        out.extend(build::tallyshard::build(&shard, e, &d).expect("shard builds").into_iter().map(|c| c.body));
    }
    out.retain(|b| b["kind"] == "StatefulSet");
    out
}

#[test]
fn every_workload_argument_list_parses_with_the_real_cli() {
    for name in EXAMPLES {
        let set = example(name);
        for e in &set.elections {
            let manifest = e.manifest();
            let mut seen = BTreeMap::<&str, usize>::new();
            for sts in statefulsets(e) {
                let replicas = sts["spec"]["replicas"].as_i64().expect("replicas");
                for ordinal in 0..replicas {
                    let args = expanded_args(&sts, ordinal);
                    let argv = std::iter::once("urna".to_owned()).chain(args.iter().cloned());
                    let parsed = Urna::try_parse_from(argv).unwrap_or_else(|err| {
                        panic!("{name}: {} replica {ordinal}: {args:?}\n{}", sts["metadata"]["name"], err.render())
                    });
                    match parsed.command {
                        Workload::Vote(_) => {
                            *seen.entry("vote").or_default() += 1;
                            assert_eq!(flag(&args, "--partition"), [format!("{ordinal}/{replicas}")]);
                            let modality = flag(&args, "--modality")[0];
                            let mut shards = urna_vote::ShardMap::new();
                            for s in flag(&args, "--shard") {
                                shards.parse_entry(s).unwrap_or_else(|err| panic!("{name}: {err}"));
                            }
                            // Ballots are cast in leaf districts (the ballot styles the shards hold): each
                            // has a route, which is exactly what `urna vote` checks at start-up.
                            for leaf in build::election::leaf_districts(e) {
                                assert!(shards.lookup(&manifest, leaf, modality).is_some(), "{name}: {leaf}");
                            }
                            let unserved = shards.unserved(&manifest, modality);
                            assert!(unserved.is_empty(), "{name}: urna vote would refuse to start: {unserved:?}");
                            assert_eq!(flag(&args, "--audit").len(), 1);
                        }
                        Workload::Tally(_) => {
                            *seen.entry("tally").or_default() += 1;
                            for at in flag(&args, "--closes-at") {
                                urna_tally::shard::parse_instant(at).unwrap_or_else(|err| panic!("{at}: {err}"));
                            }
                            for d in flag(&args, "--districts")[0].split(',') {
                                assert!(manifest.districts.iter().any(|x| x.id == d), "{name}: district {d}");
                            }
                        }
                        Workload::Audit(_) => *seen.entry("audit").or_default() += 1,
                    }
                }
            }
            let shards = build::election::tally_shards(e).len();
            let partitions = e.spec.vote.partitions as usize;
            assert_eq!(seen, BTreeMap::from([("audit", 1), ("tally", shards), ("vote", partitions)]), "{name}");
        }
    }
}

#[test]
fn example_censuses_are_in_the_vote_service_format() {
    let mut checked = 0;
    for name in EXAMPLES {
        let set = example(name);
        for e in &set.elections {
            // A census in a Secret is created out of band (the federal example); a ConfigMap one ships with it.
            let Some(r) = &e.spec.census.config_map else { continue };
            let cm = set
                .others
                .iter()
                .find(|o| o["kind"] == "ConfigMap" && o["metadata"]["name"] == r.name.as_str())
                .unwrap_or_else(|| panic!("{name}: ConfigMap {}", r.name));
            let text = cm["data"][r.key.as_str()].as_str().unwrap_or_else(|| panic!("{name}: key {}", r.key));
            let manifest = e.manifest();
            let rows: Vec<_> = urna_vote::census::CensusReader::new(text.as_bytes(), &manifest)
                .collect::<Result<_, _>>()
                .unwrap_or_else(|err| panic!("{name}: {err}"));
            assert!(!rows.is_empty(), "{name}: empty census");
            checked += 1;
        }
    }
    assert_eq!(checked, 2, "university and municipal ship their census");
}
