//! Checkpoints: signed statements "the log `origin` had `size` entries with root `root` at `timestamp`",
//! written as C2SP signed notes (<https://c2sp.org/signed-note>) whose text follows C2SP tlog-checkpoint
//! (<https://c2sp.org/tlog-checkpoint>), so existing witnesses and note verifiers can read them.
//!
//! The signed text (the note body), every line ending in `\n`:
//!
//! ```text
//! <origin>                  the log's name; also the name its key signs under
//! <size>                    decimal, no leading zeros
//! <base64 root>             standard base64 (RFC 4648 §4, padded) of the 32-byte RFC 6962 root
//! timestamp <unix seconds>  extension line: when the log signed
//! closed                    extension line, only in the final checkpoint: the log accepts nothing more
//! ```
//!
//! tlog-checkpoint allows extension lines (it does not recommend them); we need the two above signed, so
//! that a checkpoint's age and the log's end (Medusa's "last batch" marker) cannot be forged or dropped.
//!
//! The note is the body, a blank line, then one line per signature: `— <name> <base64(key id || sig)>`,
//! where `sig` is Ed25519 over the body's bytes and the key id is the first 4 bytes of
//! `SHA-256(<name> || 0x0A || 0x01 || <32-byte Ed25519 public key>)`. The log signs under its origin;
//! witnesses sign the same body under their own names (a plain Ed25519 note signature).

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use ed25519_dalek::{Signature, VerifyingKey};
use sha2::{Digest, Sha256};

use crate::merkle::Hash;

/// The signed-note algorithm byte for Ed25519.
const ALG_ED25519: u8 = 0x01;
/// The signature line's leading "— " (U+2014 EM DASH, space).
const SIG_PREFIX: &str = "\u{2014} ";
/// The longest origin or witness name we accept; names appear in every note.
pub const MAX_NAME_LEN: usize = 256;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CheckpointError {
    #[error("invalid name {0:?}: it must be 1..=256 characters with no whitespace and no '+'")]
    InvalidName(String),
    #[error("checkpoint body line {line}: {reason}")]
    Malformed { line: usize, reason: &'static str },
    #[error("note has no signature block (a blank line, then signature lines)")]
    NoSignatures,
    #[error("malformed signature line {0:?}")]
    MalformedSignatureLine(String),
    #[error("no signature by {name} with key id {key_id}")]
    MissingSignature { name: String, key_id: String },
    #[error("the signature by {name} does not verify")]
    BadSignature { name: String },
    #[error("invalid Ed25519 public key")]
    InvalidPublicKey,
}

/// A checkpoint's content (the signed fields).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub origin: String,
    pub size: u64,
    pub root: Hash,
    /// Seconds since the Unix epoch when the log signed.
    pub timestamp: u64,
    /// Set only in the final checkpoint, written at close.
    pub closed: bool,
}

/// Note names (origins, witness names): non-empty, no Unicode whitespace, no `+` (C2SP signed-note).
pub fn validate_name(name: &str) -> Result<(), CheckpointError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && !name.chars().any(|c| c.is_whitespace() || c == '+' || c.is_control());
    if ok { Ok(()) } else { Err(CheckpointError::InvalidName(name.to_owned())) }
}

impl Checkpoint {
    /// The exact bytes that are signed (module docs).
    pub fn body(&self) -> String {
        let mut s =
            format!("{}\n{}\n{}\ntimestamp {}\n", self.origin, self.size, BASE64.encode(self.root), self.timestamp);
        if self.closed {
            s.push_str("closed\n");
        }
        s
    }

