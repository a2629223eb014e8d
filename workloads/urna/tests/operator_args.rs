//! The operator and the workloads agree: every argument list the operator builds for the examples' pods
//! (vote, audit, tally; the BoothFleet's broker shards, collector and monitor) parses with the real `urna`
//! subcommand definitions (`urna::cmd::*::Args`, the same types the binary uses), once per replica with the
//! kubelet's `$(VAR)` expansion; the vote service gets a tally shard for every leaf district (ballot style)
//! of its modality; the examples' censuses are in the format the vote service imports; the monitor's rules
//! deserialize into the booth crate's own type; and a broker started from the operator's certificate
//! Secrets and blocklist, exactly as mounted, admits the operator's backend certificate under the
//! backends' `--server-name` and refuses a blocked device.

use std::collections::BTreeMap;
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use serde_json::Value;
use sha2::{Digest, Sha256};
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
    Broker(urna::cmd::broker::Args),
    Booth(urna::cmd::booth::Args),
    Voters(urna::cmd::voters::Args),
    Mesa(urna::cmd::mesa::Args),
    Record(urna::cmd::record::Args),
    Decryption(urna::cmd::decryption::Args),
    Trustee(urna::cmd::trustee::Args),
    Site(urna::cmd::site::Args),
    Capture(urna::cmd::capture::Args),
    Publish(urna::cmd::publish::Args),
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
            // The pod's own namespace and name (the monitor's Events): never part of the arguments.
            (_, Value::String(p)) if p == "metadata.namespace" || p == "metadata.name" => continue,
            // A Secret in the environment (the broker's admin token): never part of the arguments.
            _ if var["valueFrom"]["secretKeyRef"].is_object() => continue,
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
                    // Every vote service, shard and log holds the election's internal token, from the
                    // Secret the Election controller creates: none of them starts without it.
                    assert_eq!(flag(&args, "--internal-token-file"), ["/var/run/urna/internal-token/token"], "{name}");
                    let secret = build::election::internal_token_secret(&e.metadata.name.clone().unwrap_or_default());
                    let pod = &sts["spec"]["template"]["spec"];
                    let volume = pod["volumes"]
                        .as_array()
                        .expect("volumes")
                        .iter()
                        .find(|v| v["secret"]["secretName"] == secret.as_str());
                    let volume = volume.unwrap_or_else(|| panic!("{name}: {secret} is not mounted"));
                    assert!(
                        pod["containers"][0]["volumeMounts"]
                            .as_array()
                            .expect("mounts")
                            .iter()
                            .any(|m| m["name"] == volume["name"] && m["mountPath"] == "/var/run/urna/internal-token")
                    );
                    match parsed.command {
                        Workload::Vote(_) => {
                            *seen.entry("vote").or_default() += 1;
                            assert_eq!(flag(&args, "--partition"), [format!("{ordinal}/{replicas}")]);
                            let modality: urna_status::Modality =
                                flag(&args, "--modality")[0].parse().unwrap_or_else(|e| panic!("{name}: {e}"));
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
                            // The service refuses ballots outside its modality's window: both ends are passed.
                            let at = |f: &str| -> Vec<jiff::Timestamp> {
                                let v = flag(&args, f);
                                v.iter().map(|t| t.parse().unwrap_or_else(|err| panic!("{name}: {f}: {err}"))).collect()
                            };
                            let (opens, closes) = (at("--opens-at"), at("--closes-at"));
                            assert_eq!(opens.len(), closes.len(), "{name}: {args:?}");
                            assert!(opens.iter().zip(&closes).all(|(o, c)| o < c), "{name}: {args:?}");
                            let m = e.spec.modalities.iter().find(|m| m.kind == modality);
                            assert_eq!(opens.len(), usize::from(m.is_some()), "{name}: {modality}: {args:?}");
                        }
                        Workload::Tally(_) => {
                            *seen.entry("tally").or_default() += 1;
                            // Both ends of the modality's window, in order, as `urna tally` parses them.
                            let at = |f: &str| {
                                let v = flag(&args, f);
                                assert_eq!(v.len(), 1, "{name}: {f} once: {args:?}");
                                urna_tally::shard::parse_instant(v[0]).unwrap_or_else(|err| panic!("{f}: {err}"))
                            };
                            assert!(at("--opens-at") < at("--closes-at"), "{name}: {args:?}");
                            for d in flag(&args, "--districts")[0].split(',') {
                                assert!(manifest.districts.iter().any(|x| x.id == d), "{name}: district {d}");
                            }
                        }
                        Workload::Audit(_) => *seen.entry("audit").or_default() += 1,
                        Workload::Broker(_)
                        | Workload::Booth(_)
                        | Workload::Voters(_)
                        | Workload::Mesa(_)
                        | Workload::Record(_)
                        | Workload::Decryption(_)
                        | Workload::Trustee(_)
                        | Workload::Site(_)
                        | Workload::Capture(_)
                        | Workload::Publish(_) => {
                            panic!("{name}: an Election's StatefulSets run no fleet, voters, closing or site workload")
                        }
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
            // The booth vote service's own census (municipal): same format, and no voter in both.
            let Some(r) = e.spec.vote.booth.as_ref().and_then(|b| b.census.config_map.as_ref()) else { continue };
            let cm = set
                .others
                .iter()
                .find(|o| o["kind"] == "ConfigMap" && o["metadata"]["name"] == r.name.as_str())
                .unwrap_or_else(|| panic!("{name}: ConfigMap {}", r.name));
            let booth_text = cm["data"][r.key.as_str()].as_str().unwrap_or_else(|| panic!("{name}: key {}", r.key));
            let booth: Vec<_> = urna_vote::census::CensusReader::new(booth_text.as_bytes(), &manifest)
                .collect::<Result<_, _>>()
                .unwrap_or_else(|err| panic!("{name}: {err}"));
            assert!(!booth.is_empty(), "{name}: empty booth census");
            let remote: std::collections::BTreeSet<[u8; 32]> = rows.iter().map(|r| r.voter_id).collect();
            assert!(booth.iter().all(|b| !remote.contains(&b.voter_id)), "{name}: a voter in both censuses");
            checked += 1;
        }
    }
    assert_eq!(checked, 3, "university and municipal ship their census, municipal its booth census");
}

