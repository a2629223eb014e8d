//! `urna operator` as a process, against the fake apiserver served over HTTP on 127.0.0.1
//! (`common::fake_apiserver`: LIST, WATCH, server-side apply with status field ownership, Events), closing the
//! municipal example's Election with its workloads run as real `urna` processes on loopback.
//!
//! The test plays the cluster around the operator: the kubelet (each pod's ConfigMaps, Secrets and claims as
//! files, the container's own command and arguments run as a process, Service names resolved to the
//! processes' loopback ports), the Job controller (the record-export Job's pod run to completion, its status
//! written), the trustees (`urna trustee decrypt` with the committed fixture ceremony's shares) and the
//! authority (the certify annotation), and each Mesa's president and secretary, who sign and submit its actas
//! with `urna mesa acta` at the booth vote service (the log's closing waits for them). Nothing in the closing is
//! a stand-in: the vote services, tally shards,
//! audit log, record export and decryption service are the real binaries, sealing, closing and verifying for
//! real. What the test does not run: the BoothFleet's brokers and monitor (the closing does not ask them).
//! The one change to the pods' arguments: the tally shards run without `--closes-at` (passed an hour ago, it
//! would make each seal itself at startup, and the operator's Sealing step would have nothing to do).
//!
//! The operator is killed with SIGKILL once at each closing step it writes (the fake apiserver freezes the
//! moment the step's status is stored, so the kill lands exactly there), and once between creating the
//! record volume and the export Job; each time a new process starts and carries on. At the end: one Job and
//! one volume created, `recordExportedAt` and `certifiedAt` each written once and never changed, and the
//! published results the very document the decryption service wrote, equal to `urna results` on the record.

#![cfg(unix)]

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::fake_api::{FakeApi, Seen};
use common::fake_apiserver::{Server, Trigger};
use common::processes::{Workload, start_workload, urna_bin};
use futures::StreamExt;
use http::Method;
use kube::{Resource, ResourceExt};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use urna_operator::build::{booth_vote, election as build, record, tallyshard};

const NS: &str = "ciudad";
const NAME: &str = "ciudad-2027";
const ELECTION_PATH: &str = "/apis/urna.dev/v1alpha1/namespaces/ciudad/elections/ciudad-2027";
const STS: &str = "/apis/apps/v1/namespaces/ciudad/statefulsets";
const JOBS: &str = "/apis/batch/v1/namespaces/ciudad/jobs";
const PVCS: &str = "/api/v1/namespaces/ciudad/persistentvolumeclaims";
const CONFIGMAPS: &str = "/api/v1/namespaces/ciudad/configmaps";
const SECRETS: &str = "/api/v1/namespaces/ciudad/secrets";
const FIXTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../workloads/crypto/tests/fixtures/ceremony-3072");
const VOTING_KEY: &str =
    concat!(env!("CARGO_MANIFEST_DIR"), "/../workloads/crypto/tests/fixtures/voting-right-3072.pem");
/// The moment the operator is killed between creating the record volume and the export Job.
const AFTER_VOLUME: &str = "Exporting (record volume created, export Job not yet)";
/// Every wait of the test is bounded by this.
const DEADLINE: Duration = Duration::from_secs(300);
/// The members who sign each Mesa's actas: the quorum, the president and a secretary.
const ACTA_SIGNERS: [&str; 2] = ["presidente", "secretario"];

/// Where the test keeps `member`'s acta key of `mesa`.
fn member_key(dir: &Path, mesa: &str, member: &str) -> PathBuf {
    dir.join(format!("{mesa}-{member}.key"))
}

/// The municipal Election, closed an hour ago, keyed by the committed fixture ceremony (whose shares the
/// trustees hold) and naming its ceremony ConfigMap, as an authority would have applied it.
fn closed_election() -> Value {
    let mut e = common::example("municipal").elections[0].clone();
    e.meta_mut().uid = Some("e-uid".into());
    e.meta_mut().generation = Some(1);
    e.meta_mut().finalizers = Some(vec![urna_operator::meta::FINALIZER.into()]);
    let public: Value =
        serde_json::from_slice(&std::fs::read(Path::new(FIXTURE).join("public.json")).expect("public.json"))
            .expect("json");
    e.spec.keys.paillier_modulus = public["paillier"]["n"].as_str().expect("n").to_owned();
    e.spec.keys.verification_keys = public["verification_keys"]
        .as_array()
        .expect("verification keys")
        .iter()
        .zip(1..)
        .map(|(k, trustee)| urna_operator::crd::election::VerificationKey {
            trustee,
            key: k.as_str().expect("hex").to_owned(),
        })
        .collect();
    let now = jiff::Timestamp::now();
    for m in &mut e.spec.modalities {
        m.opens_at.0 = now - jiff::SignedDuration::from_hours(2);
        m.closes_at.0 = now - jiff::SignedDuration::from_hours(1);
    }
    e.spec.record.ceremony = Some(format!("{NAME}-ceremony"));
    let mut v = serde_json::to_value(&e).expect("json");
    v["status"] = json!({"phase": "Closed"});
    v
}

