//! Phases as pure functions of the clock and of what the workloads report, with the next instant at which
//! the clock alone changes the phase: controllers requeue for exactly that instant.

use std::time::Duration;

use jiff::Timestamp;

use crate::closing::Step;
use crate::crd::mesa::{Acta, ActaKind};
use crate::crd::{ElectionPhase, MesaPhase};

/// When nothing is scheduled, reconcile this often anyway (drift correction, status refresh).
pub const RESYNC: Duration = Duration::from_secs(300);

/// What the Election controller observed of its children and of the tools' status fields.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ElectionObservation {
    /// The vote and audit workloads and every shard are ready.
    pub workloads_ready: bool,
    /// A shard or workload reported an unrecoverable failure.
    pub failure: Option<String>,
    /// Where closing stands after the last closing (`closing::plan`); `None` reads as just closed.
    pub closing: Option<Step>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Schedule<P> {
    pub phase: P,
    /// The next opening or closing instant after `now`, if any.
    pub next: Option<Timestamp>,
}

/// The Election's phase. `windows` are the modalities' `(opensAt, closesAt)`; the election is Open from the
/// first opening to the last closing (each shard refuses ballots outside its own modality's window).
pub fn election_phase(
    now: Timestamp,
    windows: &[(Timestamp, Timestamp)],
    obs: &ElectionObservation,
) -> Schedule<ElectionPhase> {
    let next = windows.iter().flat_map(|(o, c)| [*o, *c]).filter(|t| *t > now).min();
    let opens = windows.iter().map(|w| w.0).min();
    let closes = windows.iter().map(|w| w.1).max();
    let phase = match (opens, closes) {
        _ if obs.failure.is_some() => ElectionPhase::Failed,
        (Some(o), Some(_)) if now < o => {
            if obs.workloads_ready {
                ElectionPhase::Scheduled
            } else {
                ElectionPhase::Pending
            }
        }
        (Some(_), Some(c)) if now < c => ElectionPhase::Open,
        // Closed → Tallying → Decrypted → Certified, as the closing plan's step says.
        (Some(_), Some(_)) => obs.closing.filter(|s| *s > Step::Voting).map_or(ElectionPhase::Closed, Step::phase),
        _ => ElectionPhase::Pending,
    };
    Schedule { phase, next }
}

/// What the Mesa controller observed: its actas (written through the Mesa console).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MesaObservation {
    pub constituted: bool,
    pub counted: bool,
    pub transmitted: bool,
}

impl MesaObservation {
    /// What the Mesa's actas say (as the booth vote service accepted them): constituted with a constitution
    /// acta, counted with a results acta, transmitted once that results acta's event is in the audit log.
    pub fn from_actas(actas: &[Acta]) -> Self {
        let results = actas.iter().find(|a| a.kind == ActaKind::Results);
        Self {
            constituted: actas.iter().any(|a| a.kind == ActaKind::Constitution),
            counted: results.is_some(),
            transmitted: results.is_some_and(|a| a.log_index.is_some()),
        }
    }
}

/// The Mesa's phase: Scheduled until its constitution acta is signed; Open during its window once
/// constituted; Closed after; Counted with a results acta; Transmitted once that acta reached the audit log.
pub fn mesa_phase(now: Timestamp, window: (Timestamp, Timestamp), obs: MesaObservation) -> Schedule<MesaPhase> {
    let (opens, closes) = window;
    let next = [opens, closes].into_iter().find(|t| *t > now);
    let phase = if obs.transmitted {
        MesaPhase::Transmitted
    } else if obs.counted {
        MesaPhase::Counted
    } else if now >= closes {
        MesaPhase::Closed
    } else if now >= opens && obs.constituted {
        MesaPhase::Open
    } else if obs.constituted {
        MesaPhase::Constituted
    } else {
        MesaPhase::Scheduled
    };
    Schedule { phase, next }
}

