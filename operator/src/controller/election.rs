//! Election controller, in typed stages (docs/operator.md, "Controller structure"):
//!
//! ```text
//! dereference ──▶ References        what the Election names, fetched once: TallyShards, Mesas, BoothFleets,
//!                                   token Secrets, the key sources (ceremony ConfigMap, signing-key Secret)
//! validate    ──▶ ValidatedElection routing, booth vote service, the Mesas and fleets it serves, the token
//!                                   Secrets, windows: decided once, pure ([`validate`])
//! build       ──▶ Built             every child, pure ([`build_children`]); a Mesa or fleet the booth vote service
//!                                   cannot take is set aside with its reason, the rest still built
//! apply                             token Secrets created once, children server-side applied
//! observe     ──▶ Observed          workload readiness and `GET /v1/status`, once; closing's step and acts
//! status                            phase and conditions ([`decide`], pure), one server-side apply
//! ```
//!
//! The finalizer, pause, refused-spec and apiserver-refusal handling are the shared wrapper's
//! ([`super::reconcile`]).

use std::collections::BTreeMap;
use std::sync::Arc;

use jiff::Timestamp;
use k8s_openapi::api::apps::v1::StatefulSet;
use k8s_openapi::api::core::v1::{ConfigMap, Secret};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use kube::api::{Api, ListParams};
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::{Resource, ResourceExt};
use serde_json::json;
use tracing::info;

use super::conditions::{self, Desired};
use super::reconcile::{Outcome, Reconciler};
use super::{Context, namespace, tokens};
use crate::build::booth_vote::{self, TokenSecret};
use crate::build::election as build;
use crate::build::{Child, Defaults};
use crate::crd::common::ModalityKind;
use crate::crd::election::{
    AuditLogHead, BoothVoteSpec, KeyFingerprints, ModalityCounters, ShardSummary, ShardingPolicy,
};
use crate::crd::{BoothFleet, Election, ElectionPhase, Mesa, TallyShard};
use crate::error::{Error, Result};
use crate::fingerprints::KeySources;
use crate::meta::{self, FINALIZER};
use crate::schedule::{self, ElectionObservation, Schedule};

pub const KIND: &str = "Election";

pub async fn reconcile(e: Arc<Election>, ctx: Arc<Context>) -> Result<Action> {
    super::reconcile::reconcile(e, ctx).await
}

impl Reconciler for Election {
    const KIND: &'static str = KIND;
    const FINALIZER: Option<&'static str> = Some(FINALIZER);

    async fn apply(&self, api: &Api<Election>, ctx: &Context, ns: &str) -> Result<Outcome> {
        pipeline(api, self, ctx, ns).await
    }

    async fn write_invalid(&self, api: &Api<Election>, ctx: &Context, conds: &[Desired]) -> Result<()> {
        // Nothing observed: the counters stay as last written (never reset to 0 by a spec error).
        write_status(
            api,
            self,
            ctx,
            &Decided { phase: self.phase(), next: None, conds: conds.to_vec() },
            &Observed::kept(self),
        )
        .await
    }

    fn deletion_refusal(&self) -> Option<String> {
        Election::deletion_refusal(self)
    }

    async fn refuse_deletion(&self, ctx: &Context, why: &str) {
        refuse(self, ctx, why).await;
    }

    async fn cleanup(&self, ctx: &Context) -> Result<Action> {
        cleanup(self, ctx).await
    }
}

