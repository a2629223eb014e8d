//! The close-time equalities (PROTOCOL §6): ballots tallied = AnonIDs logged = ballots recorded, per modality
//! and in all; each ballot tallied in the modality its voting right was issued for; and, per ballot style and
//! modality, voting rights issued ≥ ballots.

use std::collections::BTreeMap;

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
    for (anon, booked) in &book.ballots {
        if let Some(tallied_as) = tallied.modality.get(anon)
            && *tallied_as != booked.modality
        {
            return Err(fail(format!(
                "ballot {anon}: its voting right is for a {} ballot but it was tallied in a {tallied_as} shard",
                booked.modality
            )));
        }
    }
    let mut ballots_by: BTreeMap<(&'static str, &str), u64> = BTreeMap::new();
    for booked in book.ballots.values() {
        *ballots_by.entry((booked.modality.as_str(), booked.ballot_style.as_str())).or_default() += 1;
    }
    let mut rights_by: BTreeMap<(&'static str, &str), u64> = BTreeMap::new();
    for s in &ctx.services {
        let sum: u64 = s.rights_by_style.values().sum();
        if sum != s.rights_issued {
            return Err(fail(format!(
                "a {} vote service (partition {}) reports {} rights issued but {sum} by ballot style",
                s.modality, s.partition, s.rights_issued
            )));
        }
        for (style, n) in &s.rights_by_style {
            *rights_by.entry((s.modality.as_str(), style.as_str())).or_default() += n;
        }
    }
    for (&(modality, style), &ballots) in &ballots_by {
        let rights = rights_by.get(&(modality, style)).copied().unwrap_or(0);
        if ballots > rights {
            return Err(fail(format!(
                "{modality} ballots of style {style}: {ballots} ballots but only {rights} voting rights issued"
            )));
        }
    }

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
        "equalities: ballots tallied = AnonIDs logged = ballots recorded = {total} ({}), each tallied in its right's \
         modality, and per ballot style and modality none beyond the voting rights issued ({} in all)",
        lines.join(", "),
        summary.rights_issued
    ));
    Ok(())
}
