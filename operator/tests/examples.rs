//! Every example parses into the typed resources, validates (including the ballot crate's
//! `validate_manifest`), and builds exactly the manifests in the committed snapshots.

mod common;

use common::{EXAMPLES, example};
use kube::ResourceExt;
use urna_operator::build::{self, Defaults};

/// The Mesas and Election a fleet of `set` reads.
fn fleet_inputs(set: &urna_operator::examples::ExampleSet) -> build::boothfleet::FleetInputs<'_> {
    build::boothfleet::FleetInputs { mesas: &set.mesas, election: set.elections.first() }
}

/// Stand-ins for the console tokens' SHA-256 (the controller reads the real ones from their Secrets).
fn booth_token_hashes(mesas: &[urna_operator::crd::Mesa]) -> std::collections::BTreeMap<String, String> {
    mesas
        .iter()
        .map(|m| (m.name_any(), urna_operator::token::token_sha256(&format!("token-{}", m.name_any()))))
        .collect()
}

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
    let plan =
        build::boothfleet::build(&set.fleets[0], fleet_inputs(&set), &Defaults::default()).expect("fleet builds");
    // One CA, one broker certificate, the backends' certificate, 39 devices (one is blocked).
    assert_eq!(plan.secrets.len(), 42);
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
            // The booth vote service (municipal), with fixed stand-ins for the console tokens' hashes.
            if build::booth_vote::booth_spec(&e).is_some() {
                let hashes = booth_token_hashes(&set.mesas);
                let file = build::booth_vote::mesas_file(&e, &set.mesas, &set.fleets, &hashes).expect("mesas file");
                let booth = build::booth_vote::build(&e, &defaults, &build::election::tally_shards(&e), &file)
                    .expect("booth vote builds");
                let secrets: Vec<_> = build::booth_vote::token_secrets(&e, &set.mesas)
                    .into_iter()
                    .map(|s| (s.meta.name, s.meta.labels))
                    .collect();
                insta::assert_yaml_snapshot!(format!("{name}-booth-vote-{}", e.name_any()), (booth, secrets));
            }
            // The public site (and with capturists PREP), with fixed stand-ins for the tokens' hashes.
            if e.spec.site.is_some() {
                let mut hashes = booth_token_hashes(&set.mesas);
                let secrets = build::site::token_secrets(&e);
                for s in &secrets {
                    let key = s.hash_key.clone().expect("listed");
                    hashes.insert(key.clone(), urna_operator::token::token_sha256(&format!("token-{key}")));
                }
                let file = build::booth_vote::booth_spec(&e)
                    .map(|_| build::booth_vote::mesas_file(&e, &set.mesas, &set.fleets, &hashes).expect("mesas"));
                let site = build::site::build(&e, &defaults, file.as_ref(), &hashes).expect("site builds");
                let secrets: Vec<_> = secrets.into_iter().map(|s| (s.meta.name, s.meta.labels)).collect();
                insta::assert_yaml_snapshot!(format!("{name}-site-{}", e.name_any()), (site, secrets));
            }
            // What closing creates (controller::closing), with the ceremony ConfigMap named.
            let mut closing = e.clone();
            closing.spec.record.ceremony = Some(format!("{}-ceremony", e.name_any()));
            let shards = build::election::tally_shards(&closing);
            let (deployment, service) = build::record::decryption_service(&closing, &defaults.image);
            let closing_children = vec![
                build::Child::new(&build::record::record_volume(&closing)).expect("pvc"),
                build::Child::new(&build::record::export_job(&closing, &defaults.image, &shards).expect("job"))
                    .expect("job"),
                build::Child::new(&deployment).expect("deployment"),
                build::Child::new(&service).expect("service"),
                build::Child::new(&build::record::results_config_map(&closing, "{\"electionId\": \"...\"}\n"))
                    .expect("configmap"),
            ];
            insta::assert_yaml_snapshot!(format!("{name}-closing-{}", e.name_any()), closing_children);
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
            let plan = build::boothfleet::build(&f, fleet_inputs(&set), &defaults).expect("fleet builds");
            let secrets: Vec<_> = plan.secrets.iter().map(|s| (s.meta.name.clone(), format!("{:?}", s.kind))).collect();
            insta::assert_yaml_snapshot!(format!("{name}-boothfleet-{}", f.name_any()), (plan.children, secrets));
        }
    }
}

