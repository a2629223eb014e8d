//! PREP double entry (docs/record.md, "PREP"): the rule that turns the captures of one mesa's results
//! sheet into a status, defined once here for the capture service that applies it and the snapshot
//! verifier that re-applies it to what a snapshot publishes.
//!
//! Two capturists enter the same sheet independently. Their entries agree when their figures' SHA-256
//! ([`SheetFigures::digest`]) are equal; then the mesa is **counted** with those figures. When they
//! disagree the mesa is **disputed** and the sheet goes to a third capturist; the first two captures by
//! different capturists whose figures agree decide it. Nothing is ever replaced: a capture, once accepted,
//! stays in the mesa's list in arrival order, and a counted mesa accepts no more captures.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use urna_ballot::{ElectionManifest, choices::choices, contests_for_district};
pub use urna_vote::acta::{ChoiceVotes, ContestCount};

/// The figures of one results sheet, as a capturist types them from the paper.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SheetFigures {
    /// Voters who voted at the mesa (the sheet's participants line).
    pub voted: u64,
    /// Ballots counted.
    pub ballots: u64,
    /// Every contest of the mesa's ballot style in manifest order, each with every choice of its numbering
    /// in order (the same shape as a results acta, `urna_vote::acta`).
    pub contests: Vec<ContestCount>,
}

impl SheetFigures {
    /// SHA-256 of the compact JSON of the fields in declared order: equal figures, equal digest.
    pub fn digest(&self) -> [u8; 32] {
        // Strings and integers only: serialising cannot fail.
        Sha256::digest(serde_json::to_vec(self).unwrap_or_default()).into()
    }

    /// Refuses figures that do not fit the ballot of `district`: other contests or choices, or more votes in
    /// a contest than `ballots` can hold, or more ballots than voters.
    pub fn check(&self, manifest: &ElectionManifest, district: &str) -> Result<(), String> {
        if !manifest.districts.iter().any(|d| d.id == district) {
            return Err(format!("unknown district {district:?}"));
        }
        if self.ballots > self.voted {
            return Err(format!("{} ballots counted but {} voted", self.ballots, self.voted));
        }
        let style = contests_for_district(manifest, district);
        let want: Vec<&str> = style.iter().map(|c| c.id.as_str()).collect();
        let got: Vec<&str> = self.contests.iter().map(|c| c.contest.as_str()).collect();
        if want != got {
            return Err(format!("contests {got:?}: the ballot of district {district} has {want:?}, in that order"));
        }
        for (cc, contest) in self.contests.iter().zip(style) {
            let numbering = choices(contest);
            let want: Vec<&str> = numbering.iter().map(|x| x.id.as_str()).collect();
            let got: Vec<&str> = cc.counts.iter().map(|x| x.choice.as_str()).collect();
            if want != got {
                return Err(format!("contest {}: counts for {got:?}; its choices are {want:?}", cc.contest));
            }
            let most = u64::from(contest.max_selections.unwrap_or(1).max(1));
            let sum = cc.counts.iter().try_fold(0u64, |a, x| a.checked_add(x.votes));
            if sum.is_none_or(|s| s > self.ballots.saturating_mul(most)) {
                return Err(format!(
                    "contest {}: more votes than {} ballots can hold (at most {most} each)",
                    cc.contest, self.ballots
                ));
            }
        }
        Ok(())
    }
}

/// Where a mesa's sheet stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum SheetStatus {
    /// No capture yet.
    Pending,
    /// One capture: waiting for the second, independent one.
    Captured,
    /// Captures disagree: waiting for another capturist to agree with one of them.
    Disputed,
    /// Two captures by different capturists agree: the figures count.
    Counted,
}

impl SheetStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Captured => "captured",
            Self::Disputed => "disputed",
            Self::Counted => "counted",
        }
    }
}

/// One accepted capture as published: who, when, the photo of the sheet and the digest of the figures typed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CaptureRef {
    pub capturist: String,
    /// RFC 3339 UTC.
    pub captured_at: String,
    /// SHA-256 (hex) of the sheet photo this capturist uploaded; the capture service serves it at
    /// `GET /v1/photos/{sha256}`.
    pub photo_sha256: String,
    /// [`SheetFigures::digest`] (hex) of the figures this capturist typed.
    pub figures_sha256: String,
}

