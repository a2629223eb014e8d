//! The controllers, one module per kind, each `dereference → validate → build → apply → observe → status`
//! (the Election's in typed stages, `election`), all run by one wrapper (`reconcile`: finalizer, pause,
//! refused specs and apiserver refusals as Events and conditions), sharing the [`Context`]: client, event
//! recorder, metrics, defaults, the apply cache, the clock and the workloads' poller.

pub mod apply;
pub mod boothfleet;
pub mod closing;
pub mod conditions;
pub mod election;
pub mod mesa;
pub mod observe;
pub mod reconcile;
pub mod run;
pub mod secrets;
pub mod status;
pub mod tallyshard;
pub mod tokens;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jiff::Timestamp;
use kube::runtime::controller::Action;
use kube::runtime::events::{Event, EventType, Recorder, Reporter};
use kube::{Client, Resource, ResourceExt};

use crate::build::Defaults;
use crate::error::Error;
use crate::metrics::Metrics;

pub type Clock = Arc<dyn Fn() -> Timestamp + Send + Sync>;

pub struct Context {
    pub client: Client,
    pub recorder: Recorder,
    pub metrics: Arc<Metrics>,
    pub defaults: Defaults,
    /// Hashes of what was last applied, so a steady-state reconcile sends no writes.
    pub applied: apply::AppliedCache,
    /// Consecutive failures per object, for exponential backoff.
    failures: Mutex<HashMap<String, u32>>,
    pub clock: Clock,
    /// The workloads' status endpoints: client, resolver (cluster DNS unless a test maps them) and interval.
    pub poller: crate::workloads::Poller,
}

impl Context {
    pub fn new(client: Client, metrics: Arc<Metrics>, defaults: Defaults, clock: Clock) -> Self {
        let reporter =
            Reporter { controller: crate::workload::FIELD_MANAGER.into(), instance: std::env::var("POD_NAME").ok() };
        Self {
            recorder: Recorder::new(client.clone(), reporter),
            client,
            metrics,
            defaults,
            applied: apply::AppliedCache::default(),
            failures: Mutex::default(),
            clock,
            poller: crate::workloads::Poller::default(),
        }
    }

    /// This context, asking the workloads through `poller`.
    #[must_use]
    pub fn with_poller(mut self, poller: crate::workloads::Poller) -> Self {
        self.poller = poller;
        self
    }

    pub fn now(&self) -> Timestamp {
        (self.clock)()
    }

    /// Publishes an Event; a failure to publish is logged, never fatal.
    pub async fn event<K>(&self, obj: &K, type_: EventType, reason: &str, action: &str, note: impl Into<String>)
    where
        K: Resource<DynamicType = ()>,
    {
        let ev =
            Event { type_, reason: reason.into(), note: Some(note.into()), action: action.into(), secondary: None };
        if let Err(e) = self.recorder.publish(&ev, &obj.object_ref(&())).await {
            tracing::warn!(error = %e, reason, "could not publish event");
        }
    }

    fn succeeded(&self, key: &str) {
        if let Ok(mut f) = self.failures.lock() {
            f.remove(key);
        }
    }

    fn failed(&self, key: &str) -> u32 {
        match self.failures.lock() {
            Ok(mut f) => {
                let n = f.entry(key.to_owned()).or_insert(0);
                *n = n.saturating_add(1);
                *n
            }
            Err(_) => 1,
        }
    }
}

/// 5 s, 10 s, 20 s ... capped at 5 minutes.
pub fn backoff(failures: u32) -> Duration {
    let secs = 5u64.saturating_mul(1u64 << failures.saturating_sub(1).min(16));
    Duration::from_secs(secs.min(300))
}

/// The error policy shared by all controllers: count, report, back off per object. A malformed object only
/// ever delays itself.
pub fn error_policy<K>(obj: Arc<K>, err: &Error, ctx: Arc<Context>) -> Action
where
    K: Resource<DynamicType = ()>,
{
    let kind = K::kind(&()).to_string();
    let key = format!("{kind}/{}", crate::meta::key(obj.as_ref()));
    ctx.metrics.error(&kind, err.reason());
    let n = ctx.failed(&key);
    let wait = backoff(n);
    tracing::warn!(object = %key, error = %err, failures = n, retry_in = ?wait, "reconcile failed");
    Action::requeue(wait)
}

/// Marks a successful reconcile (resets the backoff).
pub fn reconciled<K: Resource<DynamicType = ()>>(ctx: &Context, obj: &K) {
    ctx.succeeded(&format!("{}/{}", K::kind(&()), crate::meta::key(obj)));
}

/// The namespace of a namespaced object (every Urna kind is namespaced).
pub fn namespace<K: Resource>(obj: &K) -> Result<String, Error> {
    obj.namespace().ok_or(Error::MissingField("metadata.namespace"))
}