/// Puts the Election and what the authority created beside it: its census ConfigMaps, Mesas and BoothFleet
/// (the example's), the voting-right key and vote admin token Secrets, and the ceremony's public outputs. Each
/// Mesa's president and secretary get fresh acta keys (`urna mesa keygen`, in `dir`; the example's have no
/// committed private half), whose public halves replace theirs in the Mesa.
fn seed(api: &FakeApi, dir: &Path) {
    let set = common::example("municipal");
    api.put(ELECTION_PATH, closed_election());
    for cm in set.others.iter().filter(|o| o["kind"] == "ConfigMap") {
        let name = cm["metadata"]["name"].as_str().expect("name");
        api.put(&format!("{CONFIGMAPS}/{name}"), cm.clone());
    }
    for m in &set.mesas {
        let mut m = m.clone();
        for member in m.spec.members.iter_mut().filter(|m| ACTA_SIGNERS.contains(&m.id.as_str())) {
            let key = member_key(dir, &m.metadata.name.clone().unwrap_or_default(), &member.id);
            let out = Command::new(urna_bin()).args(["mesa", "keygen", "--out"]).arg(&key).output().expect("keygen");
            assert!(out.status.success(), "urna mesa keygen: {}", String::from_utf8_lossy(&out.stderr));
            let stdout = String::from_utf8_lossy(&out.stdout);
            let public = stdout.lines().find_map(|l| l.strip_prefix("public key: ")).expect("the public key");
            member.signing_key = public.trim().to_owned();
        }
        api.put(
            &format!("/apis/urna.dev/v1alpha1/namespaces/ciudad/mesas/{}", m.name_any()),
            serde_json::to_value(&m).expect("json"),
        );
    }
    for f in &set.fleets {
        let mut f = f.clone();
        f.meta_mut().uid = Some("f-uid".into());
        api.put(
            &format!("/apis/urna.dev/v1alpha1/namespaces/ciudad/boothfleets/{}", f.name_any()),
            serde_json::to_value(&f).expect("json"),
        );
    }
    let b64 = |bytes: &[u8]| serde_json::to_value(k8s_openapi::ByteString(bytes.to_vec())).expect("base64");
    let key = std::fs::read(VOTING_KEY).expect("voting-right key fixture");
    for (name, key_name, value) in [
        (format!("{NAME}-vote-signing-key"), "signing-key.pem", key),
        (format!("{NAME}-vote-admin"), "token", b"admin-token-of-the-test".to_vec()),
    ] {
        api.put(
            &format!("{SECRETS}/{name}"),
            json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": name, "namespace": NS}, "data": {key_name: b64(&value)}}),
        );
    }
    let file = |f: &str| std::fs::read_to_string(Path::new(FIXTURE).join(f)).expect("fixture");
    api.put(
        &format!("{CONFIGMAPS}/{NAME}-ceremony"),
        json!({"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": format!("{NAME}-ceremony"), "namespace": NS},
               "data": {"public.json": file("public.json"), "transcript.json": file("transcript.json")}}),
    );
}

/// The cluster around the operator, played by the test.
struct World {
    dir: PathBuf,
    /// What cluster DNS would answer: Service name → loopback base URL (the operator reads it from
    /// `endpoints.json`, the pods' arguments are rewritten with it).
    services: BTreeMap<String, String>,
    processes: Vec<Workload>,
    workloads_started: bool,
    export_ran: bool,
    decryption_started: bool,
    trustees_answered: bool,
}

impl World {
    fn endpoints_file(&self) -> PathBuf {
        self.dir.join("endpoints.json")
    }

