//! The trustees' decryption: asked exactly the sealed totals, every partial proven, any `t` combine.

use urna_tally::TotalsRecord;

use super::context::Context;
use super::{Checked, Progress, Summary, VerifyFailure};
use crate::decryption::{Combined, combine, read_answers, request};
use crate::files::{hash_file, read_json};
use crate::layout::RecordDir;
use crate::model::DecryptionItem;

pub(crate) struct Decrypted {
    pub items: Vec<DecryptionItem>,
    pub combined: Combined,
}

fn fail(detail: String) -> VerifyFailure {
    VerifyFailure::new("decryption", detail)
}

pub(crate) fn check(
    ctx: &Context,
    dir: &RecordDir,
    totals: &[TotalsRecord],
    progress: Progress<'_>,
    summary: &mut Summary,
) -> Checked<Decrypted> {
    let path = dir.decryption_request();
    let items: Vec<DecryptionItem> = read_json(&path).map_err(|e| fail(e.to_string()))?;
    if items != request(totals) {
        return Err(fail("request.json is not exactly the sealed totals of the shards".into()));
    }
    let request_hash = hash_file(&path).map_err(|e| fail(e.to_string()))?;
    let answers = read_answers(dir).map_err(|e| fail(e.to_string()))?;
    let positions: u64 = items.iter().map(|i| i.ciphertexts.len() as u64).sum();
    progress("checking partial decryptions", 0, positions);
    let combined = combine(&ctx.public, &items, request_hash, &answers).map_err(|e| fail(e.to_string()))?;
    progress("checking partial decryptions", positions, positions);
    for r in &combined.rejected {
        summary.notes.push(format!("set aside (the other trustees sufficed): {r}"));
        summary.rejected_partials.push(r.to_string());
    }
    summary.totals_decrypted = positions;
    summary.trustees_used = combined.used.clone();
    summary.checks.push(format!(
        "decryption: the request is exactly the {} sealed totals; {} trustee answers, each with one batched proof \
         checked; {positions} ciphertexts combined by trustees {:?}",
        items.len(),
        answers.len(),
        combined.used
    ));
    Ok(Decrypted { items, combined })
}
