//! Closing an Election, as a pure plan: what was observed in, the step the election stands at and the acts
//! that move it on out. Every fact the plan reads lives in the workloads (their `GET /v1/status`) or in API
//! objects (the export Job, the Election's status and annotations), never in operator memory, so an operator
//! killed after any act and restarted computes the same next act; and every act is idempotent (a seal or a
//! close of what is already sealed or closed answers as before, the Job and the record volume are created
//! only when absent, the status fields are applied with the values already there).
//!
//! The steps, in order (docs/operator.md, "Closing"):
//! vote services closed by their own clock and drained → shards sealed → audit log's closing checkpoint →
//! record exported by a Job onto a volume (`recordExportedAt`) → decryption service up, trustees' partials
//! in → results combined and the record verified by that service → results published (`status.results`,
//! ConfigMap) → certified by an explicit act of the authority (`certifiedAt`).

use crate::crd::ElectionPhase;

/// What one workload answered, or why it did not.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Seen<T> {
    Answered(T),
    Unreachable(String),
}

/// A vote service replica (each remote partition, the booth vote service).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoteView {
    pub name: String,
    /// Past its `closesAt` (or closed by hand): it accepts nothing more.
    pub closed: bool,
    /// Ballots it accepted that their shard or the audit log has not acknowledged yet (being retried).
    pub pending: u64,
    /// The mesas it serves (the booth vote service) that have not submitted their results acta yet: the
    /// acta's hash goes into the audit log, so the log is closed only once they are in (or the authority
    /// closes without them).
    pub awaiting_results: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardView {
    pub name: String,
    pub sealed: bool,
    pub failure: Option<String>,
}

/// The record-export Job, as its status says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobState {
    Absent,
    Running,
    Succeeded,
    Failed(String),
}

/// The decryption service's verification of the finished record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verification {
    Pending,
    Valid,
    Invalid(String),
}

/// What the decryption service reported (`urna_status::decryption::DecryptionStatus`, reduced).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecryptionView {
    pub trustees: u32,
    pub threshold: u32,
    pub accepted: Vec<u32>,
    pub refused: u64,
    /// The latest refusal's reason, for the Event.
    pub last_refusal: Option<String>,
    /// SHA-256 of `results.json` (hex), once `t` partials combined.
    pub results_digest: Option<String>,
    pub verification: Verification,
}

/// Everything the plan reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    /// The clock is at or past the last modality's `closesAt`.
    pub past_close: bool,
    pub votes: Vec<Seen<VoteView>>,
    pub shards: Vec<Seen<ShardView>>,
    pub audit: Seen<AuditView>,
    /// How many declared witnesses must cosign the closing checkpoint before the record is exported
    /// (`spec.audit.witnesses.quorum`; 0 without witnesses).
    pub witness_quorum: u32,
    /// The Election names its key ceremony's public outputs (`spec.record.ceremony`).
    pub ceremony: bool,
    /// The record's PersistentVolumeClaim exists.
    pub record_volume: bool,
    pub export: JobState,
    /// `None`: the decryption service is not deployed yet (or not asked).
    pub decryption: Option<Seen<DecryptionView>>,
    /// From the Election's status (what earlier reconciles wrote).
    pub record_exported: bool,
    pub results_published: Option<String>,
    /// Refusals already reported as Events (`status.decryption.refused`).
    pub refusals_reported: u64,
    pub certify_requested: bool,
    /// The authority closes the log without the results actas still missing (the annotation
    /// [`crate::meta::ANNOTATION_CLOSE_WITHOUT_ACTAS`]).
    pub close_without_actas: bool,
    pub certified: bool,
    /// The step the Election's status shows (its `Closing` condition's reason); `None` before closing.
    pub shown: Option<Step>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditView {
    pub closed: bool,
    /// Witness cosignatures on the closing checkpoint (the log keeps only the declared witnesses').
    pub cosignatures: u32,
}

/// Where closing stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Step {
    /// Before the last `closesAt`: nothing to close.
    Voting,
    /// Waiting for every vote service to report itself closed with nothing left to forward.
    Draining,
    Sealing,
    ClosingLog,
    Exporting,
    /// The decryption service collects the trustees' partials.
    Decrypting,
    /// Results combined; the service verifies the finished record.
    Verifying,
    Decrypted,
    Certified,
}