    /// Publishes `services` to the operator (a new file renamed over the old: never half-written).
    fn publish(&self) {
        let mut map = self.services.clone();
        // Anything not started (the brokers, the monitor): connection refused at once.
        map.insert("*".into(), "http://127.0.0.1:1".into());
        let tmp = self.dir.join("endpoints.json.tmp");
        std::fs::write(&tmp, serde_json::to_vec(&map).expect("json")).expect("write endpoints");
        std::fs::rename(&tmp, self.endpoints_file()).expect("rename endpoints");
    }

    fn claims(&self) -> PathBuf {
        self.dir.join("claims")
    }

    /// The kubelet's part for one pod of `workload` (its template spec `pod`): ConfigMap and Secret volumes
    /// written as files under `root`, claims linked to one directory per claim (shared by the pods that mount
    /// it), the rest empty directories; returns the container's arguments, cluster URLs rewritten to loopback.
    fn mount(&self, api: &FakeApi, root: &Path, pod: &Value) -> Vec<String> {
        let volumes: BTreeMap<&str, &Value> =
            pod["volumes"].as_array().into_iter().flatten().filter_map(|v| Some((v["name"].as_str()?, v))).collect();
        let container = &pod["containers"][0];
        for m in container["volumeMounts"].as_array().into_iter().flatten() {
            let at = root.join(m["mountPath"].as_str().expect("mountPath").trim_start_matches('/'));
            let volume = m["name"].as_str().and_then(|n| volumes.get(n));
            let files = |data: &Value, decode: bool, items: &Value| -> Vec<(String, Vec<u8>)> {
                let value = |key: &str| -> Vec<u8> {
                    let v = data[key].clone();
                    assert!(!v.is_null(), "{key} is in the mounted object");
                    if decode {
                        serde_json::from_value::<k8s_openapi::ByteString>(v).expect("base64").0
                    } else {
                        v.as_str().expect("text").as_bytes().to_vec()
                    }
                };
                match items.as_array() {
                    Some(items) => items
                        .iter()
                        .map(|i| (i["path"].as_str().expect("path").to_owned(), value(i["key"].as_str().expect("key"))))
                        .collect(),
                    None => data.as_object().into_iter().flatten().map(|(k, _)| (k.clone(), value(k))).collect(),
                }
            };
            let written = match volume {
                Some(v) if v["configMap"].is_object() => {
                    let cm = api.get(&format!("{CONFIGMAPS}/{}", v["configMap"]["name"].as_str().expect("name")));
                    assert!(!cm.is_null(), "ConfigMap {} exists", v["configMap"]["name"]);
                    files(&cm["data"], false, &v["configMap"]["items"])
                }
                Some(v) if v["secret"].is_object() => {
                    let s = api.get(&format!("{SECRETS}/{}", v["secret"]["secretName"].as_str().expect("name")));
                    assert!(!s.is_null(), "Secret {} exists", v["secret"]["secretName"]);
                    files(&s["data"], true, &v["secret"]["items"])
                }
                Some(v) if v["persistentVolumeClaim"].is_object() => {
                    let claim = self.claims().join(v["persistentVolumeClaim"]["claimName"].as_str().expect("claim"));
                    std::fs::create_dir_all(&claim).expect("claim dir");
                    if !at.exists() {
                        std::fs::create_dir_all(at.parent().expect("parent")).expect("mkdir");
                        std::os::unix::fs::symlink(&claim, &at).expect("link the claim");
                    }
                    continue;
                }
                // A volumeClaimTemplate's claim (the pod's own) or an emptyDir.
                _ => {
                    std::fs::create_dir_all(&at).expect("mkdir");
                    continue;
                }
            };
            std::fs::create_dir_all(&at).expect("mkdir");
            for (path, bytes) in written {
                std::fs::write(at.join(path), bytes).expect("write mounted file");
            }
        }
        let args: Vec<String> = serde_json::from_value(container["args"].clone()).expect("args");
        args.iter().map(|a| self.resolve(a)).collect()
    }

    /// Cluster DNS: `http://<service>.ciudad.svc:8080` in an argument becomes the service's loopback URL.
    fn resolve(&self, arg: &str) -> String {
        let mut out = arg.to_owned();
        for (service, url) in &self.services {
            out = out.replace(&format!("http://{service}.{NS}.svc:{}", urna_operator::workload::HTTP_PORT), url);
        }
        out
    }