/// The booth vote service of the municipal example: its arguments parse with the real `urna vote`, every
/// file they name is mounted from the object that provides it, the mesas file loads with the vote service's
/// own `MesaRegistry` against the manifest (each Mesa's console token authenticates: the operator's hash is
/// the token's plain SHA-256; each booth maps to its Mesa), and the collector bridges to this
/// service with the same bridge token Secret.
#[test]
fn booth_vote_service_parses_with_the_real_cli_and_loads_its_mesas() {
    let set = example("municipal");
    let e = &set.elections[0];
    let tokens: BTreeMap<String, String> = set
        .mesas
        .iter()
        .map(|m| (m.metadata.name.clone().expect("name"), format!("console-{:?}", m.metadata.name)))
        .collect();
    for t in tokens.values() {
        // Computed here rather than by the vote crate, which the operator's hash calls: the file must carry
        // the plain SHA-256 of the token bytes that a console sends.
        assert_eq!(urna_operator::token::token_sha256(t), hex::encode(Sha256::digest(t.as_bytes())));
    }
    let hashes = tokens.iter().map(|(m, t)| (m.clone(), urna_operator::token::token_sha256(t))).collect();
    let file = build::booth_vote::mesas_file(e, &set.mesas, &set.fleets, &hashes).expect("mesas file");
    let children: Vec<Value> =
        build::booth_vote::build(e, &Defaults::default(), &build::election::tally_shards(e), &file)
            .expect("booth vote builds")
            .into_iter()
            .map(|c| c.body)
            .collect();
    let sts = children.iter().find(|c| c["kind"] == "StatefulSet").expect("booth vote StatefulSet");
    assert_eq!(sts["spec"]["replicas"], 1, "mesas need a single partition");
    let args = expanded_args(sts, 0);
    assert!(matches!(parse(&args), Workload::Vote(_)), "{args:?}");
    assert_eq!(flag(&args, "--partition"), ["0/1"]);
    assert_eq!(flag(&args, "--modality"), ["booth"]);
    let manifest = e.manifest();
    let mut shards = urna_vote::ShardMap::new();
    for s in flag(&args, "--shard") {
        shards.parse_entry(s).expect("shard route");
    }
    assert!(
        shards.unserved(&manifest, urna_status::Modality::Booth).is_empty(),
        "every leaf district has a booth shard"
    );

    // The mesas file, from the ConfigMap key the StatefulSet mounts.
    let mesas_path = flag(&args, "--mesas")[0];
    let (cm, items) = mounted_source(sts, mesas_path);
    let file_name = mesas_path.rsplit('/').next().expect("file");
    assert!(items.iter().any(|i| i == file_name));
    let text = config_key(&children, cm["name"].as_str().expect("cm"), file_name);
    let tmp = tempfile::tempdir().expect("tempdir");
    let path = tmp.path().join(file_name);
    std::fs::write(&path, text).expect("write");
    let registry = urna_vote::mesa::MesaRegistry::load(&path, &manifest).expect("the vote service loads the mesas");
    for (mesa, token) in &tokens {
        assert!(registry.authenticate(mesa, token).is_some(), "{mesa}: its console token authenticates");
        assert!(registry.authenticate(mesa, "not-the-token").is_none());
    }
    assert_eq!(registry.of_device("mesa-norte-1-3").map(|m| m.id.as_str()), Some("mesa-norte-1"));
    assert_eq!(registry.of_device("mesa-sur-1-1").map(|m| m.district.as_str()), Some("sur"));

    // The bridge token: the vote service and the collector mount the same Secret key.
    let (vote_secret, _) = mounted_source(sts, flag(&args, "--bridge-token-file")[0]);
    let (census, _) = mounted_source(sts, flag(&args, "--census")[0]);
    assert_eq!(census["name"], "ciudad-2027-booth-census");
    let plan = fleet_plan(&set, &set.fleets[0]);
    let collector =
        plan.children.iter().find(|c| c.kind == "StatefulSet" && c.name.ends_with("-collector")).expect("collector");
    let cargs = expanded_args(&collector.body, 0);
    assert!(matches!(parse(&cargs), Workload::Booth(_)), "{cargs:?}");
    let service = children.iter().find(|c| c["kind"] == "Service").expect("booth vote Service");
    let ns = e.metadata.namespace.as_deref();
    let url = urna_operator::workload::service_url(service["metadata"]["name"].as_str().expect("name"), ns);
    assert_eq!(flag(&cargs, "--vote"), [url.as_str()]);
    let (collector_secret, _) = mounted_source(&collector.body, flag(&cargs, "--bridge-token-file")[0]);
    assert_eq!(collector_secret["secretName"], vote_secret["secretName"]);
}

/// Everything the operator builds for the municipal example's BoothFleet, with its Mesas and Election.
fn fleet_plan(set: &ExampleSet, f: &urna_operator::crd::BoothFleet) -> build::boothfleet::FleetPlan {
    let inputs = build::boothfleet::FleetInputs { mesas: &set.mesas, election: set.elections.first() };
    build::boothfleet::build(f, inputs, &Defaults::default()).expect("fleet builds")
}

fn parse(args: &[String]) -> Workload {
    let argv = std::iter::once("urna".to_owned()).chain(args.iter().cloned());
    Urna::try_parse_from(argv).unwrap_or_else(|err| panic!("{args:?}\n{}", err.render())).command
}

/// The key `key` of the ConfigMap named `name` among `children`.
fn config_key<'a>(children: &'a [Value], name: &str, key: &str) -> &'a str {
    children
        .iter()
        .find(|c| c["kind"] == "ConfigMap" && c["metadata"]["name"] == name)
        .and_then(|c| c["data"][key].as_str())
        .unwrap_or_else(|| panic!("ConfigMap {name} key {key}"))
}

/// The Secret or ConfigMap (and its projected keys) behind the mount holding `path`.
fn mounted_source<'a>(workload: &'a Value, path: &str) -> (&'a Value, Vec<String>) {
    let pod = &workload["spec"]["template"]["spec"];
    let mount = pod["containers"][0]["volumeMounts"]
        .as_array()
        .expect("mounts")
        .iter()
        .find(|m| m["mountPath"].as_str().is_some_and(|d| path == d || path.starts_with(&format!("{d}/"))))
        .unwrap_or_else(|| panic!("{path} is not mounted in {}", workload["metadata"]["name"]));
    let v = pod["volumes"].as_array().expect("volumes").iter().find(|v| v["name"] == mount["name"]).expect("volume");
    let source = if v["secret"].is_object() { &v["secret"] } else { &v["configMap"] };
    let items = source["items"].as_array().into_iter().flatten().filter_map(|i| i["path"].as_str()).map(str::to_owned);
    (source, items.collect())
}

