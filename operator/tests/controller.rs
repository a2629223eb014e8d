//! Controllers against kube's mock API (`tower_test::mock::pair`): a fake apiserver answers every request
//! and records it, and each test asserts the exact requests a reconcile sent.

mod common;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use common::fake_api::{FakeApi, Seen, apply_status};
use common::processes::start_workload;
use http::Method;
use kube::runtime::controller::Action;
use kube::{Resource, ResourceExt};
use serde_json::{Value, json};
use urna_operator::build::Defaults;
use urna_operator::controller::{self, Context};
use urna_operator::crd::{Election, ElectionPhase, Mesa};
use urna_operator::metrics::Metrics;

const MESAS: &str = "/apis/urna.dev/v1alpha1/namespaces/ciudad/mesas";

/// Puts the example's Mesas into the fake API.
fn put_mesas(api: &FakeApi, mesas: &[Mesa]) {
    for m in mesas {
        api.put(&format!("{MESAS}/{}", m.name_any()), serde_json::to_value(m).expect("json"));
    }
}

const NOW: &str = "2027-05-01T00:00:00Z";
const ELECTION_PATH: &str = "/apis/urna.dev/v1alpha1/namespaces/ciudad/elections/ciudad-2027";

fn context(api: &FakeApi, now: &str) -> Arc<Context> {
    let now: jiff::Timestamp = now.parse().expect("timestamp");
    // No workload answers here (port 1 on loopback refuses at once): tests never wait on cluster DNS.
    context_answered_by(api, now, Arc::default())
}

fn election() -> Election {
    let mut e = common::example("municipal").elections[0].clone();
    e.meta_mut().uid = Some("e-uid".into());
    e.meta_mut().generation = Some(1);
    e
}

fn with_finalizer(mut e: Election) -> Election {
    e.meta_mut().finalizers = Some(vec![urna_operator::meta::FINALIZER.into()]);
    e
}

#[tokio::test]
async fn first_reconcile_adds_the_finalizer_and_nothing_else() {
    let api = FakeApi::default();
    let e = election();
    api.put(ELECTION_PATH, serde_json::to_value(&e).expect("json"));
    let ctx = context(&api, NOW);
    let action = controller::election::reconcile(Arc::new(e), ctx).await.expect("reconcile");
    assert_eq!(action, Action::await_change());
    let seen = api.take();
    assert_eq!(seen.len(), 1, "{seen:#?}");
    assert_eq!(seen[0].method, Method::PATCH);
    assert_eq!(seen[0].path, ELECTION_PATH);
    assert_eq!(seen[0].content_type, "application/json-patch+json");
    assert_eq!(
        seen[0].body[1],
        json!({"op": "add", "path": "/metadata/finalizers", "value": ["urna.dev/ballot-protection"]})
    );
}

#[tokio::test]
async fn create_applies_children_with_ssa_then_status_then_nothing_when_unchanged() {
    let api = FakeApi::default();
    let e = with_finalizer(election());
    api.put(ELECTION_PATH, serde_json::to_value(&e).expect("json"));
    let ctx = context(&api, NOW);
    let action = controller::election::reconcile(Arc::new(e.clone()), ctx.clone()).await.expect("reconcile");
    let seen = api.take();

    // The election's internal token Secret (fresh, 256 bits, hex) exists before the workloads that mount it.
    let internal = seen
        .iter()
        .position(|s| {
            s.method == Method::POST
                && s.path == "/api/v1/namespaces/ciudad/secrets"
                && s.body["metadata"]["name"] == "ciudad-2027-internal-token"
        })
        .expect("the internal token Secret is created");
    assert_eq!(seen[internal].body["metadata"]["ownerReferences"][0]["uid"], "e-uid");
    assert!(seen.iter().position(|s| s.is_apply()).is_some_and(|a| a > internal), "created before the applies");

    let applies: Vec<&Seen> = seen.iter().filter(|s| s.is_apply() && !s.path.ends_with("/status")).collect();
    let expected = urna_operator::build::election::build(&e, &Defaults::default()).expect("build");
    // Then the children built beside the booth vote service (booth_vote_service_* below): its mesas ConfigMap,
    // StatefulSet, Service and the mesa console's Ingress (the example sets `spec.vote.booth.ingress`), and the
    // public site's (the example sets `spec.site` with capturists).
    let site = ["configmaps/ciudad-2027-capture-tokens", "statefulsets/ciudad-2027-site", "services/ciudad-2027-site"];
    for child in site {
        assert!(applies.iter().any(|s| s.path.ends_with(child)), "{child} applied");
    }
    assert!(applies.iter().any(|s| s.path.ends_with("ingresses/ciudad-2027-site")), "the site's Ingress");
    assert!(applies.iter().any(|s| s.path.ends_with("ingresses/ciudad-2027-vote-booth")), "the console's Ingress");
    assert_eq!(
        applies.len(),
        expected.len()
            + 4
            + applies
                .iter()
                .filter(|s| s.path.contains("ciudad-2027-site") || s.path.ends_with("capture-tokens"))
                .count()
    );
    for (s, child) in applies.iter().zip(&expected) {
        assert!(
            s.query.contains("fieldManager=urna-operator") && s.query.contains("force=true"),
            "{}: {}",
            s.path,
            s.query
        );
        assert_eq!(s.body, child.body, "{} is sent exactly as built", child.id());
        let owner = &s.body["metadata"]["ownerReferences"][0];
        assert_eq!(owner["kind"], "Election");
        assert_eq!(owner["uid"], "e-uid");
        assert_eq!(owner["controller"], true);
    }
    assert!(
        applies
            .iter()
            .any(|s| s.path == "/apis/urna.dev/v1alpha1/namespaces/ciudad/tallyshards/ciudad-2027-centro-booth")
    );
    assert!(applies.iter().any(|s| s.path == "/apis/apps/v1/namespaces/ciudad/statefulsets/ciudad-2027-audit"));

    let status: Vec<&Seen> = seen.iter().filter(|s| s.path == format!("{ELECTION_PATH}/status")).collect();
    assert_eq!(status.len(), 1);
    let st = &status[0].body["status"];
    assert_eq!(st["phase"], "Pending");
    assert_eq!(st["observedGeneration"], 1);
    assert_eq!(st["ready"], "0/9", "vote, booth vote, audit and six shards");
    let types: Vec<&str> =
        st["conditions"].as_array().expect("conditions").iter().map(|c| c["type"].as_str().unwrap_or("")).collect();
    assert_eq!(types, ["Ready", "Progressing", "Degraded", "Reconciling", "Stalled", "Closing", "SiteReady"]);
    assert_eq!(st["conditions"][6]["status"], "False", "the site waits for its pod (and a snapshot)");
    assert_eq!(st["conditions"][3]["status"], "True", "Reconciling while workloads start");
    assert_eq!(st["conditions"][4]["status"], "False", "not Stalled");
    assert_eq!((&st["conditions"][5]["status"], &st["conditions"][5]["reason"]), (&json!("False"), &json!("Voting")));
    assert_eq!(st["conditions"][0]["status"], "False");
    assert_eq!(st["conditions"][0]["observedGeneration"], 1);
    assert_eq!(st["conditions"][1]["status"], "True");
    assert_eq!(st["nextTransition"], "2027-06-01T14:00:00Z");
    assert!(seen.iter().any(|s| s.is_event() && s.body["reason"] == "Pending"));
    // Requeued for the opening instant (capped by the resync interval).
    assert_eq!(action, Action::requeue(urna_operator::schedule::RESYNC));

    // Steady state: the same object with the status it now has → no writes at all.
    let mut again = e.clone();
    again.status = serde_json::from_value(status[0].body["status"].clone()).expect("status");
    controller::election::reconcile(Arc::new(again), ctx).await.expect("reconcile");
    let seen = api.take();
    let writes: Vec<_> = seen.iter().filter(|s| s.is_write()).collect();
    assert!(writes.is_empty(), "steady state wrote: {writes:#?}");
}

#[tokio::test]
async fn manual_sharding_routes_vote_to_the_listed_shards_and_vote_readiness_needs_every_partition() {
    let api = FakeApi::default();
    let mut e = with_finalizer(election());
    e.spec.tally.sharding = urna_operator::crd::election::ShardingPolicy::Manual;
    api.put(ELECTION_PATH, serde_json::to_value(&e).expect("json"));
    // Hand-declared shards: one of this election (a whole modality), one of another.
    for (name, election) in [("by-hand-remote", "ciudad-2027"), ("elsewhere", "other-election")] {
        let s = urna_operator::crd::TallyShard::new(
            name,
            urna_operator::crd::TallyShardSpec {
                election: election.into(),
                district: None,
                modality: urna_operator::crd::common::ModalityKind::Remote,
                storage: Default::default(),
                image: None,
                resources: None,
            },
        );
        api.put(
            &format!("/apis/urna.dev/v1alpha1/namespaces/ciudad/tallyshards/{name}"),
            serde_json::to_value(&s).expect("json"),
        );
    }
    let ctx = context(&api, NOW);
    controller::election::reconcile(Arc::new(e.clone()), ctx.clone()).await.expect("reconcile");
    let seen = api.take();
    let vote_path = "/apis/apps/v1/namespaces/ciudad/statefulsets/ciudad-2027-vote";
    let vote = seen.iter().find(|s| s.is_apply() && s.path == vote_path).expect("vote applied");
    let args: Vec<&str> = vote.body["spec"]["template"]["spec"]["containers"][0]["args"]
        .as_array()
        .expect("args")
        .iter()
        .filter_map(|a| a.as_str())
        .collect();
    let shards: Vec<&str> = args.windows(2).filter(|w| w[0] == "--shard").map(|w| w[1]).collect();
    assert_eq!(shards, ["*:remote=http://by-hand-remote.ciudad.svc:8080"]);
    assert!(!seen.iter().any(|s| s.is_apply() && s.path.contains("/tallyshards/")), "manual: none generated");

    // Vote counts as ready only once every partition's replica is.
    let mut live = vote.body.clone();
    live["status"] = json!({"replicas": 2, "readyReplicas": 1});
    api.put(vote_path, live.clone());
    let mut again = e.clone();
    let status = seen.iter().find(|s| s.path == format!("{ELECTION_PATH}/status")).expect("status");
    again.status = serde_json::from_value(status.body["status"].clone()).expect("status");
    controller::election::reconcile(Arc::new(again.clone()), ctx.clone()).await.expect("reconcile");
    assert!(!api.take().iter().any(|s| s.is_write()), "one of two partitions ready: nothing changed");
    live["status"]["readyReplicas"] = json!(2);
    api.put(vote_path, live);
    controller::election::reconcile(Arc::new(again), ctx).await.expect("reconcile");
    let seen = api.take();
    let st = &seen.iter().find(|s| s.path == format!("{ELECTION_PATH}/status")).expect("status").body["status"];
    assert_eq!(st["ready"], "1/4", "vote ready; booth vote, audit and the listed shard not yet");
}

#[tokio::test]
async fn requeues_at_the_exact_opening_instant() {
    let api = FakeApi::default();
    let e = with_finalizer(election());
    api.put(ELECTION_PATH, serde_json::to_value(&e).expect("json"));
    let ctx = context(&api, "2027-06-01T13:59:00Z");
    let action = controller::election::reconcile(Arc::new(e), ctx).await.expect("reconcile");
    assert_eq!(action, Action::requeue(std::time::Duration::from_secs(61)));
}