impl Step {
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Voting => "Voting",
            Step::Draining => "Draining",
            Step::Sealing => "Sealing",
            Step::ClosingLog => "ClosingLog",
            Step::Exporting => "Exporting",
            Step::Decrypting => "Decrypting",
            Step::Verifying => "Verifying",
            Step::Decrypted => "Decrypted",
            Step::Certified => "Certified",
        }
    }

    /// The step a `Closing` condition's reason names.
    pub fn parse(reason: &str) -> Option<Self> {
        [
            Step::Voting,
            Step::Draining,
            Step::Sealing,
            Step::ClosingLog,
            Step::Exporting,
            Step::Decrypting,
            Step::Verifying,
            Step::Decrypted,
            Step::Certified,
        ]
        .into_iter()
        .find(|s| s.as_str() == reason)
    }

    /// The Election's phase at this step (after the last closing): `Closed` until every shard is sealed and
    /// the log closed, `Tallying` while the record is exported, decrypted and verified, then `Decrypted`,
    /// `Certified`.
    pub fn phase(self) -> ElectionPhase {
        match self {
            Step::Voting => ElectionPhase::Open,
            Step::Draining | Step::Sealing | Step::ClosingLog => ElectionPhase::Closed,
            Step::Exporting | Step::Decrypting | Step::Verifying => ElectionPhase::Tallying,
            Step::Decrypted => ElectionPhase::Decrypted,
            Step::Certified => ElectionPhase::Certified,
        }
    }
}

/// One act of the executor; each is idempotent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Act {
    /// `POST /v1/seal` to this shard (internal token).
    Seal(String),
    /// `POST /v1/close` to the audit log (internal token): its closing checkpoint.
    CloseLog,
    /// Create the record's PersistentVolumeClaim (when absent).
    CreateRecordVolume,
    /// Create the record-export Job (when absent).
    CreateExportJob,
    /// Write `status.recordExportedAt`.
    MarkExported,
    /// Fetch `GET /v1/results`, check its digest, write the results ConfigMap and `status.results`.
    PublishResults { digest: String },
    /// A Warning Event for `new` refused partials (the total is written to the status with it).
    ReportRefusals { total: u64, new: u64, last: Option<String> },
    /// Write `status.certifiedAt`.
    Certify,
}

impl Act {
    /// The act writes a fact to the Election's status that moves it past the step it was planned at.
    fn leaves_step(&self) -> bool {
        matches!(self, Act::MarkExported | Act::PublishResults { .. } | Act::Certify)
    }
}

/// The plan: the step, the acts, the condition to show and whether to come back soon.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub step: Step,
    pub acts: Vec<Act>,
    /// The `Closing` condition's message: what is being waited for.
    pub message: String,
    /// Something that will not resolve by waiting alone: a reason and a message (`Degraded`).
    pub blocked: Option<(&'static str, String)>,
    /// Apply the decryption service's Deployment and Service (from export on, for good).
    pub serve_decryption: bool,
    /// Poll again soon (workloads are moving); `false`: nothing happens until an edit or the resync.
    pub poll: bool,
}

impl Plan {
    fn at(step: Step, message: impl Into<String>) -> Self {
        Self { step, acts: vec![], message: message.into(), blocked: None, serve_decryption: false, poll: true }
    }

    fn blocked(mut self, reason: &'static str, message: impl Into<String>) -> Self {
        self.blocked = Some((reason, message.into()));
        self
    }
}

/// The next step and acts. Facts already persisted in the Election's status (exported, published,
/// certified) win over what the workloads say now, so a later workload outage never moves an election back.
///
/// A step is shown before the acts that leave it: when the status does not show the step yet, those acts
/// wait for the next reconcile, so every step appears as a condition and an Event even when the workloads
/// have already moved past it (a restarted operator that finds the record verified still shows `Verifying`
/// before `Decrypted`).
pub fn plan(o: &Observed) -> Plan {
    let mut p = advance(o);
    if o.shown != Some(p.step) && p.acts.iter().any(Act::leaves_step) {
        p.acts.retain(|a| !a.leaves_step());
        p.poll = true;
    }
    p
}

fn advance(o: &Observed) -> Plan {
    if o.certified {
        let mut p = Plan::at(Step::Certified, "results certified");
        p.serve_decryption = o.record_exported;
        p.poll = false;
        return p;
    }
    if let Some(digest) = &o.results_published {
        let mut p = Plan::at(Step::Decrypted, format!("results published (sha256 {digest})"));
        p.serve_decryption = o.record_exported;
        if o.certify_requested {
            p.acts.push(Act::Certify);
            p.message = "certifying the results".into();
        } else {
            p.message = format!(
                "results published (sha256 {digest}); the authority certifies them with the annotation {}: \"true\"",
                crate::meta::ANNOTATION_CERTIFY
            );
            p.poll = false;
        }
        return p;
    }
    if o.record_exported {
        return decrypting(o);
    }
    if !o.past_close {
        let mut p = Plan::at(Step::Voting, "voting is open");
        p.poll = false;
        return p;
    }
    exporting(o)
}

