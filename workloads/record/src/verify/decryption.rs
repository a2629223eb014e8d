//! The trustees' decryption: asked exactly the sealed totals, every partial proven, any `t` combine.

use urna_tally::TotalsRecord;

use super::context::Context;
use super::{Checked, Progress, Summary, VerifyFailure};
use crate::decryption::{Combined, combine, request};
use crate::files::{hash_file, read_json};
use crate::layout::RecordDir;
use crate::model::{DecryptionItem, TrusteePartials};

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
    let mut answers = Vec::new();
    for trustee in 1..=ctx.public.trustees() {
        let p = dir.trustee_partials(trustee);
        if !p.exists() {
            continue;
        }
        let answer: TrusteePartials = read_json(&p).map_err(|e| fail(e.to_string()))?;
        if answer.trustee != trustee {
            return Err(fail(format!("{} claims to be trustee {}", p.display(), answer.trustee)));
        }
        answers.push(answer);
    }
    let positions: u64 = items.iter().map(|i| i.ciphertexts.len() as u64).sum();
    progress("checking partial decryptions", 0, positions);
    let combined = combine(&ctx.public, &items, request_hash, &answers).map_err(|e| fail(e.to_string()))?;
    progress("checking partial decryptions", positions, positions);
    for (i, k, r) in &combined.rejected {
        summary
            .rejected_partials
            .push(format!("trustee {} on {} ciphertext {k}: {}", r.trustee, items[*i].context.subject, r.reason));
    }
    if !summary.rejected_partials.is_empty() {
        summary.notes.push(format!(
            "{} partial decryptions failed their proofs and were set aside (the other trustees sufficed)",
            summary.rejected_partials.len()
        ));
    }
    summary.totals_decrypted = positions;
    summary.trustees_used = combined.used.clone();
    summary.checks.push(format!(
        "decryption: the request is exactly the {} sealed totals; {} trustees' partials answer it, proofs checked; \
         {positions} ciphertexts combined by trustees {:?}",
        items.len(),
        answers.len(),
        combined.used
    ));
    Ok(Decrypted { items, combined })
}