#[test]
fn cert_manager_issuer_yields_certificates_instead_of_secrets() {
    let set = example("municipal");
    let mut f = set.fleets[0].clone();
    f.spec.broker.issuer =
        Some(urna_operator::crd::boothfleet::IssuerRef { name: "booth-ca".into(), kind: "ClusterIssuer".into() });
    let plan = build::boothfleet::build(&f, fleet_inputs(&set), &Defaults::default()).expect("fleet builds");
    assert!(plan.secrets.is_empty());
    let certs: Vec<_> = plan.children.iter().filter(|c| c.kind == "Certificate").collect();
    // Broker, backends, 39 devices.
    assert_eq!(certs.len(), 1 + 1 + 39);
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

/// Every absolute path a workload's arguments name is under one of its mounts, and that mount provides
/// the file: the manifest ConfigMap has the key, a ConfigMap/Secret key volume projects exactly that key,
/// or it is the pod's data volume.
#[test]
fn every_file_a_workload_reads_is_mounted() {
    let defaults = Defaults::default();
    for name in EXAMPLES {
        let set = example(name);
        for e in &set.elections {
            let mut bodies: Vec<_> =
                build::election::build(e, &defaults).expect("builds").into_iter().map(|c| c.body).collect();
            for s in build::election::tally_shards(e) {
                bodies.extend(build::tallyshard::build(&s, e, &defaults).expect("builds").into_iter().map(|c| c.body));
            }
            let manifest_cm = build::election::manifest_config_map(e).expect("config map");
            let manifest_keys: Vec<&String> = manifest_cm.data.as_ref().expect("data").keys().collect();
            let mut checked = 0;
            for sts in bodies.iter().filter(|b| b["kind"] == "StatefulSet") {
                let pod = &sts["spec"]["template"]["spec"];
                let c = &pod["containers"][0];
                let volumes = pod["volumes"].as_array().expect("volumes");
                let args: Vec<&str> = c["args"].as_array().expect("args").iter().filter_map(|a| a.as_str()).collect();
                for path in args.iter().filter(|a| a.starts_with('/')) {
                    let mount = c["volumeMounts"]
                        .as_array()
                        .expect("mounts")
                        .iter()
                        .find(|m| {
                            let dir = m["mountPath"].as_str().unwrap_or_default();
                            *path == dir || path.strip_prefix(dir).is_some_and(|rest| rest.starts_with('/'))
                        })
                        .unwrap_or_else(|| {
                            panic!("{name}: {path} is not under any mount of {}", sts["metadata"]["name"])
                        });
                    let dir = mount["mountPath"].as_str().unwrap_or_default();
                    let file = path.strip_prefix(dir).unwrap_or_default().trim_start_matches('/');
                    let vname = &mount["name"];
                    if vname == "data" {
                        continue; // the PVC: the workload creates its files
                    }
                    let v = volumes.iter().find(|v| &v["name"] == vname).expect("volume of mount");
                    let source = if v["configMap"].is_object() { &v["configMap"] } else { &v["secret"] };
                    let provided: Vec<&str> = match source["items"].as_array() {
                        Some(items) => items.iter().filter_map(|i| i["path"].as_str()).collect(),
                        None if source["name"] == manifest_cm.metadata.name.as_deref().unwrap_or_default() => {
                            manifest_keys.iter().map(|k| k.as_str()).collect()
                        }
                        None => panic!("{name}: volume {vname} projects unknown keys"),
                    };
                    assert!(provided.contains(&file), "{name}: {path}: {file} not in {provided:?}");
                    checked += 1;
                }
            }
            assert!(checked >= 4, "{name}: manifest, public key, signing key and census at least ({checked})");
        }
    }
}

/// The vote StatefulSet: one replica per partition, each with its ordinal as partition index, its own
/// retained volume, the signing key and census mounted, and routes to every generated shard's Service.
#[test]
fn vote_is_a_partitioned_statefulset() {
    let e = example("federal").elections[0].clone();
    let children = build::election::build(&e, &Defaults::default()).expect("builds");
    let vote = children.iter().find(|c| c.kind == "StatefulSet" && c.name == "mx-2024-vote").expect("vote sts");
    let spec = &vote.body["spec"];
    assert_eq!(spec["replicas"], 12);
    assert_eq!(spec["podManagementPolicy"], "Parallel");
    assert_eq!(spec["persistentVolumeClaimRetentionPolicy"]["whenDeleted"], "Retain");
    assert_eq!(spec["persistentVolumeClaimRetentionPolicy"]["whenScaled"], "Retain");
    assert_eq!(spec["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"], "50Gi");
    let c = &spec["template"]["spec"]["containers"][0];
    let args: Vec<&str> = c["args"].as_array().expect("args").iter().filter_map(|a| a.as_str()).collect();
    let value = |flag: &str| args.windows(2).find(|w| w[0] == flag).map(|w| w[1]).expect(flag);
    assert_eq!(value("--partition"), "$(URNA_VOTE_PARTITION)/12");
    assert_eq!(c["env"][0]["valueFrom"]["fieldRef"]["fieldPath"], "metadata.labels['apps.kubernetes.io/pod-index']");
    assert_eq!(value("--audit"), "http://mx-2024-audit.mx-2024.svc:8080");
    let shards: Vec<&str> = args.windows(2).filter(|w| w[0] == "--shard").map(|w| w[1]).collect();
    assert_eq!(shards.len(), 64);
    assert!(shards.contains(&"aguascalientes:remote=http://mx-2024-aguascalientes-remote.mx-2024.svc:8080"));
    let service = children.iter().find(|c| c.kind == "Service" && c.name == "mx-2024-vote").expect("vote svc");
    assert_eq!(service.body["spec"]["clusterIP"], "None", "headless: each partition has a stable DNS name");
    let cm = build::election::manifest_config_map(&e).expect("config map");
    let election_json: serde_json::Value =
        serde_json::from_str(&cm.data.expect("data")["election.json"]).expect("election.json");
    assert_eq!(election_json["vote"]["urls"][11], "http://mx-2024-vote-11.mx-2024-vote.mx-2024.svc:8080");
}

#[test]
fn manual_sharding_routes_vote_to_the_declared_shards() {
    let mut e = example("university").elections[0].clone();
    e.spec.tally.sharding = urna_operator::crd::election::ShardingPolicy::Manual;
    assert!(build::election::tally_shards(&e).is_empty());
    let shard = urna_operator::crd::TallyShard::new(
        "uji-remote-by-hand",
        urna_operator::crd::TallyShardSpec {
            election: e.name_any(),
            district: Some("uji".into()),
            modality: urna_operator::crd::common::ModalityKind::Remote,
            storage: Default::default(),
            image: None,
            resources: None,
        },
    );
    let children = build::election::build_with(&e, &Defaults::default(), &[shard]).expect("builds");
    assert!(!children.iter().any(|c| c.kind == "TallyShard"), "manual: none generated");
    let vote = children.iter().find(|c| c.kind == "StatefulSet" && c.name.ends_with("-vote")).expect("vote");
    let args = vote.body["spec"]["template"]["spec"]["containers"][0]["args"].as_array().expect("args").clone();
    assert!(args.contains(&"uji:remote=http://uji-remote-by-hand.uji.svc:8080".into()), "{args:?}");
}

#[test]
fn validation_names_bad_vote_and_census_references() {
    use urna_operator::crd::common::KeyRef;
    let base = example("municipal").elections[0].clone();
    let err = |f: &dyn Fn(&mut urna_operator::crd::Election)| {
        let mut e = base.clone();
        f(&mut e);
        urna_operator::validate::election(&e).expect_err("invalid").to_string()
    };
    assert!(err(&|e| e.spec.vote.partitions = 0).contains("spec.vote.partitions"));
    assert!(err(&|e| e.spec.vote.partitions = 65).contains("spec.vote.partitions"));
    assert!(err(&|e| e.spec.vote.signing_key.key = "../key".into()).contains("spec.vote.signingKey.key"));
    assert!(err(&|e| e.spec.vote.signing_key.name = "Not_DNS".into()).contains("spec.vote.signingKey.name"));
    assert!(
        err(&|e| e.spec.vote.admin_token = Some(KeyRef { name: "t".into(), key: "..".into() }))
            .contains("spec.vote.adminToken.key")
    );
    assert!(
        err(&|e| e.spec.census.secret = Some(KeyRef { name: "c".into(), key: "c.csv".into() })).contains("exactly one")
    );
    assert!(err(&|e| e.spec.census.config_map = None).contains("exactly one"));
}

/// The monitor's rules for the municipal fleet, from the BoothFleet and its Mesas (geofence, window) and
/// Election; `workloads/urna/tests/operator_args.rs` deserializes the same JSON into `urna_booth`'s type.
#[test]
fn monitor_rules_snapshot() {
    let set = example("municipal");
    let mut f = set.fleets[0].clone();
    let rules = build::boothfleet::monitor_rules(&f, fleet_inputs(&set));
    insta::assert_yaml_snapshot!("municipal-monitor-rules", rules);
    // A Mesa's registered voters become its census; optional thresholds appear when set.
    let mut mesas = set.mesas.clone();
    mesas[0].spec.registered_voters = Some(750);
    f.spec.anomaly_rules.flap_connects = Some(3);
    f.spec.anomaly_rules.flap_window_seconds = Some(60);
    f.spec.anomaly_rules.geofence = false;
    let inputs = build::boothfleet::FleetInputs { mesas: &mesas, election: set.elections.first() };
    let rules = build::boothfleet::monitor_rules(&f, inputs);
    let device = |id: &str| rules.devices.get(id);
    assert_eq!(device("mesa-centro-1-1").and_then(|d| d.census), Some(750));
    assert_eq!(device("mesa-centro-2-1").map(|d| d.census), Some(None));
    assert_eq!(device("mesa-centro-1-1").map(|d| d.geofence), Some(None), "geofence rule off");
    assert_eq!((rules.flap_connects, rules.flap_window_ms), (Some(3), Some(60_000)));
    assert!(device("mesa-sur-1-10").is_none(), "blocked devices have no rules");
}

#[test]
fn broker_shards_split_devices_by_mesa_district() {
    use urna_operator::crd::boothfleet::BrokerShard;
    let set = example("municipal");
    let mut f = set.fleets[0].clone();
    let shard = |name: &str, districts: &[&str]| BrokerShard {
        name: name.into(),
        districts: districts.iter().map(|d| (*d).to_string()).collect(),
    };
    // No shards: one broker under the name it always had.
    let one = build::boothfleet::assign_shards(&f, fleet_inputs(&set)).expect("assigns");
    assert_eq!((one.len(), one[0].broker.as_str(), one[0].devices.len()), (1, "ciudad-booths-broker", 40));

    f.spec.broker.shards = vec![shard("centro", &["centro"]), shard("resto", &["norte", "sur"])];
    let shards = build::boothfleet::assign_shards(&f, fleet_inputs(&set)).expect("assigns");
    let counts: Vec<(&str, usize)> = shards.iter().map(|s| (s.broker.as_str(), s.devices.len())).collect();
    assert_eq!(counts, [("ciudad-booths-broker-centro", 20), ("ciudad-booths-broker-resto", 20)]);
    assert!(shards[0].devices.iter().all(|d| d.id.starts_with("mesa-centro-")));

    // Without the Mesas no district is known: refused unless a catch-all shard exists.
    let none = build::boothfleet::FleetInputs { mesas: &[], election: set.elections.first() };
    let err = build::boothfleet::assign_shards(&f, none).expect_err("unassigned devices");
    assert!(err.to_string().contains("40 devices match no shard"), "{err}");
    f.spec.broker.shards.push(shard("otros", &[]));
    let shards = build::boothfleet::assign_shards(&f, none).expect("catch-all");
    assert_eq!(shards[2].devices.len(), 40);

    // The plan: per shard a StatefulSet, a client Service and one Service per replica, and its own
    // server certificate; the backends connect to every replica of every shard.
    f.spec.broker.shards.pop();
    let plan = build::boothfleet::build(&f, fleet_inputs(&set), &Defaults::default()).expect("builds");
    let names = |kind: &str| -> Vec<String> {
        plan.children.iter().filter(|c| c.kind == kind).map(|c| c.name.clone()).collect()
    };
    assert_eq!(
        names("StatefulSet"),
        [
            "ciudad-booths-broker-centro",
            "ciudad-booths-broker-resto",
            "ciudad-booths-collector",
            "ciudad-booths-monitor"
        ]
    );
    assert!(names("Service").contains(&"ciudad-booths-broker-resto-1".to_string()));
    let server_certs =
        plan.secrets.iter().filter(|s| matches!(s.kind, urna_operator::pki::CertKind::Server(_))).count();
    assert_eq!(server_certs, 2);
}

#[test]
fn a_shard_above_the_documented_maximum_is_refused() {
    use urna_operator::crd::boothfleet::{MAX_BOOTHS_PER_SHARD, MesaDevices};
    let set = example("municipal");
    let mut f = set.fleets[0].clone();
    f.spec.per_mesa = (0..51).map(|i| MesaDevices { mesa: format!("m{i}"), count: 100 }).collect();
    let err = build::boothfleet::assign_shards(&f, fleet_inputs(&set)).expect_err("5,100 booths in one shard");
    assert!(err.to_string().contains(&format!("above the {MAX_BOOTHS_PER_SHARD} booths")), "{err}");
    assert!(matches!(err, urna_operator::Error::InvalidSpec(_)));
}

#[test]
fn a_device_may_not_take_the_backends_identity() {
    let mut f = example("municipal").fleets[0].clone();
    f.spec.devices.push(urna_operator::crd::boothfleet::Device { id: "urna-bridge".into(), mesa: None });
    let err = urna_operator::validate::boothfleet(&f).expect_err("backend id");
    assert!(err.to_string().contains("backends' identity"), "{err}");
}

#[test]
fn booth_vote_needs_its_own_census_and_a_booth_modality() {
    let set = example("municipal");
    let e = &set.elections[0];
    assert!(build::booth_vote::booth_spec(e).is_some());
    let err = |e: &urna_operator::crd::Election| {
        urna_operator::validate::election(e).err().map(|x| x.to_string()).unwrap_or_default()
    };
    // The remote census again: a voter could vote remotely and at a Mesa.
    let mut shared = e.clone();
    if let Some(b) = shared.spec.vote.booth.as_mut() {
        b.census = e.spec.census.clone();
    }
    assert!(err(&shared).contains("spec.vote.booth.census: must not be spec.census"), "{}", err(&shared));
    // No booth modality: nothing for it to record.
    let mut remote_only = e.clone();
    remote_only.spec.modalities.retain(|m| m.kind == urna_operator::crd::common::ModalityKind::Remote);
    assert!(err(&remote_only).contains("no booth modality"), "{}", err(&remote_only));
    assert!(build::booth_vote::booth_spec(&remote_only).is_none(), "and the builders add nothing");
    assert!(
        build::election::network_policies(&remote_only)
            .iter()
            .all(|p| p.metadata.name.as_deref() != Some("ciudad-2027-vote-booth-ingress"))
    );
    // A device that two fleets assign: the vote service would refuse the mesas file.
    let mut twin = set.fleets[0].clone();
    twin.metadata.name = Some("ciudad-booths-2".into());
    let hashes = set.mesas.iter().map(|m| (m.name_any(), "00".repeat(32))).collect();
    let fleets = [set.fleets[0].clone(), twin];
    let refused = build::booth_vote::mesas_file(e, &set.mesas, &fleets, &hashes).err().map(|x| x.to_string());
    assert!(refused.is_some_and(|m| m.contains("is in BoothFleets ciudad-booths and ciudad-booths-2")));
}

/// Prometheus scrapes the tally shards (from any namespace, by its usual pod label) and anyone reaches the
/// audit log's public reads (checkpoints, proofs); the shards still take ballots only from the writers.
#[test]
fn network_policies_open_metrics_and_the_public_audit_log() {
    let e = &example("municipal").elections[0];
    let policies: Vec<serde_json::Value> =
        build::election::network_policies(e).iter().map(|p| serde_json::to_value(p).expect("json")).collect();
    let get = |name: &str| {
        policies.iter().find(|p| p["metadata"]["name"] == name).unwrap_or_else(|| panic!("{name}")).clone()
    };
    let tally = get("ciudad-2027-tally-ingress");
    let rules = tally["spec"]["ingress"].as_array().expect("rules");
    assert_eq!(rules.len(), 3);
    assert_eq!(
        rules[0]["from"][0]["podSelector"]["matchExpressions"][0]["values"],
        serde_json::json!(["vote", "vote-booth", "broker", "record"])
    );
    assert_eq!(rules[1]["from"][0]["namespaceSelector"], serde_json::json!({}));
    assert_eq!(rules[1]["from"][0]["podSelector"]["matchLabels"]["app.kubernetes.io/name"], "prometheus");
    // The operator polls the shards' status and seals them (with the internal token) wherever it runs.
    assert_eq!(rules[2]["from"][0]["podSelector"]["matchLabels"]["app.kubernetes.io/name"], "urna-operator");
    let audit = get("ciudad-2027-audit-ingress");
    let rules = audit["spec"]["ingress"].as_array().expect("rules");
    assert_eq!(rules.len(), 1);
    assert!(rules[0].get("from").is_none(), "any source: {}", rules[0]);
    assert_eq!(rules[0]["ports"][0]["port"], "http");
}

/// Every StatefulSet holding a volume keeps its PVCs when deleted or scaled down.
#[test]
fn every_ballot_volume_is_retained() {
    let d = Defaults::default();
    for name in EXAMPLES {
        let set = example(name);
        let mut bodies = vec![];
        for e in &set.elections {
            bodies.extend(build::election::build(e, &d).expect("build").into_iter().map(|c| c.body));
            for s in build::election::tally_shards(e) {
                bodies.extend(build::tallyshard::build(&s, e, &d).expect("build").into_iter().map(|c| c.body));
            }
        }
        for f in &set.fleets {
            bodies.extend(
                build::boothfleet::build(f, fleet_inputs(&set), &d)
                    .expect("build")
                    .children
                    .into_iter()
                    .map(|c| c.body),
            );
        }
        let sets: Vec<&serde_json::Value> = bodies.iter().filter(|b| b["kind"] == "StatefulSet").collect();
        assert!(!sets.is_empty(), "{name}");
        for s in sets.iter().filter(|s| s["spec"]["volumeClaimTemplates"].is_array()) {
            assert_eq!(
                s["spec"]["persistentVolumeClaimRetentionPolicy"],
                serde_json::json!({"whenDeleted": "Retain", "whenScaled": "Retain"}),
                "{name}: {}",
                s["metadata"]["name"]
            );
        }
    }
}

/// The university example's Ingress exposes the voter app and the routes the app calls, nothing the
/// vote service guards with a token or keeps for operators: each exposed path is a route of the vote
/// service's OpenAPI document without `admin`, `console` or `bridge` security, and every path the app's
/// API client calls (web/app/src/api.ts) is exposed.
#[test]
fn vote_ingress_exposes_the_app_and_only_its_public_routes() {
    use urna_operator::build::election::{VOTE_INGRESS_PATHS, vote_ingress};
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let openapi: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("workloads/vote/src/openapi.json")).expect("read openapi.json"),
    )
    .expect("openapi.json");
    let routes = openapi["paths"].as_object().expect("paths");
    for (path, kind) in VOTE_INGRESS_PATHS {
        let ops: Vec<&serde_json::Value> = if *kind == "Prefix" {
            routes.iter().filter(|(r, _)| r.starts_with(&format!("{path}/"))).map(|(_, v)| v).collect()
        } else {
            routes.get(*path).into_iter().collect()
        };
        assert!(!ops.is_empty(), "{path} ({kind}) is not a route of the vote service");
        for op in ops.iter().flat_map(|o| o.as_object().expect("operations").values()) {
            let guarded =
                op["security"].as_array().into_iter().flatten().flat_map(|s| s.as_object()).flat_map(|s| s.keys());
            for scheme in guarded {
                assert_eq!(scheme, "session", "{path} needs {scheme}: not for the public");
            }
        }
    }
    for private in ["/v1/close", "/v1/status", "/metrics", "/healthz", "/readyz", "/v1/booth/ballots"] {
        assert!(!VOTE_INGRESS_PATHS.iter().any(|(p, _)| p == &private), "{private} is exposed");
    }
    let api = std::fs::read_to_string(root.join("web/app/src/api.ts")).expect("read api.ts");
    let called: Vec<&str> = api
        .split("call<")
        .skip(1)
        .filter(|c| c.split(['\'', '`']).next().is_some_and(|head| head.ends_with(">(")))
        .filter_map(|c| c.split(['\'', '`']).nth(3))
        .map(|p| p.split('?').next().unwrap_or(p))
        .collect();
    assert!(called.len() >= 6, "the app's calls were found: {called:?}");
    for path in called {
        assert!(VOTE_INGRESS_PATHS.iter().any(|(p, _)| *p == format!("/{path}")), "the app calls {path}, not exposed");
    }

    let set = example("university");
    let e = &set.elections[0];
    let ingress = vote_ingress(e).expect("the university example has spec.vote.ingress");
    let spec = ingress.spec.expect("spec");
    assert_eq!(spec.ingress_class_name.as_deref(), Some("nginx"));
    let rules = spec.rules.expect("rules");
    let rule = &rules[0];
    assert_eq!(rule.host.as_deref(), Some("vota.uji.es"));
    let backends: Vec<_> = rule.http.as_ref().expect("http").paths.iter().map(|p| p.backend.service.clone()).collect();
    assert!(backends.iter().all(|b| b.as_ref().map(|s| s.name.as_str()) == Some("uji-claustre-2027-vote")));
    let tls = spec.tls.expect("tls");
    let tls = &tls[0];
    assert_eq!(tls.secret_name.as_deref(), Some("uji-claustre-2027-vote-tls"));
    let annotations = ingress.metadata.annotations.expect("annotations");
    assert_eq!(annotations.get("cert-manager.io/cluster-issuer").map(String::as_str), Some("letsencrypt"));
    // The vote service admits any source, so the ingress controller's pods reach it from their namespace.
    let vote_policy = build::election::network_policies(e)
        .into_iter()
        .find(|p| p.metadata.name.as_deref() == Some("uji-claustre-2027-vote-ingress"))
        .expect("vote policy");
    assert!(vote_policy.spec.and_then(|s| s.ingress).is_some_and(|r| r.iter().all(|r| r.from.is_none())));

    // Nothing without it.
    let mut without = e.clone();
    without.spec.vote.ingress = None;
    assert!(vote_ingress(&without).is_none());
    let kinds: Vec<String> =
        build::election::build(&without, &Defaults::default()).expect("build").into_iter().map(|c| c.kind).collect();
    assert!(!kinds.iter().any(|k| k == "Ingress"), "{kinds:?}");
}

