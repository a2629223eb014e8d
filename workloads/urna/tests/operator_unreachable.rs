//! `urna operator` without a reachable cluster (issue 3, item 8): the real binary exits non-zero with one
//! line on stderr naming the endpoint or kubeconfig it tried.

use std::process::{Command, Output};

fn operator(kubeconfig: &std::path::Path, home: &std::path::Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_urna"))
        .args(["operator", "--no-leader-election", "--listen", "127.0.0.1:0"])
        .env("KUBECONFIG", kubeconfig)
        .env("HOME", home)
        .env_remove("KUBERNETES_SERVICE_HOST")
        .env_remove("KUBERNETES_SERVICE_PORT")
        .output()
        .expect("run urna operator")
}

fn one_line(out: &Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line on stderr: {stderr:?}");
    stderr
}

#[test]
fn unreachable_apiserver_is_one_line_naming_the_endpoint() {
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = dir.path().join("kubeconfig");
    // Port 1 on loopback: nothing listens there, so the connection is refused at once.
    std::fs::write(
        &kubeconfig,
        "apiVersion: v1\nkind: Config\nclusters:\n- name: nowhere\n  cluster:\n    server: https://127.0.0.1:1\n\
         contexts:\n- name: nowhere\n  context:\n    cluster: nowhere\n    user: nobody\n\
         current-context: nowhere\nusers:\n- name: nobody\n  user:\n    token: not-a-token\n",
    )
    .expect("write kubeconfig");
    let out = operator(&kubeconfig, dir.path());
    assert!(!out.status.success(), "must fail: {out:?}");
    let line = one_line(&out);
    assert!(line.contains("127.0.0.1:1"), "names the endpoint: {line}");
    assert!(line.contains(&kubeconfig.display().to_string()), "names the kubeconfig: {line}");
}

#[test]
fn missing_kubeconfig_is_one_line_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let kubeconfig = dir.path().join("does-not-exist");
    let out = operator(&kubeconfig, dir.path());
    assert!(!out.status.success(), "must fail: {out:?}");
    let line = one_line(&out);
    assert!(line.contains(&kubeconfig.display().to_string()), "names the kubeconfig: {line}");
}
