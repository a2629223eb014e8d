//! The tally shards: each log re-derived from genesis and refolded into its sealed totals.

use std::collections::HashMap;

use urna_ballot::AnonId;
use urna_tally::totals::Totals;
use urna_tally::totals::max_ballots;
use urna_tally::{LogRecord, Modality, ShardIdentity, TotalsRecord};

use super::ballots::BallotBook;
use super::context::Context;
use super::{Checked, Summary, VerifyFailure};
use crate::files::{read_json, read_jsonl};
use crate::layout::RecordDir;

/// The sealed totals, in `record.json` order, and which shard holds each ballot.
pub(crate) struct Tallied {
    pub totals: Vec<TotalsRecord>,
    /// AnonID → the modality of the shards its contests were tallied in.
    pub modality: HashMap<AnonId, Modality>,
}

fn fail(detail: String) -> VerifyFailure {
    VerifyFailure::new("shards", detail)
}

pub(crate) fn check(ctx: &Context, dir: &RecordDir, book: &BallotBook, summary: &mut Summary) -> Checked<Tallied> {
    // (AnonID, contest) → the shard that tallied it: each must be tallied exactly once, somewhere.
    let mut tallied_in: HashMap<(AnonId, String), String> = HashMap::new();
    let mut modality: HashMap<AnonId, Modality> = HashMap::new();
    let mut all_totals = Vec::new();
    for name in &ctx.index.shards {
        let totals: TotalsRecord = read_json(&dir.shard_totals(name)).map_err(|e| fail(e.to_string()))?;
        let records: Vec<LogRecord> = read_jsonl(&dir.shard_records(name)).map_err(|e| fail(e.to_string()))?;
        let count = check_shard(ctx, name, &totals, &records, book, &mut tallied_in)?;
        for r in &records {
            if let Some(anon) = AnonId::from_hex(&r.anon_id)
                && modality.insert(anon, totals.modality).is_some_and(|m| m != totals.modality)
            {
                return Err(fail(format!("ballot {anon} was tallied under both modalities")));
            }
        }
        summary.shard_records += count;
        all_totals.push(totals);
    }
    for (anon, b) in &book.ballots {
        for c in &b.contests {
            if !tallied_in.contains_key(&(*anon, c.contest_id.clone())) {
                return Err(fail(format!("ballot {anon} contest {} is in no shard's log", c.contest_id)));
            }
        }
    }
    summary.shards = all_totals.len() as u64;
    summary.checks.push(format!(
        "{} shards: {} log records chained from genesis, each a contest of a recorded ballot tallied exactly once; \
         totals refolded and their digests match the sealed totals",
        summary.shards, summary.shard_records
    ));
    Ok(Tallied { totals: all_totals, modality })
}

fn check_shard(
    ctx: &Context,
    name: &str,
    totals: &TotalsRecord,
    records: &[LogRecord],
    book: &BallotBook,
    tallied_in: &mut HashMap<(AnonId, String), String>,
) -> Checked<u64> {
    let codec = &ctx.codec;
    let here = |d: String| fail(format!("shard {name}: {d}"));
    if totals.shard != *name {
        return Err(here(format!("totals.json names shard {:?}", totals.shard)));
    }
    if !totals.sealed {
        return Err(here("its totals are not sealed".into()));
    }
    if totals.election_id != ctx.index.election_id
        || totals.manifest_hash != ctx.index.manifest_hash
        || totals.public_key_fingerprint != ctx.index.public_key_fingerprint
    {
        return Err(here("its totals are bound to another election, manifest or key".into()));
    }
    let identity = ShardIdentity {
        shard: name.to_owned(),
        election_id: totals.election_id.clone(),
        manifest_hash: totals.manifest_hash,
        public_key_fingerprint: totals.public_key_fingerprint,
        districts: totals.districts.clone(),
        modality: totals.modality,
        slot_bits: codec.manifest().slot_bits,
    };
    let mut folded = Totals::initial(codec, &totals.districts).map_err(|e| here(e.to_string()))?;
    let max = max_ballots(codec.manifest().slot_bits);
    let mut head = identity.genesis();
    for (i, r) in records.iter().enumerate() {
        let at = |d: String| here(format!("record {}: {d}", i + 1));
        if r.sequence != i as u64 + 1 {
            return Err(at(format!("sequence {} out of order (records are dropped, added or reordered)", r.sequence)));
        }
        head = r.check(&head).map_err(|e| here(e.to_string()))?;
        let anon = AnonId::from_hex(&r.anon_id).ok_or_else(|| at("anonId is not 64 hex digits".into()))?;
        let ballot = book.ballots.get(&anon).ok_or_else(|| at(format!("ballot {anon} is not in ballots.jsonl")))?;
        if ballot.ballot_style != r.ballot_style {
            return Err(at(format!("ballot style {:?}, the ballot's is {:?}", r.ballot_style, ballot.ballot_style)));
        }
        if !ballot.contests.contains(&r.contest) {
            return Err(at(format!("contest {} differs from ballot {anon}'s", r.contest_id)));
        }
        if let Some(other) = tallied_in.insert((anon, r.contest_id.clone()), name.to_owned()) {
            return Err(at(format!("ballot {anon} contest {} was already tallied in shard {other}", r.contest_id)));
        }
        folded.fold(codec.public_key(), &r.ballot_style, &r.contest, max).map_err(|e| at(format!("{e:?}")))?;
    }
    if totals.log_head.sequence != records.len() as u64 || totals.log_head.hash != head {
        return Err(here(format!(
            "the sealed log head (sequence {}) is not the head of the {} records (truncated or forked log)",
            totals.log_head.sequence,
            records.len()
        )));
    }
    if folded.to_wire() != totals.contests {
        return Err(here("the sealed totals are not the fold of the log".into()));
    }
    if folded.digest(&identity, totals.log_head.sequence, &head) != totals.totals_digest {
        return Err(here("totalsDigest does not match the totals".into()));
    }
    Ok(records.len() as u64)
}
