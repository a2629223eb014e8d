//! The encrypted totals of one shard: per (ballot style, contest), the homomorphic sum of every accepted
//! contest's position ciphertexts and the number of contests folded in.
//!
//! Totals are kept per ballot style (district) and not merely per contest, so that results can be reported per
//! contest × district × modality (a shard may hold several districts that share a contest).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use urna_ballot::{BallotCodec, EncryptedContest};
use urna_crypto::paillier::{Ciphertext, PublicKey};
use urna_crypto::transcript::Transcript;

use crate::error::{Result, TallyError};
use crate::record::ShardIdentity;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
struct Key {
    ballot_style: String,
    contest_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    ballots: u64,
    ciphertexts: Vec<Ciphertext>,
}

/// One contest's totals as published (`GET /v1/totals`, the final totals record, checkpoints).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContestTotals {
    pub ballot_style: String,
    pub contest_id: String,
    /// Contests folded in; the counter slot of the decrypted totals must equal it.
    pub ballots: u64,
    /// One per position (chunk or option), in layout order.
    pub ciphertexts: Vec<Ciphertext>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Totals {
    entries: BTreeMap<Key, Entry>,
}

/// Why a contest could not be folded (the caller turns it into a rejection).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FoldError {
    NotInShard,
    Positions { expected: usize, got: usize },
    Full { max: u64 },
}

impl Totals {
    /// Zero ballots and the identity ciphertext in every position of every contest of every district's ballot
    /// style, so that a contest nobody voted in still appears (as zero) in the final totals.
    pub fn initial(codec: &BallotCodec, districts: &[String]) -> Result<Self> {
        let mut entries = BTreeMap::new();
        for d in districts {
            for cc in codec.style_contests(d)? {
                entries.insert(
                    Key { ballot_style: d.clone(), contest_id: cc.contest.id.clone() },
                    Entry { ballots: 0, ciphertexts: vec![Ciphertext::identity(); cc.layout.positions()] },
                );
            }
        }
        Ok(Self { entries })
    }

    /// Folds one contest in, refusing (without changing anything) a contest this shard does not hold, one of the
    /// wrong shape, or one beyond `max_ballots` (more would carry a counter slot into its neighbour).
    pub fn fold(
        &mut self,
        pk: &PublicKey,
        ballot_style: &str,
        contest: &EncryptedContest,
        max_ballots: u64,
    ) -> Result<(), FoldError> {
        let key = Key { ballot_style: ballot_style.to_owned(), contest_id: contest.contest_id.clone() };
        let entry = self.entries.get_mut(&key).ok_or(FoldError::NotInShard)?;
        if entry.ciphertexts.len() != contest.ciphertexts.len() {
            return Err(FoldError::Positions { expected: entry.ciphertexts.len(), got: contest.ciphertexts.len() });
        }
        if entry.ballots >= max_ballots {
            return Err(FoldError::Full { max: max_ballots });
        }
        for (acc, c) in entry.ciphertexts.iter_mut().zip(&contest.ciphertexts) {
            *acc = pk.add(acc, c);
        }
        entry.ballots += 1;
        Ok(())
    }

    pub fn ballots(&self, ballot_style: &str, contest_id: &str) -> Option<u64> {
        self.entries
            .get(&Key { ballot_style: ballot_style.to_owned(), contest_id: contest_id.to_owned() })
            .map(|e| e.ballots)
    }

    /// Contests folded in, over every entry.
    pub fn total_ballots(&self) -> u64 {
        self.entries.values().map(|e| e.ballots).sum()
    }

    /// The totals digest (docs/record.md): binds the shard, the log position the totals cover, and every
    /// entry in (ballotStyle, contestId) byte order.
    ///
    /// `H("tally/totals", electionId, manifestHash, publicKeyFingerprint, shard, sequence, logHead, |entries|,
    /// then per entry: ballotStyle, contestId, ballots, |ciphertexts|, ciphertexts…)`.
    pub fn digest(&self, id: &ShardIdentity, sequence: u64, head: &[u8; 32]) -> [u8; 32] {
        let mut t = Transcript::new("tally/totals");
        t.append_str(&id.election_id);
        t.append_bytes(&id.manifest_hash);
        t.append_bytes(&id.public_key_fingerprint);
        t.append_str(&id.shard);
        t.append_u64(sequence);
        t.append_bytes(head);
        t.append_u64(self.entries.len() as u64);
        for (k, e) in &self.entries {
            t.append_str(&k.ballot_style);
            t.append_str(&k.contest_id);
            t.append_u64(e.ballots);
            t.append_u64(e.ciphertexts.len() as u64);
            for c in &e.ciphertexts {
                t.append_ciphertext(c);
            }
        }
        t.finalize()
    }

    pub fn to_wire(&self) -> Vec<ContestTotals> {
        self.entries
            .iter()
            .map(|(k, e)| ContestTotals {
                ballot_style: k.ballot_style.clone(),
                contest_id: k.contest_id.clone(),
                ballots: e.ballots,
                ciphertexts: e.ciphertexts.clone(),
            })
            .collect()
    }

    /// Reads stored totals back, checking every ciphertext against the key and that the entries are exactly
    /// those of `shape` (the shard's initial totals).
    pub fn from_wire(wire: Vec<ContestTotals>, pk: &PublicKey, shape: &Totals) -> Result<Self> {
        let mut entries = BTreeMap::new();
        for t in wire {
            for c in &t.ciphertexts {
                pk.check_ciphertext("totals", c)?;
            }
            let key = Key { ballot_style: t.ballot_style, contest_id: t.contest_id };
            let expected = shape.entries.get(&key).map(|e| e.ciphertexts.len());
            if expected != Some(t.ciphertexts.len()) {
                return Err(TallyError::corrupt(
                    "totals",
                    format!("entry {}/{} does not fit the shard's contests", key.ballot_style, key.contest_id),
                ));
            }
            entries.insert(key, Entry { ballots: t.ballots, ciphertexts: t.ciphertexts });
        }
        if entries.len() != shape.entries.len() {
            return Err(TallyError::corrupt("totals", "entries missing"));
        }
        Ok(Self { entries })
    }
}

/// The most ballots a contest's totals hold at `slot_bits` bits per counter: one more would carry a counter
/// slot into its neighbour (the shard refuses it; the verifier checks the same bound).
pub fn max_ballots(slot_bits: u32) -> u64 {
    if slot_bits >= 64 { u64::MAX } else { (1u64 << slot_bits) - 1 }
}
