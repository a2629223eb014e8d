//! Ballot integrity against the real `urna vote` binaries (issue 11): a voting right binds its ballot style
//! and modality, and copied ballots are weeded out.
//!
//! Two vote services share one signing key, as `urna local` runs them: `remote` and `booth`. A voter of `norte`
//! who attaches a genuine `centro` ballot to their right is refused (`wrong_ballot_style`); a remote ballot
//! taken to the booth service is refused (`wrong_modality`); another voter's ballot, whole or one contest of
//! it, submitted under a fresh right is refused (`ciphertext_reused`), while the identical package again only
//! returns its first receipt. The shards count exactly the ballots that were accepted.

#![allow(clippy::unwrap_used)] // tests: a panic is the failure report

mod support;

use std::path::Path;

use urna_ballot::{Contest, District, ElectionManifest, EncryptedBallot};
use urna_crypto::blind::{BlindKeySize, BlindSigningKey, voting_right_info};
use urna_crypto::paillier::{KeySize, generate_keypair};
use urna_vote::client::{Election, Voter, VoterClient, cast, random_selections};
use urna_vote::credential::{hash_credential, insecure_fast_params};
use urna_vote::wire::{BallotPackage, RightRequest};

use support::{Killed, spawn_listening};

fn manifest() -> ElectionManifest {
    let district =
        |id: &str, parent: Option<&str>| District { id: id.into(), name: id.into(), parent: parent.map(str::to_owned) };
    ElectionManifest {
        election_id: "integrity-2027".into(),
        title: "integrity".into(),
        districts: vec![district("city", None), district("norte", Some("city")), district("centro", Some("city"))],
        contests: vec![
            Contest::single_choice("mayor", &["city"], &["a", "b"], false),
            Contest::single_choice("council-norte", &["norte"], &["n1", "n2"], false),
            Contest::single_choice("council-centro", &["centro"], &["c1", "c2"], false),
        ],
        slot_bits: 16,
    }
}

/// Voters 0–2 live in `norte`, voter 3 in `centro`.
fn voter(i: usize) -> Voter {
    Voter { voter_id: format!("{:064x}", 7000 + i), credential: format!("secret-{i}") }
}

fn district_of(i: usize) -> &'static str {
    if i < 3 { "norte" } else { "centro" }
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

struct Services {
    _dir: tempfile::TempDir,
    _remote: Killed,
    _booth: Killed,
    remote: VoterClient,
    booth: VoterClient,
    remote_shard: urna_tally::TallyClient,
}

async fn start() -> Services {
    let dir = tempfile::tempdir().unwrap();
    let mut rng = urna_crypto::os_rng();
    let (pk, _sk) = generate_keypair(KeySize::InsecureTest1024, &mut rng).unwrap();
    let blind = BlindSigningKey::generate_safe(BlindKeySize::InsecureTest1024, &mut rng).unwrap();
    let manifest = manifest();
    let manifest_path = write(dir.path(), "manifest.json", &serde_json::to_string(&manifest).unwrap());
    let pk_path = write(dir.path(), "public.json", &serde_json::to_string(&pk).unwrap());
    let sk_path = write(dir.path(), "signing.pem", &blind.to_pkcs8_pem().unwrap());
    let mut census = String::from("voterIdHash,district,credentialHash\n");
    for i in 0..4 {
        let v = voter(i);
        let h = hash_credential(&v.credential, Some(insecure_fast_params()), &mut rng).unwrap();
        census.push_str(&format!("{},{},{}\n", v.voter_id, district_of(i), urna_vote::census::csv_field(&h)));
    }
    let census_path = write(dir.path(), "census.csv", &census);
    let empty_census = write(dir.path(), "booth-census.csv", "voterIdHash,district,credentialHash\n");
    let audit = support::audit_log(&dir.path().join("audit.redb"), "audit.test/integrity").await;

    let mut spawn = Vec::new();
    let mut shard_urls = Vec::new();
    let internal = support::internal_token_file(dir.path());
    for (modality, census) in
        [(urna_tally::Modality::Remote, &census_path), (urna_tally::Modality::Booth, &empty_census)]
    {
        let m = modality.as_str();
        let shard = support::shard(
            &dir.path().join(format!("shard-{m}")),
            &format!("city-{m}"),
            &["norte", "centro"],
            modality,
            &manifest,
            &pk,
        )
        .await;
        let data = dir.path().join(format!("vote-{m}")).display().to_string();
        let args: Vec<String> = [
            "vote",
            "--manifest",
            &manifest_path,
            "--public-key",
            &pk_path,
            "--signing-key",
            &sk_path,
            "--data",
            &data,
            "--census",
            census,
            "--modality",
            m,
            "--listen",
            "127.0.0.1:0",
            "--shard",
            &format!("norte:{m}={shard}"),
            "--shard",
            &format!("centro:{m}={shard}"),
            "--audit",
            &audit,
            "--rate-limit",
            "0",
            "--internal-token-file",
            &internal,
        ]
        .map(str::to_owned)
        .to_vec();
        spawn.push(spawn_listening(&args).await);
        shard_urls.push(shard);
    }
    let (booth, booth_url) = spawn.pop().unwrap();
    let (remote, remote_url) = spawn.pop().unwrap();
    Services {
        _dir: dir,
        _remote: remote,
        _booth: booth,
        remote: VoterClient::new(&remote_url),
        booth: VoterClient::new(&booth_url),
        remote_shard: urna_tally::TallyClient::new(shard_urls[0].clone()),
    }
}

