//! Status writes: server-side apply of only the fields the operator owns, and only when they changed
//! (the workloads own the other status fields under their own field managers).

use kube::api::{Api, Patch};
use kube::runtime::controller::Action;
use kube::runtime::events::EventType;
use kube::{Resource, ResourceExt};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use super::Context;
use super::conditions::{self, DEGRADED, Desired, PAUSED, READY, RECONCILING, STALLED};
use crate::error::Result;
use crate::meta;

/// True when every field of `owned` already has that value in `current` (the object's status as JSON).
pub fn unchanged(current: &Value, owned: &Value) -> bool {
    match owned.as_object() {
        Some(fields) => {
            fields.iter().all(|(k, v)| current.get(k) == Some(v) || (v.is_null() && current.get(k).is_none()))
        }
        None => false,
    }
}

/// Applies `owned` to the status subresource of `name` unless unchanged; returns whether it was sent.
pub async fn apply<K>(api: &Api<K>, name: &str, current: Option<&impl serde::Serialize>, owned: Value) -> Result<bool>
where
    K: Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug,
{
    let current = match current {
        Some(c) => serde_json::to_value(c)?,
        None => json!({}),
    };
    if unchanged(&current, &owned) {
        return Ok(false);
    }
    let body = json!({
        "apiVersion": K::api_version(&()),
        "kind": K::kind(&()),
        "status": strip_nulls(owned),
    });
    api.patch_status(name, &super::apply::params(), &Patch::Apply(&body)).await?;
    Ok(true)
}

fn strip_nulls(v: Value) -> Value {
    match v {
        Value::Object(m) => Value::Object(m.into_iter().filter(|(_, v)| !v.is_null()).collect()),
        other => other,
    }
}

/// The top-level status fields this operator owns on `obj`, from its `managedFields` (the status subresource
/// entry of the operator's field manager, operation Apply).
pub fn owned_status_fields<K: Resource>(obj: &K) -> Vec<String> {
    obj.meta()
        .managed_fields
        .iter()
        .flatten()
        .filter(|m| {
            m.manager.as_deref() == Some(crate::workload::FIELD_MANAGER)
                && m.operation.as_deref() == Some("Apply")
                && m.subresource.as_deref() == Some("status")
        })
        .filter_map(|m| m.fields_v1.as_ref()?.0.get("f:status")?.as_object())
        .flat_map(|fields| fields.keys().filter_map(|k| k.strip_prefix("f:")).map(str::to_owned))
        .collect()
}

/// Sets some conditions (replacing those of their types, keeping the others) and applies again, as they are,
/// every other status field the operator owns. A server-side apply is the manager's whole intent: an apply of
/// the conditions alone would remove the operator's other fields (the phase among them, which would unlock the
/// "immutable once Open" rules). Returns whether anything was sent.
pub async fn set_conditions<K>(api: &Api<K>, obj: &K, ctx: &Context, desired: &[Desired]) -> Result<bool>
where
    K: Resource<DynamicType = ()> + Clone + serde::de::DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    let value = serde_json::to_value(obj)?;
    let current = value.get("status").cloned().unwrap_or(json!({}));
    let existing: Vec<k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition> =
        serde_json::from_value(current.get("conditions").cloned().unwrap_or(json!([]))).unwrap_or_default();
    let conds = conditions::replace(&existing, desired, obj.meta().generation, ctx.now());
    let mut owned = serde_json::Map::new();
    for field in owned_status_fields(obj) {
        if let Some(v) = current.get(&field) {
            owned.insert(field, v.clone());
        }
    }
    owned.insert("conditions".into(), serde_json::to_value(conds)?);
    apply(api, &obj.name_any(), Some(&current), Value::Object(owned)).await
}

/// A refusal by the apiserver (403 Forbidden, 422 Invalid, an admission webhook's or policy's denial, a 409
/// conflict, any 4xx) as a Warning event and `Degraded`/`Stalled` conditions carrying its message: retrying
/// alone will not fix it, and otherwise it shows only in the operator's log. Connection errors, timeouts and
/// 5xx are transient and left to the backoff. The error itself still goes to the error policy.
pub async fn report_api_error<K>(api: &Api<K>, obj: &K, ctx: &Context, err: &crate::Error)
where
    K: Resource<DynamicType = ()> + Clone + serde::de::DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    let crate::Error::Kube(kube::Error::Api(s)) = err else { return };
    if !(400..500).contains(&s.code) {
        return;
    }
    let reason = if s.reason.is_empty() { format!("Http{}", s.code) } else { s.reason.clone() };
    let message = format!("the apiserver refused a request ({} {reason}): {}", s.code, s.message);
    ctx.event(obj, EventType::Warning, &format!("Api{reason}"), "Reconcile", message.clone()).await;
    let desired = [
        Desired::new(READY, false, &reason, message.clone()),
        Desired::new(DEGRADED, true, &reason, message.clone()),
        Desired::new(RECONCILING, false, &reason, ""),
        Desired::new(STALLED, true, &reason, message),
    ];
    if let Err(e) = set_conditions(api, obj, ctx, &desired).await {
        tracing::warn!(error = %e, "could not write the API error into the status");
    }
}

/// Paused: the Paused condition is added; every other status field stays (see [`set_conditions`]).
pub async fn paused<K>(api: &Api<K>, obj: &K, ctx: &Context) -> Result<Action>
where
    K: Resource<DynamicType = ()> + Clone + serde::de::DeserializeOwned + serde::Serialize + std::fmt::Debug,
{
    let desired = [Desired::new(PAUSED, true, "Paused", format!("{} is set to paused", meta::ANNOTATION_RECONCILE))];
    if set_conditions(api, obj, ctx, &desired).await? {
        ctx.event(obj, EventType::Normal, "Paused", "Reconcile", "reconciliation paused by annotation").await;
    }
    Ok(Action::await_change())
}