/// The decision (module docs): the status, and for a counted mesa the digest of the agreed figures.
pub fn decide(captures: &[CaptureRef]) -> (SheetStatus, Option<&str>) {
    for (j, later) in captures.iter().enumerate() {
        let agreeing = captures[..j]
            .iter()
            .find(|earlier| earlier.capturist != later.capturist && earlier.figures_sha256 == later.figures_sha256);
        if agreeing.is_some() {
            return (SheetStatus::Counted, Some(later.figures_sha256.as_str()));
        }
    }
    match captures.len() {
        0 => (SheetStatus::Pending, None),
        1 => (SheetStatus::Captured, None),
        _ => (SheetStatus::Disputed, None),
    }
}

/// Why a new capture is refused (the capture service's `409`s).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CaptureRefused {
    #[error("mesa {0} is already counted; its figures no longer change")]
    AlreadyCounted(String),
    #[error("capturist {capturist} already captured mesa {mesa} with other figures ({figures_sha256})")]
    AlreadyCaptured { capturist: String, mesa: String, figures_sha256: String },
}

impl CaptureRefused {
    pub fn code(&self) -> &'static str {
        match self {
            Self::AlreadyCounted(_) => "already_counted",
            Self::AlreadyCaptured { .. } => "already_captured",
        }
    }
}

/// What a new capture does to a mesa's list: `Ok(true)` append it, `Ok(false)` it repeats this capturist's
/// own capture (answer as before), `Err` refuse it. Each capturist enters a sheet once, so the two entries that
/// count are always by different people.
pub fn admit(mesa: &str, captures: &[CaptureRef], new: &CaptureRef) -> Result<bool, CaptureRefused> {
    if let Some(own) = captures.iter().find(|c| c.capturist == new.capturist) {
        if own.figures_sha256 == new.figures_sha256 {
            return Ok(false);
        }
        return Err(CaptureRefused::AlreadyCaptured {
            capturist: new.capturist.clone(),
            mesa: mesa.into(),
            figures_sha256: own.figures_sha256.clone(),
        });
    }
    if decide(captures).0 == SheetStatus::Counted {
        return Err(CaptureRefused::AlreadyCounted(mesa.into()));
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(who: &str, figures: &str) -> CaptureRef {
        CaptureRef {
            capturist: who.into(),
            captured_at: "2027-06-06T20:00:00Z".into(),
            photo_sha256: "00".repeat(32),
            figures_sha256: figures.into(),
        }
    }

    #[test]
    fn two_agreeing_capturists_count_a_mismatch_waits_for_a_third() {
        assert_eq!(decide(&[]), (SheetStatus::Pending, None));
        assert_eq!(decide(&[c("a", "x")]), (SheetStatus::Captured, None));
        assert_eq!(decide(&[c("a", "x"), c("b", "x")]), (SheetStatus::Counted, Some("x")));
        assert_eq!(decide(&[c("a", "x"), c("b", "y")]), (SheetStatus::Disputed, None));
        assert_eq!(decide(&[c("a", "x"), c("b", "y"), c("c", "z")]), (SheetStatus::Disputed, None));
        assert_eq!(decide(&[c("a", "x"), c("b", "y"), c("c", "y")]), (SheetStatus::Counted, Some("y")));
        // The same person twice is not a double entry.
        assert_eq!(decide(&[c("a", "x"), c("a", "x")]), (SheetStatus::Disputed, None));
    }

    #[test]
    fn captures_are_never_replaced() {
        let list = [c("a", "x")];
        assert_eq!(admit("m1", &list, &c("a", "x")), Ok(false));
        assert!(matches!(admit("m1", &list, &c("a", "y")), Err(CaptureRefused::AlreadyCaptured { .. })));
        assert_eq!(admit("m1", &list, &c("b", "y")), Ok(true));
        let counted = [c("a", "x"), c("b", "x")];
        assert_eq!(admit("m1", &counted, &c("c", "x")), Err(CaptureRefused::AlreadyCounted("m1".into())));
    }
}