/// From the last closing to the exported record.
fn exporting(o: &Observed) -> Plan {
    let unreachable: Vec<&str> =
        reasons(&o.votes).chain(reasons(&o.shards)).chain(reasons(std::slice::from_ref(&o.audit))).collect();
    let votes: Vec<&VoteView> = answered(&o.votes);
    let open: Vec<&str> = votes.iter().filter(|v| !v.closed).map(|v| v.name.as_str()).collect();
    let pending: Vec<String> =
        votes.iter().filter(|v| v.pending > 0).map(|v| format!("{} ({} ballots)", v.name, v.pending)).collect();
    if let Some(failed) = answered(&o.shards).into_iter().find(|s| s.failure.is_some()) {
        let why = failed.failure.clone().unwrap_or_default();
        return Plan::at(Step::Sealing, "a shard failed")
            .blocked("ShardFailed", format!("shard {}: {why}", failed.name));
    }
    let vote_unreachable = o.votes.iter().any(|v| matches!(v, Seen::Unreachable(_)));
    if vote_unreachable || !open.is_empty() || !pending.is_empty() {
        let mut msg = Vec::new();
        if !open.is_empty() {
            msg.push(format!("vote services not closed yet by their clock: {}", open.join(", ")));
        }
        if !pending.is_empty() {
            msg.push(format!("ballots still being forwarded: {}", pending.join(", ")));
        }
        if vote_unreachable {
            msg.push(format!("unreachable: {}", unreachable.join("; ")));
        }
        return Plan::at(Step::Draining, msg.join("; "));
    }
    let shards = answered(&o.shards);
    let unsealed: Vec<&str> = shards.iter().filter(|s| !s.sealed).map(|s| s.name.as_str()).collect();
    let shard_unreachable = o.shards.iter().any(|s| matches!(s, Seen::Unreachable(_)));
    if shard_unreachable || !unsealed.is_empty() {
        let mut p = Plan::at(Step::Sealing, format!("sealing shards: {}", unsealed.join(", ")));
        p.acts = unsealed.iter().map(|s| Act::Seal((*s).to_owned())).collect();
        if shard_unreachable {
            p.message = format!("{}; unreachable: {}", p.message, unreachable.join("; "));
        }
        return p;
    }
    match &o.audit {
        Seen::Unreachable(why) => return Plan::at(Step::ClosingLog, format!("audit log unreachable: {why}")),
        Seen::Answered(a) if !a.closed => {
            let awaiting: Vec<&str> =
                votes.iter().flat_map(|v| v.awaiting_results.iter()).map(String::as_str).collect();
            if !awaiting.is_empty() && !o.close_without_actas {
                return Plan::at(
                    Step::ClosingLog,
                    format!(
                        "waiting for the results actas of mesas {} before the log's closing checkpoint; to close \
                         without them the authority annotates the Election {}: \"true\"",
                        awaiting.join(", "),
                        crate::meta::ANNOTATION_CLOSE_WITHOUT_ACTAS
                    ),
                );
            }
            let mut p = Plan::at(Step::ClosingLog, "writing the audit log's closing checkpoint");
            p.acts.push(Act::CloseLog);
            return p;
        }
        // The record carries the closing checkpoint as it is at export: a verifier's trust file that requires
        // the witnesses finds their cosignatures there only if they came first.
        Seen::Answered(a) if a.cosignatures < o.witness_quorum => {
            return Plan::at(
                Step::ClosingLog,
                format!(
                    "waiting for the witnesses' cosignatures of the closing checkpoint: {} of the {} required",
                    a.cosignatures, o.witness_quorum
                ),
            );
        }
        Seen::Answered(_) => {}
    }
    if !o.ceremony {
        let mut p = Plan::at(Step::Exporting, "the record cannot be exported").blocked(
            "NoCeremony",
            "spec.record.ceremony names no ConfigMap with the key ceremony's public.json and transcript.json",
        );
        p.poll = false;
        return p;
    }
    let mut p = Plan::at(Step::Exporting, "exporting the election record");
    if !o.record_volume {
        p.acts.push(Act::CreateRecordVolume);
    }
    match &o.export {
        JobState::Absent => p.acts.push(Act::CreateExportJob),
        JobState::Running => {}
        JobState::Succeeded => {
            // The next plan, with the status written, starts the decryption service.
            p.acts.push(Act::MarkExported);
            p.serve_decryption = true;
        }
        JobState::Failed(why) => {
            p = p.blocked("ExportFailed", format!("the record-export Job failed: {why}; delete the Job to retry"));
            p.poll = false;
        }
    }
    p
}

