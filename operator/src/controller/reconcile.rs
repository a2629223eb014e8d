//! The one reconcile wrapper of the four kinds: tracing span and duration metric, the pause annotation, the
//! deletion finalizer (for the kinds that guard deletion), a spec refused by validation as a Warning event
//! and `Degraded`/`Stalled` conditions, an apiserver refusal as the same (`status::report_api_error`), and
//! the per-object backoff reset. Each kind supplies only its pipeline ([`Reconciler::apply`]) and how it
//! writes its status when the spec is invalid.

use std::future::Future;
use std::sync::Arc;

use k8s_openapi::NamespaceResourceScope;
use kube::api::Api;
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::runtime::finalizer::{self, Event as Finalizer};
use kube::{Resource, ResourceExt};
use serde::Serialize;
use serde::de::DeserializeOwned;
use tracing::{Instrument, info_span};

use super::conditions::{self, Desired};
use super::{Context, namespace, reconciled};
use crate::error::{Error, Result};
use crate::meta;

/// How one reconcile of a kind's pipeline ended.
#[derive(Debug)]
pub enum Outcome {
    /// The pipeline ran: requeue as it says.
    Done(Action),
    /// The spec (or what it references) was refused by validation: nothing was applied from it, and the
    /// object waits for its next edit.
    Invalid(Error),
}

/// One kind's controller: its pipeline and the status it writes for a refused spec.
pub trait Reconciler:
    Resource<DynamicType = (), Scope = NamespaceResourceScope>
    + Clone
    + DeserializeOwned
    + Serialize
    + std::fmt::Debug
    + Send
    + Sync
    + 'static
{
    /// The kind, for spans, metrics and the apply cache's owner keys.
    const KIND: &'static str;
    /// The finalizer that guards deletion, for the kinds that need one.
    const FINALIZER: Option<&'static str> = None;

    /// dereference → validate → build → apply → observe → status.
    fn apply(&self, api: &Api<Self>, ctx: &Context, ns: &str) -> impl Future<Output = Result<Outcome>> + Send;

    /// The status for a spec validation refused (`conds`: not Ready, Degraded and Stalled with its reason);
    /// what was observed before stays as last written.
    fn write_invalid(
        &self,
        api: &Api<Self>,
        ctx: &Context,
        conds: &[Desired],
    ) -> impl Future<Output = Result<()>> + Send;

    /// Why deleting this object must wait (with the kind's [`Self::FINALIZER`]); `None` allows it.
    fn deletion_refusal(&self) -> Option<String> {
        None
    }

    /// Says why a deletion waits (a Warning event).
    fn refuse_deletion(&self, _ctx: &Context, _why: &str) -> impl Future<Output = ()> + Send {
        async {}
    }

    /// Runs once the finalizer lets a deletion go ahead (after [`Self::deletion_refusal`] allowed it).
    fn cleanup(&self, _ctx: &Context) -> impl Future<Output = Result<Action>> + Send {
        async { Ok(Action::await_change()) }
    }
}

/// The reconcile function every controller runs (`Controller::run`).
pub async fn reconcile<K: Reconciler>(obj: Arc<K>, ctx: Arc<Context>) -> Result<Action> {
    let span = info_span!("reconcile", kind = K::KIND, object = %meta::key(obj.as_ref()));
    async move {
        let _timer = ctx.metrics.start(K::KIND);
        let ns = namespace(obj.as_ref())?;
        let api: Api<K> = Api::namespaced(ctx.client.clone(), &ns);
        let deleting = obj.meta().deletion_timestamp.is_some();
        // A kind without a finalizer has nothing to do at deletion, paused or not; one with a finalizer must
        // still be able to let its deletion go while paused.
        if meta::is_paused(obj.as_ref()) && !(deleting && K::FINALIZER.is_some()) {
            return super::status::paused(&api, obj.as_ref(), &ctx).await;
        }
        let result = match K::FINALIZER {
            None => run(obj.as_ref(), &api, &ctx, &ns).await,
            Some(name) => guarded(obj.clone(), &api, &ctx, &ns, name).await,
        };
        match result {
            Ok(action) => {
                reconciled(&ctx, obj.as_ref());
                Ok(action)
            }
            Err(err) => {
                super::status::report_api_error(&api, obj.as_ref(), &ctx, &err).await;
                Err(err)
            }
        }
    }
    .instrument(span)
    .await
}

/// The pipeline, with a refused spec reported: a Warning event and the kind's invalid status.
async fn run<K: Reconciler>(obj: &K, api: &Api<K>, ctx: &Context, ns: &str) -> Result<Action> {
    match obj.apply(api, ctx, ns).await? {
        Outcome::Done(action) => Ok(action),
        Outcome::Invalid(err) => {
            ctx.event(obj, EventType::Warning, err.reason(), "Validate", err.to_string()).await;
            let conds = conditions::standard(false, "", Some((err.reason(), err.to_string())));
            obj.write_invalid(api, ctx, &conds).await?;
            Ok(Action::await_change())
        }
    }
}

/// The pipeline behind the finalizer. A refused deletion must not freeze the object: it goes on exactly as
/// before (the finalizer helper would run only cleanup), with a Warning saying why it is still there.
async fn guarded<K: Reconciler>(obj: Arc<K>, api: &Api<K>, ctx: &Context, ns: &str, name: &str) -> Result<Action> {
    if obj.meta().deletion_timestamp.is_some()
        && obj.finalizers().iter().any(|f| f == name)
        && let Some(why) = obj.deletion_refusal()
    {
        let result = run(obj.as_ref(), api, ctx, ns).await;
        obj.refuse_deletion(ctx, &why).await;
        return result;
    }
    finalizer::finalizer(api, name, obj, |event| async {
        match event {
            Finalizer::Apply(o) => run(o.as_ref(), api, ctx, ns).await,
            Finalizer::Cleanup(o) => o.cleanup(ctx).await,
        }
    })
    .await
    .map_err(|err| match err {
        finalizer::Error::ApplyFailed(inner) | finalizer::Error::CleanupFailed(inner) => inner,
        other => Error::Finalizer(other.to_string()),
    })
}