/// A refused deletion keeps the finalizer and a Warning, and the Election keeps running: children applied,
/// phase and status still written (it used to freeze: the finalizer helper ran only cleanup).
#[tokio::test]
async fn deletion_is_refused_while_open_with_a_warning_event_and_the_election_keeps_running() {
    let api = FakeApi::default();
    let mut e = with_finalizer(election());
    e.meta_mut().deletion_timestamp =
        Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(NOW.parse().expect("ts")));
    e.status = Some(urna_operator::crd::ElectionStatus { phase: Some(ElectionPhase::Open), ..Default::default() });
    api.put(ELECTION_PATH, serde_json::to_value(&e).expect("json"));
    let ctx = context(&api, "2027-06-02T00:00:00Z");
    let action = controller::election::reconcile(Arc::new(e.clone()), ctx.clone()).await.expect("keeps running");
    assert_ne!(action, Action::await_change(), "requeued for its schedule");
    let seen = api.take();
    assert!(seen.iter().any(|s| s.is_event() && s.body["reason"] == "DeletionRefused" && s.body["type"] == "Warning"));
    assert!(!seen.iter().any(|s| s.content_type == "application/json-patch+json"), "the finalizer stays");
    assert!(seen.iter().any(|s| s.is_apply() && s.path.ends_with("/statefulsets/ciudad-2027-vote")), "repairs go on");
    let status = seen.iter().find(|s| s.path == format!("{ELECTION_PATH}/status")).expect("status still written");
    assert!(status.body["status"]["phase"].is_string());

    // After both windows closed, the phase still advances while the deletion waits: Closed, not exported.
    let mut closed = e.clone();
    closed.status =
        Some(urna_operator::crd::ElectionStatus { phase: Some(ElectionPhase::Closed), ..Default::default() });
    let late = context(&api, "2027-06-07T00:00:00Z");
    controller::election::reconcile(Arc::new(closed.clone()), late).await.expect("keeps running");
    let seen = api.take();
    assert!(seen.iter().any(|s| s.is_event() && s.body["reason"] == "DeletionRefused"));
    assert!(!seen.iter().any(|s| s.content_type == "application/json-patch+json"), "the finalizer stays");

    // With the explicit annotation the finalizer is removed.
    closed.meta_mut().annotations = Some(BTreeMap::from([("urna.dev/allow-delete".into(), "true".into())]));
    controller::election::reconcile(Arc::new(closed), ctx).await.expect("deleted");
    let seen = api.take();
    let removal: Vec<_> = seen.iter().filter(|s| s.content_type == "application/json-patch+json").collect();
    assert_eq!(removal.len(), 1);
    assert_eq!(removal[0].body[1], json!({"op": "remove", "path": "/metadata/finalizers/0"}));
}

#[tokio::test]
async fn deletion_before_opening_removes_the_finalizer() {
    let api = FakeApi::default();
    let mut e = with_finalizer(election());
    e.meta_mut().deletion_timestamp =
        Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(NOW.parse().expect("ts")));
    e.status = Some(urna_operator::crd::ElectionStatus { phase: Some(ElectionPhase::Scheduled), ..Default::default() });
    api.put(ELECTION_PATH, serde_json::to_value(&e).expect("json"));
    controller::election::reconcile(Arc::new(e), context(&api, NOW)).await.expect("deleted");
    let seen = api.take();
    assert!(seen.iter().any(|s| s.content_type == "application/json-patch+json" && s.body[1]["op"] == "remove"));
}

#[tokio::test]
async fn paused_writes_only_the_paused_condition() {
    let api = FakeApi::default();
    let mut e = with_finalizer(election());
    e.meta_mut().annotations = Some(BTreeMap::from([("urna.dev/reconcile".into(), "paused".into())]));
    api.put(ELECTION_PATH, serde_json::to_value(&e).expect("json"));
    let action = controller::election::reconcile(Arc::new(e), context(&api, NOW)).await.expect("reconcile");
    assert_eq!(action, Action::await_change());
    let seen = api.take();
    let writes: Vec<_> = seen.iter().filter(|s| s.is_write()).collect();
    assert_eq!(writes.len(), 1, "{writes:#?}");
    assert_eq!(writes[0].path, format!("{ELECTION_PATH}/status"));
    assert_eq!(writes[0].body["status"]["conditions"][0]["type"], "Paused");
    assert_eq!(writes[0].body["status"]["conditions"][0]["status"], "True");
}

#[test]
fn the_mock_api_models_status_field_ownership() {
    let obj = |v: Value| v.as_object().cloned().expect("object");
    let mut stored = json!({"metadata": {"name": "e"}});
    apply_status(&mut stored, "urna-operator", true, &obj(json!({"phase": "Open", "ready": "1/1"}))).expect("apply");
    apply_status(&mut stored, "urna-vote", false, &obj(json!({"votersVoted": 7}))).expect("apply");
    // The same manager applying fewer fields removes the ones it left out, never another manager's.
    apply_status(&mut stored, "urna-operator", true, &obj(json!({"phase": "Closed"}))).expect("apply");
    assert_eq!(stored["status"], json!({"phase": "Closed", "votersVoted": 7}));
    // Another manager's field: a different value conflicts unless forced, which takes it over.
    let err = apply_status(&mut stored, "urna-operator", false, &obj(json!({"phase": "Closed", "votersVoted": 8})))
        .expect_err("conflict");
    assert!(err.contains("votersVoted") && err.contains("urna-vote"), "{err}");
    apply_status(&mut stored, "urna-operator", true, &obj(json!({"phase": "Closed", "votersVoted": 8})))
        .expect("force");
    apply_status(&mut stored, "urna-vote", false, &obj(json!({}))).expect("apply");
    assert_eq!(stored["status"], json!({"phase": "Closed", "votersVoted": 8}), "now the operator's");
}

/// Pausing must not remove what the operator wrote before: under server-side apply a manager's apply is its
/// whole intent, so applying only the Paused condition deleted the phase (unlocking the "immutable once Open"
/// rules), the counters and the other conditions.
#[tokio::test]
async fn pausing_keeps_every_status_field_the_operator_owns_and_others_fields() {
    let api = FakeApi::default();
    let e = with_finalizer(election());
    api.put(ELECTION_PATH, serde_json::to_value(&e).expect("json"));
    let ctx = context(&api, NOW);
    controller::election::reconcile(Arc::new(e), ctx.clone()).await.expect("reconcile");
    // A workload's own field, under its own manager.
    let mut stored = api.get(ELECTION_PATH);
    let voters = json!({"votersVoted": 7}).as_object().cloned().expect("object");
    apply_status(&mut stored, "urna-vote", false, &voters).expect("workload apply");
    let before = stored["status"].clone();
    assert_eq!(before["phase"], "Pending");
    stored["metadata"]["annotations"] = json!({"urna.dev/reconcile": "paused"});
    api.put(ELECTION_PATH, stored.clone());
    api.take();

    let paused: Election = serde_json::from_value(stored).expect("election");
    controller::election::reconcile(Arc::new(paused), ctx.clone()).await.expect("reconcile");
    let writes: Vec<Seen> = api.take().into_iter().filter(Seen::is_write).collect();
    assert_eq!(writes.len(), 1, "only the status: {writes:#?}");
    let after = api.get(ELECTION_PATH)["status"].clone();
    for field in ["phase", "observedGeneration", "ready", "manifestHash", "nextTransition", "shards", "votersVoted"] {
        assert_eq!(after[field], before[field], "{field} survives the pause");
    }
    let conds = after["conditions"].as_array().expect("conditions");
    let types: Vec<&str> = conds.iter().filter_map(|c| c["type"].as_str()).collect();
    assert!(types.starts_with(&["Ready", "Progressing", "Degraded"]), "{types:?}");
    let p = conds.iter().find(|c| c["type"] == "Paused").expect("Paused condition");
    assert_eq!(p["status"], "True");

    // Resumed: the next reconcile's status drops the Paused condition and keeps the rest.
    let mut resumed = api.get(ELECTION_PATH);
    resumed["metadata"]["annotations"] = json!({});
    let resumed: Election = serde_json::from_value(resumed).expect("election");
    controller::election::reconcile(Arc::new(resumed), ctx).await.expect("reconcile");
    let after = api.get(ELECTION_PATH)["status"].clone();
    assert!(!after["conditions"].as_array().expect("conditions").iter().any(|c| c["type"] == "Paused"));
    assert_eq!(after["votersVoted"], 7);
    assert_eq!(after["phase"], "Pending");
}

#[tokio::test]
async fn malformed_election_is_reported_not_applied() {
    let api = FakeApi::default();
    let mut e = with_finalizer(election());
    e.spec.trustees.threshold = 9;
    api.put(ELECTION_PATH, serde_json::to_value(&e).expect("json"));
    let action = controller::election::reconcile(Arc::new(e), context(&api, NOW)).await.expect("reconcile");
    assert_eq!(action, Action::await_change(), "waits for an edit instead of hot-looping");
    let seen = api.take();
    assert!(!seen.iter().any(|s| s.is_apply() && !s.path.ends_with("/status")), "nothing applied");
    let status = seen.iter().find(|s| s.path.ends_with("/status")).expect("status written");
    let degraded = &status.body["status"]["conditions"][2];
    assert_eq!(degraded["type"], "Degraded");
    assert_eq!(degraded["status"], "True");
    assert_eq!(degraded["reason"], "InvalidSpec");
    assert!(seen.iter().any(|s| s.is_event() && s.body["type"] == "Warning" && s.body["reason"] == "InvalidSpec"));
}

#[tokio::test]
async fn api_errors_back_off_exponentially_per_object() {
    let api = FakeApi { fail_applies: true, ..Default::default() };
    let e = Arc::new(with_finalizer(election()));
    api.put(ELECTION_PATH, serde_json::to_value(e.as_ref()).expect("json"));
    let ctx = context(&api, NOW);
    let err = controller::election::reconcile(e.clone(), ctx.clone()).await.expect_err("apply fails");
    assert!(matches!(err, urna_operator::Error::Kube(_)), "{err}");
    let waits: Vec<Action> = (0..4).map(|_| controller::error_policy(e.clone(), &err, ctx.clone())).collect();
    let secs = [5, 10, 20, 40].map(|s| Action::requeue(std::time::Duration::from_secs(s)));
    assert_eq!(waits, secs);
    assert!(
        ctx.metrics.encode().contains("urna_operator_reconcile_errors_total{kind=\"Election\",reason=\"ApiError\"} 4")
    );
    assert_eq!(controller::backoff(30), std::time::Duration::from_secs(300));
}

