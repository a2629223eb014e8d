//! Process-level crash test of `urna tally`: the real binary, real files, real HTTP on 127.0.0.1, and a
//! `kill -9` in the middle of concurrent submissions. After a restart on the same data directory, every
//! acknowledged contest is present exactly once, resubmitting everything that was sent is idempotent, and the
//! sealed totals decrypt to exactly the ballots that were accepted.
#![allow(clippy::unwrap_used)]

use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use urna_ballot::{BallotCodec, ContestKind, ContestOption, District, ElectionManifest, Party, Selection};
use urna_crypto::paillier::{KeySize, RandomnessPool, generate_keypair};
use urna_tally::{ItemStatus, ShardIdentity, SubmitItem, TallyClient};

/// Kills the child process when dropped, so a failing test leaves no shard behind.
struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn manifest() -> ElectionManifest {
    let party = |id: &str| Party { id: id.into(), name: id.to_uppercase(), candidate: None };
    ElectionManifest {
        election_id: "crash-2024".into(),
        title: "Crash test".into(),
        districts: vec![
            District { id: "mx".into(), name: "México".into(), parent: None },
            District { id: "jalisco".into(), name: "Jalisco".into(), parent: Some("mx".into()) },
        ],
        contests: vec![
            urna_ballot::Contest {
                id: "president".into(),
                title: "President".into(),
                kind: ContestKind::SingleChoice,
                districts: vec!["mx".into()],
                parties: ["pan", "pri", "morena", "mc"].iter().map(|p| party(p)).collect(),
                coalitions: vec![],
                options: vec![],
                min_selections: None,
                max_selections: None,
                write_in: false,
                blank: true,
                null: true,
            },
            urna_ballot::Contest {
                id: "board".into(),
                title: "Board".into(),
                kind: ContestKind::MultiChoice,
                districts: vec!["jalisco".into()],
                parties: vec![],
                coalitions: vec![],
                options: (0..4)
                    .map(|i| ContestOption { id: format!("o{i}"), name: format!("O{i}"), list: None })
                    .collect(),
                min_selections: Some(0),
                max_selections: Some(2),
                write_in: false,
                blank: false,
                null: false,
            },
        ],
        slot_bits: 16,
    }
}

/// The election's internal token the shard is started with (through the environment) and the client presents.
const TOKEN: &str = "tally-crash-internal-token";

fn authed_client(url: String) -> TallyClient {
    TallyClient::new(url).with_token(urna_auth::Token::new(TOKEN).unwrap())
}