#[test]
fn boothfleet_workloads_parse_with_the_real_cli_and_find_their_files() {
    let set = example("municipal");
    let f = &set.fleets[0];
    let plan = fleet_plan(&set, f);
    let children: Vec<Value> = plan.children.iter().map(|c| c.body.clone()).collect();
    let services: Vec<&str> =
        children.iter().filter(|c| c["kind"] == "Service").filter_map(|c| c["metadata"]["name"].as_str()).collect();
    let mut seen = BTreeMap::<&str, usize>::new();
    let mut server_names = Vec::new();
    let mut backend_names = Vec::new();
    for w in children.iter().filter(|c| c["kind"] == "StatefulSet" || c["kind"] == "Deployment") {
        let replicas = w["spec"]["replicas"].as_i64().expect("replicas");
        let args = expanded_args(w, 0);
        match parse(&args) {
            Workload::Broker(_) => {
                *seen.entry("broker").or_default() += replicas as usize;
                assert_eq!(replicas, i64::from(f.spec.broker.replicas));
                assert_eq!(flag(&args, "--fleet"), [f.metadata.name.as_deref().expect("name")]);
                assert_eq!(flag(&args, "--backend"), [urna_broker::DEFAULT_BACKEND]);
                // TLS from the shard's server Secret, with the file names `urna broker` reads.
                let (secret, _) = mounted_source(w, flag(&args, "--tls-dir")[0]);
                let name = secret["secretName"].as_str().expect("secret name");
                let cert = plan.secrets.iter().find(|s| s.meta.name.as_deref() == Some(name)).expect("issued");
                let urna_operator::pki::CertKind::Server(dns) = &cert.kind else { panic!("{name} is no server cert") };
                server_names.extend(dns.clone());
                // The blocklist: the fleet ConfigMap's key, mounted as a directory so updates reach the pod.
                let blocklist = flag(&args, "--blocklist")[0];
                let (cm, items) = mounted_source(w, blocklist);
                let file = blocklist.rsplit('/').next().expect("file");
                assert!(items.iter().any(|i| i == file), "{items:?}");
                let text = config_key(&children, cm["name"].as_str().expect("cm"), file);
                let blocked = urna_broker::blocklist::parse_file(text);
                assert_eq!(blocked.iter().collect::<Vec<_>>(), plan.blocked.iter().collect::<Vec<_>>());
                let max: usize = flag(&args, "--max-connections")[0].parse().expect("number");
                let shard_devices = plan.shards.iter().map(|s| s.devices.len()).max().unwrap_or(0);
                assert!(max >= urna_operator::crd::boothfleet::MAX_BOOTHS_PER_SHARD && max > shard_devices);
            }
            Workload::Booth(_) => {
                let mode = args[1].as_str();
                *seen.entry(if mode == "collect" { "collect" } else { "monitor" }).or_default() += replicas as usize;
                let (secret, _) = mounted_source(w, flag(&args, "--tls-dir")[0]);
                let name = secret["secretName"].as_str().expect("secret name");
                let cert = plan.secrets.iter().find(|s| s.meta.name.as_deref() == Some(name)).expect("issued");
                assert_eq!(cert.kind, urna_operator::pki::CertKind::Device(urna_broker::DEFAULT_BACKEND.into()));
                let client_id = flag(&args, "--client-id")[0];
                let backend = urna_broker::Identity::Backend(urna_broker::DEFAULT_BACKEND.into());
                assert!(backend.allows_client_id(client_id), "{client_id}");
                // Each broker address is one of the replica Services the operator creates.
                for b in flag(&args, "--broker") {
                    let host = b.rsplit_once(':').expect("host:port").0;
                    let svc = host.split('.').next().expect("service");
                    assert!(services.contains(&svc), "{b}: no Service {svc}");
                }
                backend_names.extend(flag(&args, "--server-name").into_iter().map(str::to_owned));
                if mode == "monitor" {
                    let rules = flag(&args, "--rules")[0];
                    let (cm, items) = mounted_source(w, rules);
                    let file = rules.rsplit('/').next().expect("file");
                    assert!(items.iter().any(|i| i == file));
                    let text = config_key(&children, cm["name"].as_str().expect("cm"), file);
                    let parsed: urna_booth::rules::FleetRules = serde_json::from_str(text).expect("FleetRules");
                    assert_eq!(parsed.devices.len(), plan.devices.len() - plan.blocked.len());
                    assert_eq!(parsed.offline_after_ms, 120_000);
                    assert_eq!(parsed.votes_per_hour_limit, 240.0);
                    let d = &parsed.devices["mesa-norte-1-3"];
                    assert_eq!(d.mesa, "mesa-norte-1");
                    let g = d.geofence.expect("geofence");
                    assert!((g.lat - 19.45).abs() < 1e-9 && (g.radius_m - 150.0).abs() < 1e-9);
                    assert!(d.opens_ms.is_some_and(|o| d.closes_ms.is_some_and(|c| c > o)));
                    // The operations centre: its store on the retained volume, and every broker replica's
                    // blocklist API on a Service port that exists, with the brokers' own admin token.
                    let store = flag(&args, "--ops-store")[0];
                    let mount = &w["spec"]["template"]["spec"]["containers"][0]["volumeMounts"];
                    let data = mount.as_array().expect("mounts").iter().find(|m| m["name"] == "data").expect("data");
                    assert!(store.starts_with(data["mountPath"].as_str().expect("path")), "{store}");
                    assert_eq!(w["spec"]["volumeClaimTemplates"][0]["metadata"]["name"], "data");
                    let admin = flag(&args, "--broker-admin");
                    assert_eq!(admin.len(), 2, "one per broker replica");
                    for url in admin {
                        let (host, port) = url.trim_start_matches("http://").rsplit_once(':').expect("host:port");
                        let svc = host.split('.').next().expect("service");
                        let service = children
                            .iter()
                            .find(|c| c["kind"] == "Service" && c["metadata"]["name"] == svc)
                            .unwrap_or_else(|| panic!("{url}: no Service {svc}"));
                        let ports = service["spec"]["ports"].as_array().expect("ports");
                        let port: i64 = port.parse().expect("port number");
                        assert!(ports.iter().any(|p| p["port"] == port), "{url}: {ports:?}");
                    }
                    let env = w["spec"]["template"]["spec"]["containers"][0]["env"].as_array().expect("env");
                    let token = env.iter().find(|e| e["name"] == "URNA_BROKER_ADMIN_TOKEN").expect("admin token");
                    let secret = &token["valueFrom"]["secretKeyRef"]["name"];
                    assert_eq!(secret, "ciudad-booths-broker-admin-token");
                    // Officers' actions go to the Election's audit log, with the Election's internal token.
                    let election = &set.elections[0];
                    let audit = urna_operator::workload::service_url(
                        &build::election::audit_name(&election.metadata.name.clone().expect("name")),
                        election.metadata.namespace.as_deref(),
                    );
                    assert_eq!(flag(&args, "--audit"), [audit.as_str()]);
                    let token = flag(&args, "--audit-token-file")[0];
                    let (secret, items) = mounted_source(w, token);
                    assert_eq!(
                        (secret["secretName"].as_str(), items),
                        (Some("ciudad-2027-internal-token"), vec!["token".to_owned()])
                    );
                } else {
                    assert_eq!(flag(&args, "--data"), ["/var/lib/urna"]);
                    let pvc = &w["spec"]["volumeClaimTemplates"][0]["metadata"]["name"];
                    assert_eq!(pvc, "data", "the inbox lives on a retained volume");
                }
            }
            other => panic!("unexpected fleet workload {other:?}"),
        }
    }
    assert_eq!(seen, BTreeMap::from([("broker", 2), ("collect", 1), ("monitor", 1)]));
    for n in &backend_names {
        assert!(server_names.contains(n), "backends verify {n}, which no broker certificate carries");
    }
}