/// With several partitions the Ingress sends each partition's session, right and ballot paths under its
/// prefix to a Service that selects that partition's pod by its ordinal; the rest goes to the vote Service.
#[test]
fn a_partitioned_vote_ingress_routes_each_partition_to_its_pod() {
    use urna_operator::build::election::{vote_ingress, vote_partition_services};
    use urna_vote::partition::Partition;
    let mut e = example("university").elections[0].clone();
    assert!(vote_partition_services(&e).is_empty(), "one partition: no partition Services");
    e.spec.vote.partitions = 3;
    let services = vote_partition_services(&e);
    let selected: Vec<(String, String)> = services
        .iter()
        .map(|s| {
            let selector = s.spec.as_ref().and_then(|s| s.selector.clone()).expect("selector");
            (s.metadata.name.clone().expect("name"), selector["apps.kubernetes.io/pod-index"].clone())
        })
        .collect();
    let name = |i: u32| format!("uji-claustre-2027-vote-p{i}");
    assert_eq!(selected, (0..3).map(|i| (name(i), i.to_string())).collect::<Vec<_>>());
    let ingress = vote_ingress(&e).expect("ingress");
    let rules = ingress.spec.and_then(|s| s.rules).expect("rules");
    let routes: Vec<(String, String)> = rules[0]
        .http
        .as_ref()
        .expect("http")
        .paths
        .iter()
        .map(|p| (p.path.clone().expect("path"), p.backend.service.as_ref().expect("service").name.clone()))
        .collect();
    for i in 0..3 {
        for path in Partition::ROUTES {
            let prefixed = format!("{}{path}", Partition::path_prefix(i));
            assert!(routes.contains(&(prefixed.clone(), name(i))), "{prefixed} to its partition: {routes:?}");
        }
    }
    assert!(routes.contains(&("/v1/election".into(), "uji-claustre-2027-vote".into())));
    let kinds: Vec<String> =
        build::election::build(&e, &Defaults::default()).expect("build").into_iter().map(|c| c.kind).collect();
    assert_eq!(kinds.iter().filter(|k| *k == "Service").count(), 2 + 3, "vote, audit and one per partition");
}