/// An apiserver refusal (RBAC 403, schema 422, an admission webhook's denial) becomes a Warning event and
/// Degraded/Stalled conditions with the apiserver's message, without touching the rest of the status.
#[tokio::test]
async fn api_refusals_become_events_and_conditions() {
    for (code, reason, message) in [
        (403, "Forbidden", "statefulsets.apps \"ciudad-2027-vote\" is forbidden: User cannot patch resource"),
        (422, "Invalid", "StatefulSet.apps \"ciudad-2027-vote\" is invalid: metadata.labels: Invalid value"),
        (400, "BadRequest", "admission webhook \"policy.example\" denied the request: no privileged pods"),
    ] {
        let api = FakeApi::default();
        let e = with_finalizer(election());
        api.put(ELECTION_PATH, serde_json::to_value(&e).expect("json"));
        controller::election::reconcile(Arc::new(e), context(&api, NOW)).await.expect("first reconcile");
        let before = api.get(ELECTION_PATH);
        let refusing = FakeApi { refuse_applies: Some((code, reason, message)), ..api.clone() };
        let ctx = context(&refusing, NOW);
        let mut e: Election = serde_json::from_value(before.clone()).expect("election");
        e.meta_mut().generation = Some(2);
        let err = controller::election::reconcile(Arc::new(e), ctx).await.expect_err("refused");
        assert!(matches!(err, urna_operator::Error::Kube(_)), "{err}");
        let seen = api.take();
        let ev = seen.iter().find(|s| s.is_event() && s.body["type"] == "Warning").expect("a Warning event");
        assert_eq!(ev.body["reason"], format!("Api{reason}"));
        assert!(ev.body["note"].as_str().is_some_and(|n| n.contains(message)), "{}", ev.body);
        let st = api.get(ELECTION_PATH)["status"].clone();
        let cond = |t: &str| st["conditions"].as_array().expect("conds").iter().find(|c| c["type"] == t).cloned();
        for t in ["Degraded", "Stalled"] {
            let c = cond(t).unwrap_or_else(|| panic!("{t}"));
            assert_eq!(c["status"], "True", "{t}");
            assert_eq!(c["reason"], reason, "{t}");
            assert!(c["message"].as_str().is_some_and(|m| m.contains(message)), "{t}: {c}");
        }
        assert_eq!(cond("Ready").expect("Ready")["status"], "False");
        assert_eq!(st["phase"], before["status"]["phase"], "the rest of the status stays");
        assert_eq!(st["manifestHash"], before["status"]["manifestHash"]);
    }
    // A transient error (500) is left to the backoff: no condition written.
    let api = FakeApi { fail_applies: true, ..Default::default() };
    let e = with_finalizer(election());
    api.put(ELECTION_PATH, serde_json::to_value(&e).expect("json"));
    controller::election::reconcile(Arc::new(e), context(&api, NOW)).await.expect_err("fails");
    assert!(!api.take().iter().any(|s| s.path.ends_with("/status")), "no status for a transient error");
}

#[tokio::test]
async fn mesa_follows_its_window_and_actas() {
    let api = FakeApi::default();
    let set = common::example("municipal");
    let mut m: Mesa = set.mesas[0].clone();
    m.meta_mut().uid = Some("m-uid".into());
    m.meta_mut().generation = Some(3);
    api.put(ELECTION_PATH, serde_json::to_value(&set.elections[0]).expect("json"));
    let mesa_path = format!("/apis/urna.dev/v1alpha1/namespaces/ciudad/mesas/{}", m.name_any());
    api.put(&mesa_path, serde_json::to_value(&m).expect("json"));
    // Election day, after opening, without a constitution acta: Scheduled and Degraded.
    let action = controller::mesa::reconcile(Arc::new(m.clone()), context(&api, "2027-06-06T15:00:00Z"))
        .await
        .expect("reconcile");
    let seen = api.take();
    let cm = seen
        .iter()
        .find(|s| s.is_apply() && s.path.ends_with("/configmaps/mesa-centro-1-mesa"))
        .expect("config applied");
    assert_eq!(cm.body["metadata"]["ownerReferences"][0]["kind"], "Mesa");
    let st = &seen.iter().find(|s| s.path.ends_with("/status")).expect("status").body["status"];
    assert_eq!(st["phase"], "Scheduled");
    assert_eq!(st["conditions"][2]["reason"], "NotConstituted");
    assert_eq!(st["observedGeneration"], 3);
    // Requeued for the closing instant (capped).
    assert_eq!(action, Action::requeue(urna_operator::schedule::RESYNC));
}

#[tokio::test]
async fn mesa_without_its_election_retries() {
    let api = FakeApi::default();
    let m: Mesa = common::example("municipal").mesas[0].clone();
    api.put(
        &format!("/apis/urna.dev/v1alpha1/namespaces/ciudad/mesas/{}", m.name_any()),
        serde_json::to_value(&m).expect("json"),
    );
    let action = controller::mesa::reconcile(Arc::new(m), context(&api, NOW)).await.expect("reconcile");
    assert_eq!(action, Action::requeue(std::time::Duration::from_secs(30)));
    let seen = api.take();
    let st = &seen.iter().find(|s| s.path.ends_with("/status")).expect("status").body["status"];
    assert_eq!(st["conditions"][2]["reason"], "ElectionNotFound");
}

#[tokio::test]
async fn boothfleet_issues_missing_certificates_once() {
    let api = FakeApi::default();
    let mut f = common::example("municipal").fleets[0].clone();
    f.meta_mut().uid = Some("f-uid".into());
    api.put(
        "/apis/urna.dev/v1alpha1/namespaces/ciudad/boothfleets/ciudad-booths",
        serde_json::to_value(&f).expect("json"),
    );
    let ctx = context(&api, NOW);
    controller::boothfleet::reconcile(Arc::new(f.clone()), ctx.clone()).await.expect("reconcile");
    let seen = api.take();
    let posted: Vec<_> = seen.iter().filter(|s| s.method == Method::POST && s.path.ends_with("/secrets")).collect();
    // The fleet names no admin token, so the broker's is generated: the broker never starts open.
    let (tokens, created): (Vec<_>, Vec<_>) = posted.into_iter().partition(|s| s.body["type"] == "Opaque");
    assert_eq!(tokens.len(), 1);
    assert_eq!(tokens[0].body["metadata"]["name"], "ciudad-booths-broker-admin-token");
    assert_eq!(tokens[0].body["data"]["token"].as_str().map(str::len), Some(88), "64 hex characters, base64");
    assert_eq!(created.len(), 42, "CA + broker + backends + 39 unblocked devices");
    assert_eq!(created[0].body["metadata"]["name"], "ciudad-booths-ca");
    assert!(created[0].body["metadata"]["ownerReferences"].is_null(), "the CA outlives its BoothFleet");
    assert!(created[1..].iter().all(|s| s.body["metadata"]["ownerReferences"][0]["kind"] == "BoothFleet"));
    assert!(created.iter().all(|s| s.query.contains("fieldManager=urna-operator")));
    assert!(
        !created.iter().any(|s| s.body["metadata"]["name"] == "ciudad-booths-device-mesa-sur-1-10"),
        "blocked device"
    );
    let st = &seen.iter().find(|s| s.path.ends_with("/status")).expect("status").body["status"];
    assert_eq!(st["devicesTotal"], 40);
    assert_eq!(st["devicesBlocked"], 1);
    // One shard (none declared), its StatefulSet not running yet.
    assert_eq!(st["shards"][0]["broker"], "ciudad-booths-broker");
    assert_eq!(st["shards"][0]["devices"], 40);
    assert_eq!(st["shards"][0]["ready"], "0/2");
    assert_eq!(st["ready"], "0/1");
    assert_eq!(st["phase"], "Provisioning");

    // Once: a second reconcile creates nothing, the token included (an officer may hold it already).
    controller::boothfleet::reconcile(Arc::new(f), ctx).await.expect("second reconcile");
    let again = api.take();
    assert!(!again.iter().any(|s| s.method == Method::POST && s.path.ends_with("/secrets")), "{again:#?}");
}

#[tokio::test]
async fn boothfleet_reads_its_mesas_and_reports_each_shard() {
    let api = FakeApi::default();
    let set = common::example("municipal");
    let mut f = set.fleets[0].clone();
    f.meta_mut().uid = Some("f-uid".into());
    f.spec.broker.shards = vec![
        urna_operator::crd::boothfleet::BrokerShard { name: "norte".into(), districts: vec!["norte".into()] },
        urna_operator::crd::boothfleet::BrokerShard { name: "resto".into(), districts: vec![] },
    ];
    put_mesas(&api, &set.mesas);
    // The norte shard's StatefulSet reports both replicas ready.
    api.put(
        "/apis/apps/v1/namespaces/ciudad/statefulsets/ciudad-booths-broker-norte",
        json!({"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "ciudad-booths-broker-norte"}, "status": {"replicas": 2, "readyReplicas": 2}}),
    );
    api.put(
        "/apis/urna.dev/v1alpha1/namespaces/ciudad/boothfleets/ciudad-booths",
        serde_json::to_value(&f).expect("json"),
    );
    controller::boothfleet::reconcile(Arc::new(f), context(&api, NOW)).await.expect("reconcile");
    let seen = api.take();
    let st = &seen.iter().find(|s| s.path.ends_with("/status")).expect("status").body["status"];
    assert_eq!(st["shards"][0]["name"], "norte");
    assert_eq!(st["shards"][0]["devices"], 10);
    assert_eq!(st["shards"][0]["brokerReady"], true);
    assert_eq!(st["shards"][1]["devices"], 30);
    assert_eq!(st["shards"][1]["brokerReady"], false);
    assert_eq!(st["ready"], "1/2");
    let applied: Vec<&str> =
        seen.iter().filter(|s| s.is_apply()).filter_map(|s| s.body["metadata"]["name"].as_str()).collect();
    for name in [
        "ciudad-booths-broker-norte",
        "ciudad-booths-broker-resto-1",
        "ciudad-booths-collector",
        "ciudad-booths-monitor",
    ] {
        assert!(applied.contains(&name), "{name} not applied: {applied:?}");
    }
}

#[tokio::test]
async fn election_counters_are_aggregated_from_shards() {
    let api = FakeApi::default();
    let e = with_finalizer(election());
    api.put(ELECTION_PATH, serde_json::to_value(&e).expect("json"));
    let shards = urna_operator::build::election::tally_shards(&e);
    for (i, mut s) in shards.into_iter().enumerate() {
        s.status = Some(urna_operator::crd::TallyShardStatus {
            ballots_accepted: Some(10 * (i as u64 + 1)),
            ballots_rejected: Some(1),
            sealed: Some(true),
            ..Default::default()
        });
        api.put(
            &format!("/apis/urna.dev/v1alpha1/namespaces/ciudad/tallyshards/{}", s.name_any()),
            serde_json::to_value(&s).expect("json"),
        );
    }
    // After both windows closed, every shard sealed by its own status: still Closed, because closing goes on
    // what the workloads answer (none does here: the vote services' drain is awaited, and named).
    controller::election::reconcile(Arc::new(e), context(&api, "2027-06-07T00:00:00Z")).await.expect("reconcile");
    let seen = api.take();
    let st = &seen.iter().find(|s| s.path.ends_with("/status")).expect("status").body["status"];
    assert_eq!(st["phase"], "Closed");
    let closing = st["conditions"].as_array().and_then(|c| c.iter().find(|c| c["type"] == "Closing")).expect("Closing");
    assert_eq!((closing["status"].as_str(), closing["reason"].as_str()), (Some("True"), Some("Draining")));
    assert!(closing["message"].as_str().is_some_and(|m| m.contains("ciudad-2027-vote-0")), "{closing}");
    assert_eq!(st["shards"], json!({"total": 6, "ready": 0, "sealed": 6}));
    let modalities = st["modalities"].as_array().expect("modalities");
    assert_eq!(modalities.len(), 2);
    let contests: u64 = modalities.iter().filter_map(|m| m["contestsAccepted"].as_u64()).sum();
    assert_eq!(contests, 10 + 20 + 30 + 40 + 50 + 60);
    assert_eq!(modalities.iter().filter_map(|m| m["contestsRejected"].as_u64()).sum::<u64>(), 6);
    // No vote service was ready, so none was asked: no ballot count is claimed (never a 0 for "unknown").
    assert!(st["ballotsRecorded"].is_null() && st["votersVoted"].is_null(), "{st:#}");
}

#[test]
fn resource_kinds_are_the_four() {
    assert_eq!(Election::kind(&()), "Election");
    assert_eq!(Mesa::kind(&()), "Mesa");
}

#[tokio::test]
async fn tallyshard_reports_workload_readiness_and_failure() {
    let api = FakeApi::default();
    let e = election();
    api.put(ELECTION_PATH, serde_json::to_value(&e).expect("json"));
    let mut s = urna_operator::build::election::tally_shards(&e).remove(0);
    s.meta_mut().uid = Some("s-uid".into());
    let name = s.name_any();
    let shard_path = format!("/apis/urna.dev/v1alpha1/namespaces/ciudad/tallyshards/{name}");
    api.put(&shard_path, serde_json::to_value(&s).expect("json"));
    let ctx = context(&api, NOW);
    controller::tallyshard::reconcile(Arc::new(s.clone()), ctx.clone()).await.expect("reconcile");
    let seen = api.take();
    let sts =
        seen.iter().find(|x| x.is_apply() && x.path.ends_with(&format!("/statefulsets/{name}"))).expect("sts applied");
    assert_eq!(sts.body["spec"]["persistentVolumeClaimRetentionPolicy"]["whenDeleted"], "Retain");
    assert_eq!(sts.body["metadata"]["ownerReferences"][0]["kind"], "TallyShard");
    let st = &seen.iter().find(|x| x.path.ends_with("/status")).expect("status").body["status"];
    assert_eq!(st["phase"], "Pending");
    assert_eq!(st["ready"], "0/1");

    // The StatefulSet becomes ready; the workload later reports a failure.
    let sts_path = format!("/apis/apps/v1/namespaces/ciudad/statefulsets/{name}");
    let mut live = sts.body.clone();
    live["status"] = json!({"replicas": 1, "readyReplicas": 1});
    api.put(&sts_path, live);
    controller::tallyshard::reconcile(Arc::new(s.clone()), ctx.clone()).await.expect("reconcile");
    let st = api.take().into_iter().find(|x| x.path.ends_with("/status")).expect("status").body["status"].clone();
    assert_eq!(st["phase"], "Running");
    assert_eq!(st["conditions"][0]["status"], "True");
    s.status = Some(urna_operator::crd::TallyShardStatus {
        failure: Some("log chain broken at 42".into()),
        ..Default::default()
    });
    controller::tallyshard::reconcile(Arc::new(s), ctx).await.expect("reconcile");
    let seen = api.take();
    let st = &seen.iter().find(|x| x.path.ends_with("/status")).expect("status").body["status"];
    assert_eq!(st["phase"], "Failed");
    assert_eq!(st["conditions"][2]["reason"], "ShardFailed");
    assert!(seen.iter().any(|x| x.is_event() && x.body["type"] == "Warning"));
}

#[tokio::test]
async fn health_and_metrics_endpoints() {
    use std::sync::atomic::AtomicBool;
    let metrics = Arc::new(Metrics::default());
    metrics.start("Election");
    let ready = Arc::new(AtomicBool::new(true));
    let router = urna_operator::health::router(urna_operator::health::HealthState { metrics, ready });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move { axum::serve(listener, router).await });
    for (path, expect) in
        [("/healthz", "ok"), ("/readyz", "ready"), ("/metrics", "urna_operator_reconciles_total{kind=\"Election\"} 1")]
    {
        let r = urna_testkit::Request::get(path).send_async(addr).await.expect("GET");
        let out = r.text();
        assert_eq!(r.status, 200, "{path}: {out}");
        assert!(out.contains(expect), "{path}: {out}");
    }
}

/// The args of the first container of an applied workload.
fn container_args(body: &Value) -> Vec<String> {
    serde_json::from_value(body["spec"]["template"]["spec"]["containers"][0]["args"].clone()).expect("args")
}

fn flag_values<'a>(args: &'a [String], name: &str) -> Vec<&'a str> {
    args.windows(2).filter(|w| w[0] == name).map(|w| w[1].as_str()).collect()
}

