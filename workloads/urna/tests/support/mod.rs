//! What the process tests run beside the binary under test: a real tally shard and a real audit log,
//! served from the test process on 127.0.0.1 until it ends; and the binary itself, started and killed.

#![allow(dead_code, clippy::unwrap_used)] // each test file uses part of it; a panic is the failure report

use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use tokio::net::TcpListener;
use urna_ballot::ElectionManifest;
use urna_crypto::paillier::PublicKey;
use urna_tally::Modality;

/// The internal token of every election the process tests run: the in-process shards and logs below ask
/// for it, and the binaries are given it through [`internal_token_file`].
pub const INTERNAL_TOKEN: &str = "process-test-internal-token";

pub fn internal_auth() -> urna_auth::ServiceAuth {
    urna_auth::ServiceAuth::Token(urna_auth::Token::new(INTERNAL_TOKEN).unwrap())
}

/// Writes [`INTERNAL_TOKEN`] to `dir/internal.token` (as the operator mounts its Secret); returns the path.
pub fn internal_token_file(dir: &Path) -> String {
    let path = dir.join("internal.token");
    std::fs::write(&path, format!("{INTERNAL_TOKEN}\n")).unwrap();
    path.display().to_string()
}

/// Starts shard `name` for `districts` × `modality` on `dir`; returns its base URL.
pub async fn shard(
    dir: &Path,
    name: &str,
    districts: &[&str],
    modality: Modality,
    manifest: &ElectionManifest,
    key: &PublicKey,
) -> String {
    let config = urna_tally::ShardConfig::new(name, districts.iter().map(|d| (*d).to_owned()).collect(), modality, dir);
    let shard = urna_tally::Shard::open(config, manifest.clone(), key.clone()).unwrap();
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    std::mem::forget(shard.start(l, internal_auth()).await.unwrap()); // serves until the test process ends
    url
}

/// Starts an audit log on `path` with a short batch wait; returns its base URL.
pub async fn audit_log(path: &Path, origin: &str) -> String {
    let mut config = urna_audit::LogConfig::new(origin);
    config.batch_wait = Duration::from_millis(20);
    audit_log_with(path, config).await
}

/// Starts an audit log on `path` with `config`; returns its base URL.
pub async fn audit_log_with(path: &Path, config: urna_audit::LogConfig) -> String {
    audit_log_signed_by(path, urna_audit::LogKey::generate().unwrap(), config).await
}

/// Starts an audit log on `path` signing with `key`; returns its base URL.
pub async fn audit_log_signed_by(path: &Path, key: urna_audit::LogKey, config: urna_audit::LogConfig) -> String {
    let log = urna_audit::AuditLog::open(path, key, config).unwrap();
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    tokio::spawn(log.serve(l, internal_auth(), std::future::pending()));
    url
}

/// A child process killed (and reaped) when the test lets go of it, however the test ends.
pub struct Killed(pub Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `urna` with `args` and waits for the first line it prints, `{"listening": ADDR}`; returns the
/// process and `http://ADDR`.
pub async fn spawn_listening<I, S>(args: I) -> (Killed, String)
where
    I: IntoIterator<Item = S>,
    S: AsRef<OsStr>,
{
    let mut command = Command::new(env!("CARGO_BIN_EXE_urna"));
    command.args(args);
    let (child, first) = spawn_announcing(command).await;
    let addr = first["listening"].as_str().unwrap().to_owned();
    (child, format!("http://{addr}"))
}

/// Starts `command` (its stdout piped, its stderr dropped) and waits for the JSON line it prints first
/// once it listens; returns the process and that line.
pub async fn spawn_announcing(mut command: Command) -> (Killed, serde_json::Value) {
    let mut child = Killed(command.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap());
    let stdout = child.0.stdout.take().unwrap();
    let line = tokio::task::spawn_blocking(move || {
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).unwrap();
        line
    })
    .await
    .unwrap();
    let first = serde_json::from_str(&line).unwrap_or_else(|err| panic!("urna did not start ({err}): {line:?}"));
    (child, first)
}

/// A bare HTTP/1.1 request with no body (the binaries under test speak plain HTTP on their status ports),
/// with `Authorization: Bearer TOKEN` when a token is given; returns the status code and the body.
pub async fn http(addr: &str, method: &str, path: &str, token: Option<&str>) -> (u16, String) {
    let r = urna_testkit::Request::new(method, path)
        .bearer(token)
        .timeout(Duration::from_secs(30))
        .send_async(addr)
        .await
        .unwrap();
    (r.status, r.text())
}

/// A booth election's files on `dir`, as the operator would mount them for the booth vote service: one
/// district with one two-choice contest, the voting key (test size), the voting-right signing key, and a
/// census of `voters` voters (ids counted from `first_voter`) whose credentials are never used (booth voters
/// are admitted by their mesa).
pub struct BoothElection {
    pub manifest: ElectionManifest,
    pub public_key: PublicKey,
    pub manifest_path: std::path::PathBuf,
    pub public_key_path: std::path::PathBuf,
    pub signing_key_path: std::path::PathBuf,
    pub census_path: std::path::PathBuf,
    pub voters: Vec<String>,
}

impl BoothElection {
    pub fn write(dir: &Path, election: &str, district: &str, contest: &str, first_voter: usize) -> Self {
        use urna_crypto::blind::{BlindKeySize, BlindSigningKey};
        use urna_crypto::paillier::{KeySize, generate_keypair};
        let mut rng = urna_crypto::os_rng();
        let (public_key, _) = generate_keypair(KeySize::InsecureTest1024, &mut rng).unwrap();
        let blind = BlindSigningKey::generate_safe(BlindKeySize::InsecureTest1024, &mut rng).unwrap();
        let mut manifest = ElectionManifest::single_district(
            election,
            district,
            vec![urna_ballot::Contest::single_choice(contest, &[district], &["a", "b"], true)],
        );
        manifest.slot_bits = 16;
        let voters: Vec<String> = (0..3).map(|i| format!("{:064x}", first_voter + i)).collect();
        let mut census = String::from("voterIdHash,district,credentialHash\n");
        for v in &voters {
            let params = Some(urna_vote::credential::insecure_fast_params());
            let h = urna_vote::credential::hash_credential("unused", params, &mut rng).unwrap();
            census.push_str(&format!("{v},{district},{}\n", urna_vote::census::csv_field(&h)));
        }
        Self {
            manifest_path: write(dir, "manifest.json", &serde_json::to_string(&manifest).unwrap()),
            public_key_path: write(dir, "public.json", &serde_json::to_string(&public_key).unwrap()),
            signing_key_path: write(dir, "signing.pem", &blind.to_pkcs8_pem().unwrap()),
            census_path: write(dir, "census.csv", &census),
            manifest,
            public_key,
            voters,
        }
    }
}

/// Writes `text` to `dir/name`; returns the path.
pub fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p
}
