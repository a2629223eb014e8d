//! Mesa actas: the documents a mesa's members sign (docs/record.md, "Actas"), defined once here for the
//! vote service that accepts them, the `urna mesa acta` tools that draft, sign and verify them, and the record.
//!
//! # The canonical document
//!
//! An acta is an [`ActaDocument`]: `format` (`urna-acta/1`), `electionId`, `mesa`, `signedAt` (RFC 3339 UTC,
//! whole seconds) and a `body` tagged by `kind`:
//!
//! | kind | body |
//! |---|---|
//! | `constitution` | `membersPresent`: member ids, sorted, unique, each a member of the mesa |
//! | `results` | `source` (`booths` or `paper`), `ballots` counted, `contests`: each contest of the mesa's ballot style in manifest order, with `counts` of every choice in the contest's numbering (`urna_ballot::choices`) |
//! | `participants` | `voted`: how many voters were admitted at the mesa (never who) |
//! | `auditCodes` | `codes`: the AnonIDs (64 lowercase hex) of the booth ballots recorded at the mesa, sorted, unique |
//!
//! Its **canonical encoding** is the compact JSON serde writes for these types: fields in the order declared
//! here, no whitespace, integers only, strings escaped as `serde_json` escapes them. [`ActaDocument::check`]
//! refuses whatever has two spellings (unsorted or repeated lists, a time that does not print back as
//! itself), so one document has one encoding and one [`ActaDocument::digest`], its SHA-256.
//!
//! # Signatures
//!
//! Each member signs, with Ed25519 (the key in the Mesa resource, `spec.members[].signingKey`), the message
//! [`signing_message`]: `urna-acta-signature/1`, a zero byte, then the election id, the mesa id and the kind,
//! each as a u32 big-endian length and its UTF-8 bytes, then the document's SHA-256. The verifier builds the
//! message from the election and mesa *it* serves, never from the document's own fields, so a signature made
//! for another election, mesa or kind does not verify here even if the document were edited to match.
//!
//! **Quorum** ([`quorum`]): the president's signature, plus one other voting member's (secretary or
//! scrutineer) when the mesa has any; observers may sign (their signatures are checked and listed) but
//! never count. A signature by a non-member, a repeated signer, or a bad signature refuses the whole acta.

use serde::{Deserialize, Deserializer, Serialize};
use sha2::{Digest, Sha256};
use urna_ballot::BallotCodec;

pub use urna_status::vote::ActaKind;

/// The document format this module writes and accepts.
pub const FORMAT: &str = "urna-acta/1";
/// The domain separator of a member's signature.
pub const SIGNATURE_DOMAIN: &[u8] = b"urna-acta-signature/1";

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ActaError {
    /// The document is not in canonical form or breaks a rule of its kind.
    #[error("{0}")]
    Malformed(String),
    #[error("the acta is for election {got:?}, not {want:?}")]
    WrongElection { got: String, want: String },
    #[error("the acta is for mesa {got:?}, not {want:?}")]
    WrongMesa { got: String, want: String },
    #[error("{0:?} is not a member of this mesa")]
    UnknownSigner(String),
    #[error("member {0:?} signed twice")]
    DuplicateSigner(String),
    #[error("the signature of member {0:?} does not verify for this election, mesa and document")]
    BadSignature(String),
    #[error("no quorum: {0}")]
    NoQuorum(String),
    /// The figures disagree with what the vote service recorded at the mesa.
    #[error("{0}")]
    Mismatch(String),
}

impl ActaError {
    /// The API's error code.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Malformed(_) => "malformed_acta",
            Self::WrongElection { .. } => "wrong_election",
            Self::WrongMesa { .. } => "wrong_mesa",
            Self::UnknownSigner(_) => "unknown_signer",
            Self::DuplicateSigner(_) => "duplicate_signer",
            Self::BadSignature(_) => "bad_signature",
            Self::NoQuorum(_) => "no_quorum",
            Self::Mismatch(_) => "acta_mismatch",
        }
    }
}

fn malformed(m: impl Into<String>) -> ActaError {
    ActaError::Malformed(m.into())
}

