//! A vote service's `GET /v1/status` (`urna vote`, one per modality × partition): the counts the close-time
//! audit compares (PROTOCOL §6: rights issued = AnonIDs logged) and what the operator shows as turnout.

use serde::{Deserialize, Serialize};

use crate::Modality;
use crate::window::WindowStatus;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct VoteStatus {
    pub election_id: String,
    /// The modality this service records ballots for.
    pub modality: Modality,
    pub partition: u32,
    pub partitions: u32,
    /// Voters in this partition's census.
    pub census: u64,
    /// Voting rights issued (remote: blind signatures; booth: admissions at a mesa, each using the voter's
    /// right).
    pub rights_issued: u64,
    /// Rights issued per ballot style (the voter's district); they add up to `rightsIssued`. The record's
    /// "rights issued ≥ ballots" holds per style and modality, so it is counted per style.
    #[serde(default)]
    pub rights_by_style: std::collections::BTreeMap<String, u64>,
    /// Voters who voted, as the voter side can know it: one right per voter, so it equals `rightsIssued`. The
    /// service never links a voter to a ballot, so it cannot count "voters whose ballot arrived".
    pub voters_voted: u64,
    /// Ballots accepted into the ballot store (each with its signature).
    pub ballots_recorded: u64,
    /// Of those, ballots not yet acknowledged by their shard and the audit log (being retried).
    pub ballots_pending: u64,
    /// Closed by hand (`POST /v1/close`) or past `closesAt`.
    pub closed: bool,
    pub window: WindowStatus,
    /// Per Mesa served (booth services with `--mesas`), by mesa id; empty otherwise.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub mesas: Vec<MesaStatus>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MesaStatus {
    pub mesa: String,
    /// Voters admitted at this mesa's console.
    pub admissions: u64,
    /// Booth ballots recorded for this mesa (never more than its admissions).
    pub ballots: u64,
    /// The signed actas this service accepted for the mesa, at most one per kind (docs/record.md, "Actas").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub actas: Vec<ActaStatus>,
}

/// The four actas a mesa signs (docs/record.md, "Actas").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ActaKind {
    /// Members present and the time the mesa was set up.
    Constitution,
    /// Votes per contest and choice, as the mesa counted them.
    Results,
    /// How many voted at the mesa (never who).
    Participants,
    /// The receipts (AnonIDs) of the ballots recorded at the mesa, for voters to find theirs.
    AuditCodes,
}

impl ActaKind {
    pub const ALL: [ActaKind; 4] = [Self::Constitution, Self::Results, Self::Participants, Self::AuditCodes];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Constitution => "constitution",
            Self::Results => "results",
            Self::Participants => "participants",
            Self::AuditCodes => "auditCodes",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// One accepted acta of a mesa, by hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ActaStatus {
    pub kind: ActaKind,
    /// SHA-256 of the acta's canonical document (hex).
    pub sha256: String,
    /// The members whose signatures verified, sorted.
    pub signers: Vec<String>,
    /// The time the document states (RFC 3339).
    pub signed_at: String,
    /// When this service accepted it (RFC 3339).
    pub received_at: String,
    /// Its event's leaf index in the audit log, once appended (absent while the append is retried).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_index: Option<u64>,
    /// When the audit log returned that index (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logged_at: Option<String>,
}