/// The stages, in order.
async fn pipeline(api: &Api<Election>, e: &Election, ctx: &Context, ns: &str) -> Result<Outcome> {
    let refs = dereference(e, ctx, ns).await?;
    let v = match validate(e, &refs) {
        Ok(v) => v,
        // A malformed Election waits for its next edit; nothing is applied from it.
        Err(err) => return Ok(Outcome::Invalid(err)),
    };
    // The token Secrets before the pods that mount them (and the mesas file that holds their hashes).
    let hashes = tokens::ensure(ctx, ns, &refs.tokens, &v.tokens).await?;
    let built = build_children(&v, &hashes, &ctx.defaults)?;
    if let Some(err) = &built.booth_problem {
        ctx.event(e, EventType::Warning, err.reason(), "Validate", err.to_string()).await;
    }
    let owner = format!("{KIND}/{ns}/{}", e.name_any());
    let sent = super::apply::apply_all(&ctx.client, &ctx.applied, ns, &owner, &built.children).await?;
    if sent > 0 {
        info!(sent, total = built.children.len(), "applied children");
    }
    let now = ctx.now();
    let mut observed = observe(&v, &refs, ctx, ns).await?;
    // Closing (docs/operator.md, "Closing"): the close, seal, export, decryption and certification steps.
    let past_close = v.last_close.is_some_and(|c| now >= c);
    let shards = if past_close { observed.shards.clone() } else { vec![] };
    observed.closed = super::closing::reconcile(e, ctx, ns, &shards, past_close).await?;
    let decided = decide(&v, &observed, built.booth_problem.as_ref(), now);
    let previous = e.phase();
    write_status(api, e, ctx, &decided, &observed).await?;
    if decided.phase != previous || e.status.as_ref().and_then(|st| st.phase).is_none() {
        let type_ = if decided.phase == ElectionPhase::Failed { EventType::Warning } else { EventType::Normal };
        let note = format!("{} → {}", previous.as_str(), decided.phase.as_str());
        ctx.event(e, type_, decided.phase.as_str(), "Transition", note).await;
    }
    let wait = super::observe::requeue(ctx, Some(decided.phase), schedule::requeue_after(now, decided.next));
    Ok(Outcome::Done(Action::requeue(if observed.closed.poll { wait.min(ctx.poller.interval) } else { wait })))
}

// ---- dereference ----

/// What the Election references, fetched once per reconcile.
#[derive(Debug, Clone, Default)]
pub struct References {
    /// Every TallyShard naming the Election (generated, or declared by hand), with its status.
    pub shards: Vec<TallyShard>,
    /// The Election's Mesas and BoothFleets (fetched only when it runs a booth vote service).
    pub mesas: Vec<Mesa>,
    pub fleets: Vec<BoothFleet>,
    /// The Election's token Secrets that exist.
    pub tokens: Vec<Secret>,
    /// The sources of `status.keyFingerprints` the cluster holds (the audit log's key comes from observing
    /// it); not fetched once the fingerprints are settled.
    pub keys: KeySources,
}

async fn dereference(e: &Election, ctx: &Context, ns: &str) -> Result<References> {
    let name = e.name_any();
    let of_election = |election: &str| election == name;
    let shards = Api::<TallyShard>::namespaced(ctx.client.clone(), ns).list(&ListParams::default()).await?.items;
    let mut refs = References {
        shards: shards.into_iter().filter(|s| of_election(&s.spec.election)).collect(),
        tokens: tokens::existing(e, ctx, ns).await?,
        ..References::default()
    };
    if booth_vote::booth_spec(e).is_some() {
        let mesas = Api::<Mesa>::namespaced(ctx.client.clone(), ns).list(&ListParams::default()).await?.items;
        refs.mesas = mesas.into_iter().filter(|m| of_election(&m.spec.election)).collect();
        let fleets = Api::<BoothFleet>::namespaced(ctx.client.clone(), ns).list(&ListParams::default()).await?.items;
        refs.fleets = fleets.into_iter().filter(|f| of_election(&f.spec.election)).collect();
    }
    if !crate::fingerprints::settled(e) {
        if let Some(cm) = &e.spec.record.ceremony {
            refs.keys.threshold_public = Api::<ConfigMap>::namespaced(ctx.client.clone(), ns)
                .get_opt(cm)
                .await?
                .and_then(|c| c.data?.remove(crate::fingerprints::CEREMONY_PUBLIC_KEY));
        }
        let key = &e.spec.vote.signing_key;
        refs.keys.signing_key = Api::<Secret>::namespaced(ctx.client.clone(), ns)
            .get_opt(&key.name)
            .await?
            .and_then(|s| s.data?.remove(&key.key))
            .and_then(|b| String::from_utf8(b.0).ok());
    }
    Ok(refs)
}