/// The broker's admin token comes from a Secret through the environment variable `urna broker` reads: the
/// fleet's own, or (when it names none) the one the operator generates, so the broker always starts.
#[test]
fn broker_admin_token_reaches_the_broker_through_its_env() {
    let set = example("municipal");
    let mut f = set.fleets[0].clone();
    assert!(f.spec.broker.admin_token.is_none());
    let broker = |plan: &build::boothfleet::FleetPlan| {
        plan.children
            .iter()
            .find(|c| c.kind == "StatefulSet" && c.name.ends_with("-broker"))
            .expect("broker")
            .body
            .clone()
    };
    let env = |sts: &Value| sts["spec"]["template"]["spec"]["containers"][0]["env"][0].clone();
    let plan = fleet_plan(&set, &f);
    let generated = plan.admin_token_secret.as_ref().and_then(|m| m.name.clone()).expect("a generated token");
    let env_generated = env(&broker(&plan));
    assert_eq!(env_generated["name"], urna::cmd::broker::ADMIN_TOKEN_ENV);
    let expected = serde_json::json!({"name": generated, "key": "token", "optional": false});
    assert_eq!(env_generated["valueFrom"]["secretKeyRef"], expected);

    f.spec.broker.admin_token =
        Some(urna_operator::crd::common::KeyRef { name: "ciudad-broker-admin".into(), key: "officer".into() });
    f.spec.broker.rate_limit = Some(urna_operator::crd::boothfleet::RateLimit { messages_per_second: 5, burst: 50 });
    let plan = fleet_plan(&set, &f);
    assert_eq!(plan.admin_token_secret, None, "the fleet's own token: nothing to generate");
    let sts = broker(&plan);
    let own = env(&sts);
    assert_eq!(own["name"], urna::cmd::broker::ADMIN_TOKEN_ENV);
    assert_eq!(own["valueFrom"]["secretKeyRef"]["name"], "ciudad-broker-admin");
    assert_eq!(own["valueFrom"]["secretKeyRef"]["key"], "officer");
    let args = expanded_args(&sts, 0);
    assert!(matches!(parse(&args), Workload::Broker(_)));
    assert_eq!((flag(&args, "--rate"), flag(&args, "--burst")), (vec!["5"], vec!["50"]));
}

/// Start-up for real: the operator's PKI output, laid out as the kubelet mounts the Secrets, starts
/// `urna_broker` (what `urna broker --tls-dir` loads), the backend certificate connects under the
/// backends' server name as a backend, and a blocked device is refused by the mounted blocklist.
#[test]
fn broker_starts_from_the_operator_secrets_and_admits_the_backend() {
    use urna_operator::pki::{self, CertKind};
    let set = example("municipal");
    let f = &set.fleets[0];
    let fleet = f.metadata.name.clone().expect("name");
    let plan = fleet_plan(&set, f);
    let tmp = tempfile::tempdir().expect("tempdir");
    let ca = pki::new_ca(&fleet).expect("ca");
    let write = |dir: &std::path::Path, kind: &CertKind| {
        std::fs::create_dir_all(dir).expect("dir");
        for (k, v) in pki::issue(&fleet, &ca, kind).expect("issue") {
            std::fs::write(dir.join(k), v.0).expect("write");
        }
    };
    let server = plan.secrets.iter().find(|s| matches!(s.kind, CertKind::Server(_))).expect("server cert");
    write(&tmp.path().join("tls"), &server.kind);
    write(&tmp.path().join("backend"), &CertKind::Device(urna_broker::DEFAULT_BACKEND.into()));
    write(&tmp.path().join("lost"), &CertKind::Device("mesa-sur-1-10".into()));
    let children: Vec<Value> = plan.children.iter().map(|c| c.body.clone()).collect();
    let config = build::boothfleet::fleet_config_name(&fleet);
    let blocklist = tmp.path().join("blocklist.txt");
    std::fs::write(&blocklist, config_key(&children, &config, "blocklist.txt")).expect("write");
    let monitor_name = build::boothfleet::monitor_name(&fleet);
    let monitor = children
        .iter()
        .find(|c| c["kind"] == "StatefulSet" && c["metadata"]["name"] == monitor_name.as_str())
        .expect("monitor");
    let monitor_args = expanded_args(monitor, 0);
    let server_name = flag(&monitor_args, "--server-name")[0].to_owned();

    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    rt.block_on(async move {
        let tls =
            urna_broker::tls::server_config_from_dir(&tmp.path().join("tls")).expect("server TLS from the Secret");
        // As the operator starts it: with the admin token from the BoothFleet's Secret.
        let admin = urna_broker::AdminAuth::Token(urna_auth::Token::new("token-from-the-secret").expect("token"));
        let mut config = urna_broker::BrokerConfig::new(&fleet, tls, admin);
        config.blocklist_file = Some(blocklist);
        let broker = urna_broker::Broker::start(config).await.expect("broker starts");
        let client = |dir: &str| {
            let read = |n: &str| std::fs::read(tmp.path().join(dir).join(n)).expect("read");
            urna_broker::client::tls_config(&read("ca.crt"), &read("tls.crt"), &read("tls.key")).expect("client TLS")
        };
        let stream = urna_broker::client::connect_tls(broker.mqtt_addr, client("backend"), &server_name)
            .await
            .expect("backend handshake under the backends' server name");
        let client_id = urna_operator::workload::MONITOR_CLIENT_ID;
        let mut backend =
            urna_broker::client::Client::handshake(stream, &opts(client_id)).await.expect("backend admitted");
        let filter = format!("urna/{fleet}/booth/+/+");
        let (codes, _) = backend.subscribe(1, &[(filter.as_str(), 1)]).await.expect("suback");
        assert_eq!(codes, [1], "a backend may read the whole fleet");
        let _ = backend.disconnect().await;
        let stream = urna_broker::client::connect_tls(broker.mqtt_addr, client("lost"), &server_name).await;
        let refused = match stream {
            Ok(s) => urna_broker::client::Client::handshake(s, &opts("mesa-sur-1-10")).await.err(),
            Err(e) => Some(e),
        };
        assert!(matches!(refused, Some(urna_broker::client::ClientError::Refused(5))), "blocked device: {refused:?}");
        broker.shutdown().await;
    });
}

