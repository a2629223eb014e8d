//! A ballot encrypted and proved on the booth reaches the collector once and verifies there.

use std::time::Duration;

use urna_ballot::{Contest, ElectionManifest, EncryptedBallot, Selection};
use urna_booth::ballot::BallotMachine;
use urna_booth::{Backoff, Booth, BoothConfig, Collector, CollectorConfig, Endpoint};
use urna_broker::pki::FleetCa;
use urna_broker::{AdminAuth, Broker, BrokerConfig};
use urna_crypto::paillier::{KeySize, generate_keypair};

type Res = Result<(), Box<dyn std::error::Error>>;

fn manifest() -> ElectionManifest {
    ElectionManifest::single_district(
        "booth-test",
        "d1",
        vec![Contest::single_choice("mayor", &["d1"], &["a", "b", "c"], true)],
    )
}

#[tokio::test]
async fn ballot_encrypted_on_the_device_arrives_once_and_verifies() -> Res {
    let (pk, _sk) = generate_keypair(KeySize::InsecureTest1024, &mut urna_crypto::os_rng())?;
    let machine = BallotMachine::new(manifest(), pk, "d1")?;

    let ca = FleetCa::new("f")?;
    let server = ca.server(&["localhost"])?;
    let tls = server.server_tls()?;
    let broker = Broker::start(BrokerConfig::new("f", tls, AdminAuth::InsecureNoAuth)).await?;
    let endpoint = |id: &str| -> Result<Endpoint, Box<dyn std::error::Error>> {
        let c = ca.client(id)?;
        let tls = c.client_tls()?;
        Ok(Endpoint { addr: broker.mqtt_addr, server_name: "localhost".into(), tls })
    };
    let backoff = Backoff { min: Duration::from_millis(50), max: Duration::from_millis(500) };
    let dir = tempfile::tempdir()?;
    let collector = Collector::start(
        CollectorConfig {
            fleet: "f".into(),
            client_id: "urna-bridge".into(),
            group: "bridge".into(),
            endpoints: vec![endpoint("urna-bridge")?],
            backoff,
        },
        &dir.path().join("inbox.redb"),
    )?;
    let mut cfg = BoothConfig::new("f", "mesa-9-1", endpoint("mesa-9-1")?);
    cfg.backoff = backoff;
    let booth = Booth::start(cfg, &dir.path().join("booth.redb"))?;

    let seq = booth.vote(&machine, vec![("mayor".into(), Selection::Single { choice: 1, write_in: None })]).await?;
    let mut ballots = Vec::new();
    for _ in 0..1200 {
        let received = collector.inbox.received("mesa-9-1")?;
        ballots = received.into_iter().filter(|e| e.kind == "ballot").collect::<Vec<_>>();
        if !ballots.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(ballots.len(), 1, "exactly one ballot held");
    assert_eq!(ballots[0].seq, seq);
    let ballot: EncryptedBallot = serde_json::from_value(ballots[0].body["ballot"].clone())?;
    machine.codec().verify_ballot(&ballot, &mut urna_crypto::os_rng())?;
    booth.stop().await;
    collector.stop().await;
    Ok(())
}
