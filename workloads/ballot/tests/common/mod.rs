//! Manifests of the seed's hard cases, and a small-key election around them (shared by the test files).
#![allow(dead_code)]

use std::sync::LazyLock;

use urna_ballot::{BallotCodec, Coalition, Contest, ContestKind, ContestOption, District, ElectionManifest, Party};
use urna_crypto::paillier::{KeySize, PublicKey, SecretKey, generate_keypair};

pub static KEYS: LazyLock<(PublicKey, SecretKey)> =
    LazyLock::new(|| generate_keypair(KeySize::InsecureTest1024, &mut urna_crypto::os_rng()).expect("keygen"));

fn party(id: &str, name: &str) -> Party {
    Party { id: id.into(), name: name.into(), candidate: None }
}

fn single(id: &str, districts: &[&str], parties: Vec<Party>, coalitions: Vec<Coalition>) -> Contest {
    Contest {
        id: id.into(),
        title: id.into(),
        kind: ContestKind::SingleChoice,
        districts: districts.iter().map(|d| (*d).into()).collect(),
        parties,
        coalitions,
        options: vec![],
        min_selections: None,
        max_selections: None,
        write_in: true,
        blank: false,
        null: true,
    }
}

/// Mexico 2024, president: 3 candidates, 7 parties, two 3-party coalitions, write-in and null (17 choices).
pub fn mexico_president() -> Contest {
    let parties =
        ["pan", "pri", "prd", "pvem", "pt", "morena", "mc"].iter().map(|p| party(p, &p.to_uppercase())).collect();
    let coalitions = vec![
        Coalition {
            id: "fuerza-y-corazon".into(),
            name: "Fuerza y Corazón por México".into(),
            candidate: Some("Candidatura A".into()),
            parties: vec!["pan".into(), "pri".into(), "prd".into()],
        },
        Coalition {
            id: "sigamos-haciendo-historia".into(),
            name: "Sigamos Haciendo Historia".into(),
            candidate: Some("Candidatura B".into()),
            parties: vec!["pvem".into(), "pt".into(), "morena".into()],
        },
    ];
    single("president", &["mx"], parties, coalitions)
}

/// Chiapas 2024, governor: 13 parties, coalitions of 9 and 3 (521 choices): must chunk.
pub fn chiapas_governor() -> Contest {
    let parties: Vec<Party> = (1..=13).map(|i| party(&format!("p{i}"), &format!("Party {i}"))).collect();
    let coalitions = vec![
        Coalition {
            id: "big".into(),
            name: "Nine".into(),
            candidate: None,
            parties: (1..=9).map(|i| format!("p{i}")).collect(),
        },
        Coalition {
            id: "small".into(),
            name: "Three".into(),
            candidate: None,
            parties: (10..=12).map(|i| format!("p{i}")).collect(),
        },
    ];
    single("governor", &["chiapas"], parties, coalitions)
}

/// SVT-style multi-choice: choose 1 to 3 of 6.
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
        contests: vec![mexico_president(), chiapas_governor(), board()],
        slot_bits: 20,
    }
}

pub fn codec() -> BallotCodec {
    BallotCodec::new(manifest(), KEYS.0.clone()).expect("codec")
}
