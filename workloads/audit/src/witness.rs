//! A witness: an outside party that follows a log and cosigns a checkpoint only after checking that it
//! extends every checkpoint the witness cosigned before. A log that shows two histories (a rollback, two roots
//! for one size, or two signed trees that no consistency proof joins) is caught the moment the witness is
//! shown the second: the witness keeps both signed notes as evidence and never cosigns for that log again.
//! Verifiers that require a quorum of independent witnesses' cosignatures on a checkpoint therefore know that
//! every one of those witnesses saw one linear history up to it (docs/protocol.md §6).
//!
//! This module decides; the follower that fetches checkpoints and proofs and posts cosignatures is a thin
//! loop around [`judge`] in `urna witness`.

use serde::{Deserialize, Serialize};

use crate::checkpoint::{CheckpointError, Cosignature, Note, open_checkpoint, validate_name};
use crate::key::LogKey;
use crate::merkle::Hash;
use crate::proof::verify_consistency;

/// The `format` of a witness's state file.
pub const STATE_FORMAT: &str = "urna-witness/1";

/// A witness's memory of one log, kept durably between runs: without it a log could fork while the witness
/// restarts and the witness would never notice.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WitnessState {
    pub format: String,
    /// The log's origin, as pinned when the witness was set up.
    pub origin: String,
    /// The log's Ed25519 public key, as pinned.
    #[serde(with = "hex::serde")]
    pub log_public_key: [u8; 32],
    /// The latest checkpoint this witness verified and cosigned.
    pub last: Option<Seen>,
    /// Set once a fork was seen; from then on nothing is cosigned for this log.
    pub fork: Option<Fork>,
}

/// A checkpoint as the witness keeps it: the full signed note, so that it can be shown to anyone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Seen {
    pub size: u64,
    #[serde(with = "hex::serde")]
    pub root: Hash,
    pub note: String,
}

/// Evidence of a split view: two notes signed by the log's key that cannot both be true.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Fork {
    pub reason: String,
    /// The checkpoint the witness had cosigned.
    pub earlier: Seen,
    /// The checkpoint it was then shown.
    pub later: Seen,
}

/// What the witness does with a checkpoint it is shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The checkpoint extends what was seen: cosign it (the new state records it).
    Cosign { state: WitnessState, cosignature: Cosignature, body: String },
    /// Nothing new since the last cosigned checkpoint.
    Unchanged,
    /// A split view: the new state records the fork, and nothing is cosigned.
    Fork { state: WitnessState },
}

/// Why a checkpoint could not even be judged. None of these is evidence against the log (an unsigned or
/// foreign note proves nothing about it), so the witness reports them and tries again later.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WitnessError {
    #[error("the state file's format is {0:?}, expected {STATE_FORMAT:?}")]
    Format(String),
    #[error("the checkpoint is not a note signed by the log's pinned key: {0}")]
    NotSigned(CheckpointError),
    #[error("the checkpoint names origin {got:?}; this witness follows {pinned:?}")]
    Origin { got: String, pinned: String },
    #[error("this witness already caught log {origin:?} forking ({reason}); it cosigns nothing more for it")]
    Forked { origin: String, reason: String },
    #[error("invalid witness name: {0}")]
    Name(CheckpointError),
}

impl WitnessState {
    /// A witness that has seen nothing of the log yet.
    pub fn new(origin: impl Into<String>, log_public_key: [u8; 32]) -> Self {
        Self { format: STATE_FORMAT.into(), origin: origin.into(), log_public_key, last: None, fork: None }
    }

    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }

    /// The checked size from which the next consistency proof must start, if any.
    pub fn last_size(&self) -> Option<u64> {
        self.last.as_ref().map(|s| s.size)
    }
}

