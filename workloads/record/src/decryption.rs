//! Threshold decryption of the sealed totals, as the record drives it: the request is derived from the sealed
//! totals alone (so anyone can check that the trustees were asked to decrypt exactly the totals), each trustee
//! answers it with its share, and any `t` valid answers combine.

use rayon::prelude::*;
use urna_crypto::paillier::Plaintext;
use urna_crypto::threshold::{
    DecryptionContext, KeyShare, RejectedPartial, ThresholdPublicKey, TrusteeIndex, decrypt, verify_partial,
};
use urna_tally::TotalsRecord;

use crate::error::{RecordError, Result};
use crate::model::{DecryptionItem, TrusteePartials};

/// The decryption subject of one total: `tally/<shard>/<ballotStyle>/<contestId>`.
pub fn subject(shard: &str, ballot_style: &str, contest_id: &str) -> String {
    format!("tally/{shard}/{ballot_style}/{contest_id}")
}

/// One item per (shard, ballot style, contest) of the sealed totals, shards in the given order.
pub fn request(totals: &[TotalsRecord]) -> Vec<DecryptionItem> {
    totals
        .iter()
        .flat_map(|t| {
            t.contests.iter().map(move |c| DecryptionItem {
                shard: t.shard.clone(),
                modality: t.modality,
                ballot_style: c.ballot_style.clone(),
                contest_id: c.contest_id.clone(),
                ballots: c.ballots,
                context: DecryptionContext::new(
                    t.election_id.clone(),
                    t.manifest_hash,
                    subject(&t.shard, &c.ballot_style, &c.contest_id),
                ),
                ciphertexts: c.ciphertexts.clone(),
            })
        })
        .collect()
}

/// A trustee's answer to `items`: one partial decryption per ciphertext, each with its proof, each checked
/// before it is returned (a fault while computing must not publish a partial that names this trustee a cheater).
pub fn partial_decrypt(
    share: &KeyShare,
    public: &ThresholdPublicKey,
    items: &[DecryptionItem],
    request_hash: [u8; 32],
) -> Result<TrusteePartials> {
    let jobs: Vec<(usize, usize)> =
        items.iter().enumerate().flat_map(|(i, it)| (0..it.ciphertexts.len()).map(move |k| (i, k))).collect();
    let partials = jobs
        .par_iter()
        .map(|&(i, k)| {
            let item = &items[i];
            let c = &item.ciphertexts[k];
            let where_ = || format!("{} ciphertext {k}", item.context.subject);
            let p = share
                .partial_decrypt(public, c, &item.context, &mut urna_crypto::os_rng())
                .map_err(|e| RecordError::Invalid(format!("{}: {e}", where_())))?;
            verify_partial(public, c, &item.context, &p)
                .map_err(|e| RecordError::Invalid(format!("{}: self-check failed: {e}", where_())))?;
            Ok(p)
        })
        .collect::<Result<Vec<_>>>()?;
    let mut partials = partials.into_iter();
    let items = items.iter().map(|it| partials.by_ref().take(it.ciphertexts.len()).collect()).collect();
    Ok(TrusteePartials { trustee: share.index().get(), request_hash, items })
}

/// The outcome of combining every trustee's answers.
#[derive(Debug)]
pub struct Combined {
    /// Per item, per position.
    pub plaintexts: Vec<Vec<Plaintext>>,
    /// Trustees whose partials were combined (the first `t` valid ones, the same for every ciphertext when
    /// every trustee answered honestly).
    pub used: Vec<u32>,
    /// Partials that failed their proof (item, position, trustee, reason).
    pub rejected: Vec<(usize, usize, RejectedPartial)>,
}

/// Combines the answers for every ciphertext of `items`; fails naming the first ciphertext with fewer than `t`
/// valid partials. Answers to another request (by hash) or of the wrong shape are refused whole.
pub fn combine(
    public: &ThresholdPublicKey,
    items: &[DecryptionItem],
    request_hash: [u8; 32],
    answers: &[TrusteePartials],
) -> Result<Combined> {
    for a in answers {
        if a.request_hash != request_hash {
            return Err(RecordError::Invalid(format!("trustee {}'s partials answer another request", a.trustee)));
        }
        let shape_ok =
            a.items.len() == items.len() && a.items.iter().zip(items).all(|(p, it)| p.len() == it.ciphertexts.len());
        if !shape_ok {
            return Err(RecordError::Invalid(format!("trustee {}'s partials do not match the request", a.trustee)));
        }
        if a.items.iter().flatten().any(|p| p.trustee().get() != a.trustee) {
            return Err(RecordError::Invalid(format!("trustee {}'s file holds another trustee's partial", a.trustee)));
        }
    }
    let jobs: Vec<(usize, usize)> =
        items.iter().enumerate().flat_map(|(i, it)| (0..it.ciphertexts.len()).map(move |k| (i, k))).collect();
    let outcomes: Vec<_> = jobs
        .par_iter()
        .map(|&(i, k)| {
            let partials: Vec<_> = answers.iter().map(|a| a.items[i][k].clone()).collect();
            decrypt(public, &items[i].ciphertexts[k], &items[i].context, &partials)
        })
        .collect();
    let mut plaintexts: Vec<Vec<Plaintext>> = items.iter().map(|it| Vec::with_capacity(it.ciphertexts.len())).collect();
    let mut used: Vec<TrusteeIndex> = Vec::new();
    let mut rejected = Vec::new();
    for (&(i, k), outcome) in jobs.iter().zip(outcomes) {
        rejected.extend(outcome.rejected.into_iter().map(|r| (i, k, r)));
        let p = outcome
            .plaintext
            .map_err(|e| RecordError::Invalid(format!("{} ciphertext {k}: {e}", items[i].context.subject)))?;
        for t in outcome.used {
            if !used.contains(&t) {
                used.push(t);
            }
        }
        plaintexts[i].push(p);
    }
    let mut used: Vec<u32> = used.into_iter().map(TrusteeIndex::get).collect();
    used.sort_unstable();
    Ok(Combined { plaintexts, used, rejected })
}
