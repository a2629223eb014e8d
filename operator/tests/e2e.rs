//! The kind-based end-to-end suite (`e2e/run.sh`) through cargo. Ignored by default, so a machine without
//! Docker and kind reports it as ignored, with the reason, instead of passing it:
//! `cargo test -p urna-operator --test e2e -- --ignored --nocapture` runs it, and fails if a tool is missing.

use std::path::PathBuf;
use std::process::Command;

fn on_path(tool: &str) -> bool {
    Command::new("sh").arg("-c").arg(format!("command -v {tool}")).output().is_ok_and(|o| o.status.success())
}

#[test]
#[ignore = "kind e2e: needs Docker, kind, kubectl and helm; run with -- --ignored"]
fn kind_e2e_suite() {
    let missing: Vec<_> = ["docker", "kind", "kubectl", "helm"].into_iter().filter(|t| !on_path(t)).collect();
    assert!(missing.is_empty(), "the kind e2e suite needs {} on PATH", missing.join(", "));
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../e2e/run.sh");
    let status = Command::new("bash").arg(script).status();
    assert!(status.as_ref().is_ok_and(|s| s.success()), "e2e/run.sh failed: {status:?}");
}
