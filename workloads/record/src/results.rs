//! Results from combined plaintexts: each total decoded with its counter-slot check, then summed per contest.

use urna_ballot::BallotCodec;
use urna_crypto::paillier::Plaintext;

use crate::error::Result;
use crate::model::{ContestTotal, DecryptionItem, ResultsFile, TallyResult};

/// Decodes every item's plaintexts (failing on the first total whose counters disagree with its ballots) and
/// sums them per contest, contests in manifest order.
pub fn tabulate(
    codec: &BallotCodec,
    items: &[DecryptionItem],
    plaintexts: &[Vec<Plaintext>],
    trustees: Vec<u32>,
) -> Result<ResultsFile> {
    let mut results = Vec::with_capacity(items.len());
    for (item, plain) in items.iter().zip(plaintexts) {
        let decoded = codec.decode_totals(&item.contest_id, plain, item.ballots)?;
        results.push(TallyResult {
            contest_id: item.contest_id.clone(),
            district: item.ballot_style.clone(),
            modality: item.modality,
            shard: item.shard.clone(),
            ballots: decoded.ballots,
            counts: decoded.counts,
            plaintexts: plain.clone(),
        });
    }
    let totals = codec
        .manifest()
        .contests
        .iter()
        .filter_map(|contest| {
            let mut parts = results.iter().filter(|r| r.contest_id == contest.id);
            let first = parts.next()?;
            let mut total =
                ContestTotal { contest_id: contest.id.clone(), ballots: first.ballots, counts: first.counts.clone() };
            for r in parts {
                total.ballots += r.ballots;
                for (acc, c) in total.counts.iter_mut().zip(&r.counts) {
                    acc.votes += c.votes;
                }
            }
            Some(total)
        })
        .collect();
    Ok(ResultsFile {
        election_id: codec.manifest().election_id.clone(),
        manifest_hash: codec.manifest_hash(),
        trustees,
        results,
        totals,
    })
}
