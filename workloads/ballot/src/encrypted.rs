//! The encrypted ballot as it travels and as the election record stores it (docs/record.md).

use serde::{Deserialize, Serialize};
use urna_crypto::paillier::Ciphertext;
use urna_crypto::proofs::{KnowledgeProof, MembershipProof};
use urna_crypto::transcript::Transcript;

/// One voter's ballot: every contest of the ballot style, encrypted and proven.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EncryptedBallot {
    pub election_id: String,
    #[serde(with = "hex::serde")]
    pub manifest_hash: [u8; 32],
    /// The district whose ballot this is (it decides which contests the ballot carries).
    pub ballot_style: String,
    /// The style's contests, in manifest order.
    pub contests: Vec<EncryptedContest>,
}

/// One contest of a ballot. Which ciphertexts and proofs it carries depends on the contest's layout
/// (docs/protocol.md, "Ballot encoding"): proofs come in the order their labels are listed there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EncryptedContest {
    pub contest_id: String,
    /// One ciphertext per chunk (single-choice) or per option (multi-choice): the values tallies add up.
    pub ciphertexts: Vec<Ciphertext>,
    /// A chunked single-choice contest: each chunk's 0/1 "used" ciphertext.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub used: Vec<Ciphertext>,
    pub proofs: Vec<MembershipProof>,
    /// A contest offering a write-in: the encrypted name (zero when the write-in was not chosen), on every
    /// ballot, so that its presence says nothing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub write_in: Option<EncryptedWriteIn>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EncryptedWriteIn {
    pub ciphertext: Ciphertext,
    pub proof: KnowledgeProof,
}

impl EncryptedBallot {
    /// SHA-256 over the `urna/v1/ballot` transcript of every field, proofs included: the message the voting
    /// right signs and the ballot's identity. Any change to any byte of the ballot changes it.
    pub fn hash(&self) -> [u8; 32] {
        let mut t = Transcript::new("ballot");
        t.append_str(&self.election_id);
        t.append_bytes(&self.manifest_hash);
        t.append_str(&self.ballot_style);
        t.append_u64(self.contests.len() as u64);
        for c in &self.contests {
            c.append_to(&mut t);
        }
        t.finalize()
    }
}

impl EncryptedContest {
    /// Appends the contest's canonical encoding (docs/protocol.md §4.4) to `t`: what a ballot hash covers and
    /// what a tally shard's contest digest covers.
    pub fn append_to(&self, t: &mut Transcript) {
        t.append_str(&self.contest_id);
        t.append_u64(self.ciphertexts.len() as u64);
        for c in &self.ciphertexts {
            t.append_ciphertext(c);
        }
        t.append_u64(self.used.len() as u64);
        for c in &self.used {
            t.append_ciphertext(c);
        }
        t.append_u64(self.proofs.len() as u64);
        for p in &self.proofs {
            p.append_to_transcript(t);
        }
        match &self.write_in {
            None => t.append_u64(0),
            Some(w) => {
                t.append_u64(1);
                t.append_ciphertext(&w.ciphertext);
                w.proof.append_to_transcript(t);
            }
        }
    }
}
