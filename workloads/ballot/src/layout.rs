//! How a contest's choices are laid out in Paillier plaintexts (PROTOCOL §2).
//!
//! A plaintext holds `capacity = ⌊(|n| − 1 − SAFETY_MARGIN_BITS) / slotBits⌋` slots of `slotBits` bits, so that
//! a total of up to `2^slotBits − 1` in every slot stays below `n`.
//!
//! - Single-choice, `K + 1 ≤ capacity`: one ciphertext; choice `j` encrypts `M^j + M^K` (slot `K` counts ballots).
//! - Single-choice, larger: the `K` choices are split into the fewest chunks of at most `capacity − 1` choices,
//!   as even as possible (earlier chunks take the remainder); chunk `c` with `K_c` choices encrypts
//!   `M^i + M^(K_c)` for its local choice `i`, or 0 when the choice lies in another chunk.
//! - Multi-choice: one ciphertext per option encrypting `x + M` (`x ∈ {0, 1}` the mark, slot 1 counts ballots).

use urna_crypto::paillier::PublicKey;

use crate::error::{BallotError, Result};
use crate::manifest::{Contest, ContestKind};

/// Bits left free below `|n|` on top of the one bit that keeps every slot total below `n`.
pub const SAFETY_MARGIN_BITS: u32 = 64;

/// Slots one plaintext holds for a modulus of `modulus_bits` bits.
pub fn slot_capacity(modulus_bits: u32, slot_bits: u32) -> usize {
    (modulus_bits.saturating_sub(1 + SAFETY_MARGIN_BITS) / slot_bits.max(1)) as usize
}

/// A run of consecutive choices sharing one ciphertext.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Chunk {
    /// Index of the chunk's first choice in the contest numbering.
    pub first: usize,
    /// Number of choices in the chunk; its counter is slot `len`.
    pub len: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase", tag = "kind")]
pub enum ContestLayout {
    /// Single-choice: one or more chunks (one ciphertext each; more than one adds "used" ciphertexts).
    SingleChoice { choices: usize, chunks: Vec<Chunk> },
    /// Multi-choice: one ciphertext per option, `min..=max` marked.
    MultiChoice { options: usize, min: u32, max: u32 },
}

impl ContestLayout {
    pub fn new(contest: &Contest, choices: usize, pk: &PublicKey, slot_bits: u32) -> Result<Self> {
        let capacity = slot_capacity(pk.modulus_bits(), slot_bits);
        match contest.kind {
            ContestKind::MultiChoice => {
                if capacity < 2 {
                    return Err(too_small(contest, capacity));
                }
                Ok(Self::MultiChoice {
                    options: choices,
                    min: contest.min_selections.unwrap_or(0),
                    max: contest.max_selections.unwrap_or(1),
                })
            }
            ContestKind::SingleChoice => {
                if capacity < 2 {
                    return Err(too_small(contest, capacity));
                }
                let per_chunk = if choices < capacity { choices } else { capacity - 1 };
                let count = choices.div_ceil(per_chunk.max(1));
                let (base, extra) = (choices / count, choices % count);
                let mut chunks = Vec::with_capacity(count);
                let mut first = 0;
                for c in 0..count {
                    let len = base + usize::from(c < extra);
                    chunks.push(Chunk { first, len });
                    first += len;
                }
                Ok(Self::SingleChoice { choices, chunks })
            }
        }
    }

    /// Number of ciphertexts (chunks or options) whose homomorphic totals are decrypted.
    pub fn positions(&self) -> usize {
        match self {
            Self::SingleChoice { chunks, .. } => chunks.len(),
            Self::MultiChoice { options, .. } => *options,
        }
    }

    /// Whether the contest carries "used" ciphertexts (a chunked single-choice contest).
    pub fn is_chunked(&self) -> bool {
        matches!(self, Self::SingleChoice { chunks, .. } if chunks.len() > 1)
    }
}

fn too_small(contest: &Contest, capacity: usize) -> BallotError {
    BallotError::InvalidBallot {
        contest: contest.id.clone(),
        reason: format!("the key holds only {capacity} slots per plaintext; increase the key size or lower slotBits"),
    }
}