/// A fresh random ballot of `style`.
async fn ballot(election: &Election, style: &str) -> EncryptedBallot {
    let selections = random_selections(&election.codec, style, &mut urna_crypto::os_rng()).unwrap();
    election.encrypt(style, selections).await.unwrap()
}

/// What a dishonest voter does: obtains their own right (for their own ballot style, at this service's
/// modality, as the service issues it) on whatever ballot they like.
async fn right_on(client: &VoterClient, election: &Election, v: &Voter, ballot: EncryptedBallot) -> BallotPackage {
    let session = client.authenticate(&v.voter_id, &v.credential).await.unwrap();
    let info = voting_right_info(&election.info.election_id, &election.info.modality, &session.ballot_style);
    let key = election.info.blind_key.derive(&info).unwrap();
    let mut rng = urna_crypto::os_rng();
    let prepared = key.prepare(&ballot.hash(), &mut rng);
    let (blinded, secret) = key.blind(&prepared, &mut rng).unwrap();
    let blind_sig =
        client.request_right(&v.voter_id, &session.token, &RightRequest { blinded_message: blinded }).await.unwrap();
    let signature = key.finalize(&prepared, &blind_sig, &secret).unwrap();
    BallotPackage { ballot, prepared_message: prepared, signature }
}

async fn accepted(s: &Services) -> u64 {
    s.remote_shard.status().await.unwrap().accepted
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_right_of_one_district_does_not_carry_a_ballot_of_another() {
    let s = start().await;
    let election = Election::fetch(&s.remote).await.unwrap();
    // A norte voter with a genuine, valid centro ballot (it would be counted in council-centro).
    let centro_ballot = ballot(&election, "centro").await;
    let package = right_on(&s.remote, &election, &voter(0), centro_ballot).await;
    let err = s.remote.submit(&package).await.unwrap_err();
    assert_eq!(err.code(), Some("wrong_ballot_style"), "{err}");
    assert!(err.to_string().contains("norte"), "{err}");
    assert_eq!(accepted(&s).await, 0);
    // The centro voter's own ballot goes through: two contests tallied.
    cast(&s.remote, &election, &voter(3), None).await.unwrap();
    assert_eq!(accepted(&s).await, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_ballot_is_refused_by_the_booth_service() {
    let s = start().await;
    let election = Election::fetch(&s.remote).await.unwrap();
    let own = ballot(&election, "norte").await;
    let package = right_on(&s.remote, &election, &voter(1), own).await;
    // Moved to the other modality's service (same signing key, as `urna local` runs them).
    let err = s.booth.submit(&package).await.unwrap_err();
    assert_eq!(err.code(), Some("wrong_modality"), "{err}");
    assert_eq!(s.booth.status(0).await.unwrap().ballots_recorded, 0);
    // Where it belongs, it counts.
    s.remote.submit(&package).await.unwrap();
    assert_eq!(s.remote.status(0).await.unwrap().ballots_recorded, 1);
    assert_eq!(s.remote.status(0).await.unwrap().rights_by_style.get("norte"), Some(&1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn copied_ballots_are_weeded() {
    let s = start().await;
    let election = Election::fetch(&s.remote).await.unwrap();
    let victim = cast(&s.remote, &election, &voter(0), None).await.unwrap();
    assert_eq!(accepted(&s).await, 2);

    // The exact package again: its first receipt, counted once.
    let again = s.remote.submit(&victim.package).await.unwrap();
    assert_eq!(again.anon_id, victim.anon_id);

    // The same ballot under a fresh right of another voter of the district.
    let copy = right_on(&s.remote, &election, &voter(1), victim.package.ballot.clone()).await;
    let err = s.remote.submit(&copy).await.unwrap_err();
    assert_eq!(err.code(), Some("ciphertext_reused"), "{err}");

    // One contest copied into an otherwise own ballot, under a third voter's right.
    let mut mixed = ballot(&election, "norte").await;
    let at = mixed.contests.iter().position(|c| c.contest_id == "council-norte").unwrap();
    mixed.contests[at] = victim.package.ballot.contests[at].clone();
    let mixed = right_on(&s.remote, &election, &voter(2), mixed).await;
    let err = s.remote.submit(&mixed).await.unwrap_err();
    assert_eq!(err.code(), Some("ciphertext_reused"), "{err}");

    assert_eq!(accepted(&s).await, 2);
    assert_eq!(s.remote.status(0).await.unwrap().ballots_recorded, 1);
}
