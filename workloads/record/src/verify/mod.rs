//! `urna verify record DIR`: checks the whole record from its files alone, in the order a reader would, and
//! stops at the first failure, naming the check and what failed.
//!
//! 1. [`context`]: format, manifest (and its hash), threshold key against the ceremony transcript; with a trust
//!    file ([`trust`]), every key of the record against the trusted fingerprints.
//! 2. [`ballots`]: every package: AnonID, prepared message, voting-right signature, one ballot per signature,
//!    shape and every validity proof (batched).
//! 3. [`shards`]: every shard's hash chain from genesis, each record an exact contest of a recorded ballot of a
//!    style the shard holds, each (ballot, contest) in exactly one shard, the totals refolded and digested
//!    against the sealed ones.
//! 4. [`audit_log`]: every entry's encoding and leaf hash, every checkpoint's signature and root, the final
//!    closed checkpoint covering the whole log, the log's AnonIDs exactly the record's ballots.
//! 5. [`decryption`]: the request is exactly the sealed totals; every partial's proof; any `t` combine.
//! 6. [`tabulation`]: the published results are the decoded plaintexts (counter slots checked).
//! 7. [`equalities`]: ballots tallied = AnonIDs logged = ballots recorded by the vote services, and no more
//!    ballots than voting rights, per modality and in all.
//! 8. [`events`]: the election events in the log carry the record's digests, in a legal order
//!    (`crate::events`), each breach named by its log position.

mod audit_log;
mod ballots;
mod context;
mod decryption;
mod equalities;
mod events;
mod shards;
mod tabulation;
pub mod trust;

use serde::Serialize;

use crate::layout::RecordDir;

/// The first check that failed and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{check}: {detail}")]
pub struct VerifyFailure {
    pub check: &'static str,
    pub detail: String,
}

impl VerifyFailure {
    pub(crate) fn new(check: &'static str, detail: impl Into<String>) -> Self {
        Self { check, detail: detail.into() }
    }
}

pub(crate) type Checked<T> = Result<T, VerifyFailure>;

/// What a successful verification established.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    pub election_id: String,
    pub manifest_hash: String,
    pub ballots: u64,
    pub proofs_verified: u64,
    pub shards: u64,
    pub shard_records: u64,
    pub audit_entries: u64,
    pub audit_checkpoints: u64,
    pub totals_decrypted: u64,
    pub trustees_used: Vec<u32>,
    /// Trustee answers set aside, each naming the trustee and why (for a wrong partial, which one); the others
    /// sufficed.
    pub rejected_partials: Vec<String>,
    pub rights_issued: u64,
    /// Whether the record's keys were compared with a trust file (`false`: the record was only checked for
    /// consistency with its own keys).
    pub keys_pinned: bool,
    /// One line per check passed, in order, for people.
    pub checks: Vec<String>,
    /// Facts that are not failures but deserve a reader's attention (unused voting rights, rejected partials).
    pub notes: Vec<String>,
}

/// Progress of a long step: its name, items done and items in all.
pub type Progress<'a> = &'a (dyn Fn(&str, u64, u64) + Sync);

/// Verifies the record in directory `dir`; with `trust` (a trust file's path), its keys must be the file's
/// (`urna verify record`, `urna local`, `urna voters run`).
pub fn verify_record_dir(
    dir: &std::path::Path,
    trust: Option<&std::path::Path>,
    progress: Progress<'_>,
) -> Result<Summary, VerifyFailure> {
    let trust = match trust {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| VerifyFailure::new("trust", format!("reading {}: {e}", path.display())))?;
            Some(trust::TrustFile::from_json(&text)?)
        }
        None => None,
    };
    verify_record(&RecordDir::new(dir), trust.as_ref(), progress)
}

/// Verifies the record in `dir`; with `trust`, its keys must be the trusted ones.
pub fn verify_record(
    dir: &RecordDir,
    trust: Option<&trust::TrustFile>,
    progress: Progress<'_>,
) -> Result<Summary, VerifyFailure> {
    let mut summary = Summary::default();
    let ctx = context::load(dir, &mut summary)?;
    if let Some(t) = trust {
        t.check(&ctx)?;
        summary.keys_pinned = true;
        summary
            .checks
            .push("keys pinned: the threshold, audit-log and voting-right keys are the trust file's".to_owned());
    }
    let book = ballots::check(&ctx, dir, progress, &mut summary)?;
    let tallied = shards::check(&ctx, dir, &book, &mut summary)?;
    audit_log::check(&ctx, dir, &book, &mut summary)?;
    if let Some(policy) = trust.and_then(|t| t.witnesses.as_ref()) {
        trust::check_witnesses(policy, dir, &mut summary)?;
    }
    let combined = decryption::check(&ctx, dir, &tallied.totals, progress, &mut summary)?;
    tabulation::check(&ctx, dir, &combined, &mut summary)?;
    equalities::check(&ctx, &book, &tallied, &mut summary)?;
    events::check(&ctx, dir, &book, &tallied, &mut summary)?;
    Ok(summary)
}
