//! A small election around the seed's hard cases, a 1024-bit test key, and helpers to run a shard on loopback.
#![allow(dead_code)]
// Tests state their expectations with expect(): a failure names what was expected.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::LazyLock;

pub use urna_ballot::testkit::hard_cases_light as manifest;
use urna_ballot::{BallotCodec, ContestKind, ElectionManifest, EncryptedBallot, Selection};
use urna_crypto::paillier::{KeySize, PublicKey, RandomnessPool, SecretKey, generate_keypair};
use urna_tally::{Modality, RunningShard, Shard, ShardConfig, SubmitItem, TallyClient, TotalsRecord};

pub static KEYS: LazyLock<(PublicKey, SecretKey)> =
    LazyLock::new(|| generate_keypair(KeySize::InsecureTest1024, &mut urna_crypto::os_rng()).expect("keygen"));

pub fn codec() -> BallotCodec {
    BallotCodec::new(manifest(), KEYS.0.clone()).expect("codec")
}

pub fn config(dir: &Path) -> ShardConfig {
    ShardConfig::new("chiapas-jalisco-remote", vec!["chiapas".into(), "jalisco".into()], Modality::Remote, dir)
}

pub async fn start(config: ShardConfig) -> (RunningShard, TallyClient) {
    start_with(config, manifest()).await
}

pub async fn start_with(config: ShardConfig, manifest: ElectionManifest) -> (RunningShard, TallyClient) {
    let shard = Shard::open(config, manifest, KEYS.0.clone()).expect("open shard");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let token = urna_auth::Token::generate().expect("token");
    let running = shard.start(listener, urna_auth::ServiceAuth::Token(token.clone())).await.expect("start");
    let client = TallyClient::new(format!("http://{}", running.addr)).with_token(token);
    (running, client)
}

/// A cast ballot and what it should add to the counts.
pub struct Cast {
    pub ballot: EncryptedBallot,
    /// (contest id, per-choice votes this ballot adds)
    pub votes: Vec<(String, Vec<u64>)>,
}

/// Encrypts a deterministic ballot number `k` for `style`.
pub fn cast(codec: &BallotCodec, pool: &RandomnessPool, style: &str, k: usize) -> Cast {
    let mut rng = urna_crypto::os_rng();
    let mut sels: Vec<(&str, Selection)> = Vec::new();
    let mut votes = Vec::new();
    let style_contests = codec.style_contests(style).expect("style");
    for cc in &style_contests {
        let n = cc.choices.len();
        let mut v = vec![0u64; n];
        let sel = match cc.contest.kind {
            ContestKind::SingleChoice => {
                let choice = (k * 7 + 3) % n;
                v[choice] = 1;
                let write_in = (cc.choices[choice].id == "write-in").then(|| format!("Name {k}"));
                Selection::Single { choice, write_in }
            }
            ContestKind::MultiChoice => {
                let mut options = vec![k % n];
                if k.is_multiple_of(2) {
                    options.push((k + 1) % n);
                }
                for o in &options {
                    v[*o] = 1;
                }
                Selection::Multi { options }
            }
        };
        sels.push((cc.contest.id.as_str(), sel));
        votes.push((cc.contest.id.clone(), v));
    }
    let ballot = codec.encrypt_ballot(style, &sels, pool, &mut rng).expect("encrypt");
    Cast { ballot, votes }
}

/// The submission items of a ballot (one per contest), its AnonID being the ballot hash.
pub fn items(ballot: &EncryptedBallot) -> Vec<SubmitItem> {
    let anon = hex::encode(ballot.hash());
    ballot
        .contests
        .iter()
        .map(|c| SubmitItem {
            anon_id: anon.clone(),
            ballot_style: ballot.ballot_style.clone(),
            contest: c.clone(),
            election_id: None,
            modality: None,
        })
        .collect()
}

/// Expected votes per (style, contest).
pub fn expected(casts: &[&Cast]) -> BTreeMap<(String, String), Vec<u64>> {
    let mut out: BTreeMap<(String, String), Vec<u64>> = BTreeMap::new();
    for c in casts {
        for (contest, v) in &c.votes {
            let e = out.entry((c.ballot.ballot_style.clone(), contest.clone())).or_insert_with(|| vec![0; v.len()]);
            for (a, b) in e.iter_mut().zip(v) {
                *a += b;
            }
        }
    }
    out
}

/// Decrypts and decodes every total of the record; returns votes per (style, contest) with nonzero ballots,
/// checking each counter slot against the published count on the way (decode_totals does).
pub fn decrypt(codec: &BallotCodec, record: &TotalsRecord) -> BTreeMap<(String, String), Vec<u64>> {
    let mut out = BTreeMap::new();
    for t in &record.contests {
        let plain: Vec<_> = t.ciphertexts.iter().map(|c| KEYS.1.decrypt(c).expect("decrypt")).collect();
        let result = codec.decode_totals(&t.contest_id, &plain, t.ballots).expect("decode");
        if t.ballots > 0 {
            out.insert((t.ballot_style.clone(), t.contest_id.clone()), result.counts.iter().map(|c| c.votes).collect());
        }
    }
    out
}
