//! The I/O edge of observation: asks the workloads' `GET /v1/status` (through the context's
//! [`Poller`](crate::workloads::Poller), at most once per interval each, all at once so one slow workload
//! does not hold up the others); what is written from the answers is decided in [`crate::observe`].

use std::time::Duration;

use futures::future::join_all;
use kube::ResourceExt;
use serde::de::DeserializeOwned;
use urna_status::audit::AuditStatus;
use urna_status::vote::VoteStatus;

use super::Context;
use crate::build::{booth_vote, election as build};
use crate::crd::common::ModalityKind;
use crate::crd::{Election, ElectionPhase};
use crate::observe::{Polled, VotePoll};
use crate::workloads::Endpoint;
use crate::workloads::poll::STATUS_PATH;

/// Asks `ep` when `ready` (a workload whose pods are not ready is not asked, and not reported).
pub async fn ask<T: DeserializeOwned>(ctx: &Context, ep: &Endpoint, ready: bool) -> (String, Polled<T>) {
    let url = ctx.poller.endpoints.url(ep, STATUS_PATH);
    if !ready {
        return (url, None);
    }
    (url, Some(ctx.poller.status(ep).await))
}

/// Phases in which the counters move, or the closing steps are waited for: poll on the short interval.
pub fn observing(phase: ElectionPhase) -> bool {
    matches!(phase, ElectionPhase::Open | ElectionPhase::Closed | ElectionPhase::Tallying)
}

/// `after`, shortened to the observation interval while the Election is in an [`observing`] phase.
pub fn requeue(ctx: &Context, phase: Option<ElectionPhase>, after: Duration) -> Duration {
    if phase.is_some_and(observing) { after.min(ctx.poller.interval) } else { after }
}

/// What the Election's own workloads answered.
pub struct ElectionPolls {
    pub votes: Vec<VotePoll>,
    pub audit_url: String,
    pub audit: Polled<AuditStatus>,
}

/// The vote service's partitions (when all are ready), the booth vote service (when it runs and is ready)
/// and the audit log (when ready).
pub async fn election(
    e: &Election,
    ctx: &Context,
    ns: &str,
    vote_ready: bool,
    booth_ready: Option<bool>,
    audit_ready: bool,
) -> ElectionPolls {
    let partitions = e.spec.vote.partitions;
    let mut targets: Vec<(String, Endpoint, ModalityKind, u32, u32, bool)> = Vec::new();
    if let Some(m) = build::vote_modality(e) {
        for i in 0..partitions {
            let ep = Endpoint::vote_partition(ns, e, i);
            targets.push((format!("vote partition {i}/{partitions}"), ep, m.kind, i, partitions, vote_ready));
        }
    }
    if let Some(ready) = booth_ready {
        let name = booth_vote::booth_vote_name(&e.name_any());
        targets.push((
            format!("booth vote service {name}"),
            Endpoint::booth_vote(ns, e),
            ModalityKind::Booth,
            0,
            1,
            ready,
        ));
    }
    let asks = targets.iter().map(|(_, ep, _, _, _, ready)| ask::<VoteStatus>(ctx, ep, *ready));
    let audit_ep = Endpoint::audit(ns, e);
    let (answers, (audit_url, audit)) = futures::join!(join_all(asks), ask::<AuditStatus>(ctx, &audit_ep, audit_ready));
    let votes = targets
        .into_iter()
        .zip(answers)
        .map(|((workload, _, modality, partition, partitions, _), (url, polled))| VotePoll {
            workload,
            url,
            modality,
            partition,
            partitions,
            polled,
        })
        .collect();
    ElectionPolls { votes, audit_url, audit }
}

/// The modalities whose ballots a vote service records (the main one, and booth with `spec.vote.booth`).
pub fn served(e: &Election) -> Vec<ModalityKind> {
    let mut out: Vec<ModalityKind> = build::vote_modality(e).map(|m| m.kind).into_iter().collect();
    if booth_vote::booth_spec(e).is_some() && !out.contains(&ModalityKind::Booth) {
        out.push(ModalityKind::Booth);
    }
    out
}
