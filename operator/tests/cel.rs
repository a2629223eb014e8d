//! The CRDs' CEL rules (`x-kubernetes-validations`), evaluated in-process with kube's CEL validator
//! (kube-cel, with the Kubernetes extension functions) against the committed schemas and the examples.

mod common;

use kube::core::cel::Validator;
use serde_json::{Value, json};

fn schema(kind: &str) -> Value {
    let crd = urna_operator::crd::all()
        .into_iter()
        .find(|c| c.spec.names.kind == kind)
        .unwrap_or_else(|| panic!("no CRD for {kind}"));
    serde_json::to_value(crd.spec.versions[0].schema.as_ref().and_then(|s| s.open_api_v3_schema.as_ref()))
        .expect("schema json")
}

fn check(kind: &str, obj: &Value, old: Option<&Value>) -> Result<(), String> {
    Validator::new().validate(&schema(kind), obj, old).map_err(|e| format!("{e:?}"))
}

fn municipal_election() -> Value {
    serde_json::to_value(&common::example("municipal").elections[0]).expect("json")
}

#[test]
fn every_example_passes_the_rules() {
    for name in common::EXAMPLES {
        let set = common::example(name);
        for e in &set.elections {
            check("Election", &serde_json::to_value(e).expect("json"), None)
                .unwrap_or_else(|err| panic!("{name}: {err}"));
        }
        for m in &set.mesas {
            check("Mesa", &serde_json::to_value(m).expect("json"), None).unwrap_or_else(|err| panic!("{name}: {err}"));
        }
        for f in &set.fleets {
            check("BoothFleet", &serde_json::to_value(f).expect("json"), None)
                .unwrap_or_else(|err| panic!("{name}: {err}"));
        }
    }
}

#[test]
fn closes_at_must_follow_opens_at() {
    let mut e = municipal_election();
    e["spec"]["modalities"][0]["closesAt"] = json!("2027-05-01T00:00:00Z");
    let err = check("Election", &e, None).expect_err("rule must fire");
    assert!(err.contains("closesAt must be after opensAt"), "{err}");
}

#[test]
fn threshold_cannot_exceed_trustees() {
    let mut e = municipal_election();
    e["spec"]["trustees"] = json!({ "trustees": 3, "threshold": 4 });
    let err = check("Election", &e, None).expect_err("rule must fire");
    assert!(err.contains("threshold must not exceed trustees"), "{err}");
}

#[test]
fn ids_must_be_unique() {
    let mut e = municipal_election();
    let first = e["spec"]["districts"][0].clone();
    e["spec"]["districts"].as_array_mut().expect("districts").push(first);
    let err = check("Election", &e, None).expect_err("rule must fire");
    assert!(err.contains("district ids must be unique"), "{err}");

    let mut e = municipal_election();
    let first = e["spec"]["contests"][0].clone();
    e["spec"]["contests"].as_array_mut().expect("contests").push(first);
    let err = check("Election", &e, None).expect_err("rule must fire");
    assert!(err.contains("contest ids must be unique"), "{err}");
}

#[test]
fn contest_districts_must_exist() {
    let mut e = municipal_election();
    e["spec"]["contests"][0]["districts"] = json!(["atlantis"]);
    let err = check("Election", &e, None).expect_err("rule must fire");
    assert!(err.contains("every contest district must be one of spec.districts"), "{err}");
}

#[test]
fn census_needs_exactly_one_source() {
    let mut e = municipal_election();
    e["spec"]["census"]["secret"] = json!({ "name": "census", "key": "census.csv" });
    let err = check("Election", &e, None).expect_err("rule must fire");
    assert!(err.contains("exactly one"), "{err}");
    e["spec"]["census"] = json!({});
    let err = check("Election", &e, None).expect_err("rule must fire");
    assert!(err.contains("exactly one"), "{err}");
}