    /// The StatefulSet controller and kubelet: once every workload of the Election is applied, runs each pod.
    async fn start_workloads(&mut self, api: &FakeApi) -> bool {
        let e: urna_operator::crd::Election = serde_json::from_value(api.get(ELECTION_PATH)).expect("election");
        let shards: Vec<String> =
            build::tally_shards(&e).iter().map(|s| tallyshard::workload_name(&s.name_any())).collect();
        // Those the others name first: the vote services' arguments route to the shards and the audit log.
        let mut sets = shards.clone();
        sets.extend([build::audit_name(NAME), build::vote_name(NAME), booth_vote::booth_vote_name(NAME)]);
        if sets.iter().any(|s| api.get(&format!("{STS}/{s}")).is_null()) {
            return false;
        }
        for set in &sets {
            let sts = api.get(&format!("{STS}/{set}"));
            let replicas = sts["spec"]["replicas"].as_u64().unwrap_or(1);
            for i in 0..replicas {
                let pod = format!("{set}-{i}");
                let root = self.dir.join("pods").join(&pod);
                let mut args: Vec<String> = self
                    .mount(api, &root, &sts["spec"]["template"]["spec"])
                    .iter()
                    .map(|a| a.replace("$(URNA_VOTE_PARTITION)", &i.to_string()))
                    .collect();
                if shards.contains(set) {
                    // The one change to a pod's arguments: a shard seals itself at its `--closes-at`, an hour ago
                    // here, so it would start sealed and the operator's seal (the Sealing step) would never be
                    // needed. Without it the shard waits for the operator's `POST /v1/seal`.
                    if let Some(at) = args.iter().position(|a| a == "--closes-at") {
                        args.drain(at..at + 2);
                    }
                }
                let (process, url) = start_workload(&root, &args, |_, _| None).await;
                self.processes.push(process);
                // The vote partitions answer under `<pod>.<headless service>`, the single replicas under theirs.
                let service = if *set == build::vote_name(NAME) { format!("{pod}.{set}") } else { set.clone() };
                self.services.insert(service, url);
            }
            let mut live = sts.clone();
            live["status"] = json!({"replicas": replicas, "readyReplicas": replicas});
            api.put(&format!("{STS}/{set}"), live);
        }
        self.publish();
        true
    }

    /// The Job controller and kubelet: the export Job's pod, its own command run to completion; then the
    /// Job's status.
    async fn run_export(&mut self, api: &FakeApi, job: &Value) {
        let root = self.dir.join("pods").join("record-export");
        let args = self.mount(api, &root, &job["spec"]["template"]["spec"]);
        let argv: Vec<String> = args
            .iter()
            .map(|a| {
                if a.starts_with('/') { root.join(a.trim_start_matches('/')).display().to_string() } else { a.clone() }
            })
            .collect();
        let out = run_blocking(Command::new(urna_bin()).args(&argv)).await;
        assert!(out.status.success(), "urna {argv:?}: {}", String::from_utf8_lossy(&out.stderr));
        let mut done = job.clone();
        done["status"] = json!({"succeeded": 1});
        api.put(&format!("{JOBS}/{}", record::export_job_name(NAME)), done);
    }

    /// The Deployment controller and kubelet: the decryption service's pod, over the record volume.
    async fn start_decryption(&mut self, api: &FakeApi, deployment: &Value) {
        let root = self.dir.join("pods").join("decryption");
        let args = self.mount(api, &root, &deployment["spec"]["template"]["spec"]);
        let (process, url) = start_workload(&root, &args, |_, _| None).await;
        self.processes.push(process);
        self.services.insert(record::decryption_name(NAME), url);
        self.publish();
    }

    /// The trustees, outside the cluster: `urna trustee decrypt --election URL` with their own shares.
    async fn trustees_answer(&self) {
        let url = &self.services[&record::decryption_name(NAME)];
        for i in 1..=3 {
            let pass = self.dir.join(format!("trustee-{i}.passphrase"));
            std::fs::write(&pass, format!("trustee-{i}\n")).expect("passphrase");
            let share = Path::new(FIXTURE).join(format!("trustee-{i}.share.json"));
            let mut cmd = Command::new(urna_bin());
            cmd.args(["trustee", "decrypt", "--election", url, "--share"])
                .arg(&share)
                .arg("--passphrase-file")
                .arg(&pass);
            let out = run_blocking(&mut cmd).await;
            assert!(out.status.success(), "trustee {i}: {}", String::from_utf8_lossy(&out.stderr));
        }
    }

