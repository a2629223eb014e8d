//! Threshold decryption of the sealed totals, as the record drives it: the request is derived from the sealed
//! totals alone (so anyone can check that the trustees were asked to decrypt exactly the totals), each trustee
//! answers all of it with its share and one batched proof, and any `t` valid answers combine. An answer that
//! is unreadable, from an unknown or repeated trustee, for another request or with a wrong partial is set
//! aside with a reason naming the trustee (and, for a wrong partial, the item), and the others suffice.

use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};
use urna_crypto::paillier::Plaintext;
use urna_crypto::threshold::{
    DecryptionContext, DecryptionGroup, DecryptionRequest, KeyShare, PartialDecryptions, ThresholdPublicKey,
    WrongPartials, decrypt,
};
use urna_tally::TotalsRecord;

use crate::error::{RecordError, Result};
use crate::files::{exists, read_bytes, read_json, write_json_new};
use crate::layout::RecordDir;
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

/// The request's items as the cryptographic request: one group per item, under the item's context.
pub fn crypto_request(items: &[DecryptionItem]) -> DecryptionRequest<'_> {
    DecryptionRequest::new(
        items.iter().map(|it| DecryptionGroup { context: &it.context, ciphertexts: &it.ciphertexts }).collect(),
    )
}

/// A trustee's answer to `items`: one partial decryption per ciphertext and one proof for all of them,
/// verified before it is returned (a fault while computing must not publish a partial that names this trustee
/// a cheater).
pub fn partial_decrypt(
    share: &KeyShare,
    public: &ThresholdPublicKey,
    items: &[DecryptionItem],
    request_hash: [u8; 32],
) -> Result<TrusteePartials> {
    let partials = share.partial_decrypt(public, &crypto_request(items), &mut urna_crypto::os_rng())?;
    Ok(TrusteePartials { request_hash, partials })
}

/// Answers the record's decryption request with one trustee's share: writes `decryption/trustee-<i>.json` (never
/// over an existing one) and returns its path (`urna trustee decrypt --record`, `urna local`, `urna voters run`).
pub fn decrypt_record(record: &RecordDir, share: &KeyShare) -> Result<PathBuf> {
    let out = record.trustee_partials(share.index().get());
    // Refused before the work, and again at the write (create-new) should the file appear meanwhile.
    if out.exists() {
        return Err(exists(&out));
    }
    let public = crate::results::read_public_key(record)?;
    let request_path = record.decryption_request();
    // One read: the items decrypted and the hash the answer names are of the same bytes.
    let bytes = read_bytes(&request_path)?;
    let items: Vec<DecryptionItem> = serde_json::from_slice(&bytes).map_err(|e| RecordError::Malformed {
        path: request_path.clone(),
        line: Some(e.line()),
        message: e.to_string(),
    })?;
    let request_hash: [u8; 32] = Sha256::digest(&bytes).into();
    tracing::info!(trustee = %share.index(), totals = items.len(), key = %public.fingerprint_hex(), "decrypting the record's totals");
    let answer = partial_decrypt(share, &public, &items, request_hash)?;
    write_json_new(&out, &answer)?;
    Ok(out)
}

/// One `decryption/trustee-<i>.json` found in a record: `i` from its name, and its contents or why they could
/// not be read.
#[derive(Debug)]
pub struct Answer {
    pub trustee: u32,
    pub path: PathBuf,
    pub contents: std::result::Result<TrusteePartials, String>,
}

/// Every `decryption/trustee-<i>.json` of the record, by `i`; other files are not answers and are left alone.
pub fn read_answers(record: &RecordDir) -> Result<Vec<Answer>> {
    let dir = record.decryption_request().parent().map(Path::to_path_buf).unwrap_or_default();
    let entries = std::fs::read_dir(&dir).map_err(|source| RecordError::Io { path: dir.clone(), source })?;
    let mut answers = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| RecordError::Io { path: dir.clone(), source })?;
        let name = entry.file_name();
        let Some(trustee) =
            name.to_str().and_then(|n| n.strip_prefix("trustee-")?.strip_suffix(".json")?.parse::<u32>().ok())
        else {
            continue;
        };
        let path = entry.path();
        let contents = read_json::<TrusteePartials>(&path).map_err(|e| e.to_string());
        answers.push(Answer { trustee, path, contents });
    }
    answers.sort_by_key(|a| a.trustee);
    Ok(answers)
}