#[test]
fn vote_partitions_are_fixed_at_creation() {
    let old = municipal_election();
    let mut new = old.clone();
    new["spec"]["vote"]["partitions"] = json!(3);
    let err = check("Election", &new, Some(&old)).expect_err("transition rule must fire");
    assert!(err.contains("spec.vote.partitions is immutable"), "{err}");
    // The signing key reference may be rotated to another Secret (same key material) at any time.
    new["spec"]["vote"]["partitions"] = old["spec"]["vote"]["partitions"].clone();
    new["spec"]["vote"]["signingKey"]["name"] = json!("other-secret");
    check("Election", &new, Some(&old)).expect("signing key reference is editable");
}

#[test]
fn contests_keys_and_districts_are_immutable_once_open() {
    let with_phase = |phase: &str| {
        let mut e = municipal_election();
        e["status"] = json!({ "phase": phase });
        e
    };
    for (field, change) in
        [("contests", json!("Otro título")), ("districts", json!("Otro distrito")), ("keys", json!("ff"))]
    {
        let mut new = with_phase("Open");
        match field {
            "contests" => new["spec"]["contests"][0]["title"] = change,
            "districts" => new["spec"]["districts"][0]["name"] = change,
            _ => new["spec"]["keys"]["paillierModulus"] = change,
        }
        let err = check("Election", &new, Some(&with_phase("Open"))).expect_err("transition rule must fire");
        assert!(err.contains(&format!("spec.{field} is immutable")), "{field}: {err}");
        // Before opening the same edit is allowed.
        let mut before = new.clone();
        before["status"]["phase"] = json!("Scheduled");
        check("Election", &before, Some(&with_phase("Scheduled"))).unwrap_or_else(|err| panic!("{field}: {err}"));
    }
    // Fields outside the locked ones stay editable while Open (e.g. the vote resources).
    let mut new = with_phase("Open");
    new["spec"]["vote"]["resources"] = json!({ "requests": { "cpu": "1" } });
    check("Election", &new, Some(&with_phase("Open"))).expect("vote resources are editable while Open");
}

#[test]
fn mesa_needs_a_president_and_keeps_its_election() {
    let m = serde_json::to_value(&common::example("municipal").mesas[0]).expect("json");
    let mut no_president = m.clone();
    no_president["spec"]["members"] = json!([{ "id": "a", "name": "A", "role": "secretary", "signingKey": "ab" }]);
    let err = check("Mesa", &no_president, None).expect_err("rule must fire");
    assert!(err.contains("president"), "{err}");
    let mut moved = m.clone();
    moved["spec"]["election"] = json!("other");
    let err = check("Mesa", &moved, Some(&m)).expect_err("rule must fire");
    assert!(err.contains("spec.election is immutable"), "{err}");
}

#[test]
fn broker_shard_names_are_unique() {
    let mut f = serde_json::to_value(&common::example("municipal").fleets[0]).expect("json");
    f["spec"]["broker"]["shards"] = json!([{ "name": "norte", "districts": ["norte"] }, { "name": "resto" }]);
    check("BoothFleet", &f, None).expect("distinct shards pass");
    f["spec"]["broker"]["shards"] = json!([{ "name": "norte", "districts": ["norte"] }, { "name": "norte" }]);
    let err = check("BoothFleet", &f, None).expect_err("duplicate shard");
    assert!(err.contains("shard names must be unique"), "{err}");
}

#[test]
fn booth_vote_needs_a_booth_modality_and_its_own_census() {
    let mut e = municipal_election();
    assert!(e["spec"]["vote"]["booth"].is_object(), "the municipal example runs the booth vote service");
    e["spec"]["vote"]["booth"]["census"] = e["spec"]["census"].clone();
    let err = check("Election", &e, None).expect_err("rule must fire");
    assert!(err.contains("spec.vote.booth.census must not be spec.census"), "{err}");

    let mut e = municipal_election();
    e["spec"]["modalities"].as_array_mut().expect("modalities").retain(|m| m["kind"] == "remote");
    let err = check("Election", &e, None).expect_err("rule must fire");
    assert!(err.contains("spec.vote.booth needs a booth modality"), "{err}");
}