/// What `validate::election` says of the university example after `edit` ("" when it passes).
fn university_refusal(edit: impl FnOnce(&mut urna_operator::crd::Election)) -> String {
    let mut e = example("university").elections[0].clone();
    edit(&mut e);
    urna_operator::validate::election(&e).err().map(|x| x.to_string()).unwrap_or_default()
}

/// Edits the university example's `spec.vote.ingress`.
fn with_ingress(
    edit: impl FnOnce(&mut urna_operator::crd::election::VoteIngressSpec),
) -> impl FnOnce(&mut urna_operator::crd::Election) {
    move |e| {
        if let Some(i) = e.spec.vote.ingress.as_mut() {
            edit(i);
        }
    }
}

#[test]
fn vote_ingress_is_validated() {
    assert_eq!(university_refusal(|_| {}), "", "the example validates");
    assert_eq!(university_refusal(|e| e.spec.vote.partitions = 3), "", "the Ingress routes each partition");
    let r = university_refusal(|e| e.spec.modalities[0].kind = urna_operator::crd::common::ModalityKind::Booth);
    assert!(r.contains("no remote modality"), "{r}");
    let r = university_refusal(with_ingress(|i| i.host = "*.uji.es".into()));
    assert!(r.contains("spec.vote.ingress.host: \"*.uji.es\" is not a lowercase DNS name"), "{r}");
    let r = university_refusal(with_ingress(|i| i.class_name = Some("Nginx".into())));
    assert!(r.contains("spec.vote.ingress.className"), "{r}");
    let r = university_refusal(with_ingress(|i| i.tls.secret_name = "Vote_TLS".into()));
    assert!(r.contains("spec.vote.ingress.tls.secretName"), "{r}");
    let r = university_refusal(with_ingress(|i| {
        i.annotations.insert("cert-manager.io/issuer".into(), "other".into());
    }));
    assert!(r.contains("set the certificate's issuer in spec.vote.ingress.tls.issuer"), "{r}");
}
