//! The deterministic choice numbering of PROTOCOL §2: every party alone in ballot order, then for every
//! coalition each subset of two or more of its parties in increasing binary order (bit `i` set = the
//! coalition's `i`-th party marked), then write-in, blank, null. Multi-choice contests number their options in
//! ballot order.

use crate::manifest::{Contest, ContestKind};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ChoiceKind {
    Party,
    CoalitionSubset,
    WriteIn,
    Blank,
    Null,
    Option,
}

/// One numbered choice of a contest.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Choice {
    /// Position in the numbering, `0..K`.
    pub index: usize,
    /// The id a voter or a CSV names it by: a party id, the marked party ids of a coalition joined by `+`
    /// (`pan+pri`), `write-in`, `blank`, `null`, or a multi-choice option id.
    pub id: String,
    /// A human-readable label.
    pub label: String,
    pub kind: ChoiceKind,
}

pub const WRITE_IN: &str = "write-in";
pub const BLANK: &str = "blank";
pub const NULL: &str = "null";

/// The numbered choices of a (validated) contest.
pub fn choices(contest: &Contest) -> Vec<Choice> {
    let mut out = Vec::new();
    let mut push = |id: String, label: String, kind| {
        let index = out.len();
        out.push(Choice { index, id, label, kind });
    };
    match contest.kind {
        ContestKind::MultiChoice => {
            for o in &contest.options {
                push(o.id.clone(), o.name.clone(), ChoiceKind::Option);
            }
        }
        ContestKind::SingleChoice => {
            for p in &contest.parties {
                push(p.id.clone(), p.name.clone(), ChoiceKind::Party);
            }
            for co in &contest.coalitions {
                for mask in 1u32..(1u32 << co.parties.len()) {
                    if mask.count_ones() < 2 {
                        continue;
                    }
                    let marked: Vec<&str> = co
                        .parties
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| mask & (1 << i) != 0)
                        .map(|(_, p)| p.as_str())
                        .collect();
                    let names: Vec<&str> = marked
                        .iter()
                        .map(|id| contest.parties.iter().find(|p| p.id == *id).map_or(*id, |p| p.name.as_str()))
                        .collect();
                    push(marked.join("+"), format!("{} ({})", names.join(" + "), co.name), ChoiceKind::CoalitionSubset);
                }
            }
            if contest.write_in {
                push(WRITE_IN.into(), "Write-in".into(), ChoiceKind::WriteIn);
            }
            if contest.blank {
                push(BLANK.into(), "Blank".into(), ChoiceKind::Blank);
            }
            if contest.null {
                push(NULL.into(), "Null".into(), ChoiceKind::Null);
            }
        }
    }
    out
}

/// The index of the choice named `id`. Coalition subsets may name their parties in any order.
pub fn choice_index(contest: &Contest, id: &str) -> Option<usize> {
    let all = choices(contest);
    if let Some(c) = all.iter().find(|c| c.id == id) {
        return Some(c.index);
    }
    let mut wanted: Vec<&str> = id.split('+').collect();
    wanted.sort_unstable();
    all.iter()
        .find(|c| {
            let mut have: Vec<&str> = c.id.split('+').collect();
            have.sort_unstable();
            c.kind == ChoiceKind::CoalitionSubset && have == wanted
        })
        .map(|c| c.index)
}