/// A member's role (the Mesa resource's `spec.members[].role`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Role {
    President,
    Secretary,
    Scrutineer,
    Observer,
}

/// A mesa member whose signatures count on its actas: id, role and Ed25519 public key, parsed from the
/// mesas file ([`crate::mesa_file::DeclaredMember::parse`]). The console's actas answer lists them, the key
/// in hex (64 hex characters or a PEM `PUBLIC KEY` block are read back).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Member {
    pub id: String,
    pub role: Role,
    #[serde(deserialize_with = "de_public_key", serialize_with = "hex::serde::serialize")]
    pub public_key: [u8; 32],
}

fn de_public_key<'de, D: Deserializer<'de>>(d: D) -> Result<[u8; 32], D::Error> {
    let s = String::deserialize(d)?;
    parse_public_key(&s).map_err(serde::de::Error::custom)
}

/// The DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410): what precedes the 32 key bytes.
const ED25519_SPKI_PREFIX: [u8; 12] = [0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00];

/// An Ed25519 public key from 64 hex characters or a PEM `PUBLIC KEY` (SubjectPublicKeyInfo, RFC 8410).
pub fn parse_public_key(s: &str) -> Result<[u8; 32], String> {
    let s = s.trim();
    let mut key = [0u8; 32];
    if let Some(rest) = s.strip_prefix("-----BEGIN PUBLIC KEY-----") {
        use base64::Engine as _;
        let body = rest.split("-----END PUBLIC KEY-----").next().unwrap_or_default();
        let b64: String = body.chars().filter(|c| !c.is_whitespace()).collect();
        let der = base64::engine::general_purpose::STANDARD
            .decode(b64)
            .map_err(|e| format!("public key PEM: not base64: {e}"))?;
        match der.strip_prefix(&ED25519_SPKI_PREFIX[..]) {
            Some(k) if k.len() == 32 => key.copy_from_slice(k),
            _ => return Err("public key PEM: not an Ed25519 SubjectPublicKeyInfo".into()),
        }
    } else {
        hex::decode_to_slice(s, &mut key)
            .map_err(|_| "public key: expected 64 hex characters or a PEM PUBLIC KEY".to_string())?;
    }
    // Whether the bytes are a valid curve point is decided when a signature is checked (that member's
    // signatures then never verify): one member's mistyped key must not stop the service for every mesa.
    Ok(key)
}

/// How the results were counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum CountSource {
    /// The booths recorded the ballots: `ballots` must equal the booth ballots this service recorded there.
    Booths,
    /// Paper ballots counted by hand and entered at the console: at most the voters admitted there.
    Paper,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ChoiceVotes {
    /// A choice id of the contest's numbering (`urna_ballot::choices::Choice::id`).
    pub choice: String,
    pub votes: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ContestCount {
    pub contest: String,
    pub counts: Vec<ChoiceVotes>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "camelCase", rename_all_fields = "camelCase", deny_unknown_fields)]
pub enum ActaBody {
    Constitution { members_present: Vec<String> },
    Results { source: CountSource, ballots: u64, contests: Vec<ContestCount> },
    Participants { voted: u64 },
    AuditCodes { codes: Vec<String> },
}

impl ActaBody {
    pub fn kind(&self) -> ActaKind {
        match self {
            Self::Constitution { .. } => ActaKind::Constitution,
            Self::Results { .. } => ActaKind::Results,
            Self::Participants { .. } => ActaKind::Participants,
            Self::AuditCodes { .. } => ActaKind::AuditCodes,
        }
    }
}

/// The document the members sign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ActaDocument {
    pub format: String,
    pub election_id: String,
    pub mesa: String,
    /// RFC 3339, UTC, whole seconds (`2027-06-06T08:00:00Z`).
    pub signed_at: String,
    pub body: ActaBody,
}

fn strictly_sorted(items: &[String]) -> bool {
    items.windows(2).all(|w| w[0] < w[1])
}