// ---- validate ----

/// An Election whose spec is valid, with what every later stage shares decided once.
#[derive(Debug, Clone)]
pub struct ValidatedElection<'a> {
    pub election: &'a Election,
    /// The TallyShards generated from the sharding policy (none with `manual`), applied as children.
    pub generated: Vec<TallyShard>,
    /// The TallyShards the vote services route to, closing seals and the record exports, by name: the
    /// generated ones, or with `sharding: manual` those declared by hand.
    pub routes: Vec<TallyShard>,
    /// The booth vote service's spec, when the Election runs one.
    pub booth: Option<&'a BoothVoteSpec>,
    /// The Election's Mesas and BoothFleets, by name (the booth vote service's mesas file; empty without it).
    pub mesas: Vec<Mesa>,
    pub fleets: Vec<BoothFleet>,
    /// The token Secrets that must exist: the internal token (vote → tally and audit) always, the bridge and
    /// each Mesa's console token with a booth vote service.
    pub tokens: Vec<TokenSecret>,
    /// The modalities whose ballots a vote service records.
    pub served: Vec<ModalityKind>,
    /// Each modality's `(opensAt, closesAt)`, and the last `closesAt` (closing starts there).
    pub windows: Vec<(Timestamp, Timestamp)>,
    pub last_close: Option<Timestamp>,
}

/// Checks the spec (`crate::validate::election`) and decides routing, the booth vote service, its Mesas and
/// fleets, the token Secrets and the windows. Pure.
pub fn validate<'a>(e: &'a Election, refs: &References) -> Result<ValidatedElection<'a>> {
    crate::validate::election(e)?;
    let generated = build::tally_shards(e);
    let mut routes =
        if e.spec.tally.sharding == ShardingPolicy::Manual { refs.shards.clone() } else { generated.clone() };
    routes.sort_by_key(|s| s.name_any());
    let booth = booth_vote::booth_spec(e);
    let (mesas, fleets) =
        if booth.is_some() { (by_name(&refs.mesas), by_name(&refs.fleets)) } else { (vec![], vec![]) };
    let mut tokens = vec![build::internal_token_secret_meta(e)];
    if booth.is_some() {
        tokens.extend(booth_vote::token_secrets(e, &mesas));
    }
    tokens.extend(crate::build::site::token_secrets(e));
    Ok(ValidatedElection {
        election: e,
        generated,
        routes,
        booth,
        mesas,
        fleets,
        tokens,
        served: super::observe::served(e),
        windows: e.spec.modalities.iter().map(|m| (m.opens_at.0, m.closes_at.0)).collect(),
        last_close: super::closing::last_close(e),
    })
}

fn by_name<K: Resource + Clone>(objects: &[K]) -> Vec<K> {
    let mut v = objects.to_vec();
    v.sort_by_key(ResourceExt::name_any);
    v
}

// ---- build ----

/// Every child of the Election, in apply order.
#[derive(Debug)]
pub struct Built {
    pub children: Vec<Child>,
    /// A Mesa or fleet the booth vote service cannot take (an inner district, a device in two fleets): it must
    /// not stop the rest of the election, so the booth vote service's children are left out (the running
    /// service keeps its last valid mesas file) and the Election reports Degraded until they are fixed.
    pub booth_problem: Option<Error>,
}