    /// Each Mesa's president and secretary sign its constitution and results actas with their tools (`urna
    /// mesa acta draft|sign|submit`) at the booth vote service, with the console token the operator generated:
    /// what the log's closing waits for. The results state no votes (no booth ballot was cast here), in the
    /// shape the e2e suite's counts have (`e2e/booth-counts/<district>.json`).
    async fn mesas_sign_their_actas(&self, api: &FakeApi) {
        let vote = &self.services[&booth_vote::booth_vote_name(NAME)];
        let set = common::example("municipal");
        for m in &set.mesas {
            let mesa = m.name_any();
            let token = api.get(&format!("{SECRETS}/{}", booth_vote::console_token_secret(&mesa)));
            let token = serde_json::from_value::<k8s_openapi::ByteString>(
                token["data"][urna_operator::workload::TOKEN_KEY].clone(),
            )
            .expect("the console token")
            .0;
            let token_file = self.dir.join(format!("{mesa}-console.token"));
            std::fs::write(&token_file, token).expect("token file");
            let counts = self.dir.join(format!("{mesa}-counts.json"));
            let template = std::fs::read_to_string(
                Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("../e2e/booth-counts/{}.json", m.spec.district)),
            )
            .expect("counts template");
            std::fs::write(&counts, template.replace("__N__", "0")).expect("counts");
            for kind in ["constitution", "results"] {
                let acta = |step: &str| self.dir.join(format!("{mesa}-{kind}-{step}.json"));
                let mut draft = Command::new(urna_bin());
                draft
                    .args(["mesa", "acta", "draft", "--kind", kind, "--election", NAME, "--mesa", &mesa])
                    .args(["--members-present", &ACTA_SIGNERS.join(","), "--source", "booths", "--counts"])
                    .arg(&counts)
                    .args(["--vote", vote, "--token-file"])
                    .arg(&token_file)
                    .arg("--out")
                    .arg(acta("draft"));
                let mut steps = vec![draft];
                let mut last = acta("draft");
                for member in ACTA_SIGNERS {
                    let mut sign = Command::new(urna_bin());
                    sign.args(["mesa", "acta", "sign", "--acta"])
                        .arg(&last)
                        .args(["--member", member, "--key"])
                        .arg(member_key(&self.dir, &mesa, member))
                        .arg("--out")
                        .arg(acta(member));
                    last = acta(member);
                    steps.push(sign);
                }
                let mut submit = Command::new(urna_bin());
                submit.args(["mesa", "acta", "submit", "--acta"]).arg(&last).args(["--vote", vote, "--token-file"]);
                submit.arg(&token_file);
                steps.push(submit);
                for mut step in steps {
                    let out = run_blocking(&mut step).await;
                    assert!(
                        out.status.success(),
                        "{mesa} {kind} acta: {:?}: {}",
                        step.get_args().collect::<Vec<_>>(),
                        String::from_utf8_lossy(&out.stderr)
                    );
                }
            }
        }
    }

    /// Whatever the cluster does next, given what the operator created.
    async fn moves(&mut self, api: &FakeApi, killed: &[String]) {
        // The workloads start once the operator saw them unreachable (Draining), as pods starting late.
        if !self.workloads_started && killed.iter().any(|k| k == "Draining") {
            self.workloads_started = self.start_workloads(api).await;
        }
        let job = api.get(&format!("{JOBS}/{}", record::export_job_name(NAME)));
        if !self.export_ran && !job.is_null() {
            self.export_ran = true;
            self.run_export(api, &job).await;
        }
        let deployment =
            api.get(&format!("/apis/apps/v1/namespaces/ciudad/deployments/{}", record::decryption_name(NAME)));
        if !self.decryption_started && !deployment.is_null() {
            self.decryption_started = true;
            self.start_decryption(api, &deployment).await;
        }
        // The trustees answer once the operator has seen the service waiting for them (Decrypting).
        if self.decryption_started && !self.trustees_answered && killed.iter().any(|k| k == "Decrypting") {
            self.trustees_answered = true;
            self.trustees_answer().await;
        }
    }
}