    /// Parses a body strictly: it must be byte-for-byte what [`Self::body`] would write.
    pub fn parse(body: &str) -> Result<Self, CheckpointError> {
        let malformed = |line, reason| CheckpointError::Malformed { line, reason };
        let text = body.strip_suffix('\n').ok_or(malformed(0, "the body must end with a newline"))?;
        let lines: Vec<&str> = text.split('\n').collect();
        if lines.len() < 4 || lines.len() > 5 {
            return Err(malformed(lines.len(), "expected 4 or 5 lines"));
        }
        let origin = lines[0];
        validate_name(origin).map_err(|_| malformed(1, "invalid origin"))?;
        let size: u64 = lines[1].parse().map_err(|_| malformed(2, "size is not a decimal integer"))?;
        if size.to_string() != lines[1] {
            return Err(malformed(2, "size is not in canonical decimal"));
        }
        let root: Hash = BASE64
            .decode(lines[2])
            .ok()
            .and_then(|b| b.try_into().ok())
            .ok_or(malformed(3, "root is not base64 of 32 bytes"))?;
        let timestamp = lines[3]
            .strip_prefix("timestamp ")
            .and_then(|t| t.parse::<u64>().ok().filter(|v| v.to_string() == t))
            .ok_or(malformed(4, "expected `timestamp <unix seconds>`"))?;
        let closed = match lines.get(4) {
            None => false,
            Some(&"closed") => true,
            Some(_) => return Err(malformed(5, "the only allowed fifth line is `closed`")),
        };
        let cp = Self { origin: origin.to_owned(), size, root, timestamp, closed };
        // Canonical base64 and no stray characters: the parse must re-encode to the same bytes.
        if cp.body() != body {
            return Err(malformed(3, "root is not in canonical base64"));
        }
        Ok(cp)
    }
}

/// The signed-note key id of an Ed25519 key under `name`.
pub fn key_id(name: &str, public_key: &[u8; 32]) -> [u8; 4] {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n', ALG_ED25519]);
    h.update(public_key);
    let d = h.finalize();
    [d[0], d[1], d[2], d[3]]
}

/// The signed-note verifier key string `<name>+<hex key id>+<base64(0x01 || public key)>`, which Go's
/// `golang.org/x/mod/sumdb/note` and witnesses accept as is.
pub fn verifier_key(name: &str, public_key: &[u8; 32]) -> String {
    let mut k = vec![ALG_ED25519];
    k.extend(public_key);
    format!("{name}+{}+{}", hex::encode(key_id(name, public_key)), BASE64.encode(k))
}

/// One signature line of a note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoteSignature {
    pub name: String,
    pub key_id: [u8; 4],
    pub signature: [u8; 64],
}

impl NoteSignature {
    pub fn line(&self) -> String {
        let mut blob = Vec::with_capacity(68);
        blob.extend(self.key_id);
        blob.extend(self.signature);
        format!("{SIG_PREFIX}{} {}\n", self.name, BASE64.encode(blob))
    }

    /// Parses one line (without its newline).
    pub fn parse_line(line: &str) -> Result<Self, CheckpointError> {
        let bad = || CheckpointError::MalformedSignatureLine(line.to_owned());
        let rest = line.strip_prefix(SIG_PREFIX).ok_or_else(bad)?;
        let (name, sig) = rest.split_once(' ').ok_or_else(bad)?;
        validate_name(name).map_err(|_| bad())?;
        let blob = BASE64.decode(sig).map_err(|_| bad())?;
        // Ed25519 lines are exactly key id (4) + signature (64); other algorithms are not ours to read.
        let (id, signature) = blob.split_first_chunk::<4>().ok_or_else(bad)?;
        let signature: [u8; 64] = signature.try_into().map_err(|_| bad())?;
        Ok(Self { name: name.to_owned(), key_id: *id, signature })
    }

    /// Checks this signature against `body` under `public_key`, including that the key id matches.
    pub fn verify(&self, body: &str, public_key: &[u8; 32]) -> Result<(), CheckpointError> {
        let bad = || CheckpointError::BadSignature { name: self.name.clone() };
        if key_id(&self.name, public_key) != self.key_id {
            return Err(bad());
        }
        let vk = VerifyingKey::from_bytes(public_key).map_err(|_| CheckpointError::InvalidPublicKey)?;
        // verify_strict refuses small-order keys and non-canonical signatures: one valid signature per message.
        vk.verify_strict(body.as_bytes(), &Signature::from_bytes(&self.signature)).map_err(|_| bad())?;
        Ok(())
    }
}