impl ActaDocument {
    pub fn new(election_id: &str, mesa: &str, signed_at: jiff::Timestamp, body: ActaBody) -> Self {
        let whole = jiff::Timestamp::from_second(signed_at.as_second()).unwrap_or(signed_at);
        Self {
            format: FORMAT.into(),
            election_id: election_id.into(),
            mesa: mesa.into(),
            signed_at: whole.to_string(),
            body,
        }
    }

    pub fn kind(&self) -> ActaKind {
        self.body.kind()
    }

    /// Refuses a document with a second spelling or out of its kind's form (the rules of the module docs
    /// that need no manifest: [`check_figures`] holds the rest).
    pub fn check(&self) -> Result<(), ActaError> {
        if self.format != FORMAT {
            return Err(malformed(format!("format {:?}: expected {FORMAT:?}", self.format)));
        }
        let at: jiff::Timestamp =
            self.signed_at.parse().map_err(|e| malformed(format!("signedAt {:?}: {e}", self.signed_at)))?;
        if at.subsec_nanosecond() != 0 || at.to_string() != self.signed_at {
            return Err(malformed(format!(
                "signedAt {:?}: write it as UTC with whole seconds, e.g. {}",
                self.signed_at,
                jiff::Timestamp::from_second(at.as_second()).unwrap_or(at)
            )));
        }
        match &self.body {
            ActaBody::Constitution { members_present } => {
                if members_present.is_empty() || !strictly_sorted(members_present) {
                    return Err(malformed("membersPresent: one or more member ids, sorted, each once"));
                }
            }
            ActaBody::AuditCodes { codes } => {
                let hex64 = |c: &String| c.len() == 64 && c.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'));
                if !codes.iter().all(hex64) || !strictly_sorted(codes) {
                    return Err(malformed("codes: AnonIDs as 64 lowercase hex characters, sorted, each once"));
                }
            }
            ActaBody::Results { .. } | ActaBody::Participants { .. } => {}
        }
        Ok(())
    }

    /// The canonical encoding (module docs).
    pub fn canonical(&self) -> Vec<u8> {
        // Strings, integers, sequences and unit variants: serialising these types cannot fail.
        serde_json::to_vec(self).unwrap_or_default()
    }

    /// SHA-256 of the canonical encoding: the acta's identity in the audit log and on the Mesa resource.
    pub fn digest(&self) -> [u8; 32] {
        Sha256::digest(self.canonical()).into()
    }
}

/// The message member signatures are over (module docs).
pub fn signing_message(election_id: &str, mesa: &str, kind: ActaKind, digest: &[u8; 32]) -> Vec<u8> {
    let mut m = Vec::with_capacity(SIGNATURE_DOMAIN.len() + 1 + election_id.len() + mesa.len() + 64);
    m.extend_from_slice(SIGNATURE_DOMAIN);
    m.push(0);
    for field in [election_id, mesa, kind.as_str()] {
        m.extend_from_slice(&u32::try_from(field.len()).unwrap_or(u32::MAX).to_be_bytes());
        m.extend_from_slice(field.as_bytes());
    }
    m.extend_from_slice(digest);
    m
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct MemberSignature {
    pub member: String,
    /// Ed25519 signature (128 hex characters) over [`signing_message`].
    #[serde(with = "hex::serde")]
    pub signature: Vec<u8>,
}

/// What is submitted and kept: the document and its members' signatures.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SignedActa {
    pub document: ActaDocument,
    #[serde(default)]
    pub signatures: Vec<MemberSignature>,
}

impl SignedActa {
    pub fn unsigned(document: ActaDocument) -> Self {
        Self { document, signatures: Vec::new() }
    }

    /// Adds (or replaces) `member`'s signature made with the 64-byte signature function `sign` (the member's
    /// key), over the message for `election_id` and `mesa`.
    pub fn sign_with(&mut self, member: &str, sign: impl FnOnce(&[u8]) -> [u8; 64]) {
        let d = &self.document;
        let msg = signing_message(&d.election_id, &d.mesa, d.kind(), &d.digest());
        let signature = sign(&msg).to_vec();
        self.signatures.retain(|s| s.member != member);
        self.signatures.push(MemberSignature { member: member.into(), signature });
        self.signatures.sort_by(|a, b| a.member.cmp(&b.member));
    }
}

