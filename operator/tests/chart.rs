//! What can be checked of the Helm chart without a helm binary: values against their schema, CRDs identical
//! to `crds/` (in crds.rs), and RBAC covering exactly the resources the controllers touch.

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;

use urna_operator::build::Defaults;

fn chart() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../charts/urna")
}

fn read(p: &str) -> String {
    std::fs::read_to_string(chart().join(p)).unwrap_or_else(|e| panic!("{p}: {e}"))
}

fn schema() -> jsonschema::Validator {
    let schema: serde_json::Value = serde_json::from_str(&read("values.schema.json")).expect("schema is JSON");
    jsonschema::validator_for(&schema).expect("schema compiles")
}

#[test]
fn default_values_match_the_schema() {
    let values: serde_json::Value = serde_yaml::from_str(&read("values.yaml")).expect("values.yaml parses");
    let v = schema();
    let errors: Vec<String> = v.iter_errors(&values).map(|e| format!("{}: {e}", e.instance_path)).collect();
    assert!(errors.is_empty(), "{errors:?}");
}

#[test]
fn schema_rejects_typos_and_bad_values() {
    let mut values: serde_json::Value = serde_yaml::from_str(&read("values.yaml")).expect("values.yaml parses");
    let v = schema();
    values["replicas"] = 2.into();
    assert!(!v.is_valid(&values), "unknown key accepted");
    values.as_object_mut().expect("object").remove("replicas");
    values["image"]["pullPolicy"] = "Sometimes".into();
    assert!(!v.is_valid(&values), "bad pullPolicy accepted");
}

/// Every kind the builders produce (across all examples, with and without cert-manager) is granted in
/// rbac.yaml, and nothing beyond them (plus the urna.dev kinds, events and leases) is.
#[test]
fn rbac_covers_exactly_what_the_controllers_touch() {
    let rbac = read("templates/rbac.yaml");
    let mut kinds = BTreeSet::new();
    let d = Defaults::default();
    for name in common::EXAMPLES {
        let set = common::example(name);
        for e in &set.elections {
            kinds.extend(urna_operator::build::election::build(e, &d).expect("build").into_iter().map(|c| c.kind));
            // Closing's objects (controller::closing), with a ceremony so the export Job is built.
            let mut closing = e.clone();
            closing.spec.record.ceremony = Some("ceremony".into());
            let shards = urna_operator::build::election::tally_shards(e);
            let job = urna_operator::build::record::export_job(&closing, &d.image, &shards).expect("a Job");
            let (deployment, service) = urna_operator::build::record::decryption_service(e, &d.image);
            for child in [
                urna_operator::build::Child::new(&urna_operator::build::record::record_volume(e)).expect("pvc"),
                urna_operator::build::Child::new(&job).expect("job"),
                urna_operator::build::Child::new(&deployment).expect("deployment"),
                urna_operator::build::Child::new(&service).expect("service"),
                urna_operator::build::Child::new(&urna_operator::build::record::results_config_map(e, "{}"))
                    .expect("configmap"),
            ] {
                kinds.insert(child.kind);
            }
            for s in urna_operator::build::election::tally_shards(e) {
                kinds.extend(
                    urna_operator::build::tallyshard::build(&s, e, &d).expect("build").into_iter().map(|c| c.kind),
                );
            }
        }
        for f in &set.fleets {
            let inputs = urna_operator::build::boothfleet::FleetInputs {
                mesas: &set.mesas,
                election: set.elections.iter().find(|e| e.metadata.name.as_deref() == Some(f.spec.election.as_str())),
            };
            let mut f = f.clone();
            kinds.extend(
                urna_operator::build::boothfleet::build(&f, inputs, &d)
                    .expect("build")
                    .children
                    .into_iter()
                    .map(|c| c.kind),
            );
            f.spec.broker.issuer =
                Some(urna_operator::crd::boothfleet::IssuerRef { name: "i".into(), kind: "Issuer".into() });
            kinds.extend(
                urna_operator::build::boothfleet::build(&f, inputs, &d)
                    .expect("build")
                    .children
                    .into_iter()
                    .map(|c| c.kind),
            );
        }
    }
    kinds.insert("Secret".into());
    let plural = |k: &str| match k {
        "NetworkPolicy" => "networkpolicies".to_string(),
        "Ingress" => "ingresses".to_string(),
        other => format!("{}s", other.to_lowercase()),
    };
    for k in &kinds {
        assert!(rbac.contains(&format!("\"{}\"", plural(k))), "rbac.yaml does not grant {k}");
    }
    let granted: BTreeSet<String> = rbac
        .lines()
        .filter_map(|l| l.trim().strip_prefix("resources: ["))
        .flat_map(|l| {
            l.trim_end_matches(']').split(',').map(|r| r.trim().trim_matches('"').to_string()).collect::<Vec<_>>()
        })
        .filter(|r| !r.contains('/'))
        .collect();
    let mut allowed: BTreeSet<String> = kinds.iter().map(|k| plural(k)).collect();
    allowed.extend(["elections", "mesas", "boothfleets", "tallyshards", "events", "leases"].map(String::from));
    let extra: Vec<_> = granted.difference(&allowed).collect();
    assert!(extra.is_empty(), "rbac.yaml grants more than the controllers touch: {extra:?}");
    assert!(!rbac.contains("\"*\""), "no wildcards");
    assert!(!rbac.contains("\"delete\""), "the operator never deletes");
}

