//! The HTTP API's JSON bodies (served and documented in `openapi.json`; the client uses the same types).

use serde::{Deserialize, Serialize};
use urna_ballot::{ElectionManifest, EncryptedBallot};
use urna_crypto::blind::{BlindSignature, BlindVerifyingKey, BlindedMessage, PreparedMessage, Signature};
use urna_crypto::paillier::PublicKey;

use urna_ballot::AnonId;

/// `GET /v1/election`: everything a voting client needs.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ElectionInfo {
    pub election_id: String,
    #[serde(with = "hex::serde")]
    pub manifest_hash: [u8; 32],
    pub manifest: ElectionManifest,
    /// The Paillier public key ballots are encrypted under.
    pub public_key: PublicKey,
    /// The RFC 9474 verifying key of the voting right (hex of the DER SubjectPublicKeyInfo).
    pub blind_key: BlindVerifyingKey,
    /// `remote` or `booth`: the modality this service records ballots for.
    pub modality: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opens_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closes_at: Option<String>,
    pub closed: bool,
    pub partitions: u32,
    /// The audit log's name and Ed25519 key, when this service is configured with them: what the voter app's
    /// receipt check verifies the log's checkpoints against.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audit_log: Option<AuditLogKey>,
    /// The witnesses who cosign the log's checkpoints and how many must have: the receipt check verifies their
    /// cosignatures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub witnesses: Option<urna_audit::witness::WitnessPolicy>,
}

/// An audit log's signed-note identity: its origin (the name its checkpoints are signed under) and key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditLogKey {
    pub origin: String,
    /// The 32-byte Ed25519 public key (hex).
    #[serde(with = "hex::serde")]
    pub public_key: [u8; 32],
}

impl AuditLogKey {
    /// Parses a C2SP signed-note verifier key, `<name>+<hex key id>+<base64(0x01 || 32-byte key)>` (what the
    /// audit log's `/v1/checkpoint` shows as `verifier_key`).
    pub fn from_verifier_key(vkey: &str) -> Result<Self, String> {
        use base64::Engine;
        let mut parts = vkey.trim().splitn(3, '+');
        let (Some(name), Some(id), Some(key)) = (parts.next(), parts.next(), parts.next()) else {
            return Err("expected <name>+<key id>+<base64 key>".into());
        };
        let raw = base64::engine::general_purpose::STANDARD.decode(key).map_err(|e| format!("key: {e}"))?;
        let [0x01, rest @ ..] = raw.as_slice() else {
            return Err("key: expected an Ed25519 key (algorithm byte 0x01)".into());
        };
        let public_key: [u8; 32] = rest.try_into().map_err(|_| "key: expected 32 bytes".to_string())?;
        if urna_audit::checkpoint::validate_name(name).is_err() {
            return Err(format!("invalid log name {name:?}"));
        }
        if hex::encode(urna_audit::checkpoint::key_id(name, &public_key)) != id {
            return Err("the key id does not match the name and key".into());
        }
        Ok(Self { origin: name.to_owned(), public_key })
    }
}

/// `POST /v1/sessions`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SessionRequest {
    /// The voter id hash, as in the census (64 lowercase hex digits).
    pub voter_id: String,
    pub credential: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SessionResponse {
    /// Bearer token for `POST /v1/rights`.
    pub token: String,
    pub expires_in_seconds: u64,
    /// The voter's district: the ballot style to encrypt.
    pub ballot_style: String,
    /// Whether this voter's right was already issued (only the identical blinded message is signed again).
    pub right_issued: bool,
}

/// `POST /v1/rights` (with `Authorization: Bearer <token>`).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RightRequest {
    pub blinded_message: BlindedMessage,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RightResponse {
    pub blind_signature: BlindSignature,
}

/// `POST /v1/ballots`: the anonymous ballot package.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BallotPackage {
    pub ballot: EncryptedBallot,
    /// RFC 9474 prepared message: 32-byte random prefix || `ballot.hash()` (hex).
    pub prepared_message: PreparedMessage,
    /// The unblinded signature over the prepared message (hex).
    pub signature: Signature,
}

/// A voter's receipt: check it against the audit log (PROTOCOL §6).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Receipt {
    pub anon_id: AnonId,
    /// The AnonID's leaf index in the audit log.
    pub log_index: u64,
    /// The audit log's latest signed checkpoint, once it covers `logIndex` (as the audit log serves it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<serde_json::Value>,
    /// Inclusion proof of the leaf in that checkpoint (as the audit log serves it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inclusion_proof: Option<serde_json::Value>,
}

/// `GET /v1/status`: defined in `urna-status`, which the operator reads it through.
pub use urna_status::vote::{ActaStatus, MesaStatus, VoteStatus};

/// `GET /v1/mesas/{mesa}/actas` (console token): the figures a mesa's participants, audit-codes and booth
/// results actas must state, and the actas accepted so far.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MesaActas {
    pub election_id: String,
    /// The booth modality has closed: results, participants and audit codes may be submitted.
    pub closed: bool,
    pub admissions: u64,
    pub booth_ballots: u64,
    /// AnonIDs of the booth ballots recorded at the mesa, sorted.
    pub audit_codes: Vec<String>,
    pub actas: Vec<ActaStatus>,
    /// The mesa's district (its ballot style).
    #[serde(default)]
    pub district: String,
    /// The members who sign its actas, with their roles and public keys (public: they verify the actas).
    #[serde(default)]
    pub members: Vec<crate::acta::Member>,
    /// Its booths, in the mesas file's order, with the booth ballots each recorded.
    #[serde(default)]
    pub booths: Vec<MesaBooth>,
}

/// One booth of a mesa in `GET /v1/mesas/{mesa}/actas`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MesaBooth {
    /// The booth's device id.
    pub id: String,
    /// Booth ballots recorded from it.
    pub ballots: u64,
}

/// `POST /v1/close` response.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CloseResponse {
    pub closed: bool,
    pub closed_at: String,
}

/// One entry of `GET /v1/ballots`: an accepted ballot as the election record publishes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PublishedBallot {
    pub anon_id: AnonId,
    /// The AnonID's leaf in the audit log, once appended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_index: Option<u64>,
    pub package: BallotPackage,
}

/// `GET /v1/ballots`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BallotsPage {
    pub ballots: Vec<PublishedBallot>,
    /// The `after` of the next page, when there may be one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next: Option<AnonId>,
}

/// `POST /v1/booth/ballots` (bridge): a ballot a booth encrypted and proved, with the device the broker
/// authenticated and the sequence number of the booth's message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct BoothBallot {
    pub device: String,
    pub seq: u64,
    pub ballot: EncryptedBallot,
}

/// `POST /v1/mesas/{mesa}/admissions` (mesa console): admit this voter for one booth ballot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AdmissionRequest {
    pub voter_id: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AdmissionResponse {
    pub mesa: String,
    /// `admitted`, or `alreadyAdmitted` for a voter admitted at this mesa before.
    pub status: String,
    /// Voters admitted at this mesa so far.
    pub admitted: u64,
}

/// A voter id as the API and the census write it: 64 lowercase hex digits.
pub fn parse_voter_id(s: &str) -> Result<[u8; 32], String> {
    if s.len() != 64 || !s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
        return Err(format!("expected 64 lowercase hex digits, got {} characters", s.len()));
    }
    let mut out = [0u8; 32];
    hex::decode_to_slice(s, &mut out).map_err(|e| e.to_string())?;
    Ok(out)
}