/// The children of `v`: the Election's own ([`build::build_with`], routed to `v.routes`), the booth vote
/// service's ([`booth_vote::build`], its mesas file from the console tokens' `hashes`) and the public site's
/// ([`crate::build::site::build`]: PREP over the same mesas file, its tokens' hashes from `hashes`). Pure.
pub fn build_children(
    v: &ValidatedElection<'_>,
    hashes: &BTreeMap<String, String>,
    defaults: &Defaults,
) -> Result<Built> {
    let e = v.election;
    let mut children = build::build_with(e, defaults, &v.routes)?;
    let mut booth_problem = None;
    let mut mesas = None;
    if v.booth.is_some() {
        let booth = booth_vote::mesas_file(e, &v.mesas, &v.fleets, hashes)
            .and_then(|file| Ok((booth_vote::build(e, defaults, &v.routes, &file)?, file)));
        match booth {
            Ok((booth, file)) => {
                children.extend(booth);
                mesas = Some(file);
            }
            // PREP waits with the booth vote service: the capture service reads the same mesas file.
            Err(err @ Error::InvalidSpec(_)) => booth_problem = Some(err),
            Err(err) => return Err(err),
        }
    }
    children.extend(crate::build::site::build(e, defaults, mesas.as_ref(), hashes)?);
    Ok(Built { children, booth_problem })
}

// ---- observe ----

/// What this reconcile saw of the Election's workloads (and what closing did).
#[derive(Debug, Default)]
struct Observed {
    obs: ElectionObservation,
    ready: u32,
    total: u32,
    census: Option<u64>,
    voters_voted: Option<u64>,
    ballots: Option<u64>,
    modalities: Vec<ModalityCounters>,
    /// The routed shards as the API has them (with their status), the built ones where not applied yet.
    shards: Vec<TallyShard>,
    summary: ShardSummary,
    audit_log_head: Option<AuditLogHead>,
    /// Workloads that gave no usable status this round.
    unanswered: Vec<crate::observe::Unanswered>,
    /// Closing's step and the status fields it owns.
    closed: super::closing::Outcome,
    /// `status.keyFingerprints` (the last written while a key is not known yet).
    key_fingerprints: Option<KeyFingerprints>,
    /// A key source that is there but unreadable (the ceremony's public.json, the signing key).
    keys_unreadable: Option<String>,
    /// The public site's pod (with PREP's capture service and publisher): `None` without `spec.site`.
    site: Option<SiteObserved>,
}

/// What the site's StatefulSet reports: its pod's readiness (every container: the site, and with PREP the
/// capture service and the publisher) and whether PREP runs in it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct SiteObserved {
    ready: bool,
    prep: bool,
}

impl Observed {
    /// Nothing observed this time: the counters stay as last written.
    fn kept(e: &Election) -> Self {
        let st = e.status.clone().unwrap_or_default();
        Self {
            census: st.census,
            voters_voted: st.voters_voted,
            ballots: st.ballots_recorded,
            modalities: st.modalities,
            summary: st.shards.unwrap_or_default(),
            audit_log_head: st.audit_log_head,
            closed: super::closing::Outcome::kept(e),
            key_fingerprints: st.key_fingerprints,
            ..Self::default()
        }
    }
}

/// Each routed shard as the API has it (its status written by the TallyShard controller), or as built
/// when it is not there yet (not ready: it counts in the total).
fn routed_shards(v: &ValidatedElection<'_>, refs: &References) -> Vec<TallyShard> {
    v.routes.iter().map(|r| refs.shards.iter().find(|s| s.name_any() == r.name_any()).unwrap_or(r).clone()).collect()
}