/// An acta whose signatures and quorum verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    pub digest: [u8; 32],
    /// Members whose signatures verified, sorted.
    pub signers: Vec<String>,
}

/// Checks `acta` for `election_id`'s mesa `mesa` with `members`: canonical form, the election and mesa it
/// names, every signature, the quorum, and (constitution) that the members present are members and include
/// every signer.
pub fn verify(acta: &SignedActa, election_id: &str, mesa: &str, members: &[Member]) -> Result<Verified, ActaError> {
    let d = &acta.document;
    d.check()?;
    if d.election_id != election_id {
        return Err(ActaError::WrongElection { got: d.election_id.clone(), want: election_id.into() });
    }
    if d.mesa != mesa {
        return Err(ActaError::WrongMesa { got: d.mesa.clone(), want: mesa.into() });
    }
    let digest = d.digest();
    let msg = signing_message(election_id, mesa, d.kind(), &digest);
    let mut signers: Vec<&Member> = Vec::new();
    for s in &acta.signatures {
        let member =
            members.iter().find(|m| m.id == s.member).ok_or_else(|| ActaError::UnknownSigner(s.member.clone()))?;
        if signers.iter().any(|m| m.id == member.id) {
            return Err(ActaError::DuplicateSigner(s.member.clone()));
        }
        let bad = || ActaError::BadSignature(s.member.clone());
        let sig = ed25519_dalek::Signature::from_slice(&s.signature).map_err(|_| bad())?;
        let key = ed25519_dalek::VerifyingKey::from_bytes(&member.public_key).map_err(|_| bad())?;
        key.verify_strict(&msg, &sig).map_err(|_| bad())?;
        signers.push(member);
    }
    quorum(members, &signers)?;
    if let ActaBody::Constitution { members_present } = &d.body {
        if let Some(x) = members_present.iter().find(|p| !members.iter().any(|m| &&m.id == p)) {
            return Err(malformed(format!("membersPresent: {x:?} is not a member of this mesa")));
        }
        if let Some(s) = signers.iter().find(|s| !members_present.contains(&s.id)) {
            return Err(malformed(format!("member {:?} signed but is not listed as present", s.id)));
        }
    }
    let mut ids: Vec<String> = signers.iter().map(|m| m.id.clone()).collect();
    ids.sort();
    Ok(Verified { digest, signers: ids })
}

/// The quorum rule (module docs): the president, and one other voting member when the mesa has one.
pub fn quorum(members: &[Member], signers: &[&Member]) -> Result<(), ActaError> {
    if !signers.iter().any(|m| m.role == Role::President) {
        return Err(ActaError::NoQuorum("the president has not signed".into()));
    }
    let voting = |m: &&Member| matches!(m.role, Role::Secretary | Role::Scrutineer);
    if members.iter().any(|m| voting(&m)) && !signers.iter().any(voting) {
        return Err(ActaError::NoQuorum(
            "besides the president, a secretary or scrutineer must sign (observers do not count)".into(),
        ));
    }
    Ok(())
}

/// Checks a results acta's figures against the manifest: the contests of `district`'s ballot style, in
/// manifest order, each with every choice of its numbering in order, and no contest with more votes than
/// `ballots` times its most selections. Other kinds pass.
pub fn check_figures(body: &ActaBody, codec: &BallotCodec, district: &str) -> Result<(), ActaError> {
    let ActaBody::Results { ballots, contests, .. } = body else { return Ok(()) };
    let style = codec.style_contests(district).map_err(|e| malformed(e.to_string()))?;
    let want: Vec<&str> = style.iter().map(|c| c.contest.id.as_str()).collect();
    let got: Vec<&str> = contests.iter().map(|c| c.contest.as_str()).collect();
    if want != got {
        return Err(malformed(format!(
            "contests {got:?}: the ballot of district {district} has {want:?}, in that order"
        )));
    }
    for (c, cc) in contests.iter().zip(&style) {
        let want: Vec<&str> = cc.choices.iter().map(|x| x.id.as_str()).collect();
        let got: Vec<&str> = c.counts.iter().map(|x| x.choice.as_str()).collect();
        if want != got {
            return Err(malformed(format!("contest {}: counts for {got:?}; its choices are {want:?}", c.contest)));
        }
        let most = u64::from(cc.contest.max_selections.unwrap_or(1).max(1));
        let sum = c.counts.iter().try_fold(0u64, |a, x| a.checked_add(x.votes));
        if sum.is_none_or(|s| s > ballots.saturating_mul(most)) {
            return Err(malformed(format!(
                "contest {}: more votes than {ballots} ballots can hold (at most {most} each)",
                c.contest
            )));
        }
    }
    Ok(())
}

