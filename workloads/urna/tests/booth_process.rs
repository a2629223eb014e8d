//! `urna booth collect --vote` as a process, killed with SIGKILL while it bridges booth ballots and
//! restarted on its data: with the broker, the booths, the booth vote service, a real shard and a real audit
//! log in the test process, every ballot cast on a booth is recorded, tallied and logged exactly once.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

mod support;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use urna_ballot::{Contest, ElectionManifest, Selection};
use urna_booth::ballot::BallotMachine;
use urna_booth::{Backoff, Booth, BoothConfig, Endpoint};
use urna_broker::pki::FleetCa;
use urna_broker::{AdminAuth, Broker, BrokerConfig};
use urna_crypto::blind::{BlindKeySize, BlindSigningKey};
use urna_crypto::paillier::{KeySize, generate_keypair};
use urna_vote::client::VoterClient;
use urna_vote::credential::{hash_credential, insecure_fast_params};
use urna_vote::mesa::MesaRegistry;
use urna_vote::mesa_file::{Mesa, token_sha256};
use urna_vote::{ShardMap, VoteConfig, VoteService};

const URNA: &str = env!("CARGO_BIN_EXE_urna");
const FLEET: &str = "f";
const BALLOTS: usize = 12;

struct Killed(Child);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn manifest() -> ElectionManifest {
    ElectionManifest::single_district(
        "booth-proc",
        "town",
        vec![Contest::single_choice("mayor", &["town"], &["a", "b"], true)],
    )
}

fn voter_id(i: usize) -> String {
    format!("{:064x}", 7000 + i)
}

fn collector(ca_dir: &Path, data: &Path, broker: &Broker, vote_url: &str, token_file: &Path) -> Killed {
    let child = Command::new(URNA)
        .args(["booth", "collect", "--fleet", FLEET, "--client-id", urna_broker::DEFAULT_BACKEND])
        .args(["--broker", &broker.mqtt_addr.to_string(), "--vote", vote_url])
        .arg("--tls-dir")
        .arg(ca_dir)
        .arg("--data")
        .arg(data)
        .arg("--bridge-token-file")
        .arg(token_file)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Killed(child)
}

