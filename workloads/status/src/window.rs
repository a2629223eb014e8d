//! When a modality accepts ballots: from `opensAt` (inclusive) until `closesAt` (exclusive), and never once
//! closed by hand (`POST /v1/close`) or sealed. One rule for the vote services and the tally shards, so the two
//! ends of a ballot's path refuse the same instants.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// The modality's window as configured (`--opens-at`, `--closes-at`); either end may be open-ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Window {
    pub opens_at: Option<Timestamp>,
    pub closes_at: Option<Timestamp>,
}

/// Where a workload stands in its window.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum WindowState {
    NotYetOpen,
    Open,
    Closed,
}

/// Why a ballot (or a right, or an admission) is refused at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Before `opensAt`: error code `election_not_open`.
    NotYetOpen { opens_at: Timestamp },
    /// At or after `closesAt` (`Some`), or closed by hand or sealed (`None`): error code `election_closed`.
    Closed { closes_at: Option<Timestamp> },
}

impl Refusal {
    /// The stable error code a refused request carries.
    pub fn code(&self) -> &'static str {
        match self {
            Self::NotYetOpen { .. } => "election_not_open",
            Self::Closed { .. } => "election_closed",
        }
    }
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotYetOpen { opens_at } => write!(f, "voting has not opened yet; it opens at {opens_at}"),
            Self::Closed { closes_at: Some(t) } => write!(f, "voting closed at {t}"),
            Self::Closed { closes_at: None } => f.write_str("voting is closed"),
        }
    }
}

impl Window {
    pub fn new(opens_at: Option<Timestamp>, closes_at: Option<Timestamp>) -> Self {
        Self { opens_at, closes_at }
    }

    /// Whether something arriving at `now` may be accepted; `closed` is a close that already happened (by
    /// hand, or a seal), which wins over the clock.
    pub fn check(&self, now: Timestamp, closed: bool) -> Result<(), Refusal> {
        if closed {
            return Err(Refusal::Closed { closes_at: self.closes_at.filter(|t| now >= *t) });
        }
        if let Some(t) = self.closes_at
            && now >= t
        {
            return Err(Refusal::Closed { closes_at: Some(t) });
        }
        if let Some(t) = self.opens_at
            && now < t
        {
            return Err(Refusal::NotYetOpen { opens_at: t });
        }
        Ok(())
    }

    pub fn state(&self, now: Timestamp, closed: bool) -> WindowState {
        match self.check(now, closed) {
            Ok(()) => WindowState::Open,
            Err(Refusal::NotYetOpen { .. }) => WindowState::NotYetOpen,
            Err(Refusal::Closed { .. }) => WindowState::Closed,
        }
    }

    /// The window as status bodies report it.
    pub fn status(&self, now: Timestamp, closed: bool) -> WindowStatus {
        WindowStatus {
            opens_at: self.opens_at.map(|t| t.to_string()),
            closes_at: self.closes_at.map(|t| t.to_string()),
            state: self.state(now, closed),
        }
    }
}

/// `window` in a status body: the configured instants (RFC 3339, UTC) and the state when answered.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WindowStatus {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub opens_at: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closes_at: Option<String>,
    pub state: WindowState,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().expect("timestamp")
    }

    #[test]
    fn open_from_opens_at_inclusive_to_closes_at_exclusive() {
        let w = Window::new(Some(t("2027-06-06T14:00:00Z")), Some(t("2027-06-07T00:00:00Z")));
        assert_eq!(
            w.check(t("2027-06-06T13:59:59Z"), false),
            Err(Refusal::NotYetOpen { opens_at: t("2027-06-06T14:00:00Z") })
        );
        assert_eq!(w.check(t("2027-06-06T14:00:00Z"), false), Ok(()));
        assert_eq!(w.check(t("2027-06-06T23:59:59Z"), false), Ok(()));
        assert_eq!(
            w.check(t("2027-06-07T00:00:00Z"), false),
            Err(Refusal::Closed { closes_at: Some(t("2027-06-07T00:00:00Z")) })
        );
        assert_eq!(w.state(t("2027-06-01T00:00:00Z"), false), WindowState::NotYetOpen);
        assert_eq!(w.state(t("2027-06-08T00:00:00Z"), false), WindowState::Closed);
    }

    #[test]
    fn a_close_by_hand_wins_even_before_the_window_opens() {
        let w = Window::new(Some(t("2027-06-06T14:00:00Z")), None);
        assert_eq!(w.check(t("2027-06-01T00:00:00Z"), true), Err(Refusal::Closed { closes_at: None }));
        assert_eq!(w.check(t("2027-06-01T00:00:00Z"), true).map_err(|r| r.code()), Err("election_closed"));
    }

    #[test]
    fn an_unbounded_window_is_always_open() {
        assert_eq!(Window::default().state(t("1999-01-01T00:00:00Z"), false), WindowState::Open);
    }

    #[test]
    fn the_refusal_names_the_opening_time() {
        let r = Window::new(Some(t("2027-06-06T14:00:00Z")), None).check(t("2027-06-01T00:00:00Z"), false);
        let r = r.expect_err("not open");
        assert_eq!(r.code(), "election_not_open");
        assert_eq!(r.to_string(), "voting has not opened yet; it opens at 2027-06-06T14:00:00Z");
    }
}
