//! The ballots: each package stands on its own (signature, AnonID, proofs); together, one per signature.

use std::collections::{HashMap, HashSet};

use rayon::prelude::*;
use urna_ballot::EncryptedContest;
use urna_vote::wire::PublishedBallot;
use urna_vote::{AnonId, anon_id};

use super::context::Context;
use super::{Checked, Progress, Summary, VerifyFailure};
use crate::files::read_jsonl;
use crate::layout::RecordDir;

/// Ballots verified per proof batch: large enough for the batch's savings, small enough to spread over cores.
const BATCH_BALLOTS: usize = 64;

/// The verified ballots, by AnonID.
pub(crate) struct BallotBook {
    pub ballots: HashMap<AnonId, Booked>,
}

pub(crate) struct Booked {
    pub ballot_style: String,
    pub contests: Vec<EncryptedContest>,
    pub log_index: Option<u64>,
}

fn fail(detail: String) -> VerifyFailure {
    VerifyFailure::new("ballots", detail)
}

pub(crate) fn check(
    ctx: &Context,
    dir: &RecordDir,
    progress: Progress<'_>,
    summary: &mut Summary,
) -> Checked<BallotBook> {
    let ballots: Vec<PublishedBallot> = read_jsonl(&dir.ballots()).map_err(|e| fail(e.to_string()))?;
    let keys: Vec<_> = ctx.services.iter().map(|s| &s.blind_key).collect();
    let mut signatures = HashSet::new();
    let mut previous: Option<AnonId> = None;
    for (i, b) in ballots.iter().enumerate() {
        let line = i + 1;
        let p = &b.package;
        let hash = p.ballot.hash();
        if anon_id(&hash, &p.prepared_message, &p.signature) != b.anon_id {
            return Err(fail(format!("line {line}: anonId {} is not the hash of its package", b.anon_id)));
        }
        if previous.is_some_and(|prev| prev >= b.anon_id) {
            return Err(fail(format!("line {line}: ballot {} is repeated or out of AnonID order", b.anon_id)));
        }
        previous = Some(b.anon_id);
        if p.prepared_message.message_after_prefix() != Some(&hash[..]) || p.prepared_message.as_bytes().len() != 64 {
            return Err(fail(format!(
                "ballot {}: the prepared message is not a prefix and the ballot's hash",
                b.anon_id
            )));
        }
        if !keys.iter().any(|k| k.verify(&p.prepared_message, &p.signature).is_ok()) {
            return Err(fail(format!("ballot {}: the signature is not a voting right of any vote service", b.anon_id)));
        }
        if !signatures.insert(p.signature.as_bytes().to_vec()) {
            return Err(fail(format!("ballot {}: its signature was already used by another ballot", b.anon_id)));
        }
        ctx.codec.check_ballot_shape(&p.ballot).map_err(|e| fail(format!("ballot {}: {e}", b.anon_id)))?;
    }

    let total = ballots.len() as u64;
    let done = std::sync::atomic::AtomicU64::new(0);
    progress("verifying ballot proofs", 0, total);
    let verdicts: Vec<Result<usize, VerifyFailure>> = ballots
        .par_chunks(BATCH_BALLOTS)
        .map(|chunk| {
            let items: Vec<(&str, &EncryptedContest, &AnonId)> = chunk
                .iter()
                .flat_map(|b| {
                    b.package
                        .ballot
                        .contests
                        .iter()
                        .map(move |c| (b.package.ballot.ballot_style.as_str(), c, &b.anon_id))
                })
                .collect();
            let pairs: Vec<(&str, &EncryptedContest)> = items.iter().map(|(s, c, _)| (*s, *c)).collect();
            let results = ctx.codec.verify_contests(&pairs, &mut urna_crypto::os_rng());
            for ((_, c, anon), r) in items.iter().zip(results) {
                r.map_err(|e| fail(format!("ballot {anon} contest {}: {e}", c.contest_id)))?;
            }
            let n = done.fetch_add(chunk.len() as u64, std::sync::atomic::Ordering::Relaxed) + chunk.len() as u64;
            progress("verifying ballot proofs", n, total);
            Ok(items.iter().map(|(_, c, _)| c.proofs.len() + usize::from(c.write_in.is_some())).sum())
        })
        .collect();
    for v in verdicts {
        summary.proofs_verified += v? as u64;
    }

    summary.ballots = total;
    summary.checks.push(format!(
        "{total} ballots: AnonIDs, voting-right signatures (one ballot each) and {} validity proofs verified",
        summary.proofs_verified
    ));
    let ballots = ballots
        .into_iter()
        .map(|b| {
            let booked = Booked {
                ballot_style: b.package.ballot.ballot_style,
                contests: b.package.ballot.contests,
                log_index: b.log_index,
            };
            (b.anon_id, booked)
        })
        .collect();
    Ok(BallotBook { ballots })
}