/// Runs `cmd` to completion off the async threads, bounded by [`DEADLINE`].
async fn run_blocking(cmd: &mut Command) -> std::process::Output {
    let child = cmd.stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().expect("spawn urna");
    let id = child.id();
    match tokio::time::timeout(DEADLINE, tokio::task::spawn_blocking(move || child.wait_with_output())).await {
        Ok(out) => out.expect("join").expect("wait"),
        Err(_) => panic!("process {id} did not finish within {DEADLINE:?}"),
    }
}

/// The operator process: its stderr in `log`, its metrics on `metrics`.
struct Operator {
    child: Child,
    metrics: std::net::SocketAddr,
}

impl Operator {
    fn start(dir: &Path, generation: usize) -> Self {
        // A free port for /metrics (bound and released: nothing else on loopback takes it meanwhile).
        let metrics = std::net::TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port");
        let log = std::fs::File::create(dir.join(format!("operator-{generation}.log"))).expect("log");
        let child = Command::new(urna_bin())
            .args(["operator", "--namespace", NS, "--no-leader-election", "--observe-interval-seconds", "1"])
            .arg("--listen")
            .arg(metrics.to_string())
            .arg("--test-workload-endpoints")
            .arg(dir.join("endpoints.json"))
            .env("KUBECONFIG", dir.join("kubeconfig"))
            .env("HOME", dir)
            .env("RUST_LOG", "info")
            .env_remove("KUBERNETES_SERVICE_HOST")
            .env_remove("KUBERNETES_SERVICE_PORT")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start urna operator");
        Self { child, metrics }
    }

    /// SIGKILL, then reaped.
    fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reap");
    }

    /// `GET /metrics`, or nothing yet.
    async fn metrics(&self) -> Option<String> {
        let r = urna_testkit::Request::get("/metrics").timeout(Duration::from_secs(5));
        Some(r.send_async(self.metrics).await.ok()?.text())
    }
}