/// What the vote service knows of a mesa, against which its actas' figures are checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MesaFacts {
    pub admissions: u64,
    pub booth_ballots: u64,
    /// AnonIDs (hex) of the booth ballots recorded there, sorted.
    pub audit_codes: Vec<String>,
}

/// The figures of participants, audit-code and results actas against what this service recorded: a mesa
/// cannot sign that more voted than it admitted, nor leave out or add a booth ballot.
pub fn check_facts(body: &ActaBody, facts: &MesaFacts) -> Result<(), ActaError> {
    match body {
        ActaBody::Participants { voted } if *voted != facts.admissions => Err(ActaError::Mismatch(format!(
            "voted {voted}: this service admitted {} voters at the mesa",
            facts.admissions
        ))),
        ActaBody::AuditCodes { codes } if *codes != facts.audit_codes => Err(ActaError::Mismatch(format!(
            "{} audit codes: this service recorded {} booth ballots at the mesa, and the codes must be theirs",
            codes.len(),
            facts.audit_codes.len()
        ))),
        ActaBody::Results { source: CountSource::Booths, ballots, .. } if *ballots != facts.booth_ballots => {
            Err(ActaError::Mismatch(format!(
                "ballots {ballots}: this service recorded {} booth ballots at the mesa",
                facts.booth_ballots
            )))
        }
        ActaBody::Results { source: CountSource::Paper, ballots, .. } if *ballots > facts.admissions => {
            Err(ActaError::Mismatch(format!(
                "ballots {ballots}: more paper ballots than the {} voters admitted at the mesa",
                facts.admissions
            )))
        }
        _ => Ok(()),
    }
}

/// The audit log event of an accepted acta: kind `acta`, its digest, and a detail naming the mesa and kind
/// (fixed for a given acta, so a repeated append finds the same leaf).
pub fn log_event(mesa: &str, kind: ActaKind, digest: [u8; 32]) -> urna_audit::LogEntry {
    urna_audit::LogEntry::Event {
        kind: urna_audit::EventKind::Acta,
        digest,
        detail: format!("mesa {mesa} acta {}", kind.as_str()),
    }
}

#[cfg(test)]
mod tests {
    use ed25519_dalek::{Signer, SigningKey};

    use super::*;

    fn key(n: u8) -> SigningKey {
        SigningKey::from_bytes(&[n; 32])
    }

    fn members() -> Vec<Member> {
        let m = |id: &str, role, n| Member { id: id.into(), role, public_key: key(n).verifying_key().to_bytes() };
        vec![m("ana", Role::President, 1), m("bea", Role::Secretary, 2), m("ciro", Role::Observer, 3)]
    }

    fn doc(body: ActaBody) -> ActaDocument {
        ActaDocument::new("e-2027", "m1", "2027-06-06T08:00:00Z".parse().expect("time"), body)
    }

    fn signed(d: ActaDocument, by: &[(&str, u8)]) -> SignedActa {
        let mut a = SignedActa::unsigned(d);
        for (m, n) in by {
            a.sign_with(m, |msg| key(*n).sign(msg).to_bytes());
        }
        a
    }

    fn constitution() -> ActaDocument {
        doc(ActaBody::Constitution { members_present: vec!["ana".into(), "bea".into(), "ciro".into()] })
    }

