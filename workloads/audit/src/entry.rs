//! Log entries and their canonical byte encoding (the bytes a leaf hash is taken over).
//!
//! ```text
//! entry   = version:u8 (0x01) || type:u8 || body
//! ballot  : type 0x01, body = anon_id[32]                                   (34 bytes in all)
//! event   : type 0x02, body = kind:u8 || digest[32] || len:u32be || detail  (UTF-8, len <= 4096)
//! ```
//!
//! Event kinds: `0x01` open, `0x02` close, `0x03` manifest, `0x04` ceremony-transcript, `0x05` acta,
//! `0x06` snapshot, `0x07` shard-sealed, `0x08` officer-action. Every field is fixed-width except `detail`,
//! which is last and length-prefixed, so the encoding is injective; [`LogEntry::decode`] accepts exactly the bytes
//! [`LogEntry::encode`] produces (no trailing bytes, no unknown codes, no invalid UTF-8), so one entry has
//! one encoding and one leaf hash.

use serde::{Deserialize, Serialize};

use crate::merkle::{Hash, leaf_hash};

/// The encoding's version byte; a new layout gets a new version, never a reinterpretation.
pub const ENCODING_VERSION: u8 = 0x01;
const TYPE_BALLOT: u8 = 0x01;
const TYPE_EVENT: u8 = 0x02;
/// The longest event `detail`, in bytes: a description or a URL, not a payload (payloads go by `digest`).
pub const MAX_DETAIL_LEN: usize = 4096;

