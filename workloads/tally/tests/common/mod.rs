//! A small election around the seed's hard cases, a 1024-bit test key, and helpers to run a shard on loopback.
#![allow(dead_code)]
// Tests state their expectations with expect(): a failure names what was expected.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::LazyLock;

use urna_ballot::{
    BallotCodec, Coalition, Contest, ContestKind, ContestOption, District, ElectionManifest, EncryptedBallot, Party,
    Selection,
};
use urna_crypto::paillier::{KeySize, PublicKey, RandomnessPool, SecretKey, generate_keypair};
use urna_tally::{Modality, RunningShard, Shard, ShardConfig, SubmitItem, TallyClient, TotalsRecord};

pub static KEYS: LazyLock<(PublicKey, SecretKey)> =
    LazyLock::new(|| generate_keypair(KeySize::InsecureTest1024, &mut urna_crypto::os_rng()).expect("keygen"));

fn party(id: &str) -> Party {
    Party { id: id.into(), name: id.to_uppercase(), candidate: None }
}

/// 7 parties, two 3-party coalitions, write-in and null: 17 choices, one ciphertext.
pub fn president() -> Contest {
    Contest {
        id: "president".into(),
        title: "President".into(),
        kind: ContestKind::SingleChoice,
        districts: vec!["mx".into()],
        parties: ["pan", "pri", "prd", "pvem", "pt", "morena", "mc"].iter().map(|p| party(p)).collect(),
        coalitions: vec![
            Coalition {
                id: "fc".into(),
                name: "FC".into(),
                candidate: None,
                parties: vec!["pan".into(), "pri".into(), "prd".into()],
            },
            Coalition {
                id: "sh".into(),
                name: "SH".into(),
                candidate: None,
                parties: vec!["pvem".into(), "pt".into(), "morena".into()],
            },
        ],
        options: vec![],
        min_selections: None,
        max_selections: None,
        write_in: true,
        blank: false,
        null: true,
    }
}

/// 10 parties, a 6-party coalition (57 subsets) and null: 68 choices, two chunks at 1024 bits.
pub fn governor() -> Contest {
    Contest {
        id: "governor".into(),
        title: "Governor".into(),
        kind: ContestKind::SingleChoice,
        districts: vec!["chiapas".into()],
        parties: (1..=10).map(|i| party(&format!("p{i}"))).collect(),
        coalitions: vec![Coalition {
            id: "big".into(),
            name: "Big".into(),
            candidate: None,
            parties: (1..=6).map(|i| format!("p{i}")).collect(),
        }],
        options: vec![],
        min_selections: None,
        max_selections: None,
        write_in: false,
        blank: false,
        null: true,
    }
}

/// Choose 1 to 3 of 6.
pub fn board() -> Contest {
    Contest {
        id: "board".into(),
        title: "Board".into(),
        kind: ContestKind::MultiChoice,
        districts: vec!["mx".into()],
        parties: vec![],
        coalitions: vec![],
        options: (0..6)
            .map(|i| ContestOption { id: format!("o{i}"), name: format!("Option {i}"), list: None })
            .collect(),
        min_selections: Some(1),
        max_selections: Some(3),
        write_in: false,
        blank: false,
        null: false,
    }
}

pub fn manifest() -> ElectionManifest {
    ElectionManifest {
        election_id: "mx-2024".into(),
        title: "Test".into(),
        districts: vec![
            District { id: "mx".into(), name: "México".into(), parent: None },
            District { id: "chiapas".into(), name: "Chiapas".into(), parent: Some("mx".into()) },
            District { id: "jalisco".into(), name: "Jalisco".into(), parent: Some("mx".into()) },
        ],
        contests: vec![president(), governor(), board()],
        slot_bits: 20,
    }
}

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