async fn wait_for(what: &str, mut done: impl AsyncFnMut() -> bool) {
    for _ in 0..1200 {
        if done().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting for {what}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn booth_ballots_survive_a_killed_collector_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = urna_crypto::os_rng();
    let (pk, _sk) = generate_keypair(KeySize::InsecureTest1024, &mut rng).unwrap();
    let manifest = manifest();

    // A real shard and audit log for the booth modality.
    let shard_url =
        support::shard(&dir.path().join("shard"), "town-booth", &["town"], urna_tally::Modality::Booth, &manifest, &pk)
            .await;
    let audit_url = support::audit_log(&dir.path().join("audit.redb"), "audit.test/booth").await;

    // The booth vote service: one mesa with two booths, a census of BALLOTS voters.
    let devices = ["town-1-1", "town-1-2"];
    let mesa = Mesa {
        id: "town-1".into(),
        district: "town".into(),
        token_sha256: token_sha256("console"),
        booths: devices.iter().map(|d| (*d).to_owned()).collect(),
        members: vec![],
    };
    let mut shards = ShardMap::new();
    shards.insert("town", urna_status::Modality::Booth, &shard_url);
    let signing = BlindSigningKey::generate_safe(BlindKeySize::InsecureTest1024, &mut rng).unwrap();
    let mut config =
        VoteConfig::new(manifest.clone(), pk.clone(), signing, dir.path().join("vote"), shards, audit_url.clone());
    config.modality = "booth".parse().unwrap();
    config.mesas = MesaRegistry::new(vec![mesa], &manifest).unwrap();
    config.bridge_token = Some("bridge-secret".into());
    config.internal_token = Some(urna_auth::Token::new(support::INTERNAL_TOKEN).unwrap());
    let service = VoteService::open(config).unwrap();
    let mut census = String::from("voterIdHash,district,credentialHash\n");
    for i in 0..BALLOTS {
        let h = hash_credential("unused", Some(insecure_fast_params()), &mut rng).unwrap();
        census.push_str(&format!("{},town,{}\n", voter_id(i), urna_vote::census::csv_field(&h)));
    }
    service.import_census(census.as_bytes()).unwrap();
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let vote_url = format!("http://{}", l.local_addr().unwrap());
    tokio::spawn(service.serve(l, std::future::pending()));
    let vote = VoterClient::new(&vote_url);

    // The broker, the booths and the collector's certificate.
    let ca = FleetCa::new(FLEET).unwrap();
    let server = ca.server(&["localhost"]).unwrap();
    let tls = server.server_tls().unwrap();
    let broker = Broker::start(BrokerConfig::new(FLEET, tls, AdminAuth::InsecureNoAuth)).await.unwrap();
    let backend = ca.client(urna_broker::DEFAULT_BACKEND).unwrap();
    let tls_dir = dir.path().join("backend-tls");
    std::fs::create_dir_all(&tls_dir).unwrap();
    std::fs::write(tls_dir.join("ca.crt"), &backend.ca_pem).unwrap();
    std::fs::write(tls_dir.join("tls.crt"), &backend.cert_pem).unwrap();
    std::fs::write(tls_dir.join("tls.key"), &backend.key_pem).unwrap();
    let token_file = dir.path().join("bridge.token");
    std::fs::write(&token_file, "bridge-secret\n").unwrap();
    let mut booths = Vec::new();
    for d in devices {
        let c = ca.client(d).unwrap();
        let tls = c.client_tls().unwrap();
        let mut cfg =
            BoothConfig::new(FLEET, d, Endpoint { addr: broker.mqtt_addr, server_name: "localhost".into(), tls });
        cfg.backoff = Backoff { min: Duration::from_millis(50), max: Duration::from_millis(500) };
        cfg.resend_after = Duration::from_millis(700);
        booths.push(Booth::start(cfg, &dir.path().join(format!("{d}.redb"))).unwrap());
    }
    let machine = Arc::new(BallotMachine::new(manifest.clone(), pk.clone(), "town").unwrap());
    let cast = async |i: usize| {
        vote.admit("town-1", "console", &voter_id(i)).await.unwrap();
        let choice = Selection::Single { choice: i % 2, write_in: None };
        booths[i % 2].vote(&machine, vec![("mayor".into(), choice)]).await.unwrap();
    };
    let recorded = async || vote.status(0).await.unwrap().ballots_recorded;
    // Recorded, and acknowledged by the shard and the audit log.
    let settled = async || {
        let s = vote.status(0).await.unwrap();
        s.ballots_recorded == BALLOTS as u64 && s.ballots_pending == 0
    };

    // Half the ballots; SIGKILL the collector as soon as some are recorded.
    let data = dir.path().join("collector");
    let mut running = collector(&tls_dir, &data, &broker, &vote_url, &token_file);
    for i in 0..BALLOTS / 2 {
        cast(i).await;
    }
    wait_for("a first recorded booth ballot", async || recorded().await >= 2).await;
    running.0.kill().unwrap();
    running.0.wait().unwrap();

    // The other half while no collector runs: the booths keep them; then a collector on the same data.
    for i in BALLOTS / 2..BALLOTS {
        cast(i).await;
    }
    let _restarted = collector(&tls_dir, &data, &broker, &vote_url, &token_file);
    wait_for("every ballot recorded, tallied and logged", settled).await;
    wait_for("every booth outbox acknowledged", async || {
        booths.iter().all(|b| b.status().map(|s| s.pending == 0).unwrap_or(false))
    })
    .await;

    let status = vote.status(0).await.unwrap();
    assert_eq!((status.rights_issued, status.ballots_recorded, status.ballots_pending), (12, 12, 0));
    let tally = urna_tally::TallyClient::new(shard_url.as_str()).status().await.unwrap();
    assert_eq!(tally.accepted, BALLOTS as u64, "each booth ballot tallied once");
    // A little longer: nothing more arrives from a late replay.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(vote.status(0).await.unwrap().ballots_recorded, BALLOTS as u64);
}
