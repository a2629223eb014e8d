//! The close-time equalities (PROTOCOL §6): ballots tallied = AnonIDs logged = ballots recorded, and no more
//! ballots than voting rights, per modality and in all.

use urna_tally::Modality;

use super::ballots::BallotBook;
use super::context::Context;
use super::shards::Tallied;
use super::{Checked, Summary, VerifyFailure};

fn fail(detail: String) -> VerifyFailure {
    VerifyFailure::new("equalities", detail)
}

pub(crate) fn check(ctx: &Context, book: &BallotBook, tallied: &Tallied, summary: &mut Summary) -> Checked<()> {
    // Every ballot is in the log and in the shards (checked before), so the three counts agree by construction
    // once each modality's ballots are matched against its vote services' counts.
    let mut lines = Vec::new();
    for modality in [Modality::Remote, Modality::Booth] {
        let services: Vec<_> = ctx.services.iter().filter(|s| s.modality == modality).collect();
        let ballots = tallied.modality.values().filter(|m| **m == modality).count() as u64;
        let recorded: u64 = services.iter().map(|s| s.ballots_recorded).sum();
        let rights: u64 = services.iter().map(|s| s.rights_issued).sum();
        if services.is_empty() && ballots == 0 {
            continue;
        }
        if ballots != recorded {
            return Err(fail(format!(
                "{modality}: the vote services recorded {recorded} ballots, the record tallies {ballots} \
                 (ballots dropped or added)"
            )));
        }
        if ballots > rights {
            return Err(fail(format!("{modality}: {ballots} ballots but only {rights} voting rights issued")));
        }
        if rights > ballots {
            summary.notes.push(format!("{modality}: {} voting rights were issued without a ballot", rights - ballots));
        }
        summary.rights_issued += rights;
        lines.push(format!("{modality} {ballots}"));
    }
    let total = book.ballots.len() as u64;
    if tallied.modality.len() as u64 != total {
        return Err(fail(format!("{} ballots tallied, {total} in the record", tallied.modality.len())));
    }
    summary.checks.push(format!(
        "equalities: ballots tallied = AnonIDs logged = ballots recorded = {total} ({}), none beyond the {} voting \
         rights issued",
        lines.join(", "),
        summary.rights_issued
    ));
    Ok(())
}