#[tokio::test]
async fn booth_vote_service_gets_tokens_once_a_mesas_file_of_their_hashes_and_the_collector_bridges_to_it() {
    let api = FakeApi::default();
    let set = common::example("municipal");
    let e = with_finalizer(election());
    api.put(ELECTION_PATH, serde_json::to_value(&e).expect("json"));
    put_mesas(&api, &set.mesas);
    let mut f = set.fleets[0].clone();
    f.meta_mut().uid = Some("f-uid".into());
    let fleet_path = "/apis/urna.dev/v1alpha1/namespaces/ciudad/boothfleets/ciudad-booths";
    api.put(fleet_path, serde_json::to_value(&f).expect("json"));
    let ctx = context(&api, NOW);
    controller::election::reconcile(Arc::new(e.clone()), ctx.clone()).await.expect("reconcile");
    let seen = api.take();

    // The election's internal token, one bridge token and one console token per Mesa, created (POST) once,
    // owned by the Election.
    let secrets_path = "/api/v1/namespaces/ciudad/secrets";
    let created: Vec<&Seen> = seen.iter().filter(|s| s.method == Method::POST && s.path == secrets_path).collect();
    let names: Vec<&str> = created.iter().filter_map(|s| s.body["metadata"]["name"].as_str()).collect();
    assert_eq!(
        names,
        [
            "ciudad-2027-internal-token",
            "ciudad-2027-bridge-token",
            "mesa-centro-1-console-token",
            "mesa-centro-2-console-token",
            "mesa-norte-1-console-token",
            "mesa-sur-1-console-token",
            // The example's public site runs PREP: the publisher's and each capturist's tokens.
            "ciudad-2027-publisher-token",
            "ciudad-2027-capturist-ana",
            "ciudad-2027-capturist-beto",
            "ciudad-2027-capturist-carla"
        ]
    );
    let token_of = |s: &Seen| -> String {
        let bytes: k8s_openapi::ByteString = serde_json::from_value(s.body["data"]["token"].clone()).expect("token");
        String::from_utf8(bytes.0).expect("utf-8")
    };
    let mut tokens = BTreeMap::new();
    for s in &created {
        assert_eq!(s.body["metadata"]["ownerReferences"][0]["kind"], "Election");
        let t = token_of(s);
        assert!(t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()), "256 random bits, hex");
        let name = s.body["metadata"]["name"].as_str().expect("name");
        tokens.insert(s.body["metadata"]["labels"]["urna.dev/mesa"].as_str().unwrap_or(name).to_owned(), t);
    }
    assert_eq!(tokens.values().collect::<std::collections::BTreeSet<_>>().len(), 10, "every token is its own");

    // The mesas file: each Mesa's district, the SHA-256 of its console token, its ten booths (the blocked one
    // included: the broker refuses it; its earlier ballots still need an admitted voter).
    let cm = seen
        .iter()
        .find(|s| s.is_apply() && s.path.ends_with("/configmaps/ciudad-2027-mesas"))
        .expect("mesas ConfigMap applied");
    let file: Value = serde_json::from_str(cm.body["data"]["mesas.json"].as_str().expect("mesas.json")).expect("json");
    let mesas = file["mesas"].as_array().expect("mesas");
    assert_eq!(mesas.len(), 4);
    for m in mesas {
        let id = m["id"].as_str().expect("id");
        let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(tokens[id].as_bytes()));
        assert_eq!(m["tokenSha256"], digest, "{id}");
        assert_eq!(m["booths"].as_array().map(Vec::len), Some(10), "{id}");
    }
    let sur = mesas.iter().find(|m| m["id"] == "mesa-sur-1").expect("sur");
    assert_eq!(sur["district"], "sur");
    assert!(sur["booths"].as_array().expect("booths").iter().any(|b| b == "mesa-sur-1-10"));

    // The booth vote StatefulSet: one replica, booth modality, the mesas file and the bridge token mounted.
    let sts = seen
        .iter()
        .find(|s| s.is_apply() && s.path.ends_with("/statefulsets/ciudad-2027-vote-booth"))
        .expect("booth vote applied");
    assert_eq!(sts.body["spec"]["replicas"], 1);
    let args = container_args(&sts.body);
    assert_eq!(flag_values(&args, "--modality"), ["booth"]);
    assert_eq!(flag_values(&args, "--mesas"), ["/var/run/urna/mesas/mesas.json"]);
    assert_eq!(flag_values(&args, "--bridge-token-file"), ["/var/run/urna/bridge-token/token"]);
    assert_eq!(flag_values(&args, "--census"), ["/var/run/urna/census/census.csv"]);
    let volumes = sts.body["spec"]["template"]["spec"]["volumes"].as_array().expect("volumes");
    assert!(volumes.iter().any(|v| v["secret"]["secretName"] == "ciudad-2027-bridge-token"));
    assert!(volumes.iter().any(|v| v["configMap"]["name"] == "ciudad-2027-booth-census"));
    assert!(seen.iter().any(|s| s.is_apply() && s.path.ends_with("/services/ciudad-2027-vote-booth")));
    let tally_np = seen
        .iter()
        .find(|s| s.is_apply() && s.path.ends_with("/networkpolicies/ciudad-2027-tally-ingress"))
        .expect("tally policy");
    let from = &tally_np.body["spec"]["ingress"][0]["from"][0]["podSelector"]["matchExpressions"][0]["values"];
    assert!(from.as_array().expect("values").iter().any(|v| v == "vote-booth"), "booth ballots reach the shards");

    // Steady state: the tokens are read back, never regenerated, and nothing is written.
    let mut again = e.clone();
    let status = seen.iter().find(|s| s.path == format!("{ELECTION_PATH}/status")).expect("status");
    again.status = serde_json::from_value(status.body["status"].clone()).expect("status");
    controller::election::reconcile(Arc::new(again.clone()), ctx.clone()).await.expect("reconcile");
    let writes: Vec<Seen> = api.take().into_iter().filter(|s| s.is_write()).collect();
    assert!(writes.is_empty(), "steady state wrote: {writes:#?}");

    // A new Mesa gets its own token; the others keep theirs, and the mesas file lists it.
    let mut extra = set.mesas[0].clone();
    extra.meta_mut().name = Some("mesa-centro-3".into());
    extra.spec.booths = None;
    api.put(&format!("{MESAS}/mesa-centro-3"), serde_json::to_value(&extra).expect("json"));
    controller::election::reconcile(Arc::new(again), ctx.clone()).await.expect("reconcile");
    let seen = api.take();
    let created: Vec<&str> = seen
        .iter()
        .filter(|s| s.method == Method::POST && s.path == secrets_path)
        .filter_map(|s| s.body["metadata"]["name"].as_str())
        .collect();
    assert_eq!(created, ["mesa-centro-3-console-token"]);
    let cm = seen.iter().find(|s| s.is_apply() && s.path.ends_with("/configmaps/ciudad-2027-mesas")).expect("cm");
    let file: Value = serde_json::from_str(cm.body["data"]["mesas.json"].as_str().expect("file")).expect("json");
    let ids: Vec<&str> = file["mesas"].as_array().expect("mesas").iter().filter_map(|m| m["id"].as_str()).collect();
    assert_eq!(ids, ["mesa-centro-1", "mesa-centro-2", "mesa-centro-3", "mesa-norte-1", "mesa-sur-1"]);
    let first = file["mesas"][0]["tokenSha256"].as_str().expect("hash");
    let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(tokens["mesa-centro-1"].as_bytes()));
    assert_eq!(first, digest, "an existing console token is never rotated");

    // The fleet's collector bridges to the booth vote service with the bridge token the Election created.
    controller::boothfleet::reconcile(Arc::new(f), ctx).await.expect("fleet reconcile");
    let seen = api.take();
    let collector = seen
        .iter()
        .find(|s| s.is_apply() && s.path.ends_with("/statefulsets/ciudad-booths-collector"))
        .expect("collector applied");
    let args = container_args(&collector.body);
    assert_eq!(flag_values(&args, "--vote"), ["http://ciudad-2027-vote-booth.ciudad.svc:8080"]);
    assert_eq!(flag_values(&args, "--bridge-token-file"), ["/var/run/urna/bridge-token/token"]);
    let volumes = collector.body["spec"]["template"]["spec"]["volumes"].as_array().expect("volumes");
    assert!(volumes.iter().any(|v| v["secret"]["secretName"] == "ciudad-2027-bridge-token"));
}

