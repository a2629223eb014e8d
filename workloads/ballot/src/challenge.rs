//! Cast-as-intended (Benaloh) challenges (docs/protocol.md §4.7).
//!
//! After encrypting, a voter may challenge the ballot instead of casting it: the client then publishes the
//! ballot with the choices it says it encrypted and the nonce of every ciphertext. [`check_challenge`]
//! re-encrypts each revealed choice with its nonce and confirms it gives exactly the ballot's ciphertexts, so a
//! client that encrypted anything but the voter's choice is caught. A challenged ballot is spoiled: it is never
//! cast. The check is pure; `urna verify challenge` and the voter app's check page are its thin edges.

use serde::{Deserialize, Serialize};
use urna_crypto::paillier::{Ciphertext, Nonce, Plaintext};

use crate::codec::{BallotCodec, ContestCodec, EncodingPlan, write_in_plaintext};
use crate::encrypted::{EncryptedBallot, EncryptedContest};
use crate::selection::Selection;

/// The only version of the challenge format.
pub const CHALLENGE_VERSION: u32 = 1;

/// A challenged ballot as the voter's client publishes it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChallengedBallot {
    pub version: u32,
    pub ballot: EncryptedBallot,
    /// The ballot hash the client showed before the voter chose to challenge.
    #[serde(with = "hex::serde")]
    pub ballot_hash: [u8; 32],
    /// One per contest of the ballot, in the ballot's order.
    pub contests: Vec<RevealedContest>,
}

/// What the client says one contest's ciphertexts hold, and the nonces to check it.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RevealedContest {
    pub contest_id: String,
    /// Single-choice: one choice id (`pan+pri`, `write-in`, `blank`, …). Multi-choice: the marked option ids.
    pub choices: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write_in: Option<String>,
    /// The nonce of each ciphertext, in order.
    pub nonces: Vec<Nonce>,
    /// Chunked contests: the nonce of each "used" ciphertext.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub used_nonces: Vec<Nonce>,
    /// Contests offering a write-in: the nonce of the name ciphertext (also when no name was written).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write_in_nonce: Option<Nonce>,
}

/// One contest as the check found it: the revealed choice in canonical form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckedContest {
    pub contest_id: String,
    pub choices: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub write_in: Option<String>,
}

/// The outcome: what the ballot holds and, when it is not what the client revealed, every difference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ChallengeReport {
    #[serde(with = "hex::serde")]
    pub ballot_hash: [u8; 32],
    pub ballot_style: String,
    pub contests: Vec<CheckedContest>,
    /// One line per difference; empty when the challenge is valid.
    pub problems: Vec<String>,
}

impl ChallengeReport {
    pub fn is_valid(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Checks a challenged ballot against `codec` (the election's manifest and key, from a source the checker
/// trusts): the ballot belongs to the election and carries its style's contests, its hash is the one shown,
/// every revealed choice is a valid selection of its contest, and re-encrypting it with the revealed nonces
/// gives exactly the ballot's ciphertexts.
pub fn check_challenge(codec: &BallotCodec, challenge: &ChallengedBallot) -> ChallengeReport {
    let ballot = &challenge.ballot;
    let mut report = ChallengeReport {
        ballot_hash: ballot.hash(),
        ballot_style: ballot.ballot_style.clone(),
        contests: Vec::new(),
        problems: Vec::new(),
    };
    if let Err(e) = codec.check_ballot_shape(ballot) {
        report.problems.push(e.to_string());
        return report;
    }
    if challenge.ballot_hash != report.ballot_hash {
        report.problems.push(format!(
            "ballot hash: the challenge says {}, the ballot hashes to {}",
            hex::encode(challenge.ballot_hash),
            hex::encode(report.ballot_hash)
        ));
    }
    let revealed: Vec<&str> = challenge.contests.iter().map(|c| c.contest_id.as_str()).collect();
    let carried: Vec<&str> = ballot.contests.iter().map(|c| c.contest_id.as_str()).collect();
    if revealed != carried {
        report.problems.push(format!("the challenge reveals contests {revealed:?}, the ballot carries {carried:?}"));
        return report;
    }
    for (enc, rev) in ballot.contests.iter().zip(&challenge.contests) {
        match codec.contest(&enc.contest_id) {
            Ok(cc) => check_contest(codec, cc, enc, rev, &mut report),
            Err(e) => report.problems.push(e.to_string()),
        }
    }
    report
}

fn check_contest(
    codec: &BallotCodec,
    cc: &ContestCodec,
    enc: &EncryptedContest,
    rev: &RevealedContest,
    report: &mut ChallengeReport,
) {
    let contest = &enc.contest_id;
    let ids: Vec<&str> = rev.choices.iter().map(String::as_str).collect();
    let selection = match Selection::from_ids(&cc.contest, &ids, rev.write_in.clone()) {
        Ok(s) => s,
        Err(e) => {
            report.problems.push(format!("contest {contest}: revealed choice is not a valid selection: {e}"));
            return;
        }
    };
    let (choices, write_in) = match &selection {
        Selection::Single { choice, write_in } => (vec![cc.choices[*choice].id.clone()], write_in.clone()),
        Selection::Multi { options } => {
            let mut sorted = options.clone();
            sorted.sort_unstable();
            (sorted.iter().map(|&o| cc.choices[o].id.clone()).collect(), None)
        }
    };
    let plan = match EncodingPlan::new(cc, &selection, codec.manifest().slot_bits) {
        Ok(plan) => plan,
        Err(e) => {
            report.problems.push(format!("contest {contest}: {e}"));
            return;
        }
    };
    let shown = choices.join(", ");
    let mut compare = |what: &str, values: &[Plaintext], nonces: &[Nonce], ciphertexts: &[Ciphertext]| {
        if nonces.len() != ciphertexts.len() || values.len() != ciphertexts.len() {
            report.problems.push(format!(
                "contest {contest}: {} {what} nonces for {} ciphertexts",
                nonces.len(),
                ciphertexts.len()
            ));
            return;
        }
        for (j, ((m, r), c)) in values.iter().zip(nonces).zip(ciphertexts).enumerate() {
            match codec.public_key().encrypt_with_nonce(m, r) {
                Ok(again) if again == *c => {}
                Ok(_) => report.problems.push(format!(
                    "contest {contest}: {what} ciphertext {j} does not encrypt the revealed choice {shown}"
                )),
                Err(e) => report.problems.push(format!("contest {contest}: {what} nonce {j}: {e}")),
            }
        }
    };
    compare("choice", &plan.values, &rev.nonces, &enc.ciphertexts);
    compare("used", &plan.used, &rev.used_nonces, &enc.used);
    match (&enc.write_in, &rev.write_in_nonce) {
        (Some(w), Some(r)) => {
            let name = write_in.as_deref().map_or_else(Plaintext::zero, write_in_plaintext);
            compare("write-in", &[name], std::slice::from_ref(r), std::slice::from_ref(&w.ciphertext));
        }
        (Some(_), None) => report.problems.push(format!("contest {contest}: no nonce revealed for the write-in name")),
        (None, Some(_)) => {
            report.problems.push(format!("contest {contest}: a write-in nonce for a contest without a write-in"))
        }
        (None, None) => {}
    }
    report.contests.push(CheckedContest { contest_id: contest.clone(), choices, write_in });
}