async fn observe(v: &ValidatedElection<'_>, refs: &References, ctx: &Context, ns: &str) -> Result<Observed> {
    let e = v.election;
    let name = e.name_any();
    let sts = Api::<StatefulSet>::namespaced(ctx.client.clone(), ns);
    let ready_replicas = |s: Option<StatefulSet>| s.and_then(|d| d.status).and_then(|s| s.ready_replicas).unwrap_or(0);
    // Every partition must be served: a missing one leaves its voters without a front door.
    let partitions = i32::try_from(e.spec.vote.partitions).unwrap_or(i32::MAX);
    let vote_ready = ready_replicas(sts.get_opt(&build::vote_name(&name)).await?) >= partitions;
    let audit_ready = ready_replicas(sts.get_opt(&build::audit_name(&name)).await?) >= 1;
    // The booth vote service, when the Election runs one: its single replica must be ready too.
    let booth = match v.booth {
        Some(_) => Some(ready_replicas(sts.get_opt(&booth_vote::booth_vote_name(&name)).await?) >= 1),
        None => None,
    };

    // The site is reported on its own condition, not among the workloads Ready counts: it is ready only once
    // it has a snapshot or the record to show, which must not hold the election's phase back.
    let site = match crate::build::site::site_spec(e) {
        Some(_) => {
            let sts = sts.get_opt(&crate::build::site::site_name(&name)).await?;
            let prep = sts
                .as_ref()
                .and_then(|s| s.spec.as_ref())
                .and_then(|s| s.template.spec.as_ref())
                .is_some_and(|p| p.containers.iter().any(|c| c.name == crate::build::site::PUBLISH));
            Some(SiteObserved { ready: ready_replicas(sts) >= 1, prep })
        }
        None => None,
    };

    let mut o = Observed { shards: routed_shards(v, refs), site, ..Observed::default() };
    o.summary.total = o.shards.len() as u32;
    for s in &o.shards {
        o.summary.ready += u32::from(s.is_ready());
        o.summary.sealed += u32::from(s.is_sealed());
        if let Some(f) = s.status.as_ref().and_then(|st| st.failure.as_ref()) {
            o.obs.failure = Some(format!("shard {}: {f}", s.name_any()));
        }
    }
    // What the vote services and the audit log answer (the shards' own answers are in their statuses).
    let last = e.status.clone().unwrap_or_default();
    let polls = super::observe::election(e, ctx, ns, vote_ready, booth, audit_ready).await;
    let kinds: Vec<_> = e.spec.modalities.iter().map(|m| m.kind).collect();
    o.modalities =
        crate::observe::modality_counters(&name, &kinds, polls.votes, &o.shards, &last.modalities, &mut o.unanswered);
    (o.census, o.voters_voted, o.ballots) =
        crate::observe::totals(&o.modalities, &v.served, (last.census, last.voters_voted, last.ballots_recorded));
    (o.key_fingerprints, o.keys_unreadable) = if crate::fingerprints::settled(e) {
        (last.key_fingerprints.clone(), None)
    } else {
        let sources =
            KeySources { audit_log: crate::fingerprints::audit_log_key(&name, &polls.audit), ..refs.keys.clone() };
        match crate::fingerprints::key_fingerprints(e, &sources, &v.served) {
            Ok(Some(fp)) => (Some(fp), None),
            Ok(None) => (last.key_fingerprints.clone(), None),
            Err(why) => (last.key_fingerprints.clone(), Some(why)),
        }
    };
    o.audit_log_head = crate::observe::audit_head(
        &name,
        &polls.audit_url,
        polls.audit,
        last.audit_log_head.as_ref(),
        &mut o.unanswered,
    );
    o.total = 2 + u32::from(booth.is_some()) + o.summary.total;
    o.ready = u32::from(vote_ready) + u32::from(audit_ready) + u32::from(booth == Some(true)) + o.summary.ready;
    o.obs.workloads_ready = o.ready == o.total;
    Ok(o)
}

// ---- status ----

/// The phase, the next scheduled transition and the conditions.
#[derive(Debug, Clone)]
struct Decided {
    phase: ElectionPhase,
    next: Option<Timestamp>,
    conds: Vec<Desired>,
}