/// From the exported record to published results.
fn decrypting(o: &Observed) -> Plan {
    let mut p = match &o.decryption {
        None => Plan::at(Step::Decrypting, "starting the decryption service"),
        Some(Seen::Unreachable(why)) => Plan::at(Step::Decrypting, format!("decryption service unreachable: {why}")),
        Some(Seen::Answered(d)) => {
            let mut p = match (&d.results_digest, &d.verification) {
                (None, _) => Plan::at(
                    Step::Decrypting,
                    format!(
                        "{} of {} trustees' partial decryptions accepted ({} needed){}",
                        d.accepted.len(),
                        d.trustees,
                        d.threshold,
                        if d.accepted.is_empty() { String::new() } else { format!(": trustees {:?}", d.accepted) }
                    ),
                ),
                (Some(_), Verification::Pending) => Plan::at(Step::Verifying, "verifying the finished record"),
                (Some(_), Verification::Invalid(why)) => {
                    let mut p = Plan::at(Step::Verifying, "the finished record does not verify")
                        .blocked("RecordInvalid", format!("urna verify record: {why}"));
                    p.poll = false;
                    p
                }
                (Some(digest), Verification::Valid) => {
                    let mut p = Plan::at(Step::Verifying, "publishing the verified results");
                    p.acts.push(Act::PublishResults { digest: digest.clone() });
                    p
                }
            };
            // The service counts refusals since its start: fewer than reported means it restarted, and all
            // of its count is new.
            let new = if d.refused >= o.refusals_reported { d.refused - o.refusals_reported } else { d.refused };
            if new > 0 {
                p.acts.insert(0, Act::ReportRefusals { total: d.refused, new, last: d.last_refusal.clone() });
            }
            p
        }
    };
    p.serve_decryption = true;
    p
}

fn answered<T>(seen: &[Seen<T>]) -> Vec<&T> {
    seen.iter()
        .filter_map(|s| match s {
            Seen::Answered(v) => Some(v),
            Seen::Unreachable(_) => None,
        })
        .collect()
}