/// A note split into its body and signature lines, without verifying anything yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Note {
    pub body: String,
    pub signatures: Vec<NoteSignature>,
}

impl Note {
    pub fn parse(text: &str) -> Result<Self, CheckpointError> {
        // The body never contains a blank line, so the first "\n\n" ends it.
        let split = text.find("\n\n").ok_or(CheckpointError::NoSignatures)?;
        let (body, sigs) = (&text[..=split], &text[split + 2..]);
        let sigs = sigs.strip_suffix('\n').ok_or(CheckpointError::NoSignatures)?;
        let signatures = sigs.split('\n').map(NoteSignature::parse_line).collect::<Result<Vec<_>, _>>()?;
        if signatures.is_empty() {
            return Err(CheckpointError::NoSignatures);
        }
        Ok(Self { body: body.to_owned(), signatures })
    }

    pub fn text(&self) -> String {
        let mut s = self.body.clone();
        s.push('\n');
        for sig in &self.signatures {
            s.push_str(&sig.line());
        }
        s
    }

    /// Finds and verifies the signature of `name` under `public_key`.
    pub fn verify(&self, name: &str, public_key: &[u8; 32]) -> Result<(), CheckpointError> {
        let id = key_id(name, public_key);
        let sig = self
            .signatures
            .iter()
            .find(|s| s.name == name && s.key_id == id)
            .ok_or_else(|| CheckpointError::MissingSignature { name: name.to_owned(), key_id: hex::encode(id) })?;
        sig.verify(&self.body, public_key)
    }
}

/// Parses a checkpoint note and verifies the log's signature (the log signs under its origin).
pub fn open_checkpoint(note: &str, log_public_key: &[u8; 32]) -> Result<Checkpoint, CheckpointError> {
    let note = Note::parse(note)?;
    let cp = Checkpoint::parse(&note.body)?;
    note.verify(&cp.origin, log_public_key)?;
    Ok(cp)
}

/// A witness's cosignature: its name, Ed25519 key and signature over a checkpoint body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cosignature {
    pub name: String,
    pub public_key: [u8; 32],
    pub signature: [u8; 64],
}

impl Cosignature {
    pub fn note_signature(&self) -> NoteSignature {
        NoteSignature {
            name: self.name.clone(),
            key_id: key_id(&self.name, &self.public_key),
            signature: self.signature,
        }
    }

    pub fn verify(&self, body: &str) -> Result<(), CheckpointError> {
        validate_name(&self.name)?;
        self.note_signature().verify(body, &self.public_key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(closed: bool) -> Checkpoint {
        Checkpoint { origin: "urna.example/e1".into(), size: 1234, root: [9; 32], timestamp: 1_700_000_000, closed }
    }

    #[test]
    fn body_round_trips() {
        for closed in [false, true] {
            let cp = sample(closed);
            assert_eq!(Checkpoint::parse(&cp.body()), Ok(cp));
        }
        let body = sample(false).body();
        assert_eq!(body, "urna.example/e1\n1234\nCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk=\ntimestamp 1700000000\n");
    }

    #[test]
    fn body_parse_is_strict() {
        let good = sample(false).body();
        for bad in [
            good.replace("1234", "01234"),
            good.replace("timestamp", "time"),
            good.trim_end().to_owned(),
            format!("{good}extra\n"),
            good.replace("urna.example/e1", "a b"),
        ] {
            assert!(Checkpoint::parse(&bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn names() {
        assert!(validate_name("example.com/log").is_ok());
        for bad in ["", "a b", "a+b", "a\nb"] {
            assert!(validate_name(bad).is_err());
        }
    }
}
