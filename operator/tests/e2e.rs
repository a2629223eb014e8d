//! The kind-based end-to-end suite (`e2e/run.sh`), run only with `URNA_E2E=1` and docker + kind present;
//! otherwise it says why it was skipped (and the test passes without testing anything).

use std::path::PathBuf;
use std::process::Command;

fn on_path(tool: &str) -> bool {
    Command::new("sh").arg("-c").arg(format!("command -v {tool}")).output().is_ok_and(|o| o.status.success())
}

#[test]
fn kind_e2e_suite() {
    if std::env::var("URNA_E2E").as_deref() != Ok("1") {
        println!("e2e skipped: set URNA_E2E=1 to run e2e/run.sh on a kind cluster");
        return;
    }
    let missing: Vec<_> = ["docker", "kind", "kubectl", "helm"].into_iter().filter(|t| !on_path(t)).collect();
    if !missing.is_empty() {
        println!("e2e skipped: {} not found on PATH", missing.join(", "));
        return;
    }
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../e2e/run.sh");
    let status = Command::new("bash").arg(script).status().expect("run e2e/run.sh");
    assert!(status.success(), "e2e/run.sh failed");
}
