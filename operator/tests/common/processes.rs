//! The `urna` binary as the tests run it: workload processes started with the arguments the operator built.

use serde_json::Value;

/// The `urna` binary beside this test's (`target/<profile>/urna`, built by `cargo test --workspace`); built
/// with cargo when missing.
pub fn urna_bin() -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("test executable");
    let dir = exe.parent().and_then(|d| d.parent()).expect("target directory").to_path_buf();
    let bin = dir.join(format!("urna{}", std::env::consts::EXE_SUFFIX));
    if !bin.exists() {
        let status = std::process::Command::new(env!("CARGO"))
            .args(["build", "-p", "urna", "--bin", "urna"])
            .status()
            .expect("run cargo build");
        assert!(status.success(), "cargo build -p urna failed");
    }
    bin
}

/// A workload process, killed and reaped when dropped.
pub struct Workload(pub std::process::Child);

impl Drop for Workload {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `urna` with a workload container's arguments exactly as the operator built them, every pod path
/// under `root` (the files the pod would have mounted written from `file(flag, pod path)`), on loopback, the
/// window opened now (the example's opens in 2027); returns the process and its base URL.
pub async fn start_workload(
    root: &std::path::Path,
    args: &[String],
    file: impl Fn(&str, &str) -> Option<String>,
) -> (Workload, String) {
    let local = |pod: &str| root.join(pod.trim_start_matches('/'));
    let mut argv = Vec::new();
    let mut it = args.iter().map(|a| a.replace("$(URNA_VOTE_PARTITION)", "0"));
    while let Some(flag) = it.next() {
        argv.push(flag.clone());
        let Some(value) =
            (flag.starts_with("--") && !matches!(flag.as_str(), "--create-key")).then(|| it.next()).flatten()
        else {
            continue;
        };
        let value = match flag.as_str() {
            "--listen" => "127.0.0.1:0".to_owned(),
            "--opens-at" => "2020-01-01T00:00:00Z".to_owned(),
            _ if value.starts_with('/') => {
                let path = local(&value);
                std::fs::create_dir_all(if flag == "--data" { &path } else { path.parent().expect("parent") })
                    .expect("mkdir");
                if let Some(text) = file(&flag, &value) {
                    std::fs::write(&path, text).expect("write mounted file");
                }
                path.display().to_string()
            }
            _ => value,
        };
        argv.push(value);
    }
    let mut child = std::process::Command::new(urna_bin())
        .args(&argv)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start urna");
    let stdout = child.stdout.take().expect("stdout");
    let child = Workload(child);
    // `{"listening": ADDR}` (vote, tally) or `listening on http://ADDR` (audit, after its new public key).
    let listening = |line: &str| {
        serde_json::from_str::<Value>(line)
            .ok()
            .and_then(|v| v["listening"].as_str().map(str::to_owned))
            .or_else(|| line.trim().strip_prefix("listening on http://").map(str::to_owned))
    };
    let (addr, lines) = tokio::task::spawn_blocking(move || {
        let mut lines = Vec::new();
        for line in std::io::BufRead::lines(std::io::BufReader::new(stdout)).take(4) {
            let line = line.expect("read stdout");
            if let Some(addr) = listening(&line) {
                return (Some(addr), lines);
            }
            lines.push(line);
        }
        (None, lines)
    })
    .await
    .expect("join");
    let addr = addr.unwrap_or_else(|| panic!("urna {argv:?} did not start: {lines:?}"));
    (child, format!("http://{addr}"))
}
