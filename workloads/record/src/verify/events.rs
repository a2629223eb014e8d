//! Election events: the record's acts (manifest, ceremony, openings, closings, seals, actas, snapshots) are
//! in the log, with the record's digests, in a legal order ([`crate::events::check_order`]).

use sha2::{Digest, Sha256};
use urna_audit::LogEntry;
use urna_ballot::AnonId;

use super::ballots::BallotBook;
use super::context::Context;
use super::shards::Tallied;
use super::{Checked, Summary, VerifyFailure};
use crate::events::{ClosedService, Expected, Item, check_order, close_digest};
use crate::files::{read_bytes, read_jsonl};
use crate::layout::RecordDir;
use crate::model::AuditEntryRow;

fn fail(detail: String) -> VerifyFailure {
    VerifyFailure::new("events", detail)
}

pub(crate) fn check(
    ctx: &Context,
    dir: &RecordDir,
    book: &BallotBook,
    tallied: &Tallied,
    summary: &mut Summary,
) -> Checked<()> {
    let transcript = read_bytes(&dir.ceremony_transcript()).map_err(|e| fail(e.to_string()))?;
    let mut by_modality: std::collections::HashMap<_, Vec<ClosedService>> = std::collections::HashMap::new();
    for s in &ctx.services {
        by_modality.entry(s.modality).or_default().push(ClosedService {
            partition: s.partition,
            ballots_recorded: s.ballots_recorded,
            rights_issued: s.rights_issued,
        });
    }
    let expected = Expected {
        manifest_hash: ctx.index.manifest_hash,
        transcript_sha256: Sha256::digest(&transcript).into(),
        closes: by_modality.iter().map(|(m, s)| (*m, close_digest(*m, s))).collect(),
        shards: tallied.totals.iter().map(|t| (t.shard.clone(), (t.modality, t.totals_digest))).collect(),
    };
    let rows: Vec<AuditEntryRow> = read_jsonl(&dir.audit_entries()).map_err(|e| fail(e.to_string()))?;
    let mut items = Vec::with_capacity(rows.len());
    for row in &rows {
        let item = match &row.entry {
            LogEntry::Ballot { anon_id } => {
                // The audit-log step already matched every logged ballot with the record's.
                let m = book
                    .ballots
                    .get(&AnonId(*anon_id))
                    .map(|b| b.modality)
                    .ok_or_else(|| fail(format!("log position {}: a ballot not in the record", row.index)))?;
                Item::Ballot(m)
            }
            LogEntry::Event { kind, digest, detail } => Item::Event(*kind, digest, detail.as_str()),
        };
        items.push((row.index, item));
    }
    let order = check_order(&expected, items).map_err(fail)?;
    if order.complete {
        summary.checks.push(format!(
            "events: {} election events in a legal order (manifest and ceremony before the openings, every ballot \
             between its modality's opening and closing, every shard sealed after its modality closed; {} actas, \
             {} PREP snapshots in sequence, {} officers' actions)",
            order.events, order.actas, order.snapshots, order.officer_actions
        ));
    } else {
        summary.checks.push(format!(
            "events: {} election events, each with the record's digest and in a legal order",
            order.events
        ));
        summary.notes.push(
            "the log holds no opening events, so it was not checked that every ballot lies inside its modality's \
             voting window, nor that every act of the record is in the log"
                .to_owned(),
        );
    }
    Ok(())
}
