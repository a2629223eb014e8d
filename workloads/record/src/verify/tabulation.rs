//! The published results are exactly the decoded plaintexts.

use super::context::Context;
use super::decryption::Decrypted;
use super::{Checked, Summary, VerifyFailure};
use crate::files::read_json;
use crate::layout::RecordDir;
use crate::model::ResultsFile;
use crate::results::tabulate;

fn fail(detail: String) -> VerifyFailure {
    VerifyFailure::new("results", detail)
}

pub(crate) fn check(ctx: &Context, dir: &RecordDir, decrypted: &Decrypted, summary: &mut Summary) -> Checked<()> {
    let published: ResultsFile = read_json(&dir.results()).map_err(|e| fail(e.to_string()))?;
    let expected = tabulate(&ctx.codec, &decrypted.items, &decrypted.combined.plaintexts, Vec::new())
        .map_err(|e| fail(format!("decoding the decrypted totals: {e}")))?;
    if published.election_id != expected.election_id || published.manifest_hash != expected.manifest_hash {
        return Err(fail("results.json is for another election or manifest".into()));
    }
    if published.results.len() != expected.results.len() {
        return Err(fail(format!("{} results for {} totals", published.results.len(), expected.results.len())));
    }
    for (p, e) in published.results.iter().zip(&expected.results) {
        if p != e {
            return Err(fail(format!(
                "contest {} district {} ({}): published counts differ from the decrypted totals",
                e.contest_id, e.district, e.modality
            )));
        }
    }
    if published.totals != expected.totals {
        return Err(fail("the per-contest totals are not the sums of the per-district results".into()));
    }
    summary.checks.push(format!(
        "results: {} tallies decoded with every counter slot equal to its ballots, matching results.json",
        expected.results.len()
    ));
    Ok(())
}
