//! Ready / Progressing / Degraded (and Paused) conditions, with `observedGeneration`, keeping each
//! condition's `lastTransitionTime` unless its status actually changed.

use jiff::Timestamp;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

pub use crate::crd::common::condition::{DEGRADED, PAUSED, PROGRESSING, READY, RECONCILING, STALLED};

/// One condition's desired state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Desired {
    pub type_: &'static str,
    pub status: bool,
    pub reason: String,
    pub message: String,
}

impl Desired {
    pub fn new(type_: &'static str, status: bool, reason: &str, message: impl Into<String>) -> Self {
        Self { type_, status, reason: reason.into(), message: message.into() }
    }
}

/// `current` with each desired condition replacing the one of its type in place (new types appended), so a
/// partial update (Paused, an API refusal) keeps the others as they are.
pub fn replace(current: &[Condition], desired: &[Desired], generation: Option<i64>, now: Timestamp) -> Vec<Condition> {
    let new = merge(current, desired, generation, now);
    let mut out: Vec<Condition> =
        current.iter().map(|c| new.iter().find(|n| n.type_ == c.type_).cloned().unwrap_or_else(|| c.clone())).collect();
    out.extend(new.into_iter().filter(|n| !current.iter().any(|c| c.type_ == n.type_)));
    out
}

/// The conditions to write, given the current ones.
pub fn merge(current: &[Condition], desired: &[Desired], generation: Option<i64>, now: Timestamp) -> Vec<Condition> {
    desired
        .iter()
        .map(|d| {
            let status = if d.status { "True" } else { "False" };
            let since = current
                .iter()
                .find(|c| c.type_ == d.type_ && c.status == status)
                .map(|c| c.last_transition_time.clone())
                .unwrap_or(Time(now));
            Condition {
                type_: d.type_.into(),
                status: status.into(),
                reason: d.reason.clone(),
                message: d.message.clone(),
                observed_generation: generation,
                last_transition_time: since,
            }
        })
        .collect()
}

/// The usual triple: ready, or progressing towards it, or degraded with a reason; then kstatus' Reconciling
/// (= Progressing) and Stalled (= Degraded: every degraded reason here needs an edit or an operator's
/// attention, retrying alone does not clear it).
pub fn standard(ready: bool, ready_msg: &str, degraded: Option<(&str, String)>) -> Vec<Desired> {
    let (deg, deg_reason, deg_msg) = match &degraded {
        Some((reason, msg)) => (true, *reason, msg.clone()),
        None => (false, "AsExpected", String::new()),
    };
    let ready = ready && !deg;
    vec![
        Desired::new(
            READY,
            ready,
            if ready {
                "Ready"
            } else if deg {
                deg_reason
            } else {
                "Progressing"
            },
            ready_msg,
        ),
        Desired::new(PROGRESSING, !ready && !deg, if ready { "Ready" } else { "Reconciling" }, ""),
        Desired::new(DEGRADED, deg, deg_reason, deg_msg.clone()),
        Desired::new(RECONCILING, !ready && !deg, if ready { "Ready" } else { "Reconciling" }, ""),
        Desired::new(STALLED, deg, deg_reason, deg_msg),
    ]
}

/// Marks `desired` Degraded with `reason` unless something else degraded it already. Ready and Stalled stay
/// as they were: a workload that did not answer one poll is worth showing, not a reason for GitOps tools to
/// call the resource failed (the next poll may clear it).
pub fn degrade(desired: &mut [Desired], reason: &str, message: String) {
    if let Some(d) = desired.iter_mut().find(|d| d.type_ == DEGRADED && !d.status) {
        *d = Desired::new(DEGRADED, true, reason, message);
    }
}