fn opts(client_id: &str) -> urna_broker::client::Options<'_> {
    urna_broker::client::Options { client_id, keep_alive_secs: 30, clean_session: true, will: None }
}

/// The e2e suite's Jobs (run by `e2e/run.sh` on kind, not here) parse with the real CLI and name what the
/// operator builds for the municipal example: the ballots Job (`e2e/election-job.yaml`, `urna voters cast`)
/// every vote partition's URL in order; the trustees' Job (`e2e/trustees-job.yaml`) the decryption
/// service's URL, three trustees, each with its own share and passphrase from the mounted Secret.
#[test]
fn e2e_jobs_match_the_municipal_election() {
    let read = |name: &str| -> Value {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../e2e").join(name);
        serde_yaml::from_str(&std::fs::read_to_string(&path).expect("e2e job")).expect("yaml")
    };
    let set = example("municipal");
    let e = &set.elections[0];
    let ns = e.metadata.namespace.as_deref().expect("namespace");

    let job = read("election-job.yaml");
    assert_eq!(job["metadata"]["namespace"], ns);
    let c = &job["spec"]["template"]["spec"]["containers"][0];
    let args: Vec<String> = serde_json::from_value(c["args"].clone()).expect("args");
    assert!(matches!(parse(&args), Workload::Voters(_)), "{args:?}");
    assert_eq!(&args[..2], ["voters", "cast"]);
    assert_eq!(flag(&args, "--vote"), build::election::vote_urls(e));

    let job = read("trustees-job.yaml");
    assert_eq!(job["metadata"]["namespace"], ns);
    let containers = job["spec"]["template"]["spec"]["containers"].as_array().expect("containers");
    assert_eq!(containers.len(), 3);
    for (i, c) in containers.iter().enumerate() {
        let args: Vec<String> = serde_json::from_value(c["args"].clone()).expect("args");
        assert!(matches!(parse(&args), Workload::Trustee(_)), "{args:?}");
        assert_eq!(flag(&args, "--election"), [build::record::decryption_url(e)]);
        assert!(flag(&args, "--share")[0].ends_with(&format!("/trustee-{}.share.json", i + 1)));
        assert!(flag(&args, "--passphrase-file")[0].ends_with(&format!("/trustee-{}.passphrase", i + 1)));
    }
}

