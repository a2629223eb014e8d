//! Where each part of the record lives (docs/record.md lists them with their formats).

use std::path::{Path, PathBuf};

/// A record directory.
#[derive(Debug, Clone)]
pub struct RecordDir {
    root: PathBuf,
}

impl RecordDir {
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `record.json`: what the record is of (election, manifest hash, key, shards).
    pub fn index(&self) -> PathBuf {
        self.root.join("record.json")
    }

    pub fn manifest(&self) -> PathBuf {
        self.root.join("manifest.json")
    }

    /// The ceremony's threshold public key.
    pub fn threshold_public_key(&self) -> PathBuf {
        self.root.join("keys/threshold-public.json")
    }

    pub fn ceremony_transcript(&self) -> PathBuf {
        self.root.join("keys/ceremony-transcript.json")
    }

    /// The audit log's origin and Ed25519 public key.
    pub fn audit_key(&self) -> PathBuf {
        self.root.join("keys/audit-log.json")
    }

    /// Each vote service's voting-right key and close-time counts.
    pub fn vote_services(&self) -> PathBuf {
        self.root.join("vote-services.json")
    }

    /// Every accepted ballot package, one JSON object per line, in AnonID order.
    pub fn ballots(&self) -> PathBuf {
        self.root.join("ballots.jsonl")
    }

    pub fn shard_dir(&self, shard: &str) -> PathBuf {
        self.root.join("shards").join(shard)
    }

    /// A shard's log records, one per line, in sequence order.
    pub fn shard_records(&self, shard: &str) -> PathBuf {
        self.shard_dir(shard).join("records.jsonl")
    }

    /// A shard's sealed totals.
    pub fn shard_totals(&self, shard: &str) -> PathBuf {
        self.shard_dir(shard).join("totals.json")
    }

    pub fn audit_entries(&self) -> PathBuf {
        self.root.join("audit/entries.jsonl")
    }

    pub fn audit_checkpoints(&self) -> PathBuf {
        self.root.join("audit/checkpoints.jsonl")
    }

    /// What the trustees are asked to decrypt (derived from the sealed totals).
    pub fn decryption_request(&self) -> PathBuf {
        self.root.join("decryption/request.json")
    }

    /// Trustee `i`'s partial decryptions of the request.
    pub fn trustee_partials(&self, trustee: u32) -> PathBuf {
        self.root.join(format!("decryption/trustee-{trustee}.json"))
    }

    pub fn results(&self) -> PathBuf {
        self.root.join("results.json")
    }
}

/// A shard name is a path component of the record: refuse anything that could leave the directory.
pub fn check_shard_name(name: &str) -> Result<(), String> {
    let ok = !name.is_empty()
        && name.len() <= 253
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        && !name.starts_with('.');
    if ok { Ok(()) } else { Err(format!("shard name {name:?} must be [A-Za-z0-9._-]+ and not start with '.'")) }
}