/// Judges the checkpoint `note` the log now serves. `proof` is the log's consistency proof from the last
/// cosigned size to the note's size (ignored when nothing was cosigned yet or the sizes are equal).
pub fn judge(
    state: &WitnessState,
    note: &str,
    proof: &[Hash],
    name: &str,
    key: &LogKey,
) -> Result<Verdict, WitnessError> {
    if state.format != STATE_FORMAT {
        return Err(WitnessError::Format(state.format.clone()));
    }
    validate_name(name).map_err(WitnessError::Name)?;
    if let Some(f) = &state.fork {
        return Err(WitnessError::Forked { origin: state.origin.clone(), reason: f.reason.clone() });
    }
    let cp = open_checkpoint(note, &state.log_public_key).map_err(WitnessError::NotSigned)?;
    if cp.origin != state.origin {
        return Err(WitnessError::Origin { got: cp.origin, pinned: state.origin.clone() });
    }
    let seen = Seen { size: cp.size, root: cp.root, note: note.to_owned() };
    if let Some(last) = &state.last {
        let split = if cp.size < last.size {
            Some(format!("the log went back from size {} to {}", last.size, cp.size))
        } else if cp.size == last.size && cp.root != last.root {
            Some(format!("two different roots for size {}", cp.size))
        } else if cp.size == last.size {
            return Ok(Verdict::Unchanged);
        } else {
            verify_consistency(last.size, cp.size, &last.root, &cp.root, proof)
                .err()
                .map(|e| format!("no consistency proof joins size {} to size {}: {e}", last.size, cp.size))
        };
        if let Some(reason) = split {
            let fork = Fork { reason, earlier: last.clone(), later: seen };
            return Ok(Verdict::Fork { state: WitnessState { fork: Some(fork), ..state.clone() } });
        }
    }
    // The body exactly as the log signed it: that is what verifiers check the cosignature over.
    let body = Note::parse(note).map_err(WitnessError::NotSigned)?.body;
    let cosignature =
        Cosignature { name: name.to_owned(), public_key: key.public_key(), signature: key.sign(body.as_bytes()) };
    Ok(Verdict::Cosign { state: WitnessState { last: Some(seen), ..state.clone() }, cosignature, body })
}

/// A verifier's witness policy: the witnesses it trusts and how many of them must have cosigned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WitnessPolicy {
    pub quorum: u32,
    pub witnesses: Vec<TrustedWitness>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct TrustedWitness {
    pub name: String,
    #[serde(with = "hex::serde")]
    pub public_key: [u8; 32],
}

impl std::str::FromStr for TrustedWitness {
    type Err = String;

    /// `NAME=HEX`: the witness's note name and its Ed25519 public key (64 hex digits), as the command lines
    /// of the log and the vote service take it.
    fn from_str(s: &str) -> Result<Self, String> {
        let (name, key) = s.split_once('=').ok_or("expected NAME=HEX")?;
        crate::checkpoint::validate_name(name).map_err(|e| e.to_string())?;
        let mut public_key = [0u8; 32];
        hex::decode_to_slice(key, &mut public_key).map_err(|_| "the key must be 64 hex characters".to_owned())?;
        Ok(Self { name: name.to_owned(), public_key })
    }
}

impl WitnessPolicy {
    /// A policy of `quorum` of `witnesses`: at least one witness, a quorum from 1 to their number, each name
    /// once.
    pub fn new(quorum: u32, witnesses: Vec<TrustedWitness>) -> Result<Self, String> {
        if witnesses.is_empty() || quorum == 0 || quorum as usize > witnesses.len() {
            return Err(format!("a witness quorum of {quorum} of {} witnesses", witnesses.len()));
        }
        if let Some(w) = witnesses.iter().enumerate().find(|(i, w)| witnesses[..*i].iter().any(|x| x.name == w.name)) {
            return Err(format!("the witness {} is named twice", w.1.name));
        }
        Ok(Self { quorum, witnesses })
    }