/// A trustee answer set aside: the trustee as its file names it, and why (naming the item for a wrong partial).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub trustee: u32,
    pub reason: String,
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "trustee {}: {}", self.trustee, self.reason)
    }
}

/// The outcome of combining every trustee's answers.
#[derive(Debug)]
pub struct Combined {
    /// Per item, per position.
    pub plaintexts: Vec<Vec<Plaintext>>,
    /// Trustees whose partials were combined (the first `t` valid ones).
    pub used: Vec<u32>,
    /// Every answer set aside, in trustee order.
    pub rejected: Vec<Rejection>,
}

/// Combines any `t` valid answers into the plaintext of every ciphertext of `items`. Answers whose file is
/// unreadable, whose trustee is not one of the key's or differs from the file name, that answer another
/// request (by hash) or whose proof fails are set aside and named; fails, naming them all, with fewer than
/// `t` valid answers.
pub fn combine(
    public: &ThresholdPublicKey,
    items: &[DecryptionItem],
    request_hash: [u8; 32],
    answers: &[Answer],
) -> Result<Combined> {
    let mut rejected = Vec::new();
    let mut candidates: Vec<PartialDecryptions> = Vec::new();
    for a in answers {
        let mut reject = |reason: String| rejected.push(Rejection { trustee: a.trustee, reason });
        match &a.contents {
            Err(e) => reject(format!("unreadable answer: {e}")),
            Ok(_) if a.trustee == 0 || a.trustee > public.trustees() => {
                reject(format!("not one of the key's {} trustees", public.trustees()))
            }
            Ok(p) if p.partials.trustee().get() != a.trustee => {
                reject(format!("{} holds trustee {}'s answer", a.path.display(), p.partials.trustee()))
            }
            Ok(p) if p.request_hash != request_hash => reject(format!(
                "answers another request (requestHash {}, the record's request.json hashes to {})",
                hex::encode(p.request_hash),
                hex::encode(request_hash)
            )),
            Ok(p) => candidates.push(p.partials.clone()),
        }
    }
    let request = crypto_request(items);
    let outcome = decrypt(public, &request, &candidates);
    for r in &outcome.rejected {
        let location = r.wrong.as_ref().map(|w| locate_text(&request, w)).unwrap_or_default();
        rejected.push(Rejection { trustee: r.trustee.get(), reason: format!("{}{location}", r.reason) });
    }
    rejected.sort_by_key(|r| r.trustee);
    let plaintexts = outcome.plaintexts.map_err(|e| {
        let set_aside: Vec<String> = rejected.iter().map(Rejection::to_string).collect();
        RecordError::Invalid(format!("{e}; set aside: [{}]", set_aside.join("; ")))
    })?;
    Ok(Combined { plaintexts, used: outcome.used.into_iter().map(|t| t.get()).collect(), rejected })
}

/// "; wrong partial: <subject> ciphertext <k>, …" for a located failure.
fn locate_text(request: &DecryptionRequest<'_>, wrong: &WrongPartials) -> String {
    const SHOWN: usize = 8;
    let list = |at: &[(usize, usize)]| {
        let mut names: Vec<String> = at.iter().take(SHOWN).map(|&p| request.describe(p)).collect();
        if at.len() > SHOWN {
            names.push(format!("and {} more", at.len() - SHOWN));
        }
        names.join(", ")
    };
    match wrong {
        WrongPartials::Exactly(at) if at.is_empty() => {
            "; every partial agrees with t proven trustees: the proof itself is wrong".to_owned()
        }
        WrongPartials::Exactly(at) => format!("; wrong partial(s): {}", list(at)),
        WrongPartials::AtLeast(at) if at.is_empty() => {
            "; the wrong partial cannot be located (only t-1 other proofs hold and every partial combines with \
             theirs)"
                .to_owned()
        }
        WrongPartials::AtLeast(at) => format!("; wrong partial(s), at least: {}", list(at)),
        WrongPartials::Unlocated => {
            "; the wrong partial cannot be located (fewer than t-1 other trustees' proofs hold)".to_owned()
        }
    }
}