/// Why each unreachable workload did not answer.
fn reasons<T>(seen: &[Seen<T>]) -> impl Iterator<Item = &str> {
    seen.iter().filter_map(|s| match s {
        Seen::Unreachable(why) => Some(why.as_str()),
        Seen::Answered(_) => None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The workloads and API objects the plan reads, as a small state machine the acts drive: what a
    /// cluster would do, minus the network.
    #[derive(Debug, Clone, PartialEq, Eq)]
    struct World {
        past_close: bool,
        votes: Vec<(bool, u64)>,
        shards: Vec<(bool, Option<String>)>,
        audit_closed: bool,
        cosignatures: u32,
        witness_quorum: u32,
        ceremony: bool,
        volume: bool,
        job: JobState,
        /// Partials the trustees have sent (the service accepts them whether or not the operator watches).
        accepted: Vec<u32>,
        refused: u64,
        verification: Verification,
        deployed: bool,
        exported: bool,
        published: Option<String>,
        refusals_reported: u64,
        certify: bool,
        certified: bool,
        /// Mesas of the first vote service without a results acta.
        awaiting_results: Vec<String>,
        close_without_actas: bool,
        /// The step the status shows, and every step it has shown, in order.
        shown: Option<Step>,
        shown_steps: Vec<Step>,
        /// Acts performed, in order.
        log: Vec<Act>,
    }

    const THRESHOLD: u32 = 3;

    impl World {
        fn closed() -> Self {
            Self {
                past_close: true,
                votes: vec![(true, 0), (true, 0)],
                shards: vec![(false, None), (false, None), (true, None)],
                audit_closed: false,
                cosignatures: 0,
                witness_quorum: 0,
                ceremony: true,
                volume: false,
                job: JobState::Absent,
                accepted: vec![],
                refused: 0,
                verification: Verification::Pending,
                deployed: false,
                exported: false,
                published: None,
                refusals_reported: 0,
                certify: false,
                certified: false,
                awaiting_results: vec![],
                close_without_actas: false,
                shown: None,
                shown_steps: vec![],
                log: vec![],
            }
        }

        fn observe(&self) -> Observed {
            let results = (self.accepted.len() as u32 >= THRESHOLD).then(|| "ab12".to_owned());
            Observed {
                past_close: self.past_close,
                votes: self
                    .votes
                    .iter()
                    .enumerate()
                    .map(|(i, (closed, pending))| {
                        Seen::Answered(VoteView {
                            name: format!("vote-{i}"),
                            closed: *closed,
                            pending: *pending,
                            awaiting_results: if i == 0 { self.awaiting_results.clone() } else { vec![] },
                        })
                    })
                    .collect(),
                shards: self
                    .shards
                    .iter()
                    .enumerate()
                    .map(|(i, (sealed, failure))| {
                        Seen::Answered(ShardView { name: format!("s{i}"), sealed: *sealed, failure: failure.clone() })
                    })
                    .collect(),
                audit: Seen::Answered(AuditView { closed: self.audit_closed, cosignatures: self.cosignatures }),
                witness_quorum: self.witness_quorum,
                ceremony: self.ceremony,
                record_volume: self.volume,
                export: self.job.clone(),
                decryption: self.deployed.then(|| {
                    Seen::Answered(DecryptionView {
                        trustees: 5,
                        threshold: THRESHOLD,
                        accepted: self.accepted.clone(),
                        refused: self.refused,
                        last_refusal: (self.refused > 0).then(|| "trustee 4: invalid_proof".to_owned()),
                        results_digest: results.clone(),
                        verification: if results.is_some() { self.verification.clone() } else { Verification::Pending },
                    })
                }),
                record_exported: self.exported,
                results_published: self.published.clone(),
                refusals_reported: self.refusals_reported,
                certify_requested: self.certify,
                close_without_actas: self.close_without_actas,
                certified: self.certified,
                shown: self.shown,
            }
        }

        /// Performs one act as the executor does; panics on an act that is not idempotent in this state.
        fn act(&mut self, act: &Act) {
            match act {
                Act::Seal(name) => {
                    let i: usize = name.trim_start_matches('s').parse().expect("shard index");
                    self.shards[i].0 = true;
                }
                Act::CloseLog => self.audit_closed = true,
                Act::CreateRecordVolume => {
                    assert!(!self.volume, "the record volume is created only when absent");
                    self.volume = true;
                }
                Act::CreateExportJob => {
                    assert_eq!(self.job, JobState::Absent, "a second export Job");
                    self.job = JobState::Running;
                }
                Act::MarkExported => {
                    assert!(!self.exported, "recordExportedAt written twice");
                    self.exported = true;
                }
                Act::PublishResults { digest } => {
                    assert!(self.published.is_none(), "results published twice");
                    self.published = Some(digest.clone());
                }
                Act::ReportRefusals { total, .. } => self.refusals_reported = *total,
                Act::Certify => {
                    assert!(!self.certified, "certified twice");
                    self.certified = true;
                }
            }
            self.log.push(act.clone());
        }

        /// What happens between reconciles without the operator: the Job finishes, the service the operator
        /// applied starts, the trustees answer, the service verifies, the authority certifies.
        fn time_passes(&mut self) {
            if self.job == JobState::Running {
                self.job = JobState::Succeeded;
            }
            if self.accepted.len() as u32 >= THRESHOLD && self.verification == Verification::Pending {
                self.verification = Verification::Valid;
            }
            if self.deployed && (self.accepted.len() as u32) < THRESHOLD {
                self.accepted.push(self.accepted.len() as u32 + 1);
            }
            if self.published.is_some() {
                self.certify = true;
            }
        }

        /// One reconcile: plan, then the first `survive` acts (the operator is killed before the rest and before
        /// its status write), `None`: all of them. Returns the plan.
        fn reconcile(&mut self, survive: Option<usize>) -> Plan {
            let mut after = self.observe();
            let p = plan(&after);
            if p.serve_decryption {
                self.deployed = true;
            }
            for (i, act) in p.acts.iter().enumerate() {
                if survive.is_some_and(|n| i >= n) {
                    return p;
                }
                self.act(act);
            }
            // The status write: the step once these acts are done, as the executor computes it (from what it
            // observed before them, with the status facts they wrote).
            after.record_exported = self.exported;
            after.results_published.clone_from(&self.published);
            after.refusals_reported = self.refusals_reported;
            after.certified = self.certified;
            let shown = plan(&after).step;
            if self.shown != Some(shown) {
                self.shown_steps.push(shown);
            }
            self.shown = Some(shown);
            p
        }
    }

    fn run_to_certified(mut w: World, kill_at: Option<(usize, usize)>) -> World {
        for round in 0..40 {
            if w.certified {
                return w;
            }
            let survive = kill_at.filter(|(r, _)| *r == round).map(|(_, n)| n);
            w.reconcile(survive);
            w.time_passes();
        }
        panic!("not certified after 40 reconciles: {w:#?}");
    }

    #[test]
    fn a_closed_election_runs_to_certified_in_order() {
        let w = run_to_certified(World::closed(), None);
        let kinds: Vec<&str> = w
            .log
            .iter()
            .map(|a| match a {
                Act::Seal(_) => "seal",
                Act::CloseLog => "close-log",
                Act::CreateRecordVolume => "volume",
                Act::CreateExportJob => "job",
                Act::MarkExported => "exported",
                Act::PublishResults { .. } => "publish",
                Act::ReportRefusals { .. } => "refusals",
                Act::Certify => "certify",
            })
            .collect();
        assert_eq!(kinds, ["seal", "seal", "close-log", "volume", "job", "exported", "publish", "certify"]);
        assert_eq!(w.log[0], Act::Seal("s0".into()), "only the unsealed shards are sealed");
        assert_eq!(w.log[1], Act::Seal("s1".into()));
        assert_eq!(w.published.as_deref(), Some("ab12"));
        use Step::*;
        assert_eq!(
            w.shown_steps,
            [Sealing, ClosingLog, Exporting, Decrypting, Verifying, Decrypted, Certified],
            "every step is shown, in order"
        );
    }

    /// Workloads that moved on while no operator watched (the record verified before a restarted operator's
    /// first look): the step is shown before the act that leaves it, never skipped.
    #[test]
    fn a_step_is_shown_before_the_act_that_leaves_it() {
        let mut w = World::closed();
        w.exported = true;
        w.deployed = true;
        w.accepted = vec![1, 2, 3];
        w.verification = Verification::Valid;
        w.shown = Some(Step::Decrypting);
        let p = plan(&w.observe());
        assert_eq!((p.step, p.acts.len(), p.poll), (Step::Verifying, 0, true));
        w.shown = Some(Step::Verifying);
        assert_eq!(plan(&w.observe()).acts, [Act::PublishResults { digest: "ab12".into() }]);

        // The Job finished between two looks: Exporting is shown before recordExportedAt is written.
        let mut w = World::closed();
        w.shards.iter_mut().for_each(|s| s.0 = true);
        w.audit_closed = true;
        w.volume = true;
        w.job = JobState::Succeeded;
        w.shown = Some(Step::ClosingLog);
        let p = plan(&w.observe());
        assert_eq!((p.step, p.acts.len(), p.serve_decryption), (Step::Exporting, 0, true));
        // Acts that stay within their step are not held back.
        let mut w = World::closed();
        w.shown = Some(Step::Draining);
        assert_eq!(plan(&w.observe()).acts, [Act::Seal("s0".into()), Act::Seal("s1".into())]);
        assert!(Step::parse("Verifying") == Some(Step::Verifying) && Step::parse("Open").is_none());
    }

    /// The operator killed after every act of every reconcile (its status write lost with it), then a fresh
    /// one: the same end, and no act that is not idempotent ever repeats (World::act panics on those).
    #[test]
    fn killed_after_any_act_of_any_reconcile_it_resumes() {
        let reference = run_to_certified(World::closed(), None);
        for round in 0..12 {
            for survive in 0..4 {
                let w = run_to_certified(World::closed(), Some((round, survive)));
                assert_eq!(w.published, reference.published, "round {round}, {survive} acts");
                assert!(w.exported && w.certified);
                let once = |f: fn(&Act) -> bool| w.log.iter().filter(|a| f(a)).count();
                assert_eq!(once(|a| matches!(a, Act::CreateExportJob)), 1, "round {round}, {survive} acts");
                assert_eq!(once(|a| matches!(a, Act::Certify)), 1);
                assert_eq!(once(|a| matches!(a, Act::PublishResults { .. })), 1);
            }
        }
    }

    /// The log's closing checkpoint waits for every mesa's results acta (its hash is a log entry), unless the
    /// authority closes without them; a log already closed is not waited on.
    #[test]
    fn the_log_closes_once_the_mesas_results_actas_are_in() {
        let mut w = World::closed();
        w.shards.iter_mut().for_each(|s| s.0 = true);
        w.awaiting_results = vec!["m-7".into(), "m-9".into()];
        let p = plan(&w.observe());
        assert_eq!((p.step, p.acts.len(), p.poll), (Step::ClosingLog, 0, true));
        assert!(p.message.contains("m-7, m-9") && p.message.contains(crate::meta::ANNOTATION_CLOSE_WITHOUT_ACTAS));

        w.close_without_actas = true;
        assert_eq!(plan(&w.observe()).acts, [Act::CloseLog]);

        w.close_without_actas = false;
        w.awaiting_results.clear();
        assert_eq!(plan(&w.observe()).acts, [Act::CloseLog]);

        w.awaiting_results = vec!["m-7".into()];
        w.audit_closed = true;
        assert_eq!(plan(&w.observe()).step, Step::Exporting, "an acta after the close no longer holds it");
    }

    /// With declared witnesses the record waits for their quorum's cosignatures of the closing checkpoint.
    #[test]
    fn the_export_waits_for_the_witness_quorum_on_the_closing_checkpoint() {
        let mut w = World::closed();
        w.shards.iter_mut().for_each(|s| s.0 = true);
        w.audit_closed = true;
        w.witness_quorum = 2;
        w.cosignatures = 1;
        let p = plan(&w.observe());
        assert_eq!((p.step, p.acts.len(), p.poll), (Step::ClosingLog, 0, true));
        assert!(p.message.contains("1 of the 2 required"), "{}", p.message);
        w.cosignatures = 2;
        assert_eq!(plan(&w.observe()).acts, [Act::CreateRecordVolume, Act::CreateExportJob]);
    }

    /// Every intermediate state a restarted operator can find, named: the step it reports and what it does.
    #[test]
    fn each_state_a_restarted_operator_finds() {
        let mut w = World::closed();
        w.past_close = false;
        let p = plan(&w.observe());
        assert_eq!((p.step, p.step.phase(), p.acts.len(), p.poll), (Step::Voting, ElectionPhase::Open, 0, false));

        let mut w = World::closed();
        w.votes[1] = (false, 0);
        let p = plan(&w.observe());
        assert_eq!((p.step, p.acts.len()), (Step::Draining, 0));
        assert!(p.message.contains("vote-1"), "{}", p.message);

        let mut w = World::closed();
        w.votes[0] = (true, 7);
        let p = plan(&w.observe());
        assert_eq!(p.step, Step::Draining);
        assert!(p.message.contains("vote-0 (7 ballots)"), "{}", p.message);

        let w = World::closed();
        let p = plan(&w.observe());
        assert_eq!((p.step, p.step.phase()), (Step::Sealing, ElectionPhase::Closed));
        assert_eq!(p.acts, [Act::Seal("s0".into()), Act::Seal("s1".into())]);

        let mut w = World::closed();
        w.shards.iter_mut().for_each(|s| s.0 = true);
        let p = plan(&w.observe());
        assert_eq!((p.step, p.acts.clone()), (Step::ClosingLog, vec![Act::CloseLog]));

        w.audit_closed = true;
        let p = plan(&w.observe());
        assert_eq!((p.step, p.step.phase()), (Step::Exporting, ElectionPhase::Tallying));
        assert_eq!(p.acts, [Act::CreateRecordVolume, Act::CreateExportJob]);

        // Killed after the volume, before the Job.
        w.volume = true;
        assert_eq!(plan(&w.observe()).acts, [Act::CreateExportJob]);
        // Killed after the Job was created: it runs; nothing to do.
        w.job = JobState::Running;
        let p = plan(&w.observe());
        assert_eq!((p.step, p.acts.len(), p.poll), (Step::Exporting, 0, true));
        // The Job succeeded, recordExportedAt not yet written.
        w.job = JobState::Succeeded;
        w.shown = Some(Step::Exporting);
        let p = plan(&w.observe());
        assert_eq!(p.acts, [Act::MarkExported]);
        assert!(p.serve_decryption);
        // Written: the decryption service, whatever the workloads that came before now say (they may be gone).
        w.exported = true;
        w.votes.clear();
        w.audit_closed = false;
        let p = plan(&w.observe());
        assert_eq!((p.step, p.acts.len(), p.serve_decryption), (Step::Decrypting, 0, true));
        assert_eq!(p.message, "starting the decryption service");
        w.deployed = true;
        w.accepted = vec![2];
        let p = plan(&w.observe());
        assert_eq!(p.message, "1 of 5 trustees' partial decryptions accepted (3 needed): trustees [2]");
        w.accepted = vec![1, 2, 3];
        let p = plan(&w.observe());
        assert_eq!((p.step, p.acts.len()), (Step::Verifying, 0));
        w.verification = Verification::Valid;
        w.shown = Some(Step::Verifying);
        let p = plan(&w.observe());
        assert_eq!(p.acts, [Act::PublishResults { digest: "ab12".into() }]);
        // Published: Decrypted, waiting for the authority (no polling).
        w.published = Some("ab12".into());
        let p = plan(&w.observe());
        assert_eq!(
            (p.step, p.step.phase(), p.acts.len(), p.poll),
            (Step::Decrypted, ElectionPhase::Decrypted, 0, false)
        );
        assert!(p.message.contains("urna.dev/certify"), "{}", p.message);
        w.certify = true;
        w.shown = Some(Step::Decrypted);
        assert_eq!(plan(&w.observe()).acts, [Act::Certify]);
        w.certified = true;
        let p = plan(&w.observe());
        assert_eq!(
            (p.step, p.step.phase(), p.acts.len(), p.serve_decryption),
            (Step::Certified, ElectionPhase::Certified, 0, true)
        );
    }

    #[test]
    fn unreachable_workloads_wait_and_say_which() {
        let mut o = World::closed().observe();
        o.votes[0] = Seen::Unreachable("vote-0: connection refused".into());
        let p = plan(&o);
        assert_eq!((p.step, p.acts.len(), p.poll), (Step::Draining, 0, true));
        assert!(p.message.contains("vote-0: connection refused"), "{}", p.message);

        let mut o = World::closed().observe();
        o.shards[2] = Seen::Unreachable("s2: timed out".into());
        let p = plan(&o);
        // The reachable unsealed shards are sealed meanwhile; the log waits for every shard.
        assert_eq!((p.step, p.acts), (Step::Sealing, vec![Act::Seal("s0".into()), Act::Seal("s1".into())]));
        assert!(p.message.contains("s2: timed out"), "{}", p.message);

        let mut w = World::closed();
        w.shards.iter_mut().for_each(|s| s.0 = true);
        let mut o = w.observe();
        o.audit = Seen::Unreachable("audit: 503".into());
        let p = plan(&o);
        assert_eq!((p.step, p.acts.len()), (Step::ClosingLog, 0));

        let mut w = World::closed();
        w.exported = true;
        let mut o = w.observe();
        o.decryption = Some(Seen::Unreachable("decryption: connection refused".into()));
        let p = plan(&o);
        assert_eq!((p.step, p.acts.len(), p.serve_decryption), (Step::Decrypting, 0, true));
        assert!(p.message.contains("connection refused"));
    }

    #[test]
    fn what_waiting_cannot_fix_is_blocked_with_a_reason() {
        let mut w = World::closed();
        w.shards[1].1 = Some("commit failed".into());
        let p = plan(&w.observe());
        assert_eq!(p.blocked, Some(("ShardFailed", "shard s1: commit failed".into())));
        assert!(p.acts.is_empty());

        let mut w = World::closed();
        w.shards.iter_mut().for_each(|s| s.0 = true);
        w.audit_closed = true;
        w.ceremony = false;
        let p = plan(&w.observe());
        assert_eq!(p.blocked.map(|b| b.0), Some("NoCeremony"));
        assert!(p.acts.is_empty() && !p.poll);

        w.ceremony = true;
        w.volume = true;
        w.job = JobState::Failed("BackoffLimitExceeded".into());
        let p = plan(&w.observe());
        let (reason, msg) = p.blocked.expect("blocked");
        assert_eq!(reason, "ExportFailed");
        assert!(msg.contains("BackoffLimitExceeded") && msg.contains("delete the Job"), "{msg}");
        assert!(p.acts.is_empty(), "no second Job while the failed one exists");

        let mut w = World::closed();
        w.exported = true;
        w.deployed = true;
        w.accepted = vec![1, 2, 3];
        w.verification = Verification::Invalid("ballot 7: proof fails".into());
        let p = plan(&w.observe());
        assert_eq!(p.blocked, Some(("RecordInvalid", "urna verify record: ballot 7: proof fails".into())));
        assert!(p.acts.is_empty(), "unverified results are never published");
    }

    #[test]
    fn refused_partials_are_reported_once_each() {
        let mut w = World::closed();
        w.exported = true;
        w.deployed = true;
        w.accepted = vec![1];
        w.refused = 2;
        let p = plan(&w.observe());
        assert_eq!(p.acts, [Act::ReportRefusals { total: 2, new: 2, last: Some("trustee 4: invalid_proof".into()) }]);
        w.refusals_reported = 2;
        assert!(plan(&w.observe()).acts.is_empty());
        w.refused = 3;
        assert!(matches!(plan(&w.observe()).acts[..], [Act::ReportRefusals { total: 3, new: 1, .. }]));
        // The service restarted (its count starts again): its one refusal since is new.
        w.refusals_reported = 3;
        w.refused = 1;
        assert!(matches!(plan(&w.observe()).acts[..], [Act::ReportRefusals { total: 1, new: 1, .. }]));
    }

    #[test]
    fn certification_needs_published_results() {
        let mut w = World::closed();
        w.certify = true;
        assert!(!plan(&w.observe()).acts.contains(&Act::Certify));
        w.exported = true;
        w.deployed = true;
        w.accepted = vec![1, 2, 3];
        assert!(!plan(&w.observe()).acts.contains(&Act::Certify), "not before the results are published");
    }

    #[test]
    fn persisted_facts_never_move_the_election_back() {
        // Certified stays Certified even with every workload gone.
        let mut w = World::closed();
        w.certified = true;
        w.votes = vec![(false, 3)];
        let p = plan(&w.observe());
        assert_eq!((p.step, p.acts.len()), (Step::Certified, 0));
        // Published stays Decrypted while the decryption service is down.
        let mut w = World::closed();
        w.published = Some("ab12".into());
        let mut o = w.observe();
        o.decryption = Some(Seen::Unreachable("down".into()));
        assert_eq!(plan(&o).step, Step::Decrypted);
    }
}