#[tokio::test]
async fn a_mesa_in_an_inner_district_degrades_the_election_and_leaves_the_booth_vote_service_alone() {
    let api = FakeApi::default();
    let mut e = with_finalizer(election());
    // `centro` becomes the parent of a new leaf, so a Mesa in centro could not cast any ballot style.
    e.spec.districts.push(urna_ballot::District {
        id: "centro-a".into(),
        name: "Centro A".into(),
        parent: Some("centro".into()),
    });
    api.put(ELECTION_PATH, serde_json::to_value(&e).expect("json"));
    let m = common::example("municipal").mesas[0].clone();
    api.put(
        &format!("/apis/urna.dev/v1alpha1/namespaces/ciudad/mesas/{}", m.name_any()),
        serde_json::to_value(&m).expect("json"),
    );
    controller::election::reconcile(Arc::new(e), context(&api, NOW)).await.expect("reconcile");
    let seen = api.take();
    let applied: Vec<&str> = seen.iter().filter(|s| s.is_apply()).map(|s| s.path.as_str()).collect();
    assert!(applied.iter().any(|p| p.ends_with("/statefulsets/ciudad-2027-vote")), "the rest goes on: {applied:?}");
    let booth =
        ["/statefulsets/ciudad-2027-vote-booth", "/services/ciudad-2027-vote-booth", "/configmaps/ciudad-2027-mesas"];
    assert!(!applied.iter().any(|p| booth.iter().any(|b| p.ends_with(b))), "{applied:?}");
    let status = seen.iter().find(|s| s.path.ends_with("/status")).expect("status");
    let degraded = &status.body["status"]["conditions"][2];
    assert_eq!(degraded["status"], "True");
    assert_eq!(degraded["reason"], "InvalidSpec");
    assert!(degraded["message"].as_str().is_some_and(|m| m.contains("mesa-centro-1") && m.contains("leaf")));
    assert!(seen.iter().any(|s| s.is_event() && s.body["type"] == "Warning" && s.body["reason"] == "InvalidSpec"));
}

/// The election's workloads as the closing controller sees them, behind one loopback HTTP server (each
/// workload under `/<its service name>`), answering with the real `urna-status` types. Its writes check the
/// election's internal token as the real ones do (401 without it) and are idempotent as theirs are.
mod closing_workloads {
    use std::collections::BTreeSet;
    use std::sync::{Arc, Mutex};

    use axum::Router;
    use axum::extract::{Path, State};
    use axum::http::{HeaderMap, StatusCode};
    use axum::response::{IntoResponse, Response};
    use axum::routing::{get, post};
    use sha2::{Digest, Sha256};
    use urna_status::Modality;
    use urna_status::audit::AuditStatus;
    use urna_status::decryption::{DecryptionStatus, RecordVerification, ResultsHead};
    use urna_status::tally::{LogHead, ShardStatus};
    use urna_status::vote::VoteStatus;
    use urna_status::window::{WindowState, WindowStatus};

    #[derive(Debug, Default)]
    pub struct World {
        pub token: String,
        pub sealed: BTreeSet<String>,
        pub seals: u32,
        pub log_closed: bool,
        pub closes: u32,
        /// The decryption service answers once the operator deployed it (the test says so).
        pub decryption_up: bool,
        pub accepted: Vec<u32>,
        pub refused: u64,
        pub results: Option<Vec<u8>>,
        pub verified: bool,
    }

    pub type Shared = Arc<Mutex<World>>;

    fn closed_window() -> WindowStatus {
        WindowStatus {
            opens_at: Some("2027-06-01T14:00:00Z".into()),
            closes_at: Some("2027-06-07T00:00:00Z".into()),
            state: WindowState::Closed,
        }
    }

    async fn status(State(w): State<Shared>, Path(svc): Path<String>) -> Response {
        let w = w.lock().expect("lock");
        let json = |v: serde_json::Value| (StatusCode::OK, axum::Json(v)).into_response();
        if svc.contains("-vote") {
            let modality = if svc.contains("booth") { Modality::Booth } else { Modality::Remote };
            return json(
                serde_json::to_value(VoteStatus {
                    election_id: "ciudad-2027".into(),
                    modality,
                    partition: 0,
                    partitions: 1,
                    census: 3,
                    rights_issued: 2,
                    rights_by_style: Default::default(),
                    voters_voted: 2,
                    ballots_recorded: 2,
                    ballots_pending: 0,
                    closed: true,
                    window: closed_window(),
                    mesas: vec![],
                })
                .expect("json"),
            );
        }
        if svc.ends_with("-audit") {
            return json(
                serde_json::to_value(AuditStatus {
                    origin: "urna.dev/ciudad-2027".into(),
                    public_key: [1; 32],
                    tree_size: 4,
                    root: [2; 32],
                    checkpoint: None,
                    closed: w.log_closed,
                })
                .expect("json"),
            );
        }
        if svc.ends_with("-decryption") {
            if !w.decryption_up {
                return (StatusCode::SERVICE_UNAVAILABLE, "no endpoints").into_response();
            }
            let results = w.results.as_ref().map(|r| ResultsHead {
                digest: Sha256::digest(r).into(),
                trustees_used: w.accepted.clone(),
                ballots: 6,
            });
            return json(
                serde_json::to_value(DecryptionStatus {
                    election_id: "ciudad-2027".into(),
                    request_hash: [3; 32],
                    trustees: 5,
                    threshold: 3,
                    accepted: w.accepted.clone(),
                    refused: w.refused,
                    last_refusal: (w.refused > 0).then(|| "trustee 9: unknown_trustee: not one of the key's".into()),
                    verification: results.as_ref().map(|_| {
                        if w.verified { RecordVerification::Valid { ballots: 2 } } else { RecordVerification::Running }
                    }),
                    results,
                })
                .expect("json"),
            );
        }
        // A tally shard.
        json(
            serde_json::to_value(ShardStatus {
                shard: svc.clone(),
                election_id: "ciudad-2027".into(),
                manifest_hash: [0; 32],
                public_key_fingerprint: [0; 32],
                districts: vec![],
                modality: Modality::Remote,
                accepted: 1,
                rejected: 0,
                duplicates: 0,
                log_head: LogHead { sequence: 1, hash: [0; 32] },
                totals_digest: [0; 32],
                sealed: w.sealed.contains(&svc),
                sealed_at: None,
                window: closed_window(),
                failure: None,
            })
            .expect("json"),
        )
    }

    fn authorized(w: &World, headers: &HeaderMap) -> bool {
        headers.get("authorization").and_then(|v| v.to_str().ok()) == Some(&format!("Bearer {}", w.token))
    }

    async fn seal(State(w): State<Shared>, Path(svc): Path<String>, headers: HeaderMap) -> Response {
        let mut w = w.lock().expect("lock");
        if !authorized(&w, &headers) {
            return (StatusCode::UNAUTHORIZED, "{}").into_response();
        }
        w.seals += 1;
        w.sealed.insert(svc);
        axum::Json(serde_json::json!({"sealed": true})).into_response()
    }

    async fn close(State(w): State<Shared>, headers: HeaderMap) -> Response {
        let mut w = w.lock().expect("lock");
        if !authorized(&w, &headers) {
            return (StatusCode::UNAUTHORIZED, "{}").into_response();
        }
        w.closes += 1;
        w.log_closed = true;
        axum::Json(serde_json::json!({"closed": true})).into_response()
    }

    async fn results(State(w): State<Shared>) -> Response {
        match &w.lock().expect("lock").results {
            Some(r) => (StatusCode::OK, r.clone()).into_response(),
            None => (StatusCode::NOT_FOUND, "{}").into_response(),
        }
    }

    /// Serves the world; returns its base URL.
    pub async fn serve(world: Shared) -> String {
        let app = Router::new()
            .route("/{svc}/v1/status", get(status))
            .route("/{svc}/v1/seal", post(seal))
            .route("/{svc}/v1/close", post(close))
            .route("/{svc}/v1/results", get(results))
            .with_state(world);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        format!("http://{addr}")
    }
}

const AFTER_CLOSE: &str = "2027-06-07T12:00:00Z";
const JOB_PATH: &str = "/apis/batch/v1/namespaces/ciudad/jobs/ciudad-2027-record-export";

/// A fresh operator (its own client, cache and poller) against the same mock API and workloads: what a
/// restarted operator is.
fn closing_context(api: &FakeApi, base: &str) -> Arc<Context> {
    let now: jiff::Timestamp = AFTER_CLOSE.parse().expect("timestamp");
    let base = base.to_owned();
    let endpoints = urna_operator::workloads::Endpoints::new(move |ep| format!("{base}/{}", ep.service));
    let poller = urna_operator::workloads::Poller::new(
        urna_operator::workloads::WorkloadClient::default(),
        endpoints,
        std::time::Duration::ZERO,
    );
    Arc::new(
        Context::new(api.client(), Arc::new(Metrics::default()), Defaults::default(), Arc::new(move || now))
            .with_poller(poller),
    )
}

/// One reconcile of the Election as stored, by `ctx` (an error only when the operator was "killed"); returns
/// the stored status after it.
async fn reconcile_stored(api: &FakeApi, ctx: Arc<Context>, killed: bool) -> Value {
    let e: Election = serde_json::from_value(api.get(ELECTION_PATH)).expect("election");
    let result = controller::election::reconcile(Arc::new(e), ctx).await;
    assert!(killed || result.is_ok(), "{result:?}");
    api.get(ELECTION_PATH)["status"].clone()
}