/// Phase from the clock, the workloads and closing's step; Ready from the workloads; Degraded from a failed
/// shard, a Mesa or fleet set aside, a blocked closing step, a workload without a usable status or an
/// unreadable key. Pure.
fn decide(v: &ValidatedElection<'_>, o: &Observed, booth_problem: Option<&Error>, now: Timestamp) -> Decided {
    let mut obs = o.obs.clone();
    obs.closing = o.closed.step;
    let Schedule { phase, next } = schedule::election_phase(now, &v.windows, &obs);
    let ready_msg = format!("{} of {} workloads ready", o.ready, o.total);
    let degraded = obs
        .failure
        .clone()
        .map(|f| ("WorkloadFailed", f))
        .or_else(|| booth_problem.map(|err| (err.reason(), err.to_string())))
        .or_else(|| o.closed.blocked.clone());
    let mut conds = conditions::standard(obs.workloads_ready, &ready_msg, degraded);
    if let Some((reason, msg)) = crate::observe::degraded(&o.unanswered) {
        conditions::degrade(&mut conds, reason, msg);
    }
    if let Some(why) = &o.keys_unreadable {
        conditions::degrade(&mut conds, "KeyUnreadable", why.clone());
    }
    conds.push(super::closing::condition(&o.closed));
    conds.extend(o.site.map(site_condition));
    Decided { phase, next, conds }
}

/// The `SiteReady` condition type: the public site's pod is ready (with PREP, its capture service and
/// publisher too).
pub const SITE_READY: &str = "SiteReady";

/// `SiteReady` from what the site's StatefulSet reports. Pure.
fn site_condition(s: SiteObserved) -> Desired {
    let what = if s.prep { "the site, the capture service and the publisher" } else { "the site" };
    if s.ready {
        Desired::new(SITE_READY, true, "Serving", format!("{what}: ready"))
    } else {
        // The site's /readyz waits for a snapshot or the record: before the first snapshot this is expected.
        Desired::new(
            SITE_READY,
            false,
            "NotReady",
            format!("{what}: not ready yet (the site waits for a snapshot or the record)"),
        )
    }
}

async fn write_status(api: &Api<Election>, e: &Election, ctx: &Context, d: &Decided, o: &Observed) -> Result<()> {
    let current = e.status.clone().unwrap_or_default();
    let conds = conditions::merge(&current.conditions, &d.conds, e.meta().generation, ctx.now());
    let hash = hex::encode(urna_ballot::manifest_hash(&e.manifest()));
    let owned = json!({
        "phase": d.phase,
        "observedGeneration": e.meta().generation,
        "conditions": conds,
        "ready": format!("{}/{}", o.ready, o.total),
        "manifestHash": hash,
        "nextTransition": d.next.map(Time),
        "ballotsRecorded": o.ballots,
        "modalities": o.modalities,
        "shards": o.summary,
        "census": o.census,
        "votersVoted": o.voters_voted,
        "auditLogHead": o.audit_log_head,
        "recordExportedAt": o.closed.record_exported_at,
        "results": o.closed.results,
        "certifiedAt": o.closed.certified_at,
        "decryption": o.closed.decryption,
        "keyFingerprints": o.key_fingerprints,
    });
    super::status::apply(api, &e.name_any(), e.status.as_ref(), owned).await?;
    Ok(())
}

// ---- deletion ----

/// The Warning a refused deletion raises; returns its note.
async fn refuse(e: &Election, ctx: &Context, why: &str) -> String {
    let note = format!(
        "{why}; the operator exports the record after the close (status.recordExportedAt), or set {}: \"true\"",
        meta::ANNOTATION_ALLOW_DELETE
    );
    ctx.event(e, EventType::Warning, "DeletionRefused", "Delete", note.clone()).await;
    note
}

