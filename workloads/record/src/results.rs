//! Results from combined plaintexts: each total decoded with its counter-slot check, then summed per contest.

use urna_ballot::{BallotCodec, ElectionManifest};
use urna_crypto::paillier::Plaintext;
use urna_crypto::threshold::ThresholdPublicKey;

use crate::decryption::{Rejection, combine, read_answers};
use crate::error::{RecordError, Result};
use crate::files::{hash_file, read_bytes, read_json, write_json};
use crate::layout::RecordDir;
use crate::model::{ContestTotal, DecryptionItem, ResultsFile, TallyResult};

/// Reads the record's threshold public key.
pub fn read_public_key(record: &RecordDir) -> Result<ThresholdPublicKey> {
    let path = record.threshold_public_key();
    let text = String::from_utf8(read_bytes(&path)?).map_err(|e| RecordError::Malformed {
        path: path.clone(),
        line: None,
        message: e.to_string(),
    })?;
    ThresholdPublicKey::from_json(&text).map_err(|e| RecordError::Malformed {
        path,
        line: None,
        message: e.to_string(),
    })
}

/// Combines every trustee answer present in the record (any `t` valid ones; the others are returned, set aside
/// with their reasons), decodes the totals and writes `results.json` (`urna results`, the decryption service).
pub fn combine_record(record: &RecordDir) -> Result<(ResultsFile, Vec<Rejection>)> {
    let public = read_public_key(record)?;
    let manifest: ElectionManifest = read_json(&record.manifest())?;
    let codec = BallotCodec::new(manifest, public.paillier().clone())?;
    let items: Vec<DecryptionItem> = read_json(&record.decryption_request())?;
    let request_hash = hash_file(&record.decryption_request())?;
    let answers = read_answers(record)?;
    let combined = combine(&public, &items, request_hash, &answers)?;
    let results = tabulate(&codec, &items, &combined.plaintexts, combined.used)?;
    write_json(&record.results(), &results)?;
    for r in &combined.rejected {
        tracing::warn!(trustee = r.trustee, reason = %r.reason, "trustee answer set aside");
    }
    Ok((results, combined.rejected))
}

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
