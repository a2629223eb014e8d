//! `--votes FILE.csv`: exactly which ballots to cast. Header `voter,district,modality,contest,choice`, one
//! row per selection; a multi-choice contest takes one row per option. Choices are the manifest's ids (a
//! party, candidate option, `blank`, `null`, `write-in`, or a coalition subset such as `pan+prd`). A voter may
//! leave out a multi-choice contest whose minimum is 0 (no selection).

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, bail};
use urna_ballot::choices::{ChoiceKind, choice_index, choices};
use urna_ballot::{ContestKind, ElectionManifest, Selection, contests_for_district};
use urna_tally::Modality;

/// One voter's ballot as the file gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScriptedBallot {
    pub voter: String,
    pub district: String,
    pub modality: Modality,
    /// In the ballot style's contest order.
    pub selections: Vec<(String, Selection)>,
}

const HEADER: [&str; 5] = ["voter", "district", "modality", "contest", "choice"];

pub fn read(path: &Path, manifest: &ElectionManifest, modalities: &[Modality]) -> Result<Vec<ScriptedBallot>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    parse(&text, manifest, modalities).with_context(|| format!("{}", path.display()))
}

pub fn parse(text: &str, manifest: &ElectionManifest, modalities: &[Modality]) -> Result<Vec<ScriptedBallot>> {
    let mut lines = text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty() && !l.starts_with('#'));
    let Some((_, header)) = lines.next() else { bail!("empty file: expected the header {}", HEADER.join(",")) };
    let header: Vec<&str> = header.split(',').map(str::trim).collect();
    if header != HEADER {
        bail!("line 1: header must be {}", HEADER.join(","));
    }
    // voter → (line, district, modality, contest → choice indices)
    type Rows = BTreeMap<String, (usize, String, Modality, BTreeMap<String, Vec<usize>>)>;
    let mut voters: Rows = BTreeMap::new();
    for (i, line) in lines {
        let n = i + 1;
        let f: Vec<&str> = line.split(',').map(str::trim).collect();
        let [voter, district, modality, contest_id, choice] = f[..] else {
            bail!("line {n}: expected 5 fields, found {}", f.len());
        };
        if voter.is_empty() {
            bail!("line {n}: empty voter");
        }
        let modality: Modality = modality.parse().map_err(|e: String| anyhow::anyhow!("line {n}: {e}"))?;
        if !modalities.contains(&modality) {
            bail!("line {n}: the election has no {modality} modality");
        }
        let contests = contests_for_district(manifest, district);
        if !manifest.districts.iter().any(|d| d.id == district) {
            bail!("line {n}: unknown district {district:?}");
        }
        let Some(contest) = contests.iter().find(|c| c.id == contest_id) else {
            bail!("line {n}: contest {contest_id:?} is not on the ballot of district {district:?}");
        };
        let Some(index) = choice_index(contest, choice) else {
            let ids: Vec<String> = choices(contest).into_iter().map(|c| c.id).collect();
            bail!("line {n}: contest {contest_id:?} has no choice {choice:?} (choices: {})", ids.join(", "));
        };
        let entry =
            voters.entry(voter.to_owned()).or_insert_with(|| (n, district.to_owned(), modality, BTreeMap::new()));
        if entry.1 != district || entry.2 != modality {
            bail!("line {n}: voter {voter:?} appears with another district or modality (line {})", entry.0);
        }
        entry.3.entry(contest_id.to_owned()).or_default().push(index);
    }
    let mut out = Vec::with_capacity(voters.len());
    for (voter, (line, district, modality, mut picked)) in voters {
        let mut selections = Vec::new();
        for contest in contests_for_district(manifest, &district) {
            let indices = match picked.remove(&contest.id) {
                Some(indices) => indices,
                // A multi-choice contest that allows no selection may be left out: an empty selection.
                None if contest.kind == ContestKind::MultiChoice && contest.min_selections.unwrap_or(0) == 0 => {
                    Vec::new()
                }
                None => bail!("voter {voter:?} (line {line}): no choice for contest {:?}", contest.id),
            };
            let selection = match contest.kind {
                ContestKind::SingleChoice => {
                    let [choice] = indices[..] else {
                        bail!("voter {voter:?}: {} choices for single-choice contest {:?}", indices.len(), contest.id);
                    };
                    let is_write_in = choices(contest).get(choice).is_some_and(|c| c.kind == ChoiceKind::WriteIn);
                    Selection::Single { choice, write_in: is_write_in.then(|| "Write-In".to_owned()) }
                }
                ContestKind::MultiChoice => {
                    let mut options = indices;
                    options.sort_unstable();
                    options.dedup();
                    Selection::Multi { options }
                }
            };
            selections.push((contest.id.clone(), selection));
        }
        out.push(ScriptedBallot { voter, district, modality, selections });
    }
    Ok(out)
}
