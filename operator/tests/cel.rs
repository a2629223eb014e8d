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
fn the_witness_quorum_cannot_exceed_the_witnesses() {
    let mut e = municipal_election();
    let key = "ab".repeat(32);
    e["spec"]["audit"]["witnesses"] =
        json!({ "quorum": 2, "witnesses": [{ "name": "testigo.example", "publicKey": key }] });
    let err = check("Election", &e, None).expect_err("rule must fire");
    assert!(err.contains("quorum must not exceed the number of witnesses"), "{err}");
    e["spec"]["audit"]["witnesses"]["quorum"] = json!(1);
    check("Election", &e, None).expect("one of one");
}

/// Uniqueness is the apiserver's own list-map check (linear), not a quadratic CEL rule: each keyed list is
/// declared `x-kubernetes-list-type: map` with its key, which the key's schema requires.
#[test]
fn ids_are_unique_by_list_map_keys() {
    for (kind, path, key) in [
        ("Election", &["spec", "districts"][..], "id"),
        ("Election", &["spec", "contests"], "id"),
        ("Election", &["spec", "modalities"], "kind"),
        ("Mesa", &["spec", "members"], "id"),
        ("BoothFleet", &["spec", "devices"], "id"),
        ("BoothFleet", &["spec", "perMesa"], "mesa"),
        ("BoothFleet", &["spec", "broker", "shards"], "name"),
    ] {
        let mut node = schema(kind);
        for p in path {
            node = node["properties"][p].clone();
        }
        assert_eq!(node["x-kubernetes-list-type"], "map", "{kind} {path:?}");
        assert_eq!(node["x-kubernetes-list-map-keys"], json!([key]), "{kind} {path:?}");
        let required = node["items"]["required"].as_array().cloned().unwrap_or_default();
        assert!(required.contains(&json!(key)), "{kind} {path:?}: a map key must be required");
        assert!(!node.to_string().contains("exists_one"), "{kind} {path:?}: no quadratic rule left");
    }
    let blocked = &schema("BoothFleet")["properties"]["spec"]["properties"]["blockedDevices"];
    assert_eq!(blocked["x-kubernetes-list-type"], "set");
}

#[test]
fn election_names_longer_than_54_are_refused() {
    let mut e = municipal_election();
    e["metadata"]["name"] = json!("e".repeat(54));
    check("Election", &e, None).expect("54 characters fit");
    e["metadata"]["name"] = json!("e".repeat(55));
    let err = check("Election", &e, None).expect_err("rule must fire");
    assert!(err.contains("metadata.name must be at most 54 characters"), "{err}");
    // The operator refuses it too (for `urna local`, and if the apiserver skipped the rule).
    let mut typed = common::example("municipal").elections[0].clone();
    typed.metadata.name = Some("e".repeat(55));
    let err = urna_operator::validate::election(&typed).expect_err("refused").to_string();
    assert!(err.contains("at most 54"), "{err}");
}

/// A shard of a whole modality has no `spec.district`: its updates must pass the immutability rule (the
/// university example's shards were stuck: every status or spec update failed with "no such key").
#[test]
fn a_shard_without_a_district_can_be_updated_but_not_moved() {
    let e = &common::example("university").elections[0];
    let shard = urna_operator::build::election::tally_shards(e)
        .into_iter()
        .find(|s| s.spec.district.is_none())
        .expect("the university election has a whole-modality shard");
    let old = serde_json::to_value(&shard).expect("json");
    let mut new = old.clone();
    new["spec"]["storage"]["size"] = json!("20Gi");
    check("TallyShard", &new, Some(&old)).expect("an update of a shard without a district passes");
    new["spec"]["district"] = json!("somewhere");
    let err = check("TallyShard", &new, Some(&old)).expect_err("gaining a district moves the shard");
    assert!(err.contains("immutable"), "{err}");
    let mut with = old.clone();
    with["spec"]["district"] = json!("a");
    let mut moved = with.clone();
    moved["spec"]["district"] = json!("b");
    check("TallyShard", &with, Some(&with)).expect("unchanged district passes");
    let err = check("TallyShard", &moved, Some(&with)).expect_err("moved");
    assert!(err.contains("immutable"), "{err}");
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
fn broker_shards_pass_the_rules() {
    let mut f = serde_json::to_value(&common::example("municipal").fleets[0]).expect("json");
    f["spec"]["broker"]["shards"] = json!([{ "name": "norte", "districts": ["norte"] }, { "name": "resto" }]);
    check("BoothFleet", &f, None).expect("distinct shards pass");
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

#[test]
fn vote_ingress_needs_a_remote_modality() {
    let university = || serde_json::to_value(&common::example("university").elections[0]).expect("json");
    let e = university();
    assert!(e["spec"]["vote"]["ingress"].is_object(), "the university example exposes the voter app");
    check("Election", &e, None).expect("one partition, remote modality");

    let mut e = university();
    e["spec"]["vote"]["partitions"] = json!(2);
    check("Election", &e, None).expect("the Ingress routes each partition");

    let mut e = university();
    e["spec"]["modalities"][0]["kind"] = json!("booth");
    let err = check("Election", &e, None).expect_err("rule must fire");
    assert!(err.contains("spec.vote.ingress exposes the remote vote service: it needs a remote modality"), "{err}");

    // Twelve partitions and no ingress: the rule does not concern it.
    let mut e = serde_json::to_value(&common::example("federal").elections[0]).expect("json");
    assert!(e["spec"]["vote"].get("ingress").is_none());
    e["spec"]["vote"]["partitions"] = json!(12);
    check("Election", &e, None).expect("no ingress, any partitions");
}
