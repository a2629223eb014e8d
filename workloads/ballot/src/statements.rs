//! The proof statements of one encrypted contest, shared by the prover and the verifier so that both derive
//! the same ciphertext tuples, allowed values and labels from the layout.
//!
//! Proof labels (the suffix of the proof context's contest id, `<contest>/<label>`):
//! - single-choice, one chunk: `choice`;
//! - single-choice, chunked: `chunk/<c>` for each chunk, then `used-total`;
//! - multi-choice: `option/<j>` for each option, then `selection-count`;
//! - the write-in name's knowledge proof: `write-in`.

use urna_crypto::paillier::{Ciphertext, Plaintext, PublicKey};

use crate::encrypted::EncryptedContest;
use crate::error::{BallotError, Result};
use crate::layout::ContestLayout;

pub(crate) const WRITE_IN_LABEL: &str = "write-in";

/// One statement to prove: a label and the allowed plaintext tuples.
pub(crate) struct StatementShape {
    pub label: String,
    pub allowed: Vec<Vec<Plaintext>>,
}

/// `M^i + M^count_slot` as a plaintext.
pub(crate) fn one_hot(slot_bits: u32, index: usize, count_slot: usize) -> Result<Plaintext> {
    let mut slots = vec![0u64; count_slot + 1];
    slots[index] = 1;
    slots[count_slot] += 1;
    Ok(Plaintext::from_slots(slot_bits, &slots)?)
}

/// The statements of a contest with this layout, in proof order.
pub(crate) fn shapes(layout: &ContestLayout, slot_bits: u32) -> Result<Vec<StatementShape>> {
    let mut out = Vec::new();
    match layout {
        ContestLayout::SingleChoice { choices, chunks } if chunks.len() == 1 => {
            let allowed = (0..*choices).map(|j| Ok(vec![one_hot(slot_bits, j, *choices)?])).collect::<Result<_>>()?;
            out.push(StatementShape { label: "choice".into(), allowed });
        }
        ContestLayout::SingleChoice { chunks, .. } => {
            for (c, chunk) in chunks.iter().enumerate() {
                let mut allowed = vec![vec![Plaintext::zero(), Plaintext::zero()]];
                for i in 0..chunk.len {
                    allowed.push(vec![one_hot(slot_bits, i, chunk.len)?, Plaintext::from_u64(1)]);
                }
                out.push(StatementShape { label: format!("chunk/{c}"), allowed });
            }
            out.push(StatementShape { label: "used-total".into(), allowed: vec![vec![Plaintext::from_u64(1)]] });
        }
        ContestLayout::MultiChoice { options, min, max } => {
            let unmarked = Plaintext::from_slots(slot_bits, &[0, 1])?;
            let marked = Plaintext::from_slots(slot_bits, &[1, 1])?;
            for j in 0..*options {
                out.push(StatementShape {
                    label: format!("option/{j}"),
                    allowed: vec![vec![unmarked.clone()], vec![marked.clone()]],
                });
            }
            let k = *options as u64;
            let allowed = (*min..=*max)
                .map(|s| Ok(vec![Plaintext::from_slots(slot_bits, &[u64::from(s), k])?]))
                .collect::<Result<_>>()?;
            out.push(StatementShape { label: "selection-count".into(), allowed });
        }
    }
    Ok(out)
}

/// The ciphertext tuple of each statement, after checking the contest carries the right number of
/// ciphertexts. Sums (`used-total`, `selection-count`) are computed homomorphically here.
pub(crate) fn ciphertext_tuples(
    pk: &PublicKey,
    layout: &ContestLayout,
    enc: &EncryptedContest,
) -> Result<Vec<Vec<Ciphertext>>> {
    let wrong = |reason: String| Err(BallotError::InvalidBallot { contest: enc.contest_id.clone(), reason });
    let positions = layout.positions();
    if enc.ciphertexts.len() != positions {
        return wrong(format!("{} ciphertexts, the layout has {positions}", enc.ciphertexts.len()));
    }
    let expected_used = if layout.is_chunked() { positions } else { 0 };
    if enc.used.len() != expected_used {
        return wrong(format!("{} used ciphertexts, expected {expected_used}", enc.used.len()));
    }
    let mut out = Vec::new();
    match layout {
        ContestLayout::SingleChoice { .. } if !layout.is_chunked() => out.push(vec![enc.ciphertexts[0].clone()]),
        ContestLayout::SingleChoice { .. } => {
            for (c, u) in enc.ciphertexts.iter().zip(&enc.used) {
                out.push(vec![c.clone(), u.clone()]);
            }
            out.push(vec![pk.add_all(&Ciphertext::identity(), &enc.used)]);
        }
        ContestLayout::MultiChoice { .. } => {
            out.extend(enc.ciphertexts.iter().map(|c| vec![c.clone()]));
            out.push(vec![pk.add_all(&Ciphertext::identity(), &enc.ciphertexts)]);
        }
    }
    Ok(out)
}