impl Drop for Operator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The last lines of every operator log, for a failure message.
fn logs(dir: &Path, generations: usize) -> String {
    (0..generations)
        .map(|g| {
            let text = std::fs::read_to_string(dir.join(format!("operator-{g}.log"))).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            format!("--- operator {g}:\n{}", lines[lines.len().saturating_sub(15)..].join("\n"))
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The values a status field took in the operator's status writes, in order, repeats removed.
fn written(seen: &[Seen], field: &str) -> Vec<Value> {
    let mut values: Vec<Value> = seen
        .iter()
        .filter(|s| s.method == Method::PATCH && s.path == format!("{ELECTION_PATH}/status"))
        .filter_map(|s| s.body["status"].get(field).cloned())
        .filter(|v| !v.is_null())
        .collect();
    values.dedup();
    values
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_operator_process_closes_an_election_to_certified_killed_at_every_step() {
    let started = Instant::now();
    let tmp = tempfile::tempdir().expect("tempdir");
    let dir = tmp.path().to_path_buf();
    // With its journal from the start: the test's own writes (the kubelet's, the authority's) are watch events
    // with resource versions too.
    let api = FakeApi { journal: Some(Arc::default()), ..Default::default() };
    seed(&api, &dir);
    // Freeze at each closing step the first time the operator stores it, and once between the record volume
    // and the export Job.
    let stepped = Arc::new(Mutex::new(BTreeSet::<String>::new()));
    let trigger: Trigger = Arc::new(move |api: &FakeApi, seen: &Seen| {
        if seen.method == Method::POST && seen.path == PVCS {
            return Some(AFTER_VOLUME.to_owned());
        }
        if seen.path != format!("{ELECTION_PATH}/status") {
            return None;
        }
        let reason = common::closing_reason(&api.get(ELECTION_PATH)["status"]);
        (!reason.is_empty() && stepped.lock().expect("lock").insert(reason.clone())).then_some(reason)
    });
    let mut server = Server::start(api.clone(), Some(trigger)).await;
    std::fs::write(dir.join("kubeconfig"), server.kubeconfig(NS)).expect("kubeconfig");
    let mut world = World {
        dir: dir.clone(),
        services: BTreeMap::new(),
        processes: vec![],
        workloads_started: false,
        export_ran: false,
        decryption_started: false,
        trustees_answered: false,
    };
    world.publish();

    let mut generation = 0;
    let mut operator = Operator::start(&dir, generation);
    let mut killed: Vec<String> = vec![];
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    loop {
        assert!(
            started.elapsed() < DEADLINE,
            "not Certified within {DEADLINE:?}; killed at {killed:?}; status {:#}\n{}",
            api.get(ELECTION_PATH)["status"],
            logs(&dir, generation + 1)
        );
        tokio::select! {
            moment = server.moments.next() => {
                let moment = moment.expect("the server runs");
                operator.kill();
                killed.push(moment.clone());
                if moment == "ClosingLog" {
                    // The log's closing waits for every Mesa's results acta: the members sign and submit them
                    // (no booth ballots were cast here, so each states none), and the next operator goes on.
                    let status = api.get(ELECTION_PATH)["status"].clone();
                    let closing = status["conditions"].as_array().into_iter().flatten().find(|c| c["type"] == "Closing");
                    let message = closing.and_then(|c| c["message"].as_str()).unwrap_or_default();
                    assert!(message.contains("waiting for the results actas of mesas"), "{message}");
                    world.mesas_sign_their_actas(&api).await;
                }
                if moment == "Decrypted" {
                    // The authority certifies the published results (an explicit act: the annotation).
                    let mut e = api.get(ELECTION_PATH);
                    e["metadata"]["annotations"][urna_operator::meta::ANNOTATION_CERTIFY] = json!("true");
                    api.put(ELECTION_PATH, e);
                }
                server.thaw();
                generation += 1;
                operator = Operator::start(&dir, generation);
                if moment == "Certified" {
                    break;
                }
            }
            _ = tick.tick() => world.moves(&api, &killed).await,
        }
    }

    // The last operator, started after the kill at Certified, reconciles the Election and changes nothing.
    let certified_status = api.get(ELECTION_PATH)["status"].clone();
    loop {
        assert!(started.elapsed() < DEADLINE, "the last operator never reconciled:\n{}", logs(&dir, generation + 1));
        let done = operator.metrics().await.is_some_and(|m| {
            m.lines().any(|l| {
                l.starts_with("urna_operator_reconcile_duration_seconds_count{kind=\"Election\"}")
                    && l.split_whitespace().last().and_then(|n| n.parse::<u64>().ok()).is_some_and(|n| n >= 1)
            })
        });
        if done {
            break;
        }
        tick.tick().await;
    }
    let status = api.get(ELECTION_PATH)["status"].clone();
    for field in ["phase", "certifiedAt", "recordExportedAt", "results", "decryption"] {
        assert_eq!(status[field], certified_status[field], "{field} after a restart at Certified");
    }

    // Killed once at every closing step, in order.
    let expected = [
        "Draining",
        "Sealing",
        "ClosingLog",
        AFTER_VOLUME,
        "Exporting",
        "Decrypting",
        "Verifying",
        "Decrypted",
        "Certified",
    ];
    assert_eq!(killed, expected, "{}", logs(&dir, generation + 1));
    assert_eq!(status["phase"], "Certified");

    let seen = api.take();
    let creates = |path: &str| seen.iter().filter(|s| s.method == Method::POST && s.path == path).count();
    assert_eq!(creates(JOBS), 1, "one export Job");
    assert_eq!(creates(PVCS), 1, "one record volume");
    let certified = written(&seen, "certifiedAt");
    assert_eq!(certified.len(), 1, "certifiedAt set once, never changed: {certified:?}");
    assert_eq!(status["certifiedAt"], certified[0]);
    assert_eq!(written(&seen, "recordExportedAt").len(), 1, "recordExportedAt set once");

    // The results: the document the decryption service wrote on the record volume, in the ConfigMap and by its
    // digest in the status, and what `urna results` recomputes from the trustees' stored answers.
    let record_dir = world.claims().join(record::record_volume_name(NAME)).join("record");
    let results = std::fs::read(record_dir.join("results.json")).expect("results.json on the record volume");
    assert_eq!(status["results"]["digest"], hex::encode(Sha256::digest(&results)));
    let cm = api.get(&format!("{CONFIGMAPS}/{}", record::results_config_map_name(NAME)));
    assert_eq!(cm["data"]["results.json"].as_str().map(str::as_bytes), Some(results.as_slice()));
    let out = run_blocking(Command::new(urna_bin()).args(["results", "--json", "--record"]).arg(&record_dir)).await;
    assert!(out.status.success(), "urna results: {}", String::from_utf8_lossy(&out.stderr));
    let recomputed: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(recomputed, serde_json::from_slice::<Value>(&results).expect("json"));
    assert_eq!(status["decryption"]["accepted"], json!([1, 2, 3]));
    drop(operator);
}