    #[test]
    fn canonical_form_is_fixed_and_parses_back_to_itself() {
        let d = doc(ActaBody::Participants { voted: 7 });
        let bytes = d.canonical();
        assert_eq!(
            String::from_utf8(bytes.clone()).expect("utf8"),
            r#"{"format":"urna-acta/1","electionId":"e-2027","mesa":"m1","signedAt":"2027-06-06T08:00:00Z","body":{"kind":"participants","voted":7}}"#
        );
        let back: ActaDocument = serde_json::from_slice(&bytes).expect("parse");
        assert_eq!(back.canonical(), bytes);
        // Pretty-printed or reordered input is the same document, with the same digest.
        let pretty = serde_json::to_string_pretty(&serde_json::json!({"body": {"voted": 7, "kind": "participants"},
            "signedAt": "2027-06-06T08:00:00Z", "mesa": "m1", "electionId": "e-2027", "format": "urna-acta/1"}))
        .expect("json");
        let again: ActaDocument = serde_json::from_str(&pretty).expect("parse");
        assert_eq!(again.digest(), d.digest());
        // Unknown fields are refused, in the document and in its body.
        let extra = r#"{"format":"urna-acta/1","electionId":"e","mesa":"m","signedAt":"2027-06-06T08:00:00Z","body":{"kind":"participants","voted":7,"who":["x"]}}"#;
        assert!(serde_json::from_str::<ActaDocument>(extra).is_err());
    }

    #[test]
    fn second_spellings_are_refused() {
        let mut d = constitution();
        d.signed_at = "2027-06-06T08:00:00.5Z".into();
        assert!(matches!(d.check(), Err(ActaError::Malformed(_))));
        d.signed_at = "2027-06-06T10:00:00+02:00".into();
        assert!(matches!(d.check(), Err(ActaError::Malformed(_))));
        let d = doc(ActaBody::Constitution { members_present: vec!["bea".into(), "ana".into()] });
        assert!(d.check().is_err(), "unsorted");
        let d = doc(ActaBody::AuditCodes { codes: vec!["AB".repeat(32)] });
        assert!(d.check().is_err(), "uppercase hex");
        assert!(doc(ActaBody::AuditCodes { codes: vec!["ab".repeat(32)] }).check().is_ok());
    }

    #[test]
    fn president_and_one_voting_member_make_a_quorum() {
        let ok = signed(constitution(), &[("ana", 1), ("bea", 2)]);
        let v = verify(&ok, "e-2027", "m1", &members()).expect("verifies");
        assert_eq!(v.signers, ["ana", "bea"]);
        assert_eq!(v.digest, constitution().digest());
        let observer_only = signed(constitution(), &[("ana", 1), ("ciro", 3)]);
        assert!(matches!(verify(&observer_only, "e-2027", "m1", &members()), Err(ActaError::NoQuorum(_))));
        let no_president = signed(constitution(), &[("bea", 2), ("ciro", 3)]);
        assert!(matches!(verify(&no_president, "e-2027", "m1", &members()), Err(ActaError::NoQuorum(_))));
        // A mesa whose only voting member is its president: the president suffices.
        let alone = &members()[..1];
        let d = doc(ActaBody::Participants { voted: 1 });
        assert!(verify(&signed(d, &[("ana", 1)]), "e-2027", "m1", alone).is_ok());
    }

    #[test]
    fn forged_foreign_and_repeated_signatures_are_refused() {
        let ms = members();
        // Signed by a key that is not the member's.
        let forged = signed(constitution(), &[("ana", 1), ("bea", 9)]);
        assert_eq!(verify(&forged, "e-2027", "m1", &ms), Err(ActaError::BadSignature("bea".into())));
        // A non-member.
        let mut stranger = signed(constitution(), &[("ana", 1), ("bea", 2)]);
        stranger.sign_with("zoe", |m| key(4).sign(m).to_bytes());
        assert_eq!(verify(&stranger, "e-2027", "m1", &ms), Err(ActaError::UnknownSigner("zoe".into())));
        // The same signature twice.
        let mut twice = signed(constitution(), &[("ana", 1), ("bea", 2)]);
        let first = twice.signatures[0].clone();
        twice.signatures.push(first);
        assert_eq!(verify(&twice, "e-2027", "m1", &ms), Err(ActaError::DuplicateSigner("ana".into())));
        // Figures changed after signing.
        let mut edited = signed(doc(ActaBody::Participants { voted: 5 }), &[("ana", 1), ("bea", 2)]);
        edited.document.body = ActaBody::Participants { voted: 6 };
        assert!(matches!(verify(&edited, "e-2027", "m1", &ms), Err(ActaError::BadSignature(_))));
    }