/// Deletion: allowed for an Election that never held ballots, or whose record was exported, or with the
/// explicit annotation (`Election::deletion_refusal`). A refused one never gets here (the wrapper keeps
/// running it); the check is repeated in case the status changed in between.
async fn cleanup(e: &Election, ctx: &Context) -> Result<Action> {
    if let Some(why) = e.deletion_refusal() {
        return Err(Error::DeletionRefused(refuse(e, ctx, &why).await));
    }
    ctx.event(e, EventType::Normal, "Deleted", "Delete", "children are garbage-collected; ballot volumes are retained")
        .await;
    ctx.applied.forget_prefix(&format!("{KIND}/{}/{}", namespace(e)?, e.name_any()));
    Ok(Action::await_change())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::TallyShardSpec;
    use crate::examples::municipal;

    fn shard(name: &str, election: &str) -> TallyShard {
        TallyShard::new(
            name,
            TallyShardSpec {
                election: election.into(),
                district: None,
                modality: ModalityKind::Remote,
                storage: Default::default(),
                image: None,
                resources: None,
            },
        )
    }

    fn names<K: Resource>(v: &[K]) -> Vec<String> {
        v.iter().map(ResourceExt::name_any).collect()
    }

    #[test]
    fn routes_are_the_generated_shards_or_with_manual_sharding_the_declared_ones() {
        let set = municipal();
        let mut e = set.elections[0].clone();
        let refs = References { shards: vec![shard("by-hand", "ciudad-2027")], ..References::default() };
        let v = validate(&e, &refs).expect("valid");
        let mut generated = names(&build::tally_shards(&e));
        generated.sort();
        assert_eq!(names(&v.routes), generated, "generated shards, by name; a declared one is not routed");
        assert_eq!(names(&v.generated).len(), 6);

        e.spec.tally.sharding = ShardingPolicy::Manual;
        let refs = References {
            shards: vec![shard("z-by-hand", "ciudad-2027"), shard("a-by-hand", "ciudad-2027")],
            ..References::default()
        };
        let v = validate(&e, &refs).expect("valid");
        assert_eq!(names(&v.routes), ["a-by-hand", "z-by-hand"]);
        assert!(v.generated.is_empty());
    }

    #[test]
    fn the_booth_vote_service_decides_mesas_fleets_and_tokens() {
        let set = municipal();
        let e = set.elections[0].clone();
        let refs = References { mesas: set.mesas.clone(), fleets: set.fleets.clone(), ..References::default() };
        let v = validate(&e, &refs).expect("valid");
        assert!(v.booth.is_some());
        let mut mesas = names(&set.mesas);
        mesas.sort();
        assert_eq!(names(&v.mesas), mesas);
        let tokens: Vec<String> = v.tokens.iter().filter_map(|t| t.meta.name.clone()).collect();
        assert_eq!(tokens[..2], ["ciudad-2027-internal-token".to_owned(), "ciudad-2027-bridge-token".to_owned()]);
        let prep = 1 + e.spec.site.as_ref().map_or(0, |s| s.capturists.len());
        assert_eq!(tokens.len(), 2 + mesas.len() + prep, "one console token per Mesa, PREP's publisher and capturists");
        assert_eq!(v.served, [ModalityKind::Remote, ModalityKind::Booth]);
        assert_eq!(v.last_close, e.spec.modalities.iter().map(|m| m.closes_at.0).max());

        // Without spec.vote.booth: neither Mesas nor fleets nor their tokens.
        let mut e = e;
        e.spec.vote.booth = None;
        let err = validate(&e, &refs).expect_err("capturists need the booth vote service's mesas");
        assert!(err.to_string().contains("spec.site.capturists"), "{err}");
        e.spec.site = None;
        let v = validate(&e, &refs).expect("valid");
        assert!(v.booth.is_none() && v.mesas.is_empty() && v.fleets.is_empty());
        assert_eq!(v.tokens.len(), 1);
        assert_eq!(v.served, [ModalityKind::Remote]);
    }

    #[test]
    fn site_ready_follows_the_site_pod_and_names_prep() {
        let ready = site_condition(SiteObserved { ready: true, prep: true });
        assert_eq!((ready.type_, ready.status, ready.reason.as_str()), (SITE_READY, true, "Serving"));
        assert!(ready.message.contains("publisher"));
        let waiting = site_condition(SiteObserved { ready: false, prep: false });
        assert_eq!((waiting.status, waiting.reason.as_str()), (false, "NotReady"));
        assert!(!waiting.message.contains("publisher"));
    }

    #[test]
    fn prep_tokens_are_decided_with_capturists_and_the_site_built_beside_the_booth_vote_service() {
        let set = municipal();
        let e = set.elections[0].clone();
        let refs = References { mesas: set.mesas.clone(), fleets: set.fleets.clone(), ..References::default() };
        let v = validate(&e, &refs).expect("valid");
        let keys: Vec<String> = v.tokens.iter().filter_map(|t| t.hash_key.clone()).collect();
        assert!(keys.contains(&crate::build::site::PUBLISHER_KEY.to_owned()));
        assert!(keys.contains(&crate::build::site::capturist_key("ana")));
        let hashes: BTreeMap<String, String> = keys.iter().map(|k| (k.clone(), "00".repeat(32))).collect();
        let built = build_children(&v, &hashes, &Defaults::default()).expect("build");
        let ids: Vec<String> = built.children.iter().map(Child::id).collect();
        assert!(ids.contains(&"ConfigMap/ciudad-2027-capture-tokens".to_owned()), "{ids:?}");
        assert!(ids.contains(&"StatefulSet/ciudad-2027-site".to_owned()));

        // A Mesa set aside: the site still runs, PREP waits with the booth vote service.
        let mut inner = v.clone();
        inner.mesas[0].spec.district = "not-a-leaf".into();
        let built = build_children(&inner, &hashes, &Defaults::default()).expect("build");
        assert!(built.booth_problem.is_some());
        let ids: Vec<String> = built.children.iter().map(Child::id).collect();
        assert!(ids.contains(&"StatefulSet/ciudad-2027-site".to_owned()));
        assert!(!ids.contains(&"ConfigMap/ciudad-2027-capture-tokens".to_owned()));
    }

    #[test]
    fn an_invalid_spec_is_refused_before_anything_is_decided() {
        let mut e = municipal().elections[0].clone();
        e.spec.trustees.threshold = 9;
        let err = validate(&e, &References::default()).expect_err("invalid");
        assert_eq!(err.reason(), "InvalidSpec");
    }

    #[test]
    fn build_sets_aside_a_mesa_the_booth_vote_service_cannot_take_and_builds_the_rest() {
        let set = municipal();
        let e = set.elections[0].clone();
        let refs = References { mesas: set.mesas.clone(), fleets: set.fleets.clone(), ..References::default() };
        let v = validate(&e, &refs).expect("valid");
        let hashes: BTreeMap<String, String> =
            v.tokens.iter().filter_map(|t| t.hash_key.clone()).map(|k| (k, "00".repeat(32))).collect();
        let built = build_children(&v, &hashes, &Defaults::default()).expect("build");
        assert!(built.booth_problem.is_none());
        let own = build::build(&e, &Defaults::default()).expect("build");
        assert_eq!(built.children[..own.len()], own[..], "the Election's own children, as the builder makes them");
        let booth: Vec<String> = built.children[own.len()..own.len() + 3].iter().map(Child::id).collect();
        assert_eq!(
            booth,
            ["ConfigMap/ciudad-2027-mesas", "StatefulSet/ciudad-2027-vote-booth", "Service/ciudad-2027-vote-booth"]
        );

        let mut inner = v.clone();
        // A district with no ballot style (not a leaf of the Election): no booth ballot could be cast there.
        inner.mesas[0].spec.district = "not-a-leaf".into();
        let built = build_children(&inner, &hashes, &Defaults::default()).expect("build");
        assert_eq!(built.booth_problem.as_ref().map(Error::reason), Some("InvalidSpec"));
        assert_eq!(built.children[..own.len()], own[..], "the rest of the election is still built");
        assert!(
            built.children[own.len()..].iter().all(|c| c.name.ends_with("-site") || c.name.ends_with("-site-ingress"))
        );
    }
}