    /// The trusted witnesses whose cosignatures on the signed `note` verify; an error when fewer than the
    /// quorum did (naming who is missing).
    pub fn check(&self, note: &Note) -> Result<Vec<String>, String> {
        let signed: Vec<String> = self
            .witnesses
            .iter()
            .filter(|w| note.verify(&w.name, &w.public_key).is_ok())
            .map(|w| w.name.clone())
            .collect();
        if (signed.len() as u64) < u64::from(self.quorum) {
            let missing: Vec<&str> =
                self.witnesses.iter().map(|w| w.name.as_str()).filter(|n| !signed.iter().any(|s| s == n)).collect();
            return Err(format!(
                "{} of the {} required witness cosignatures (missing or invalid: {})",
                signed.len(),
                self.quorum,
                missing.join(", ")
            ));
        }
        Ok(signed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::checkpoint::Checkpoint;
    use crate::merkle::MemoryTree;
    use crate::{consistency_proof, leaf_hash};

    const ORIGIN: &str = "urna.test/witness";

    fn tree(leaves: &[&[u8]]) -> MemoryTree {
        let mut t = MemoryTree::new();
        for l in leaves {
            t.push(leaf_hash(l));
        }
        t
    }

    fn note(log: &LogKey, t: &MemoryTree) -> String {
        let cp = Checkpoint {
            origin: ORIGIN.into(),
            size: t.size(),
            root: t.root_at(t.size()).expect("root"),
            timestamp: 1_700_000_000 + t.size(),
            closed: false,
        };
        log.sign_checkpoint(&cp).text()
    }

    fn cosign(state: &WitnessState, note: &str, proof: &[Hash], w: &LogKey) -> WitnessState {
        match judge(state, note, proof, "witness.test/w1", w).expect("judged") {
            Verdict::Cosign { state, cosignature, body } => {
                assert!(cosignature.verify(&body).is_ok());
                state
            }
            other => panic!("expected a cosignature, got {other:?}"),
        }
    }

    #[test]
    fn cosigns_an_extending_history_and_catches_every_split_view() {
        let log = LogKey::from_seed(&[1; 32]);
        let w = LogKey::from_seed(&[2; 32]);
        let state = WitnessState::new(ORIGIN, log.public_key());
        let t3 = tree(&[b"a", b"b", b"c"]);
        let s3 = cosign(&state, &note(&log, &t3), &[], &w);
        assert_eq!(judge(&s3, &note(&log, &t3), &[], "witness.test/w1", &w), Ok(Verdict::Unchanged));

        let t5 = tree(&[b"a", b"b", b"c", b"d", b"e"]);
        let proof = consistency_proof(&t5, 3, 5).expect("proof");
        let s5 = cosign(&s3, &note(&log, &t5), &proof, &w);
        assert_eq!(s5.last_size(), Some(5));

        // A rewritten history of the same or a larger size, or a rollback: each is a fork, with evidence.
        let other5 = tree(&[b"a", b"b", b"X", b"d", b"e"]);
        let other7 = tree(&[b"a", b"b", b"X", b"d", b"e", b"f", b"g"]);
        let bad_proof = consistency_proof(&other7, 5, 7).expect("proof");
        for (shown, proof, why) in [
            (note(&log, &other5), vec![], "two different roots"),
            (note(&log, &other7), bad_proof, "no consistency proof"),
            (note(&log, &t3), vec![], "went back"),
        ] {
            match judge(&s5, &shown, &proof, "witness.test/w1", &w).expect("judged") {
                Verdict::Fork { state } => {
                    let fork = state.fork.clone().expect("fork recorded");
                    assert!(fork.reason.contains(why), "{}", fork.reason);
                    assert_eq!(fork.earlier.size, 5);
                    // Once forked, never again.
                    assert!(matches!(
                        judge(&state, &note(&log, &t5), &[], "witness.test/w1", &w),
                        Err(WitnessError::Forked { .. })
                    ));
                }
                other => panic!("{why}: expected a fork, got {other:?}"),
            }
        }
    }

    #[test]
    fn unsigned_or_foreign_checkpoints_are_errors_not_evidence() {
        let log = LogKey::from_seed(&[1; 32]);
        let impostor = LogKey::from_seed(&[3; 32]);
        let w = LogKey::from_seed(&[2; 32]);
        let state = WitnessState::new(ORIGIN, log.public_key());
        let t = tree(&[b"a"]);
        assert!(matches!(judge(&state, &note(&impostor, &t), &[], "w", &w), Err(WitnessError::NotSigned(_))));
        let other = WitnessState::new("urna.test/other", log.public_key());
        assert!(matches!(judge(&other, &note(&log, &t), &[], "w", &w), Err(WitnessError::Origin { .. })));
        assert!(matches!(judge(&state, &note(&log, &t), &[], "bad name", &w), Err(WitnessError::Name(_))));
    }

    #[test]
    fn a_policy_counts_only_its_witnesses_valid_cosignatures() {
        let log = LogKey::from_seed(&[1; 32]);
        let (w1, w2, stranger) =
            (LogKey::from_seed(&[2; 32]), LogKey::from_seed(&[4; 32]), LogKey::from_seed(&[5; 32]));
        let text = note(&log, &tree(&[b"a", b"b"]));
        let mut n = Note::parse(&text).expect("note");
        for (name, k) in [("w1", &w1), ("stranger", &stranger)] {
            let c = Cosignature { name: name.into(), public_key: k.public_key(), signature: k.sign(n.body.as_bytes()) };
            n.signatures.push(c.note_signature());
        }
        let trusted = |name: &str, k: &LogKey| TrustedWitness { name: name.into(), public_key: k.public_key() };
        let policy = |quorum| WitnessPolicy { quorum, witnesses: vec![trusted("w1", &w1), trusted("w2", &w2)] };
        assert_eq!(policy(1).check(&n), Ok(vec!["w1".to_owned()]));
        let err = policy(2).check(&n).expect_err("quorum of 2 not met");
        assert!(err.contains("1 of the 2") && err.contains("w2"), "{err}");
    }
}