#[test]
fn templates_reference_only_known_values() {
    let values: serde_yaml::Value = serde_yaml::from_str(&read("values.yaml")).expect("values.yaml parses");
    for entry in std::fs::read_dir(chart().join("templates")).expect("templates") {
        let path = entry.expect("entry").path();
        let text = std::fs::read_to_string(&path).expect("template");
        for (i, _) in text.match_indices(".Values.") {
            let rest = &text[i + ".Values.".len()..];
            let key: String = rest.chars().take_while(|c| c.is_alphanumeric() || *c == '.').collect();
            let mut node = &values;
            for part in key.trim_end_matches('.').split('.') {
                node =
                    node.get(part).unwrap_or_else(|| panic!("{}: .Values.{key} is not in values.yaml", path.display()));
            }
        }
    }
}

/// The chart's ValidatingAdmissionPolicy refuses exactly the deletions the operator's finalizer refuses: its
/// CEL (files/election-deletion.cel, included verbatim by templates/deletion-protection.yaml) is evaluated
/// against `Election::deletion_refusal` for every phase, with and without an exported record and the
/// override annotation.
#[test]
fn deletion_policy_agrees_with_the_finalizer() {
    use kube::core::cel::cel::{Context, Program, Value as Cel};
    use urna_operator::crd::ElectionPhase;
    let rule = read("files/election-deletion.cel");
    let template = read("templates/deletion-protection.yaml");
    assert!(template.contains(".Files.Get \"files/election-deletion.cel\""), "the template uses the file");
    let program = Program::compile(rule.trim()).expect("the policy's CEL parses");
    let base = common::example("municipal").elections[0].clone();
    let phases = [
        None,
        Some(ElectionPhase::Pending),
        Some(ElectionPhase::Scheduled),
        Some(ElectionPhase::Open),
        Some(ElectionPhase::Closed),
        Some(ElectionPhase::Tallying),
        Some(ElectionPhase::Decrypted),
        Some(ElectionPhase::Certified),
        Some(ElectionPhase::Failed),
    ];
    let mut refused = 0;
    for phase in phases {
        for exported in [false, true] {
            for annotated in [false, true] {
                let mut e = base.clone();
                if phase.is_some() || exported {
                    e.status = Some(urna_operator::crd::ElectionStatus {
                        phase,
                        record_exported_at: exported.then(|| {
                            k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(
                                "2027-06-08T00:00:00Z".parse().expect("ts"),
                            )
                        }),
                        ..Default::default()
                    });
                }
                if annotated {
                    e.metadata.annotations =
                        Some([("urna.dev/allow-delete".to_string(), "true".to_string())].into_iter().collect());
                }
                let mut ctx = Context::default();
                ctx.add_variable("oldObject", serde_json::to_value(&e).expect("json")).expect("variable");
                let allowed = program.execute(&ctx).expect("evaluates");
                let rust = e.deletion_refusal();
                assert_eq!(
                    allowed,
                    Cel::Bool(rust.is_none()),
                    "phase {phase:?}, exported {exported}, annotated {annotated}: finalizer says {rust:?}"
                );
                refused += usize::from(rust.is_some());
            }
        }
    }
    assert!(refused >= 6, "the table covers refusals: {refused}");
}