fn spawn_shard(dir: &Path, verify_on_start: bool) -> (Proc, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_urna"));
    cmd.args(["tally", "--shard", "jalisco-remote", "--districts", "jalisco", "--modality", "remote"])
        .arg("--manifest")
        .arg(dir.join("manifest.json"))
        .arg("--public-key")
        .arg(dir.join("public.json"))
        .arg("--data")
        .arg(dir.join("data"))
        .args(["--listen", "127.0.0.1:0", "--batch-max", "8", "--checkpoint-every", "5"])
        .env("RUST_LOG", "warn")
        .env("URNA_INTERNAL_TOKEN", TOKEN)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
    if verify_on_start {
        cmd.arg("--verify-on-start");
    }
    let mut child = cmd.spawn().expect("spawn urna tally");
    let stdout = child.stdout.take().unwrap();
    let proc = Proc(child);
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).expect("read the listening line");
    let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|e| panic!("{line:?}: {e}"));
    let addr = v["listening"].as_str().expect("listening address").to_owned();
    (proc, format!("http://{addr}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_mid_load_loses_no_acknowledged_contest_and_counts_none_twice() {
    let dir = tempfile::tempdir().unwrap();
    let (pk, sk) = generate_keypair(KeySize::InsecureTest1024, &mut urna_crypto::os_rng()).unwrap();
    std::fs::write(dir.path().join("manifest.json"), serde_json::to_vec(&manifest()).unwrap()).unwrap();
    std::fs::write(dir.path().join("public.json"), serde_json::to_vec(&pk).unwrap()).unwrap();
    let codec = BallotCodec::new(manifest(), pk.clone()).unwrap();
    let pool = RandomnessPool::new(pk.clone());
    pool.fill(160);

    // 80 ballots of two contests each, with known choices.
    let mut rng = urna_crypto::os_rng();
    let mut ballots = Vec::new();
    for k in 0..80usize {
        let president = k % 6; // 4 parties, blank, null
        let board: Vec<usize> = if k.is_multiple_of(3) { vec![] } else { vec![k % 4, (k + 1) % 4] };
        let b = codec
            .encrypt_ballot(
                "jalisco",
                &[
                    ("president", Selection::Single { choice: president, write_in: None }),
                    ("board", Selection::Multi { options: board.clone() }),
                ],
                &pool,
                &mut rng,
            )
            .unwrap();
        let anon = hex::encode(b.hash());
        let items: Vec<SubmitItem> = b
            .contests
            .iter()
            .map(|c| SubmitItem {
                anon_id: anon.clone(),
                ballot_style: "jalisco".into(),
                contest: c.clone(),
                election_id: None,
                modality: None,
            })
            .collect();
        ballots.push((items, president, board));
    }
    let ballots = Arc::new(ballots);

    let (proc, url) = spawn_shard(dir.path(), false);
    let client = authed_client(url);
    let acked: Arc<Mutex<HashMap<(String, String), u64>>> = Arc::default();
    let sent: Arc<Mutex<HashSet<usize>>> = Arc::default();
    let mut tasks = Vec::new();
    for t in 0..6 {
        let (client, ballots, acked, sent) =
            (client.clone(), Arc::clone(&ballots), Arc::clone(&acked), Arc::clone(&sent));
        tasks.push(tokio::spawn(async move {
            for k in (t..ballots.len()).step_by(6) {
                sent.lock().unwrap().insert(k);
                let Ok(r) = client.submit(&ballots[k].0).await else {
                    return;
                };
                for (item, res) in ballots[k].0.iter().zip(&r.items) {
                    assert_eq!(res.status, ItemStatus::Accepted, "{res:?}");
                    acked
                        .lock()
                        .unwrap()
                        .insert((item.anon_id.clone(), item.contest.contest_id.clone()), res.sequence.unwrap());
                }
            }
        }));
    }
    let started = Instant::now();
    while acked.lock().unwrap().len() < 40 {
        assert!(started.elapsed() < Duration::from_secs(120), "too slow to acknowledge");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    drop(proc); // SIGKILL, mid-load
    for t in tasks {
        t.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    let sent: Vec<usize> = {
        let mut s: Vec<usize> = sent.lock().unwrap().iter().copied().collect();
        s.sort();
        s
    };
    assert!(
        sent.len() < ballots.len(),
        "the kill should interrupt the load ({} of {} sent)",
        sent.len(),
        ballots.len()
    );

    // Restart on the same directory, re-deriving everything from the first record.
    let (proc, url) = spawn_shard(dir.path(), true);
    let client = authed_client(url);
    let before = client.status().await.unwrap();
    assert!(
        before.accepted as usize >= acked.len(),
        "acknowledged contests survived: {} < {}",
        before.accepted,
        acked.len()
    );

    // Resubmit every ballot that was sent, acknowledged or not.
    for &k in &sent {
        let r = client.submit(&ballots[k].0).await.unwrap();
        for (item, res) in ballots[k].0.iter().zip(&r.items) {
            let key = (item.anon_id.clone(), item.contest.contest_id.clone());
            match acked.get(&key) {
                Some(seq) => {
                    assert_eq!((res.status, res.sequence), (ItemStatus::Duplicate, Some(*seq)), "acked {key:?}")
                }
                None => assert!(matches!(res.status, ItemStatus::Accepted | ItemStatus::Duplicate), "{res:?}"),
            }
        }
    }

    // Every sent contest exactly once in the log, and the log chains from its genesis.
    let records = client.all_records().await.unwrap();
    assert_eq!(records.len(), sent.len() * 2);
    let keys: HashSet<_> = records.iter().map(|r| (r.anon_id.clone(), r.contest_id.clone())).collect();
    assert_eq!(keys.len(), records.len(), "no contest counted twice");
    let status = client.status().await.unwrap();
    let mut head = ShardIdentity {
        shard: status.shard.clone(),
        election_id: status.election_id.clone(),
        manifest_hash: status.manifest_hash,
        public_key_fingerprint: status.public_key_fingerprint,
        districts: status.districts.clone(),
        modality: status.modality,
        slot_bits: 16,
    }
    .genesis();
    for (i, r) in records.iter().enumerate() {
        assert_eq!(r.sequence, i as u64 + 1);
        head = r.check(&head).unwrap();
    }
    assert_eq!(head, status.log_head.hash);

    // The sealed totals decrypt to exactly the sent ballots.
    let sealed = client.seal().await.unwrap();
    let mut expected: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    expected.insert("president".into(), vec![0; 6]);
    expected.insert("board".into(), vec![0; 4]);
    for &k in &sent {
        expected.get_mut("president").unwrap()[ballots[k].1] += 1;
        for &o in &ballots[k].2 {
            expected.get_mut("board").unwrap()[o] += 1;
        }
    }
    for t in &sealed.contests {
        assert_eq!(t.ballots as usize, sent.len());
        let plain: Vec<_> = t.ciphertexts.iter().map(|c| sk.decrypt(c).unwrap()).collect();
        let result = codec.decode_totals(&t.contest_id, &plain, t.ballots).unwrap();
        let votes: Vec<u64> = result.counts.iter().map(|c| c.votes).collect();
        assert_eq!(&votes, &expected[&t.contest_id], "{}", t.contest_id);
    }
    drop(proc);
}

/// Weeding in the shard (docs/protocol.md §4.9): a contest whose ciphertexts repeat a recorded one is refused
/// under any other AnonID, in the same batch or later, and still after a `kill -9` and a restart, while the
/// identical resubmission stays a duplicate.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_copied_contest_is_refused_before_and_after_a_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let (pk, _sk) = generate_keypair(KeySize::InsecureTest1024, &mut urna_crypto::os_rng()).unwrap();
    std::fs::write(dir.path().join("manifest.json"), serde_json::to_vec(&manifest()).unwrap()).unwrap();
    std::fs::write(dir.path().join("public.json"), serde_json::to_vec(&pk).unwrap()).unwrap();
    let codec = BallotCodec::new(manifest(), pk.clone()).unwrap();
    let pool = RandomnessPool::new(pk.clone());
    let b = codec
        .encrypt_ballot(
            "jalisco",
            &[
                ("president", Selection::Single { choice: 1, write_in: None }),
                ("board", Selection::Multi { options: vec![0] }),
            ],
            &pool,
            &mut urna_crypto::os_rng(),
        )
        .unwrap();
    let item = |anon: &str, c: usize| SubmitItem {
        anon_id: anon.to_owned(),
        ballot_style: "jalisco".into(),
        contest: b.contests[c].clone(),
        election_id: None,
        modality: None,
    };
    let (victim, copier, later) = ("11".repeat(32), "22".repeat(32), "33".repeat(32));

    let (proc, url) = spawn_shard(dir.path(), false);
    let client = authed_client(url);
    // The victim's contest and a copy under another AnonID in one batch: the first is recorded, the copy not.
    let r = client.submit(&[item(&victim, 0), item(&copier, 0)]).await.unwrap();
    assert_eq!(r.items[0].status, ItemStatus::Accepted, "{:?}", r.items[0]);
    assert_eq!(r.items[1].status, ItemStatus::Rejected, "{:?}", r.items[1]);
    assert!(r.items[1].reason.as_deref().unwrap_or_default().contains("copied ballot"), "{:?}", r.items[1]);
    drop(proc); // SIGKILL

    let (_proc, url) = spawn_shard(dir.path(), true);
    let client = authed_client(url);
    let r = client.submit(&[item(&later, 0), item(&victim, 0), item(&victim, 1)]).await.unwrap();
    assert_eq!(r.items[0].status, ItemStatus::Rejected, "the copy after the restart: {:?}", r.items[0]);
    assert!(r.items[0].reason.as_deref().unwrap_or_default().contains(&victim), "{:?}", r.items[0]);
    assert_eq!(r.items[1].status, ItemStatus::Duplicate, "{:?}", r.items[1]);
    assert_eq!(r.items[2].status, ItemStatus::Accepted, "{:?}", r.items[2]);
    assert_eq!(client.status().await.unwrap().accepted, 2);
}
