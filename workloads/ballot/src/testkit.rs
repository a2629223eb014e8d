//! Manifests for tests and benchmarks, each written once (feature `testkit`, off by default; crates turn it on
//! in their dev-dependencies). Small and hand-made: the example elections (examples/) are loaded from their
//! YAML through the operator (`urna_operator::examples`), never copied here.

use crate::{Coalition, Contest, ContestKind, ContestOption, District, ElectionManifest, Party};

fn party(id: &str) -> Party {
    Party { id: id.into(), name: id.to_uppercase(), candidate: None }
}

fn coalition<P: Into<String>>(
    id: &str,
    name: &str,
    candidate: Option<&str>,
    parties: impl IntoIterator<Item = P>,
) -> Coalition {
    Coalition {
        id: id.into(),
        name: name.into(),
        candidate: candidate.map(Into::into),
        parties: parties.into_iter().map(Into::into).collect(),
    }
}

/// A single-choice contest in `districts` with write-in and null, no blank.
fn single(id: &str, title: &str, districts: &[&str], parties: Vec<Party>, coalitions: Vec<Coalition>) -> Contest {
    Contest {
        id: id.into(),
        title: title.into(),
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

const MEXICO_PARTIES: [&str; 7] = ["pan", "pri", "prd", "pvem", "pt", "morena", "mc"];

/// Mexico 2024, president, as on the ballot: 7 parties, two 3-party coalitions with their names and
/// candidates, write-in and null (17 choices). Titled with its id.
pub fn mexico_president() -> Contest {
    let coalitions = vec![
        coalition("fuerza-y-corazon", "Fuerza y Corazón por México", Some("Candidatura A"), ["pan", "pri", "prd"]),
        coalition(
            "sigamos-haciendo-historia",
            "Sigamos Haciendo Historia",
            Some("Candidatura B"),
            ["pvem", "pt", "morena"],
        ),
    ];
    single("president", "president", &["mx"], MEXICO_PARTIES.iter().map(|p| party(p)).collect(), coalitions)
}

/// [`mexico_president`]'s choices under short names: coalitions `fc` and `sh` (named FC and SH) without
/// candidates, titled "President" (17 choices, one ciphertext).
pub fn president_short_names() -> Contest {
    let coalitions =
        vec![coalition("fc", "FC", None, ["pan", "pri", "prd"]), coalition("sh", "SH", None, ["pvem", "pt", "morena"])];
    single("president", "President", &["mx"], MEXICO_PARTIES.iter().map(|p| party(p)).collect(), coalitions)
}

/// Chiapas 2024, governor: 13 parties, coalitions of 9 and 3, write-in and null (521 choices): must chunk at
/// every key size. Titled with its id.
pub fn chiapas_governor() -> Contest {
    let parties: Vec<Party> =
        (1..=13).map(|i| Party { id: format!("p{i}"), name: format!("Party {i}"), candidate: None }).collect();
    let coalitions = vec![
        coalition("big", "Nine", None, (1..=9).map(|i| format!("p{i}"))),
        coalition("small", "Three", None, (10..=12).map(|i| format!("p{i}"))),
    ];
    single("governor", "governor", &["chiapas"], parties, coalitions)
}

/// A smaller governor: 10 parties, a 6-party coalition (57 subsets) and null, no write-in (68 choices, two
/// chunks at 1024 bits).
pub fn governor_ten_parties() -> Contest {
    let mut c = single(
        "governor",
        "Governor",
        &["chiapas"],
        (1..=10).map(|i| party(&format!("p{i}"))).collect(),
        vec![coalition("big", "Big", None, (1..=6).map(|i| format!("p{i}")))],
    );
    c.write_in = false;
    c
}

/// SVT-style multi-choice in `mx`: choose 1 to 3 of 6 options.
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

/// `mx` with `chiapas` and `jalisco` below it.
fn mexico_districts() -> Vec<District> {
    vec![
        District { id: "mx".into(), name: "México".into(), parent: None },
        District { id: "chiapas".into(), name: "Chiapas".into(), parent: Some("mx".into()) },
        District { id: "jalisco".into(), name: "Jalisco".into(), parent: Some("mx".into()) },
    ]
}

fn mexico(contests: Vec<Contest>) -> ElectionManifest {
    ElectionManifest {
        election_id: "mx-2024".into(),
        title: "Test".into(),
        districts: mexico_districts(),
        contests,
        slot_bits: 20,
    }
}

/// The seed's hard cases (election `mx-2024`): [`mexico_president`], [`chiapas_governor`] (521 choices) and
/// [`board`].
pub fn hard_cases() -> ElectionManifest {
    mexico(vec![mexico_president(), chiapas_governor(), board()])
}

/// The same election and districts as [`hard_cases`] with lighter contests: [`president_short_names`],
/// [`governor_ten_parties`] (68 choices) and [`board`].
pub fn hard_cases_light() -> ElectionManifest {
    mexico(vec![president_short_names(), governor_ten_parties(), board()])
}

/// One contest in one district (election `bench`): [`president_short_names`] in `mx`.
pub fn president_only() -> ElectionManifest {
    ElectionManifest {
        election_id: "bench".into(),
        title: "Bench".into(),
        districts: vec![District { id: "mx".into(), name: "México".into(), parent: None }],
        contests: vec![president_short_names()],
        slot_bits: 20,
    }
}

/// `city` with `north` and `south` (election `test-2026`): `mayor` (single choice of red, green and blue,
/// with blank and null) everywhere, `council` (1–2 of 4 options) in `north`.
pub fn city() -> ElectionManifest {
    let district = |id: &str, name: &str, parent: Option<&str>| District {
        id: id.into(),
        name: name.into(),
        parent: parent.map(Into::into),
    };
    let mut mayor = single("mayor", "Mayor", &["city"], vec![party("red"), party("green"), party("blue")], vec![]);
    (mayor.write_in, mayor.blank) = (false, true);
    ElectionManifest {
        election_id: "test-2026".into(),
        title: "Test election".into(),
        districts: vec![
            district("city", "City", None),
            district("north", "North", Some("city")),
            district("south", "South", Some("city")),
        ],
        contests: vec![
            mayor,
            Contest {
                id: "council".into(),
                title: "Council".into(),
                kind: ContestKind::MultiChoice,
                districts: vec!["north".into()],
                parties: vec![],
                coalitions: vec![],
                options: (1..=4)
                    .map(|i| ContestOption { id: format!("o{i}"), name: format!("Option {i}"), list: None })
                    .collect(),
                min_selections: Some(1),
                max_selections: Some(2),
                write_in: false,
                blank: false,
                null: false,
            },
        ],
        slot_bits: 20,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_manifest_is_valid() {
        for m in [hard_cases(), hard_cases_light(), president_only(), city()] {
            crate::validate_manifest(&m).unwrap_or_else(|e| panic!("{}: {e}", m.election_id));
        }
    }
}
