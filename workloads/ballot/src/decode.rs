//! Decoding decrypted totals back to per-choice counts, with the counter-slot check of PROTOCOL §2: each
//! total's counter must equal the number of ballots folded into it, which the tally publishes in the clear.

use serde::{Deserialize, Serialize};
use urna_crypto::paillier::Plaintext;

use crate::codec::BallotCodec;
use crate::error::{BallotError, Result};
use crate::layout::ContestLayout;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContestResult {
    pub contest_id: String,
    /// Ballots folded into the totals.
    pub ballots: u64,
    /// Votes per choice, in choice numbering order.
    pub counts: Vec<ChoiceCount>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ChoiceCount {
    /// The choice id (see [`crate::choices::Choice::id`]).
    pub choice: String,
    pub label: String,
    pub votes: u64,
}

impl BallotCodec {
    /// Decodes the decrypted totals of one contest (one plaintext per chunk or option, in layout order) that
    /// `ballots` ballots were folded into.
    pub fn decode_totals(&self, contest_id: &str, totals: &[Plaintext], ballots: u64) -> Result<ContestResult> {
        let cc = self.contest(contest_id)?;
        let bits = self.manifest().slot_bits;
        let bad = |reason: String| Err(BallotError::InvalidTally { contest: contest_id.to_owned(), reason });
        if bits < 64 && ballots >> bits != 0 {
            return bad(format!("{ballots} ballots overflow {bits}-bit slots"));
        }
        if totals.len() != cc.layout.positions() {
            return bad(format!("{} totals for {} positions", totals.len(), cc.layout.positions()));
        }
        let slots = |i: usize, count: usize| -> Result<Vec<u64>> {
            totals[i].to_slots(bits, count).map_err(|e| BallotError::InvalidTally {
                contest: contest_id.to_owned(),
                reason: format!("total {i}: {e}"),
            })
        };
        let mut votes = Vec::with_capacity(cc.choices.len());
        match &cc.layout {
            ContestLayout::SingleChoice { chunks, .. } => {
                let mut counted = 0u64;
                for (c, chunk) in chunks.iter().enumerate() {
                    let s = slots(c, chunk.len + 1)?;
                    let in_chunk: u64 = s[..chunk.len].iter().sum();
                    if in_chunk != s[chunk.len] {
                        return bad(format!("chunk {c}: counter {} but {in_chunk} votes", s[chunk.len]));
                    }
                    counted += s[chunk.len];
                    votes.extend_from_slice(&s[..chunk.len]);
                }
                if counted != ballots {
                    return bad(format!("counter slots say {counted} ballots, the tally folded {ballots}"));
                }
            }
            ContestLayout::MultiChoice { options, .. } => {
                for j in 0..*options {
                    let s = slots(j, 2)?;
                    if s[1] != ballots {
                        return bad(format!("option {j}: counter {} but the tally folded {ballots}", s[1]));
                    }
                    votes.push(s[0]);
                }
            }
        }
        Ok(ContestResult {
            contest_id: contest_id.to_owned(),
            ballots,
            counts: cc
                .choices
                .iter()
                .zip(votes)
                .map(|(c, v)| ChoiceCount { choice: c.id.clone(), label: c.label.clone(), votes: v })
                .collect(),
        })
    }
}