/// The e2e suite's booths and Mesa actas (templates `e2e/run.sh` fills per device and per Mesa) parse with the
/// real CLI and name what the operator builds for the municipal example: each booth's pod admits its voters
/// (`urna mesa admit`) at the booth vote service with its Mesa's console token Secret, then runs `urna booth
/// device` against the fleet's broker Service under its certificate's server name, with its own device
/// certificate Secret and the manifest ConfigMap's manifest and public key; each acta Job drafts, signs
/// (president, then secretary) and submits (`urna mesa acta`) at the booth vote service; the booth ballot
/// (`e2e/booth-ballot.csv`) is a valid ballot of each district; and the results counts
/// (`e2e/booth-counts/<district>.json`) list every contest of its ballot in manifest order and every choice in
/// numbering order, as the booth vote service requires of a results acta, with the booth ballots exactly on
/// the choices that ballot makes.
#[test]
fn e2e_booths_and_actas_match_the_municipal_election() {
    let text = |name: &str| {
        std::fs::read_to_string(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../e2e").join(name))
            .expect("e2e file")
    };
    let fill = |template: &str, with: &[(&str, &str)]| -> Value {
        let mut t = template.replace("__IMAGE__", "urna:e2e");
        for (k, v) in with {
            t = t.replace(k, v);
        }
        assert!(!t.contains("__"), "a placeholder is left: {t}");
        serde_yaml::from_str(&t).expect("yaml")
    };
    let set = example("municipal");
    let e = &set.elections[0];
    let ns = e.metadata.namespace.as_deref().expect("namespace");
    let election = e.metadata.name.as_deref().expect("name");
    let f = &set.fleets[0];
    let fleet = f.metadata.name.as_deref().expect("fleet name");
    let vote = build::booth_vote::booth_vote_url(e);
    let secret = |pod: &Value, volume: &str| -> String {
        let v = pod["volumes"].as_array().expect("volumes").iter().find(|v| v["name"] == volume).expect("volume");
        v["secret"]["secretName"].as_str().expect("a Secret").to_owned()
    };
    let mount = |c: &Value, volume: &str| -> String {
        let m = c["volumeMounts"].as_array().expect("mounts").iter().find(|m| m["name"] == volume).expect("mount");
        m["mountPath"].as_str().expect("path").to_owned()
    };
    let args = |c: &Value| -> Vec<String> { serde_json::from_value(c["args"].clone()).expect("args") };

    let booth = text("booth-pod.yaml");
    let device = f.spec.device_list().into_iter().find(|d| !f.spec.blocked_devices.contains(&d.id)).expect("a device");
    let mesa_name = device.mesa.clone().expect("a perMesa device");
    let mesa = set.mesas.iter().find(|m| m.metadata.name.as_deref() == Some(&mesa_name)).expect("its Mesa");
    let district = mesa.spec.district.as_str();
    let pod = fill(
        &booth,
        &[
            ("__DEVICE__", device.id.as_str()),
            ("__MESA__", mesa_name.as_str()),
            ("__DISTRICT__", district),
            ("__LAT__", "19.43"),
            ("__LON__", "-99.13"),
        ],
    );
    assert_eq!(pod["metadata"]["namespace"], ns);
    let spec = &pod["spec"];
    let admit = &spec["initContainers"][0];
    let a = args(admit);
    assert!(matches!(parse(&a), Workload::Mesa(_)), "{a:?}");
    assert_eq!(&a[..2], ["mesa", "admit"]);
    assert_eq!(flag(&a, "--vote"), [vote.as_str()]);
    assert_eq!(flag(&a, "--mesa"), [mesa_name.as_str()]);
    let token = format!("{}/{}", mount(admit, "console-token"), urna_operator::workload::TOKEN_KEY);
    assert_eq!(flag(&a, "--token-file"), [token.as_str()]);
    assert_eq!(secret(spec, "console-token"), build::booth_vote::console_token_secret(&mesa_name));
    let b = args(&spec["containers"][0]);
    assert!(matches!(parse(&b), Workload::Booth(_)), "{b:?}");
    assert_eq!(&b[..2], ["booth", "device"]);
    assert_eq!(flag(&b, "--fleet"), [fleet]);
    assert_eq!(flag(&b, "--device"), [device.id.as_str()]);
    let broker = format!("{}.{ns}.svc:{}", build::boothfleet::broker_name(fleet, None), f.spec.broker.port);
    assert_eq!(flag(&b, "--broker"), [broker.as_str()]);
    assert_eq!(flag(&b, "--server-name"), [build::boothfleet::fleet_server_name(fleet, ns).as_str()]);
    assert_eq!(flag(&b, "--tls-dir"), [mount(&spec["containers"][0], "tls").as_str()]);
    assert_eq!(secret(spec, "tls"), build::boothfleet::device_secret(fleet, &device.id));
    assert_eq!(flag(&b, "--ballot-style"), [district]);
    let votes = format!("{}/{}.votes.csv", mount(&spec["containers"][0], "booth-voters"), device.id);
    assert_eq!(flag(&b, "--votes"), [votes.as_str()]);
    let dir = urna_operator::workload::MANIFEST_DIR;
    assert_eq!(mount(&spec["containers"][0], "manifest"), dir);
    let manifest_cm = spec["volumes"].as_array().expect("volumes").iter().find(|v| v["name"] == "manifest");
    let manifest_cm = manifest_cm.and_then(|v| v["configMap"]["name"].as_str()).expect("manifest ConfigMap");
    assert_eq!(manifest_cm, build::election::manifest_name(election));
    let manifest_file = format!("{dir}/{}", urna_operator::workload::MANIFEST_FILE);
    assert_eq!(flag(&b, "--manifest"), [manifest_file.as_str()]);
    let key_file = format!("{dir}/{}", urna_operator::workload::PUBLIC_KEY_FILE);
    assert_eq!(flag(&b, "--public-key"), [key_file.as_str()]);

    let acta = text("mesa-acta-job.yaml");
    for kind in ["constitution", "results"] {
        let job = fill(&acta, &[("__MESA__", mesa_name.as_str()), ("__KIND__", kind)]);
        assert_eq!(job["metadata"]["namespace"], ns);
        let spec = &job["spec"]["template"]["spec"];
        let mut steps: Vec<&Value> = spec["initContainers"].as_array().expect("init containers").iter().collect();
        steps.push(&spec["containers"][0]);
        let all: Vec<Vec<String>> = steps.into_iter().map(&args).collect();
        for a in &all {
            assert!(matches!(parse(a), Workload::Mesa(_)), "{a:?}");
        }
        let verbs: Vec<&str> = all.iter().map(|a| a[2].as_str()).collect();
        assert_eq!(verbs, ["draft", "sign", "sign", "submit"]);
        assert_eq!(flag(&all[0], "--kind"), [kind]);
        assert_eq!(flag(&all[0], "--election"), [election]);
        assert_eq!(flag(&all[0], "--mesa"), [mesa_name.as_str()]);
        let counts = format!("{}/{mesa_name}.json", mount(&spec["initContainers"][0], "counts"));
        assert_eq!(flag(&all[0], "--counts"), [counts.as_str()]);
        for a in [&all[0], &all[3]] {
            assert_eq!(flag(a, "--vote"), [vote.as_str()]);
        }
        assert_eq!(secret(spec, "console-token"), build::booth_vote::console_token_secret(&mesa_name));
        // Each signature is added to what the step before wrote, and the submitted acta carries both.
        assert_eq!(flag(&all[1], "--acta"), flag(&all[0], "--out"));
        assert_eq!(flag(&all[2], "--acta"), flag(&all[1], "--out"));
        assert_eq!(flag(&all[3], "--acta"), flag(&all[2], "--out"));
        let signers: Vec<&str> = [&all[1], &all[2]].iter().map(|a| flag(a, "--member")[0]).collect();
        assert_eq!(signers, ["presidente", "secretario"]);
        let roles: Vec<String> = signers
            .iter()
            .map(|s| {
                let m = mesa.spec.members.iter().find(|m| m.id == *s).expect("a member of the Mesa");
                format!("{:?}", m.role)
            })
            .collect();
        assert_eq!(roles, ["President", "Secretary"], "the quorum: the president and a secretary");
    }

    let manifest = e.manifest();
    // One voter per district (run.sh names them per booth).
    let ballot: String = text("booth-ballot.csv")
        .lines()
        .map(|l| match l.strip_prefix("__VOTER__,") {
            Some(rest) => format!("{},{rest}\n", rest.split(',').next().unwrap_or_default()),
            None => format!("{l}\n"),
        })
        .collect();
    let cast = urna::local::votes_file::parse(&ballot, &manifest, &[urna_tally::Modality::Booth]).expect("ballots");
    for d in e.spec.districts.iter().filter(|d| set.mesas.iter().any(|m| m.spec.district == d.id)) {
        assert_eq!(cast.iter().filter(|b| b.district == d.id).count(), 1, "one ballot of district {}", d.id);
        let file = text(&format!("booth-counts/{}.json", d.id)).replace("__N__", "1");
        let got: Vec<urna_vote::acta::ContestCount> = serde_json::from_str(&file).expect("a counts list");
        let voted: Vec<(&str, &str)> = got
            .iter()
            .flat_map(|c| c.counts.iter().filter(|x| x.votes == 1).map(|x| (c.contest.as_str(), x.choice.as_str())))
            .collect();
        let prefix = format!("{0},{0},booth,", d.id);
        let chosen: Vec<(&str, &str)> =
            ballot.lines().filter_map(|l| l.strip_prefix(prefix.as_str())).filter_map(|l| l.split_once(',')).collect();
        assert_eq!(voted, chosen, "district {}: the counts' booth ballots sit on the ballot's choices", d.id);
        let want = urna_ballot::contests_for_district(&manifest, &d.id);
        let got_ids: Vec<(&str, Vec<&str>)> =
            got.iter().map(|c| (c.contest.as_str(), c.counts.iter().map(|x| x.choice.as_str()).collect())).collect();
        let want_choices: Vec<Vec<String>> =
            want.iter().map(|c| urna_ballot::choices::choices(c).into_iter().map(|x| x.id).collect()).collect();
        let want_ids: Vec<(&str, Vec<&str>)> = want
            .iter()
            .zip(&want_choices)
            .map(|(c, ch)| (c.id.as_str(), ch.iter().map(String::as_str).collect()))
            .collect();
        assert_eq!(got_ids, want_ids, "district {}", d.id);
    }
}

/// What closing runs for every example: the record-export Job's arguments parse with the real `urna record
/// export` and name every vote replica (partitions in order, then the booth vote service), every shard's
/// Service and the audit log; the ceremony ConfigMap's two files are mounted where `--ceremony` points; the
/// record volume is mounted where `--out` writes and where the decryption service (whose arguments parse
/// with `urna decryption serve`) reads.
#[test]
fn closing_jobs_and_services_parse_with_the_real_cli() {
    let d = Defaults::default();
    for name in EXAMPLES {
        let set = example(name);
        for e in &set.elections {
            let mut e = e.clone();
            e.spec.record.ceremony = Some("ceremony".into());
            let shards = build::election::tally_shards(&e);
            let job = build::record::export_job(&e, &d.image, &shards).expect("a Job with a ceremony");
            let job = serde_json::to_value(&job).expect("json");
            let args = expanded_args(&job, 0);
            assert!(matches!(parse(&args), Workload::Record(_)), "{args:?}");
            let mut votes: Vec<String> = build::election::vote_urls(&e)
                .into_iter()
                .map(|u| format!("{}={u}", build::election::vote_modality(&e).expect("modality").kind))
                .collect();
            if build::booth_vote::booth_spec(&e).is_some() {
                votes.push(format!("booth={}", build::booth_vote::booth_vote_url(&e)));
            }
            assert_eq!(flag(&args, "--vote"), votes, "{name}");
            assert_eq!(flag(&args, "--shard").len(), shards.len(), "{name}");
            for s in &shards {
                let n = s.metadata.name.clone().expect("shard name");
                let route =
                    format!("{n}={}", urna_operator::workload::service_url(&n, e.metadata.namespace.as_deref()));
                assert!(flag(&args, "--shard").contains(&route.as_str()), "{route}");
            }
            let ceremony = flag(&args, "--ceremony")[0];
            let (cm, items) = mounted_source(&job, &format!("{ceremony}/public.json"));
            assert_eq!(cm["name"], "ceremony");
            assert_eq!(items, ["public.json", "transcript.json"]);
            let out = flag(&args, "--out")[0];
            assert!(args.iter().any(|a| a == "--idempotent"));
            let (deployment, _) = build::record::decryption_service(&e, &d.image);
            let deployment = serde_json::to_value(&deployment).expect("json");
            let serve = expanded_args(&deployment, 0);
            assert!(matches!(parse(&serve), Workload::Decryption(_)), "{serve:?}");
            assert_eq!(flag(&serve, "--record"), [out]);
            let claim = |w: &Value, path: &str| -> String {
                let pod = &w["spec"]["template"]["spec"];
                let mount = pod["containers"][0]["volumeMounts"]
                    .as_array()
                    .expect("mounts")
                    .iter()
                    .find(|m| m["mountPath"].as_str().is_some_and(|d| path.starts_with(&format!("{d}/"))))
                    .unwrap_or_else(|| panic!("{path} is not mounted"))
                    .clone();
                let v = pod["volumes"].as_array().expect("volumes").iter().find(|v| v["name"] == mount["name"]);
                v.and_then(|v| v["persistentVolumeClaim"]["claimName"].as_str()).expect("a claim").to_owned()
            };
            let volume = build::record::record_volume_name(e.metadata.name.as_deref().expect("name"));
            assert_eq!(claim(&job, out), volume);
            assert_eq!(claim(&deployment, out), volume);
        }
    }
}

/// The monitor's sinks follow the BoothFleet's `alerts`: by default Events on the fleet (`--fleet-object`,
/// the downward API's POD_NAMESPACE/POD_NAME, its own ServiceAccount with a token); with `events: false`,
/// `--no-events`, no ServiceAccount and no token; the HTTPS webhook with its private CA mounted where
/// `--webhook-ca` points. Every variant parses with the real `urna booth monitor`.
#[test]
fn monitor_sinks_follow_the_boothfleet_alerts_and_parse_with_the_real_cli() {
    let set = example("municipal");
    let monitor_of = |f: &urna_operator::crd::BoothFleet| {
        let plan = fleet_plan(&set, f);
        let children: Vec<Value> = plan.children.iter().map(|c| c.body.clone()).collect();
        let name = build::boothfleet::monitor_name(&f.metadata.name.clone().expect("name"));
        let m = children
            .iter()
            .find(|c| c["kind"] == "StatefulSet" && c["metadata"]["name"] == name.as_str())
            .expect("monitor")
            .clone();
        let args = expanded_args(&m, 0);
        assert!(matches!(parse(&args), Workload::Booth(_)), "{args:?}");
        (children, m, args)
    };
    let f = &set.fleets[0];
    let (children, m, args) = monitor_of(f);
    assert_eq!(flag(&args, "--fleet-object"), ["ciudad/ciudad-booths"]);
    assert_eq!(flag(&args, "--webhook"), ["https://alertas.ciudad.example/urna"]);
    let pod = &m["spec"]["template"]["spec"];
    assert_eq!(pod["serviceAccountName"], "ciudad-booths-monitor");
    assert_eq!(pod["automountServiceAccountToken"], true);
    let env: Vec<&str> =
        pod["containers"][0]["env"].as_array().expect("env").iter().filter_map(|e| e["name"].as_str()).collect();
    assert_eq!(env, ["POD_NAMESPACE", "POD_NAME", "URNA_BROKER_ADMIN_TOKEN"]);
    for kind in ["ServiceAccount", "Role", "RoleBinding"] {
        assert!(children.iter().any(|c| c["kind"] == kind && c["metadata"]["name"] == "ciudad-booths-monitor"));
    }

    let mut quiet = f.clone();
    let alerts = quiet.spec.alerts.as_mut().expect("the example has alerts");
    alerts.events = false;
    alerts.webhook_ca = Some(urna_operator::crd::common::KeyRef { name: "alertas-ca".into(), key: "ca.pem".into() });
    let (children, m, args) = monitor_of(&quiet);
    assert!(args.iter().any(|a| a == "--no-events") && flag(&args, "--fleet-object").is_empty());
    assert_eq!(m["spec"]["template"]["spec"]["automountServiceAccountToken"], false, "no API access needed");
    assert!(m["spec"]["template"]["spec"]["serviceAccountName"].is_null());
    assert!(!children.iter().any(|c| c["kind"] == "Role" || c["kind"] == "ServiceAccount"));
    let ca = flag(&args, "--webhook-ca")[0];
    let (cm, items) = mounted_source(&m, ca);
    assert_eq!(cm["name"], "alertas-ca");
    assert_eq!(items, ["ca.pem"]);
    assert!(ca.ends_with("/ca.pem"));
}

/// The site pod of the municipal example (PREP: capture and publisher beside the site) and of the
/// university's (the site alone): each container's arguments parse with the real `urna site`, `urna capture
/// serve` and `urna publish`; the capture service loads the mesas file and the tokens file exactly as mounted,
/// and the publisher's token is one the tokens file lists as a publisher; the publisher reads the capture
/// service beside it, logs to the Election's audit log and writes where the site serves snapshots from.
#[test]
fn site_pod_parses_with_the_real_cli_and_finds_its_files() {
    let set = example("municipal");
    let e = &set.elections[0];
    let mut hashes: BTreeMap<String, String> = set
        .mesas
        .iter()
        .map(|m| (m.metadata.name.clone().expect("name"), urna_operator::token::token_sha256("console")))
        .collect();
    let secrets = build::site::token_secrets(e);
    assert_eq!(secrets.len(), 1 + e.spec.site.as_ref().expect("site").capturists.len());
    for s in &secrets {
        let key = s.hash_key.clone().expect("a listed token");
        hashes.insert(key.clone(), urna_operator::token::token_sha256(&format!("token of {key}")));
    }
    let file = build::booth_vote::mesas_file(e, &set.mesas, &set.fleets, &hashes).expect("mesas file");
    let d = Defaults::default();
    let children: Vec<Value> =
        build::site::build(e, &d, Some(&file), &hashes).expect("site builds").into_iter().map(|c| c.body).collect();
    let kinds: Vec<&str> = children.iter().filter_map(|c| c["kind"].as_str()).collect();
    assert_eq!(kinds, ["ConfigMap", "StatefulSet", "Service", "NetworkPolicy", "Ingress"]);
    let sts = &children[1];
    let pod = &sts["spec"]["template"]["spec"];
    let container = |name: &str| -> (Vec<String>, &Value) {
        let c = pod["containers"].as_array().expect("containers").iter().find(|c| c["name"] == name).expect(name);
        let args = c["args"].as_array().expect("args").iter().map(|a| a.as_str().expect("arg").to_owned()).collect();
        (args, c)
    };
    // The file behind `path` as the container mounts it: the ConfigMap key's text among the children, or the
    // booth vote service's mesas ConfigMap (built by its own builder) for the mesas file.
    let mounted = |c: &Value, path: &str| -> (String, String) {
        let mount = c["volumeMounts"]
            .as_array()
            .expect("mounts")
            .iter()
            .find(|m| m["mountPath"].as_str().is_some_and(|dir| path.starts_with(&format!("{dir}/"))))
            .unwrap_or_else(|| panic!("{path} is not mounted"));
        let v = pod["volumes"].as_array().expect("volumes").iter().find(|v| v["name"] == mount["name"]).expect("vol");
        let source = if v["secret"].is_object() { &v["secret"]["secretName"] } else { &v["configMap"]["name"] };
        let key = path.rsplit('/').next().expect("file");
        assert!(
            v["secret"]["items"]
                .as_array()
                .or(v["configMap"]["items"].as_array())
                .into_iter()
                .flatten()
                .any(|i| i["path"] == key),
            "{path}: the key is projected"
        );
        (source.as_str().expect("source").to_owned(), key.to_owned())
    };

    let (site_args, _) = container("site");
    assert!(matches!(parse(&site_args), Workload::Site(_)), "{site_args:?}");
    let (capture_args, capture) = container("capture");
    assert!(matches!(parse(&capture_args), Workload::Capture(_)), "{capture_args:?}");
    let (publish_args, publish) = container("publish");
    assert!(matches!(parse(&publish_args), Workload::Publish(_)), "{publish_args:?}");
    assert_eq!(flag(&publish_args, "--out"), flag(&site_args, "--snapshots"));
    let listen = flag(&capture_args, "--listen")[0].rsplit(':').next().expect("port").to_owned();
    assert_eq!(flag(&publish_args, "--capture"), [format!("http://127.0.0.1:{listen}").as_str()]);
    let audit = build::election::audit_name(e.metadata.name.as_deref().expect("name"));
    let audit_url = urna_operator::workload::service_url(&audit, e.metadata.namespace.as_deref());
    assert_eq!(flag(&publish_args, "--audit"), [audit_url.as_str()]);
    assert_eq!(flag(&publish_args, "--interval"), [e.spec.publication_interval_seconds.to_string().as_str()]);
    assert!(publish_args.iter().any(|a| a == "--create-key"), "the key is made on the pod's own volume");

    // The mesas file is the booth vote service's ConfigMap; the tokens file ours.
    let (mesas_cm, mesas_key) = mounted(capture, flag(&capture_args, "--mesas")[0]);
    let booth: Vec<Value> = build::booth_vote::build(e, &d, &build::election::tally_shards(e), &file)
        .expect("booth vote builds")
        .into_iter()
        .map(|c| c.body)
        .collect();
    let mesas_text = config_key(&booth, &mesas_cm, &mesas_key);
    let (tokens_cm, tokens_key) = mounted(capture, flag(&capture_args, "--tokens")[0]);
    let tokens_text = config_key(&children, &tokens_cm, &tokens_key);
    let tokens: Value = serde_json::from_str(tokens_text).expect("tokens json");
    assert_eq!(tokens["capturists"].as_array().expect("capturists").len(), secrets.len() - 1);
    assert_eq!(tokens["publishers"][0]["tokenSha256"], hashes[build::site::PUBLISHER_KEY]);
    let (publisher_secret, _) = mounted(publish, flag(&publish_args, "--token-file")[0]);
    assert_eq!(publisher_secret, build::site::publisher_token_secret(e.metadata.name.as_deref().expect("name")));

    // The capture service starts from these files and refuses nothing the operator wrote.
    let tmp = tempfile::tempdir().expect("tempdir");
    std::fs::write(tmp.path().join("mesas.json"), mesas_text).expect("write");
    std::fs::write(tmp.path().join("tokens.json"), tokens_text).expect("write");
    let registry = urna_vote::mesa::MesaRegistry::load(&tmp.path().join("mesas.json"), &e.manifest());
    assert!(registry.is_ok(), "the capture service loads the mesas as the vote service does");

    // The university: the site alone, no PREP (no booth vote service), no Ingress.
    let set = example("university");
    let e = &set.elections[0];
    let children: Vec<Value> =
        build::site::build(e, &d, None, &BTreeMap::new()).expect("site builds").into_iter().map(|c| c.body).collect();
    let kinds: Vec<&str> = children.iter().filter_map(|c| c["kind"].as_str()).collect();
    assert_eq!(kinds, ["StatefulSet", "Service", "NetworkPolicy"]);
    let containers = children[0]["spec"]["template"]["spec"]["containers"].as_array().expect("containers");
    assert_eq!(containers.len(), 1);
    let args = expanded_args(&children[0], 0);
    assert!(matches!(parse(&args), Workload::Site(_)), "{args:?}");
    assert!(flag(&args, "--snapshots").is_empty());
}
