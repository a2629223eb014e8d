//! The GitOps health checks shipped in charts/urna/gitops, run against statuses made by the operator's own
//! condition builder: the Flux `healthCheckExprs` (CEL) with the CEL evaluator kube uses, and the Argo CD
//! health script with a real Lua 5.1 interpreter (the language of Argo CD's gopher-lua). `lua5.1` comes from
//! `URNA_LUA` or PATH; `.ci/run` installs it, and under CI (`CI` set) a missing interpreter is a failure.

use std::path::PathBuf;
use std::process::Command;

use kube::core::cel::cel::{Context, Program, Value as Cel};
use serde_json::{Value, json};
use urna_operator::controller::conditions::{self, Desired};

fn gitops(file: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../charts/urna/gitops").join(file);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// An object of `kind` at generation 2 with the given status conditions (as the controllers write them).
fn object(kind: &str, desired: &[Desired], observed: i64, phase: Option<&str>) -> Value {
    let now: jiff::Timestamp = "2027-06-01T00:00:00Z".parse().expect("ts");
    let conds = conditions::merge(&[], desired, Some(observed), now);
    let mut status = json!({ "conditions": conds });
    if let Some(p) = phase {
        status["phase"] = json!(p);
    }
    json!({"apiVersion": "urna.dev/v1alpha1", "kind": kind, "metadata": {"name": "x", "generation": 2}, "status": status})
}

/// (object, expected Argo CD status, expected Flux verdict)
fn cases(kind: &str) -> Vec<(Value, &'static str, &'static str)> {
    let ready = conditions::standard(true, "9 of 9 workloads ready", None);
    let starting = conditions::standard(false, "3 of 9 workloads ready", None);
    let invalid = conditions::standard(false, "", Some(("InvalidSpec", "spec.trustees: threshold 9".into())));
    let mut paused = ready.clone();
    paused.push(Desired::new(conditions::PAUSED, true, "Paused", "urna.dev/reconcile is set to paused"));
    vec![
        (
            json!({"apiVersion": "urna.dev/v1alpha1", "kind": kind, "metadata": {"generation": 1}, "status": {}}),
            "Progressing",
            "inProgress",
        ),
        (object(kind, &ready, 2, Some("Open")), "Healthy", "current"),
        // Ready, but for an older generation: the operator has not seen the last edit yet.
        (object(kind, &ready, 1, Some("Open")), "Progressing", "inProgress"),
        (object(kind, &starting, 2, Some("Pending")), "Progressing", "inProgress"),
        (object(kind, &invalid, 2, Some("Pending")), "Degraded", "failed"),
        (object(kind, &ready, 2, Some("Failed")), "Degraded", "failed"),
        (object(kind, &paused, 2, Some("Open")), "Suspended", "current"),
    ]
}

fn eval(expr: &str, obj: &Value) -> bool {
    let program = Program::compile(expr).unwrap_or_else(|e| panic!("{expr}: {e:?}"));
    let mut ctx = Context::default();
    for (k, v) in obj.as_object().expect("object") {
        ctx.add_variable(k.as_str(), v.clone()).expect("variable");
    }
    match program.execute(&ctx) {
        Ok(Cel::Bool(b)) => b,
        other => panic!("{expr} on {obj}: {other:?}"),
    }
}

#[test]
fn flux_health_expressions_follow_the_conditions() {
    let doc: Value = serde_yaml::from_str(&gitops("flux-health-checks.yaml")).expect("yaml");
    let checks = doc["healthCheckExprs"].as_array().expect("healthCheckExprs");
    let kinds: Vec<&str> = checks.iter().filter_map(|c| c["kind"].as_str()).collect();
    assert_eq!(kinds, ["Election", "Mesa", "BoothFleet", "TallyShard"]);
    for check in checks {
        assert_eq!(check["apiVersion"], "urna.dev/v1alpha1");
        let kind = check["kind"].as_str().expect("kind");
        for (obj, _, flux) in cases(kind) {
            let failed = eval(check["failed"].as_str().expect("failed"), &obj);
            let current = eval(check["current"].as_str().expect("current"), &obj);
            let verdict = if failed {
                "failed"
            } else if current {
                "current"
            } else {
                "inProgress"
            };
            assert_eq!(verdict, flux, "{kind}: {}", obj["status"]);
        }
    }
}

fn lua() -> Option<PathBuf> {
    let candidate = std::env::var_os("URNA_LUA").map(PathBuf::from).or_else(|| {
        std::env::var_os("PATH").and_then(|p| std::env::split_paths(&p).map(|d| d.join("lua5.1")).find(|p| p.is_file()))
    });
    let ci = std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0");
    match candidate {
        Some(p) => Some(p),
        None if ci => panic!("lua5.1 not found (URNA_LUA unset, none on PATH): CI must run it, see .ci/run"),
        None => {
            eprintln!("skipped: lua5.1 not found (URNA_LUA unset, none on PATH); run .ci/run to install it");
            None
        }
    }
}

/// A Lua table constructor for a JSON value (what Argo CD hands the script as `obj`).
fn lua_value(v: &Value) -> String {
    match v {
        Value::Null => "nil".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => format!("{s:?}"),
        Value::Array(a) => format!("{{{}}}", a.iter().map(lua_value).collect::<Vec<_>>().join(", ")),
        Value::Object(o) => {
            format!(
                "{{{}}}",
                o.iter().map(|(k, v)| format!("[{k:?}] = {}", lua_value(v))).collect::<Vec<_>>().join(", ")
            )
        }
    }
}

#[test]
fn argocd_health_script_follows_the_conditions() {
    let Some(lua) = lua() else { return };
    let script = gitops("argocd-health.lua");
    for kind in ["Election", "Mesa", "BoothFleet", "TallyShard"] {
        for (obj, argo, _) in cases(kind) {
            let program = format!(
                "obj = {}\nlocal function health()\n{script}\nend\nlocal hs = health()\nio.write(hs.status, \"\\t\", hs.message or \"\")\n",
                lua_value(&obj)
            );
            let out = Command::new(&lua).args(["-e", &program]).output().expect("run lua");
            assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
            let stdout = String::from_utf8(out.stdout).expect("utf-8");
            let (status, message) = stdout.split_once('\t').expect("status and message");
            assert_eq!(status, argo, "{kind}: {}", obj["status"]);
            if argo == "Degraded" && obj["status"]["phase"] != "Failed" {
                assert!(message.contains("threshold 9"), "the reason reaches Argo CD: {message}");
            }
        }
    }
}