/// The closing steps the test plays for the world between reconciles: the Job's pod completing, the
/// decryption pod starting, the trustees answering, the service verifying, the authority certifying.
fn world_moves(api: &FakeApi, world: &closing_workloads::Shared) {
    let job = api.get(JOB_PATH);
    if !job.is_null() && job["status"].is_null() {
        let mut done = job.clone();
        done["status"] = json!({"succeeded": 1});
        api.put(JOB_PATH, done);
        return;
    }
    let deployed = !api.get("/apis/apps/v1/namespaces/ciudad/deployments/ciudad-2027-decryption").is_null();
    let mut w = world.lock().expect("lock");
    if deployed && !w.decryption_up {
        w.decryption_up = true;
    } else if w.decryption_up && w.accepted.len() < 3 {
        if w.refused == 0 {
            w.refused = 1;
        }
        let next = w.accepted.len() as u32 + 1;
        w.accepted.push(next);
        if w.accepted.len() == 3 {
            w.results = Some(br#"{"electionId":"ciudad-2027","totals":[]}"#.to_vec());
        }
    } else if w.results.is_some() && !w.verified {
        w.verified = true;
    } else if !api.get(ELECTION_PATH)["status"]["results"].is_null() {
        drop(w);
        let mut e = api.get(ELECTION_PATH);
        e["metadata"]["annotations"]["urna.dev/certify"] = json!("true");
        api.put(ELECTION_PATH, e);
    }
}

/// Runs reconciles until Certified; with `kill = (round, writes)`, the operator of reconcile `round` dies
/// after `writes` apiserver writes (the rest of that reconcile is lost) and a fresh one takes over. Returns the
/// phases seen and the requests the mock API saw.
async fn close_to_certified(kill: Option<(usize, usize)>) -> (Vec<String>, Vec<Seen>, closing_workloads::Shared) {
    let api = FakeApi::default();
    let mut e = with_finalizer(election());
    e.spec.record.ceremony = Some("ciudad-2027-ceremony".into());
    e.status = Some(urna_operator::crd::ElectionStatus { phase: Some(ElectionPhase::Open), ..Default::default() });
    api.put(ELECTION_PATH, serde_json::to_value(&e).expect("json"));
    let world = closing_workloads::Shared::default();
    let base = closing_workloads::serve(world.clone()).await;
    let mut ctx = closing_context(&api, &base);
    // The first reconcile creates the internal token Secret; the workloads learn it as the pods would.
    let mut phases = vec![];
    let mut seen = vec![];
    for round in 0..30 {
        let killed = kill.is_some_and(|(r, _)| r == round);
        if let Some((_, writes)) = kill.filter(|_| killed) {
            *api.writes_left.lock().expect("lock") = Some(writes);
        }
        let status = reconcile_stored(&api, ctx.clone(), killed).await;
        if killed {
            *api.writes_left.lock().expect("lock") = None;
            ctx = closing_context(&api, &base);
        }
        if world.lock().expect("lock").token.is_empty() {
            let secret = api.get("/api/v1/namespaces/ciudad/secrets/ciudad-2027-internal-token");
            let token = urna_operator::token::from_secret_data(
                serde_json::from_value::<k8s_openapi::api::core::v1::Secret>(secret).expect("secret").data.as_ref(),
            )
            .expect("token");
            world.lock().expect("lock").token = token;
        }
        seen.extend(api.take());
        let phase = status["phase"].as_str().unwrap_or_default().to_owned();
        phases.push(format!("{phase}/{}", common::closing_reason(&status)));
        if phase == "Certified" {
            return (phases, seen, world);
        }
        world_moves(&api, &world);
    }
    panic!("not Certified after 30 reconciles: {phases:?}");
}

/// Closed → Tallying → Decrypted → Certified, each step once, in order, with its Event, and the acts sent to
/// the workloads with the internal token.
#[tokio::test]
async fn closing_runs_an_election_from_closed_to_certified() {
    let (phases, seen, world) = close_to_certified(None).await;
    let mut steps: Vec<&String> = phases.iter().collect();
    steps.dedup();
    let expected = [
        "Closed/Sealing",
        "Closed/ClosingLog",
        "Tallying/Exporting",
        "Tallying/Decrypting",
        "Tallying/Verifying",
        "Decrypted/Decrypted",
        "Certified/Certified",
    ];
    assert_eq!(steps, expected, "{phases:?}");
    let w = world.lock().expect("lock");
    assert_eq!(w.sealed.len(), 6, "every shard sealed");
    assert!(w.log_closed);
    // The record volume and the Job: created once each, the volume with no owner (it outlives the Election).
    let creates = |path: &str| seen.iter().filter(|s| s.method == Method::POST && s.path == path).count();
    assert_eq!(creates("/apis/batch/v1/namespaces/ciudad/jobs"), 1);
    assert_eq!(creates("/api/v1/namespaces/ciudad/persistentvolumeclaims"), 1);
    let pvc = seen.iter().find(|s| s.path == "/api/v1/namespaces/ciudad/persistentvolumeclaims").expect("pvc");
    assert!(pvc.body["metadata"]["ownerReferences"].is_null());
    let job = seen.iter().find(|s| s.path == "/apis/batch/v1/namespaces/ciudad/jobs").expect("job");
    assert_eq!(job.body["metadata"]["ownerReferences"][0]["uid"], "e-uid");
    // The status the operator wrote, step by step.
    let status = |field: &str| {
        seen.iter()
            .filter(|s| s.path == format!("{ELECTION_PATH}/status"))
            .filter_map(|s| s.body["status"].get(field).cloned())
            .collect::<Vec<Value>>()
    };
    let exported = status("recordExportedAt");
    assert!(exported.windows(2).all(|w| w[0] == w[1]), "recordExportedAt written once and kept: {exported:?}");
    let results = status("results");
    let digest = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(br#"{"electionId":"ciudad-2027","totals":[]}"#));
    assert_eq!(results.last(), Some(&json!({"digest": digest, "configMap": "ciudad-2027-results"})));
    assert_eq!(status("certifiedAt").last(), Some(&json!(AFTER_CLOSE)));
    assert_eq!(status("decryption").last().map(|d| d["accepted"].clone()), Some(json!([1, 2, 3])));
    let cm = seen
        .iter()
        .find(|s| s.is_apply() && s.path.ends_with("/configmaps/ciudad-2027-results"))
        .expect("results ConfigMap");
    assert_eq!(cm.body["data"]["results.json"], r#"{"electionId":"ciudad-2027","totals":[]}"#);
    // Events: each step, the export, the refused partial (once), the results and the certification.
    let events: Vec<&str> = seen.iter().filter(|s| s.is_event()).filter_map(|s| s.body["reason"].as_str()).collect();
    for reason in ["Sealing", "ClosingLog", "RecordExportStarted", "RecordExported", "ResultsPublished", "Certified"] {
        assert!(events.contains(&reason), "{reason} in {events:?}");
    }
    assert_eq!(events.iter().filter(|r| **r == "PartialRefused").count(), 1, "{events:?}");
    // Decrypted, then Certified: no more polling once certified.
    assert!(phases.last().is_some_and(|p| p == "Certified/Certified"));
}

/// The operator killed in every reconcile of the closing after each of its first writes (so after creating
/// the volume but before the Job, after the Job, after an Event but before the status...), then a fresh
/// Context against the same API state and workloads: every run ends Certified, and nothing that must happen
/// once happens twice (one Job, one volume, one certifiedAt).
#[tokio::test]
async fn closing_resumes_after_the_operator_is_killed_at_any_step() {
    let (reference, _, _) = close_to_certified(None).await;
    for restart in (1..reference.len()).flat_map(|r| (0..4).map(move |w| (r, w))) {
        let (phases, seen, world) = close_to_certified(Some(restart)).await;
        assert!(phases.last().is_some_and(|p| p == "Certified/Certified"), "{restart:?}: {phases:?}");
        let creates = |path: &str| seen.iter().filter(|s| s.method == Method::POST && s.path == path).count();
        assert_eq!(creates("/apis/batch/v1/namespaces/ciudad/jobs"), 1, "{restart:?}");
        assert_eq!(creates("/api/v1/namespaces/ciudad/persistentvolumeclaims"), 1, "{restart:?}");
        let certified: Vec<Value> = seen
            .iter()
            .filter(|s| s.path == format!("{ELECTION_PATH}/status"))
            .filter_map(|s| s.body["status"].get("certifiedAt").cloned())
            .collect();
        assert!(certified.windows(2).all(|w| w[0] == w[1]), "{restart:?}: {certified:?}");
        assert!(world.lock().expect("lock").log_closed);
    }
}
// --- Observation: the workloads' `GET /v1/status` in the statuses ---------------------------------------------

fn stored_args(api: &FakeApi, path: &str) -> Vec<String> {
    container_args(&api.get(path))
}

fn mark_ready(api: &FakeApi, path: &str, replicas: i32) {
    let mut live = api.get(path);
    assert!(!live.is_null(), "{path} was applied");
    live["status"] = json!({"replicas": replicas, "readyReplicas": replicas});
    api.put(path, live);
}

/// The workloads' Services mapped to loopback URLs: what the test started answers, anything else is
/// port 1 (connection refused).
fn poller(
    urls: Arc<Mutex<BTreeMap<String, String>>>,
    interval: std::time::Duration,
) -> urna_operator::workloads::Poller {
    use urna_operator::workloads::{Endpoints, Poller, WorkloadClient};
    let endpoints = Endpoints::new(move |ep| {
        let urls = urls.lock().expect("lock");
        urls.get(&ep.service).cloned().unwrap_or_else(|| "http://127.0.0.1:1".into())
    });
    Poller::new(WorkloadClient::new(std::time::Duration::from_secs(5)), endpoints, interval)
}

/// A context at [`NOW`] whose workloads answer at `urls` (by Service), asked afresh on every reconcile.
fn answered_by(api: &FakeApi, urls: Arc<Mutex<BTreeMap<String, String>>>) -> Arc<Context> {
    context_answered_by(api, NOW.parse().expect("timestamp"), urls)
}

fn context_answered_by(
    api: &FakeApi,
    now: jiff::Timestamp,
    urls: Arc<Mutex<BTreeMap<String, String>>>,
) -> Arc<Context> {
    Arc::new(
        Context::new(api.client(), Arc::new(Metrics::default()), Defaults::default(), Arc::new(move || now))
            .with_poller(poller(urls, std::time::Duration::ZERO)),
    )
}

fn status_of(api: &FakeApi, path: &str) -> Value {
    api.get(path)["status"].clone()
}

const SHARDS: &str = "/apis/urna.dev/v1alpha1/namespaces/ciudad/tallyshards";
const STS: &str = "/apis/apps/v1/namespaces/ciudad/statefulsets";

/// The Election's vote partitions, booth vote service, audit log and one tally shard run as real `urna`
/// processes started with the arguments the operator built for the municipal example (every other shard is
/// not ready, so not asked). The TallyShard, Mesa and Election controllers write what they answer; after a
/// voter is admitted at a Mesa, the shard is sealed and the log closed (with the election's internal token,
/// read from the Secret the controller created), the statuses follow.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn statuses_come_from_real_vote_tally_and_audit_processes() {
    let api = FakeApi::default();
    let set = common::example("municipal");
    let e = with_finalizer(election());
    api.put(ELECTION_PATH, serde_json::to_value(&e).expect("json"));
    put_mesas(&api, &set.mesas);
    let fleet = &set.fleets[0];
    api.put(
        &format!("/apis/urna.dev/v1alpha1/namespaces/ciudad/boothfleets/{}", fleet.name_any()),
        serde_json::to_value(fleet).expect("json"),
    );
    // First reconcile: tokens created, children applied (not ready: nothing is asked).
    let setup = context(&api, NOW);
    controller::election::reconcile(Arc::new(e.clone()), setup.clone()).await.expect("reconcile");
    let internal = controller::tokens::internal_token(&setup, "ciudad", "ciudad-2027")
        .await
        .expect("read")
        .expect("the internal token Secret exists");
    let secret_token = |name: &str| -> String {
        let bytes: k8s_openapi::ByteString = serde_json::from_value(
            api.get(&format!("/api/v1/namespaces/ciudad/secrets/{name}"))["data"]["token"].clone(),
        )
        .expect("token");
        String::from_utf8(bytes.0).expect("utf-8")
    };

    // What the pods mount, from the objects the operator built or references.
    let manifest = urna_operator::build::election::manifest_config_map(&e).expect("manifest").data.expect("data");
    let census = |name: &str| -> String {
        let cm = set.others.iter().find(|o| o["metadata"]["name"] == name).expect("census ConfigMap");
        cm["data"]["census.csv"].as_str().expect("census").to_owned()
    };
    let signing_key = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../workloads/crypto/tests/fixtures/voting-right-3072.pem"),
    )
    .expect("fixture key");
    let mesas_file = api.get("/api/v1/namespaces/ciudad/configmaps/ciudad-2027-mesas")["data"]["mesas.json"]
        .as_str()
        .expect("mesas.json")
        .to_owned();
    let bridge = secret_token("ciudad-2027-bridge-token");
    let internal_text = internal.expose().to_owned();
    let file = |census_name: &'static str| {
        let manifest = manifest.clone();
        let (signing_key, mesas_file, bridge, internal_text) =
            (signing_key.clone(), mesas_file.clone(), bridge.clone(), internal_text.clone());
        let census = census(census_name);
        move |flag: &str, pod: &str| -> Option<String> {
            let base = pod.rsplit('/').next().unwrap_or_default();
            match flag {
                "--manifest" | "--public-key" => manifest.get(base).cloned(),
                "--signing-key" => Some(signing_key.clone()),
                "--census" => Some(census.clone()),
                "--mesas" => Some(mesas_file.clone()),
                "--bridge-token-file" => Some(bridge.clone()),
                "--internal-token-file" => Some(internal_text.clone()),
                "--admin-token-file" => Some("admin-token-of-the-test".into()),
                _ => None,
            }
        }
    };
    let dir = tempfile::tempdir().expect("tempdir");
    let shard = urna_operator::build::election::tally_shards(&e).remove(0);
    let shard_name = shard.name_any();
    let shard_children = urna_operator::build::tallyshard::build(&shard, &e, &Defaults::default()).expect("build");
    let shard_args = container_args(&shard_children.iter().find(|c| c.kind == "StatefulSet").expect("sts").body);
    let (_tally, tally_url) = start_workload(&dir.path().join("tally"), &shard_args, file("ciudad-2027-census")).await;
    let (_audit, audit_url) = start_workload(
        &dir.path().join("audit"),
        &stored_args(&api, &format!("{STS}/ciudad-2027-audit")),
        file("ciudad-2027-census"),
    )
    .await;
    let vote_args = stored_args(&api, &format!("{STS}/ciudad-2027-vote"));
    let mut urls =
        BTreeMap::from([(shard_name.clone(), tally_url.clone()), ("ciudad-2027-audit".to_owned(), audit_url.clone())]);
    let (mut processes, mut vote_urls) = (Vec::new(), Vec::new());
    for i in 0..2 {
        let args: Vec<String> = vote_args.iter().map(|a| a.replace("$(URNA_VOTE_PARTITION)", &i.to_string())).collect();
        let (p, url) = start_workload(&dir.path().join(format!("vote-{i}")), &args, file("ciudad-2027-census")).await;
        processes.push(p);
        vote_urls.push(url.clone());
        urls.insert(format!("ciudad-2027-vote-{i}.ciudad-2027-vote"), url);
    }
    let booth_args = stored_args(&api, &format!("{STS}/ciudad-2027-vote-booth"));
    let (_booth, booth_url) =
        start_workload(&dir.path().join("booth"), &booth_args, file("ciudad-2027-booth-census")).await;
    urls.insert("ciudad-2027-vote-booth".into(), booth_url.clone());

    // A voter of the booth census is admitted at mesa-sur-1 with the console token the operator generated.
    let client = urna_operator::workloads::WorkloadClient::default();
    let booth_census = census("ciudad-2027-booth-census");
    let voter = booth_census.lines().find(|l| l.contains(",sur,")).and_then(|l| l.split(',').next()).expect("voter");
    let console = urna_auth::Token::new(&secret_token("mesa-sur-1-console-token")).expect("token");
    let admitted: Value = client
        .post_json(&format!("{booth_url}/v1/mesas/mesa-sur-1/admissions"), &console, &json!({"voterId": voter}))
        .await
        .expect("admitted");
    assert_eq!(admitted["admitted"], 1);

    // The workloads are ready now: the controllers ask them.
    for (path, n) in [("ciudad-2027-vote", 2), ("ciudad-2027-audit", 1), ("ciudad-2027-vote-booth", 1)] {
        mark_ready(&api, &format!("{STS}/{path}"), n);
    }
    let shard_path = format!("{SHARDS}/{shard_name}");
    let mut shard_obj: urna_operator::crd::TallyShard = serde_json::from_value(api.get(&shard_path)).expect("shard");
    shard_obj.meta_mut().uid = Some("s-uid".into());
    let ctx = answered_by(&api, Arc::new(Mutex::new(urls)));
    controller::tallyshard::reconcile(Arc::new(shard_obj.clone()), ctx.clone()).await.expect("shard reconcile");
    mark_ready(&api, &format!("{STS}/{shard_name}"), 1);
    controller::tallyshard::reconcile(Arc::new(shard_obj.clone()), ctx.clone()).await.expect("shard reconcile");
    let st = status_of(&api, &shard_path);
    let direct: urna_status::tally::ShardStatus =
        client.get_json(&format!("{tally_url}/v1/status")).await.expect("shard status");
    assert_eq!(st["phase"], "Running");
    assert_eq!(st["ballotsAccepted"], 0);
    assert_eq!(st["ballotsRejected"], 0);
    assert_eq!(st["lastSequence"], 0);
    assert_eq!(st["totalsDigest"], hex::encode(direct.totals_digest));
    assert_eq!(st["logHead"], hex::encode(direct.log_head.hash));
    assert_eq!(st["sealed"], false);

    let mesa_path = format!("{MESAS}/mesa-sur-1");
    let mesa: Mesa = serde_json::from_value(api.get(&mesa_path)).expect("mesa");
    controller::mesa::reconcile(Arc::new(mesa), ctx.clone()).await.expect("mesa reconcile");
    let st = status_of(&api, &mesa_path);
    assert_eq!((st["admissions"].as_u64(), st["ballotsCast"].as_u64()), (Some(1), Some(0)), "{st:#}");

    let current: Election = serde_json::from_value(api.get(ELECTION_PATH)).expect("election");
    controller::election::reconcile(Arc::new(current), ctx.clone()).await.expect("reconcile");
    let st = status_of(&api, ELECTION_PATH);
    let mut censuses = Vec::new();
    for url in vote_urls.iter().chain([&booth_url]) {
        let v: urna_status::vote::VoteStatus = client.get_json(&format!("{url}/v1/status")).await.expect("status");
        censuses.push(v.census);
    }
    let booth_voters = censuses[2];
    assert!(booth_voters > 0 && censuses[0] + censuses[1] > 0, "{censuses:?}");
    assert_eq!(st["census"].as_u64(), Some(censuses.iter().sum()), "{st:#}");
    assert_eq!(st["votersVoted"], 1, "the admitted voter used their right");
    assert_eq!(st["ballotsRecorded"], 0);
    let booth =
        st["modalities"].as_array().expect("modalities").iter().find(|m| m["modality"] == "booth").expect("booth");
    assert_eq!((booth["votersVoted"].as_u64(), booth["census"].as_u64()), (Some(1), Some(booth_voters)));
    let head = &st["auditLogHead"];
    assert_eq!((head["treeSize"].as_u64(), head["closed"].as_bool()), (Some(0), Some(false)), "{head:#}");
    assert_eq!(head["root"].as_str().map(str::len), Some(64));
    let degraded = &st["conditions"][2];
    assert_eq!(degraded["status"], "False", "every ready workload answered: {degraded:#}");

    // Sealed and closed with the internal token: the statuses follow.
    let sealed: Value = client.post_json(&format!("{tally_url}/v1/seal"), &internal, &json!({})).await.expect("seal");
    assert!(sealed.is_object());
    let _: Value = client.post_json(&format!("{audit_url}/v1/close"), &internal, &json!({})).await.expect("close");
    let shard_obj: urna_operator::crd::TallyShard = serde_json::from_value(api.get(&shard_path)).expect("shard");
    controller::tallyshard::reconcile(Arc::new(shard_obj), ctx.clone()).await.expect("shard reconcile");
    let st = status_of(&api, &shard_path);
    assert_eq!((st["phase"].as_str(), st["sealed"].as_bool()), (Some("Sealed"), Some(true)));
    let current: Election = serde_json::from_value(api.get(ELECTION_PATH)).expect("election");
    controller::election::reconcile(Arc::new(current), ctx.clone()).await.expect("reconcile");
    let st = status_of(&api, ELECTION_PATH);
    assert_eq!(st["auditLogHead"]["closed"], true);
    assert_eq!(st["auditLogHead"]["checkpoint"]["closing"], true, "{:#}", st["auditLogHead"]);
    assert_eq!(st["shards"]["sealed"], 1);
    // Without the token the shard's write is refused, with its error code.
    let err = client
        .post_json::<_, Value>(&format!("{tally_url}/v1/seal"), &urna_auth::Token::new("wrong").expect("t"), &json!({}))
        .await
        .expect_err("refused");
    assert!(matches!(&err, urna_operator::workloads::CallError::Status { status: 401, .. }), "{err}");
}

