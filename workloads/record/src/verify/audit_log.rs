//! The transparency log: entries re-hashed, the tree rebuilt, every checkpoint's signature and root checked
//! against it, and its ballot entries compared with the record's ballots.

use std::collections::HashSet;

use urna_audit::checkpoint::open_checkpoint;
use urna_audit::merkle::MemoryTree;
use urna_audit::{LogEntry, leaf_hash};
use urna_ballot::AnonId;

use super::ballots::BallotBook;
use super::context::Context;
use super::{Checked, Summary, VerifyFailure};
use crate::files::read_jsonl;
use crate::layout::RecordDir;
use crate::model::{AuditEntryRow, CheckpointRow};

fn fail(detail: String) -> VerifyFailure {
    VerifyFailure::new("audit log", detail)
}

pub(crate) fn check(ctx: &Context, dir: &RecordDir, book: &BallotBook, summary: &mut Summary) -> Checked<()> {
    let rows: Vec<AuditEntryRow> = read_jsonl(&dir.audit_entries()).map_err(|e| fail(e.to_string()))?;
    let mut tree = MemoryTree::new();
    let mut logged = HashSet::new();
    let mut events = 0u64;
    for (i, row) in rows.iter().enumerate() {
        let at = |d: String| fail(format!("entry {i}: {d}"));
        if row.index != i as u64 {
            return Err(at(format!("index {} out of order (entries dropped, added or reordered)", row.index)));
        }
        let bytes = hex::decode(&row.encoded).map_err(|e| at(format!("encoded is not hex: {e}")))?;
        let entry = LogEntry::decode(&bytes).map_err(|e| at(e.to_string()))?;
        if entry != row.entry {
            return Err(at("the JSON entry differs from its encoding".into()));
        }
        let leaf = leaf_hash(&bytes);
        if hex::encode(leaf) != row.leaf_hash {
            return Err(at("leaf_hash is not the hash of the encoding".into()));
        }
        tree.push(leaf);
        match entry {
            LogEntry::Ballot { anon_id } => {
                let anon = AnonId(anon_id);
                if !logged.insert(anon) {
                    return Err(at(format!("ballot {anon} is logged twice")));
                }
                let booked =
                    book.ballots.get(&anon).ok_or_else(|| at(format!("ballot {anon} is not in the record")))?;
                if booked.log_index.is_some_and(|x| x != i as u64) {
                    return Err(at(format!("ballot {anon}'s receipt names another log index")));
                }
            }
            _ => events += 1,
        }
    }
    if let Some(missing) = book.ballots.keys().find(|a| !logged.contains(*a)) {
        return Err(fail(format!("ballot {missing} is not in the log")));
    }

    let checkpoints: Vec<CheckpointRow> = read_jsonl(&dir.audit_checkpoints()).map_err(|e| fail(e.to_string()))?;
    let size = tree.size();
    let mut last: Option<(u64, u64)> = None;
    for (i, row) in checkpoints.iter().enumerate() {
        let at = |d: String| fail(format!("checkpoint {}: {d}", row.seq));
        let cp = open_checkpoint(&row.note, &ctx.audit_key.public_key).map_err(|e| at(e.to_string()))?;
        if cp.origin != ctx.audit_key.origin {
            return Err(at(format!("origin {:?}, the log's is {:?}", cp.origin, ctx.audit_key.origin)));
        }
        if let Some((seq, prev_size)) = last
            && (row.seq <= seq || cp.size < prev_size)
        {
            return Err(at("checkpoints out of order or shrinking".into()));
        }
        last = Some((row.seq, cp.size));
        if cp.size > size {
            return Err(at(format!("size {} beyond the {size} entries (the log was truncated)", cp.size)));
        }
        let root = tree.root_at(cp.size).map_err(|e| at(format!("{e:?}")))?;
        if root != cp.root {
            return Err(at(format!(
                "root differs from the entries' tree of size {} (a forked or altered log)",
                cp.size
            )));
        }
        let is_last = i + 1 == checkpoints.len();
        if cp.closed != is_last {
            return Err(at(if cp.closed {
                "closed before the last checkpoint".into()
            } else {
                "the log was never closed".into()
            }));
        }
        if is_last && cp.size != size {
            return Err(at(format!("the closing checkpoint covers {} of {size} entries", cp.size)));
        }
    }
    if checkpoints.is_empty() {
        return Err(fail("no checkpoint".into()));
    }
    summary.audit_entries = size;
    summary.audit_checkpoints = checkpoints.len() as u64;
    summary.checks.push(format!(
        "audit log: {size} entries ({} ballots, {events} events), {} signed checkpoints consistent with them, \
         closed at size {size}",
        logged.len(),
        checkpoints.len()
    ));
    Ok(())
}
