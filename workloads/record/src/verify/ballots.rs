//! The ballots: each package stands on its own (signature, AnonID, proofs); together, one per signature.
//!
//! A voting right is partially blind (docs/protocol.md §5.3): it verifies only under the key derived from a
//! vote service's key for `(election, modality, ballot style)`. So the signature of a ballot both proves the
//! right and says which modality it was issued for, and it fails for a ballot of another style.

use std::collections::{HashMap, HashSet};

use rayon::prelude::*;
use urna_ballot::EncryptedContest;
use urna_ballot::{AnonId, anon_id};
use urna_crypto::blind::{DerivedVerifyingKey, voting_right_info};
use urna_tally::Modality;
use urna_vote::wire::PublishedBallot;

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
    /// The modality its voting right was issued for.
    pub modality: Modality,
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
    let keys = derived_keys(ctx)?;
    let mut signatures = HashSet::new();
    // Weeding across the whole record (docs/protocol.md §4.9): no ciphertext in two places.
    let mut ciphertexts: HashMap<[u8; 32], AnonId> = HashMap::new();
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
        if !signatures.insert(p.signature.as_bytes().to_vec()) {
            return Err(fail(format!("ballot {}: its signature was already used by another ballot", b.anon_id)));
        }
        ctx.codec.check_ballot_shape(&p.ballot).map_err(|e| fail(format!("ballot {}: {e}", b.anon_id)))?;
        for key in p.ballot.weeding_keys() {
            if let Some(first) = ciphertexts.insert(key, b.anon_id) {
                return Err(fail(format!(
                    "ballot {} repeats a ciphertext of ballot {first}: a copied ballot was accepted",
                    b.anon_id
                )));
            }
        }
    }

    // The rights, in parallel: each verification is a full-size exponentiation (the derived exponent).
    let modalities: Vec<Modality> = ballots
        .par_iter()
        .map(|b| {
            let p = &b.package;
            let style = &p.ballot.ballot_style;
            keys.iter()
                .filter(|(_, s, _)| s == style)
                .find(|(_, _, k)| k.verify(&p.prepared_message, &p.signature).is_ok())
                .map(|(m, _, _)| *m)
                .ok_or_else(|| {
                    fail(format!(
                        "ballot {}: the signature is not a voting right of any vote service for ballot style {style} \
                         (in any modality)",
                        b.anon_id
                    ))
                })
        })
        .collect::<Result<_, _>>()?;

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
        "{total} ballots: AnonIDs, voting-right signatures (each for its ballot style and modality, one ballot each), \
         no ciphertext twice, and {} validity proofs verified",
        summary.proofs_verified
    ));
    let ballots = ballots
        .into_iter()
        .zip(modalities)
        .map(|(b, modality)| {
            let booked = Booked {
                ballot_style: b.package.ballot.ballot_style,
                modality,
                contests: b.package.ballot.contests,
                log_index: b.log_index,
            };
            (b.anon_id, booked)
        })
        .collect();
    Ok(BallotBook { ballots })
}

/// Every vote service key (once per distinct key and modality) derived for every district of the manifest.
fn derived_keys(ctx: &Context) -> Checked<Vec<(Modality, String, DerivedVerifyingKey)>> {
    let mut masters: Vec<(Modality, &urna_crypto::blind::BlindVerifyingKey)> = Vec::new();
    for s in &ctx.services {
        if !masters.iter().any(|(m, k)| *m == s.modality && *k == &s.blind_key) {
            masters.push((s.modality, &s.blind_key));
        }
    }
    let manifest = ctx.codec.manifest();
    let mut out = Vec::new();
    for (modality, key) in masters {
        for d in &manifest.districts {
            let info = voting_right_info(&manifest.election_id, modality.as_str(), &d.id);
            let derived = key.derive(&info).map_err(|e| fail(format!("deriving a voting-right key: {e}")))?;
            out.push((modality, d.id.clone(), derived));
        }
    }
    Ok(out)
}