/// A stand-in status endpoint on 127.0.0.1: answers `GET /v1/status` with whatever body is set (the real
/// status types, serialized; or garbage).
async fn status_endpoint(body: impl serde::Serialize) -> (String, Arc<Mutex<String>>) {
    let text = Arc::new(Mutex::new(serde_json::to_string(&body).expect("json")));
    let served = text.clone();
    let app = axum::Router::new().route(
        "/v1/status",
        axum::routing::get(move || {
            let body = served.lock().expect("lock").clone();
            async move { ([(http::header::CONTENT_TYPE, "application/json")], body) }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, text)
}

fn vote_status(
    modality: urna_status::Modality,
    partition: u32,
    partitions: u32,
    voted: u64,
) -> urna_status::vote::VoteStatus {
    urna_status::vote::VoteStatus {
        election_id: "ciudad-2027".into(),
        modality,
        partition,
        partitions,
        census: 100,
        rights_issued: voted,
        rights_by_style: Default::default(),
        voters_voted: voted,
        ballots_recorded: voted,
        ballots_pending: 0,
        closed: false,
        window: urna_status::window::WindowStatus {
            opens_at: None,
            closes_at: None,
            state: urna_status::WindowState::Open,
        },
        mesas: vec![urna_status::vote::MesaStatus {
            mesa: "mesa-sur-1".into(),
            admissions: voted,
            ballots: voted,
            actas: vec![],
        }],
    }
}

fn audit_status(size: u64) -> urna_status::audit::AuditStatus {
    urna_status::audit::AuditStatus {
        origin: "urna.dev/ciudad-2027".into(),
        public_key: [1; 32],
        tree_size: size,
        root: [2; 32],
        checkpoint: None,
        closed: false,
    }
}

/// Vote partition 1 answers garbage, then nothing: the Election is Degraded naming it (StatusUnparseable,
/// then StatusUnreachable), its counts stay the last complete ones (never partition 0's alone, never 0),
/// and the audit log's head, which answers, is still written; once it answers again all is well.
#[tokio::test]
async fn a_vote_partition_that_answers_garbage_or_nothing_degrades_and_keeps_the_last_counts() {
    use urna_status::Modality::{Booth, Remote};
    let api = FakeApi::default();
    let e = with_finalizer(election());
    api.put(ELECTION_PATH, serde_json::to_value(&e).expect("json"));
    controller::election::reconcile(Arc::new(e.clone()), context(&api, NOW)).await.expect("reconcile");
    for (path, n) in [("ciudad-2027-vote", 2), ("ciudad-2027-audit", 1), ("ciudad-2027-vote-booth", 1)] {
        mark_ready(&api, &format!("{STS}/{path}"), n);
    }
    let (p0, p0_body) = status_endpoint(vote_status(Remote, 0, 2, 4)).await;
    let (p1, p1_body) = status_endpoint(vote_status(Remote, 1, 2, 6)).await;
    let (booth, _) = status_endpoint(vote_status(Booth, 0, 1, 2)).await;
    let (audit, audit_body) = status_endpoint(audit_status(3)).await;
    let urls = Arc::new(Mutex::new(BTreeMap::from([
        ("ciudad-2027-vote-0.ciudad-2027-vote".to_owned(), p0),
        ("ciudad-2027-vote-1.ciudad-2027-vote".to_owned(), p1.clone()),
        ("ciudad-2027-vote-booth".to_owned(), booth),
        ("ciudad-2027-audit".to_owned(), audit),
    ])));
    let ctx = answered_by(&api, urls.clone());
    let round = || async {
        let current: Election = serde_json::from_value(api.get(ELECTION_PATH)).expect("election");
        controller::election::reconcile(Arc::new(current), ctx.clone()).await.expect("reconcile");
        status_of(&api, ELECTION_PATH)
    };
    let st = round().await;
    assert_eq!(
        (st["votersVoted"].as_u64(), st["ballotsRecorded"].as_u64(), st["census"].as_u64()),
        (Some(12), Some(12), Some(300))
    );
    assert_eq!(st["auditLogHead"]["treeSize"], 3);
    assert_eq!(st["conditions"][2]["status"], "False");
    let ready = st["conditions"][0].clone();

    *p0_body.lock().expect("lock") = serde_json::to_string(&vote_status(Remote, 0, 2, 5)).expect("json");
    *audit_body.lock().expect("lock") = serde_json::to_string(&audit_status(4)).expect("json");
    *p1_body.lock().expect("lock") = "<html>502 Bad Gateway</html>".into();
    let st = round().await;
    let degraded = &st["conditions"][2];
    assert_eq!((degraded["status"].as_str(), degraded["reason"].as_str()), (Some("True"), Some("StatusUnparseable")));
    assert!(degraded["message"].as_str().is_some_and(|m| m.contains("vote partition 1/2")), "{degraded:#}");
    assert_eq!(st["votersVoted"], 12, "the last complete count, not partition 0's 5 alone");
    assert_eq!(st["modalities"][0]["votersVoted"], 10);
    assert_eq!(st["auditLogHead"]["treeSize"], 4, "the other workloads are still observed");
    assert_eq!(st["conditions"][0], ready, "Ready is the pods' business");
    assert_eq!(st["conditions"][4]["status"], "False", "not Stalled: the next poll may clear it");

    // Another partition's body is garbage too.
    *p1_body.lock().expect("lock") = serde_json::to_string(&vote_status(Remote, 0, 2, 99)).expect("json");
    let st = round().await;
    assert_eq!(st["conditions"][2]["reason"], "StatusUnparseable");
    assert_eq!(st["votersVoted"], 12);

    urls.lock().expect("lock").insert("ciudad-2027-vote-1.ciudad-2027-vote".into(), "http://127.0.0.1:1".into());
    let st = round().await;
    assert_eq!(st["conditions"][2]["reason"], "StatusUnreachable");
    assert_eq!(st["votersVoted"], 12);

    *p1_body.lock().expect("lock") = serde_json::to_string(&vote_status(Remote, 1, 2, 7)).expect("json");
    urls.lock().expect("lock").insert("ciudad-2027-vote-1.ciudad-2027-vote".into(), p1);
    let st = round().await;
    assert_eq!(st["conditions"][2]["status"], "False");
    assert_eq!(st["votersVoted"], 5 + 7 + 2);
}

/// The fleet monitor's and brokers' answers in the BoothFleet's status and each Mesa's booths; a monitor
/// answering for another fleet degrades the BoothFleet and keeps the last counts.
#[tokio::test]
async fn fleet_and_mesa_booths_come_from_the_monitor_and_brokers() {
    let api = FakeApi::default();
    let set = common::example("municipal");
    let e = with_finalizer(election());
    api.put(ELECTION_PATH, serde_json::to_value(&e).expect("json"));
    put_mesas(&api, &set.mesas);
    let mut f = set.fleets[0].clone();
    f.meta_mut().uid = Some("f-uid".into());
    let fleet = f.name_any();
    let fleet_path = format!("/apis/urna.dev/v1alpha1/namespaces/ciudad/boothfleets/{fleet}");
    api.put(&fleet_path, serde_json::to_value(&f).expect("json"));
    controller::boothfleet::reconcile(Arc::new(f.clone()), context(&api, NOW)).await.expect("reconcile");
    let replicas = f.spec.broker.overrides.replicas.unwrap_or(f.spec.broker.replicas);
    let broker = urna_operator::build::boothfleet::broker_name(&fleet, None);
    mark_ready(&api, &format!("{STS}/{broker}"), replicas);
    mark_ready(&api, &format!("/apis/apps/v1/namespaces/ciudad/statefulsets/{fleet}-monitor"), 1);
    let monitor = urna_status::monitor::MonitorStatus {
        fleet: fleet.clone(),
        devices_expected: 40,
        devices_online: 37,
        devices_offline: 3,
        devices_blocked: 1,
        active_alerts: 2,
        alerts_raised: 9,
        brokers_subscribed: 2,
        brokers: 2,
        mesas: vec![urna_status::monitor::MesaDevices {
            mesa: "mesa-sur-1".into(),
            devices: 10,
            online: 8,
            active_alerts: 2,
        }],
    };
    let (monitor_url, monitor_body) = status_endpoint(&monitor).await;
    let mut urls = BTreeMap::from([(format!("{fleet}-monitor"), monitor_url)]);
    for i in 0..replicas {
        let b = urna_status::broker::BrokerStatus {
            fleet: fleet.clone(),
            connections: 10 + u64::try_from(i).expect("i"),
            connects: 50,
            handshake_timeouts: 0,
            pending_handshakes: 0,
            handshakes_shed: 0,
            blocked: vec![],
        };
        urls.insert(format!("{broker}-{i}"), status_endpoint(b).await.0);
    }
    let ctx = answered_by(&api, Arc::new(Mutex::new(urls)));
    let current: urna_operator::crd::BoothFleet = serde_json::from_value(api.get(&fleet_path)).expect("fleet");
    controller::boothfleet::reconcile(Arc::new(current), ctx.clone()).await.expect("reconcile");
    let st = status_of(&api, &fleet_path);
    assert_eq!(
        (st["devicesOnline"].as_u64(), st["devicesOffline"].as_u64(), st["activeAlerts"].as_u64()),
        (Some(37), Some(3), Some(2))
    );
    let expected: u64 = (0..u64::try_from(replicas).expect("n")).map(|i| 10 + i).sum();
    assert_eq!(st["shards"][0]["connections"].as_u64(), Some(expected), "{st:#}");
    assert_eq!(st["conditions"][2]["status"], "False");

    let mesa_path = format!("{MESAS}/mesa-sur-1");
    let mesa: Mesa = serde_json::from_value(api.get(&mesa_path)).expect("mesa");
    controller::mesa::reconcile(Arc::new(mesa), ctx.clone()).await.expect("mesa reconcile");
    let st = status_of(&api, &mesa_path);
    assert_eq!((st["boothsOnline"].as_u64(), st["incidents"].as_u64()), (Some(8), Some(2)), "{st:#}");
    assert!(st["ready"].as_str().is_some_and(|r| r.starts_with("8/")), "{st:#}");

    // The monitor now answers for another fleet: Degraded, the last counts kept.
    let mut other = monitor;
    other.fleet = "someone-else".into();
    other.devices_online = 0;
    *monitor_body.lock().expect("lock") = serde_json::to_string(&other).expect("json");
    let current: urna_operator::crd::BoothFleet = serde_json::from_value(api.get(&fleet_path)).expect("fleet");
    controller::boothfleet::reconcile(Arc::new(current), ctx).await.expect("reconcile");
    let st = status_of(&api, &fleet_path);
    assert_eq!(st["devicesOnline"], 37);
    assert_eq!(
        (st["conditions"][2]["status"].as_str(), st["conditions"][2]["reason"].as_str()),
        (Some("True"), Some("StatusUnparseable"))
    );
}

/// The Election's status publishes its keys' fingerprints once every key is known (the threshold key from
/// the ceremony ConfigMap, the voting-right key from its Secret, the audit log's from its status), as the
/// trust file the record tool computes for those keys: `urna verify record --trust` reads it as it is.
#[tokio::test]
async fn key_fingerprints_appear_once_every_key_is_known_as_the_record_tool_names_them() {
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../workloads/crypto/tests/fixtures");
    let public = std::fs::read_to_string(fixtures.join("ceremony-3072/public.json")).expect("public.json");
    let pem = std::fs::read_to_string(fixtures.join("voting-right-3072.pem")).expect("pem");
    let api = FakeApi::default();
    let mut e = with_finalizer(election());
    e.spec.record.ceremony = Some("ciudad-2027-ceremony".into());
    api.put(ELECTION_PATH, serde_json::to_value(&e).expect("json"));
    controller::election::reconcile(Arc::new(e.clone()), context(&api, NOW)).await.expect("reconcile");
    mark_ready(&api, &format!("{STS}/ciudad-2027-audit"), 1);
    let (audit, _) = status_endpoint(audit_status(3)).await;
    let ctx = answered_by(&api, Arc::new(Mutex::new(BTreeMap::from([("ciudad-2027-audit".to_owned(), audit)]))));
    let round = || async {
        let current: Election = serde_json::from_value(api.get(ELECTION_PATH)).expect("election");
        controller::election::reconcile(Arc::new(current), ctx.clone()).await.expect("reconcile");
        status_of(&api, ELECTION_PATH)
    };
    assert!(round().await["keyFingerprints"].is_null(), "neither the ceremony nor the signing key exists yet");
    let ceremony = k8s_openapi::api::core::v1::ConfigMap {
        metadata: kube::api::ObjectMeta { name: Some("ciudad-2027-ceremony".into()), ..Default::default() },
        data: Some(BTreeMap::from([("public.json".to_owned(), public.clone())])),
        ..Default::default()
    };
    api.put("/api/v1/namespaces/ciudad/configmaps/ciudad-2027-ceremony", serde_json::to_value(&ceremony).expect("j"));
    assert!(round().await["keyFingerprints"].is_null(), "the signing key's Secret does not exist yet");
    let secret = k8s_openapi::api::core::v1::Secret {
        metadata: kube::api::ObjectMeta { name: Some("ciudad-2027-vote-signing-key".into()), ..Default::default() },
        data: Some(BTreeMap::from([("signing-key.pem".to_owned(), k8s_openapi::ByteString(pem.clone().into_bytes()))])),
        ..Default::default()
    };
    api.put(
        "/api/v1/namespaces/ciudad/secrets/ciudad-2027-vote-signing-key",
        serde_json::to_value(&secret).expect("j"),
    );
    let st = round().await;
    let published = urna_record::TrustFile::from_json(&st["keyFingerprints"].to_string()).expect("a trust file");

    // What the record tool computes for the same keys (a record of this election names each of them).
    let threshold = urna_crypto::threshold::ThresholdPublicKey::from_json(&public).expect("public key");
    let signing = urna_crypto::blind::BlindSigningKey::from_pkcs8_pem(&pem).expect("signing key");
    let log = urna_record::TrustedLogKey { origin: "urna.dev/ciudad-2027".into(), public_key: [1; 32] };
    let rights = [urna_status::Modality::Remote, urna_status::Modality::Booth].map(|m| (m, signing.verifying_key()));
    let manifest_hash = urna_ballot::manifest_hash(&e.manifest());
    let expected = urna_record::TrustFile::from_keys("ciudad-2027", manifest_hash, &threshold, log, rights);
    assert_eq!(published, expected);
    assert_eq!(st["keyFingerprints"]["thresholdKey"], hex::encode(threshold.fingerprint()));
    assert_eq!(
        st["keyFingerprints"]["votingRightKeys"][0]["fingerprint"],
        hex::encode(signing.verifying_key().fingerprint())
    );
    assert_eq!(st["keyFingerprints"]["manifestHash"], st["manifestHash"]);
}