    #[test]
    fn signatures_bind_the_election_and_the_mesa() {
        let ms = members();
        let a = signed(constitution(), &[("ana", 1), ("bea", 2)]);
        assert!(matches!(verify(&a, "e-2027", "m2", &ms), Err(ActaError::WrongMesa { .. })));
        assert!(matches!(verify(&a, "e-2028", "m1", &ms), Err(ActaError::WrongElection { .. })));
        // Rewriting the document's mesa to the verifier's does not carry the signatures over.
        let mut moved = a.clone();
        moved.document.mesa = "m2".into();
        assert!(matches!(verify(&moved, "e-2027", "m2", &ms), Err(ActaError::BadSignature(_))));
        let m1 = signing_message("e", "m1", ActaKind::Results, &[0; 32]);
        assert_ne!(m1, signing_message("e", "m1", ActaKind::Participants, &[0; 32]));
        assert_ne!(
            signing_message("e1", "m", ActaKind::Results, &[0; 32]),
            signing_message("e", "1m", ActaKind::Results, &[0; 32])
        );
    }

    #[test]
    fn constitution_lists_members_and_signers() {
        let ms = members();
        let d = doc(ActaBody::Constitution { members_present: vec!["ana".into(), "bea".into(), "zed".into()] });
        assert!(matches!(
            verify(&signed(d, &[("ana", 1), ("bea", 2)]), "e-2027", "m1", &ms),
            Err(ActaError::Malformed(_))
        ));
        let d = doc(ActaBody::Constitution { members_present: vec!["ana".into(), "ciro".into()] });
        assert!(matches!(
            verify(&signed(d, &[("ana", 1), ("bea", 2)]), "e-2027", "m1", &ms),
            Err(ActaError::Malformed(_))
        ));
    }

    #[test]
    fn figures_are_checked_against_the_mesa() {
        let facts = MesaFacts { admissions: 3, booth_ballots: 2, audit_codes: vec!["aa".repeat(32), "bb".repeat(32)] };
        assert!(check_facts(&ActaBody::Participants { voted: 3 }, &facts).is_ok());
        assert!(matches!(check_facts(&ActaBody::Participants { voted: 4 }, &facts), Err(ActaError::Mismatch(_))));
        let codes = |c: &[&str]| ActaBody::AuditCodes { codes: c.iter().map(|x| x.repeat(32)).collect() };
        assert!(check_facts(&codes(&["aa", "bb"]), &facts).is_ok());
        assert!(check_facts(&codes(&["aa"]), &facts).is_err());
        let results = |source, ballots| ActaBody::Results { source, ballots, contests: vec![] };
        assert!(check_facts(&results(CountSource::Booths, 2), &facts).is_ok());
        assert!(check_facts(&results(CountSource::Booths, 3), &facts).is_err());
        assert!(check_facts(&results(CountSource::Paper, 3), &facts).is_ok());
        assert!(check_facts(&results(CountSource::Paper, 4), &facts).is_err());
    }

    #[test]
    fn public_keys_in_hex_or_pem() {
        use base64::Engine as _;
        let pk = key(1).verifying_key().to_bytes();
        assert_eq!(parse_public_key(&hex::encode(pk)), Ok(pk));
        let mut der = ED25519_SPKI_PREFIX.to_vec();
        der.extend_from_slice(&pk);
        let pem = format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            base64::engine::general_purpose::STANDARD.encode(&der)
        );
        assert_eq!(parse_public_key(&pem), Ok(pk));
        assert!(parse_public_key("abcd").is_err());
        let m: Result<Member, _> = serde_json::from_str(r#"{"id":"x","role":"president","publicKey":"zz"}"#);
        assert!(m.is_err());
    }
}