/// How long to wait before reconciling again: until the next scheduled instant (plus a second, so the clock
/// has surely passed it), never longer than [`RESYNC`].
pub fn requeue_after(now: Timestamp, next: Option<Timestamp>) -> Duration {
    match next {
        Some(t) => {
            let secs = t.duration_since(now).as_secs_f64().max(0.0);
            Duration::from_secs_f64(secs + 1.0).min(RESYNC)
        }
        None => RESYNC,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Timestamp {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn windows() -> Vec<(Timestamp, Timestamp)> {
        vec![
            (t("2024-05-01T00:00:00Z"), t("2024-06-01T00:00:00Z")),
            (t("2024-06-02T14:00:00Z"), t("2024-06-03T00:00:00Z")),
        ]
    }

    #[test]
    fn before_opening_waits_for_first_opening() {
        let ready = ElectionObservation { workloads_ready: true, ..Default::default() };
        let s = election_phase(t("2024-04-01T00:00:00Z"), &windows(), &ready);
        assert_eq!(s.phase, ElectionPhase::Scheduled);
        assert_eq!(s.next, Some(t("2024-05-01T00:00:00Z")));
        let s = election_phase(t("2024-04-01T00:00:00Z"), &windows(), &ElectionObservation::default());
        assert_eq!(s.phase, ElectionPhase::Pending);
    }

    #[test]
    fn opens_at_the_exact_instant_and_stays_open_between_windows() {
        let obs = ElectionObservation::default();
        assert_eq!(election_phase(t("2024-04-30T23:59:59Z"), &windows(), &obs).phase, ElectionPhase::Pending);
        let s = election_phase(t("2024-05-01T00:00:00Z"), &windows(), &obs);
        assert_eq!(s.phase, ElectionPhase::Open);
        assert_eq!(s.next, Some(t("2024-06-01T00:00:00Z")));
        let s = election_phase(t("2024-06-01T12:00:00Z"), &windows(), &obs);
        assert_eq!(s.phase, ElectionPhase::Open);
        assert_eq!(s.next, Some(t("2024-06-02T14:00:00Z")));
    }

    #[test]
    fn after_closing_follows_the_closing_steps() {
        let now = t("2024-06-03T00:00:00Z");
        let mut obs = ElectionObservation::default();
        let s = election_phase(now, &windows(), &obs);
        assert_eq!((s.phase, s.next), (ElectionPhase::Closed, None));
        // A step computed a moment before the clock passed closesAt is still Closed.
        obs.closing = Some(Step::Voting);
        assert_eq!(election_phase(now, &windows(), &obs).phase, ElectionPhase::Closed);
        for (step, phase) in [
            (Step::Draining, ElectionPhase::Closed),
            (Step::Sealing, ElectionPhase::Closed),
            (Step::ClosingLog, ElectionPhase::Closed),
            (Step::Exporting, ElectionPhase::Tallying),
            (Step::Decrypting, ElectionPhase::Tallying),
            (Step::Verifying, ElectionPhase::Tallying),
            (Step::Decrypted, ElectionPhase::Decrypted),
            (Step::Certified, ElectionPhase::Certified),
        ] {
            obs.closing = Some(step);
            assert_eq!(election_phase(now, &windows(), &obs).phase, phase, "{step:?}");
        }
        // Before the last closing the clock rules, whatever a step says.
        assert_eq!(election_phase(t("2024-06-02T15:00:00Z"), &windows(), &obs).phase, ElectionPhase::Open);
    }

    #[test]
    fn failure_wins() {
        let obs = ElectionObservation { failure: Some("log chain broken".into()), ..Default::default() };
        assert_eq!(election_phase(t("2024-05-02T00:00:00Z"), &windows(), &obs).phase, ElectionPhase::Failed);
    }

    #[test]
    fn mesa_needs_constitution_to_open() {
        let w = (t("2024-06-02T08:00:00Z"), t("2024-06-02T18:00:00Z"));
        let none = MesaObservation::default();
        let constituted = MesaObservation { constituted: true, ..none };
        assert_eq!(mesa_phase(t("2024-06-02T07:00:00Z"), w, none).phase, MesaPhase::Scheduled);
        assert_eq!(mesa_phase(t("2024-06-02T07:30:00Z"), w, constituted).phase, MesaPhase::Constituted);
        let s = mesa_phase(t("2024-06-02T09:00:00Z"), w, constituted);
        assert_eq!((s.phase, s.next), (MesaPhase::Open, Some(w.1)));
        assert_eq!(mesa_phase(t("2024-06-02T09:00:00Z"), w, none).phase, MesaPhase::Scheduled);
        assert_eq!(mesa_phase(t("2024-06-02T18:00:00Z"), w, constituted).phase, MesaPhase::Closed);
        let counted = MesaObservation { counted: true, ..constituted };
        assert_eq!(mesa_phase(t("2024-06-02T19:00:00Z"), w, counted).phase, MesaPhase::Counted);
        let sent = MesaObservation { transmitted: true, ..counted };
        assert_eq!(mesa_phase(t("2024-06-02T19:00:00Z"), w, sent).phase, MesaPhase::Transmitted);
    }

    #[test]
    fn mesa_phase_follows_the_observed_actas() {
        use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
        let w = (t("2027-06-06T08:00:00Z"), t("2027-06-06T18:00:00Z"));
        let acta = |kind, log_index: Option<u64>| Acta {
            kind,
            sha256: "ab".repeat(32),
            signers: vec!["ana".into(), "bea".into()],
            signed_at: Time(t("2027-06-06T07:30:00Z")),
            transmitted_at: log_index.map(|_| Time(t("2027-06-06T07:30:01Z"))),
            log_index,
        };
        let phase = |now: &str, actas: &[Acta]| mesa_phase(t(now), w, MesaObservation::from_actas(actas)).phase;
        assert_eq!(phase("2027-06-06T07:00:00Z", &[]), MesaPhase::Scheduled);
        let constituted = [acta(ActaKind::Constitution, Some(0))];
        assert_eq!(phase("2027-06-06T07:45:00Z", &constituted), MesaPhase::Constituted);
        assert_eq!(phase("2027-06-06T09:00:00Z", &constituted), MesaPhase::Open);
        assert_eq!(phase("2027-06-06T18:00:00Z", &constituted), MesaPhase::Closed);
        // Participants and audit codes alone do not count the Mesa; a results acta does, and it is
        // transmitted once its event has a leaf index in the audit log.
        let mut actas = constituted.to_vec();
        actas.push(acta(ActaKind::Participants, Some(1)));
        actas.push(acta(ActaKind::AuditCodes, Some(2)));
        assert_eq!(phase("2027-06-06T19:00:00Z", &actas), MesaPhase::Closed);
        actas.push(acta(ActaKind::Results, None));
        assert_eq!(phase("2027-06-06T19:00:00Z", &actas), MesaPhase::Counted);
        actas.pop();
        actas.push(acta(ActaKind::Results, Some(3)));
        assert_eq!(phase("2027-06-06T19:00:00Z", &actas), MesaPhase::Transmitted);
    }

    #[test]
    fn requeue_hits_the_instant_and_is_capped() {
        let now = t("2024-05-01T00:00:00Z");
        assert_eq!(requeue_after(now, Some(t("2024-05-01T00:00:30Z"))), Duration::from_secs(31));
        assert_eq!(requeue_after(now, Some(t("2024-06-01T00:00:00Z"))), RESYNC);
        assert_eq!(requeue_after(now, None), RESYNC);
    }
}
