//! What a voter marked in one contest, by choice index, validated against the contest.

use crate::choices::{self, ChoiceKind};
use crate::error::{BallotError, Result};
use crate::manifest::{Contest, ContestKind};

/// Longest write-in name, in UTF-8 bytes (it must fit one plaintext of the smallest production key with room).
pub const MAX_WRITE_IN_BYTES: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// A single-choice contest: one choice index; a name when the choice is the write-in.
    Single { choice: usize, write_in: Option<String> },
    /// A multi-choice contest: the marked option indices.
    Multi { options: Vec<usize> },
}

impl Selection {
    /// Builds a selection from choice ids as a CSV or a voter's client names them: one id for a single-choice
    /// contest (`pan`, `pan+pri`, `write-in`, `blank`, `null`), any number for a multi-choice contest.
    pub fn from_ids(contest: &Contest, ids: &[&str], write_in: Option<String>) -> Result<Self> {
        let index = |id: &str| {
            choices::choice_index(contest, id).ok_or_else(|| BallotError::InvalidSelection {
                contest: contest.id.clone(),
                reason: format!("unknown choice {id:?}"),
            })
        };
        let selection = match contest.kind {
            ContestKind::SingleChoice => match ids {
                [id] => Selection::Single { choice: index(id)?, write_in },
                _ => {
                    return Err(BallotError::InvalidSelection {
                        contest: contest.id.clone(),
                        reason: format!("a single-choice contest takes exactly one choice, got {}", ids.len()),
                    });
                }
            },
            ContestKind::MultiChoice => {
                Selection::Multi { options: ids.iter().map(|id| index(id)).collect::<Result<_>>()? }
            }
        };
        selection.validate(contest)?;
        Ok(selection)
    }

    /// Checks the selection against the contest: index ranges, write-in name presence and size, the number of
    /// marked options, no option marked twice.
    pub fn validate(&self, contest: &Contest) -> Result<()> {
        let err = |reason: String| Err(BallotError::InvalidSelection { contest: contest.id.clone(), reason });
        let all = choices::choices(contest);
        match (self, contest.kind) {
            (Selection::Single { choice, write_in }, ContestKind::SingleChoice) => {
                let Some(c) = all.get(*choice) else {
                    return err(format!("choice {choice} is not in 0..{}", all.len()));
                };
                match (c.kind == ChoiceKind::WriteIn, write_in) {
                    (true, None) => err("the write-in choice needs a name".into()),
                    (false, Some(_)) => err("a name is only given with the write-in choice".into()),
                    (true, Some(name)) if name.is_empty() || name.len() > MAX_WRITE_IN_BYTES => {
                        err(format!("a write-in name has 1 to {MAX_WRITE_IN_BYTES} bytes"))
                    }
                    _ => Ok(()),
                }
            }
            (Selection::Multi { options }, ContestKind::MultiChoice) => {
                let min = contest.min_selections.unwrap_or(0) as usize;
                let max = contest.max_selections.unwrap_or(1) as usize;
                if let Some(o) = options.iter().find(|&&o| o >= all.len()) {
                    return err(format!("option {o} is not in 0..{}", all.len()));
                }
                let mut sorted = options.clone();
                sorted.sort_unstable();
                sorted.dedup();
                if sorted.len() != options.len() {
                    return err("an option is marked twice".into());
                }
                if !(min..=max).contains(&options.len()) {
                    return err(format!("{} options marked, allowed {min} to {max}", options.len()));
                }
                Ok(())
            }
            _ => err("selection kind does not match the contest kind".into()),
        }
    }
}