/// One leaf of the audit log.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case", deny_unknown_fields)]
pub enum LogEntry {
    /// An accepted ballot, by its anonymous id `AnonID = H(ballot package)`.
    Ballot {
        #[serde(with = "hex::serde")]
        anon_id: [u8; 32],
    },
    /// An election event: what happened (`kind`), the SHA-256 of the document it concerns (`digest`), and a
    /// short human-readable `detail`.
    Event {
        kind: EventKind,
        #[serde(with = "hex::serde")]
        digest: [u8; 32],
        #[serde(default)]
        detail: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EventKind {
    Open,
    Close,
    Manifest,
    CeremonyTranscript,
    Acta,
    Snapshot,
    ShardSealed,
    /// A regional officer's action on the operations centre (a device locked, an alert resolved...).
    OfficerAction,
}

impl EventKind {
    pub fn code(self) -> u8 {
        match self {
            Self::Open => 0x01,
            Self::Close => 0x02,
            Self::Manifest => 0x03,
            Self::CeremonyTranscript => 0x04,
            Self::Acta => 0x05,
            Self::Snapshot => 0x06,
            Self::ShardSealed => 0x07,
            Self::OfficerAction => 0x08,
        }
    }

    pub fn from_code(code: u8) -> Option<Self> {
        Some(match code {
            0x01 => Self::Open,
            0x02 => Self::Close,
            0x03 => Self::Manifest,
            0x04 => Self::CeremonyTranscript,
            0x05 => Self::Acta,
            0x06 => Self::Snapshot,
            0x07 => Self::ShardSealed,
            0x08 => Self::OfficerAction,
            _ => return None,
        })
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EntryError {
    #[error("entry is {len} bytes; too short for its header")]
    Truncated { len: usize },
    #[error("unknown entry encoding version {0:#04x}")]
    UnknownVersion(u8),
    #[error("unknown entry type {0:#04x}")]
    UnknownType(u8),
    #[error("unknown event kind {0:#04x}")]
    UnknownEventKind(u8),
    #[error("entry of type {kind} must be {expected} bytes, got {got}")]
    WrongLength { kind: &'static str, expected: usize, got: usize },
    #[error("event detail is {0} bytes; the limit is {MAX_DETAIL_LEN}")]
    DetailTooLong(usize),
    #[error("event detail is not valid UTF-8")]
    DetailNotUtf8,
}

impl LogEntry {
    /// Checks what the type system cannot: the detail's length.
    pub fn validate(&self) -> Result<(), EntryError> {
        match self {
            Self::Event { detail, .. } if detail.len() > MAX_DETAIL_LEN => Err(EntryError::DetailTooLong(detail.len())),
            _ => Ok(()),
        }
    }

    /// The canonical encoding (module docs). Call [`Self::validate`] first for entries from outside: a
    /// detail over the limit is encoded anyway but cannot be decoded.
    pub fn encode(&self) -> Vec<u8> {
        match self {
            Self::Ballot { anon_id } => {
                let mut out = Vec::with_capacity(34);
                out.extend([ENCODING_VERSION, TYPE_BALLOT]);
                out.extend(anon_id);
                out
            }
            Self::Event { kind, digest, detail } => {
                let mut out = Vec::with_capacity(39 + detail.len());
                out.extend([ENCODING_VERSION, TYPE_EVENT, kind.code()]);
                out.extend(digest);
                // Details over u32::MAX bytes cannot exist past `validate`; saturate rather than wrap.
                out.extend(u32::try_from(detail.len()).unwrap_or(u32::MAX).to_be_bytes());
                out.extend(detail.as_bytes());
                out
            }
        }
    }

    pub fn decode(bytes: &[u8]) -> Result<Self, EntryError> {
        let [version, kind, body @ ..] = bytes else {
            return Err(EntryError::Truncated { len: bytes.len() });
        };
        if *version != ENCODING_VERSION {
            return Err(EntryError::UnknownVersion(*version));
        }
        match *kind {
            TYPE_BALLOT => {
                let anon_id: [u8; 32] = body.try_into().map_err(|_| EntryError::WrongLength {
                    kind: "ballot",
                    expected: 34,
                    got: bytes.len(),
                })?;
                Ok(Self::Ballot { anon_id })
            }
            TYPE_EVENT => {
                let [code, rest @ ..] = body else {
                    return Err(EntryError::Truncated { len: bytes.len() });
                };
                let kind = EventKind::from_code(*code).ok_or(EntryError::UnknownEventKind(*code))?;
                let (digest, rest) =
                    rest.split_first_chunk::<32>().ok_or(EntryError::Truncated { len: bytes.len() })?;
                let (len, detail) = rest.split_first_chunk::<4>().ok_or(EntryError::Truncated { len: bytes.len() })?;
                let len = u32::from_be_bytes(*len) as usize;
                if len > MAX_DETAIL_LEN {
                    return Err(EntryError::DetailTooLong(len));
                }
                if detail.len() != len {
                    return Err(EntryError::WrongLength { kind: "event", expected: 39 + len, got: bytes.len() });
                }
                let detail = std::str::from_utf8(detail).map_err(|_| EntryError::DetailNotUtf8)?;
                Ok(Self::Event { kind, digest: *digest, detail: detail.to_owned() })
            }
            other => Err(EntryError::UnknownType(other)),
        }
    }

    /// `SHA-256(0x00 || encode())`.
    pub fn leaf_hash(&self) -> Hash {
        leaf_hash(&self.encode())
    }

    pub fn is_ballot(&self) -> bool {
        matches!(self, Self::Ballot { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ballot_encoding_is_fixed() {
        let e = LogEntry::Ballot { anon_id: [0xab; 32] };
        let bytes = e.encode();
        assert_eq!(bytes.len(), 34);
        assert_eq!(&bytes[..2], &[0x01, 0x01]);
        assert_eq!(LogEntry::decode(&bytes), Ok(e));
    }

    #[test]
    fn event_round_trips_and_rejects_trailing_bytes() {
        let e = LogEntry::Event { kind: EventKind::Acta, digest: [7; 32], detail: "mesa 12 results".into() };
        let mut bytes = e.encode();
        assert_eq!(&bytes[..3], &[0x01, 0x02, 0x05]);
        assert_eq!(&bytes[35..39], &15u32.to_be_bytes());
        assert_eq!(LogEntry::decode(&bytes), Ok(e));
        bytes.push(0);
        assert!(matches!(LogEntry::decode(&bytes), Err(EntryError::WrongLength { .. })));
    }

    #[test]
    fn decode_rejects_malformed() {
        assert!(LogEntry::decode(&[]).is_err());
        assert!(LogEntry::decode(&[0x02, 0x01]).is_err());
        assert!(LogEntry::decode(&[0x01, 0x09]).is_err());
        assert!(LogEntry::decode(&[0x01, 0x02, 0x42]).is_err());
        let mut bad_utf8 = LogEntry::Event { kind: EventKind::Open, digest: [0; 32], detail: "x".into() }.encode();
        let last = bad_utf8.len() - 1;
        bad_utf8[last] = 0xff;
        assert_eq!(LogEntry::decode(&bad_utf8), Err(EntryError::DetailNotUtf8));
    }

    #[test]
    fn json_form() {
        let e: LogEntry = serde_json::from_str(&format!(
            r#"{{"type":"event","kind":"ceremony-transcript","digest":"{}","detail":"t"}}"#,
            "00".repeat(32)
        ))
        .expect("valid JSON entry");
        assert_eq!(e, LogEntry::Event { kind: EventKind::CeremonyTranscript, digest: [0; 32], detail: "t".into() });
        assert!(serde_json::from_str::<LogEntry>(r#"{"type":"ballot","anon_id":"00"}"#).is_err());
    }
}
