//! The election manifest: districts and contests, as election authorities declare them (the `Election`
//! resource embeds these types, so the operator, the workloads and the public verifier read one definition).
//!
//! Contests are a flat structure with a `kind` rather than a Rust enum with data, because Kubernetes CRD
//! schemas must be structural: one object shape, with the kind-specific fields optional and checked by
//! [`crate::validate`].

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// Default width of one counter slot, in bits: `M = 2^20` counts up to 1,048,575 ballots per tally.
pub const DEFAULT_SLOT_BITS: u32 = 20;

/// What every ballot of an election may contain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ElectionManifest {
    /// The election's identifier (bound into every proof).
    pub election_id: String,
    pub title: String,
    /// The district tree.
    pub districts: Vec<District>,
    pub contests: Vec<Contest>,
    /// Bits per counter slot; `2^slotBits` must exceed the number of ballots any single tally can hold.
    #[serde(default = "default_slot_bits")]
    pub slot_bits: u32,
}

pub fn default_slot_bits() -> u32 {
    DEFAULT_SLOT_BITS
}

/// A node of the district tree (country, state, municipality, ...).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct District {
    /// Unique among the election's districts; lowercase letters, digits and `-` (it names Kubernetes objects).
    pub id: String,
    pub name: String,
    /// The enclosing district, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub enum ContestKind {
    /// Exactly one choice: a party, a subset of one coalition's parties, a write-in, blank or null.
    SingleChoice,
    /// Between `minSelections` and `maxSelections` of the options (SVT-style multi-choice).
    MultiChoice,
}

/// One contest (an office, a referendum question, a board election).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Contest {
    /// Unique among the election's contests; lowercase letters, digits and `-`.
    pub id: String,
    pub title: String,
    pub kind: ContestKind,
    /// The districts where the contest is on the ballot (it also applies to their descendants).
    pub districts: Vec<String>,
    /// Single-choice: the parties (or independent candidates) in ballot order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parties: Vec<Party>,
    /// Single-choice: coalitions of two or more of the parties; a voter may mark any subset of one coalition.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub coalitions: Vec<Coalition>,
    /// Multi-choice: the options in ballot order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub options: Vec<ContestOption>,
    /// Multi-choice: the fewest options a valid ballot selects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_selections: Option<u32>,
    /// Multi-choice: the most options a valid ballot selects.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_selections: Option<u32>,
    /// Single-choice: offer a write-in choice (the name is encrypted separately).
    #[serde(default)]
    pub write_in: bool,
    /// Single-choice: offer an explicit blank vote.
    #[serde(default)]
    pub blank: bool,
    /// Single-choice: offer an explicit null (spoilt) vote.
    #[serde(default)]
    pub null: bool,
}

impl Contest {
    /// A single-choice contest among `parties` (their ids double as names), with a blank option and, if
    /// `null`, a null one: the shape of most test and benchmark elections.
    pub fn single_choice(id: &str, districts: &[&str], parties: &[&str], null: bool) -> Self {
        Self {
            id: id.to_owned(),
            title: id.to_owned(),
            kind: ContestKind::SingleChoice,
            districts: districts.iter().map(|d| (*d).to_owned()).collect(),
            parties: parties
                .iter()
                .map(|p| Party { id: (*p).to_owned(), name: (*p).to_owned(), candidate: None })
                .collect(),
            coalitions: vec![],
            options: vec![],
            min_selections: None,
            max_selections: None,
            write_in: false,
            blank: true,
            null,
        }
    }
}

impl ElectionManifest {
    /// An election of one district holding `contests`, with the default counter slots.
    pub fn single_district(election_id: &str, district: &str, contests: Vec<Contest>) -> Self {
        Self {
            election_id: election_id.to_owned(),
            title: election_id.to_owned(),
            districts: vec![District { id: district.to_owned(), name: district.to_owned(), parent: None }],
            contests,
            slot_bits: DEFAULT_SLOT_BITS,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Party {
    /// Unique within the contest.
    pub id: String,
    pub name: String,
    /// The candidate this party nominates, if shown on the ballot.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub candidate: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Coalition {
    /// Unique within the contest (and distinct from its party ids).
    pub id: String,
    pub name: String,
    /// The coalition's common candidate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub candidate: Option<String>,
    /// Two or more party ids, in the coalition's order (which fixes the choice numbering).
    pub parties: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContestOption {
    /// Unique within the contest.
    pub id: String,
    pub name: String,
    /// The list the option belongs to (SVT open lists), for display and reporting.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub list: Option<String>,
}
